"""docs/guides/writing-rules.md is tested as written: its files are written out, its commands run, and their
output must be what the guide shows; the rule file's own examples run against the guide's loss."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from examples_runner import all_examples, run_example

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guides" / "writing-rules.md"
BLOCK = re.compile(r"<!-- (file|output|output-tail): (.+?) -->\n(?P<indent>[ ]*)```\w*\n(?P<body>.*?)\n(?P=indent)```", re.S)


def blocks() -> list[tuple[str, str, str]]:
    found = []
    for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8")):
        body = textwrap.dedent(textwrap.indent(match["body"], match["indent"]))
        found.append((match[1], match[2], body))
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("myproject")
    for kind, name, body in blocks():
        if kind == "file":
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body + "\n", encoding="utf-8")
    (folder / "mylosses" / "__init__.py").touch()
    return folder


def test_the_guide_has_its_files_and_outputs():
    kinds = [(kind, name) for kind, name, _ in blocks()]
    assert ("file", "lint/focal.toml") in kinds and ("file", "mylosses/focal.py") in kinds
    assert ("output", "python check_batch.py") in kinds and ("output-tail", "python train.py") in kinds


@pytest.mark.parametrize("kind,command,shown", [b for b in blocks() if b[0] != "file"], ids=lambda v: v if isinstance(v, str) and v.startswith("python") else "")
def test_commands_print_what_the_guide_shows(project, kind, command, shown):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    env["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run([sys.executable, *command.split()[1:]], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    if kind == "output":
        assert done.returncode == 0, out
        assert out.rstrip("\n") == shown
    else:
        assert done.returncode != 0
        assert out[out.index(shown.splitlines()[0]):].rstrip("\n") == shown


def test_the_rule_files_examples_run_against_the_guides_loss(project, monkeypatch):
    from losslint.language.registry import registry_with

    monkeypatch.syspath_prepend(str(project))
    for name in [m for m in sys.modules if m == "mylosses" or m.startswith("mylosses.")]:
        monkeypatch.delitem(sys.modules, name)  # another test's own `mylosses` module
    registry = registry_with([project / "lint"])
    cases = [(loss, example, form) for loss, example, form in all_examples(registry) if loss.layer > 0]
    assert len(cases) == 3
    for loss, example, form in cases:
        outcome = run_example(loss, example, form, registry=registry)
        loud = sorted({f.code for f in outcome.report.findings if f.severity in ("error", "warning")})
        assert loud == sorted(example.expect), f"{example.name}:\n{outcome.report}"
        assert outcome.report.torch_raises == outcome.torch_raised, example.name
