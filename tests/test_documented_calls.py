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


# ---- KLDivLoss: a KL that rounds to a few ulps below 0 ----------------------------------------------


def _near_teacher(dtype, seed, offset):
    """A student whose logits differ from its teacher's by `offset` (relative), and the KL torch computes."""
    g = _gen(seed)
    teacher = torch.randn(64, 10, generator=g) * 3
    student = teacher + offset * teacher.abs().mean() * torch.randn(64, 10, generator=g)
    return F.log_softmax(student, 1).to(dtype), F.softmax(teacher, 1).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_student_that_nearly_matches_its_teacher_is_not_identically_zero(dtype):
    # Found as a user meets it: the KL comes out a few ulps below 0 (rounding), and the distributions
    # differ by far more than the dtype's rounding: the gradient is small, not 0.
    offset = 1e-4 if dtype == torch.float32 else 1e-7
    below = None
    for seed in range(50):
        lp, p = _near_teacher(dtype, seed, offset)
        if float(_torch_value(nn.KLDivLoss(reduction="sum"), lp, p)) < 0:
            below = (lp, p)
            break
    assert below is not None, "no seed gave a KL below 0"
    lp, p = below
    for reduction in ("batchmean", "sum", "none"):
        report = losslint.check(nn.KLDivLoss(reduction=reduction), lp, p)
        assert not _loud(report), str(report)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("log_target", [False, True])
def test_the_same_distribution_on_both_sides_is_still_identically_zero(dtype, log_target):
    # The teacher's own log_softmax against its softmax (or its log): equal to within the dtype's
    # rounding, computed separately, so not bit for bit.
    z = (torch.randn(32, 10, generator=_gen(3)) * 3).to(dtype)
    target = torch.log(F.softmax(z, 1)) if log_target else F.softmax(z, 1)
    report = losslint.check(nn.KLDivLoss(reduction="batchmean", log_target=log_target), F.log_softmax(z, 1), target)
    assert "LL315" in {f.code for f in report.findings}, str(report)
