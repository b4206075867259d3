"""User rules: extends, matching without importing, the three registrations (register_rules,
[tool.losslint] rules, the losslint.rules entry point), shadowing, and where `losslint rules` says a
rule came from. The loss is a user's own module; its mistakes must come out of check() and attach()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.language import sources
from losslint.cli import main
from losslint.language.registry import registry_with

ROOT = Path(__file__).resolve().parent.parent

MODULE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0, ignore=-100):
        super().__init__()
        self.gamma = gamma
        self.ignore = ignore

    def forward(self, logits, labels):
        ce = F.cross_entropy(logits, labels, ignore_index=self.ignore, reduction="none")
        return ((1 - torch.exp(-ce)) ** self.gamma * ce).mean()
"""

RULE = """\
extends = "CrossEntropyLoss"
formats = ["class-indices"]

[loss]
name = "{name}"
module = "{module}.FocalLoss"
summary = "a user's focal loss"

[signature]
names = {{ input = "logits", target = "labels" }}
functional = []

[config]
weight = false
label_smoothing = false
reduction = false
size_average = false
reduce = false

[config.ignore_index]
attribute = "ignore"

[config.gamma]
type = "float"
default = 2.0
range = "[0, inf)"
raises = false
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def clean_sources():
    """The default registry forgets registered rules and the pyproject it read, before and after."""
    sources.reset()
    yield
    sources.reset()


@pytest.fixture
def user(tmp_path, monkeypatch):
    """A project with its own loss module (not imported) and a rule file for it."""
    module = f"userfocal_{tmp_path.name.replace('-', '_')}"
    write(tmp_path / "code" / f"{module}.py", MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    rule = write(tmp_path / "lint" / "focal.toml", RULE.format(name="UserFocal", module=module))
    return tmp_path, module, rule


def mistakes(checker_check) -> dict[str, list[str]]:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=gen)
    labels = torch.randint(0, 5, (8,), generator=gen)
    return {
        "ok": checker_check(logits, labels).codes,
        "softmax": checker_check(logits.softmax(dim=1), labels).codes,
        "one_hot": checker_check(logits, F.one_hot(labels, 5)).codes,
        "one_based": checker_check(logits, labels.clamp(min=1)).codes,
    }


EXPECTED = {"ok": [], "softmax": ["LL301"], "one_hot": ["LL202"], "one_based": []}


# ---- extends --------------------------------------------------------------------------------------


def test_extends_inherits_contract_but_not_identity_or_examples(user):
    _, _, rule = user
    spec = registry_with([rule]).losses["UserFocal"]
    assert spec.rule.extends == "CrossEntropyLoss"
    assert [f.name for f in spec.formats] == ["class-indices"]
    assert set(spec.config) == {"ignore_index", "gamma"}
    assert spec.config["ignore_index"].attribute == "ignore" and spec.config["ignore_index"].default == -100
    assert spec.rule.examples == [] and spec.rule.loss.aliases == []
    # The loss-level checks are CrossEntropyLoss's own (numerics among others).
    base = registry_with([rule]).losses["CrossEntropyLoss"]
    assert [fn.__name__ for fn, _ in spec.checks] == [fn.__name__ for fn, _ in base.checks]
    assert {"class_weight", "single_class", "diagnose_class_target_shape", "numerics"} <= {fn.__name__ for fn, _ in spec.checks}
    assert spec.forward == ("logits", "labels")


def test_extends_problems_are_reported_together_with_file_and_field(tmp_path):
    base = '[loss]\nname = "{}"\nsummary = "s"\n'
    a = write(tmp_path / "a.toml", 'extends = "B"\n' + base.format("A"))
    b = write(tmp_path / "b.toml", 'extends = "A"\n' + base.format("B"))
    c = write(tmp_path / "c.toml", 'extends = "CrossEntropy"\n' + base.format("C"))
    d = write(tmp_path / "d.toml", 'extends = "CrossEntropyLoss"\nformats = ["soft-labels"]\n' + base.format("D"))
    with pytest.raises(losslint.RuleFileError) as info:
        registry_with([a, b, c, d])
    problems = info.value.problems
    assert f"{a} → extends: a cycle: 'A' extends 'B' extends 'A'" in problems
    assert any(p.startswith(f"{c} → extends: unknown loss 'CrossEntropy'; did you mean 'CrossEntropyLoss'") for p in problems)
    assert any(p.startswith(f"{d} → formats[0]: no inherited format 'soft-labels'; inherited formats: 'class-probabilities'") for p in problems)
    assert len(problems) == 3, problems


def test_abstract_rules_match_nothing(tmp_path):
    bad = write(tmp_path / "x.toml", '[loss]\nname = "X"\nabstract = true\nmodule = "a.B"\nsummary = "s"\n[signature]\narguments = ["input"]\n[[formats]]\nname = "f"\ndescription = "d"\n[formats.arguments.input]\nshape = "N"\n')
    with pytest.raises(losslint.RuleFileError, match=r"x.toml → loss: Value error, an abstract rule matches nothing"):
        registry_with([bad])
    registry = registry_with([])
    assert "pml.MetricLoss" not in registry.losses and "kornia.SoftmaxSegmentationLoss" not in registry.losses
    with pytest.raises(losslint.UnknownLossError):
        registry.resolve("pml.MetricLoss")


# ---- matching without importing ----------------------------------------------------------------------


def test_a_users_module_is_never_imported_by_losslint(user):
    _, module, rule = user
    registry = registry_with([rule])
    assert module not in sys.modules
    with pytest.raises(losslint.UnknownLossError):
        registry.resolve(nn.Identity())
    assert module not in sys.modules  # a miss does not import pending modules either
    focal = __import__(module).FocalLoss
    spec, form, instance = registry.resolve(focal(gamma=1.0))
    assert (spec.name, form) == ("UserFocal", "module")


def test_a_class_matches_by_qualified_name_where_no_import_path_reaches(tmp_path):
    # A class made at run time in a module that cannot be imported: only its qualified name says what it is.
    cls = type("FocalLoss", (nn.Module,), {"__module__": "nowhere.losses", "forward": lambda self, logits, labels: logits.sum()})
    rule = write(tmp_path / "lint" / "f.toml", RULE.format(name="Nowhere", module="nowhere.losses"))
    registry = registry_with([rule])
    assert registry.resolve(cls())[0].name == "Nowhere"
    sub = type("Sub", (cls,), {"__module__": "elsewhere"})
    assert registry.resolve(sub())[0].name == "Nowhere"  # subclasses match through the MRO


def test_importing_losslint_imports_no_third_party_library():
    code = (
        "import sys, torch, losslint\n"
        "losslint.check('CrossEntropyLoss', torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))\n"
        "import losslint.cli\n"
        "print(sorted(m for m in ('kornia', 'pytorch_metric_learning') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---- the three registrations: check() and the hook ----------------------------------------------------


def test_register_rules_reaches_check_and_the_hook(user, clean_sources):
    _, module, rule = user
    focal = __import__(module).FocalLoss
    with pytest.raises(losslint.UnknownLossError):
        losslint.check(focal(), torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    losslint.register_rules(rule.parent)
    criterion = focal()
    assert mistakes(lambda *a: losslint.check(criterion, *a)) == EXPECTED
    criterion.ignore = 5  # configuration comes from the module: 5 is now the ignore_index
    assert losslint.check(criterion, torch.randn(4, 5), torch.tensor([0, 1, 5, 0])).codes == []
    with losslint.attach(focal(), action="collect") as hook:
        hook.module(torch.randn(8, 5).softmax(dim=1), torch.randint(0, 5, (8,)))
    assert hook.reports[0].codes == ["LL301"] and hook.reports[0].findings[0].argument == "logits"
    hooked = focal()
    losslint.attach(hooked)
    with pytest.raises(losslint.LossLintError, match=r"error\[LL401\] UserFocal: `labels` has 1 value outside \[0, 5\)"):
        hooked(torch.randn(4, 5), torch.tensor([0, 1, 5, 0]))


def test_register_rules_rejects_bad_files_and_keeps_the_registry(tmp_path, clean_sources):
    bad = write(tmp_path / "bad.toml", 'extends = "Nope"\n[loss]\nname = "X"\nsummary = "s"\n')
    before = sources.default_registry()
    with pytest.raises(losslint.RuleFileError, match="bad.toml → extends: unknown loss 'Nope'"):
        losslint.register_rules(bad)
    with pytest.raises(losslint.RuleFileError, match="missing.toml: no such file or folder"):
        losslint.register_rules(tmp_path / "missing.toml")
    assert sources.default_registry() is before


def test_pyproject_rules_reach_check_and_the_hook(user, clean_sources, monkeypatch):
    project, module, _ = user
    write(project / "pyproject.toml", '[tool.losslint]\nrules = ["lint"]\n')
    monkeypatch.chdir(project / "code")  # found from the working directory upward
    focal = __import__(module).FocalLoss
    criterion = focal()
    assert mistakes(lambda *a: losslint.check(criterion, *a)) == EXPECTED
    spec = sources.default_registry().losses["UserFocal"]
    assert spec.origin == f"[tool.losslint] rules of {project / 'pyproject.toml'}"
    with losslint.attach(focal(), action="collect") as hook:
        with pytest.raises(RuntimeError):  # action="collect": torch itself rejects the int64 one-hot target
            hook.module(torch.randn(8, 5), F.one_hot(torch.randint(0, 5, (8,)), 5))
    assert hook.reports[0].codes == ["LL202"]


ENTRY_POINT_PACKAGE = {
    "pyproject.toml": """\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "acme-losses"
        version = "1.0"

        [project.entry-points."losslint.rules"]
        acme = "acme_losses.losslint_rules"

        [tool.setuptools]
        packages = ["acme_losses", "acme_losses.losslint_rules"]

        [tool.setuptools.package-data]
        "acme_losses.losslint_rules" = ["*.toml"]
        """,
    "acme_losses/__init__.py": "raise RuntimeError('losslint must not import the package to find its rules')\n",
    "acme_losses/focal.py": MODULE,
    "acme_losses/losslint_rules/__init__.py": "",
    "acme_losses/losslint_rules/focal.toml": RULE.format(name="AcmeFocal", module="acme_losses.focal"),
}

ENTRY_POINT_SCRIPT = """\
import json, sys, types, warnings
import torch, torch.nn.functional as F
import losslint
from losslint.language import sources
from losslint.cli import main

