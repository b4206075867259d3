"""The package's layers: imports run one way, down the layers, and the public surface stays what it was.

Bottom up: `losslint.errors` (the exception family), `language` (rule files, configuration, the table of
named checks), `evidence` (facts about a tensor), `judging` (the engine), `static` (`losslint lint`: source code, no torch), `checks` and `libraries`
(named checks for torch's and other libraries' losses), `advice` (suggest(), switch hints, generated
docs), `hooks` (attach, pre_hook, watch), `integrations` (Lightning, HF Trainer, pytest), and the
public surface at the top (`losslint/__init__.py`, the CLI). A module may import its own layer and any
below it; an import made only for type annotations (`if TYPE_CHECKING:`) is not a dependency.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

import losslint

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "losslint"
LAYERS = ["errors", "language", "evidence", "judging", "static", "checks", "libraries", "advice", "hooks", "integrations"]
TOP = len(LAYERS)  # the public surface: losslint/*.py other than errors.py and version.py


def _layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "losslint":
        raise ValueError(module)
    if len(parts) == 1:
        return TOP
    if parts[1] == "version":  # one constant, below every layer, as the exception family is
        return 0
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else TOP


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every losslint import outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if not module.startswith("losslint"):
                continue
            # `from . import a, b` imports modules a and b
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                sub = ROOT / Path(*candidate.split("."))
                found.append((node.lineno, candidate if sub.with_suffix(".py").exists() or sub.is_dir() else module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("losslint")]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_down_the_layers(path):
    here = _module_name(path)
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module} ({LAYERS[_layer(module)] if _layer(module) < TOP else 'the public surface'})"
        for line, module in _imports(path)
        if _layer(module) > _layer(here)
    ]
    assert not upward, f"{here} is in layer {LAYERS[_layer(here)] if _layer(here) < TOP else 'top'}; these run up:\n" + "\n".join(upward)


def test_every_layer_says_what_it_owns_and_may_import():
    for layer in LAYERS[1:]:
        doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text())) or ""
        assert "import" in doc.lower(), f"losslint/{layer}/__init__.py does not say what the layer may import"


def test_the_top_level_holds_only_the_public_surface_and_the_cli():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(LAYERS[1:]), packages


def test_no_module_speaks_of_the_round_of_work_that_added_it():
    pattern = re.compile(r"\bissue \d+|\(issue\b", re.IGNORECASE)
    said = [f"{p.relative_to(ROOT)}:{i}" for p in MODULES for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not said, said


PUBLIC = [
    "Checker", "ConfigError", "Finding", "LossLintError", "LossLintInternalWarning", "LossLintWarning", "Policy",
    "Report", "RuleFileError", "RuleShadowWarning", "UnknownLossError", "attach", "check", "pre_hook",
    "register_rules", "suggest", "watch",
]


def test_the_public_names_are_pinned():
    assert sorted(losslint.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(losslint, name) is not None
        # Tracebacks and warning filters name the public module for the exception family.
    for name in ("LossLintError", "LossLintWarning", "RuleShadowWarning", "ConfigError"):
        assert getattr(losslint, name).__module__ == "losslint"
    assert callable(losslint.check) and callable(losslint.watch) and callable(losslint.suggest)


def test_the_entry_points_and_callback_modules_are_where_users_find_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"losslint": "losslint.cli:main"}
    plugin = project["entry-points"]["pytest11"]["losslint"]
    assert (ROOT / Path(*plugin.split("."))).with_suffix(".py").is_file()
    for module, name in (("lightning", "LossLint"), ("hf", "LossLintCallback")):
        text = (PACKAGE / f"{module}.py").read_text()
        assert f"import {name}" in text, f"losslint.{module} no longer offers {name}"
