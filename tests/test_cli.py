"""The `losslint` command, driven as a user would: in-process `main(argv)` for most cases, a real
subprocess (`python -m losslint`) from a folder outside the checkout for a few."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.cli import main, use_color

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tensors(tmp_path, monkeypatch):
    """A folder with a batch saved the way a user would, and the working directory set to it."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=gen)
    labels = torch.randint(0, 5, (8,), generator=gen)
    saved = {
        "logits.pt": logits,
        "labels.pt": labels,
        "onehot.pt": F.one_hot(labels, 5),
        "probs.pt": logits.softmax(dim=1),
        "w.pt": torch.ones(5),
        "batch.pt": {"input": logits, "target": labels},
        "text.pt": "not a tensor",
    }
    for name, value in saved.items():
        torch.save(value, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def usage_error(capsys, *argv: str) -> str:
    status, out, err = run_main(capsys, *argv)
    assert status == 2, (out, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("losslint: error: "), err
    return err.strip().removeprefix("losslint: error: ")


# ---- rules, explain ----------------------------------------------------------------------------------


def torch_losses() -> tuple[list[str], list[str]]:
    classes = sorted(n for n in dir(nn) if n.endswith("Loss") and isinstance(getattr(nn, n), type))
    others = ("cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "linear_cross_entropy")
    functionals = sorted(n for n in dir(F) if callable(getattr(F, n)) and (n.endswith("_loss") or n in others))
    return classes, functionals


def test_rules_lists_every_torch_loss_one_line_each(capsys):
    status, out, _ = run_main(capsys, "rules")
    assert status == 0
    header, *lines = out.splitlines()
    classes, functionals = torch_losses()
    names = [line.split()[0] for line in lines]
    assert set(classes) <= set(names), set(classes) - set(names)
    shown = {line.split()[1] for line in lines}
    assert {f"F.{f}" for f in functionals} <= shown
    (ce,) = [line for line in lines if line.startswith("CrossEntropyLoss ")]
    # Formats in words, not their kebab-case identifiers.
    assert "F.cross_entropy" in ce and "class indices" in ce and "class probabilities" in ce and "class-indices" not in ce
    # Aligned columns under a header: every column starts where its heading does.
    assert header.split() == ["LOSS", "FUNCTIONAL", "FROM", "TAKES"]
    starts = [header.index(word) for word in ("FUNCTIONAL", "FROM", "TAKES")]
    for line in lines:
        assert all(line[at - 2:at] == "  " and line[at] != " " for at in starts), line
    assert "elementwise" not in out  # one spelling: element-wise


def test_rules_as_json(capsys):
    status, out, _ = run_main(capsys, "rules", "--format", "json")
    rules = {entry["name"]: entry for entry in json.loads(out)}
    assert status == 0 and rules["NLLLoss"]["functional"] == "torch.nn.functional.nll_loss"
    assert rules["NLLLoss"]["formats"] == ["class-indices", "class-index-unbatched", "class-index-unbatched-1"]


def test_explain_a_code(capsys):
    status, out, _ = run_main(capsys, "explain", "ll301")
    assert status == 0
    assert out.startswith("LL301 probabilities-passed-as-logits (default severity: warning)\n")
    for section in ("what:", "why:", "example:", "fix:"):
        assert f"\n{section}\n" in out
    assert "nn.CrossEntropyLoss()(F.softmax(logits, dim=1), target)" in out
    # By its name, too.
    assert run_main(capsys, "explain", "probabilities-passed-as-logits")[1] == out


def test_explain_a_loss_states_its_contract(capsys):
    status, out, _ = run_main(capsys, "explain", "nll_loss")
    assert status == 0
    assert out.startswith("NLLLoss: Negative log-likelihood")
    assert "  arguments:  input, target\n" in out
    assert "    input   shape (N, C, *d), floating, log-probabilities (log_softmax over the class dim)\n" in out
    assert "    target  shape (N, *d), int64 or uint8, values in [0, C) | ignore_index\n" in out
    assert "  ignore_index  int; default -100\n" in out


def test_element_wise_is_spelled_one_way(capsys):
    """The format of MSELoss and its kin is "element-wise" in `explain`, in `rules` and in docs/, as
    for KLDivLoss; only torch's own reduction value 'elementwise_mean' keeps torch's spelling."""
    import re

    unspelled = re.compile(r"elementwise(?!_mean)")
    for loss in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "PoissonNLLLoss", "KLDivLoss"):
        status, out, _ = run_main(capsys, "explain", loss)
        assert status == 0 and "  element-wise: " in out and not unspelled.search(out), out
    status, out, _ = run_main(capsys, "rules", "--format", "json")
    formats = {name for entry in json.loads(out) for name in entry["formats"]}
    assert "element-wise" in formats and not any(unspelled.search(name) for name in formats)
    for page in ("losses/MSELoss.md", "losses/L1Loss.md", "targets.md", "reference.md"):
        assert not unspelled.search((ROOT / "docs" / page).read_text(encoding="utf-8")), page


def test_explain_unknown_names(capsys):
    assert usage_error(capsys, "explain", "LL999").startswith("unknown code 'LL999'; codes run LL000…")
    assert "did you mean CrossEntropyLoss" in usage_error(capsys, "explain", "CrossEntropyLos")


# ---- check -------------------------------------------------------------------------------------------


def test_check_a_clean_call(tensors, capsys):
    assert run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "labels.pt") == (
        0, "CrossEntropyLoss: no problems found\n", ""
    )


def test_check_a_one_hot_target(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "onehot.pt")
    assert status == 1
    assert out.startswith("error[LL202] CrossEntropyLoss: `target` looks one-hot")
    assert "\n  help: convert the target: target.argmax(dim=1); or use the loss that takes it: nn.BCEWithLogitsLoss()(input, target.float())\n" in out
    assert "\x1b[" not in out  # not a terminal: plain text


def test_check_json_has_the_reports_stable_keys(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "nn.CrossEntropyLoss", "logits.pt", "onehot.pt", "--format", "json")
    data = json.loads(out)
    labels = torch.load("labels.pt")
    expected = losslint.check(nn.CrossEntropyLoss(), torch.load("logits.pt"), F.one_hot(labels, 5)).to_dict()
    assert status == 1 and data.keys() == expected.keys()
    assert data == json.loads(json.dumps(expected))
    assert data["findings"][0]["code"] == "LL202" and data["findings"][0]["argument"] == "target"


def test_check_github_annotations(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "probs.pt", "labels.pt", "--format", "github")
    assert status == 1
    (line,) = out.splitlines()
    assert line.startswith("::warning title=LL301 probabilities-passed-as-logits (CrossEntropyLoss)::`input` holds probabilities")
    assert "%0Ahelp: pass the logits" in line


def test_fail_on_select_and_ignore(tensors, capsys):
    args = ("check", "CrossEntropyLoss", "probs.pt", "labels.pt")
    assert run_main(capsys, *args, "--fail-on", "error")[0] == 0
    assert run_main(capsys, *args, "--ignore", "LL3") == (0, "CrossEntropyLoss: no problems found\n", "")
    assert run_main(capsys, *args, "--select", "LL4,LL5")[0] == 0
    assert run_main(capsys, *args, "--select", "LL4", "--select", "LL301")[0] == 1
    assert usage_error(capsys, *args, "--select", "LL9").startswith("select: 'LL9' is neither a losslint code")


def test_a_dict_of_named_arguments_and_set(tensors, capsys):
    assert run_main(capsys, "check", "cross_entropy", "batch.pt")[0] == 0
    status, out, _ = run_main(
        capsys, "check", "cross_entropy", "batch.pt", "--set", "reduction=sum", "--set", "ignore_index=-1", "--set", "weight=w.pt"
    )
    assert (status, out) == (0, "CrossEntropyLoss: no problems found\n")
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "labels.pt", "--set", "reduction=avg")
    assert status == 1 and out.startswith("error[LL004] CrossEntropyLoss: `reduction` is 'avg'")
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "labels.pt", "--set", "weight=[1.0, 2.0]")
    assert status == 1 and "`weight`" in out


