"""Layout from the producer: the layer that made the logits (a Linear's features last, a convolution's
channels at dim 1, moved by a permute) says where the classes are, where the shapes cannot."""

from __future__ import annotations

import torch
import torch.nn as nn

import losslint
from losslint.evidence.layout import producer_axis


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def llcodes(report) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in report.findings]


def test_the_axis_follows_the_layer_through_moves_and_activations():
    torch.manual_seed(0)
    head, conv = nn.Linear(16, 8), nn.Conv2d(3, 8, 1)
    tokens = head(torch.randn(4, 8, 16))
    assert producer_axis(tokens).dim == 2
    assert producer_axis(tokens.transpose(1, 2)).dim == 1
    assert producer_axis(tokens.log_softmax(-1).float()).dim == 2
    assert producer_axis(tokens.movedim(-1, 1)).dim == 1
    assert producer_axis(head(torch.randn(4, 16))).dim == 1
    maps = conv(torch.randn(2, 3, 8, 8))
    assert producer_axis(maps).dim == 1
    assert producer_axis(maps.permute(0, 2, 3, 1)).dim == 3
    assert producer_axis(tokens.reshape(4, 2, 4, 8)).dim == 3  # a view that keeps the last dim
    assert producer_axis(tokens.reshape(4, 64)) is None  # the features were merged away
    assert producer_axis(tokens.detach()) is None
    with torch.no_grad():
        assert producer_axis(head(torch.randn(4, 8, 16))) is None


def test_token_logits_from_a_linear_are_read_with_the_sequence_as_classes():
    torch.manual_seed(0)
    head = nn.Linear(16, 8)
    logits = head(torch.randn(4, 8, 16))  # (N, L, C) with L == C: torch accepts it
    labels = torch.randint(0, 8, (4, 8), generator=gen())
    labels[:, -2:] = -100
    report = losslint.check(nn.CrossEntropyLoss(), logits, labels)
    assert llcodes(report) == [("LL204", "warning")]
    (finding,) = report.findings
    assert finding.message == (
        "`input` f32[4, 8, 8] comes from a Linear layer (its output features are its last dim): its 8 classes are dim 2, "
        "but CrossEntropyLoss reads the classes from dim 1 (size 8)"
    )
    assert finding.fix == "loss(input.transpose(1, 2), target); or flatten both: loss(input.reshape(-1, 8), target.reshape(-1))"
    assert not losslint.check(nn.CrossEntropyLoss(), logits.transpose(1, 2), labels).findings
    # Without the history the shapes cannot tell: an info, as before.
    assert llcodes(losslint.check(nn.CrossEntropyLoss(), logits.detach(), labels)) == [("LL204", "info")]


def test_sequence_first_logits_and_channels_last_maps():
    torch.manual_seed(0)
    seq = nn.Linear(16, 6)(torch.randn(6, 6, 16))  # (T, N, V) with N == V
    # log_softmax over the vocabulary, as it should be: the rows along dim 1 are not normalized, but that
    # is the misread layout's doing, said once.
    assert llcodes(losslint.check(nn.NLLLoss(), seq.log_softmax(-1), torch.randint(0, 6, (6, 6), generator=gen()))) == [("LL204", "warning")]
    maps = nn.Conv2d(3, 5, 1)(torch.randn(2, 3, 5, 5)).permute(0, 2, 3, 1)  # (N, H, W, C), H == W == C
    report = losslint.check(nn.CrossEntropyLoss(), maps, torch.randint(0, 5, (2, 5, 5), generator=gen()))
    assert llcodes(report) == [("LL204", "warning")] and report.findings[0].fix.startswith("loss(input.movedim(3, 1), target)")
    # Channels first, as the convolution made them: correct, and quiet.
    first = nn.Conv2d(3, 5, 1)(torch.randn(2, 3, 5, 5))
    assert not losslint.check(nn.CrossEntropyLoss(), first, torch.randint(0, 5, (2, 5, 5), generator=gen())).findings


def test_a_known_channels_last_producer_settles_the_pos_weight_axis():
    torch.manual_seed(0)
    maps = nn.Conv2d(3, 4, 1)(torch.randn(2, 3, 4, 4)).permute(0, 2, 3, 1)  # (N, H, W, C), classes last
    target = (torch.rand(2, 4, 4, 4, generator=gen()) > 0.5).float()
    loss = nn.BCEWithLogitsLoss(pos_weight=torch.full((4,), 2.0))
    assert llcodes(losslint.check(loss, maps, target)) == []
    # The same values without their history read as (N, C, H, W) with W == C: the weight's axis is unclear.
    assert llcodes(losslint.check(loss, maps.detach(), target)) == [("LL206", "warning")]
