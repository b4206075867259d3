"""Rule files are data: a malformed one is reported with its path and field path, all problems at once."""

from __future__ import annotations

import textwrap

import pytest

from losslint import RuleFileError
from losslint.language.registry import builtin_registry, load_registry
from losslint.language.spec import builtin_rules_dir, load_builtin

GOOD = """
[loss]
name = "MyLoss"
summary = "a test loss"

[signature]
arguments = ["input", "target"]
functional = ["input", "target"]

[[formats]]
name = "plain"
description = "plain"
[formats.arguments.input]
shape = "N C"
[formats.arguments.target]
shape = "N"
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(paths):
    with pytest.raises(RuleFileError) as info:
        load_registry(paths)
    return info.value.problems


def test_a_good_file_loads(tmp_path):
    registry = load_registry([write(tmp_path, "my.toml", GOOD)])
    assert "MyLoss" in registry.losses


def test_every_problem_of_every_file_is_reported_with_its_field_path(tmp_path):
    bad_types = write(tmp_path, "bad.toml", GOOD.replace('shape = "N"', 'shape = "N"\ndtype = ["float33"]\nunknown_key = 1'))
    bad_toml = write(tmp_path, "broken.toml", "[loss\nname=")
    found = problems([bad_types, bad_toml])
    text = "\n".join(found)
    assert f"{bad_types} → formats[0] → arguments → target → dtype" in text and "float33" in text
    assert f"{bad_types} → formats[0] → arguments → target → unknown_key: Extra inputs are not permitted" in text
    assert f"{bad_toml}: not valid TOML" in text
    assert len(found) == 3


def test_unknown_check_names_list_the_known_ones(tmp_path):
    path = write(tmp_path, "c.toml", 'checks = ["no_such_check"]\n' + GOOD)
    (problem,) = problems([path])
    assert problem.startswith(f"{path} → checks[0] → name: unknown check 'no_such_check'; known checks: ")
    assert "class_weight" in problem


def test_unknown_codes_kinds_patterns_and_domains(tmp_path):
    text = GOOD.replace('shape = "N"', 'shape = "N *a *b"\ndomain = "[0, C"\ndomain_code = "LL999"\nkind = "vibes"')
    found = "\n".join(problems([write(tmp_path, "k.toml", text)]))
    assert "more than one variadic" in found
    assert "domain '[0, C'" in found


def test_duplicate_losses_are_reported(tmp_path):
    found = problems([write(tmp_path, "a.toml", GOOD), write(tmp_path, "b.toml", GOOD)])
    assert any("already defined" in p for p in found)


def test_rule_files_cannot_run_code(tmp_path):
    # An expression in a domain is parsed by a grammar, never evaluated.
    text = GOOD.replace('shape = "N"', 'shape = "N"\ndomain = "__import__(\'os\').system(\'touch pwned\')"\ndomain_code = "LL401"')
    found = problems([write(tmp_path, "evil.toml", text)])
    assert any("domain" in p for p in found)
    assert not (tmp_path / "pwned").exists()


def test_every_builtin_file_loads_and_every_torch_loss_is_covered():
    import torch.nn as nn
    import torch.nn.functional as F

    registry = builtin_registry()
    modules = {l.module for l in registry.losses.values() if l.module is not None}
    functionals = {l.functional for l in registry.losses.values() if l.functional is not None}
    classes = [getattr(nn, n) for n in dir(nn) if n.endswith("Loss") and isinstance(getattr(nn, n), type)]
    # NLLLoss2d is a deprecated subclass of NLLLoss and shares its rule file.
    missing = [c.__name__ for c in classes if not any(issubclass(c, m) for m in modules)]
    assert missing == [], f"no rule file for {missing}"
    names = [n for n in dir(F) if n.endswith("_loss") or n in ("cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "linear_cross_entropy")]
    missing_f = [n for n in names if getattr(F, n) not in functionals]
    assert missing_f == [], f"no rule file for F.{missing_f}"


def test_codes_catalog_is_complete():
    codes, rules = load_builtin()
    for code, doc in codes.items():
        assert code.startswith("LL") and len(code) == 5
        for section in ("summary", "why", "example", "fix"):
            assert getattr(doc, section).strip(), f"{code} has no {section}"
    assert len({d.name for d in codes.values()}) == len(codes), "code names must be unique"


def test_declared_signatures_match_torch():
    import inspect

    for loss in builtin_registry().losses.values():
        if loss.functional is not None:
            params = inspect.signature(loss.functional).parameters.values()
            positional = [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
            keyword_only = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
            assert list(loss.functional_params) == positional, loss.name
            assert list(loss.keyword_only) == keyword_only, loss.name
        if loss.module is not None:
            own = vars(loss.module)
            entry = loss.module.__call__ if "__call__" in own and "forward" not in own else loss.module.forward  # timm's JsdCrossEntropy
            forward = [p for p in inspect.signature(entry).parameters if p != "self"]
            assert list(loss.forward) == forward, loss.name


def test_builtin_rules_directory_is_the_source_tree_here():
    assert (builtin_rules_dir() / "codes.toml").is_file()