def test_a_module_only_loss_is_built_from_its_configuration(tensors, capsys):
    torch.save(torch.randn(8, 16), "x.pt")
    torch.save(torch.randint(0, 10, (8,)), "y.pt")
    config = ("--set", "n_classes=10", "--set", "cutoffs=[4, 8]")
    assert run_main(capsys, "check", "AdaptiveLogSoftmaxWithLoss", "x.pt", "y.pt", "--set", "in_features=16", *config)[0] == 0
    status, out, _ = run_main(capsys, "check", "AdaptiveLogSoftmaxWithLoss", "x.pt", "y.pt", "--set", "in_features=12", *config)
    assert status == 1 and "expected in_features = 12" in out
    bad = ("--set", "in_features=16", "--set", "n_classes=10", "--set", "cutoffs=[40, 8]")
    reason = usage_error(capsys, "check", "AdaptiveLogSoftmaxWithLoss", "x.pt", "y.pt", *bad)
    assert reason.startswith(
        "cannot build AdaptiveLogSoftmaxWithLoss(in_features=16, n_classes=10, cutoffs=[40, 8]): cutoffs should be"
    )


def test_a_file_that_is_not_a_tensor_is_a_finding(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "mse_loss", "text.pt", "logits.pt")
    assert status == 1 and out.startswith("error[LL002] MSELoss: `input` is str")


