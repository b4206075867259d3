"""The declared-kind contract: one inference of what a prediction holds (evidence.kinds.infer), compared
with the kind each rule file declares, for every loss (checks/kind_contract.py)."""

from __future__ import annotations

import textwrap

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.evidence import kinds
from losslint.language import sources


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def loud(report) -> list[str]:
    return sorted(f.code for f in report.findings if f.severity != "info")


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda x: x, "raw_scores"),
        (lambda x: x.softmax(1), "probabilities"),
        (lambda x: x.log_softmax(1), "log_probabilities"),
        (lambda x: x.sigmoid(), "element_probabilities"),
        (lambda x: F.logsigmoid(x), "element_log_probabilities"),
        (lambda x: x.relu(), "rectified"),
        (lambda x: F.softplus(x), "positive"),
        (lambda x: x.exp(), "positive"),
        (lambda x: x.tanh(), "bounded"),
        (lambda x: x.softmax(1).softmax(1), "twice_activated"),
        (lambda x: x.sigmoid().sigmoid(), "twice_activated"),
        (lambda x: x.softmax(1).log_softmax(1), "twice_activated"),
    ],
)
def test_inference_names_each_producer(make, kind):
    x = make(torch.randn(64, 5, generator=gen()) * 2)
    inferred = kinds.infer(x, x.dtype, 1)
    assert inferred is not None and inferred.kind == kind, inferred


def test_inference_is_quiet_on_thin_or_ordinary_evidence():
    # A handful of values, a fresh head, logits that drifted to one sign (CrossEntropyLoss does not care).
    assert kinds.infer(torch.randn(2, 3, generator=gen()).relu(), torch.float32, 1) is None
    head = nn.Linear(16, 5)
    fresh = head(torch.randn(64, 16, generator=gen(1))).detach()
    assert kinds.infer(fresh, fresh.dtype, 1).kind == "raw_scores"
    drifted = torch.randn(64, 5, generator=gen(2)) + 10
    assert kinds.infer(drifted, drifted.dtype, 1) is None


@pytest.mark.parametrize(
    "loss, make, code",
    [
        (nn.CrossEntropyLoss(), lambda x: x.relu(), "LL312"),
        (nn.CrossEntropyLoss(), lambda x: F.softplus(x), "LL320"),
        (nn.MultiMarginLoss(), lambda x: x.softmax(1), "LL301"),
        (nn.MultiMarginLoss(), lambda x: x.sigmoid(), "LL305"),
        (nn.MultiMarginLoss(), lambda x: x.tanh(), "LL311"),
        (nn.NLLLoss(), lambda x: x.softmax(1).log_softmax(1), "LL319"),
    ],
)
def test_a_mismatch_is_derived_from_the_declaration(loss, make, code):
    x = make(torch.randn(64, 5, generator=gen()) * 2)
    assert loud(losslint.check(loss, x, torch.randint(0, 5, (64,), generator=gen(1)))) == [code]


def test_harmless_deviations_are_declared_not_flagged():
    x = (torch.randn(64, 5, generator=gen()) * 2).log_softmax(1)
    target = torch.randint(0, 5, (64,), generator=gen(1))
    assert loud(losslint.check(nn.MultiMarginLoss(), x, target)) == []  # kind_harmless: a per-row shift
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, target)) == []  # LL307, an info


def test_log_softmax_of_probabilities_is_not_called_redundant():
    x = (torch.randn(64, 5, generator=gen()) * 2).softmax(1).log_softmax(1)
    report = losslint.check(nn.CrossEntropyLoss(), x, torch.randint(0, 5, (64,), generator=gen(1)))
    assert [f.code for f in report.findings] == ["LL319"]


def test_message_in_house_style():
    x = (torch.randn(64, 5, generator=gen()) * 2).relu()
    (finding,) = losslint.check(nn.CrossEntropyLoss(), x, torch.randint(0, 5, (64,), generator=gen(1))).findings
    assert finding.message.startswith("`input` holds non-negative values with exact zeros (a ReLU output): none of 320 values read is negative and ")
    assert finding.message.endswith("; expected raw logits (any real values)")
    assert finding.fix == "drop the ReLU (or clamp(min=0)) after the last layer: loss(logits, target)"
    assert finding.observed.startswith("f32[64, 5]") and finding.expected == "raw logits (any real values)"


