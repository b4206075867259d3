"""What losslint observes about one argument, and how deep it looks.

Metadata (dtype, shape, layout, device) is read first and never touches the data, so meta tensors work
and no GPU sync happens. Value statistics are computed only when a rule asks, once per tensor, without
autograd, on a detached view: exact where exactness is cheap and a torch check depends on it (class
index range, [0, 1] for BCE), from a bounded sample of rows for heuristics (double softmax, logits vs
log-probabilities).
"""

from __future__ import annotations

import contextlib
import math
from functools import cached_property

import torch

# Heuristics look at no more than this many elements: enough rows to be confident, bounded cost on a
# language-model batch (2048 x 32000 reads ~2 rows' worth of 32000 classes... at least MIN_ROWS rows).
SAMPLE_ELEMENTS = 1 << 16
MIN_SAMPLE_ROWS = 4


def _no_grad():
    """torch.no_grad() unless it is already off (check() runs under it): entering it costs more than
    the small reductions it guards."""
    return contextlib.nullcontext() if not torch.is_grad_enabled() else torch.no_grad()


class ValueRange:
    """Exact min, max and non-finite flags of a tensor's values; whether every finite value is a whole
    number is asked of few tensors (masks, labels), so it is computed on first access: the values
    sample of a training loop's steady state reads the range of every argument and pays for three
    tensor ops less on each. Holds the finite values until then, inside the check that made it."""

    __slots__ = ("min", "max", "has_nan", "has_inf", "_integral", "_real")

    def __init__(self, min: float, max: float, has_nan: bool, has_inf: bool, all_integral: "bool | None" = None, real: "torch.Tensor | None" = None):
        self.min, self.max, self.has_nan, self.has_inf = min, max, has_nan, has_inf
        self._integral, self._real = all_integral, real

    @property
    def all_integral(self) -> bool:
        if self._integral is None:
            real, self._real = self._real, None
            with _no_grad():
                self._integral = bool((real == real.round()).all()) if real is not None else False
        return self._integral

    def __repr__(self) -> str:
        return f"ValueRange(min={self.min}, max={self.max}, has_nan={self.has_nan}, has_inf={self.has_inf})"


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


_SHORT_DTYPE = {
    torch.float32: "f32",
    torch.float64: "f64",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int16: "i16",
    torch.int8: "i8",
    torch.uint8: "u8",
    torch.bool: "bool",
    torch.complex64: "c64",
    torch.complex128: "c128",
}


# torch's C++ ScalarType names, as its error messages spell them ("expected scalar type Long but found Float").
_SCALAR_TYPE = {
    torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16",
    torch.int64: "Long", torch.int32: "Int", torch.int16: "Short", torch.int8: "Char", torch.uint8: "Byte",
    torch.bool: "Bool", torch.complex64: "ComplexFloat", torch.complex128: "ComplexDouble",
}


def scalar_type_name(dtype: torch.dtype) -> str:
    return _SCALAR_TYPE.get(dtype, dtype_name(dtype))


def describe_value(value: object) -> str:
    """A short summary of any argument: ``f32[8, 5]``, ``float 0.5``, ``list of 3``, ``None``."""
    if isinstance(value, torch.Tensor):
        return TensorFacts(value).summary
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, tuple, dict)):
        return f"{type(value).__name__} of {len(value)}"
    return type(value).__name__


# dtype -> (floating, complex, bool, integral): built for every tensor argument of every call.
_DTYPE_FLAGS: dict[torch.dtype, tuple[bool, bool, bool, bool]] = {}


