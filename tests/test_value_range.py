"""`TensorFacts.value_range`: the exact min, max and non-finite flags every value check starts from,
in one pass for the usual tensor (all finite) and exact for any mix of NaN and inf, in every float
dtype a loss takes (losslint/evidence/facts.py)."""

from __future__ import annotations

import math

import pytest
import torch

from losslint.evidence.facts import TensorFacts


def _reference(t: torch.Tensor) -> tuple[float, float, bool, bool]:
    """Element by element, in Python: what the range must say."""
    values = [float(v) for v in t.reshape(-1).tolist()]
    finite = [v for v in values if math.isfinite(v)]
    has_nan = any(v != v for v in values)
    has_inf = any(v in (math.inf, -math.inf) for v in values)
    return (min(finite) if finite else math.nan, max(finite) if finite else math.nan, has_nan, has_inf)


def _same(a: float, b: float) -> bool:
    return (a != a and b != b) or a == b


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("size", [1, 7, 64, 1000, 40_003])
@pytest.mark.parametrize("plant", ["none", "nan", "inf", "-inf", "nan+inf", "all-nan", "all-inf"])
def test_the_range_and_the_flags_are_exact(dtype, size, plant):
    torch.manual_seed(size)
    t = (torch.randn(size) * 3).to(dtype)
    where = [0, size // 2, size - 1]
    if plant == "nan":
        t[where[1]] = math.nan
    elif plant == "inf":
        t[where[2]] = math.inf
    elif plant == "-inf":
        t[where[0]] = -math.inf
    elif plant == "nan+inf":
        t[where[0]] = math.inf
        t[where[2]] = math.nan
    elif plant == "all-nan":
        t[:] = math.nan
    elif plant == "all-inf":
        t[:] = math.inf
    for view in (t, t.reshape(1, -1), t.flip(0)):
        found = TensorFacts(view).value_range
        lo, hi, has_nan, has_inf = _reference(view)
        assert (found.has_nan, found.has_inf) == (has_nan, has_inf), plant
        assert _same(found.min, lo) and _same(found.max, hi), (plant, found, lo, hi)


def test_whole_numbers_are_asked_of_the_finite_values_only():
    t = torch.tensor([0.0, 1.0, 2.0, math.nan, math.inf])
    assert TensorFacts(t).value_range.all_integral
    assert not TensorFacts(torch.tensor([0.0, 0.5])).value_range.all_integral
    assert TensorFacts(torch.tensor([3.0, 4.0])).value_range.all_integral
