"""The documented Lightning and HuggingFace Trainer output is what `examples/lit_demo.py` and
`examples/hf_demo.py` print: each runs as a user runs it (`python lit_demo.py`, in a folder of its
own, a real Trainer on the CPU), and every line of the recorded block appears in its output, in order.
The text once went stale when the report moved to the user's line; this keeps it true.

Only what another project owns is normalised, on both sides, before comparing (`third_party_neutral`):
- where the installed packages live (`/usr/lib/python3.11/site-packages/` → `.../site-packages/`);
- the line number of a frame inside an installed package (`modeling_bert.py:1134` → `modeling_bert.py:<line>`):
  a new transformers release moves its own lines without changing anything losslint says.
Everything else — the example's own line numbers, losslint's codes, messages and fixes — must match.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need

ROOT = Path(__file__).resolve().parent.parent
# Where the recorded outputs live: the guide to the training callbacks.
RECORDED = ROOT / "docs" / "guides" / "training-hooks.md"
LIGHTNING = "Lightning: `losslint.lightning.LossLint`"
HUGGINGFACE = "HuggingFace: `losslint.hf.LossLintCallback`"

_SITE_PACKAGES = re.compile(r"\S*/site-packages/")
_INSTALLED_LINE = re.compile(r"(\.\.\./site-packages/[^\s:()]+\.py):\d+")


def third_party_neutral(text: str) -> str:
    """`text` with the parts another project owns written the same way on every machine and release."""
    return _INSTALLED_LINE.sub(r"\1:<line>", _SITE_PACKAGES.sub(".../site-packages/", text))


def recorded_block(after: str, path: Path = RECORDED) -> list[str]:
    """The lines of the first ```text block after the paragraph that starts with `after`."""
    text = path.read_text()
    start = text.index(after)
    block = text.index("```text\n", start) + len("```text\n")
    return [line for line in text[block : text.index("```", block)].splitlines() if line.strip()]


def missing_in_order(expected: list[str], output: list[str]) -> str | None:
    """The first expected line not found in `output` after the previous one, or None when all are."""
    output = [third_party_neutral(line).rstrip() for line in output]
    at = 0
    for line in expected:
        try:
            at = output.index(third_party_neutral(line).rstrip(), at) + 1
        except ValueError:
            return line
    return None


def _run(script: str, tmp_path: Path) -> list[str]:
    shutil.copy(ROOT / "examples" / script, tmp_path / script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return (done.stdout + "\n" + done.stderr).splitlines()


def _assert_in_order(expected: list[str], output: list[str]) -> None:
    line = missing_in_order(expected, output)
    if line is not None:
        pytest.fail(f"recorded line not in the output (in order): {line!r}\n--- output ---\n" + "\n".join(output[-80:]))


def test_the_lightning_output_in_the_docs_is_what_the_example_prints(tmp_path):
    need("lightning")
    _assert_in_order(recorded_block(LIGHTNING), _run("lit_demo.py", tmp_path))


def test_the_huggingface_output_in_the_docs_is_what_the_example_prints(tmp_path):
    need("transformers")
    need("accelerate")
    _assert_in_order(recorded_block(HUGGINGFACE), _run("hf_demo.py", tmp_path))


def _rewritten(tmp_path: Path, old: str, new: str) -> Path:
    text = RECORDED.read_text()
    assert old in text, f"the recorded HuggingFace output no longer has {old!r}"
    copy = tmp_path / RECORDED.name
    copy.write_text(text.replace(old, new))
    return copy


def test_a_new_third_party_line_number_still_matches_and_a_changed_losslint_line_does_not(tmp_path):
    """The comparison itself, without transformers: the recorded block is the "output" of a run on
    another transformers release (its own line moved) or of a losslint that reports another line."""
    recorded = recorded_block(HUGGINGFACE)
    site = next(line for line in recorded if "/site-packages/transformers/" in line)
    library_line = re.search(r"modeling_\w+\.py:(\d+)", site).group(0)
    moved = library_line.split(":")[0] + f":{int(library_line.split(':')[1]) + 4}"
    # transformers moved its own line, and the machine keeps its packages elsewhere: still the same output.
    run_elsewhere = [
        line.replace(library_line, moved).replace(".../site-packages/", "/opt/venv/lib/python3.11/site-packages/")
        for line in recorded_block(HUGGINGFACE, _rewritten(tmp_path, library_line, moved))
    ]
    assert missing_in_order(recorded, run_elsewhere) is None
    # losslint reports the user's line: a different one is a real change and is caught.
    user_line = re.search(r"hf_demo\.py:(\d+)", site).group(0)
    other_user_line = user_line.split(":")[0] + f":{int(user_line.split(':')[1]) + 1}"
    assert missing_in_order(recorded, recorded_block(HUGGINGFACE, _rewritten(tmp_path, user_line, other_user_line))) == site
    # So is a change in what losslint says.
    changed_fix = recorded_block(HUGGINGFACE, _rewritten(tmp_path, "(target + 1) / 2", "(target + 1) // 2"))
    assert missing_in_order(recorded, changed_fix) is not None


def test_a_failure_names_a_library_newer_than_the_verified_release(monkeypatch):
    import conftest

    monkeypatch.setitem(conftest.VERIFIED_RELEASES, "pytest", "1.0.0")
    assert conftest.newer_than_verified("import pytest") == [f"pytest {pytest.__version__} (verified up to 1.0.0)"]
    assert conftest.newer_than_verified("import torch") == []
    monkeypatch.setitem(conftest.VERIFIED_RELEASES, "pytest", "999.0")
    assert conftest.newer_than_verified("import pytest") == []
