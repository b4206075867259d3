"""Checks for the regression losses: MSELoss, L1Loss, SmoothL1Loss, HuberLoss, PoissonNLLLoss and
GaussianNLLLoss (element-wise shapes are `elementwise.elementwise_shapes`).

Which dtype pairs torch rejects depends on the kernel, the reduction and even on the functional's
`weight` keyword, so it cannot be written as one dtype list per argument; `regression_dtypes` encodes
the table below, measured on CPU (I = integer, B = bool, C = complex, F = real floating):

- mse, smooth_l1 (beta > 0): the kernel runs in the promoted dtype, which must be F: I/B with I/B
  raises ('"mse_cpu" not implemented for 'Long''), and so does any C. F with I/B is promoted silently.
- l1, smooth_l1 (beta == 0, which takes the l1 path): `input - target` rejects B on either side; an
  I/I pair passes with reduction 'sum'/'none' but 'mean' raises ('mean(): could not infer output
  dtype'); C is accepted.
- F.mse_loss / F.l1_loss with `weight=`: plain Python arithmetic, so only B raises (the subtraction);
  I/I and C pass.
- huber (with or without weight): the output has the input's dtype, so input must be F and the target
  must not be C ('result type Float can't be cast to the desired output type Long').
- poisson: B input with B target raises (log_input=True), B input always raises with log_input=False,
  and full=True (Stirling term) rejects B and C targets. Everything else, integers included, passes.
- gaussian: B input or target raises (the subtraction); var must be F, or I when eps is a Python int
  (var.clamp_(min=eps) is in place); B and C var always raise.
"""

from __future__ import annotations

import math
import numbers

import torch

from ..evidence import kinds
from ..language import releases
from ..judging.context import CallContext
from ..evidence.facts import TensorFacts, dtype_name, scalar_type_name
from ..language.shapes import broadcast_shape, render_shape
from . import check, numerics

_BOOL_SUBTRACTION = "Subtraction, the `-` operator, with a bool tensor is not supported"


def _is_int_or_bool(f: TensorFacts) -> bool:
    return f.is_integral or f.is_bool


def _promoted(a: TensorFacts, b: TensorFacts) -> torch.dtype:
    # The losses broadcast both sides first (torch.broadcast_tensors), so the 0-d special case of type
    # promotion never applies: the kernel computes in promote_types of the two dtypes.
    return torch.promote_types(a.dtype, b.dtype)


def _as_float(value: object) -> float | None:
    if isinstance(value, torch.Tensor):
        return float(value.item()) if value.numel() == 1 and not value.is_complex() else None
    if isinstance(value, numbers.Real):
        return float(value)
    return None


# ---- dtypes -----------------------------------------------------------------------------------------