def test_usage_errors_are_one_line(tensors, capsys):
    assert usage_error(capsys, "check").startswith("the following arguments are required: LOSS, FILE")
    assert usage_error(capsys, "check", "CrossEntropyLoss", "missing.pt") == "cannot read missing.pt: no such file"
    assert usage_error(capsys, "check", "CrossEntropyLoss", "logits.pt", "--format", "yaml").startswith("argument --format: invalid choice")
    assert usage_error(capsys, "check", "CrossEntropyLoss", "logits.pt", "labels.pt", "--set", "foo=1").startswith(
        "--set foo: CrossEntropyLoss has no `foo`; it takes weight,"
    )
    call = ("check", "CrossEntropyLoss", "logits.pt", "labels.pt")
    assert usage_error(capsys, *call, "--set", "ignore_index=x") == "--set ignore_index=x: expected an int"
    assert usage_error(capsys, *call, "--set", "reduction") == "--set reduction: expected KEY=VALUE, e.g. --set reduction=sum"
    assert usage_error(capsys, "check", "Cross", "logits.pt").startswith("losslint does not know the loss 'Cross'")
    Path("garbage.pt").write_bytes(b"not a torch file")
    # torch.load's own message for this file is a bare "101" (a pickle opcode it did not expect).
    assert usage_error(capsys, "check", "CrossEntropyLoss", "garbage.pt").startswith(
        "cannot load garbage.pt: it is not a file written by torch.save (expected tensors saved with torch.save(tensor, 'garbage.pt')"
    )
    Path("empty.pt").write_bytes(b"")
    assert usage_error(capsys, "check", "CrossEntropyLoss", "empty.pt") == "cannot load empty.pt: the file is empty"
    torch.save({"model": torch.nn.Linear(2, 2)}, "module.pt")  # a pickled module, not tensors
    assert usage_error(capsys, "check", "CrossEntropyLoss", "module.pt").startswith(
        "cannot load module.pt: it holds Python objects besides tensors"
    )
    assert usage_error(capsys, "frobnicate").startswith("argument COMMAND: invalid choice: 'frobnicate'")
    assert usage_error(capsys).startswith("the following arguments are required: COMMAND")


def test_help_and_version_exit_0(capsys):
    status, out, _ = run_main(capsys, "check", "--help")
    assert status == 0 and "--set KEY=VALUE" in out
    assert run_main(capsys, "--version") == (0, f"losslint {losslint.__version__}\n", "")


def test_output_file(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "onehot.pt", "--format", "json", "-o", "report.json")
    assert (status, out) == (1, "")
    assert json.loads(Path("report.json").read_text())["findings"][0]["code"] == "LL202"


# ---- configuration -----------------------------------------------------------------------------------


def test_pyproject_settings_and_flags_override_them(tensors, capsys):
    Path("pyproject.toml").write_text('[tool.losslint]\nignore = ["LL301"]\n')
    args = ("check", "CrossEntropyLoss", "probs.pt", "labels.pt")
    assert run_main(capsys, *args)[0] == 0
    assert run_main(capsys, *args, "--ignore", "LL5")[0] == 1  # the flag replaces the file's list
    Path("pyproject.toml").write_text('[tool.losslint]\nfail-on = "error"\n[tool.losslint.severity]\nLL301 = "error"\n')
    assert run_main(capsys, *args)[1].startswith("error[LL301]")
    Path("pyproject.toml").write_text('[tool.losslint]\nfail-on = "fatal"\n')
    assert "fail-on: expected 'error' or 'warning', got 'fatal'" in usage_error(capsys, *args)


