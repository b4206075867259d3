"""Torch's own test inputs for its losses, as plain calls.

torch tests every `torch.nn.functional` loss through an OpInfo in
`torch.testing._internal.common_methods_invocations.op_db` (sample inputs torch accepts, error
inputs torch rejects) and most loss modules through a ModuleInfo in
`torch.testing._internal.common_modules.module_db`. This module turns each of them into a `Call`:
the loss object to hand to `losslint.check` and the exact arguments, plus what torch's test says
should happen. It never imports losslint; `conformance_inventory.py` and `test_conformance.py`
use it.

`torch.testing._internal` needs the `expecttest` package, and is internal: names can move between
torch versions, which is why everything about it is confined to this file.
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db

# Losses whose functional name does not contain "loss".
_FUNCTIONAL_LOSSES_WITHOUT_LOSS_IN_NAME = frozenset(
    {
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "cross_entropy",
        "kl_div",
        "linear_cross_entropy",
    }
)
# `nn` classes named *Loss that are not a loss taking (prediction, target).
_NOT_LOSS_MODULES = frozenset({"AdaptiveLogSoftmaxWithLoss"})

# Sample caps: how many distinct samples to keep per (OpInfo or ModuleInfo, dtype). The common float
# dtypes carry most rules; the rest (half precision, integer, bool, complex) are there for the
# dtype rules.
MAIN_DTYPES = (torch.float32, torch.float64)
CAP_MAIN_DTYPE = 40
CAP_OTHER_DTYPE = 10
SEED = 0


def functional_loss_names() -> list[str]:
    """Every public loss function in `torch.nn.functional`."""
    return sorted(
        name
        for name in dir(F)
        if not name.startswith("_")
        and callable(getattr(F, name))
        and ("loss" in name or name in _FUNCTIONAL_LOSSES_WITHOUT_LOSS_IN_NAME)
    )


def module_loss_names() -> list[str]:
    """Every public loss class in `torch.nn`."""
    return sorted(
        name
        for name in dir(nn)
        if name.endswith("Loss")
        and name not in _NOT_LOSS_MODULES
        and isinstance(getattr(nn, name), type)
        and issubclass(getattr(nn, name), nn.Module)
    )


def loss_opinfos() -> list:
    """The OpInfos of op_db that test a `torch.nn.functional` loss (all variants)."""
    names = set(functional_loss_names())
    return [
        op
        for op in op_db
        if op.name.startswith("nn.functional.") and op.name.removeprefix("nn.functional.") in names
    ]


def loss_moduleinfos() -> list:
    """The ModuleInfos of module_db that test a loss module."""
    names = set(module_loss_names())
    return [m for m in module_db if m.module_cls.__name__ in names]


# --------------------------------------------------------------------------------------------------
# Calls


@dataclass
class Call:
    """One loss call taken from torch's tests."""

    id: str  # readable and unique: "cross_entropy-float32-003", "CrossEntropyLoss-err02"
    loss_name: str  # "cross_entropy" (functional) or "CrossEntropyLoss" (module)
    kind: Literal["valid", "error"]
    origin: str  # where it came from in torch's tests, enough to regenerate it
    args: tuple
    kwargs: dict
    # The loss object losslint.check receives: the functional itself, or a freshly built module.
    make_loss: Callable[[], Any]
    # Runs the call exactly as torch's test does (an OpInfo's `op`, or the module's forward); may
    # differ from `make_loss()(*args, **kwargs)` only when an OpInfo wraps the functional.
    run_as_torch_test: Callable[[], Any] | None
    # What torch's test declares for an error input: (exception type, regex), and for a module
    # error input whether it fails in the constructor or in forward.
    expected_error: tuple[type[BaseException], str] | None = None
    error_on: str | None = None  # "construction" | "forward"
    desc: str = ""
    loss_repr: str = ""  # "F.cross_entropy" or "nn.CrossEntropyLoss(weight=f32[3], ignore_index=1)"
    group: str = ""  # the OpInfo ("nn.functional.linear_cross_entropy.chunked") or ModuleInfo name
    dtype: str = ""  # the dtype torch's generator was asked for ("" for error inputs)

    def __repr__(self) -> str:  # pytest shows this in failure output
        return f"Call({self.id})"

    def describe(self) -> str:
        """One line: the call as a user would write it, tensors summarised."""
        return f"{self.loss_repr}({summarize_arguments(self.args, self.kwargs)})"


