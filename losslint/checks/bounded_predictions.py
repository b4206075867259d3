"""Probabilities that carry nothing, or carry the wrong task: BCELoss on predictions that are all exactly
0 or 1 (a softmax over a single unit), and on softmax rows whose targets are one-hot (a multi-class task
trained as multi-label).

Also `untracked`: under `watch()`, a tensor whose history leads straight back to a layer with no
squashing op recorded, which the value-kind readings (`value_kinds`) and the libraries' checks weaken
to an info.
"""

from __future__ import annotations

import torch

from ..evidence import kinds, layout
from ..judging.context import CallContext
from . import check

def untracked(ctx: CallContext, name: str) -> bool:
    """watch() saw how the tensors were made, recorded no squashing op for this one, and its autograd
    history leads straight back to a Linear or a convolution: raw scores that happen to lie in a narrow
    range (a small head with a prior bias). A tensor whose history says less (made under no_grad,
    detached, or computed by other ops, say a sigmoid written out as 1 / (1 + exp(-x))) is judged by its
    values, as check() judges it."""
    if not getattr(ctx, "tracked", False) or name in ctx.origins:
        return False
    value = ctx.args.get(name)
    return isinstance(value, torch.Tensor) and layout.straight_from_layer(value)


@check("constant_probabilities")
def constant_probabilities(ctx: CallContext, argument: str = "input") -> None:
    """BCELoss: every prediction exactly 1.0 (softmax over a single unit) or exactly 0.0."""
    facts = ctx.values(argument)
    if facts is None or not facts.is_floating or facts.numel < 2:
        return
    vr = facts.value_range
    if vr is None or vr.has_nan or vr.min != vr.max or vr.min not in (0.0, 1.0):
        return
    value = vr.min
    single = facts.ndim >= 2 and facts.shape[-1] == 1 or facts.ndim >= 2 and facts.shape[1] == 1
    cause = "a softmax over a dimension of size 1 is exactly 1.0" if value == 1.0 and single else "the predictions carry no information"
    ctx.emit(
        "LL313",
        argument,
        f"every one of the {facts.numel} `{argument}` values is exactly {value:g}: {cause}; the loss is a constant "
        "with no gradient",
        explanation=(
            "BCELoss clamps log(0) to -100: with every prediction at exactly 0 or 1 the loss takes only the values "
            "0 and 100 per element and its gradient is 0 or meaningless, so nothing learns. softmax(x, dim) over a "
            "dim of size 1 is 1.0 whatever x is."
        ),
        fix="torch.sigmoid(logits) for one output unit (or nn.BCEWithLogitsLoss on the logits); softmax needs >= 2 classes",
        observed=f"{facts.summary}, all {value:g}",
        expected="probabilities that vary with the input",
    )


def probability_rows(inp, tgt, class_dim: int):
    """(input sample, target sample, the input's normalization): the same rows of both, when the
    input's sampled rows are probabilities along `class_dim` (softmax output); else None. Shared by
    the BCELoss checks that tell a multi-class task from a multi-label one."""
    sample, tsample = inp.sample_rows(0), tgt.sample_rows(0)
    if sample is None or tsample is None or sample.shape != tsample.shape:
        return None
    norm = kinds.normalization(sample, class_dim)
    if norm is None or not norm.is_probabilities(kinds.tolerance(inp.dtype)):
        return None
    return sample, tsample, norm


@check("softmax_single_label")
def softmax_single_label(ctx: CallContext, class_dim: int = 1) -> None:
    """BCELoss on softmax rows with one-hot targets: a multi-class task trained as multi-label."""
    inp, tgt = ctx.values("input"), ctx.values("target")
    if inp is None or tgt is None or inp.ndim < 2 or inp.shape != tgt.shape or inp.shape[class_dim] < 3:
        return
    if ctx.has("LL306") or ctx.has("LL313"):
        return
    pair = probability_rows(inp, tgt, class_dim)
    if pair is None:
        return
    sample, tsample, norm = pair
    rows = kinds.binary_rows(tsample, class_dim)
    if rows is None or not rows.one_hot or rows.rows < 4:
        return
    ctx.emit(
        "LL314",
        "input",
        f"`input` rows sum to 1 over dim {class_dim} (softmax, {norm.rows} rows read) and every target row is one-hot: "
        "a multi-class task trained with a binary (multi-label) loss",
        explanation=(
            "BCELoss takes probabilities and softmax rows are probabilities: the call is correct and trains (the "
            "loss reaches 0 where the softmax reaches the one-hot row), hence an info. But BCELoss scores each class "
            "as an independent yes/no question, while softmax already makes the classes compete; with exactly one "
            "positive per row this is single-label classification, which cross entropy on the logits does directly."
        ),
        fix="nn.CrossEntropyLoss()(logits, target.argmax(dim=1)), without the softmax",
        observed=f"input {inp.summary}, row sums 1 ± {norm.max_sum_error:.1e}; target one-hot",
        expected="CrossEntropyLoss on logits and class indices",
        severity="info",
        confidence="strong",
    )
