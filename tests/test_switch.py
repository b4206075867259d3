"""A target that fits another loss exactly: the finding's help says both fixes, and both run."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint

N, C = 16, 5


def _gen():
    return torch.Generator().manual_seed(0)


def _help(report, code):
    (finding,) = [f for f in report.findings if f.code == code]
    return finding.fix


def _runs_clean(call: str, prediction, target) -> None:
    names = {"torch": torch, "nn": nn, "F": F, "input": prediction, "target": target}
    module_text, _, rest = call.partition(")(")
    module = eval(module_text + ")", names)  # noqa: S307 - the help, run as written
    args = eval("(" + rest[:-1] + ",)", names)  # noqa: S307
    report = losslint.check(module, *args)
    assert not [f for f in report.findings if f.severity != "info"], f"{call}\n{report}"
    module(*args)


@pytest.mark.parametrize(
    ("loss", "prediction", "target", "code", "convert", "other"),
    [
        # One-hot rows to CrossEntropyLoss: argmax, or BCEWithLogitsLoss (multi-label) as they are.
        (nn.CrossEntropyLoss(), torch.randn(N, C, generator=_gen()), F.one_hot(torch.randint(0, C, (N,), generator=_gen()), C),
         "LL202", "target.argmax(dim=1)", "nn.BCEWithLogitsLoss()(input, target.float())"),
        # {0, 1} labels to a ±1 loss: 2 * target - 1, or BCEWithLogitsLoss.
        (nn.SoftMarginLoss(), torch.randn(N, generator=_gen()), (torch.rand(N, generator=_gen()) > 0.5).float(),
         "LL403", "2 * target - 1", "nn.BCEWithLogitsLoss()(input, target)"),
        # Class indices to BCEWithLogitsLoss: one-hot them, or CrossEntropyLoss.
        (nn.BCEWithLogitsLoss(), torch.randn(N, C, generator=_gen()), torch.randint(0, C, (N,), generator=_gen()),
         "LL103", f"F.one_hot(target, {C}).float()", "nn.CrossEntropyLoss()(input, target)"),
    ],
    ids=["one-hot-to-cross-entropy", "zero-one-to-soft-margin", "indices-to-bce-with-logits"],
)
def test_help_says_both_fixes(loss, prediction, target, code, convert, other):
    fix = _help(losslint.check(loss, prediction, target), code)
    assert fix == f"convert the target: {convert}; or use the loss that takes it: {other}"
    converted = eval(convert, {"torch": torch, "F": F, "target": target})  # noqa: S307
    assert not [f for f in losslint.check(loss, prediction, converted).findings if f.severity != "info"]
    _runs_clean(other, prediction, target)


def test_no_other_loss_leaves_the_help_alone():
    # HingeEmbeddingLoss's distances fit no other loss: the ±1 remapping is the only fix.
    report = losslint.check(nn.HingeEmbeddingLoss(), torch.rand(N) * 3, (torch.rand(N) > 0.5).float())
    assert _help(report, "LL403").startswith("2 * target - 1")


def test_never_a_switch_to_another_task():
    # Float class-index values in a (N, 1) column read as counts: regression is no way out of BCE.
    report = losslint.check(nn.BCEWithLogitsLoss(), torch.randn(N, 1), torch.randint(0, C, (N, 1)).float())
    assert "MSELoss" not in _help(report, "LL402")


def test_metadata_depth_reads_no_values_for_it():
    meta = losslint.Checker(depth="metadata").check(nn.CrossEntropyLoss(), torch.randn(N, C, device="meta"), torch.zeros(N, C, device="meta").long())
    assert all("use the loss that takes it" not in f.fix for f in meta.findings)


def test_the_first_fix_is_whole_when_the_input_must_change_too():
    # NLLLoss on logits with one-hot rows: argmax alone leaves the input not log-probabilities (LL302).
    prediction = torch.randn(N, C, generator=_gen())
    target = F.one_hot(torch.randint(0, C, (N,), generator=_gen()), C)
    report = losslint.check(nn.NLLLoss(), prediction, target)
    (finding,) = [f for f in report.findings if f.argument == "target" and f.severity == "error"]
    first, _, _ = finding.fix.partition("; or ")
    assert first == "convert the input and the target: nn.NLLLoss()(F.log_softmax(input, dim=1), target.argmax(dim=1))"
    _runs_clean(first.partition(": ")[2], prediction, target)