@check("regression_dtypes")
def regression_dtypes(ctx: CallContext, kernel: str) -> None:
    """Predict torch's dtype errors for input and target (see the module docstring for the table).

    kernel: "mse", "l1", "smooth_l1", "huber", "poisson" or "gaussian".
    """
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    reduction = ctx.config.get("reduction")
    weighted = isinstance(ctx.config.get("weight"), torch.Tensor)
    if kernel == "smooth_l1":
        beta = _as_float(ctx.config.get("beta"))
        kernel = "l1" if beta == 0.0 else "mse"
    raises_input: str | None = None  # torch's message when the input is at fault
    raises_target: tuple[str, str] | None = None  # (code, torch's message) when the target is at fault

    if kernel in ("mse", "l1") and weighted:
        # F.mse_loss / F.l1_loss with weight= compute `(input - target)` in Python.
        if inp.is_bool:
            raises_input = _BOOL_SUBTRACTION
        elif tgt.is_bool:
            raises_target = ("LL103", _BOOL_SUBTRACTION)
    elif kernel == "mse":
        common = _promoted(inp, tgt)
        name = "smooth_l1" if ctx.loss.name == "SmoothL1Loss" else "mse"
        if inp.is_complex:
            raises_input = f"\"{name}_cpu\" not implemented for '{scalar_type_name(common)}'"
        elif tgt.is_complex:
            raises_target = ("LL101", f"\"{name}_cpu\" not implemented for '{scalar_type_name(common)}'")
        elif not common.is_floating_point:
            raises_input = f"\"{name}_cpu\" not implemented for '{scalar_type_name(common)}'"
        elif inp.device_type == "cpu" and not releases.cpu_kernel_accepts(f"{name}_loss", common):
            # Half-precision CPU kernels arrived in different releases (bfloat16 MSE in 2.6).
            raises_input = releases.cpu_kernel_message(f"{name}_loss", common)
    elif kernel == "l1":
        common = _promoted(inp, tgt)
        if inp.is_bool:
            raises_input = _BOOL_SUBTRACTION
        elif tgt.is_bool:
            raises_target = ("LL103", _BOOL_SUBTRACTION)
        elif reduction in ("mean", "elementwise_mean") and not (common.is_floating_point or common.is_complex):
            raises_input = (
                "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                f"dtype. Got: {scalar_type_name(common)}"
            )
    elif kernel == "huber":
        if not inp.is_floating:
            # The output takes the input's dtype: a floating result cannot be written into it.
            common = _promoted(inp, tgt)
            raises_input = (
                f"result type {scalar_type_name(common)} can't be cast to the desired output type {scalar_type_name(inp.dtype)}"
                if tgt.is_floating or (inp.is_bool and not tgt.is_bool)
                else f"\"huber_cpu\" not implemented for '{scalar_type_name(common)}'"
            )
        elif tgt.is_complex:
            common = _promoted(inp, tgt)
            raises_target = ("LL101", f"result type {scalar_type_name(common)} can't be cast to the desired output type {scalar_type_name(inp.dtype)}")
    elif kernel == "poisson":
        log_input = ctx.config.get("log_input", True) is not False
        full = ctx.config.get("full") is True
        if inp.is_bool and (tgt.is_bool or not log_input):
            raises_input = _BOOL_SUBTRACTION
        elif full and tgt.is_bool:
            raises_target = ("LL103", _BOOL_SUBTRACTION)  # full=True adds a Stirling term computed from the target
        elif full and tgt.is_complex:
            raises_target = ("LL101", f"\"le_cpu\" not implemented for '{scalar_type_name(tgt.dtype)}'")  # full=True compares target with 1
        elif (inp.is_complex or tgt.is_complex) and reduction in ("mean", "sum", "elementwise_mean"):
            # The loss is plain tensor arithmetic without a broadcast first, so a 0-d complex64 meets a
            # float16 tensor as complex32, which has no sum kernel ('"sum_cpu" not implemented for
            # 'ComplexHalf'').
            if torch.result_type(ctx.args["input"], ctx.args["target"]) == torch.complex32:
                message = "\"sum_cpu\" not implemented for 'ComplexHalf'"
                if inp.is_complex:
                    raises_input = message
                else:
                    raises_target = ("LL101", message)
    elif kernel == "gaussian":
        if inp.is_bool:
            raises_input = _BOOL_SUBTRACTION
        elif tgt.is_bool:
            raises_target = ("LL103", _BOOL_SUBTRACTION)

    if raises_input is not None:
        _emit_input_dtype(ctx, inp, tgt, raises_input)
    elif _is_int_or_bool(inp):
        _emit_integer_prediction(ctx, inp, tgt)
    if raises_target is not None:
        code, message = raises_target
        expected = f"a floating target (e.g. {dtype_name(inp.dtype) if inp.is_floating else 'float32'})"
        ctx.emit(
            code,
            "target",
            f"`target` is {dtype_name(tgt.dtype)}; expected {expected}",
            explanation=f"{ctx.loss.name} cannot compute with a {dtype_name(tgt.dtype)} target: torch raises '{message}'.",
            fix="target.to(input.dtype)" if inp.is_floating else "target.float()",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=expected,
            torch_raises=True,
        )


