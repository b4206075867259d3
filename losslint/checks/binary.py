"""Checks for the binary / multi-label losses: BCELoss, BCEWithLogitsLoss, MultiLabelSoftMarginLoss.

All three compare every element of the prediction with a target in [0, 1]; they differ in what they
validate (torch, CPU, see docs/how-it-works/torch-behaviour.md):

- BCELoss checks values: input and target outside [0, 1] (or NaN) raise; and it demands that target
  has exactly input's dtype ('Found dtype Double but expected Float'), even among float dtypes.
- BCEWithLogitsLoss checks nothing about values and type-promotes float targets, but rejects integer
  targets ('result type Float can't be cast to the desired output type Long').
- MultiLabelSoftMarginLoss is plain Python arithmetic: integer targets work, bool targets raise,
  shapes broadcast silently, and the last dim is the class dim.

`weight` and `pos_weight` broadcast against the input from the right, so a (C,) weight lines up with
the LAST dimension, not with the classes at dim 1 of an (N, C, H, W) input.
"""

from __future__ import annotations

import torch

from ..evidence import layout
from ..judging.context import CallContext
from ..evidence.facts import dtype_name, scalar_type_name
from ..language.shapes import broadcast_shape, render_shape
from . import check, domain_hint
from .bounded_predictions import probability_rows


# ---- sharper diagnoses of values outside [0, 1] (engine._check_domains) -----------------------------


@domain_hint("LL402")
def explain_target_outside_unit_interval(ctx: CallContext, argument: str, bad: torch.Tensor):
    """{-1, 1} signs, PASCAL VOC {-1, 0, 1}, {0, 255} masks, class indices, NaN."""
    facts = ctx.values(argument)
    values = set(facts.distinct_values(8) or ()) if facts is not None else set()
    vr = facts.value_range if facts is not None else None
    outside = {v for v in bad.tolist() if v == v}
    if vr is not None and vr.has_nan and not outside:
        return ("LL402", "; NaN targets make the loss NaN", "find where the NaN enters the labels (e.g. target.isnan().nonzero())")
    if values and values <= {-1.0, 1.0}:
        return (
            "LL402",
            "; the labels are {-1, 1} signs, map them to {0, 1} with (target + 1) / 2",
            f"({argument} + 1) / 2",
        )
    if values and values <= {-1.0, 0.0, 1.0} and -1.0 in values:
        return (
            "LL402",
            "; {-1, 0, 1} labels (PASCAL VOC: absent, difficult, present) must become {0, 1}: map -1 to 0, "
            "and 0 (difficult) to 1 or mask it out",
            f"({argument} == 1).float(), with weight=({argument} != 0).float() to skip the difficult ones",
        )
    if vr is not None and vr.all_integral and vr.max == 255 and vr.min >= 0:
        return (
            "LL402",
            "; a {0, 255} image mask that was never scaled, use mask / 255",
            f"{argument} / 255, or ({argument} > 127).float()",
        )
    if vr is not None and vr.all_integral and vr.min >= 0 and vr.max > 1:
        return (
            "LL402",
            f"; integer values up to {vr.max:g} look like class indices or counts, not binary labels",
            f"multi-hot targets: F.one_hot({argument}.long(), num_classes).float(); "
            "one class per sample: nn.CrossEntropyLoss with class indices",
        )
    return ("LL402", "; binary cross entropy needs targets in [0, 1]", f"rescale `{argument}` into [0, 1] (probabilities or {{0, 1}} labels)")


@domain_hint("LL308")
def explain_input_outside_unit_interval(ctx: CallContext, argument: str, bad: torch.Tensor):
    """NaN predictions, or raw logits given to BCELoss."""
    finite_outside = [v for v in bad.tolist() if v == v]  # NaN != NaN
    if not finite_outside:
        return (
            "LL308",
            "; NaN predictions (a diverged model, or 0/0 upstream), torch rejects them like any value outside [0, 1]",
            "find where the NaN starts: torch.autograd.set_detect_anomaly(True), or a lower learning rate",
        )
    if all(v in (float("inf"), float("-inf")) for v in finite_outside):
        return (
            "LL308",
            "; infinite predictions (an overflow upstream), torch rejects them like any value outside [0, 1]",
            "find where the overflow starts; compute in float32, or use nn.BCEWithLogitsLoss on the logits",
        )
    return (
        "LL308",
        "; values outside [0, 1] are raw scores, not probabilities",
        "nn.BCEWithLogitsLoss()(logits, target) (numerically stable), or loss(torch.sigmoid(logits), target)",
    )


# ---- dtypes -----------------------------------------------------------------------------------------


