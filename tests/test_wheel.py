"""The rule files ship inside the wheel: build it, install it apart from the checkout, run from elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    dist, target = work / "dist", work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
        check=True,
    )
    wheels = list(dist.glob("torch_losslint-*.whl"))
    assert len(wheels) == 1, wheels
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheels[0])], check=True)
    return target, work


def _run(target: Path, cwd: Path, code: str) -> str:
    # Only the installed copy is importable: the checkout is neither the cwd nor on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_wheel_contains_every_rule_file(installed):
    target, _ = installed
    shipped_dir = target / "losslint" / "rules"
    shipped = sorted(p.relative_to(shipped_dir).as_posix() for p in shipped_dir.rglob("*.toml"))
    assert shipped == sorted(p.relative_to(ROOT / "rules").as_posix() for p in (ROOT / "rules").rglob("*.toml"))
    assert "kornia/focal.toml" in shipped and "pytorch_metric_learning/contrastive.toml" in shipped


def test_installed_wheel_checks_from_another_folder(installed):
    target, work = installed
    code = (
        "import torch, torch.nn.functional as F, losslint; "
        "assert 'site' in losslint.__file__, losslint.__file__; "
        "r = losslint.check('CrossEntropyLoss', torch.randn(8, 5), F.one_hot(torch.randint(0, 5, (8,)), 5)); "
        "print(r.findings[0].code, r.findings[0].argument, r.torch_raises)"
    )
    assert _run(target, work, code).split() == ["LL202", "target", "True"]


# ---- the command and the pytest plugin, from the installed wheel, outside the checkout -------------

RAW_LOGITS_TO_NLL = """\
import torch
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.randn(16, 5) * 3
loss = F.nll_loss(logits, torch.randint(0, 5, (16,)))
"""

CLEAN_SCRIPT = """\
import torch
import torch.nn.functional as F

torch.manual_seed(0)
loss = F.nll_loss(F.log_softmax(torch.randn(16, 5), dim=1), torch.randint(0, 5, (16,)))
"""

PYTEST_SUITE = """\
import torch
import torch.nn as nn

torch.manual_seed(0)
LOGITS = torch.randn(16, 5)
LABELS = torch.randint(0, 5, (16,))


def test_softmax_output_to_cross_entropy():
    assert nn.CrossEntropyLoss()(LOGITS.softmax(dim=1), LABELS).item() > 0


def test_clean():
    assert nn.CrossEntropyLoss()(LOGITS, LABELS).item() > 0
"""

# The console-script entry point, loaded as pip's wrapper loads it (pip install --target writes no
# wrapper), and called for several command lines in one interpreter: one torch import, not seven.
DRIVER = """\
import contextlib, io, json, sys
from importlib.metadata import entry_points