def _emit_input_dtype(ctx: CallContext, inp: TensorFacts, tgt: TensorFacts, torch_message: str) -> None:
    if inp.is_complex:
        ctx.emit(
            "LL101",
            "input",
            f"`input` is {dtype_name(inp.dtype)}; expected a real floating dtype",
            explanation=f"{ctx.loss.name} has no complex kernel: torch raises '{torch_message}'.",
            fix="input.real, or input.abs() when the magnitude is what is regressed",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected="float32, float64, float16 or bfloat16",
            torch_raises=True,
        )
        return
    both = not (tgt.is_floating or tgt.is_complex)
    ctx.emit(
        "LL104",
        "input",
        f"`input` is {dtype_name(inp.dtype)}"
        + (f" and `target` {dtype_name(tgt.dtype)}" if both else "")
        + "; expected a floating prediction",
        explanation=(
            f"{ctx.loss.name} needs a floating prediction"
            + (" (neither argument is floating point here)" if both else "")
            + f": torch raises '{torch_message}'. An integer or bool prediction is an argmax, round or "
            "threshold output, which carries no gradient either."
        ),
        fix="pass the model's float output as `input`" + ("; cast a genuine integer target with target.float()" if both else ""),
        observed=f"input {inp.summary}, target {tgt.summary}",
        expected="input float32 (or another floating dtype)",
        torch_raises=True,
    )


def _emit_integer_prediction(ctx: CallContext, inp: TensorFacts, tgt: TensorFacts) -> None:
    swapped = tgt.is_floating
    ctx.emit(
        "LL104",
        "input",
        f"`input` is {dtype_name(inp.dtype)}"
        + (f" while `target` is {dtype_name(tgt.dtype)}" if swapped else "")
        + "; expected a floating prediction (an argmax, rounded or thresholded output"
        + (", or prediction and target swapped)" if swapped else ")"),
        explanation=(
            f"torch promotes the {dtype_name(inp.dtype)} prediction and computes a value, but an integer or bool "
            "tensor carries no gradient: backward() fails or the model is not trained. It is usually an argmax, "
            "round or threshold output"
            + (", or prediction and target were passed in the wrong order." if swapped else ".")
        ),
        fix="loss(prediction, target) with the model's float output first",
        observed=f"input {inp.summary}, target {tgt.summary}",
        expected="input float32 (or another floating dtype)",
        severity="warning",
    )


@check("integer_regression_target")
def integer_regression_target(ctx: CallContext) -> None:
    """An integer target for a float prediction: continuous values were probably truncated (.long()).

    Quiet for one-hot rows (a Brier score against F.one_hot(y, C) is exact) and for bool targets (a
    comparison result, never a truncation). PoissonNLLLoss does not use this check: counts are integers.
    """
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or not inp.is_floating or not tgt.is_integral:
        return
    if ctx.has("LL103", "target") or ctx.has("LL101", "target"):
        return
    facts = ctx.values("target")
    values = facts.distinct_values(8) if facts is not None else None
    binary = values is not None and set(values) <= {0.0, 1.0}
    if binary and facts is not None and tgt.ndim >= 2 and tgt.shape == inp.shape:
        sample = facts.sample_rows(0)
        if sample is not None and any(
            (rows := kinds.binary_rows(sample, dim)) is not None and rows.one_hot for dim in {1, tgt.ndim - 1}
        ):
            return
    inp_values = ctx.values("input")
    in_range = inp_values.value_range if inp_values is not None else None
    truncated = (
        binary
        and in_range is not None
        and in_range.min >= 0.0
        and in_range.max <= 1.0
        and not in_range.all_integral
    )
    shown = "{" + ", ".join(str(int(v)) for v in values) + "}" if values is not None else None
    seen = f", values {shown}" if shown else ""
    ctx.emit(
        "LL105",
        "target",
        f"`target` is {dtype_name(tgt.dtype)}{seen} while `input` is {dtype_name(inp.dtype)}"
        + (
            " in [0, 1]: this looks like scores in [0, 1] truncated by .long() (0.7 became 0)"
            if truncated
            else "; expected a floating regression target"
        ),
        explanation=(
            f"torch promotes the integer target silently, so {ctx.loss.name} computes a value either way. "
            "If the target came from .long() or .int() on continuous values, every fraction was cut off "
            "(0.7 became 0) and the model learns the truncated numbers. A target that is genuinely "
            "integer is fine, but keep it float so that this cannot happen unnoticed."
        ),
        fix="build the target as float: target.float() (or drop the .long() that truncated it)",
        observed=f"input {inp.summary}" + (f", values in [{in_range.min:.3g}, {in_range.max:.3g}]" if in_range else "")
        + f"; target {tgt.summary}{seen}",
        expected=f"target {dtype_name(inp.dtype)}",
        confidence="strong" if truncated else "weak",
    )