# The package's __init__ refuses to be imported; the loss module is loaded by hand, as the package's
# users would import it, so that only losslint's own behaviour is under test.
pkg = types.ModuleType("acme_losses"); pkg.__path__ = [sys.argv[1] + "/acme_losses"]
sys.modules["acme_losses"] = pkg
import importlib.util
spec = importlib.util.spec_from_file_location("acme_losses.focal", sys.argv[1] + "/acme_losses/focal.py")
focal = importlib.util.module_from_spec(spec); sys.modules["acme_losses.focal"] = focal; spec.loader.exec_module(focal)

loss = focal.FocalLoss()
logits, labels = torch.randn(8, 5), torch.randint(0, 5, (8,))
out = {
    "origin": sources.default_registry().losses["AcmeFocal"].origin,
    "ok": losslint.check(loss, logits, labels).codes,
    "softmax": losslint.check(loss, logits.softmax(dim=1), labels).codes,
    "one_hot": losslint.check(loss, logits, F.one_hot(labels, 5)).codes,
}
with losslint.attach(focal.FocalLoss(), action="collect") as hook:
    hook.module(logits.softmax(dim=1), labels)
out["hook"] = hook.reports[0].codes
print(json.dumps(out))
"""


def test_an_entry_point_ships_rules_for_a_package(tmp_path):
    source = tmp_path / "src"
    for name, text in ENTRY_POINT_PACKAGE.items():
        write(source / name, text)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist")], check=True)
    (wheel,) = (tmp_path / "dist").glob("acme_losses-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    done = subprocess.run([sys.executable, "-c", ENTRY_POINT_SCRIPT, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {
        "origin": "entry point losslint.rules:acme of acme-losses",
        "ok": [], "softmax": ["LL301"], "one_hot": ["LL202"], "hook": ["LL301"],
    }


# ---- shadowing and where rules come from ------------------------------------------------------------


def test_a_user_rule_that_shadows_a_builtin_one_says_so(tmp_path, clean_sources):
    rule = write(
        tmp_path / "ce.toml",
        'extends = "CrossEntropyLoss"\n[loss]\nname = "CrossEntropyLoss"\nmodule = "torch.nn.CrossEntropyLoss"\n'
        'functional = "torch.nn.functional.cross_entropy"\nsummary = "ours"\n[config.ignore_index]\ndefault = 255\n',
    )
    with pytest.warns(losslint.RuleShadowWarning, match=r"ce.toml \(register_rules\(\)\): CrossEntropyLoss shadows the built-in rule CrossEntropyLoss"):
        losslint.register_rules(rule)
    spec, _, _ = sources.default_registry().resolve(nn.CrossEntropyLoss())
    assert spec.source == str(rule.resolve()) and spec.rule.loss.summary == "ours"
    # The shadowing rule extends the built-in one it replaces: 255 is now skipped by default.
    # (Some pixels labelled: a target that is all ignore_index is 0/0, LL601.)
    target = torch.full((2, 4, 4), 255)
    target[:, 0] = 1
    assert losslint.check(F.cross_entropy, torch.randn(2, 3, 4, 4), target).codes == []


def run_cli(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_losslint_rules_says_where_each_rule_came_from(user, capsys, monkeypatch):
    project, module, _ = user
    write(project / "pyproject.toml", '[tool.losslint]\nrules = ["lint"]\n')
    monkeypatch.chdir(project)
    status, out, _ = run_cli(capsys, "rules")
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert status == 0
    assert lines["CrossEntropyLoss"].split()[1:3] == ["F.cross_entropy", "torch"]
    assert lines["UserFocal"].split()[1:3] == [f"{module}.FocalLoss", "lint/focal.toml"]
    assert f"([tool.losslint] rules of {project / 'pyproject.toml'})" in lines["UserFocal"]
    assert "kornia.losses.focal_loss" in lines["kornia.FocalLoss"]
    data = {e["name"]: e for e in json.loads(run_cli(capsys, "rules", "--format", "json")[1])}
    assert data["UserFocal"]["extends"] == "CrossEntropyLoss" and data["UserFocal"]["library"] == module
    assert data["pml.ContrastiveLoss"]["origin"] == "built-in" and data["pml.ContrastiveLoss"]["library"] == "pytorch_metric_learning"
    explained = run_cli(capsys, "explain", "UserFocal")[1]
    assert "  rule:       lint/focal.toml ([tool.losslint] rules of" in explained and "  extends:    CrossEntropyLoss" in explained


def test_losslint_rules_says_a_library_is_not_installed(tmp_path):
    # kornia hidden from this interpreter: its rules stay listed, and say so.
    code = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'kornia': raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from losslint.cli import main\n"
        "sys.exit(main(['rules']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (focal,) = [line for line in done.stdout.splitlines() if line.startswith("kornia.FocalLoss ")]
    assert "kornia (not installed)" in focal


def test_docs_for_a_projects_own_rules(user, tmp_path):
    _, _, rule = user
    from losslint.advice.docs import main as docs_main

    assert docs_main(["--out", str(tmp_path / "site"), "--rules", str(rule.parent)]) == 0
    page = (tmp_path / "site" / "losses" / "UserFocal.md").read_text()
    assert f"| rule file | `{rule.resolve()}` |" in page and "| extends | [CrossEntropyLoss](CrossEntropyLoss.md) |" in page
    assert "| arguments | `logits`, `labels` |" in page
