"""PoissonNLLLoss(log_input=True): what a log-rate cannot be, from the loss's declared kind (`log_rates`).

A log-rate is any real number, so values an activation leaves ((0, 1) of a sigmoid, [0, inf) of a softplus
or exp) are log-rates only where the rates exp(input) can meet the counts. Sampled widely: fitted and fresh
log-rate heads over counts of mean 0.05 to 200 stay quiet; sigmoid, exp and twice-applied activations
passed as log-rates for the counts they cannot reach are flagged; exp(input) overflowing is a certain inf.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint

MEANS = [0.05, 0.3, 1.0, 1.8, 3.0, 10.0, 200.0]
SPREADS = [0.01, 0.3, 1.0]
SIZES = [(8,), (64,), (32, 16)]


def _loud(report):
    return [f"{f.severity}[{f.code}] {f.message}" for f in report.findings if f.severity in ("error", "warning")]


def _counts(rates: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.poisson(rates, generator=g)


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("mean", MEANS)
def test_fitted_log_rates_are_quiet(mean, spread, size):
    g = torch.Generator().manual_seed(int(mean * 100) + int(spread * 10) + len(size))
    log_rates = math.log(mean) + spread * torch.randn(*size, generator=g)
    target = _counts(log_rates.exp(), g)
    for loss in (nn.PoissonNLLLoss(), nn.PoissonNLLLoss(full=True)):
        report = losslint.check(loss, log_rates, target)
        assert not _loud(report), str(report)


@pytest.mark.parametrize("mean", MEANS)
def test_fresh_linear_heads_are_quiet(mean):
    # An untrained head, with and without a bias set to log(mean count): both signs, or a narrow band.
    g = torch.Generator().manual_seed(int(mean * 10))
    for bias in (None, math.log(mean)):
        torch.manual_seed(int(mean * 10))
        head = nn.Linear(16, 4)
        with torch.no_grad():
            if bias is not None:
                head.bias.fill_(bias)
                head.weight.mul_(0.1)
            out = head(torch.randn(64, 16, generator=g))
        target = _counts(torch.full((64, 4), mean), g)
        report = losslint.check(nn.PoissonNLLLoss(), out, target)
        assert not _loud(report), f"bias={bias}\n{report}"


LABELS = {
    "{0,1} labels": lambda g: (torch.rand(64, 5, generator=g) < 0.3).float(),
    "one-hot rows": lambda g: F.one_hot(torch.randint(0, 5, (64,), generator=g), 5).float(),
    "counts of mean 4": lambda g: torch.poisson(torch.full((64, 5), 4.0), generator=g),
    "counts of mean 0.5": lambda g: torch.poisson(torch.full((64, 5), 0.5), generator=g),
}
ACTIVATIONS = {
    "sigmoid": (lambda z: z.sigmoid(), "LL310"),
    "sigmoid of sigmoid": (lambda z: z.sigmoid().sigmoid(), "LL319"),
    "softmax of softmax": (lambda z: z.softmax(1).softmax(1), "LL319"),
    "log_softmax of softmax": (lambda z: z.softmax(1).log_softmax(1), "LL319"),
}


@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_an_activation_passed_as_log_rates(activation, labels):
    g = torch.Generator().manual_seed(11)
    make, code = ACTIVATIONS[activation]
    x = make(torch.randn(64, 5, generator=g) * 2)
    target = LABELS[labels](g)
    rates = x.exp()
    report = losslint.check(nn.PoissonNLLLoss(), x, target)
    reachable = float(rates.min()) <= float(target.mean()) <= float(rates.max())
    if activation in ("sigmoid", "sigmoid of sigmoid") and reachable:
        # exp of the band holds the counts' mean: a log-rate fitted near log(1.8) looks the same.
        assert not _loud(report), str(report)
    else:
        assert code in {f.code for f in report.findings if f.severity == "warning"}, str(report)
    assert not report.torch_raises


def test_exp_outputs_whose_exp_overflows_make_an_inf_loss():
    g = torch.Generator().manual_seed(5)
    x = (torch.randn(64, 5, generator=g) * 2).exp()  # up to e^6: exp(x) overflows float32 above 88.7
    target = torch.poisson(torch.full((64, 5), 100.0), generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = nn.PoissonNLLLoss()(x, target)
    assert float(x.max()) > 88.8 and math.isinf(float(value))
    report = losslint.check(nn.PoissonNLLLoss(), x, target)
    assert [f.severity for f in report.findings if f.code == "LL609"] == ["error"], str(report)
    assert not report.torch_raises
    # log_input=False takes them as rates: no overflow, no LL609.
    assert "LL609" not in {f.code for f in losslint.check(nn.PoissonNLLLoss(log_input=False), x, target).findings}