# ---- configuration ------------------------------------------------------------------------------------


@check("scalar_config")
def scalar_config(ctx: CallContext, floats: tuple[str, ...] = (), bools: tuple[str, ...] = (), tensor_ok: str = "0d") -> None:
    """Configuration that torch's argument parser types strictly; rule files leave these `type = "any"`
    so that the engine's `range` (with its own `raises`) judges only the numbers.

    floats: must be a real number (bool and int included) or a 0-d tensor ('must be float, not str');
    tensor_ok="any": any tensor passes (GaussianNLLLoss's eps goes to clamp_, not to the parser).
    bools: must be exactly a Python bool; torch rejects 1, 0, numpy bools and tensors
    ('argument 'log_input' (position 3) must be bool, not int').
    """
    for name in floats:
        if name not in ctx.config:
            continue
        value = ctx.config[name]
        ok = isinstance(value, numbers.Real) or (
            isinstance(value, torch.Tensor) and (tensor_ok == "any" or value.ndim == 0) and not value.is_complex()
        )
        if not ok:
            _emit_config_type(ctx, name, value, "a float")
    for name in bools:
        if name not in ctx.config:
            continue
        value = ctx.config[name]
        if type(value) is not bool:
            _emit_config_type(ctx, name, value, "True or False (a Python bool)")


def _emit_config_type(ctx: CallContext, name: str, value: object, expected: str) -> None:
    shown = _describe(value)
    rule = ctx.loss.config.get(name)
    default = rule.default if rule is not None else None
    ctx.emit(
        "LL004",
        name,
        f"`{name}` is {shown}; expected {expected}",
        explanation=f"torch raises a TypeError when {ctx.loss.name} is called with `{name}` of this type.",
        fix=f"{name}={default!r}" if default is not None else f"pass `{name}` as {expected}",
        observed=shown,
        expected=expected,
        torch_raises=True,
    )


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {render_shape(tuple(value.shape))}"
    if value is None:
        return "None"
    return f"{type(value).__name__} {value!r}"


@check("exact_size_weight")
def exact_size_weight(ctx: CallContext, config: str = "weight") -> None:
    """F.mse_loss / F.l1_loss / F.huber_loss(weight=...): one weight per element of the input.

    torch compares `weight.size()` with `input.size()` (not the broadcast size) and raises
    'Weights and input must have the same size.' otherwise, even when it would broadcast; the weighted
    path also rejects reduction='elementwise_mean', which the unweighted kernel still accepts.
    """
    weight = ctx.config.get(config)
    inp = ctx.fact("input")
    if weight is None or inp is None:
        return
    if not isinstance(weight, torch.Tensor):
        return  # the engine's configuration type check reports it
    ws = tuple(weight.shape)
    if ws != inp.shape:
        broadcasts = broadcast_shape(ws, inp.shape) == inp.shape
        ctx.emit(
            "LL206",
            config,
            f"`{config}` has shape {render_shape(ws)}; expected {render_shape(inp.shape)}, the shape of `input`",
            explanation=(
                f"F.{ctx.loss.functional.__name__ if ctx.loss.functional else ctx.loss.name} takes one weight per "
                "element and raises 'Weights and input must have the same size.'"
                + (" It does not broadcast the weight, although this shape would broadcast." if broadcasts else "")
            ),
            fix=f"{config}.expand_as(input)" if broadcasts else f"a weight of shape {render_shape(inp.shape)}",
            observed=f"{config} {TensorFacts(weight, read_values=False).summary}, input {inp.summary}",
            expected=f"{config} of shape {list(inp.shape)}",
            torch_raises=True,
        )
    if ctx.config.get("reduction") == "elementwise_mean":
        ctx.emit(
            "LL004",
            "reduction",
            "`reduction` is 'elementwise_mean' together with `weight`; expected 'none', 'mean' or 'sum'",
            explanation=(
                "The deprecated alias 'elementwise_mean' is accepted by the unweighted kernel only; with "
                "`weight` torch raises 'Invalid reduction mode: elementwise_mean'."
            ),
            fix="reduction='mean'",
            observed="'elementwise_mean' with weight",
            expected="'none', 'mean' or 'sum'",
            torch_raises=True,
        )
    if not weight.is_meta and not inp.is_meta and weight.device != ctx.args["input"].device and weight.ndim > 0:
        ctx.emit(
            "LL005",
            config,
            f"`{config}` is on {weight.device} while `input` is on {ctx.args['input'].device}",
            fix=f"{config}.to(input.device)",
            observed=f"{config} on {weight.device}, input on {ctx.args['input'].device}",
            expected="one device",
            torch_raises=True,
        )