(ep,) = entry_points(group="console_scripts", name="losslint")
main = ep.load()
results = {}
for name, argv in json.loads(sys.argv[1]).items():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    results[name] = [status, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def commands(installed):
    """The acceptance list, from the installed wheel in a folder outside the checkout.

    Four fresh interpreters, started at once: the console-script entry point driving every `losslint`
    command line, `python -m losslint`, and pytest with and without --losslint.
    """
    import json

    import torch
    import torch.nn.functional as F

    target, work = installed
    folder = work / "user"
    folder.mkdir()
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (8,), generator=gen)
    torch.save(torch.randn(8, 5, generator=gen), folder / "logits.pt")
    torch.save(labels, folder / "labels.pt")
    torch.save(F.one_hot(labels, 5), folder / "onehot.pt")
    (folder / "bad_train.py").write_text(RAW_LOGITS_TO_NLL)
    (folder / "clean_train.py").write_text(CLEAN_SCRIPT)
    suite = folder / "suite"
    suite.mkdir()
    (suite / "test_losses.py").write_text(PYTEST_SUITE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NO_COLOR") and not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(target)
    lines = {
        "rules": ["rules"],
        "clean": ["check", "CrossEntropyLoss", "logits.pt", "labels.pt"],
        "json": ["check", "CrossEntropyLoss", "logits.pt", "onehot.pt", "--format", "json"],
        "explain": ["explain", "LL302"],
        "run_bad": ["run", "--fail-on", "warning", "bad_train.py"],
        "run_clean": ["run", "--fail-on", "warning", "clean_train.py"],
    }
    runs = {
        "driver": ([sys.executable, "-c", DRIVER, json.dumps(lines)], folder),
        "one_hot": ([sys.executable, "-m", "losslint", "check", "CrossEntropyLoss", "logits.pt", "onehot.pt"], folder),
        "pytest_losslint": ([sys.executable, "-m", "pytest", "--losslint", "-p", "no:cacheprovider"], suite),
        "pytest_plain": ([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], suite),
    }
    started = {
        name: subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, (argv, cwd) in runs.items()
    }
    results = {}
    for name, proc in started.items():
        out, err = proc.communicate(timeout=300)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    driver = results.pop("driver")
    assert driver.returncode == 0, driver.stderr
    for name, (status, out, err) in json.loads(driver.stdout).items():
        results[name] = subprocess.CompletedProcess(lines[name], status, out, err)
    return target, results


def test_entry_points_name_the_cli_and_the_plugin(installed):
    target, _ = installed
    (info,) = target.glob("torch_losslint-*.dist-info")
    text = (info / "entry_points.txt").read_text()
    assert "[console_scripts]\nlosslint = losslint.cli:main\n" in text
    assert "[pytest11]\nlosslint = losslint.integrations.pytest_plugin\n" in text


def test_installed_rules_lists_every_torch_loss(commands):
    import torch.nn as nn

    _, results = commands
    done = results["rules"]
    assert done.returncode == 0, done.stderr
    names = {line.split()[0] for line in done.stdout.splitlines()}
    assert {n for n in dir(nn) if n.endswith("Loss") and isinstance(getattr(nn, n), type)} <= names
    # The other libraries' rules ship too, listed with their library (installed here or not).
    (focal,) = [line for line in done.stdout.splitlines() if line.startswith("kornia.FocalLoss ")]
    assert focal.split()[1:3] == ["kornia.losses.focal_loss", "kornia"]


def test_installed_check(commands):
    import json

    _, results = commands
    assert (results["clean"].returncode, results["clean"].stdout) == (0, "CrossEntropyLoss: no problems found\n")
    one_hot = results["one_hot"]
    assert one_hot.returncode == 1 and one_hot.stdout.startswith("error[LL202] CrossEntropyLoss: `target` looks one-hot")
    data = json.loads(results["json"].stdout)
    assert results["json"].returncode == 1
    assert set(data) >= {"loss", "ok", "torch_raises", "counts", "findings"}
    assert (data["findings"][0]["code"], data["findings"][0]["argument"]) == ("LL202", "target")


def test_installed_explain(commands):
    _, results = commands
    done = results["explain"]
    assert done.returncode == 0 and done.stdout.startswith("LL302 logits-passed-as-log-probabilities")
    assert "\nwhy:\n" in done.stdout and "\nfix:\n" in done.stdout


def test_installed_run(commands):
    _, results = commands
    bad, clean = results["run_bad"], results["run_clean"]
    assert bad.returncode == 1 and "bad_train.py:6: NLLLoss\nwarning[LL302] NLLLoss" in bad.stdout, bad.stderr
    assert (clean.returncode, clean.stdout) == (0, "losslint: no problems found in 1 loss call\n"), clean.stderr


def test_installed_pytest_plugin(commands):
    target, results = commands
    flagged, plain = results["pytest_losslint"], results["pytest_plain"]
    assert "losslint: every test under watch(), fail-on warning" in flagged.stdout
    assert flagged.returncode == 1, flagged.stdout
    assert "FAILED test_losses.py::test_softmax_output_to_cross_entropy" in flagged.stdout
    assert "1 failed, 1 passed" in flagged.stdout and "warning[LL301]" in flagged.stdout
    assert plain.returncode == 0 and "2 passed" in plain.stdout, plain.stdout
