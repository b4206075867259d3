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


def carried_tolerance(sample: torch.Tensor, dtype: torch.dtype) -> float:
    """The tolerance of the precision the values were computed in: a bf16 softmax cast to float32 for the
    loss (mixed precision) sums to 1 only to bf16's rounding, and every value of it is a bf16 value."""
    tol = tolerance(dtype)
    if dtype not in (torch.float32, torch.float64) or sample.numel() == 0:
        return tol
    for lower in (torch.bfloat16, torch.float16):
        if bool((sample.to(lower).to(sample.dtype) == sample).all()):
            return max(tol, tolerance(lower))
    return tol


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


# ---- one inference of what a tensor's values are ------------------------------------------------------

# Fewer values than this say nothing about a one-signed or bounded range: a small fresh head does that too.
MIN_ELEMENTS_FOR_SHAPE_OF_RANGE = 64
# log_softmax of probabilities (or softmax of softmax) is log_softmax (softmax) of rows p on the simplex,
# and p is recovered exactly: p = log-row + c, c fixed by sum(p) = 1. log_softmax of logits z gives the same
# rows with p = z - mean(z) + 1/C, a point of the simplex whenever the logits are close enough together,
# so being on the simplex is no evidence, and neither is a wide row (logits (0.95, 0, 0) recover to
# (0.97, 0.02, 0.02)). What is: "pressed" rows, whose smallest recovered p lies within _PRESSED / C of 0.
# A softmax of a model with any confidence has classes at ~0; logits have no reason to put their minimum
# exactly 1/C below their mean, let alone in three distinct rows at once. Sampled over 2..1000 classes,
# logit scales 0.01..20, batches 1..64 and the worst-case scales (tests/test_twice_activated.py): no
# such triple at a band of 0.01, the first at 0.03. Decided only where the dtype's rounding of C * p is
# below the band (float32 and float64; bfloat16's and float16's ulps are wider).
_PRESSED = 0.005
_MIN_PRESSED_ROWS = 3
_ROUNDING_ULPS = 4  # log_softmax and the recovery each round by about an ulp of (1 + |value|)
_SIGMOID_OF_UNIT = 1 / (1 + math.exp(-1))
_SIGMOID_SPREAD = 0.25  # as bounded_logits: a narrower (0, 1) band is a zero-initialised head as often
_TWICE_SIGMOID_SPREAD = 0.1  # sigmoid(1) = 0.731: sigmoid of (0, 1) stays in (0.5, 0.731)


@dataclass(frozen=True)
class Inference:
    """A kind from `language.vocabulary.VALUE_KINDS`, with the evidence in words and how sure it is."""

    kind: str
    evidence: str
    confidence: str = "strong"  # "strong" | "weak"
    producer: str = ""  # the activation that leaves such values, where one does


def _recovered_distributions(rows: torch.Tensor, log: bool, eps: float) -> bool:
    """Whether normalized rows are the (log_)softmax of rows that already were distributions.

    softmax(p) = exp(p) / sum(exp(p)), so p = log(softmax(p)) + c per row, with c fixed by sum(p) = 1;
    for log_softmax(p) = p - logsumexp(p) the same holds with the row itself in place of its log.
    `eps` is the machine epsilon of the precision the values carry.
    """
    logs = rows if log else rows.clamp_min(1e-300).log()
    classes = rows.shape[1]
    p = logs + (1 - logs.sum(dim=1, keepdim=True)) / classes
    rounding = _ROUNDING_ULPS * eps * (1 + logs.abs().amax(dim=1))
    if not bool(((p >= -rounding[:, None]) & (p <= 1 + rounding[:, None])).all()):
        return False
    low = p.min(dim=1).values
    pressed = (classes * low <= _PRESSED) & (classes * rounding <= _PRESSED)
    # Distinct rows: a zero-initialised head repeats one row (a bias of exactly 1 on one class and 0 on
    # the others is log_softmax of a one-hot row), which says nothing about the values a model computes.
    return int(pressed.sum()) >= _MIN_PRESSED_ROWS and p[pressed].unique(dim=0).shape[0] >= _MIN_PRESSED_ROWS


def _distributions_along_another_dim(x: torch.Tensor, class_dim: int, low: float, high: float, tol: float) -> Inference | None:
    """Slices along a dim past the batch that is not the class dim, each summing to 1 (or whose logsumexp
    is 0), where the class rows do not: a (log_)softmax over that dim. Where the sample kept only the
    first slices of that dim (a large volume), they sum to less than 1 and nothing is said."""
    for dim in range(1, x.ndim):
        if dim == class_dim or x.shape[dim] < 2:
            continue
        slices = Normalization(x, dim, low, high)
        if slices.rows >= 2 and (slices.is_probabilities(tol) or slices.is_log_probabilities(tol)):
            what = "log_softmax" if slices.nonpositive and not slices.nonnegative else "softmax"
            return Inference("wrong_dim", f"every slice along dim {dim} is a distribution ({plural(slices.rows, 'slice')}), "
                             f"the rows over the classes (dim {class_dim}) are not", producer=f"{what} over dim {dim}")
    return None


def carried_eps(sample: torch.Tensor, dtype: torch.dtype) -> float:
    """The machine epsilon of the precision the values were computed in (see carried_tolerance)."""
    if dtype in (torch.float32, torch.float64) and sample.numel():
        for lower in (torch.bfloat16, torch.float16):
            if bool((sample.to(lower).to(sample.dtype) == sample).all()):
                return torch.finfo(lower).eps
    return torch.finfo(dtype).eps if dtype.is_floating_point else torch.finfo(torch.float32).eps


