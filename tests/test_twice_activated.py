"""log_softmax of probabilities (and softmax of softmax) against a genuine log_softmax (softmax) of logits,
sampled widely: classes 2..1000, logit scales 0.01..20 (log-uniform), batches 1..64, models with and
without a dominant class per row, float32 and float64 (bfloat16 and float16 too, where only the row-span
reading is decidable). Never an activation applied twice on a genuine one; the share recognised is
pinned where the values can tell them apart (logit scale >= 0.3: below it, softmax(z) is nearly uniform
and log_softmax(softmax(z)) equals log_softmax of logits z / C to within rounding, for any reader).

    PYTHONPATH=$PWD python tests/test_twice_activated.py   # the figures
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn as nn

import losslint
from losslint.evidence import kinds

CLASSES = [2, 3, 10, 100, 1000]
DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]


def _logits(g: torch.Generator, rows: int, classes: int, scale: float, confident: bool) -> torch.Tensor:
    z = torch.randn(rows, classes, generator=g) * scale
    if confident:  # a trained model: one class ahead of the others in every row
        top = torch.randint(0, classes, (rows,), generator=g)
        z[torch.arange(rows), top] += scale * (1 + 2 * torch.rand(rows, generator=g))
    return z


def _twice(x: torch.Tensor, dtype: torch.dtype) -> bool:
    found = kinds.infer(x, dtype, 1, whole_batch=True)
    return found is not None and found.kind == "twice_activated" and found.confidence == "strong"


def sample(trials: int, seed: int, log: bool = True, dtypes=(torch.float32, torch.float64)):
    """(false alarms, hits, totals): false alarms on genuine (log_)softmax(logits); hits and totals of
    (log_)softmax(softmax(z)) by (classes, 'lo' | 'mid' | 'hi' scale)."""
    g = torch.Generator().manual_seed(seed)
    alarms, hits, totals = [], Counter(), Counter()
    for trial in range(trials):
        classes = CLASSES[trial % len(CLASSES)]
        dtype = dtypes[(trial // len(CLASSES)) % len(dtypes)]
        rows = int(torch.randint(1, 65, (1,), generator=g))
        scale = math.exp(math.log(0.01) + (math.log(20.0) - math.log(0.01)) * float(torch.rand(1, generator=g)))
        z = _logits(g, rows, classes, scale, confident=trial % 2 == 0).to(dtype)
        once = z.log_softmax(1) if log else z.softmax(1)
        twice = z.softmax(1).log_softmax(1) if log else z.softmax(1).softmax(1)
        if _twice(once, dtype):
            alarms.append((classes, rows, scale, dtype))
        band = "lo" if scale < 0.3 else ("mid" if scale < 3 else "hi")
        totals[classes, band] += 1
        hits[classes, band] += _twice(twice, dtype)
    return alarms, hits, totals


def _share(hits, totals, bands=("mid", "hi")) -> float:
    return sum(hits[k] for k in totals if k[1] in bands) / max(1, sum(totals[k] for k in totals if k[1] in bands))


@pytest.mark.parametrize("log", [True, False], ids=["log_softmax of softmax", "softmax of softmax"])
def test_never_on_a_genuine_activation_and_mostly_on_a_twice_applied_one(log):
    alarms, hits, totals = sample(2000, seed=1 if log else 2, log=log)
    assert not alarms, alarms[:10]
    assert _share(hits, totals, ("hi",)) >= 0.9, (hits, totals)
    assert _share(hits, totals) >= 0.55, (hits, totals)


def test_low_precision_never_alarms():
    alarms, _, _ = sample(1000, seed=3, dtypes=(torch.bfloat16, torch.float16))
    assert not alarms, alarms[:10]
    alarms, _, _ = sample(500, seed=4, log=False, dtypes=(torch.bfloat16, torch.float16))
    assert not alarms, alarms[:10]


@pytest.mark.parametrize("classes", CLASSES)
def test_worst_case_scales_never_alarm(classes):
    # Logit scales just where log_softmax(logits) rows start to fit the simplex (about 1/C), full batches.
    g = torch.Generator().manual_seed(classes)
    for trial in range(300):
        scale = math.exp(math.log(0.2 / classes) + (math.log(2.0) - math.log(0.2 / classes)) * float(torch.rand(1, generator=g)))
        z = _logits(g, 64, classes, scale, confident=trial % 2 == 0)
        assert not _twice(z.log_softmax(1), torch.float32), (classes, scale)
        assert not _twice(z.softmax(1), torch.float32), (classes, scale)


def test_cross_entropy_says_twice_activated_not_redundant():
    # As a user meets it: log_softmax applied to softmax outputs, handed to CrossEntropyLoss.
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 10, (32,), generator=g)
    z = _logits(g, 32, 10, 4.0, confident=True)
    report = losslint.check(nn.CrossEntropyLoss(), z.softmax(1).log_softmax(1), target)
    assert [f.code for f in report.findings if f.argument == "input"] == ["LL319"], str(report)
    assert report.findings[0].severity == "warning"
    # A genuine log_softmax of the same logits is the redundant one (an info), never twice.
    report = losslint.check(nn.CrossEntropyLoss(), z.log_softmax(1), target)
    assert [(f.code, f.severity) for f in report.findings] == [("LL307", "info")], str(report)


if __name__ == "__main__":
    for log in (True, False):
        alarms, hits, totals = sample(5000, seed=11, log=log)
        print(("log_softmax" if log else "softmax") + " of softmax, float32/float64, 5000 draws:")
        print(f"  false alarms on genuine {'log_softmax' if log else 'softmax'}(logits): {len(alarms)}")
        for band in ("lo", "mid", "hi"):
            print(f"  scale {band}: " + "  ".join(f"C={c} {hits[c, band]}/{totals[c, band]}" for c in CLASSES))
        print(f"  recognised at scale >= 0.3: {_share(hits, totals):.1%}; >= 3: {_share(hits, totals, ('hi',)):.1%}")
    alarms, _, _ = sample(2000, seed=12, dtypes=(torch.bfloat16, torch.float16))
    print(f"bfloat16/float16, 2000 draws: false alarms {len(alarms)}")


def test_a_zero_initialised_head_with_a_bias_is_no_evidence():
    # Bias 1 on one class and 0 elsewhere, weights 0: every row is log_softmax of a one-hot row, exactly
    # the pressed pattern, but one row repeated says nothing about what the model computes.
    head = nn.Linear(16, 10)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[3] = 1.0
        rows = head(torch.randn(32, 16, generator=torch.Generator().manual_seed(0))).log_softmax(1)
    assert not _twice(rows, torch.float32)
    report = losslint.check(nn.CrossEntropyLoss(), rows, torch.randint(0, 10, (32,)))
    assert "LL319" not in {f.code for f in report.findings}, str(report)