def test_a_users_own_loss_through_pyproject_rules(tensors, capsys, monkeypatch):
    (tensors / "mylosses.py").write_text(
        "import torch.nn as nn, torch.nn.functional as F\n\n\n"
        "class PairLoss(nn.Module):\n    def forward(self, input, target):\n        return F.mse_loss(input, target)\n"
    )
    monkeypatch.syspath_prepend(str(tensors))
    (tensors / "lint").mkdir()
    (tensors / "lint" / "pair.toml").write_text(
        '[loss]\nname = "PairLoss"\nmodule = "mylosses.PairLoss"\nsummary = "a user\'s loss"\n'
        '[signature]\narguments = ["input", "target"]\n'
        '[[formats]]\nname = "pairs"\ndescription = "two tensors of one shape"\n'
        '[formats.arguments.input]\nshape = "N D"\n[formats.arguments.target]\nshape = "N D"\n'
    )
    Path("pyproject.toml").write_text('[tool.losslint]\nrules = ["lint"]\n')
    assert "PairLoss" in run_main(capsys, "rules")[1]
    assert run_main(capsys, "explain", "PairLoss")[1].startswith("PairLoss: a user's loss\n")
    torch.save(torch.randn(8, 3), "a.pt")
    torch.save(torch.randn(8, 3), "b.pt")
    assert run_main(capsys, "check", "PairLoss", "a.pt", "b.pt") == (0, "PairLoss: no problems found\n", "")
    status, out, _ = run_main(capsys, "check", "PairLoss", "a.pt", "logits.pt")
    assert status == 1 and out.startswith("error[LL201] PairLoss:")


# ---- color -------------------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_color_on_a_terminal_unless_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(_Tty()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Tty())
    assert use_color(io.StringIO(), "always") and not use_color(_Tty(), "never")


def test_color_rendering(tensors, capsys):
    status, out, _ = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "onehot.pt", "--color", "always")
    assert status == 1 and out.startswith("\x1b[1;31merror[LL202]\x1b[0m \x1b[1mCrossEntropyLoss:\x1b[0m `target` looks one-hot")
    plain = run_main(capsys, "check", "CrossEntropyLoss", "logits.pt", "onehot.pt", "--color", "never")[1]
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == plain


# ---- run ---------------------------------------------------------------------------------------------

RAW_LOGITS_TO_NLL = """\
import sys
import torch
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.randn(16, 5) * 3
labels = torch.randint(0, 5, (16,))
for step in range(3):
    loss = F.nll_loss(logits, labels)
print("args", sys.argv[1:])
"""

CLEAN = """\
import torch
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.randn(16, 5)
print(F.nll_loss(F.log_softmax(logits, dim=1), torch.randint(0, 5, (16,))).item() > 0)
"""


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_run_a_script_that_feeds_raw_logits_to_nll_loss(tensors, capsys):
    script(tensors, "train.py", RAW_LOGITS_TO_NLL)
    argv_before, path_before = sys.argv[:], sys.path[:]
    status, out, err = run_main(capsys, "run", "--fail-on", "warning", "train.py", "--epochs", "3")
    assert (sys.argv, sys.path) == (argv_before, path_before)
    assert status == 1, err
    assert out.startswith("args ['--epochs', '3']\n")
    assert "train.py:9: NLLLoss (all 3 calls from this line had these findings; values read on every one)\nwarning[LL302] NLLLoss: `input` " in out
    assert out.rstrip().endswith("losslint: 1 warning at 1 call site in 3 loss calls")
    assert run_main(capsys, "run", "--fail-on", "error", "train.py")[0] == 0


def test_run_a_clean_script(tensors, capsys):
    script(tensors, "clean.py", CLEAN)
    assert run_main(capsys, "run", "--fail-on", "warning", "clean.py") == (0, "True\nlosslint: no problems found in 1 loss call\n", "")


def test_run_honours_inline_suppression_and_ignore(tensors, capsys):
    script(tensors, "train.py", RAW_LOGITS_TO_NLL.replace("F.nll_loss(logits, labels)", "F.nll_loss(logits, labels)  # losslint: ignore[LL302]"))
    assert run_main(capsys, "run", "train.py")[0] == 0
    script(tensors, "train.py", RAW_LOGITS_TO_NLL)
    assert run_main(capsys, "run", "--ignore", "LL3", "train.py")[0] == 0


def test_run_json_and_github(tensors, capsys):
    script(tensors, "train.py", RAW_LOGITS_TO_NLL.replace('print("args", sys.argv[1:])', ""))
    status, out, _ = run_main(capsys, "run", "--format", "json", "train.py")
    data = json.loads(out)
    assert status == 1 and data["script"] == "train.py" and data["script_failed"] is False
    assert data["counts"] == {"error": 0, "warning": 1, "info": 0}
    (report,) = data["reports"]
    assert (report["location"], report["count"], report["findings"][0]["code"]) == ("train.py:9", 3, "LL302")
    status, out, _ = run_main(capsys, "run", "--format", "github", "train.py")
    assert status == 1 and out.startswith("::warning file=train.py,line=9,title=LL302 ")


