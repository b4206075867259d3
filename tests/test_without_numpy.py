"""In a fresh venv without NumPy, torch warns "Failed to initialize NumPy" on import; losslint's commands
keep that out of their output (the decision: losslint does not depend on NumPy, which it never uses).

The venv is new and holds the wheel built from this checkout; torch and the other dependencies come
from this environment's site-packages, linked in one by one, NumPy left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    work = tmp_path_factory.mktemp("nonumpy")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    deps = work / "deps"
    deps.mkdir()
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        name = entry.name.lower()
        if name.startswith(("numpy", "losslint", "torch_losslint", "_torch_losslint", "__editable__")) or name.endswith(".pth"):
            continue
        (deps / entry.name).symlink_to(entry)
    target_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    Path(target_site, "deps.pth").write_text(str(deps) + "\n")
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)], check=True)
    [wheel] = dist.glob("torch_losslint-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], check=True)
    return work / "venv"


def _run(venv: Path, *command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=venv.parent, env=env, capture_output=True, text=True, timeout=300)


def test_the_venv_has_no_numpy_and_torch_warns_about_it(venv):
    out = _run(venv, str(venv / "bin" / "python"), "-c", "import torch")
    assert "Failed to initialize NumPy" in out.stderr  # the environment reproduces the report
    assert _run(venv, str(venv / "bin" / "python"), "-c", "import numpy").returncode != 0


def test_commands_say_nothing_about_numpy(venv):
    demo = _run(venv, str(venv / "bin" / "losslint"), "demo")
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.startswith("── a one-hot target for CrossEntropyLoss")
    assert "NumPy" not in demo.stderr and "NumPy" not in demo.stdout
    rules = _run(venv, str(venv / "bin" / "python"), "-m", "losslint", "rules")
    assert rules.returncode == 0 and rules.stderr == "" and rules.stdout.startswith("LOSS ")