MODULE = """\
import torch
import torch.nn as nn


class SoftDice(nn.Module):
    def __init__(self, from_logits=True):
        super().__init__()
        self.from_logits = from_logits

    def forward(self, pred, mask):
        p = pred.sigmoid() if self.from_logits else pred
        return 1 - 2 * (p * mask).sum() / (p.sum() + mask.sum())
"""

RULE = """\
[loss]
name = "UserSoftDice"
module = "{module}.SoftDice"
summary = "a user's soft Dice loss with a from_logits switch"

[signature]
arguments = ["pred", "mask"]

[config.from_logits]
type = "bool"
default = true

[[formats]]
name = "element-wise"
description = "a prediction and a mask of one shape"
[formats.arguments.pred]
shape = "N *d"
dtype = ["floating"]
kind = "probabilities"
kind_by = {{ from_logits = {{ "true" = "binary_logits" }} }}
[formats.arguments.mask]
shape = "N *d"
dtype = ["floating"]
"""


@pytest.fixture
def soft_dice(tmp_path, monkeypatch):
    module = f"softdice_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(MODULE)
    rule = tmp_path / "soft_dice.toml"
    rule.write_text(textwrap.dedent(RULE.format(module=module)))
    monkeypatch.syspath_prepend(str(tmp_path))
    sources.reset()
    losslint.register_rules(rule)
    yield __import__(module).SoftDice
    sources.reset()


def test_a_switch_on_the_loss_decides_the_declared_kind(soft_dice):
    probs = (torch.randn(8, 1, 16, 16, generator=gen()) * 2).sigmoid()
    mask = (torch.rand(8, 1, 16, 16, generator=gen(1)) > 0.5).float()
    assert loud(losslint.check(soft_dice(from_logits=True), probs, mask)) == ["LL305"]
    assert loud(losslint.check(soft_dice(from_logits=False), probs, mask)) == []
    assert loud(losslint.check(soft_dice(from_logits=False), probs.sigmoid(), mask)) == ["LL319"]


def test_softmax_over_the_batch_is_seen_for_any_declared_kind():
    x = (torch.randn(64, 5, generator=gen()) * 2).softmax(0)
    target = (torch.rand(64, 5, generator=gen(1)) > 0.5).float()
    assert loud(losslint.check(nn.BCELoss(), x, target)) == ["LL304"]
    # Only on the whole batch: the first rows of a column need not sum to anything.
    assert kinds.infer(x[:32], x.dtype, 1, whole_batch=False).kind == "element_probabilities"


def test_softmax_over_a_spatial_dim_is_seen_where_the_loss_names_its_class_dim():
    logits = torch.randn(4, 3, 8, 8, generator=gen()) * 2
    labels = torch.randint(0, 3, (4, 8, 8), generator=gen(1))
    # CrossEntropyLoss's format names C at dim 1: log-distributions along the width are the wrong dim.
    assert loud(losslint.check(nn.NLLLoss(), logits.log_softmax(-1), labels)) != []
    inferred = kinds.infer(logits.softmax(-1), torch.float32, 1, other_dims=True)
    assert (inferred.kind, inferred.producer) == ("wrong_dim", "softmax over dim 3")
    # Without a named class dim the same values are only probabilities element by element, and a
    # loss that names none (KLDivLoss over attention maps, rows along the last dim) stays quiet.
    assert kinds.infer(logits.softmax(-1), torch.float32, 1).kind == "element_probabilities"
    assert kinds.infer(logits.softmax(1), torch.float32, 1, other_dims=True).kind == "probabilities"
    student, teacher = torch.randn(4, 2, 8, 8, generator=gen(2)), torch.randn(4, 2, 8, 8, generator=gen(3))
    assert loud(losslint.check(nn.KLDivLoss(reduction="batchmean"), student.log_softmax(-1), teacher.softmax(-1))) == []


# A declaration that one switch alone does not decide: a table with the argument's own kind fields,
# codes of the loss's own (raw scores scored as probabilities), a switch on a dimension's size.
TABLE_DECLARATION = """\
kind = "binary_logits"
kind_by.from_logits = {{ "false" = {{ kind = "probabilities", kind_codes = {{ raw_scores = "LL711" }}, kind_by = {{ C = {{ "1" = {{ kind = "probabilities", kind_codes = {{ raw_scores = "LL308" }} }} }} }} }} }}
"""


