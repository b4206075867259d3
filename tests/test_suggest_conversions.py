"""suggest() proposes what check() knows: each finding whose fix keeps the meaning (classes moved to
dim 1, 1-based labels shifted, an unscaled mask divided by 255) is run on the user's tensors, and the
converted call shown is clean under check() and computes the intended value."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.evidence import conversion


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def option(s, loss: str):
    return next(o for o in (*s.fits, *s.converted) if o.loss == loss)


def run(o, input, target):
    """The proposed conversions, executed as shown (no eval)."""
    values = {"input": input, "target": target}
    return {name: conversion.apply(code, values) for name, code in {"input": "input", "target": "target", **o.conversions}.items()}


def test_token_logits_with_padding_are_transposed():
    logits = torch.randn(4, 6, 7, generator=gen())
    labels = torch.where(torch.rand(4, 6, generator=gen(1)) < 0.2, -100, torch.randint(0, 7, (4, 6), generator=gen(2)))
    s = losslint.suggest(logits, labels)
    assert s.task == "multiclass"
    o = option(s, "CrossEntropyLoss")
    assert o.call == "nn.CrossEntropyLoss()(input.transpose(1, 2), target)"
    v = run(o, logits, labels)
    assert not [f for f in losslint.check(nn.CrossEntropyLoss(), v["input"], v["target"]).findings if f.severity != "info"]
    intended = F.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1))
    assert torch.allclose(F.cross_entropy(v["input"], v["target"]), intended)


def test_channels_last_maps_are_moved_also_inside_a_kind_conversion():
    maps = torch.randn(2, 8, 8, 5, generator=gen())
    labels = torch.randint(0, 5, (2, 8, 8), generator=gen(1))
    s = losslint.suggest(maps, labels)
    assert option(s, "CrossEntropyLoss").call == "nn.CrossEntropyLoss()(input.movedim(-1, 1), target)"
    # The move comes first, then the log_softmax over the classes: not a log_softmax over H moved afterwards.
    nll = option(s, "NLLLoss")
    assert nll.call == "nn.NLLLoss()(F.log_softmax(input.movedim(-1, 1), dim=1), target)"
    v = run(nll, maps, labels)
    assert torch.allclose(F.nll_loss(v["input"], v["target"]), F.cross_entropy(maps.reshape(-1, 5), labels.reshape(-1)))


def test_one_based_labels_are_shifted():
    logits = torch.randn(32, 5, generator=gen())
    labels = torch.randint(1, 6, (32,), generator=gen(1))
    o = option(losslint.suggest(logits, labels), "CrossEntropyLoss")
    assert o.call == "nn.CrossEntropyLoss()(input, target - 1)"
    assert torch.equal(run(o, logits, labels)["target"], labels - 1)


def test_an_unscaled_mask_is_divided_by_255():
    logits = torch.randn(4, 1, 8, 8, generator=gen())
    mask = (torch.rand(4, 1, 8, 8, generator=gen(1)) > 0.5).float() * 255
    s = losslint.suggest(logits, mask)
    assert s.task == "binary"
    o = option(s, "BCEWithLogitsLoss")
    assert o.call == "nn.BCEWithLogitsLoss()(input, target / 255)"
    assert set(run(o, logits, mask)["target"].unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize(
    "fix, argument, expressions",
    [
        ("loss(input.movedim(-1, 1), target)", "input", ["input.movedim(-1, 1)"]),
        ("loss(input.transpose(1, 2), target)  # or input.flatten(0, 1), target.flatten()", "input", ["input.transpose(1, 2)"]),
        ("target - 1 (labels must run from 0 to C-1 = 4)", "target", ["target - 1"]),
        ("target / 255, or (target > 127).float()", "target", ["target / 255", "(target > 127).float()"]),
        ("convert the target: (target + 1) / 2; or use the loss that takes it: nn.SoftMarginLoss()(input, target)", "target", ["(target + 1) / 2"]),
        ("nn.CrossEntropyLoss(ignore_index=255)", "target", []),
        ("convert the input and the target: nn.NLLLoss()(F.log_softmax(input, dim=1), target.argmax(dim=1))", "target", ["target.argmax(dim=1)"]),
        ("convert the input and the target: nn.NLLLoss()(F.log_softmax(input, dim=1), target.argmax(dim=1))", "input", ["F.log_softmax(input, dim=1)"]),
    ],
)
def test_expressions_are_read_from_the_help_line(fix, argument, expressions):
    assert conversion.expressions_in(fix, argument) == expressions