@dataclass
class TorchOutcome:
    """What running a call through torch did."""

    error: BaseException | None = None  # what torch raised, if it raised
    # Set when the call cannot be expressed as `losslint.check(loss, *args, **kwargs)` faithfully.
    not_expressible: str | None = None

    @property
    def raised(self) -> bool:
        return self.error is not None


def torch_outcome(call: Call) -> TorchOutcome:
    """Run the call through torch (warnings silenced) and say whether torch accepts it.

    For a module error input that fails in the constructor there is no module instance, so there
    is no `check(instance, ...)` call to make: the outcome says so in `not_expressible`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if call.error_on == "construction":
            try:
                call.make_loss()
            except Exception as exc:
                return TorchOutcome(
                    error=exc,
                    not_expressible="torch raises in the module constructor: no loss instance "
                    "exists to hand to losslint.check, whose arguments are forward's",
                )
            # The constructor unexpectedly accepted it; fall through to forward.
        try:
            call.make_loss()(*call.args, **call.kwargs)
            direct_error = None
        except Exception as exc:
            direct_error = exc
        if call.run_as_torch_test is None:
            return TorchOutcome(error=direct_error)
        # An OpInfo whose `op` is a wrapper around the functional: the call is only faithful if the
        # wrapper and the functional agree (both raise, or both return the same value).
        try:
            wrapped = call.run_as_torch_test()
            wrapped_error = None
        except Exception as exc:
            wrapped, wrapped_error = None, exc
        if (direct_error is None) != (wrapped_error is None):
            return TorchOutcome(
                error=direct_error,
                not_expressible="the OpInfo's op is a wrapper that changes the arguments: "
                f"wrapper {'raises' if wrapped_error else 'accepts'}, "
                f"the functional {'raises' if direct_error else 'accepts'}",
            )
        if direct_error is None:
            direct = call.make_loss()(*call.args, **call.kwargs)
            try:
                torch.testing.assert_close(direct, wrapped, equal_nan=True)
            except Exception:
                return TorchOutcome(
                    not_expressible="the OpInfo's op is a wrapper: it returns a different value "
                    "than the functional on the same arguments"
                )
        return TorchOutcome(error=direct_error)


# --------------------------------------------------------------------------------------------------
# Enumeration


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _seeded(make: Callable[[], Iterable]) -> list:
    """Materialise a sample generator under a fixed seed, leaving the global RNGs as they were."""
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            random.seed(SEED)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return list(make())
    finally:
        random.setstate(py_state)


def signature(x: Any) -> Any:
    """A hashable summary of an argument for deduplication.

    Tensors: dtype, shape, strides; integer/bool values in full when small (they are class indices,
    lengths, labels); for floating tensors only the value range class (negative? above 1? NaN?),
    since their values are random but their domain matters to some rules.
    """
    if isinstance(x, torch.Tensor):
        values: Any = None
        if x.numel() and not x.is_complex():
            if x.is_floating_point():
                xf = x.detach().float()
                values = (bool((xf < 0).any()), bool((xf > 1).any()), bool(xf.isnan().any()))
            elif x.numel() <= 64:
                values = tuple(x.flatten().tolist())
        return ("tensor", x.dtype, tuple(x.shape), x.stride(), values)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(signature(v) for v in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, signature(x[k])) for k in sorted(x)))
    if callable(x):
        return ("callable", getattr(x, "__qualname__", repr(x)))
    return ("value", repr(x))


def _spread(items: Sequence, cap: int) -> list:
    """At most `cap` items, spread evenly over the sequence (torch's generators nest products, so
    the first `cap` would all share one configuration)."""
    if len(items) <= cap:
        return list(items)
    return [items[round(i * (len(items) - 1) / (cap - 1))] for i in range(cap)]


def _dedupe(indexed: Iterable[tuple[int, Any, Any]], seen: set) -> list[tuple[int, Any]]:
    """Keep the first of each signature; `seen` is shared so later batches skip earlier ones."""
    kept = []
    for index, sig, item in indexed:
        if sig in seen:
            continue
        seen.add(sig)
        kept.append((index, item))
    return kept


def _cap_for(dtype: torch.dtype) -> int:
    return CAP_MAIN_DTYPE if dtype in MAIN_DTYPES else CAP_OTHER_DTYPE


def _op_short(op) -> str:
    short = op.name.removeprefix("nn.functional.")
    return f"{short}.{op.variant_test_name}" if op.variant_test_name else short


def _functional_call(
    op, sample, *, id: str, kind: str, origin: str, expected=None, dtype: str = ""
) -> Call:
    name = op.name.removeprefix("nn.functional.")
    fn = getattr(F, name)
    args = (sample.input, *sample.args)
    kwargs = dict(sample.kwargs)
    wrapper = None
    if op.op is not fn:
        wrapper = lambda: op.op(*args, **kwargs)  # noqa: E731
    return Call(
        id=id,
        loss_name=name,
        kind=kind,
        origin=origin,
        args=args,
        kwargs=kwargs,
        make_loss=lambda: fn,
        run_as_torch_test=wrapper,
        expected_error=expected,
        desc=getattr(sample, "name", "") or "",
        loss_repr=f"F.{name}",
        group=f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name,
        dtype=dtype,
    )


def functional_calls(
    *, kinds: Sequence[str] = ("valid", "error"), cap: bool = True, dedupe: bool = True
) -> list[Call]:
    """Calls from every loss OpInfo: sample and reference inputs for each supported dtype, and
    error inputs. Variants of one functional that share the same error inputs give them once."""
    calls: list[Call] = []
    seen_error_funcs: set = set()
    for op in loss_opinfos():
        short = _op_short(op)
        if "valid" in kinds:
            seen: set = set()
            for dtype in sorted(op.supported_dtypes("cpu"), key=str):
                dn = _dtype_name(dtype)
                samples = _seeded(lambda: op.sample_inputs("cpu", dtype, requires_grad=False))
                batches = [("sample_inputs", "", samples)]
                if op.reference_inputs_func is not None and dtype in MAIN_DTYPES:
                    refs = _seeded(lambda: op.reference_inputs("cpu", dtype, requires_grad=False))
                    batches.append(("reference_inputs", "ref", refs))
                kept: list[tuple[str, str, int, Any]] = []
                for source, tag, batch in batches:
                    indexed = [
                        (i, signature((s.input, s.args, s.kwargs)), s) for i, s in enumerate(batch)
                    ]
                    if dedupe:
                        pairs = _dedupe(indexed, seen)
                    else:
                        pairs = [(i, s) for i, _, s in indexed]
                    kept += [(source, tag, i, s) for i, s in pairs]
                if cap:
                    kept = _spread(kept, _cap_for(dtype))
                for source, tag, i, s in kept:
                    calls.append(
                        _functional_call(
                            op,
                            s,
                            id=f"{short}-{dn}-{tag}{i:03d}",
                            kind="valid",
                            dtype=dn,
                            origin=f"op_db {op.name!r} variant {op.variant_test_name!r} "
                            f"{source}(device='cpu', dtype=torch.{dn})[{i}]",
                        )
                    )
        if "error" in kinds and op.error_inputs_func is not None:
            key = (op.op, op.error_inputs_func)
            if key in seen_error_funcs:
                continue
            seen_error_funcs.add(key)
            errors = _seeded(lambda: op.error_inputs("cpu"))
            for i, e in enumerate(errors):
                calls.append(
                    _functional_call(
                        op,
                        e.sample_input,
                        id=f"{short}-err{i:02d}",
                        kind="error",
                        origin=f"op_db {op.name!r} error_inputs(device='cpu')[{i}]",
                        expected=(e.error_type, e.error_regex),
                    )
                )
    return calls


def _module_call(
    m, mi, *, id: str, kind: str, origin: str, expected=None, error_on=None, dtype: str = ""
) -> Call:
    cls = m.module_cls
    ctor_args = tuple(mi.constructor_input.args)
    ctor_kwargs = dict(mi.constructor_input.kwargs)
    fwd = mi.forward_input
    args = tuple(fwd.args) if fwd is not None else ()
    kwargs = dict(fwd.kwargs) if fwd is not None else {}
    return Call(
        id=id,
        loss_name=cls.__name__,
        kind=kind,
        origin=origin,
        args=args,
        kwargs=kwargs,
        make_loss=lambda: cls(*ctor_args, **ctor_kwargs),
        run_as_torch_test=None,
        expected_error=expected,
        error_on=error_on,
        desc=mi.desc,
        loss_repr=f"nn.{cls.__name__}({summarize_arguments(ctor_args, ctor_kwargs)})",
        group=m.name,
        dtype=dtype,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_")


def module_calls(
    *, kinds: Sequence[str] = ("valid", "error"), cap: bool = True, dedupe: bool = True
) -> list[Call]:
    """Calls from every loss ModuleInfo: module inputs for each of its dtypes, and module error
    inputs."""
    calls: list[Call] = []
    for m in loss_moduleinfos():
        cls_name = m.module_cls.__name__
        if "valid" in kinds:
            seen: set = set()
            for dtype in m.dtypes:
                dn = _dtype_name(dtype)
                inputs = _seeded(
                    lambda: m.module_inputs_func(
                        m, device="cpu", dtype=dtype, requires_grad=False, training=True
                    )
                )
                indexed = [
                    (
                        i,
                        signature(
                            (
                                mi.constructor_input.args,
                                mi.constructor_input.kwargs,
                                mi.forward_input.args if mi.forward_input else (),
                                mi.forward_input.kwargs if mi.forward_input else {},
                            )
                        ),
                        mi,
                    )
                    for i, mi in enumerate(inputs)
                ]
                pairs = _dedupe(indexed, seen) if dedupe else [(i, mi) for i, _, mi in indexed]
                if cap:
                    pairs = _spread(pairs, _cap_for(dtype))
                for i, mi in pairs:
                    suffix = f"-{_slug(mi.desc)}" if _slug(mi.desc) else ""
                    calls.append(
                        _module_call(
                            m,
                            mi,
                            id=f"{cls_name}-{dn}-{i:03d}{suffix}",
                            kind="valid",
                            dtype=dn,
                            origin=f"module_db {m.name!r} module_inputs_func(device='cpu', "
                            f"dtype=torch.{dn}, training=True)[{i}] desc={mi.desc!r}",
                        )
                    )
        if "error" in kinds and m.module_error_inputs_func is not None:
            errors = _seeded(
                lambda: m.module_error_inputs_func(
                    m, device="cpu", dtype=torch.float32, requires_grad=False, training=True
                )
            )
            for i, e in enumerate(errors):
                in_ctor = e.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR
                error_on = "construction" if in_ctor else "forward"
                calls.append(
                    _module_call(
                        m,
                        e.module_error_input,
                        id=f"{cls_name}-err{i:02d}",
                        kind="error",
                        origin=f"module_db {m.name!r} module_error_inputs_func(device='cpu', "
                        f"dtype=torch.float32, training=True)[{i}] ({error_on} error)",
                        expected=(e.error_type, e.error_regex),
                        error_on=error_on,
                    )
                )
    return calls


def all_calls(**kwargs) -> list[Call]:
    calls = functional_calls(**kwargs) + module_calls(**kwargs)
    ids = [c.id for c in calls]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate call ids: {duplicates}"
    return calls


# --------------------------------------------------------------------------------------------------
# Rendering


def summarize_arguments(args: Sequence, kwargs: dict) -> str:
    parts = [summarize(a) for a in args]
    parts += [f"{k}={summarize(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def summarize(x: Any, limit: int = 80) -> str:
    """Compact text for an argument: tensors as `f32[4, 5]`, short integer tensors with values."""
    if isinstance(x, torch.Tensor):
        short = {
            torch.float16: "f16",
            torch.bfloat16: "bf16",
            torch.float32: "f32",
            torch.float64: "f64",
            torch.complex64: "c64",
            torch.complex128: "c128",
            torch.int8: "i8",
            torch.int16: "i16",
            torch.int32: "i32",
            torch.int64: "i64",
            torch.uint8: "u8",
            torch.bool: "bool",
        }.get(x.dtype, _dtype_name(x.dtype))
        text = f"{short}{list(x.shape)}"
        if not x.is_floating_point() and not x.is_complex() and 0 < x.numel() <= 8:
            text += f"={x.flatten().tolist()}"
        if x.numel() > 1 and not x.is_contiguous():
            text += "(non-contiguous)"
        return text
    if isinstance(x, (list, tuple)):
        inner = ", ".join(summarize(v, limit) for v in x)
        text = f"[{inner}]" if isinstance(x, list) else f"({inner})"
    elif callable(x):
        text = getattr(x, "__qualname__", repr(x))
    else:
        text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."