# ---- GaussianNLLLoss ---------------------------------------------------------------------------------


def _var_size_ok(inp: tuple[int, ...], var: tuple[int, ...]) -> bool:
    """torch's rule, verbatim: the input's shape; the input's shape without its last dim; or the
    input's ndim with one dim set to 1 — any dim where the installed torch allows it (the sizes of var
    at the dims that differ sum to exactly 1), else only the last one. A var that merely broadcasts,
    (1, 1, H, W) for an (N, C, H, W) input, is rejected."""
    if var == inp or inp[:-1] == var:
        return True
    if not releases.holds("gaussian_nll_var_any_singleton"):
        return len(var) >= 1 and inp[:-1] == var[:-1] and var[-1] == 1
    return len(inp) == len(var) and sum(v for i, v in zip(inp, var) if i != v) == 1


@check("gaussian_var")
def gaussian_var(ctx: CallContext) -> None:
    """GaussianNLLLoss's var: a float or a tensor of an allowed shape and dtype, with no negative entry."""
    var = ctx.args.get("var")
    inp = ctx.fact("input")
    if isinstance(var, bool) or var is None:
        return  # the engine reports it (LL002)
    if isinstance(var, numbers.Real) and not isinstance(var, torch.Tensor):
        if not releases.holds("gaussian_nll_float_var"):
            ctx.emit(
                "LL002",
                "var",
                f"`var` is the number {var!r}; this torch takes only a tensor",
                explanation=(
                    f"F.gaussian_nll_loss in torch {releases.version()} reads var.size() and raises AttributeError "
                    "for a Python number (later releases accept a float for a shared variance)."
                ),
                fix=f"var=torch.full_like(input, {float(var)!r})",
                observed=f"{type(var).__name__} {var!r}",
                expected="a tensor",
                torch_raises=True,
            )
            return
        if not isinstance(var, float):
            # torch tests isinstance(var, float); an int goes to torch.any(var < 0), a TypeError.
            ctx.emit(
                "LL002",
                "var",
                f"`var` is {type(var).__name__} {var!r}; expected a Python float or a tensor",
                explanation=(
                    "F.gaussian_nll_loss accepts a Python float for a shared variance, but an int is not one: "
                    "torch calls torch.any(var < 0) on it and raises 'any() received an invalid combination of arguments'."
                ),
                fix=f"var={float(var)!r}",
                observed=f"{type(var).__name__} {var!r}",
                expected="a float or a tensor",
                torch_raises=True,
            )
        elif var < 0:
            _emit_negative_var(ctx, f"float {var!r}", 1, var)
        return
    if not isinstance(var, torch.Tensor):
        return
    facts = ctx.fact("var")
    if facts is None:
        return
    # dtype: `var < 0` has no complex kernel; var.clamp_(min=eps) writes into var's own dtype.
    eps = ctx.config.get("eps")
    # A bool eps is an int to clamp_ (True clamps at 1): an integer var then passes too.
    int_eps = isinstance(eps, int)
    if facts.is_complex or facts.is_bool or (facts.is_integral and not int_eps):
        message = (
            f"\"lt_cpu\" not implemented for '{scalar_type_name(facts.dtype)}'"
            if facts.is_complex
            else f"result type Float can't be cast to the desired output type {dtype_name(facts.dtype)}"
        )
        ctx.emit(
            "LL101",
            "var",
            f"`var` is {dtype_name(facts.dtype)}; expected a floating dtype",
            explanation=f"torch raises '{message}': it clamps var in place with var.clamp_(min=eps), so var must hold floats.",
            fix="var.float()" if not facts.is_complex else "var.abs() (a variance is real and non-negative)",
            observed=facts.summary,
            expected="float32 (or another floating dtype)",
            torch_raises=True,
        )
        if facts.is_complex:
            return
    # values: torch.any(var < 0) raises; NaN is not < 0 and passes.
    values = ctx.values("var")
    if values is not None:
        data = var.detach()
        negative = data < 0
        count = int(negative.sum())
        if count:
            _emit_negative_var(ctx, facts.summary, count, float(data[negative].min()))
    if inp is None:
        return
    vs, xs = facts.shape, inp.shape
    if not _var_size_ok(xs, vs):
        allowed = [render_shape(xs)]
        if xs:
            allowed.append(render_shape(xs[:-1]))
            allowed.append(
                f"{render_shape(xs)} with exactly one dim set to 1"
                if releases.holds("gaussian_nll_var_any_singleton")
                else f"{render_shape(xs[:-1] + (1,))}"
            )
        broadcasts = broadcast_shape(vs, xs) == xs
        ctx.emit(
            "LL201",
            "var",
            f"`var` has shape {render_shape(vs)}; expected {', '.join(allowed[:-1])} or {allowed[-1]}, for `input` {render_shape(xs)}"
            if len(allowed) > 1
            else f"`var` has shape {render_shape(vs)}; expected {allowed[0]}, the shape of `input`",
            explanation=(
                "torch raises 'var is of incorrect size'. GaussianNLLLoss accepts only a var of the input's "
                "shape, of the input's shape without its last dim (one variance per sample), or of the input's "
                + ("shape with exactly one dim set to 1" if releases.holds("gaussian_nll_var_any_singleton") else "shape with its last dim set to 1")
                + (", or a Python float" if releases.holds("gaussian_nll_float_var") else "")
                + (", even though this shape would broadcast." if broadcasts else ".")
            ),
            fix="var.expand_as(input)"
            if broadcasts
            else f"a var of shape {render_shape(xs)}" + (f" (or {render_shape(xs[:-1])} for one variance per sample)" if xs else ""),
            observed=f"var {facts.summary}, input {inp.summary}",
            expected=" or ".join(allowed),
            torch_raises=True,
        )
        return
    # An accepted var still has to broadcast against input - target (only a 0-size dim can break it).
    effective = vs + (1,) if vs != xs and xs[:-1] == vs else vs
    tgt = ctx.fact("target")
    joint = broadcast_shape(xs, tgt.shape) if tgt is not None else xs
    if joint is not None and broadcast_shape(effective, joint) is None:
        ctx.emit(
            "LL201",
            "var",
            f"`var` has shape {render_shape(vs)}, which does not broadcast against the loss's shape {render_shape(joint)}",
            explanation="torch raises 'The size of tensor a (...) must match the size of tensor b (...)'.",
            fix=f"a var of shape {render_shape(xs)}",
            observed=f"var {facts.summary}, input {inp.summary}",
            expected=render_shape(xs),
            torch_raises=True,
        )


