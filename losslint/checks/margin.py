"""Checks for the margin and embedding losses: HingeEmbedding, MarginRanking, CosineEmbedding,
SoftMargin, MultiMargin, MultiLabelMargin, TripletMargin and TripletMarginWithDistance.

Most of these losses are composite operations in torch (subtractions, `where`, `clamp_min`) rather
than kernels with their own shape checks, so what torch accepts is decided by broadcasting and by the
few explicit checks each one makes. Every rule below cites the torch behaviour it mirrors
(see docs/how-it-works/torch-behaviour.md).
"""

from __future__ import annotations

import math
import numbers

import torch

from ..judging.context import CallContext
from ..evidence.facts import TensorFacts, dtype_name, scalar_type_name
from ..language.shapes import broadcast_shape
from . import check, domain_hint
from .classification import _one_hot_rows
from .elementwise import elementwise_shapes
from ..evidence.facts import finite_float_sample

# ---- signed labels ({-1, 1}) ------------------------------------------------------------------------

# What a 0 label does to each loss: torch treats y as a sign and never checks it.
_ZERO_LABEL_EFFECT = {
    "HingeEmbeddingLoss": "a 0 label takes both branches, x + max(0, margin - x), so the pair is pulled in and pushed out at once",
    "MarginRankingLoss": "a 0 label makes the term max(0, margin), a constant with no gradient",
    "CosineEmbeddingLoss": "a 0 label matches neither y == 1 nor y == -1 and contributes 0, with no gradient",
    "SoftMarginLoss": "a 0 label makes the term log(1 + exp(0)) = log 2, a constant with no gradient",
}


@domain_hint("LL403")
def explain_signed_labels(ctx: CallContext, argument: str, bad: torch.Tensor):
    """{0, 1} labels where {-1, 1} are expected: name the effect of a 0 and the remapping."""
    facts = ctx.values(argument)
    distinct = facts.distinct_values(3) if facts is not None else None
    has_zero = any(v == 0 for v in bad.tolist())
    effect = _ZERO_LABEL_EFFECT.get(ctx.loss.name) if has_zero else None
    if distinct is not None and set(distinct) <= {0.0, 1.0}:
        tail = "; the labels are {0, 1}" + (f": {effect}" if effect else "")
        return "LL403", tail, f"2 * {argument} - 1  # maps {{0, 1}} to {{-1, 1}}"
    tail = f"; {effect}" if effect else "; the loss reads the label as a sign"
    return "LL403", tail, f"map the labels to -1 and 1, e.g. torch.where({argument} > 0, 1.0, -1.0)"


# ---- dtypes -------------------------------------------------------------------------------------------


@check("integer_input_mean")
def integer_input_mean(ctx: CallContext, argument: str = "input") -> None:
    """HingeEmbeddingLoss computes on integer inputs, but torch cannot take their mean."""
    facts = ctx.fact(argument)
    reduction = ctx.config.get("reduction")
    if facts is None or not facts.is_integral or reduction not in ("mean", "elementwise_mean"):
        return
    ctx.emit(
        "LL104",
        argument,
        f"`{argument}` is {dtype_name(facts.dtype)} with reduction={reduction!r}; expected a floating dtype",
        explanation=(
            f"{ctx.loss.name} computes element-wise on integer inputs, but the mean of an integer tensor "
            "has no dtype: torch raises 'mean(): could not infer output dtype'. An integer "
            "prediction cannot carry gradients in any case."
        ),
        fix=f"{argument}.float()",
        observed=facts.summary,
        expected="float32 (or another floating dtype)",
        torch_raises=True,
    )


@check("integer_margin_overflow")
def integer_margin_overflow(ctx: CallContext) -> None:
    """HingeEmbeddingLoss computes margin - input in the input's dtype: with an integer input the margin
    must fit that dtype (a negative margin and a uint8 distance overflow)."""
    facts = ctx.fact("input")
    margin = ctx.config.get("margin")
    if facts is None or not facts.is_integral or isinstance(margin, bool) or not isinstance(margin, (int, float)):
        return
    info = torch.iinfo(facts.dtype)
    if info.min <= margin <= info.max:
        return
    ctx.emit(
        "LL004",
        "margin",
        f"`margin` is {margin}, which {dtype_name(facts.dtype)} cannot hold; `input` is {facts.summary}",
        explanation=(
            f"{ctx.loss.name} computes max(0, margin - input) in the input's dtype, so torch converts the margin "
            f"to {dtype_name(facts.dtype)} and raises 'value cannot be converted to type ... without overflow'."
        ),
        fix="input.float() (distances are real numbers)",
        observed=f"margin={margin}, input {facts.summary}",
        expected=f"a floating input, or a margin in [{info.min}, {info.max}]",
        torch_raises=True,
    )


