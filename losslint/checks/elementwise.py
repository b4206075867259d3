"""Checks shared by the element-wise losses (MSE, L1, SmoothL1, Huber, SoftMargin, the BCE family,
PoissonNLL, GaussianNLL, KLDiv, MultiLabelSoftMargin): input and target must have the same shape."""

from __future__ import annotations

import math

from ..judging.context import CallContext
from ..language.shapes import broadcast_shape
from . import check


@check("elementwise_shapes")
def elementwise_shapes(
    ctx: CallContext, first: str = "input", second: str = "target", mismatch_raises: bool = False, shared_target: bool = False
) -> None:
    """Different shapes either fail to broadcast (torch raises) or broadcast silently into a wrong loss.

    mismatch_raises: the loss rejects any size difference itself (BCELoss, BCEWithLogitsLoss raise
    a ValueError even for shapes that would broadcast).
    shared_target: the loss documents a target broadcast over the input (GaussianNLLLoss: "same shape as
    the input but with one dimension equal to 1"), e.g. one target shared by an ensemble's (E, N, D)
    predictions: an info, as long as the input's shape is the result (the target only repeats) along
    exactly one dim (a missing leading dim is the size-1 dim torch's broadcasting puts there). A target
    repeated along two dims or more is no longer the documented form and stays LL205.
    """
    a, b = ctx.fact(first), ctx.fact(second)
    if a is None or b is None or a.shape == b.shape:
        return
    joint = broadcast_shape(a.shape, b.shape)
    if joint is None or mismatch_raises:
        why = (
            f"{ctx.loss.name} requires `{second}` to have exactly `{first}`'s shape and raises a ValueError otherwise."
            if mismatch_raises and joint is not None
            else f"torch raises 'The size of tensor a (...) must match the size of tensor b (...)': {list(a.shape)} and {list(b.shape)} do not broadcast."
        )
        ctx.emit(
            "LL201",
            second,
            f"`{second}` has shape {b.shape}; expected {a.shape}, the shape of `{first}`",
            explanation=why,
            fix=_fix(first, a.shape, second, b.shape),
            observed=f"{first} {a.summary}, {second} {b.summary}",
            expected=f"{second} of shape {list(a.shape)}",
            torch_raises=True,
        )
        return
    # Same number of elements on both sides and no growth: values pair up one to one (e.g. a 0-d
    # prediction against a (1,) target); torch warns, but the value is right.
    if a.numel == b.numel == math.prod(joint):
        return
    total = math.prod(joint)
    if ctx.config.get("reduction") == "none" and _pairwise(a.shape, b.shape):
        return  # (N, K, 1) against (N, 1, K) with reduction='none': a deliberate pairwise loss
    documented = shared_target and tuple(joint) == tuple(a.shape) and _repeated_dims(a.shape, b.shape) == 1
    if documented and b.numel < a.numel:
        reuse = a.numel // max(b.numel, 1)
        ctx.emit(
            "LL205",
            second,
            f"`{second}` {b.summary} is shared by `{first}` {a.summary}: each target value serves {reuse} predictions",
            explanation=(
                f"{ctx.loss.name} documents a target broadcast over the input (a dimension of size 1, or fewer leading "
                "dims): one target for every member of an ensemble, say. Correct if that is the intent; if the "
                "predictions were meant to pair one to one with targets, the shapes are wrong."
            ),
            fix=f"if every prediction has its own target: make `{second}` exactly {list(a.shape)}",
            observed=f"{first} {a.summary}, {second} {b.summary}",
            expected=f"{second} of shape {list(a.shape)}, or broadcast on purpose",
            severity="info",
            confidence="weak",
        )
        return
    if total > max(a.numel, b.numel):
        what = (
            f"they broadcast to {joint}, comparing every prediction with every target "
            f"({total} terms instead of {max(a.numel, b.numel)})"
        )
    else:
        small, big = (second, first) if b.numel < a.numel else (first, second)
        reuse = total // max(min(a.numel, b.numel), 1)
        what = f"`{small}` is broadcast over `{big}`, so each of its values is reused {reuse} times"
    ctx.emit(
        "LL205",
        second,
        f"`{second}` has shape {b.shape} and `{first}` {a.shape}: {what}",
        explanation=(
            f"{ctx.loss.name} is element-wise: torch broadcasts the two shapes to {list(joint)}, so predictions are "
            "paired with targets they do not belong to. The loss trains, on the wrong objective."
            + (
                f" {ctx.loss.name} documents a target shared along one dimension (one of size 1); this one is "
                f"repeated along {_repeated_dims(a.shape, b.shape)}."
                if shared_target and tuple(joint) == tuple(a.shape)
                else ""
            )
        ),
        fix=_fix(first, a.shape, second, b.shape),
        observed=f"{first} {a.summary}, {second} {b.summary}",
        expected=f"{second} of shape {list(a.shape)}",
    )


def _repeated_dims(a: tuple, b: tuple) -> int:
    """How many of `a`'s dims `b` is repeated along when broadcast to it (b's missing leading dims count,
    as the size-1 dims broadcasting gives them)."""
    padded = (1,) * (len(a) - len(b)) + tuple(b)
    return sum(1 for x, y in zip(a, padded) if y == 1 and x > 1)


def _pairwise(a: tuple, b: tuple) -> bool:
    """Explicit complementary singleton dims, each side broadcast along one the other has: the shapes
    show the intent (a quantile or pairwise-distance loss), unlike an (N, 1) prediction against (N,)."""
    if len(a) != len(b):
        return False
    grows_a = any(x == 1 and y > 1 for x, y in zip(a, b))
    grows_b = any(y == 1 and x > 1 for x, y in zip(a, b))
    return grows_a and grows_b


def _fix(first: str, a: tuple, second: str, b: tuple) -> str:
    if len(a) == len(b) + 1 and 1 in a and tuple(d for d in a if d != 1) == tuple(d for d in b if d != 1):
        return f"{first}.squeeze({a.index(1)})  # or {second}.unsqueeze({a.index(1)})"
    if len(b) == len(a) + 1 and 1 in b and tuple(d for d in b if d != 1) == tuple(d for d in a if d != 1):
        return f"{second}.squeeze({b.index(1)})"
    return f"make `{second}` exactly {list(a)}: {second}.reshape_as({first}) only if the elements correspond"
