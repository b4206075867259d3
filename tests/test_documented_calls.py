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


# ---- GaussianNLLLoss: a target shared along one dimension --------------------------------------------

E, N, D = 5, 32, 3

# GaussianNLLLoss's documentation: "Target: same shape as the input, or same shape as the input but with
# one dimension equal to 1 (to allow for broadcasting)". A missing leading dim is the size-1 dim that
# broadcasting puts there: (N, D) against (E, N, D) is (1, N, D).
DOCUMENTED_TARGETS = {
    "ensemble (E, N, D) sharing one (N, D) target": ((E, N, D), (N, D)),
    "ensemble (E, N, D) sharing one (1, N, D) target": ((E, N, D), (1, N, D)),
    "ensemble (E, N, 1) sharing one (N, 1) target": ((E, N, 1), (N, 1)),
    "(N, D) means sharing one (N, 1) target per sample": ((N, D), (N, 1)),
    "(E, N, D) means sharing an (E, 1, D) target over the batch": ((E, N, D), (E, 1, D)),
}
# Accepted by torch too, but not what the documentation describes: repeated along two dims or more, or
# a comparison of everything with everything.
UNDOCUMENTED_TARGETS = {
    "(E, N, D) against one (D,) vector": ((E, N, D), (D,)),
    "(E, N, D) against (N, 1)": ((E, N, D), (N, 1)),
    "(N, 1) means against (N,) targets": ((N, 1), (N,)),
    "(N,) means against (N, 1) targets": ((N,), (N, 1)),
}
VARIANCES = {
    "var of the input's shape": lambda shape, g: torch.rand(*shape, generator=g) + 0.1,
    "var per sample (last dim dropped)": lambda shape, g: torch.rand(*shape[:-1], generator=g) + 0.1,
    "a float var": lambda shape, g: 0.5,
}


def _gaussian_call(shapes, var):
    g = _gen(7)
    x_shape, t_shape = shapes
    return torch.randn(*x_shape, generator=g), torch.randn(*t_shape, generator=g), VARIANCES[var](x_shape, g)


@pytest.mark.parametrize("var", sorted(VARIANCES))
@pytest.mark.parametrize("case", sorted(DOCUMENTED_TARGETS))
def test_a_documented_shared_target_is_at_most_an_info(case, var):
    x, t, v = _gaussian_call(DOCUMENTED_TARGETS[case], var)
    loss = nn.GaussianNLLLoss()
    try:
        _torch_value(loss, x, t, v)
    except (ValueError, RuntimeError):
        # A per-sample var of an input whose last dim is 1 is the input's shape without it: fine; torch
        # rejects only var shapes, which losslint must then predict.
        assert losslint.check(loss, x, t, v).torch_raises
        return
    out = _torch_value(nn.GaussianNLLLoss(reduction="none"), x, t, v)
    assert out.shape == x.shape  # the target only repeats: one term per prediction
    report = losslint.check(loss, x, t, v)
    assert not _loud(report) and not report.torch_raises, str(report)
    assert [f.severity for f in report.findings if f.code == "LL205"] == ["info"], str(report)


@pytest.mark.parametrize("case", sorted(UNDOCUMENTED_TARGETS))
def test_an_undocumented_broadcast_is_still_flagged(case):
    x, t, v = _gaussian_call(UNDOCUMENTED_TARGETS[case], "var of the input's shape")
    loss = nn.GaussianNLLLoss()
    _torch_value(loss, x, t, v)  # torch computes a value, silently
    report = losslint.check(loss, x, t, v)
    assert not report.torch_raises
    assert any(f.code == "LL205" and f.severity in ("warning", "error") for f in report.findings), str(report)
