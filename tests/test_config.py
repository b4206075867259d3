"""[tool.losslint] discovery and validation, code selection, per-code severity, inline suppression,
and extra rule files."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.language.config import Settings, find_pyproject, load_settings
from losslint.errors import ConfigError
from losslint.language.registry import registry_with
from losslint.language.selection import Selection, SelectionError, fails
from losslint.judging.suppress import apply_suppressions, suppressed


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---- discovery -------------------------------------------------------------------------------------


def test_found_from_a_subfolder_upward_skipping_pyprojects_without_the_table(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.losslint]\nignore = ["LL5"]\nfail-on = "error"\n')
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'inner'\n")
    deep = tmp_path / "pkg" / "src" / "deep"
    deep.mkdir(parents=True)
    path, table = find_pyproject(deep)
    assert path == tmp_path / "pyproject.toml"
    settings = load_settings(deep)
    assert settings.ignore == ("LL5",) and settings.fail_on == "error" and settings.source == path


def test_defaults_without_any_table(tmp_path):
    assert load_settings(tmp_path) == Settings()


def test_every_problem_is_reported_at_once_with_file_and_key(tmp_path):
    path = write(
        tmp_path / "pyproject.toml",
        """
        [tool.losslint]
        fail_on = "error"
        select = "LL3"
        fail-on = "never"
        rules = ["missing/"]
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert f"{path} → tool.losslint → fail_on: unknown key (did you mean fail-on?)" in message
    assert "→ fail-on: expected 'error' or 'warning', got 'never'" in message
    assert "→ rules: 'missing/' does not exist" in message


def test_rule_paths_is_the_old_name_of_rules(tmp_path):
    write(tmp_path / "lint" / "x.toml", "")
    write(tmp_path / "pyproject.toml", '[tool.losslint]\nrule-paths = ["lint"]\n')
    assert load_settings(tmp_path).rule_paths == (tmp_path / "lint",)
    write(tmp_path / "pyproject.toml", '[tool.losslint]\nrule-paths = ["lint"]\nrules = ["lint"]\n')
    with pytest.raises(ConfigError, match="rule-paths: the old name of `rules`; give only `rules`"):
        load_settings(tmp_path)


def test_an_unknown_code_names_the_file(tmp_path):
    path = write(tmp_path / "pyproject.toml", '[tool.losslint]\nignore = ["LL9"]\n')
    with pytest.raises(ConfigError, match=rf"{path} → tool.losslint: ignore: 'LL9' is neither a losslint code nor a prefix"):
        load_settings(tmp_path)


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path / "pyproject.toml", "[tool.losslint\n")
    with pytest.raises(ConfigError, match=f"{path}: not valid TOML"):
        load_settings(tmp_path)


def test_flags_override_the_file():
    settings = Settings(select=("LL3",), ignore=("LL301",), fail_on="error")
    assert settings.override(select=None, ignore=None, fail_on=None) == settings
    assert settings.override(select=("LL4",), fail_on="warning") == dataclasses.replace(settings, select=("LL4",), fail_on="warning")


# ---- selection -------------------------------------------------------------------------------------


def _report():
    logits = torch.randn(8, 5)
    probs = logits.softmax(dim=1)
    return losslint.check(nn.CrossEntropyLoss(), probs, torch.tensor([0, 1, 2, 3, 4, 5, 1, 2]))


def test_select_and_ignore_by_prefix_the_more_specific_wins():
    report = _report()
    assert report.codes == ["LL401", "LL301"]
    assert Selection.build(ignore=["LL3"]).apply(report).codes == ["LL401"]
    assert Selection.build(select=["LL3"], ignore=["LL301"]).apply(report).codes == []
    assert Selection.build(select=["LL301"], ignore=["LL3"]).apply(report).codes == ["LL301"]
    assert Selection.build(select=["LL4,LL3"]).apply(report).codes == ["LL401", "LL301"]
    assert Selection.build(ignore=["ALL"]).apply(report).codes == []
    assert Selection.build().apply(report) is report


def test_severity_override_never_softens_what_torch_rejects():
    report = _report()
    changed = Selection.build(severity={"LL3": "error", "LL401": "info"}).apply(report)
    by_code = {f.code: f for f in changed.findings}
    assert by_code["LL301"].severity == "error"
    assert by_code["LL401"].severity == "error" and by_code["LL401"].torch_raises
    assert changed.loss == report.loss


def test_fails_at_the_threshold():
    report = Selection.build(select=["LL301"]).apply(_report())
    assert fails(report, "warning") and not fails(report, "error")
    info = Selection.build(severity={"LL301": "info"}).apply(report)
    assert not fails(info, "warning")


def test_unknown_codes_and_severities_are_one_line_errors():
    known = ["LL001", "LL301", "LL503"]
    with pytest.raises(SelectionError, match=r"^select: 'LL9' is neither a losslint code nor a prefix of one \(codes run LL001…LL503"):
        Selection.build(select=["LL9"], known=known)
    with pytest.raises(SelectionError, match="severity: LL301 = 'fatal'; use one of error, warning, info"):
        Selection.build(severity={"LL301": "fatal"}, known=known)