@check("same_float_dtype")
def same_float_dtype(ctx: CallContext, argument: str = "target") -> None:
    """BCELoss: target must have exactly input's dtype; torch does not promote f32 to f64 here."""
    inp, other = ctx.fact("input"), ctx.fact(argument)
    if inp is None or other is None or not inp.is_floating or inp.dtype == other.dtype:
        return
    if other.is_floating:
        ctx.emit(
            "LL106",
            argument,
            f"`{argument}` is {dtype_name(other.dtype)}; expected {dtype_name(inp.dtype)}, the dtype of `input`",
            explanation=(
                f"{ctx.loss.name} does not type-promote: torch raises 'Found dtype {scalar_type_name(other.dtype)} but "
                f"expected {scalar_type_name(inp.dtype)}' (BCEWithLogitsLoss would accept the mix)."
            ),
            fix=f"{argument}.to(input.dtype)",
            observed=f"input {inp.summary}, {argument} {other.summary}",
            expected=f"{argument} {dtype_name(inp.dtype)}",
            torch_raises=True,
        )
    elif inp.dtype != torch.float32 and ctx.has("LL103", argument):
        # The engine's generic fix (.float()) would trade this error for a dtype mismatch.
        ctx.emit(
            "LL103",
            argument,
            f"`{argument}` is {dtype_name(other.dtype)}; expected {dtype_name(inp.dtype)}, the dtype of `input`",
            explanation=f"{ctx.loss.name} raises 'Found dtype {scalar_type_name(other.dtype)} but expected {scalar_type_name(inp.dtype)}': the target must be a float tensor of the input's dtype.",
            fix=f"{argument}.to(input.dtype)",
            observed=other.summary,
            expected=dtype_name(inp.dtype),
            torch_raises=True,
            replaces=("LL103",),
        )


# ---- weight and pos_weight ----------------------------------------------------------------------------


@check("elementwise_weight")
def elementwise_weight(
    ctx: CallContext,
    config: str = "weight",
    grow_raises: bool = True,
    class_dim: int = 1,
    bool_raises: bool = False,
) -> None:
    """A weight that broadcasts against the input from the right.

    grow_raises: torch applies the weight in place, so a weight that would enlarge the input's shape
    raises ('output with shape [4, 5] doesn't match the broadcast shape [1, 4, 5]'); False where it is
    applied out of place and silently changes the loss's shape (MultiLabelSoftMarginLoss).
    class_dim: where the classes are (1 for the BCE family, -1 for MultiLabelSoftMargin); a (C,)
    weight with an (N, C, H, W) input lines up with W, not C.
    bool_raises: pos_weight enters as `pos_weight - 1`, which torch rejects for bool tensors.
    """
    weight = ctx.config.get(config)
    inp = ctx.fact("input")
    if not isinstance(weight, torch.Tensor) or inp is None:
        return
    ws, xs = tuple(weight.shape), inp.shape
    tgt = ctx.fact("target")
    if not grow_raises and tgt is not None:
        # Out of place, the weight meets the element-wise loss, whose shape is input and target
        # broadcast (a mismatch there is elementwise_shapes' finding, not this one's).
        xs = broadcast_shape(xs, tgt.shape) or xs
    if bool_raises and weight.dtype == torch.bool:
        ctx.emit(
            "LL101",
            config,
            f"`{config}` is bool; expected a floating weight",
            explanation=f"{ctx.loss.name} computes `{config} - 1`, and torch raises 'Subtraction, the `-` operator, with a bool tensor is not supported'.",
            fix=f"{config}.float()",
            observed=f"bool{list(ws)}",
            expected="float32 (or the input's dtype)",
            torch_raises=True,
        )
    joint = broadcast_shape(xs, ws)
    classes = xs[class_dim] if len(xs) > (class_dim if class_dim >= 0 else -class_dim - 1) else None
    observed = f"{config} {dtype_name(weight.dtype)}{list(ws)}, input {inp.summary}" + (f", loss {list(xs)}" if xs != inp.shape else "")
    against = "`input`" if xs == inp.shape else "the element-wise loss"
    if joint is None or joint != xs:
        raises = joint is None or grow_raises
        if joint is None:
            message = f"`{config}` has shape {render_shape(ws)}; it does not broadcast against {against} {render_shape(xs)}"
            if len(ws) == 1 and xs:
                message += f": torch aligns it with the last dimension ({xs[-1]})"
                if class_dim == 1 and len(xs) >= 3 and classes == ws[0]:
                    message += f", not with the {classes} classes at dim 1"
            why = "torch raises a size error ('The size of tensor a (...) must match the size of tensor b (...)' or 'Attempting to broadcast a dimension'): weights broadcast from the right."
        else:
            message = f"`{config}` has shape {render_shape(ws)}; broadcast against {against} {render_shape(xs)} it grows the loss to {render_shape(joint)}"
            why = (
                f"torch applies `{config}` in place and raises 'output with shape {list(xs)} doesn't match the broadcast shape {list(joint)}'."
                if grow_raises
                else f"torch multiplies the element-wise loss by `{config}` and silently gets shape {list(joint)}: "
                "it then sums over the wrong dimension, so the value means nothing."
            )
        ctx.emit(
            "LL206",
            config,
            message,
            explanation=why,
            fix=_weight_fix(config, ws, xs, class_dim),
            observed=observed,
            expected=f"a shape that broadcasts into {render_shape(xs)}",
            torch_raises=raises,
            severity=None if raises else "warning",
        )
        return
    # Broadcasts fine, but possibly against the wrong axis: a (C,) weight with (N, C, H, W) where
    # W == C is accepted by torch and weights the W columns, not the C classes. With 3-D inputs
    # (N, T, C) is a common correct layout, so only 4-D and up are judged.
    if class_dim == 1 and len(xs) >= 4 and len(ws) == 1 and ws[0] > 1 and ws[0] == xs[1] == xs[-1]:
        made = layout.producer_axis(ctx.args["input"]) if isinstance(ctx.args.get("input"), torch.Tensor) else None
        if made is not None and made.dim == len(xs) - 1:
            return  # channels-last, from a known producer: the last dim holds the classes, as the weight does
        ctx.emit(
            "LL206",
            config,
            f"`{config}` has shape {render_shape(ws)}; with `input` {render_shape(xs)} it lines up with the last dimension "
            f"(W = {xs[-1]}), not with the C = {xs[1]} classes at dim 1",
            explanation=(
                f"Weights broadcast from the right. Here W happens to equal C = {xs[1]}, so torch accepts the "
                f"call and weights the {xs[-1]} columns of every image instead of the classes; with any other "
                "width it would raise a size error."
            ),
            fix=_class_view(config, ws[0], len(xs)),
            observed=observed,
            expected=f"{config} of shape ({ws[0]}{', 1' * (len(xs) - 2)})",
            severity="warning",
            confidence="weak",
        )


