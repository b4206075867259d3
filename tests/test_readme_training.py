"""The README's Lightning and HuggingFace Trainer output is what `examples/lit_demo.py` and
`examples/hf_demo.py` print: each runs as a user runs it (`python lit_demo.py`, in a folder of its
own, a real Trainer on the CPU), and every line of the README's block appears in its output, in order.
The README's text once went stale when the report moved to the user's line; this keeps it true."""

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


def _readme_block(after: str) -> list[str]:
    """The lines of the first ```text block after the paragraph that starts with `after`."""
    text = (ROOT / "README.md").read_text()
    start = text.index(after)
    block = text.index("```text\n", start) + len("```text\n")
    return [line for line in text[block : text.index("```", block)].splitlines() if line.strip()]


def _run(script: str, tmp_path: Path) -> list[str]:
    shutil.copy(ROOT / "examples" / script, tmp_path / script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    # Where the installed packages live differs by machine; the README writes it as `.../site-packages/`.
    output = re.sub(r"\S*/site-packages/", ".../site-packages/", done.stdout + "\n" + done.stderr)
    return [line.rstrip() for line in output.splitlines()]


def _in_order(expected: list[str], output: list[str]) -> None:
    at = 0
    for line in expected:
        try:
            at = output.index(line.rstrip(), at) + 1
        except ValueError:
            pytest.fail(f"README line not in the output (in order): {line!r}\n--- output ---\n" + "\n".join(output[-80:]))


def test_the_lightning_output_in_the_readme_is_what_the_example_prints(tmp_path):
    need("lightning")
    _in_order(_readme_block("Lightning: `losslint.lightning.LossLint`"), _run("lit_demo.py", tmp_path))


def test_the_huggingface_output_in_the_readme_is_what_the_example_prints(tmp_path):
    need("transformers")
    need("accelerate")
    _in_order(_readme_block("HuggingFace: `losslint.hf.LossLintCallback`"), _run("hf_demo.py", tmp_path))