def _emit_negative_var(ctx: CallContext, observed: str, count: int, lowest: float) -> None:
    ctx.emit(
        "LL411",
        "var",
        f"`var` has {count} negative value{'s' if count > 1 else ''} (min {lowest:.3g}); expected variances >= 0",
        explanation=(
            "torch raises 'var has negative entry/entries'. Negative variances usually mean a raw network output "
            "or a log-variance was passed as the variance."
        ),
        fix="predict a log-variance and pass var=log_var.exp(), or var=F.softplus(raw) + 1e-6",
        observed=f"{observed}, min {lowest:.3g}",
        expected="var >= 0",
        torch_raises=True,
    )


# ---- PoissonNLLLoss ----------------------------------------------------------------------------------


def _exp_overflow(ctx: CallContext, facts) -> bool:
    """log_input=True: torch computes exp(input) in the input's dtype (autocast's float32 list casts it
    first); a value above log(max) is inf there, and inf - target * input is inf: a certain inf loss."""
    vr = facts.value_range
    if vr is None or vr.has_nan or not math.isfinite(vr.max):
        return False  # NaN and inf inputs are LL605's
    dtype = facts.dtype
    if ctx.autocast is not None and ctx.autocast.policy == "fp32" and dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    if dtype == torch.float16 and numerics.result_dtype(ctx) == torch.float16:
        return False  # a float16 result: LL607 estimates the element-wise terms, this overflow among them
    limit = math.log(torch.finfo(dtype).max)
    if vr.max <= limit + 0.01:  # a hair above log(max) may still round to max: only a certain inf
        return False
    data = ctx.args["input"].detach()
    count = int((data > limit).sum())
    ctx.emit(
        "LL609",
        "input",
        f"`input` reaches {vr.max:.3g} with log_input=True: exp(input) overflows {str(dtype).removeprefix('torch.')} "
        f"above {limit:.4g} ({count} value{'s' if count > 1 else ''}), so the loss is inf",
        explanation=(
            "PoissonNLLLoss computes exp(input) - target * input with log_input=True, exp in the input's dtype; an inf "
            "there makes the loss inf and its gradients inf or nan. A log-rate that large is a rate above 1e38: "
            "these values are rates (an exp or softplus output) or an unbounded head, not log-rates."
        ),
        fix="pass the log-rate from before the exp/softplus, or the rate with nn.PoissonNLLLoss(log_input=False)",
        observed=f"{facts.summary}, max {vr.max:.3g}",
        expected=f"log-rates below {limit:.4g} (exp(input) finite in {str(dtype).removeprefix('torch.')})",
        confidence="certain",
    )
    return True