def _register(tmp_path, monkeypatch, declaration: str):
    module = f"softdice_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(MODULE)
    text = RULE.replace('shape = "N *d"\ndtype = ["floating"]\nkind = "probabilities"\nkind_by = {{ from_logits = {{ "true" = "binary_logits" }} }}\n',
                        'shape = "N C *d"\ndtype = ["floating"]\n' + declaration, 1)
    text = text.replace('[formats.arguments.mask]\nshape = "N *d"', '[formats.arguments.mask]\nshape = "N C *d"')
    assert declaration in text
    rule = tmp_path / "soft_dice.toml"
    rule.write_text(textwrap.dedent(text.format(module=module)))
    monkeypatch.syspath_prepend(str(tmp_path))
    sources.reset()
    losslint.register_rules(rule)
    return __import__(module).SoftDice


def test_a_declaration_table_adds_its_own_codes_and_switches_on_a_dimension(tmp_path, monkeypatch):
    soft_dice = _register(tmp_path, monkeypatch, TABLE_DECLARATION)
    try:
        logits = torch.randn(8, 3, 16, 16, generator=gen()) * 2
        mask = (torch.rand(8, 3, 16, 16, generator=gen(1)) > 0.5).float()
        assert loud(losslint.check(soft_dice(from_logits=True), logits, mask)) == []
        assert loud(losslint.check(soft_dice(from_logits=True), logits.sigmoid(), mask)) == ["LL305"]
        assert loud(losslint.check(soft_dice(from_logits=False), logits.sigmoid(), mask)) == []
        # Raw scores are accepted by no probabilities declaration; this loss names the code (a value
        # outside [0, 1] is the evidence, whatever made it: a ReLU's output too).
        report = losslint.check(soft_dice(from_logits=False), logits, mask)
        assert loud(report) == ["LL711"] and "outside [0, 1]" in report.findings[0].message
        assert loud(losslint.check(soft_dice(from_logits=False), logits.relu() + 1, mask)) == ["LL711"]
        # One channel: the inner switch on C, whose code replaces the outer one.
        assert loud(losslint.check(soft_dice(from_logits=False), logits[:, :1], mask[:, :1])) == ["LL308"]
    finally:
        sources.reset()


def test_a_declaration_table_with_an_unknown_field_is_a_rule_file_error(tmp_path, monkeypatch):
    bad = TABLE_DECLARATION.replace("kind_codes = {{ raw_scores = \"LL711\" }}", "codes = {{ raw_scores = \"LL711\" }}")
    with pytest.raises(losslint.RuleFileError, match=r"kind_by: unknown field 'codes'"):
        _register(tmp_path, monkeypatch, bad)
    sources.reset()
    with pytest.raises(losslint.RuleFileError, match=r"kind_codes → raw_scores: unknown code 'LL999'"):
        _register(tmp_path, monkeypatch, TABLE_DECLARATION.replace('"LL711"', '"LL999"'))
    sources.reset()


def test_a_batch_of_large_volumes_is_read_from_its_first_slices_with_the_class_rows_whole():
    from losslint.evidence.facts import SAMPLE_ELEMENTS, TensorFacts

    x = torch.randn(2, 4, 48, 48, 48, generator=gen())
    sample = TensorFacts(x).sample_view_keeping(1)
    assert sample.numel() <= SAMPLE_ELEMENTS < x.numel()
    assert sample.shape[:2] == (2, 4) and torch.equal(sample, x[:, :, : sample.shape[2], : sample.shape[3], : sample.shape[4]])
    # The class dim last (token logits): its rows stay whole, the sequence is cut instead.
    tokens = torch.randn(4, 512, 1000, generator=gen())
    assert TensorFacts(tokens).sample_view_keeping(-1).shape[2] == 1000
    # The kind is still read, on a part of the rows.
    report = losslint.check(nn.CrossEntropyLoss(), x.softmax(1), torch.randint(0, 4, (2, 48, 48, 48), generator=gen(1)))
    assert loud(report) == ["LL301"] and "rows examined" in report.findings[0].message