def test_run_a_script_that_fails(tensors, capsys):
    script(tensors, "crash.py", "import torch\ntorch.randn(4, 3) @ torch.randn(4, 3)\n")
    status, out, err = run_main(capsys, "run", "crash.py")
    assert status == 1
    assert err.startswith('Traceback (most recent call last):\n  File "') and "crash.py\", line 2, in <module>" in err.splitlines()[1]
    assert err.rstrip().endswith("losslint: crash.py raised RuntimeError")
    assert out == "losslint: no problems found in 0 loss calls\n"
    script(tensors, "exits.py", "import sys\nsys.exit(3)\n")
    assert run_main(capsys, "run", "exits.py") == (1, "losslint: no problems found in 0 loss calls\n", "losslint: exits.py exited with status 3\n")
    script(tensors, "zero.py", "import sys\nsys.exit(0)\n")
    assert run_main(capsys, "run", "zero.py")[0] == 0


def test_a_path_that_is_not_a_file_says_what_it_is(tensors, capsys):
    """A directory, a missing folder, a broken link and an unreadable file are told apart, not all
    called "no such file"."""
    (tensors / "batches").mkdir()
    (tensors / "gone.pt").symlink_to(tensors / "nowhere.pt")
    call = ("check", "CrossEntropyLoss")
    assert usage_error(capsys, *call, ".", "labels.pt") == "cannot read .: it is a directory; give a file saved with torch.save"
    assert usage_error(capsys, *call, "batches", "labels.pt").startswith("cannot read batches: it is a directory")
    assert usage_error(capsys, *call, "logits.pt", "runs/labels.pt") == "cannot read runs/labels.pt: no such directory runs"
    assert usage_error(capsys, *call, "logits.pt", "labels.pt/x.pt") == "cannot read labels.pt/x.pt: labels.pt is not a directory"
    assert usage_error(capsys, *call, "gone.pt", "labels.pt").startswith("cannot read gone.pt: it is a broken symbolic link")
    assert usage_error(capsys, *call, "logits.pt", "labels.pt", "--set", "weight=batches") == (
        "cannot read batches: it is a directory; give a file saved with torch.save"
    )
    assert usage_error(capsys, *call, "logits.pt", "labels.pt", "-o", "batches") == "cannot write batches: it is a directory; give a file name"
    assert usage_error(capsys, *call, "logits.pt", "labels.pt", "-o", "out/report.txt") == "cannot write out/report.txt: no such directory out"
    assert usage_error(capsys, "run", "batches") == "cannot run batches: it is a directory; give the Python script to run"
    if os.geteuid() != 0:  # root reads everything
        (tensors / "logits.pt").chmod(0)
        assert usage_error(capsys, *call, "logits.pt", "labels.pt") == "cannot read logits.pt: permission denied"


def test_run_usage_errors(tensors, capsys):
    assert usage_error(capsys, "run", "missing.py") == "cannot run missing.py: no such file"
    assert usage_error(capsys, "run").startswith("the following arguments are required: SCRIPT")


# ---- demo --------------------------------------------------------------------------------------------


def test_demo(capsys):
    status, out, _ = run_main(capsys, "demo")
    assert status == 0
    assert "── a one-hot target for CrossEntropyLoss" in out and "error[LL202]" in out
    assert out.rstrip().endswith("CrossEntropyLoss: no problems found")


# ---- as a subprocess, from outside the checkout -----------------------------------------------------


def cli(*argv: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NO_COLOR")}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "losslint", *argv], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_subprocess_check_and_usage_error(tensors):
    done = cli("check", "CrossEntropyLoss", "logits.pt", "onehot.pt", cwd=tensors)
    assert done.returncode == 1 and done.stdout.startswith("error[LL202] CrossEntropyLoss: `target`")
    assert "\x1b[" not in done.stdout  # piped: plain
    done = cli("check", "CrossEntropyLoss", "nope.pt", cwd=tensors)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "losslint: error: cannot read nope.pt: no such file\n")


def test_subprocess_run(tensors):
    script(tensors, "train.py", RAW_LOGITS_TO_NLL)
    done = cli("run", "--fail-on", "warning", "train.py", cwd=tensors)
    assert done.returncode == 1 and "warning[LL302] NLLLoss" in done.stdout, done.stderr
    script(tensors, "clean.py", CLEAN)
    done = cli("run", "--fail-on", "warning", "clean.py", cwd=tensors)
    assert (done.returncode, done.stdout) == (0, "True\nlosslint: no problems found in 1 loss call\n"), done.stderr