def _class_view(config: str, classes: int, ndim: int) -> str:
    return f"{config}.view({classes}{', 1' * (ndim - 2)})"


def _weight_fix(config: str, ws: tuple[int, ...], xs: tuple[int, ...], class_dim: int) -> str:
    if len(ws) == 1 and len(xs) >= 3 and class_dim == 1 and ws[0] == xs[1]:
        return _class_view(config, ws[0], len(xs)) + "  # one weight per class at dim 1"
    if len(ws) == 1 and len(xs) >= 2 and ws[0] == xs[0]:
        return f"{config}.view({xs[0]}{', 1' * (len(xs) - 1)})  # one weight per sample"
    if len(ws) > len(xs) and all(d == 1 for d in ws[: len(ws) - len(xs)]):
        return f"{config}.reshape({', '.join(map(str, ws[len(ws) - len(xs):]))})"
    per_class = len(xs) > (class_dim if class_dim >= 0 else -class_dim - 1)
    hint = f"({xs[class_dim]},) per class" if per_class else "a scalar"
    return f"give `{config}` a shape that broadcasts into {render_shape(xs)}: {hint}, or ({xs[0] if xs else 1}{', 1' * max(len(xs) - 1, 0)}) per sample"


# ---- shapes (MultiLabelSoftMarginLoss) ----------------------------------------------------------------


@check("multilabel_shapes")
def multilabel_shapes(ctx: CallContext) -> None:
    """MultiLabelSoftMarginLoss reads the classes from input's last dim, so a 0-d input raises
    ('Dimension specified as -1 but tensor has no dimensions') whatever the target; otherwise the
    shapes broadcast silently, as for the other element-wise losses."""
    from .elementwise import elementwise_shapes

    inp = ctx.fact("input")
    if inp is not None and inp.ndim == 0:
        ctx.emit(
            "LL201",
            "input",
            "`input` is 0-d; expected at least one dimension, (C,) or (N, C)",
            explanation=f"{ctx.loss.name} averages over the classes of input's last dimension; torch raises IndexError 'Dimension specified as -1 but tensor has no dimensions'.",
            fix="input.reshape(1, -1) and target.reshape(1, -1)  # one sample of C classes",
            observed=inp.summary,
            expected="(N, C) or (C,)",
            torch_raises=True,
        )
        return
    elementwise_shapes(ctx)


# ---- BCELoss on softmax outputs -------------------------------------------------------------------------