def infer(
    sample: torch.Tensor, dtype: torch.dtype, class_dim: int | None = None, whole_batch: bool = False, other_dims: bool = False
) -> Inference | None:
    """What the values of `sample` (a bounded sample of a prediction) are, or None where the evidence is thin.

    Rows are read along `class_dim` where the loss has one. `other_dims`: the loss's format names its
    class dim, so distributions along any other dim past the batch (a softmax over the width of a
    segmentation map) are a softmax over the wrong dim, not values of their own kind. Only patterns that do not arise by chance
    from raw scores are named: rows that sum to 1, values that never leave (0, 1), exact zeros with
    nothing below them, a pile-up just above or just below 0, a range that reaches the bound of [-1, 1].
    """
    if sample.ndim == 0 or sample.numel() == 0 or not sample.is_floating_point():
        return None
    # One reduction in the sample's own dtype decides the common case: raw scores take both signs and
    # leave [-1, 1]; only a one-signed or bounded sample is read further.
    low, high = (float(v) for v in torch.aminmax(sample))
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    n = sample.numel()
    if low < -1 and high > 1:
        return Inference("raw_scores", f"all {n} values read take both signs", confidence="weak")
    x = sample if sample.dtype == torch.float64 else sample.to(torch.float64)
    tol = tolerance(dtype)
    if class_dim is not None and x.ndim >= 2 and x.shape[class_dim] >= 2:
        norm = Normalization(x, class_dim, low, high)
        loose = tolerance(torch.bfloat16)
        if not (norm.is_probabilities(tol) or norm.is_log_probabilities(tol)) and (
            norm.is_probabilities(loose) or norm.is_log_probabilities(loose)
        ):
            tol = carried_tolerance(sample, dtype)  # computed in bf16 or fp16 and cast up: its own rounding
        if norm.rows >= _MIN_PRESSED_ROWS and (norm.is_probabilities(tol) or norm.is_log_probabilities(tol)):
            log = norm.nonpositive and not norm.nonnegative
            if _recovered_distributions(norm._rows, log, carried_eps(sample, dtype)):
                what = "log_softmax" if log else "softmax"
                return Inference(
                    "twice_activated",
                    f"every row is the {what} of a row that already was a distribution ({plural(norm.rows, 'row')})",
                    producer=f"{what} of probabilities",
                )
        # A row or two of a few values can sum to 1 by chance (in bf16's rounding more easily): weak.
        sure = "strong" if n >= MIN_ELEMENTS_FOR_RANGE_EVIDENCE and norm.rows >= 2 else "weak"
        if norm.is_probabilities(tol):
            return Inference("probabilities", f"every row sums to 1 ({plural(norm.rows, 'row')})", sure, "softmax")
        if norm.is_log_probabilities(tol):
            return Inference("log_probabilities", f"every row's logsumexp is 0 ({plural(norm.rows, 'row')})", sure, "log_softmax")
        if whole_batch and class_dim != 0 and x.shape[0] >= 4 and (norm.nonnegative or norm.nonpositive):
            # Columns, not rows: only decidable on the whole batch (a prefix of rows sums to less than 1).
            columns = Normalization(x, 0, low, high)
            if columns.rows >= 2 and (columns.is_probabilities(tol) or columns.is_log_probabilities(tol)):
                return Inference("wrong_dim", f"every column over dim 0 is a distribution ({plural(columns.rows, 'column')}), the rows are not",
                                 producer="softmax over dim 0")
        if other_dims and x.ndim >= 3 and (norm.nonnegative or norm.nonpositive):
            wrong = _distributions_along_another_dim(x, class_dim % x.ndim, low, high, tol)
            if wrong is not None:
                return wrong
    if n < MIN_ELEMENTS_FOR_RANGE_EVIDENCE:
        return None
    seen = f"all {n} values read"
    # A fresh head with a prior bias also gives values in a narrow band inside (0, 1): a band that narrow
    # is only weak evidence of a squashing op.
    if 0.5 < low and high < _SIGMOID_OF_UNIT:
        sure = "strong" if n >= MIN_ELEMENTS_FOR_SHAPE_OF_RANGE and high - low >= _TWICE_SIGMOID_SPREAD else "weak"
        return Inference("twice_activated", f"{seen} lie in ({low:.3g}, {high:.3g}), inside sigmoid's image of (0, 1)",
                         sure, producer="sigmoid of sigmoid")
    if 0 < low and high < 1:
        sure = "strong" if high - low >= _SIGMOID_SPREAD else "weak"
        return Inference("element_probabilities", f"{seen} lie strictly inside (0, 1)", sure, producer="sigmoid")
    if n < MIN_ELEMENTS_FOR_SHAPE_OF_RANGE:
        return None
    if low == 0:
        zeros = int((x == 0).sum())
        if max(2, n // 20) <= zeros < n:
            return Inference("rectified", f"none of {n} values read is negative and {zeros} are exactly 0", producer="ReLU")
        return None
    if low > 0 and low < 0.02 * (high - low):
        return Inference("positive", f"{seen} are positive, the smallest {low:.2g} against a largest {high:.3g}",
                         producer="softplus or exp")
    if high <= 0:
        near = int((x > -0.7).sum())
        if high > -0.05 and near >= n // 4:
            return Inference("element_log_probabilities",
                             f"none of {n} values read is positive, the largest {high:.2g}, and {near} lie in (-0.7, 0]",
                             producer="logsigmoid")
        return None
    if -1 <= low and high <= 1 and n >= 256 and min(-low, high) >= 0.99:
        return Inference("bounded", f"{seen} lie in [{low:.3g}, {high:.3g}], reaching both bounds of [-1, 1]",
                         producer="tanh")
    if low < 0 < high:
        return Inference("raw_scores", f"{seen} take both signs", confidence="weak")
    return None