# LL310 is a heuristic; it needs enough elements to mean something and clear separation.
_POISSON_MIN_ELEMENTS = 8
_POISSON_MIN_COUNT_MEAN = 1.0  # below this, exp(rate) cannot be told from a count
_POISSON_SCALE = 4.0  # mean(input) within [1/4, 4] x mean(target): the input is on the counts' scale
_POISSON_EXP_FACTOR = 10.0  # mean(exp(input)) at least 10 x mean(target): "far larger"


@check("poisson_input")
def poisson_input(ctx: CallContext) -> None:
    """log_input=False wants positive rates; log_input=True (the default) wants log-rates."""
    facts = ctx.values("input")
    if facts is None or facts.is_complex or facts.is_bool:
        return
    log_input = ctx.config.get("log_input", True)
    if log_input is True and not facts.is_floating:
        return  # an integer input already has LL104; rates come out of softplus/relu/exp as floats
    if log_input is False:
        vr = facts.value_range
        if vr is None or not vr.min < 0:
            return
        data = ctx.args["input"].detach()
        count = int((data < 0).sum())
        ctx.emit(
            "LL309",
            "input",
            f"`input` has {count} negative value{'s' if count > 1 else ''} (min {vr.min:.3g}) while log_input=False; "
            "expected rates > 0",
            explanation=(
                "With log_input=False, PoissonNLLLoss reads the input as the rate itself and computes "
                "input - target * log(input + eps): a negative rate makes the log nan, and so the loss. "
                "torch does not check. Raw linear outputs are log-rates."
            ),
            fix="keep log_input=True and treat the output as a log-rate, or pass F.softplus(out) as the rate",
            observed=f"{facts.summary}, min {vr.min:.3g}, {count} negative",
            expected="input > 0 with log_input=False",
        )
        return
    if log_input is not True:
        return
    if _exp_overflow(ctx, facts):
        return
    tgt = ctx.values("target")
    if tgt is None or tgt.is_complex or facts.numel < _POISSON_MIN_ELEMENTS:
        return
    vr = facts.value_range
    if vr is None or vr.has_nan or vr.has_inf or vr.min < 0:
        return
    x = facts.sample_rows(0)
    t = tgt.sample_rows(0) if tgt.ndim > 0 else ctx.args["target"].detach().to(torch.float64)
    if x is None or t is None or t.numel() == 0:
        return
    t_mean = float(t.to(torch.float64).mean())
    x_mean = float(x.mean())
    if not t_mean >= _POISSON_MIN_COUNT_MEAN or not (t_mean / _POISSON_SCALE <= x_mean <= t_mean * _POISSON_SCALE):
        return
    exp_mean = float(x.exp().mean())
    if not exp_mean >= _POISSON_EXP_FACTOR * t_mean:
        return
    ratio = "more than 1e6" if not math.isfinite(exp_mean) or exp_mean / t_mean > 1e6 else f"{exp_mean / t_mean:.0f}"
    ctx.emit(
        "LL310",
        "input",
        f"`input` is non-negative (values in [{vr.min:.3g}, {vr.max:.3g}], mean {x_mean:.3g}) on the scale of the "
        f"counts (mean {t_mean:.3g}), and exp(input) averages {ratio} times the counts: these look like rates, "
        "not log-rates (log_input=True)",
        explanation=(
            "PoissonNLLLoss() defaults to log_input=True and computes exp(input) - target * input. Given rates "
            "(softplus, relu or exp outputs), exp() is applied a second time: the loss is huge and its optimum "
            "moves to rate = log(count)."
        ),
        fix="nn.PoissonNLLLoss(log_input=False) for rates, or pass the log-rate from before the activation",
        observed=f"{facts.summary}, mean {x_mean:.3g}, min {vr.min:.3g}; target mean {t_mean:.3g}",
        expected="log-rates: exp(input) on the counts' scale",
        confidence="strong" if exp_mean >= 100 * t_mean else "weak",
    )


