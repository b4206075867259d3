"""The repository's pre-commit hook (.pre-commit-hooks.yaml), run by the real `pre-commit` tool.

`pre-commit try-repo` clones this repository and builds the hook's environment with pip, as it does for
a user's `repos: - repo: ...`. The package's dependencies (torch, pydantic) are left out with
PIP_NO_DEPS=1: downloading a torch build for a test would take minutes, and `losslint lint` must run
without them anyway, which this shows. Building the package needs setuptools from the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pre_commit() -> list[str]:
    pytest.importorskip("pre_commit")
    return [sys.executable, "-m", "pre_commit"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_hook_definition():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    for line in ("- id: losslint", "entry: losslint lint", "language: python", "types_or: [python, jupyter]"):
        assert line in text


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_hook_runs_through_pre_commit(tmp_path):
    command = _pre_commit()
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / "train.py").write_text(
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n\ndef step(logits, y):\n"
        "    return nn.CrossEntropyLoss()(F.softmax(logits, dim=1), y)\n", encoding="utf-8")
    (repo / "clean.py").write_text("import torch.nn.functional as F\n\n\ndef step(logits, y):\n"
                                   "    return F.cross_entropy(logits, y)\n", encoding="utf-8")
    (repo / "notes.txt").write_text("F.cross_entropy(F.softmax(x, 1), y)\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    env = {**os.environ, "PIP_NO_DEPS": "1", "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)  # the hook must run from its own environment, not this checkout

    def run(*files: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, "try-repo", str(ROOT), "losslint", "--files", *files], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)

    failed = run("train.py", "clean.py", "notes.txt")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "train.py:6:12: warning[LL301] CrossEntropyLoss: static:" in failed.stdout
    assert "in 2 files" in failed.stdout  # notes.txt is neither python nor jupyter: not given to the hook
    passed = run("clean.py")
    assert passed.returncode == 0, passed.stdout + passed.stderr
