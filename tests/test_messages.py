"""Exact text of representative findings: what a user reads at 2 a.m. is pinned here."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.judging.render import render_concise


def only(report, code):
    (finding,) = [f for f in report.findings if f.code == code]
    return finding


def test_one_hot_target():
    labels = torch.tensor([0, 3, 1, 4, 2, 2, 0, 1])
    report = losslint.check(nn.CrossEntropyLoss(), torch.randn(8, 5), F.one_hot(labels, 5))
    assert str(report) == (
        "error[LL202] CrossEntropyLoss: `target` looks one-hot (i64[8, 5], values {0, 1}); expected class indices "
        "of shape [8] (torch raises)\n"
        "  observed: i64[8, 5], values {0, 1}, one 1 per row\n"
        "  expected: int64[8] class indices\n"
        "  why: A target of the input's shape is read as class probabilities, which must be float: torch raises "
        "'Expected floating point type for target with class probabilities, got Long'.\n"
        "  help: convert the target: target.argmax(dim=1); or use the loss that takes it: "
        "nn.BCEWithLogitsLoss()(input, target.float())\n"
        "\n"
        "CrossEntropyLoss: 1 error — torch will reject this call"
    )


def test_one_based_labels():
    report = losslint.check(nn.CrossEntropyLoss(), torch.randn(8, 5), torch.tensor([1, 2, 3, 4, 5, 1, 2, 3]))
    finding = only(report, "LL401")
    assert finding.message == (
        "`target` has 1 value outside [0, 5) or -100: 5; the largest label equals C=5 and no label is 0, "
        "so the labels look 1-based"
    )
    assert finding.fix == "target - 1 (labels must run from 0 to C-1 = 4)"
    assert finding.torch_raises and finding.severity == "error"


def test_void_label():
    target = torch.zeros(2, 4, 4, dtype=torch.long)
    target[:, 0] = 255
    finding = only(losslint.check(nn.CrossEntropyLoss(), torch.randn(2, 3, 4, 4), target), "LL412")
    assert finding.message == (
        "`target` has 8 values outside [0, 3) or -100: 255; 255 is the usual void/boundary label of segmentation masks"
    )
    assert finding.fix == "nn.CrossEntropyLoss(ignore_index=255)"


def test_double_softmax():
    probs = torch.softmax(torch.randn(32, 6), 1)
    finding = only(losslint.check(nn.CrossEntropyLoss(), probs, torch.randint(0, 6, (32,))), "LL301")
    assert finding.message == (
        "`input` holds probabilities: every row is non-negative and sums to 1 over dim 1 (all 32 rows); expected raw logits"
    )
    assert finding.severity == "warning" and finding.confidence == "strong" and not finding.torch_raises


def test_sequence_logits_layout():
    finding = only(losslint.check(nn.CrossEntropyLoss(), torch.randn(4, 12, 20), torch.randint(0, 20, (4, 12))), "LL204")
    assert finding.message == (
        "`input` looks like (N, T, C) sequence logits f32[4, 12, 20]: the classes are on the last dim; expected them at dim 1"
    )
    assert finding.fix == "loss(input.transpose(1, 2), target)  # or input.flatten(0, 1), target.flatten()"


def test_generic_shape_mismatch():
    finding = only(losslint.check(F.nll_loss, torch.randn(8, 5).log_softmax(1), torch.randint(0, 5, (8, 3))), "LL201")
    assert finding.message == "`target` has shape (8, 3); expected (8,) given N=8, C=5 (trailing dims () elsewhere, got (3))"
    assert finding.fix == "give `target` the shape (8,)"


def test_configuration_value():
    finding = only(losslint.check(nn.CrossEntropyLoss(reduction="avg"), torch.randn(8, 5), torch.randint(0, 5, (8,))), "LL004")
    assert finding.message == "`reduction` is 'avg'; expected one of 'none', 'mean', 'sum', 'elementwise_mean'"
    assert finding.argument == "reduction" and finding.fix == "reduction='mean'"


def test_unknown_keyword():
    finding = only(losslint.check(F.cross_entropy, torch.randn(8, 5), torch.randint(0, 5, (8,)), label_smothing=0.1), "LL001")
    assert finding.message == "`label_smothing` is not an argument of cross_entropy()"
    assert finding.fix == "drop `label_smothing`; cross_entropy() takes input, target, weight, ignore_index, reduction, label_smoothing"


def test_concise_rendering_and_clean_report():
    report = losslint.check(nn.NLLLoss(), torch.softmax(torch.randn(4, 3), 1), torch.tensor([0, 1, 2, 0]))
    assert render_concise(report).startswith("warning[LL303] NLLLoss input: `input` holds probabilities")
    assert str(losslint.check(nn.CrossEntropyLoss(), torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))) == "CrossEntropyLoss: no problems found"


# ---- messages that were wrong (the product as users meet it) --------------------------------


def test_list_argument_fix_uses_another_arguments_device():
    report = losslint.check(nn.CrossEntropyLoss(), [[0.1, 0.9], [0.8, 0.2]], torch.tensor([1, 0]))
    assert only(report, "LL002").fix == "torch.as_tensor(input, device=target.device)"
    report = losslint.check(nn.CrossEntropyLoss(), torch.randn(2, 3), [1, 2])
    assert only(report, "LL002").fix == "torch.as_tensor(target, device=input.device)"


def test_int32_target_is_not_explained_as_float():
    report = losslint.check(nn.CrossEntropyLoss(), torch.randn(4, 3), torch.tensor([0, 1, 2, 0], dtype=torch.int32))
    finding = only(report, "LL102")
    assert "int32" in finding.message and "Float" not in finding.explanation


def test_sequence_logits_with_as_many_positions_as_classes_are_flagged_as_ambiguous():
    report = losslint.check(nn.CrossEntropyLoss(), torch.randn(4, 12, 12), torch.randint(0, 12, (4, 12)))
    finding = only(report, "LL204")
    assert (finding.severity, finding.torch_raises, finding.confidence) == ("info", False, "weak")
    assert finding.fix == "if the classes are last: loss(input.transpose(1, 2), target)"
    assert not losslint.check(nn.CrossEntropyLoss(), torch.randn(4, 12, 7), torch.randint(0, 12, (4, 7))).findings


def test_negative_label_smoothing_is_meaningless():
    report = losslint.check(nn.CrossEntropyLoss(label_smoothing=-0.1), torch.randn(8, 5), torch.randint(0, 5, (8,)))
    finding = only(report, "LL004")
    assert (finding.severity, finding.torch_raises) == ("warning", False)
    assert finding.message == "`label_smoothing` is -0.1; expected a value in [0, 1]"


def test_custom_distance_returning_a_python_float():
    def distance(a, b):
        return float((a - b).norm())

    anchor, positive, negative = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    report = losslint.check(F.triplet_margin_with_distance_loss, anchor, positive, negative, distance_function=distance)
    finding = only(report, "LL002")
    assert finding.torch_raises and finding.argument == "distance_function"
    assert finding.message == "`distance_function` distance returns a Python float; expected a tensor of distances"
    with pytest.raises(TypeError):
        F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=distance)
    # A distance that returns tensors is judged as before, and the metadata depth never calls it.
    assert losslint.check(F.triplet_margin_with_distance_loss, anchor, positive, negative, distance_function=F.pairwise_distance).ok
    calls = []
    losslint.Checker(depth="metadata").check(
        F.triplet_margin_with_distance_loss, anchor, positive, negative, distance_function=lambda a, b: calls.append(1) or 0.0
    )
    assert calls == []
