"""What `losslint run` and `losslint check` hand back to people and to programs: the script's prints kept
out of the JSON, the calls counted, calls torch would reject stopped, dict files with the wrong names,
and no colour under NO_COLOR, also on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""\
    import os, torch, torch.nn.functional as F
    print("epoch 1")                      # Python's stdout
    os.write(1, b"from C code\\n")         # the C level's, fd 1
    torch.manual_seed(0)
    for step in range(30):
        F.nll_loss(torch.randn(16, 5) * 3, torch.randint(0, 5, (16,)))
    F.cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 2, 3]))   # torch would reject this
    print("not reached")
""")


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "losslint", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture
def train(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    return tmp_path


def test_run_json_is_parseable_when_the_script_prints(train):
    out = run_cli("run", "--format", "json", "train.py", cwd=train)
    data = json.loads(out.stdout)  # the report alone on stdout
    assert "epoch 1\n" in out.stderr and "from C code\n" in out.stderr and "not reached" not in out.stderr
    assert data["calls"] == 31 and data["script_failed"] is True and out.returncode == 1
    by_code = {tuple(f["code"] for f in r["findings"]): r for r in data["reports"]}
    raw = by_code[("LL302",)]
    # 30 calls from the line, values read on the first 10 (the default policy), all 10 had the finding.
    assert (raw["count"], raw["site_calls"], raw["values_read"]) == (10, 30, 10)
    assert by_code[("LL401",)]["location"] == "train.py:7"
    github = run_cli("run", "--format", "github", "train.py", cwd=train)
    assert github.stdout.startswith("::warning file=train.py,line=6,") and "epoch 1" not in github.stdout


def test_run_stops_a_call_torch_would_reject_and_reports_it(train):
    out = run_cli("run", "train.py", cwd=train)
    assert out.returncode == 1
    assert out.stdout.startswith("epoch 1\nfrom C code\n")  # text: the script's output, then the report
    assert "not reached" not in out.stdout and "IndexError" not in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.strip() == (
        "losslint: stopped train.py before a CrossEntropyLoss call that torch would reject, at train.py:7"
    )
    assert "train.py:6: NLLLoss (10 of the 30 calls from this line had these findings; values read on 10 of them, shapes and dtypes on all)" in out.stdout
    assert "train.py:7: CrossEntropyLoss\nerror[LL401]" in out.stdout
    assert out.stdout.rstrip().endswith("losslint: 1 error, 1 warning at 2 call sites in 31 loss calls")


def test_check_a_dict_file_with_other_names_is_a_usage_error(tmp_path):
    torch.save({"logits": torch.randn(4, 3), "labels": torch.randint(0, 3, (4,))}, tmp_path / "batch.pt")
    out = run_cli("check", "CrossEntropyLoss", "batch.pt", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (
        "losslint: error: batch.pt holds a dict with keys 'logits', 'labels', which CrossEntropyLoss does not "
        "take; name the tensors input, target (optional: weight, ignore_index, reduction, label_smoothing), "
        "or save each tensor to its own file and give the files in that order\n"
    )
    assert "size_average" not in out.stderr
    torch.save({"input": torch.randn(4, 3), "target": torch.randint(0, 3, (4,))}, tmp_path / "named.pt")
    assert run_cli("check", "CrossEntropyLoss", "named.pt", cwd=tmp_path).stdout == "CrossEntropyLoss: no problems found\n"


def _on_a_terminal(args: list[str], cwd: Path, env: dict) -> bytes:
    """Run the command with its stdout and stderr on a pseudo-terminal, as a person sees it."""
    main, secondary = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update({"PYTHONPATH": str(ROOT), "TERM": "xterm", **env})
    proc = subprocess.Popen([sys.executable, "-m", "losslint", *args], cwd=cwd, env=environment, stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(main)
    return b"".join(chunks)


@pytest.mark.parametrize("command", [["demo"], ["run", "train.py"], ["check", "CrossEntropyLoss", "batch.pt"], ["explain", "LL301"], ["rules"]])
def test_no_color_means_no_escape_codes_even_on_a_terminal(train, command):
    torch.save([torch.randn(4, 3), torch.tensor([0, 1, 2, 3])], train / "batch.pt")
    plain = _on_a_terminal(command, train, {"NO_COLOR": "1"})
    assert plain and b"\x1b[" not in plain, plain[:400]
    if command[0] in ("demo", "run", "check"):
        # The same command on a terminal without NO_COLOR is coloured: the test can tell the difference.
        assert b"\x1b[" in _on_a_terminal(command, train, {})