def test_selection_keeps_the_call_site():
    report = dataclasses.replace(_report(), location="train.py:12", count=3)
    kept = Selection.build(ignore=["LL4"]).apply(report)
    assert (kept.location, kept.count, kept.codes) == ("train.py:12", 3, ["LL301"])


# ---- inline suppression ----------------------------------------------------------------------------


def test_inline_suppression_reads_the_calling_line(tmp_path):
    source = write(
        tmp_path / "train.py",
        """\
        loss = F.cross_entropy(probs, y)  # losslint: ignore[LL301]
        loss = F.cross_entropy(probs, y)  # losslint: ignore[LL3, LL4]
        loss = F.cross_entropy(probs, y)  # losslint: ignore
        loss = F.cross_entropy(probs, y)
        """,
    )
    assert suppressed(f"{source}:1") == ("LL301",)
    assert suppressed(f"{source}:2") == ("LL3", "LL4")
    assert suppressed(f"{source}:3") == ("ALL",)
    assert suppressed(f"{source}:4") is None
    assert suppressed(None) is None and suppressed("nowhere.py:1") is None
    report = _report()
    at = lambda line: dataclasses.replace(report, location=f"{source}:{line}")  # noqa: E731
    assert apply_suppressions(at(1)).codes == ["LL401"]
    assert apply_suppressions(at(2)).codes == []
    assert apply_suppressions(at(3)).codes == []
    assert apply_suppressions(at(4)).codes == ["LL401", "LL301"]
    assert apply_suppressions(report) is report


# ---- extra rule files ------------------------------------------------------------------------------

FOCAL_MODULE = """\
import torch.nn as nn
import torch.nn.functional as F


class FocalLoss(nn.Module):
    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target)
"""

FOCAL_RULE = """\
[loss]
name = "FocalLoss"
module = "focal_for_losslint.FocalLoss"
summary = "A user's own loss, described by a rule file."

[signature]
arguments = ["input", "target"]

[[formats]]
name = "logits"
description = "logits and {0, 1} targets of the same shape"
[formats.arguments.input]
shape = "*s"
dtype = ["floating"]
dtype_code = "LL104"
kind = "binary_logits"
[formats.arguments.target]
shape = "*s"
dtype = ["floating"]
dtype_code = "LL103"
domain = "[0, 1]"
domain_code = "LL402"
"""


@pytest.fixture
def focal(tmp_path, monkeypatch):
    write(tmp_path / "code" / "focal_for_losslint.py", FOCAL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    write(tmp_path / "lint" / "focal.toml", FOCAL_RULE)
    write(tmp_path / "pyproject.toml", '[tool.losslint]\nrules = ["lint"]\n')
    return tmp_path


def test_rules_add_a_users_loss(focal):
    settings = load_settings(focal)
    assert settings.rule_paths == (focal / "lint",)
    registry = settings.registry()
    assert "FocalLoss" in registry.losses and "CrossEntropyLoss" in registry.losses
    checker = losslint.Checker(registry=registry)
    from focal_for_losslint import FocalLoss

    assert checker.check(FocalLoss(), torch.randn(8), torch.rand(8).round()).codes == []
    assert checker.check(FocalLoss(), torch.randn(8), torch.full((8,), 255.0)).codes == ["LL402"]


def test_without_rules_it_is_the_builtin_registry():
    from losslint.language.registry import builtin_registry

    assert registry_with([]) is builtin_registry()


def test_an_invalid_extra_rule_file_is_reported_with_its_path(tmp_path):
    bad = write(tmp_path / "bad.toml", FOCAL_RULE.replace('kind = "binary_logits"', 'kind = "vibes"'))
    with pytest.raises(losslint.RuleFileError, match=rf"{bad} → formats\[0\] → arguments → input → kind: unknown kind 'vibes'"):
        registry_with([bad])


def test_an_extra_loss_that_shadows_a_builtin_one_says_so(tmp_path):
    clash = write(tmp_path / "clash.toml", FOCAL_RULE.replace('name = "FocalLoss"', 'name = "MSELoss"'))
    with pytest.warns(losslint.RuleShadowWarning, match=r"clash.toml \(user\): MSELoss shadows the built-in rule MSELoss from .*mse.toml \(the name 'MSELoss'\)"):
        registry = registry_with([clash])
    assert registry.losses["MSELoss"].source == str(clash)
    assert registry.resolve("MSELoss")[0].origin == "user"


def test_two_extra_files_may_not_define_one_loss(tmp_path):
    one = write(tmp_path / "a" / "one.toml", FOCAL_RULE)
    two = write(tmp_path / "b" / "two.toml", FOCAL_RULE)
    with pytest.raises(losslint.RuleFileError, match="loss 'FocalLoss' is already defined"):
        registry_with([one, two])


def test_functional_calls_are_unaffected_by_the_config_module():
    # The config module must not change check() itself: settings apply where reports are shown.
    assert losslint.check(F.cross_entropy, torch.randn(4, 3), torch.tensor([0, 1, 2, 0])).codes == []
