"""Calls that torch documents and computes as documented stay quiet (at most an info), run as a user
runs them: a shared target broadcast over an ensemble in GaussianNLLLoss, a student whose KL from its
teacher rounds to a few ulps below 0, 'batchmean' over sequence or image distributions. The calls the
documentation does not describe next to them are still flagged, and torch_raises stays exact."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _loud(report) -> list[str]:
    return [f"{f.severity}[{f.code}] {f.message}" for f in report.findings if f.severity in ("error", "warning")]


def _torch_value(loss, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return loss(*args)


# ---- KLDivLoss: 'batchmean' over sequence and image distributions ------------------------------------


@pytest.mark.parametrize("shape,dim", [((4, 12, 20), -1), ((2, 5, 8, 8), 1)])
def test_batchmean_over_positions_is_an_info_that_says_what_it_divides_by(shape, dim):
    g = _gen()
    lp = F.log_softmax(torch.randn(*shape, generator=g), dim)
    p = F.softmax(torch.randn(*shape, generator=g), dim)
    loss = nn.KLDivLoss(reduction="batchmean")
    value = _torch_value(loss, lp, p)
    # What torch documents: the summed loss divided by input.size(0), whatever the other dims.
    assert torch.allclose(value, F.kl_div(lp, p, reduction="sum") / shape[0])
    report = losslint.check(loss, lp, p)
    assert not _loud(report), str(report)
    (info,) = [f for f in report.findings if f.code == "LL503"]
    assert info.severity == "info"
    assert f"divides by the batch size {shape[0]} only" in info.message
    assert "flatten(0, -2)" in info.fix