# ---- PoissonNLLLoss ----------------------------------------------------------------------------------


@check("poisson_counts")
def poisson_counts(ctx: CallContext) -> None:
    tgt = ctx.values("target")
    if tgt is None or tgt.is_complex:
        return
    vr = tgt.value_range
    if vr is not None and not math.isnan(vr.min) and vr.min < 0:
        data = ctx.args["target"].detach()
        negative = int((data < 0).sum())
        ctx.emit(
            "LL416",
            "target",
            f"`target` has {negative} negative values (down to {vr.min:g}): Poisson counts are >= 0",
            explanation=(
                f"{ctx.loss.name} is exp(x) - target * x (log_input=True): for a negative target it decreases "
                "without bound as x grows, so the loss means nothing. Standardized (mean-subtracted) counts or "
                "log-counts are not counts."
            ),
            fix="pass the raw counts (>= 0); for real-valued targets use nn.MSELoss or nn.GaussianNLLLoss",
            observed=f"{tgt.summary}, min {vr.min:g}",
            expected="counts >= 0",
        )
        return
    log_input = ctx.config.get("log_input", True)
    inp = ctx.values("input")
    if log_input or inp is None or not inp.is_floating or inp.shape != tgt.shape or ctx.has("LL309"):
        return
    x, t = inp.sample_view(0), ctx.args["target"].detach()
    if x is None:
        return
    t = t.narrow(0, 0, x.shape[0]) if t.ndim else t
    zero = int(((x == 0) & (t > 0)).sum())
    if zero == 0:
        return
    ctx.emit(
        "LL317",
        "input",
        f"`input` is exactly 0 at {zero} positions whose count is positive (log_input=False): "
        "each costs count * 18.4 and a gradient of about -count / 1e-8",
        explanation=(
            f"With log_input=False {ctx.loss.name} computes input - target * log(input + eps): a rate of 0 for a "
            "positive count is log(1e-8) = -18.4 per count, and the gradient -target / eps explodes. A ReLU or "
            "clamp(min=0) on the rate produces exact zeros."
        ),
        fix="F.softplus(out) (or out.exp()) as the rate, or log_input=True with the raw output",
        observed=f"{inp.summary}, {zero} zero rates with positive counts",
        expected="rates > 0",
        confidence="certain",
    )
