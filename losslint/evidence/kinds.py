"""Value kinds: is a tensor probabilities, log-probabilities, logits, one-hot rows, signed labels, ...

Each test works on a bounded float64 sample (see `facts.TensorFacts.sample_rows`) and returns the
evidence with how strong it is, so that a finding can say what it saw. Strong evidence is a pattern
that does not arise by chance (every row sums to 1 to within rounding); weak evidence is one a correct
call could show too (a handful of values that all lie in (0, 1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

# Row sums of softmax outputs are 1 only up to rounding in the tensor's own dtype.
_TOLERANCE = {
    torch.float64: 1e-6,
    torch.float32: 1e-3,
    torch.float16: 1e-2,
    torch.bfloat16: 3e-2,
}

# Fewer elements than this all inside (0, 1) is too little to call a tensor "sigmoid outputs".
MIN_ELEMENTS_FOR_RANGE_EVIDENCE = 16


def tolerance(dtype: torch.dtype) -> float:
    return _TOLERANCE.get(dtype, 1e-3)


class Normalization:
    """How a sample behaves as distributions along one dimension.

    Computed lazily and cheaply: one aminmax, in the sample's own dtype, decides the sign; the rows
    are converted to float64 and summed only for non-negative samples, exponentiated only for
    non-positive ones (or when a message asks), so that ordinary logits cost a single reduction.
    """

    def __init__(self, sample: torch.Tensor, dim: int, low: float, high: float):
        self._sample, self._dim = sample, dim  # dropped with the check
        self.classes = sample.shape[dim]
        self.rows = sample.numel() // max(self.classes, 1)
        self.nonnegative = low >= 0
        self.nonpositive = high <= 0
        # The sample's range, for the checks that ask it again (numerics, bounded predictions).
        self.low, self.high = low, high

    @cached_property
    def _rows(self) -> torch.Tensor:
        rows = self._sample.movedim(self._dim, -1).reshape(-1, self.classes)
        return rows if rows.dtype == torch.float64 else rows.to(torch.float64)

    @cached_property
    def max_sum_error(self) -> float:
        """max |sum(row) - 1|."""
        return float((self._rows.sum(dim=1) - 1).abs().max())

    @cached_property
    def max_logsumexp_error(self) -> float:
        """max |logsumexp(row)|."""
        return float(torch.logsumexp(self._rows, dim=1).abs().max())

    def is_probabilities(self, tol: float) -> bool:
        return self.classes >= 2 and self.nonnegative and self.max_sum_error <= tol

    def is_log_probabilities(self, tol: float) -> bool:
        return self.classes >= 2 and self.nonpositive and self.max_logsumexp_error <= tol


def normalization(sample: torch.Tensor, dim: int) -> Normalization | None:
    """Row statistics of `sample` (any real dtype) along `dim`; None for non-finite or degenerate samples."""
    if sample.ndim == 0 or sample.numel() == 0:
        return None
    low, high = (float(v) for v in torch.aminmax(sample))
    if not (math.isfinite(low) and math.isfinite(high)):
        return None  # NaN or inf: no distribution to speak of
    return Normalization(sample, dim, low, high)


@dataclass(frozen=True)
class RowPattern:
    """Integer-valued {0, 1} rows: one-hot or multi-hot."""

    rows: int
    ones_min: int
    ones_max: int

    @property
    def one_hot(self) -> bool:
        return self.ones_min == 1 and self.ones_max == 1

    @property
    def multi_hot(self) -> bool:
        return self.ones_max > 1


def binary_rows(sample: torch.Tensor, dim: int) -> RowPattern | None:
    """If every value is 0 or 1, how many ones each row along `dim` holds; else None."""
    if sample.ndim == 0 or sample.numel() == 0:
        return None
    if not bool(((sample == 0) | (sample == 1)).all()):
        return None
    counts = sample.movedim(dim, -1).reshape(-1, sample.shape[dim]).sum(dim=1)
    return RowPattern(rows=counts.numel(), ones_min=int(counts.min()), ones_max=int(counts.max()))


def strictly_inside_unit_interval(sample: torch.Tensor) -> bool:
    return bool(((sample > 0) & (sample < 1)).all())


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
