"""What depends on the installed torch release, in one place.

losslint's central promise is that `torch_raises` says exactly what the installed torch will do, and
torch's losses changed between the releases losslint accepts (`torch>=2.4` in pyproject.toml). Rather
than `if torch.__version__ >= ...` spread over the checks, every such behaviour is one named question
below, answered by asking the installed torch itself: a tiny call on 1- or 2-element tensors, run once
per process on first use and cached. A probe stays exact on nightlies, release candidates and custom
builds, where a version number would guess. Each entry also records what the version matrix
(`tests/versions.sh`) measured on the releases, as history for readers; the code never reads it.

Checks ask `releases.holds(name)`; a rule file's format declares `when = ["name"]` (or `"not name"`)
and is offered only where the behaviour holds. Messages that quote torch quote the installed release's
own words through `releases.said(name)`, or describe what torch does without quoting it.

This is the only module of losslint that names torch releases.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Callable

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Behaviour:
    name: str
    question: str  # what the probe asks torch, in plain words
    history: str  # what the version matrix measured, release by release
    probe: Callable[[], bool]


BEHAVIOURS: dict[str, Behaviour] = {}


def behaviour(name: str, question: str, history: str) -> Callable[[Callable[[], bool]], Callable[[], bool]]:
    def register(probe: Callable[[], bool]) -> Callable[[], bool]:
        if name in BEHAVIOURS:
            raise RuntimeError(f"behaviour {name!r} registered twice")
        BEHAVIOURS[name] = Behaviour(name, question, history, probe)
        return probe

    return register


def _error_of(call: Callable[[], object]) -> str | None:
    """The first line of what torch raises for the call, or None when it runs (its warnings are not
    the question)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - any rejection counts
            text = str(exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__
    return None


def _accepts(call: Callable[[], object]) -> bool:
    return _error_of(call) is None


@cache
def holds(name: str) -> bool:
    """The installed torch's answer to the named question (asked once per process)."""
    return bool(BEHAVIOURS[name].probe())


def condition_holds(condition: str) -> bool:
    """A rule file's `when` entry: a behaviour's name, or "not <name>"."""
    negate = condition.startswith("not ")
    return holds(condition.removeprefix("not ").strip()) != negate


def known(condition: str) -> bool:
    return condition.removeprefix("not ").strip() in BEHAVIOURS


def version() -> str:
    """The installed release as users name it: 2.13.0, without a local build tag (+cpu, +cu128)."""
    return torch.__version__.split("+")[0]


# ---- messages: the installed release's own words -------------------------------------------------------

_SAYINGS: dict[str, Callable[..., object]] = {}


def saying(name: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def register(call: Callable[..., object]) -> Callable[..., object]:
        _SAYINGS[name] = call
        return call

    return register


@cache
def said(name: str, *args: object) -> str | None:
    """The first line of the message the installed torch raises for the named reference mistake, or
    None when this release accepts it. Messages change between releases; quote this, not a copy.
    Some mistakes take arguments (the dtype torch names in its message): `said(name, torch.int32)`."""
    return _error_of(lambda: _SAYINGS[name](*args))


def quote(name: str, fallback: str, *args: object) -> str:
    """"torch raises '<its words>'" where the installed release raises, else the fallback description."""
    text = said(name, *args)
    return f"torch raises '{text}'" if text else fallback


@saying("int32_class_target")
def _int32_class_target() -> object:
    return F.cross_entropy(torch.zeros(1, 2), torch.zeros(1, dtype=torch.int32))


@saying("integer_probability_target")
def _integer_probability_target(dtype: torch.dtype = torch.int64) -> object:
    # torch names the target's dtype ("..., got Byte"): ask with the user's.
    return F.cross_entropy(torch.zeros(1, 2), torch.zeros(1, 2, dtype=dtype))


@saying("float_class_target")
def _float_class_target() -> object:
    return F.nll_loss(torch.zeros(1, 2, 1), torch.zeros(1, 1))


@saying("unbatched_target_1_label_smoothing")
def _unbatched_target_1_label_smoothing_text() -> object:
    return F.cross_entropy(torch.zeros(2), torch.tensor([1]), label_smoothing=0.1)


@saying("adaptive_uint8_target")
def _adaptive_uint8_target() -> object:
    module = torch.nn.AdaptiveLogSoftmaxWithLoss(2, 3, [1])
    return module(torch.zeros(1, 2), torch.zeros(1, dtype=torch.uint8))


@saying("bce_weight_broadcast")
def _bce_weight_broadcast() -> object:
    return F.binary_cross_entropy(torch.full((2, 2), 0.5), torch.ones(2, 2), weight=torch.ones(3))


# ---- kernels: which dtypes a loss computes on the CPU ------------------------------------------------


@cache
def cpu_kernel_accepts(functional: str, dtype: torch.dtype) -> bool:
    """Whether F.<functional>(input, target) runs on CPU tensors of `dtype` (half-precision CPU kernels
    arrived in different releases: bfloat16 mse_loss in 2.6)."""
    return cpu_kernel_message(functional, dtype) is None


@cache
def cpu_kernel_message(functional: str, dtype: torch.dtype) -> str | None:
    """What F.<functional> raises on CPU tensors of `dtype`, or None."""
    one = torch.ones(1, dtype=dtype)
    return _error_of(lambda: getattr(F, functional)(one, one))


def _backward_error_of(call: Callable[[], torch.Tensor]) -> str | None:
    """The first line of what torch raises computing the call's gradient (its forward runs), or None."""
    with warnings.catch_warnings(), torch.enable_grad(), torch.autocast("cpu", enabled=False):
        warnings.simplefilter("ignore")
        try:
            out = call()
        except Exception:  # noqa: BLE001 - a forward raise is another question
            return None
        try:
            out.backward()
        except Exception as exc:  # noqa: BLE001 - any rejection counts
            text = str(exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__
    return None


@cache
def cpu_backward_message(functional: str, dtype: torch.dtype) -> str | None:
    """What the backward of F.<functional>(input, target) raises on CPU tensors of `dtype`, where its
    forward runs ("mse_backward_cpu_out" not implemented for 'Half' up to 2.4, smooth_l1's up to 2.8),
    or None."""
    x, t = torch.ones(2, dtype=dtype, requires_grad=True), torch.zeros(2, dtype=dtype)
    return _backward_error_of(lambda: getattr(F, functional)(x, t))


@cache
def mixed_backward_message(functional: str) -> str | None:
    """What the backward of F.<functional>(input, target) raises for a float32 input that requires grad and
    a float16 target, where its forward runs, or None."""
    x, t = torch.ones(2, requires_grad=True), torch.zeros(2, dtype=torch.float16)
    return _backward_error_of(lambda: getattr(F, functional)(x, t))


# ---- class-index losses ----------------------------------------------------------------------------------


@behaviour(
    "unbatched_target_1",
    "Does nll_loss take a (1,) class-index target for an unbatched (C,) input?",
    "rejected up to 2.8 ('size mismatch (got input: [C], target: [1])'); accepted from 2.9.",
)
def _unbatched_target_1() -> bool:
    return _accepts(lambda: F.nll_loss(torch.zeros(2), torch.tensor([1])))


@behaviour(
    "unbatched_target_1_backward",
    "Where nll_loss takes a (1,) class-index target for an unbatched (C,) input, does its backward take it too?",
    "no on 2.13 and 2.15: the forward runs and the backward raises 'size mismatch (got input: [C], target: [1])' "
    "(found by the release matrix running backward); the forward rejects it up to 2.8.",
)
def _unbatched_target_1_backward() -> bool:
    x = torch.zeros(2, requires_grad=True)
    return _backward_error_of(lambda: F.nll_loss(x, torch.tensor([1]))) is None


@behaviour(
    "unbatched_target_of_input_size",
    "Does nll_loss take a (C,) class-index target for an unbatched (C,) input?",
    "accepted up to 2.8 (a meaningless result); rejected from 2.9 ('For 1D input, 1D target must have size 1').",
)
def _unbatched_target_of_input_size() -> bool:
    return _accepts(lambda: F.nll_loss(torch.zeros(2), torch.tensor([1, 0])))


@behaviour(
    "unbatched_target_1_label_smoothing",
    "Does cross_entropy take a (1,) target for a (C,) input with label_smoothing > 0?",
    "rejected on every release measured (up to 2.8 as any (1,) target; from 2.9 'output with shape [] "
    "doesn't match the broadcast shape [1]').",
)
def _unbatched_target_1_label_smoothing() -> bool:
    return _accepts(lambda: F.cross_entropy(torch.zeros(2), torch.tensor([1]), label_smoothing=0.1))


@behaviour(
    "empty_batch_skips_class_target_dtype",
    "Does nll_loss take an empty batch with a target of a non-index dtype, e.g. a (0, C) input and a float (0,) target, under reduction='mean'?",
    "yes on 2.4 and 2.8 (the kernel returns before its dtype check; CrossEntropyLoss too, and int32 targets; "
    "reduction='none' still raises); no on 2.13 and 2.15 ('expected target dtype to be Long or Byte').",
)
def _empty_batch_skips_class_target_dtype() -> bool:
    return _accepts(lambda: F.nll_loss(torch.zeros(0, 2), torch.zeros(0)))


@behaviour(
    "adaptive_int32_target",
    "Does AdaptiveLogSoftmaxWithLoss take int32 targets?",
    "rejected up to 2.7 ('gather(): Expected dtype int64 for index'); accepted from 2.8.",
)
def _adaptive_int32_target() -> bool:
    module = torch.nn.AdaptiveLogSoftmaxWithLoss(2, 3, [1])
    return _accepts(lambda: module(torch.zeros(1, 2), torch.zeros(1, dtype=torch.int32)))


# ---- regression losses -------------------------------------------------------------------------------


def _takes_weight(fn: Callable) -> bool:
    try:
        return "weight" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@behaviour(
    "mse_loss_weight",
    "Does F.mse_loss take a weight= keyword?",
    "no up to 2.5 (TypeError); yes from 2.6.",
)
def _mse_loss_weight() -> bool:
    return _takes_weight(F.mse_loss)


@behaviour("l1_loss_weight", "Does F.l1_loss take a weight= keyword?", "no up to 2.5 (TypeError); yes from 2.6.")
def _l1_loss_weight() -> bool:
    return _takes_weight(F.l1_loss)


@behaviour("huber_loss_weight", "Does F.huber_loss take a weight= keyword?", "no up to 2.5 (TypeError); yes from 2.6.")
def _huber_loss_weight() -> bool:
    return _takes_weight(F.huber_loss)


@behaviour(
    "mse_bfloat16_cpu",
    "Is mse_loss implemented for bfloat16 tensors on the CPU?",
    "no up to 2.5 ('\"mse_cpu\" not implemented for 'BFloat16''); yes from 2.6.",
)
def _mse_bfloat16_cpu() -> bool:
    one = torch.zeros(1, dtype=torch.bfloat16)
    return _accepts(lambda: F.mse_loss(one, one))


@behaviour(
    "gaussian_nll_float_var",
    "Does F.gaussian_nll_loss take a Python float as var?",
    "no up to 2.5 (AttributeError: 'float' object has no attribute 'size'); yes from 2.6.",
)
def _gaussian_nll_float_var() -> bool:
    return _accepts(lambda: F.gaussian_nll_loss(torch.zeros(2), torch.zeros(2), 0.5))


@behaviour(
    "gaussian_nll_var_any_singleton",
    "Does F.gaussian_nll_loss take a var with a size-1 dimension other than the last, e.g. (1, C) for (N, C)?",
    "no up to 2.9 ('var is of incorrect size'); yes from 2.10 (var broadcasts).",
)
def _gaussian_nll_var_any_singleton() -> bool:
    return _accepts(lambda: F.gaussian_nll_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(1, 3)))


@behaviour(
    "dynamo_inlines_loss_modules",
    "Does Dynamo trace into an nn.Module's forward, so that a loss module's functional call is seen while compiling?",
    "no on 2.4 (inline_inbuilt_nn_modules off: a loss module is a call_module node, which AOT autograd runs on "
    "fake tensors; losslint then judges it at metadata depth, at the line that called the compiled function); "
    "yes from 2.5 (pytorch#131059; the option is always on where it no longer exists).",
)
def _dynamo_inlines_loss_modules() -> bool:
    import torch._dynamo.config as dynamo_config

    return bool(getattr(dynamo_config, "inline_inbuilt_nn_modules", True))


# ---- the steady state's metadata comparison ------------------------------------------------------------


def _guard_class() -> object | None:
    # Attribute access, not `from torch._C._dynamo.guards import`: before 2.5 the guards are a
    # submodule object of the C extension that the import system cannot find by name.
    dynamo = getattr(torch._C, "_dynamo", None)
    return getattr(getattr(dynamo, "guards", None), "TensorGuards", None)


def _new_guard(guards: object, tensors: tuple) -> object:
    return guards(  # type: ignore[operator]
        *tensors,
        dynamic_dims_sizes=[list(t.shape) for t in tensors],  # every size compared
        dynamic_dims_strides=[[None] * t.dim() for t in tensors],  # strides not compared
    )


@behaviour(
    "tensor_guards",
    "Does Dynamo's TensorGuards (the C++ check behind a compiled graph's guards) tell a tensor of the same "
    "type, shape, dtype, device, layout and requires_grad from one that differs in any of them?",
    "yes on 2.4.1, 2.8.0, 2.10.0, 2.13.0, 2.14.1 and 2.15.0: TensorGuards(*examples, dynamic_dims_sizes=, "
    "dynamic_dims_strides=).check(*tensors); it also compares the type exactly, the dispatch keys under the "
    "thread's state (autocast, inference mode, the conjugate and negative bits) and the device index.",
)
def _tensor_guards() -> bool:
    guards = _guard_class()
    if guards is None:
        return False
    try:
        x, y = torch.zeros(2, 3, requires_grad=True), torch.zeros(2, dtype=torch.long)
        check = _new_guard(guards, (x, y)).check
        same = check(torch.ones(2, 3, requires_grad=True), torch.ones(2, dtype=torch.long))
        differ = (
            (torch.zeros(2, 3), y),  # requires_grad
            (torch.zeros(3, 2, requires_grad=True), y),  # shape
            (torch.zeros(2, 3, 1, requires_grad=True), y),  # number of dimensions
            (x, y.int()),  # dtype
            (x, y.to("meta")),  # device
            (x, y.to_sparse()),  # layout
            (torch.nn.Parameter(torch.zeros(2, 3)), y),  # type (a subclass)
            (x, 1),  # not a tensor
        )
        return bool(same) and not any(check(*tensors) for tensors in differ)
    except Exception:  # noqa: BLE001 - a private API that changed shape: compare in Python instead
        return False


def tensor_guard(tensors: tuple) -> Callable[..., bool] | None:
    """`check(*tensors)`: whether tensors have the metadata of these (type, shape, dtype, device,
    layout, requires_grad; all in one C++ call, where reading them field by field from Python costs
    about as much as torch's own empty hook in a training loop), under the thread's dispatch state at
    the time of recording: a call under another autocast state does not match. None where the
    installed torch has no such check (`tensor_guards`); it keeps no reference to the tensors."""
    if not holds("tensor_guards"):
        return None
    try:
        return _new_guard(_guard_class(), tensors).check
    except Exception:  # noqa: BLE001 - a tensor it cannot describe: compare in Python
        return None
