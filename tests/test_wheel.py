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
    shipped = sorted(p.name for p in (target / "losslint" / "rules").glob("*.toml"))
    assert shipped == sorted(p.name for p in (ROOT / "rules").glob("*.toml"))


def test_installed_wheel_checks_from_another_folder(installed):
    target, work = installed
    code = (
        "import torch, torch.nn.functional as F, losslint; "
        "assert 'site' in losslint.__file__, losslint.__file__; "
        "r = losslint.check('CrossEntropyLoss', torch.randn(8, 5), F.one_hot(torch.randint(0, 5, (8,)), 5)); "
        "print(r.findings[0].code, r.findings[0].argument, r.torch_raises)"
    )
    assert _run(target, work, code).split() == ["LL202", "target", "True"]