@check("complex_target_real_input")
def complex_target_real_input(ctx: CallContext) -> None:
    """SoftMarginLoss writes into a tensor of the input's dtype: a complex target cannot be cast into it."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or not tgt.is_complex or inp.is_complex:
        return
    ctx.emit(
        "LL106",
        "target",
        f"`target` is {dtype_name(tgt.dtype)} while `input` is {dtype_name(inp.dtype)}; expected a real target",
        explanation=(
            "soft_margin_loss computes into a tensor of the input's dtype; torch raises "
            f"'result type {scalar_type_name(tgt.dtype)} can't be cast to the desired output type {scalar_type_name(inp.dtype)}'."
        ),
        fix="target.real",
        observed=f"input {inp.summary}, target {tgt.summary}",
        expected=f"a real target, e.g. {dtype_name(inp.dtype)}",
        torch_raises=True,
    )


@check("cpu_float_kernel")
def cpu_float_kernel(ctx: CallContext, kernel: str, argument: str = "input") -> None:
    """MultiMargin and MultiLabelMargin have float32/float64 CPU kernels only.

    Their CUDA kernels also take float16 and bfloat16 (AT_DISPATCH_FLOATING_TYPES_AND2), so a half
    input raises only on the CPU.
    """
    facts = ctx.fact(argument)
    tensor = ctx.tensor(argument)
    if facts is None or tensor is None or tensor.device.type != "cpu":
        return
    if facts.dtype not in (torch.float16, torch.bfloat16):
        return
    ctx.emit(
        "LL101",
        argument,
        f"`{argument}` is {dtype_name(facts.dtype)} on the CPU; expected float32 or float64",
        explanation=(
            f"torch implements {kernel} on the CPU for float32 and float64 only and raises "
            f"'\"{kernel}\" not implemented for {scalar_type_name(facts.dtype)!r}'. The CUDA kernel accepts "
            "float16 and bfloat16."
        ),
        fix="loss(input.float(), target)  # or compute the loss on the GPU",
        observed=facts.summary,
        expected="float32 or float64 on the CPU",
        torch_raises=True,
    )


@check("bool_signed_labels")
def bool_signed_labels(ctx: CallContext, argument: str = "target") -> None:
    """MarginRankingLoss negates its target; torch rejects `-` on a bool tensor.

    Replaces the generic dtype finding, whose `.long()` fix would turn the mask into {0, 1} labels.
    """
    facts = ctx.fact(argument)
    if facts is None or not facts.is_bool:
        return
    ctx.emit(
        "LL101",
        argument,
        f"`{argument}` is bool; expected ±1 labels in a floating or integer dtype",
        explanation=(
            f"{ctx.loss.name} computes max(0, -y * (x1 - x2) + margin); torch raises 'Negation, the `-` "
            "operator, on a bool tensor is not supported'. Casting is not enough: False would become 0, "
            "a label that makes the term a constant."
        ),
        fix=f"2 * {argument}.float() - 1  # True -> 1, False -> -1",
        observed=facts.summary,
        expected="float32 or int64 values in {-1, 1}",
        torch_raises=True,
        replaces=("LL101",),
    )


def _default_distance(ctx: CallContext) -> bool:
    """Whether TripletMarginWithDistanceLoss measures with a pairwise distance: F.pairwise_distance when
    the functional gets None, an nn.PairwiseDistance() that the module stores when none was given (or
    one the user passed, any p): all subtract and broadcast the same way."""
    fn = ctx.config.get("distance_function")
    return (
        fn is None
        or fn is torch.nn.functional.pairwise_distance
        or type(fn) is torch.nn.PairwiseDistance
    )


@check("distance_function_output")
def distance_function_output(ctx: CallContext, rows: int = 2) -> None:
    """A custom distance must return a tensor: torch computes clamp_min(margin + d(a, p) - d(a, n), 0),
    and torch.clamp_min rejects a Python number (a distance ending in .item()).

    Only where values are read: the function is the user's code, so it is called once on copies of the
    first `rows` rows of anchor and positive, without autograd, and only its result's type is kept.
    """
    fn = ctx.config.get("distance_function")
    if fn is None or _default_distance(ctx) or not callable(fn) or not ctx.read_values:
        return
    anchor, positive = ctx.tensor("anchor"), ctx.tensor("positive")
    if anchor is None or positive is None or anchor.is_meta or positive.is_meta:
        return
    a = anchor.detach()[:rows].clone() if anchor.ndim >= 2 else anchor.detach().clone()
    p = positive.detach()[:rows].clone() if positive.ndim >= 2 else positive.detach().clone()
    try:
        with torch.no_grad():
            out = fn(a, p)
    except Exception:  # noqa: BLE001 - on a slice it may fail where the whole batch would not
        return
    if isinstance(out, torch.Tensor) or not isinstance(out, numbers.Number):
        return
    name = getattr(fn, "__name__", type(fn).__name__)
    ctx.emit(
        "LL002",
        "distance_function",
        f"`distance_function` {name} returns a Python {type(out).__name__}; expected a tensor of distances",
        explanation=(
            f"{ctx.loss.name} computes torch.clamp_min(margin + d(anchor, positive) - d(anchor, negative), 0), "
            "and torch.clamp_min raises a TypeError for a Python number. A distance reduced with .item() also "
            "loses its gradient, so nothing would train."
        ),
        fix="return the distances as a tensor, one per sample (drop .item() and any reduction over the batch)",
        observed=f"{name}(anchor[:{rows}], positive[:{rows}]) -> {type(out).__name__}",
        expected="a tensor of shape (N,)",
        torch_raises=True,
    )


@check("no_bool_operands")
def no_bool_operands(ctx: CallContext, arguments: list[str], only_default_distance: bool = False) -> None:
    """The triplet losses subtract their arguments; torch rejects subtraction with a bool tensor."""
    if only_default_distance and not _default_distance(ctx):
        return  # a custom distance decides for itself what it accepts
    for name in arguments:
        facts = ctx.fact(name)
        if facts is None or not facts.is_bool:
            continue
        ctx.emit(
            "LL101",
            name,
            f"`{name}` is bool; expected a floating embedding",
            explanation=(
                f"{ctx.loss.name} measures distances by subtracting embeddings; torch raises "
                "'Subtraction, the `-` operator, with a bool tensor is not supported'."
            ),
            fix=f"{name}.float()",
            observed=facts.summary,
            expected="a floating tensor",
            torch_raises=True,
        )


# ---- configuration ------------------------------------------------------------------------------------


@check("positive_margin")
def positive_margin(ctx: CallContext, config: str = "margin") -> None:
    """The triplet losses reject margin <= 0 (torch: nn at construction, F at the call).

    Written as a check rather than a `range` so that it mirrors torch's own `margin <= 0` test
    exactly: a NaN margin passes torch's test (and yields NaN), so it is not predicted to raise.
    """
    value = ctx.config.get(config)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if not isinstance(value, (int, float)) or not value <= 0:
        return
    ctx.emit(
        "LL004",
        config,
        f"`{config}` is {value!r}; expected a value > 0",
        explanation=(
            f"torch raises 'margin must be greater than 0, got {value}' ({ctx.loss.name} raises it when "
            "the module is built). With margin 0 every triplet with d(a, p) <= d(a, n) costs nothing, "
            "which a collapsed embedding satisfies."
        ),
        fix=f"{config}=1.0  # a positive margin on the scale of the distances",
        observed=repr(value),
        expected="> 0",
        torch_raises=True,
    )


# ---- shapes: arguments that broadcast -----------------------------------------------------------------


def _shape(facts: TensorFacts) -> str:
    return str(tuple(facts.shape))


@check("same_ndim_broadcast")
def same_ndim_broadcast(
    ctx: CallContext,
    arguments: list[str],
    fix: str = "",
    only_default_distance: bool = False,
    pairwise: bool = False,
) -> None:
    """MarginRanking and the triplet losses: the same number of dimensions, then broadcasting.

    torch checks that every argument has the same ndim (MarginRanking: 'All input tensors
    should have same dimension'; triplet: 'expected to have the same number of dimensions') and then
    broadcasts them silently. A broadcast that makes the result larger than every argument pairs each
    sample with every other one (LL205).
    only_default_distance: TripletMarginWithDistanceLoss hands the tensors to a custom distance
    function, which decides itself how they combine; only the ndim check is torch's own.
    pairwise: the triplet losses never broadcast all three together: they compute
    d(anchor, positive) and d(anchor, negative) (and d(positive, negative) with swap=True), each over the
    last dim, and then combine the distances. Shapes that fail jointly can pass that way.
    """
    facts = [(name, ctx.fact(name)) for name in arguments]
    if any(f is None for _, f in facts):
        return
    ndims = [f.ndim for _, f in facts]  # type: ignore[union-attr]
    if len(set(ndims)) > 1:
        _emit_ndim_mismatch(ctx, facts, fix)  # type: ignore[arg-type]
        return
    if only_default_distance and not _default_distance(ctx):
        return
    joint: tuple[int, ...] = facts[0][1].shape  # type: ignore[union-attr]
    for i, (name, f) in enumerate(facts[1:], start=1):
        new = broadcast_shape(joint, f.shape)  # type: ignore[union-attr]
        if new is None and pairwise and _distances_broadcast(ctx, facts):  # type: ignore[arg-type]
            return
        if new is None:
            others = ", ".join(f"`{n}` {_shape(g)}" for n, g in facts[:i])  # type: ignore[arg-type]
            ctx.emit(
                "LL201",
                name,
                f"`{name}` has shape {_shape(f)}, which does not broadcast with {others}",  # type: ignore[arg-type]
                explanation=(
                    f"{ctx.loss.name} combines its arguments element-wise; torch raises 'The size of tensor a "
                    "(...) must match the size of tensor b (...) at non-singleton dimension'."
                ),
                fix=f"give `{name}` the shape {tuple(joint)} (the same batch size and feature size as the others)",
                observed=", ".join(f"{n} {g.summary}" for n, g in facts),  # type: ignore[union-attr]
                expected=f"shapes that broadcast, normally all {tuple(joint)}",
                torch_raises=True,
            )
            return
        joint = new
    largest = max(f.numel for _, f in facts)  # type: ignore[union-attr]
    if math.prod(joint) <= largest:
        return
    # Blame the argument whose shape differs from the most common one (the odd one out).
    counts: dict[tuple[int, ...], int] = {}
    for _, g in facts:
        counts[g.shape] = counts.get(g.shape, 0) + 1  # type: ignore[union-attr]
    common = max(counts, key=lambda s: (counts[s], math.prod(s)))
    name, odd = next(((n, g) for n, g in reversed(facts) if g.shape != common), facts[-1])  # type: ignore[union-attr]
    if odd.numel == math.prod(common):  # type: ignore[union-attr]
        fix = f"{name}.reshape{common}  # one shape for all, if the elements correspond"
    else:
        fix = f"give every argument the same shape (normally {common}), e.g. squeeze a size-1 dimension with .squeeze(-1)"
    shapes = ", ".join(f"`{n}` {_shape(g)}" for n, g in facts)  # type: ignore[arg-type]
    ctx.emit(
        "LL205",
        name,
        f"{shapes} broadcast to {tuple(joint)}, comparing every sample with every other one",
        explanation=(
            f"torch broadcasts the arguments of {ctx.loss.name} silently: the result has {math.prod(joint)} "
            f"terms instead of {largest}, one for each pairing of rows that were meant to be compared "
            "one to one. The loss trains, on the wrong objective."
        ),
        fix=fix,
        observed=", ".join(f"{n} {g.summary}" for n, g in facts),  # type: ignore[union-attr]
        expected=f"one shape for all of {', '.join(f'`{n}`' for n, _ in facts)}",
    )


def _distances_broadcast(ctx: CallContext, facts: list[tuple[str, TensorFacts]]) -> bool:
    """Whether torch's pairwise distances of a triplet call, and then the distances, broadcast."""
    shapes = [f.shape for _, f in facts]
    if any(len(s) == 0 for s in shapes):
        return False
    pairs = [(0, 1), (0, 2)] + ([(1, 2)] if ctx.config.get("swap") else [])
    distances: tuple[int, ...] | None = ()
    for i, j in pairs:
        pair = broadcast_shape(shapes[i], shapes[j])
        if pair is None:
            return False
        distances = broadcast_shape(distances, pair[:-1]) if distances is not None else None
    return distances is not None


def _emit_ndim_mismatch(ctx: CallContext, facts: list[tuple[str, TensorFacts]], fix: str) -> None:
    counts: dict[int, int] = {}
    for _, f in facts:
        counts[f.ndim] = counts.get(f.ndim, 0) + 1
    majority = max(counts, key=lambda n: (counts[n], n))
    odd_name, odd = next((n, f) for n, f in reversed(facts) if f.ndim != majority)
    others = [(n, f) for n, f in facts if f.ndim == majority]
    other_names = " and ".join(f"`{n}`" for n, _ in others)
    shapes = {f.shape for _, f in others}
    if len(shapes) == 1 and majority == odd.ndim + 1:
        shape = next(iter(shapes))
        if shape[-1] == 1 and shape[:-1] == odd.shape:
            fix = ", ".join(f"{n}.squeeze(-1)" for n, _ in others) + f"  # {other_names} to {_shape(odd)}"
    ctx.emit(
        "LL201",
        odd_name,
        f"`{odd_name}` has {odd.ndim} dimension{'s' if odd.ndim != 1 else ''} {_shape(odd)} while {other_names} "
        f"{'has' if len(others) == 1 else 'have'} {majority}; expected the same number of dimensions",
        explanation=(
            f"{ctx.loss.name} requires all of {', '.join(f'`{n}`' for n, _ in facts)} to have the same number of "
            "dimensions and raises otherwise (torch: "
            + (
                "'margin_ranking_loss : All input tensors should have same dimension')."
                if ctx.loss.name == "MarginRankingLoss"
                else "'The anchor, positive, and negative tensors are expected to have the same number of dimensions')."
            )
        ),
        fix=fix or f"give `{odd_name}` {majority} dimensions like {other_names}",
        observed=", ".join(f"{n} {f.summary}" for n, f in facts),
        expected=f"{majority}-d tensors for all",
        torch_raises=True,
    )


@check("soft_margin_shapes")
def soft_margin_shapes(ctx: CallContext) -> None:
    """SoftMarginLoss computes into a tensor of the input's shape.

    A target that broadcasts *into* the input's shape is accepted without a warning (LL205: each
    label is reused for several scores); one that makes the broadcast larger than the input raises
    'output with shape [...] doesn't match the broadcast shape [...]', even a (1,) target against a
    0-d input.
    """
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or inp.shape == tgt.shape:
        return
    joint = broadcast_shape(inp.shape, tgt.shape)
    if joint is not None and joint != inp.shape:
        ctx.emit(
            "LL201",
            "target",
            f"`target` has shape {_shape(tgt)} and `input` {_shape(inp)}; they broadcast to {joint}, larger than `input`",
            explanation=(
                "soft_margin_loss writes its result into a tensor of the input's shape; torch raises "
                f"'output with shape {list(inp.shape)} doesn't match the broadcast shape {list(joint)}'."
            ),
            fix=_squeeze_fix(inp.shape, tgt.shape),
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"target of shape {list(inp.shape)}",
            torch_raises=True,
        )
        return
    if joint is None:
        elementwise_shapes(ctx)  # the shapes do not broadcast: LL201, torch raises
        return
    if tgt.numel == inp.numel:
        return  # the same elements, only size-1 dimensions differ: they pair up one to one
    reuse = inp.numel // max(tgt.numel, 1)
    ctx.emit(
        "LL205",
        "target",
        f"`target` has shape {_shape(tgt)} and `input` {_shape(inp)}; each label is reused for {reuse} scores",
        explanation=(
            "SoftMarginLoss is element-wise and expects one ±1 label per score. torch broadcasts a "
            "smaller target into the input's shape without a warning (MSELoss at least warns), so "
            f"{tgt.numel} labels are spread over {inp.numel} scores. A column of per-sample labels against "
            "per-class scores is the usual cause."
        ),
        fix="target.expand_as(input)  # only if each label really applies to all those scores; else one label per score",
        observed=f"input {inp.summary}, target {tgt.summary}",
        expected=f"target of shape {list(inp.shape)}",
    )


def _squeeze_fix(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    if len(a) == len(b) + 1 and a[-1] == 1 and a[:-1] == b:
        return "input.squeeze(-1)"
    if len(b) == len(a) + 1 and b[-1] == 1 and b[:-1] == a:
        return "target.squeeze(-1)"
    return f"give `target` exactly the input's shape {list(a)}"


@check("cosine_shapes")
def cosine_shapes(ctx: CallContext) -> None:
    """CosineEmbeddingLoss: (N, D) pairs with an (N,) target, or (D,) with a 0-d target.

    torch checks the target's ndim first ('0D or 1D target tensor expected, multi-target not
    supported'), then that the inputs have ndim target.ndim + 1, then broadcasts: (1, D) against
    (N, D) and a (1,) target are accepted.
    """
    x1, x2, y = ctx.fact("input1"), ctx.fact("input2"), ctx.fact("target")
    if x1 is None or x2 is None or y is None:
        return
    observed = f"input1 {x1.summary}, input2 {x2.summary}, target {y.summary}"
    if y.ndim > 1:
        squeezed = tuple(d for d in y.shape if d != 1)
        singleton = y.ndim == 2 and 1 in y.shape and len(squeezed) <= 1
        ctx.emit(
            "LL203" if singleton else "LL201",
            "target",
            f"`target` has shape {_shape(y)}"
            + (", with an extra dimension of size 1" if singleton else "")
            + f"; expected one label per pair, shape {squeezed if singleton else '(N,)'}",
            explanation="torch raises '0D or 1D target tensor expected, multi-target not supported'.",
            fix="target.flatten()" if singleton else "give `target` one ±1 label per pair, shape (N,)",
            observed=observed,
            expected="target of shape (N,) with (N, D) inputs, or 0-d with (D,) inputs",
            torch_raises=True,
        )
        return
    need = y.ndim + 1
    wrong = [(n, f) for n, f in (("input1", x1), ("input2", x2)) if f.ndim != need]
    if wrong:
        if y.ndim == 0 and x1.ndim == x2.ndim == 2:
            name, message, fix = (
                "target",
                f"`target` is 0-d while the inputs are batches {_shape(x1)}, {_shape(x2)}; expected one label per pair, shape ({x1.shape[0]},)",
                f"target.expand({x1.shape[0]})  # or torch.full(({x1.shape[0]},), y)",
            )
        elif y.ndim == 1 and x1.ndim == x2.ndim == 1:
            name, message, fix = (
                "target",
                f"`target` has shape {_shape(y)} while the inputs are single vectors {_shape(x1)}; expected a 0-d target",
                "target.squeeze(0)  # or batch the pair: input1.unsqueeze(0), input2.unsqueeze(0)",
            )
        else:
            name, f = wrong[0]
            message = (
                f"`{name}` has {f.ndim} dimensions {_shape(f)}; expected {need} "
                f"({'(N, D)' if need == 2 else '(D,)'}) with a {y.ndim}-d target"
            )
            fix = "give both inputs the shape (N, D) and the target (N,)"
        ctx.emit(
            "LL201",
            name,
            message,
            explanation=(
                "torch raises "
                + ("'1D target tensor expects 2D input tensors'" if y.ndim == 1 else "'0D target tensor expects 1D input tensors'")
                + ": CosineEmbeddingLoss takes (N, D) pairs with an (N,) target, or one (D,) pair with a 0-d target."
            ),
            fix=fix,
            observed=observed,
            expected="(N, D), (N, D), (N,) or (D,), (D,), ()",
            torch_raises=True,
        )
        return
    joint = broadcast_shape(x1.shape, x2.shape)
    if joint is None:
        ctx.emit(
            "LL201",
            "input2",
            f"`input2` has shape {_shape(x2)}, which does not broadcast with `input1` {_shape(x1)}",
            explanation="torch multiplies the inputs element-wise and raises 'The size of tensor a (...) must match the size of tensor b (...)'.",
            fix="give both inputs the same shape (N, D): the same batch size and embedding size",
            observed=observed,
            expected=f"input2 of shape {list(x1.shape)}",
            torch_raises=True,
        )
        return
    if y.ndim == 1 and broadcast_shape(joint[:1], y.shape) is None:
        ctx.emit(
            "LL207",
            "target",
            f"`target` has {y.shape[0]} labels; the inputs hold {joint[0]} pairs",
            explanation="torch raises 'The size of tensor a (...) must match the size of tensor b (...) at non-singleton dimension 0'.",
            fix="build the target from the same batch as the inputs (check drop_last / the last partial batch)",
            observed=observed,
            expected=f"target of shape ({joint[0]},)",
            torch_raises=True,
        )


# ---- MultiMarginLoss ------------------------------------------------------------------------------------


def _non_empty_classes(ctx: CallContext, op: str) -> bool:
    """MultiMargin / MultiLabelMargin take 0-d, (C,) or (N, C) input with C > 0."""
    inp = ctx.fact("input")
    if inp is None:
        return False
    if inp.ndim <= 2 and (inp.ndim == 0 or inp.shape[-1] != 0):
        return True
    ctx.emit(
        "LL201",
        "input",
        f"`input` has shape {_shape(inp)}; expected (N, C) or (C,) with C > 0",
        explanation=(
            f"{ctx.loss.name} scores each sample against C classes; torch raises 'Expected non-empty "
            f"vector or matrix with optional 0-dim batch size, but got: {list(inp.shape)}' ({op})."
        ),
        fix=(
            "no spatial form: score each position as a sample, input.movedim(1, -1).flatten(0, -2) with target.flatten()"
            if inp.ndim > 2
            else "give `input` at least one class"
        ),
        observed=inp.summary,
        expected="(N, C) or (C,) with C > 0",
        torch_raises=True,
    )
    return False


@check("multi_margin_shapes")
def multi_margin_shapes(ctx: CallContext) -> None:
    """Input (N, C) and a target of N class indices ((C,) input: a 0-d or (1,) target).

    torch checks `target.dim() <= 1 and target.numel() == N` and names neither the classic
    one-hot (N, C) target nor the (N, 1) column.
    """
    if not _non_empty_classes(ctx, "multi_margin_loss") or ctx.format is not None:
        return
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    n = inp.shape[0] if inp.ndim == 2 else 1
    # The wording changed between releases ('inconsistent target size, expected N but got ...' in
    # older ones): say what torch checks, not how it phrases it.
    torch_message = (
        f"torch raises a target-size error: it expects a 1-D target of {n} class indices (the batch size), "
        f"and got {list(tgt.shape)}."
    )
    observed = f"input {inp.summary}, target {tgt.summary}"
    if tgt.ndim == 2 and tgt.shape == inp.shape:
        rows = _one_hot_rows(ctx, "target")
        if rows is not None:
            kind = "one-hot" if rows.one_hot else "multi-hot"
            ctx.emit(
                "LL202",
                "target",
                f"`target` looks {kind} ({tgt.summary}, values {{0, 1}}); expected {n} class indices, shape ({n},)",
                explanation=torch_message + (
                    " MultiMarginLoss takes one class index per sample."
                    if rows.one_hot
                    else " Rows with several 1s are a multi-label target, which MultiMarginLoss cannot express."
                ),
                fix="target.argmax(dim=1)" if rows.one_hot else "nn.MultiLabelSoftMarginLoss()(input, target.float())  # multi-label",
                observed=f"{tgt.summary}, {rows.ones_min}..{rows.ones_max} ones per row",
                expected=f"int64[{n}] class indices",
                torch_raises=True,
                confidence="strong",
                # A float one-hot target also has the wrong dtype; argmax fixes both.
                replaces=("LL102",),
            )
            return
    if tgt.ndim == 2 and tgt.shape == (n, 1):
        ctx.emit(
            "LL203",
            "target",
            f"`target` has shape {_shape(tgt)}, with an extra dimension of size 1; expected ({n},)",
            explanation=torch_message,
            fix="target.squeeze(1)",
            observed=observed,
            expected=f"int64[{n}]",
            torch_raises=True,
        )
        return
    if tgt.ndim == 1:
        ctx.emit(
            "LL207",
            "target",
            f"`target` has {tgt.shape[0]} class indices; `input` has {n} sample{'s' if n != 1 else ''}",
            explanation=torch_message,
            fix="build the target from the same batch as the input (check drop_last / the last partial batch)",
            observed=observed,
            expected=f"int64[{n}]",
            torch_raises=True,
        )
        return
    ctx.emit(
        "LL201",
        "target",
        f"`target` has shape {_shape(tgt)}; expected ({n},), one class index per sample",
        explanation=torch_message,
        fix=f"give `target` the shape ({n},): one int64 class index per row of `input`",
        observed=observed,
        expected=f"int64[{n}]",
        torch_raises=True,
    )


@check("multi_margin_weight")
def multi_margin_weight(ctx: CallContext, config: str = "weight") -> None:
    """A 1-D weight of C entries in the input's dtype (a 0-d input counts as C = 1)."""
    weight = ctx.config.get(config)
    inp = ctx.fact("input")
    if not isinstance(weight, torch.Tensor) or inp is None or inp.ndim > 2:
        return
    classes = 1 if inp.ndim == 0 else inp.shape[-1]
    shape = tuple(weight.shape)
    observed = f"{dtype_name(weight.dtype)}{list(shape)}"
    if weight.ndim != 1 or shape[0] != classes:
        torch_says = (
            "F.multi_margin_loss raises 'weight must be one-dimensional' (nn.MultiMarginLoss refuses it when built)"
            if weight.ndim != 1
            else f"torch raises 'inconsistent weight size, expected {classes} but got {list(shape)}'"
        )
        ctx.emit(
            "LL206",
            config,
            f"`{config}` has shape {shape}; expected ({classes},), one weight per class",
            explanation=f"{torch_says}.",
            fix=f"a weight of {classes} entries, e.g. torch.ones({classes})" if weight.ndim == 1 else f"{config}.flatten()" if weight.numel() == classes else f"torch.ones({classes})",
            observed=observed,
            expected=f"[{classes}]",
            torch_raises=True,
        )
    elif inp.is_floating and weight.dtype != inp.dtype:
        ctx.emit(
            "LL106",
            config,
            f"`{config}` is {dtype_name(weight.dtype)}; expected {dtype_name(inp.dtype)}, the input's dtype",
            explanation=f"torch raises 'expected scalar type {scalar_type_name(inp.dtype)} but found {scalar_type_name(weight.dtype)}'.",
            fix=f"{config}.to(input.dtype)",
            observed=observed,
            expected=dtype_name(inp.dtype),
            torch_raises=True,
        )


# ---- MultiLabelMarginLoss -------------------------------------------------------------------------------


@check("multilabel_margin_shapes")
def multilabel_margin_shapes(ctx: CallContext) -> None:
    """The target has the input's shape: one row of class indices, padded with -1, per sample."""
    if not _non_empty_classes(ctx, "multilabel_margin_loss") or ctx.format is not None:
        return
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    observed = f"input {inp.summary}, target {tgt.summary}"
    torch_message = (
        f"torch raises 'inconsistent target size: {list(tgt.shape)} for input of size: {list(inp.shape)}': "
        "MultiLabelMarginLoss wants a target of the input's shape, each row the sample's class indices "
        "followed by -1 padding."
    )
    if inp.ndim == 2 and tgt.ndim == 1 and tgt.shape[0] == inp.shape[0]:
        ctx.emit(
            "LL201",
            "target",
            f"`target` holds one class index per sample {_shape(tgt)}; expected index lists of the input's shape {_shape(inp)}",
            explanation=torch_message,
            fix=(
                f"torch.cat([target[:, None], target.new_full(({inp.shape[0]}, {inp.shape[1] - 1}), -1)], dim=1)  "
                "# or nn.MultiMarginLoss() / nn.CrossEntropyLoss() for one label per sample"
            ),
            observed=observed,
            expected=f"int64{list(inp.shape)}",
            torch_raises=True,
        )
        return
    ctx.emit(
        "LL201",
        "target",
        f"`target` has shape {_shape(tgt)}; expected the input's shape {_shape(inp)}",
        explanation=torch_message,
        fix=f"give `target` the shape {list(inp.shape)}: per row, the positive class indices, then -1s",
        observed=observed,
        expected=f"int64{list(inp.shape)}",
        torch_raises=True,
    )


@check("multilabel_index_lists")
def multilabel_index_lists(ctx: CallContext) -> None:
    """Rows of class indices, each list ended by the first -1 (later entries are ignored).

    Range (LL401): torch on the CPU range-checks the *whole* target against [-1, C), including
    the entries after a row's first -1 that the loss then ignores ("argument #2 'target' is out of
    range"). The CUDA kernel checks nothing: an index >= C before the first -1 reads out of bounds,
    and anything after it is ignored.
    Multi-hot rows (LL406): a row whose indices before the first -1 are all 0s and 1s and repeat is a
    0/1 indicator row, which torch silently reads as the classes 0 and 1. A correct index list such
    as [1, 0, -1, -1] has no repeats and is not flagged.
    """
    facts = ctx.values("target")
    inp = ctx.fact("input")
    if facts is None or inp is None or facts.is_complex or facts.is_bool:
        return
    classes = 1 if inp.ndim == 0 else inp.shape[-1]
    data = ctx.args["target"].detach()
    if data.numel() % max(classes, 1) != 0 or classes == 0:
        return
    rows = data.reshape(-1, classes)
    before = (rows == -1).to(torch.int64).cumsum(dim=1) == 0  # entries before each row's first -1
    if facts.dtype == torch.int64:
        _index_range(ctx, facts, rows, before, classes)
    _multi_hot_rows(ctx, facts, rows, before)


def _index_range(ctx: CallContext, facts: TensorFacts, rows: torch.Tensor, before: torch.Tensor, classes: int) -> None:
    bad = (rows < -1) | (rows >= classes)
    if not bool(bad.any()):
        return
    on_cpu = ctx.args["target"].device.type == "cpu"
    bad_before = bad & before
    if not on_cpu and not bool(bad_before.any()):
        values = torch.unique(rows[bad])
        shown = ", ".join(str(v) for v in values[:5].tolist()) + (", ..." if values.numel() > 5 else "")
        ctx.emit(
            "LL401",
            "target",
            f"`target` has values outside [-1, {classes}) after a row's first -1: {shown}; ignored on "
            f"{ctx.args['target'].device.type}, rejected on the CPU",
            explanation=(
                "The CUDA kernel of torch stops reading a row at its first -1, so these entries are "
                "ignored; the CPU kernel range-checks the whole target and raises \"argument #2 'target' is "
                "out of range\". Pad with -1 so the call works on both."
            ),
            fix=f"target.masked_fill((target < -1) | (target >= {classes}), -1)",
            observed=f"{facts.summary}, after the first -1: {shown}",
            expected=f"values in [-1, {classes})",
            severity="warning",
        )
        return
    shown_mask = bad if on_cpu else bad_before
    values = torch.unique(rows[shown_mask])
    count = int(shown_mask.sum())
    shown = ", ".join(str(v) for v in values[:5].tolist()) + (", ..." if values.numel() > 5 else "")
    only_after = on_cpu and not bool(bad_before.any())
    if only_after:
        they = "they follow" if count != 1 else "it follows"
        them = "them" if count != 1 else "it"
        tail = f"; {they} a row's first -1, where the loss ignores {them}, but torch still range-checks {them}"
        fix = f"target.masked_fill((target < -1) | (target >= {classes}), -1)  # pad with -1"
    else:
        tail = f"; class indices run from 0 to C-1 = {classes - 1}, and -1 ends a row's list"
        fix = f"map the labels to 0..{classes - 1} and pad each row with -1"
    if on_cpu:
        explanation = (
            "torch raises \"argument #2 'target' is out of range\" on the CPU: it checks every entry of "
            "the target against [-1, C), also the entries after a row's first -1 that the loss ignores."
        )
    else:
        explanation = (
            "The CUDA kernel of torch does not range-check the target: an index >= C (or < -1) before "
            "a row's first -1 reads memory outside the row, so the loss is meaningless. The CPU raises "
            "\"argument #2 'target' is out of range\"."
        )
    ctx.emit(
        "LL401",
        "target",
        f"`target` has {count} value{'s' if count != 1 else ''} outside [-1, {classes}): {shown}{tail}",
        explanation=explanation,
        fix=fix,
        observed=f"{facts.summary}, values outside the domain: {shown}",
        expected=f"values in [-1, {classes})",
        torch_raises=on_cpu,
    )


def _multi_hot_rows(ctx: CallContext, facts: TensorFacts, rows: torch.Tensor, before: torch.Tensor) -> None:
    zeros = ((rows == 0) & before).sum(dim=1)
    ones = ((rows == 1) & before).sum(dim=1)
    others = (before & (rows != 0) & (rows != 1)).sum(dim=1)
    multi = (others == 0) & ((zeros > 1) | (ones > 1))
    count = int(multi.sum())
    if count == 0:
        return
    example = rows[multi.nonzero()[0, 0]]
    shown = example[:6].tolist()
    shown_text = "[" + ", ".join(str(int(v)) for v in shown) + (", ...]" if example.numel() > 6 else "]")
    total = rows.shape[0]
    ctx.emit(
        "LL406",
        "target",
        f"`target` looks multi-hot: {count} of {total} row{'s' if total != 1 else ''} hold only repeated 0s and 1s "
        f"before any -1 (e.g. {shown_text}); expected class indices padded with -1",
        explanation=(
            "MultiLabelMarginLoss reads each row as a list of class indices that ends at the first -1, so a "
            "0/1 indicator row means 'classes 0 and 1' whatever its ones marked, and torch accepts it "
            "silently. A row that names the same class twice is not an index list."
        ),
        fix=(
            "nn.MultiLabelSoftMarginLoss()(input, target.float())  # takes 0/1 rows; or write index lists: "
            "the positive classes first, then -1, e.g. [3, 0, -1, -1]"
        ),
        observed=f"{facts.summary}, {count} rows of repeated 0s and 1s",
        expected="rows of distinct class indices followed by -1 padding",
        confidence="strong",
    )


@check("target_not_differentiable")
def target_not_differentiable(ctx: CallContext, argument: str = "target") -> None:
    """SoftMarginLoss has no derivative for its target: torch raises when it requires grad."""
    value = ctx.tensor(argument)
    if value is None or not value.requires_grad or not ctx.grad_enabled:
        return
    ctx.emit(
        "LL007",
        argument,
        f"`{argument}` requires grad; {ctx.loss.name} is not differentiable with respect to its target",
        explanation=(
            f"torch raises 'the function {ctx.loss.functional.__name__ if ctx.loss.functional else ctx.loss.name} is not "
            f"differentiable with respect to argument {argument}' when autograd is on. A target usually comes "
            "from data; one that requires grad came out of another model or a computation that kept its graph."
        ),
        fix=f"{argument}.detach()",
        observed=f"{ctx.fact(argument).summary if ctx.fact(argument) else 'tensor'}, requires_grad=True",
        expected="a target without grad",
        torch_raises=True,
    )


# ---- HingeEmbeddingLoss ------------------------------------------------------------------------------


@check("distance_input")
def distance_input(ctx: CallContext, argument: str = "input") -> None:
    facts = ctx.values(argument)
    sample = finite_float_sample(facts)
    if sample is None:
        return
    lo, hi = float(sample.min()), float(sample.max())
    if lo >= -1e-4 * max(1.0, abs(hi)):
        return
    negative = int((sample < 0).sum())
    ctx.emit(
        "LL316",
        argument,
        f"`{argument}` has {negative} negative values (down to {lo:.3g}, {sample.numel()} read): "
        f"{ctx.loss.name} expects distances (>= 0)",
        explanation=(
            f"{ctx.loss.name} adds x for similar pairs (y = 1) and max(0, margin - x) for dissimilar ones: for a "
            "negative x the loss of a similar pair is negative and unbounded below, so the model learns to push "
            "similar pairs' scores to -inf. Classifier logits or cosine similarities are not distances."
        ),
        fix="pass a distance: torch.norm(a - b, dim=1) or 1 - F.cosine_similarity(a, b) "
        "(or use nn.CosineEmbeddingLoss on the embeddings)",
        observed=f"{facts.summary}, min {lo:.3g}",
        expected="distances >= 0",
        confidence="certain",
    )


# ---- MultiLabelMarginLoss ----------------------------------------------------------------------------


@check("index_list_zero_padding")
def index_list_zero_padding(ctx: CallContext) -> None:
    facts = ctx.values("target")
    if facts is None or facts.ndim != 2 or facts.is_floating or ctx.has("LL406") or ctx.torch_raises:
        return
    t = facts.sample_rows(0)
    if t is None or t.shape[1] < 3:
        return
    # Each row up to its first -1: what torch reads.
    stop = (t == -1).to(torch.int64).cumsum(dim=1) > 0
    zeros = ((t == 0) & ~stop).sum(dim=1)
    trailing = torch.flip((t == 0), dims=[1]).to(torch.int64).cumprod(dim=1).sum(dim=1)
    rows = int(((zeros >= 2) & (trailing >= 2)).sum())
    if rows == 0:
        return
    ctx.emit(
        "LL415",
        "target",
        f"`target` has {rows} row{'s' if rows > 1 else ''} that end in repeated 0s before any -1 "
        f"({facts.summary}): padded with 0 instead of -1, so class 0 is read as a positive",
        explanation=(
            f"{ctx.loss.name} reads each row's class indices up to the first -1. A row like [3, 1, 0, 0] lists "
            "class 0 as a positive label (three times), so every sample is trained to score class 0 high."
        ),
        fix="pad with -1: target.masked_fill(padding_mask, -1), e.g. [3, 1, -1, -1]",
        observed=f"{facts.summary}, {rows} rows with trailing repeated 0s",
        expected="class indices followed by -1 padding",
        confidence="strong",
    )