class TensorFacts:
    """Facts about one tensor. Holds the tensor only while the check runs; the report never does."""

    def __init__(self, tensor: torch.Tensor, *, read_values: bool = True):
        self._tensor = tensor
        self.dtype: torch.dtype = tensor.dtype
        self.shape: tuple[int, ...] = tuple(tensor.shape)
        self.ndim = len(self.shape)
        self.layout = tensor.layout
        self.device_type: str = tensor.device.type
        self.is_meta = self.device_type == "meta"
        self.is_sparse = tensor.layout != torch.strided
        self.is_nested = bool(getattr(tensor, "is_nested", False))
        flags = _DTYPE_FLAGS.get(self.dtype)
        if flags is None:
            dtype = self.dtype
            floating, complex_, bool_ = dtype.is_floating_point, dtype.is_complex, dtype == torch.bool
            flags = _DTYPE_FLAGS[dtype] = (floating, complex_, bool_, not (floating or complex_ or bool_))
        self.is_floating, self.is_complex, self.is_bool, self.is_integral = flags
        self.numel = math.prod(self.shape) if not self.is_nested else 0
        # Values are read only from plain dense real tensors: meta tensors have none, and sparse,
        # nested or complex data has no meaning for the heuristics.
        self.values_readable = (
            read_values
            and not self.is_meta
            and not self.is_sparse
            and not self.is_nested
            and not self.is_complex
            and self.numel > 0
        )

    # ---- metadata ---------------------------------------------------------------------------

    @property
    def summary(self) -> str:
        """``f32[8, 5]`` in the compact style of jaxtyping."""
        short = _SHORT_DTYPE.get(self.dtype, dtype_name(self.dtype))
        extra = ""
        if self.is_meta:
            extra = " (meta)"
        elif self.is_sparse:
            extra = f" ({str(self.layout).removeprefix('torch.')})"
        return f"{short}[{', '.join(str(s) for s in self.shape)}]{extra}"

    # ---- values (computed once, lazily) -----------------------------------------------------

    def _data(self) -> torch.Tensor:
        return self._tensor.detach()

    @cached_property
    def value_range(self) -> ValueRange | None:
        """Exact min, max and non-finite flags over every element, or None when unreadable."""
        if not self.values_readable:
            return None
        with _no_grad():
            data = self._data()
            if self.is_bool:
                data = data.to(torch.uint8)
            if self.is_floating:
                # In the tensor's own dtype (every release of the matrix reduces half and bfloat16 on
                # the CPU; their min and max are exact as Python floats): no upcast copy of a volume.
                lo, hi = torch.aminmax(data)
                lo, hi = float(lo), float(hi)
                if math.isfinite(lo) and math.isfinite(hi):
                    # The usual tensor: one pass over it. torch.aminmax propagates a NaN to both
                    # results (documented), and an inf would be the min or the max: every element
                    # is finite. (A 3-D volume of 7M values: 6 ms, against 70 ms for the finite mask
                    # and its test that this used to start with.)
                    return ValueRange(lo, hi, False, False, real=data)
                # Some NaN or inf: which, and the range of the finite values.
                finite = torch.isfinite(data)
                has_nan = bool(torch.isnan(data).any())
                has_inf = not (has_nan and bool(torch.isnan(data[~finite]).all()))
                real = data[finite]
                if real.numel() == 0:
                    return ValueRange(math.nan, math.nan, has_nan, has_inf, False)
                lo, hi = torch.aminmax(real.float() if real.dtype in (torch.float16, torch.bfloat16) else real)
                return ValueRange(float(lo), float(hi), has_nan, has_inf, real=real)
            lo, hi = torch.aminmax(data.reshape(-1))
            return ValueRange(float(lo), float(hi), False, False, True)

    def distinct_values(self, limit: int = 8) -> tuple[float, ...] | None:
        """The distinct values when there are at most `limit` of them (exact), else None."""
        key = f"_distinct_{limit}"
        if key in self.__dict__:
            return self.__dict__[key]
        result = None
        if self.values_readable:
            with _no_grad():
                data = self._data().reshape(-1)
                if self.is_bool:
                    data = data.to(torch.uint8)
                if self.is_floating:
                    data = data[~torch.isnan(data)]
                uniq = torch.unique(data)
                if uniq.numel() <= limit:
                    result = tuple(float(v) for v in uniq.tolist())
        self.__dict__[key] = result
        return result

    def sample_rows(self, dim: int = 0) -> torch.Tensor | None:
        """A bounded float64 sample: the first rows along `dim`, at most ~SAMPLE_ELEMENTS elements.

        The first rows rather than random ones: reading a contiguous prefix costs no gather, and a batch
        has no order that would make its first rows special.
        """
        key = f"_sample_{dim}"
        if key in self.__dict__:
            return self.__dict__[key]
        part = self.sample_view(dim)
        if part is not None and part.dtype != torch.float64:
            with _no_grad():
                part = part.to(torch.float64)
        self.__dict__[key] = part
        return part

    def sample_view_keeping(self, keep: int | None) -> torch.Tensor | None:
        """`sample_view(0)` bounded to about SAMPLE_ELEMENTS: the first rows of a batch of volumes (a few
        3-D segmentation outputs are millions of values) keep only their first slices along the other
        dims, every dim but `keep` (the class dim, whose rows stay whole so that they still sum to 1).
        A view, as sample_view; the first slices for the reason the first rows are read."""
        key = f"_sample_keeping_{keep}"
        if key in self.__dict__:
            return self.__dict__[key]
        sample = self.sample_view(0)
        if sample is not None and sample.ndim >= 2 and sample.numel() > SAMPLE_ELEMENTS:
            kept = None if keep is None else keep % sample.ndim
            for dim in range(1, sample.ndim):
                n = sample.numel()
                if n <= SAMPLE_ELEMENTS:
                    break
                if dim == kept:
                    continue
                size = sample.shape[dim]
                rows = max(1, size * SAMPLE_ELEMENTS // n)
                if rows < size:
                    sample = sample.narrow(dim, 0, rows)
        self.__dict__[key] = sample
        return sample

    def sample_view(self, dim: int = 0) -> torch.Tensor | None:
        """The same rows as `sample_rows`, as a view in the tensor's own dtype (no copy)."""
        if not self.values_readable or self.ndim == 0:
            return None
        data = self._data()
        rows = data.shape[dim]
        per_row = max(1, self.numel // max(rows, 1))
        keep = min(rows, max(MIN_SAMPLE_ROWS, SAMPLE_ELEMENTS // per_row))
        return data.narrow(dim, 0, keep) if keep < rows else data


def finite_float_sample(facts: "TensorFacts | None"):
    """A bounded sample of a floating tensor's rows (the whole tensor, as one row, for a 0-D one) in
    float64, or None where there is nothing floating and finite to read."""
    if facts is None or not facts.is_floating:
        return None
    sample = facts.sample_rows(0) if facts.ndim else facts._data().reshape(1).double()
    if sample is None or sample.numel() == 0 or not bool(torch.isfinite(sample).all()):
        return None
    return sample