@check("softmax_for_multi_label")
def softmax_for_multi_label(ctx: CallContext, class_dim: int = 1) -> None:
    """BCELoss on rows that sum to 1 (softmax over the classes) while targets have several positives."""
    inp, tgt = ctx.values("input"), ctx.values("target")
    if inp is None or tgt is None or inp.ndim < 2 or inp.shape != tgt.shape or not (inp.is_floating and tgt.is_floating):
        return
    if inp.shape[class_dim] < 2:
        return
    pair = probability_rows(inp, tgt, class_dim)
    if pair is None:
        return
    sample, tsample, norm = pair
    if not bool(torch.isfinite(tsample).all()):
        return
    classes = sample.shape[class_dim]
    positives = (tsample >= 0.5).movedim(class_dim, -1).reshape(-1, classes).sum(dim=1)
    most = int(positives.max())
    if most < 2:
        return
    multi = int((positives >= 2).sum())
    ctx.emit(
        "LL306",
        "input",
        f"`input` rows sum to 1 over dim {class_dim} (softmax outputs, {norm.rows} rows examined) while "
        f"{multi} target rows have 2 to {most} positives; expected independent per-class probabilities (sigmoid)",
        explanation=(
            "Softmax makes the classes compete for one unit of probability: a row with k positives can put at "
            "most 1/k on each, so BCELoss keeps penalizing a correct prediction. A multi-label target needs "
            "one independent sigmoid per class."
        ),
        fix="loss(torch.sigmoid(logits), target), or better nn.BCEWithLogitsLoss()(logits, target)",
        observed=f"input {inp.summary}, row sums 1 ± {norm.max_sum_error:.1e}; target up to {most} positives per row",
        expected="sigmoid outputs (each value in [0, 1] on its own)",
        confidence="strong",
    )


@check("complex_target_computes")
def complex_target_computes(ctx: CallContext) -> None:
    """binary_cross_entropy_with_logits takes a complex target with a real input and returns a
    complex loss (backward() then raises 'grad can be implicitly created only for real scalar
    outputs'); with a real pos_weight it raises, casting the complex result into the input's dtype."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or not tgt.is_complex or inp.is_complex:
        return
    pos_weight = ctx.config.get("pos_weight")
    raises = isinstance(pos_weight, torch.Tensor) and not pos_weight.dtype.is_complex
    ctx.emit(
        "LL103",
        "target",
        f"`target` is {dtype_name(tgt.dtype)}; expected real probabilities of the input's dtype {dtype_name(inp.dtype)}",
        explanation=(
            f"With pos_weight, torch raises 'result type {scalar_type_name(tgt.dtype)} can't be cast to the desired output type {scalar_type_name(inp.dtype)}'."
            if raises
            else "torch computes a complex loss from it; its imaginary part means nothing, and loss.backward() "
            "raises 'grad can be implicitly created only for real scalar outputs'."
        ),
        fix="target.real",
        observed=tgt.summary,
        expected=f"{dtype_name(inp.dtype)} in [0, 1]",
        torch_raises=raises,
        severity="error",
    )


# ---- library conventions -----------------------------------------------------------------------------

_IGNORE_VALUES = (-100.0, 255.0, -1.0)


@check("ignore_value_under_none")
def ignore_value_under_none(ctx: CallContext) -> None:
    """BCEWithLogitsLoss(reduction='none') with real {0, 1} labels and one conventional ignore value:
    the caller masks those elements out afterwards (smp's SoftBCEWithLogitsLoss, ignore_index=-100)."""
    if ctx.config.get("reduction") != "none" or not ctx.has("LL402", "target"):
        return
    facts = ctx.values("target")
    values = facts.distinct_values(8) if facts is not None else None
    if not values:
        return
    outside = {v for v in values if not 0 <= v <= 1}
    inside = {v for v in values if 0 <= v <= 1}
    if len(outside) != 1 or not inside or next(iter(outside)) not in _IGNORE_VALUES:
        return
    if outside == {255.0} and 1.0 not in inside:
        return  # {0, 255}: an unscaled mask, not an ignore value
    if outside == {-1.0} and 0.0 not in inside:
        return  # {-1, 1}: signs
    value = next(iter(outside))
    old = next(f for f in ctx.findings if f.code == "LL402" and f.argument == "target")
    ctx.emit(
        "LL402",
        "target",
        f"`target` holds {value:g} besides {{0, 1}} labels under reduction='none': read as an ignore value that "
        "the caller masks out afterwards",
        explanation=(
            f"{value:g} is a conventional ignore value (segmentation_models_pytorch's SoftBCEWithLogitsLoss passes "
            "ignore_index=-100 targets to this loss with reduction='none' and multiplies the result by a mask). "
            "Those elements' losses are meaningless; they are correct only if they are masked before reducing."
        ),
        fix=f"loss = (loss * (target != {value:g})).sum() / (target != {value:g}).sum().clamp(min=1)",
        observed=old.observed,
        expected=old.expected,
        severity="info",
        confidence="weak",
        replaces=("LL402",),
    )
