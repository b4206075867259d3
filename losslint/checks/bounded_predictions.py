"""A prediction of the wrong kind, seen from bounded values.

Raw logits take any real value. A prediction confined to a narrow range was squashed before the loss:
sigmoid outputs in (0, 1), tanh outputs or cosine similarities in [-1, 1] (without a temperature),
ReLU outputs >= 0, a softmax over a single unit (exactly 1.0 everywhere). The loss then cannot reach
its minimum: softmax over scores spread by at most 2 is nearly uniform, and sigmoid(x >= 0) >= 0.5.

Freshly initialised heads also give small logits, so the evidence must be more than "small": values
strictly inside (0, 1) (no negative logit among many), values that touch the bound of [-1, 1]
(saturated tanh, a cosine of near-duplicates) without crossing it, exact zeros with no negative value
(a ReLU). Thin evidence says nothing, and under `watch()`, which records the sigmoid, softmax and
log_softmax it sees, a range without a recorded squashing op is an info too.
"""

from __future__ import annotations

import math

import torch

from ..evidence import kinds, layout
from ..judging.context import CallContext
from . import check

# Fewer values than this inside [-1, 1] is no evidence: a small fresh head does that too.
MIN_ELEMENTS_BOUNDED = 256


def _sample(ctx: CallContext, name: str) -> torch.Tensor | None:
    facts = ctx.values(name)
    if facts is None or not facts.is_floating or facts.ndim == 0:
        return None
    sample = facts.sample_view(0)
    if sample is None or sample.numel() == 0:
        return None
    return sample


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


@check("bounded_logits")
def bounded_logits(ctx: CallContext, argument: str = "input", class_dim: int = 1) -> None:
    """Softmax losses (CrossEntropyLoss): scores confined to (0, 1) or [-1, 1] are not logits."""
    facts = ctx.values(argument)
    if facts is None or facts.ndim < 2 or facts.shape[class_dim] < 2:
        return
    norm = facts.__dict__.get(f"_normalization_{class_dim}")
    if norm is not None and (norm.low < -1.0 or norm.high > 1.0):
        return  # the common case, decided by the kind check's own range: real logits
    if any(f.argument == argument and f.code in ("LL301", "LL307", "LL304", "LL605") for f in ctx.findings):
        return
    sample = None
    if norm is not None:
        lo, hi = norm.low, norm.high  # the kind check read this very sample: no second pass
    else:
        sample = _sample(ctx, argument)
        if sample is None:
            return
        lo, hi = (float(v) for v in torch.aminmax(sample))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -1.0 or hi > 1.0 or hi - lo < 0.25:
        return  # outside [-1, 1], or (nearly) constant: a zero-initialised head is no evidence
    n = norm.rows * norm.classes if norm is not None else sample.numel()
    classes = facts.shape[class_dim]
    sigmoid = lo > 0 and hi < 1 and n >= kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE
    saturated = n >= MIN_ELEMENTS_BOUNDED and max(abs(lo), abs(hi)) >= 0.99
    contrastive = _in_batch_pairs(ctx, facts)
    what = "sigmoid outputs" if lo > 0 else "cosine similarities or tanh outputs"
    floor = math.log1p((classes - 1) * math.exp(-(hi - lo)))
    evidence = (
        f"all {n} values read lie in [{lo:.3g}, {hi:.3g}]"
        + (f" ({n} of {facts.numel})" if n < facts.numel else "")
    )
    if not (sigmoid or saturated or contrastive):
        return  # small logits alone: a fresh head looks the same, so say nothing
    # watch() records sigmoids, not cosines or tanh: only the (0, 1) evidence is weakened by its silence.
    warn = not (sigmoid and not (saturated or contrastive) and untracked(ctx, argument))
    if contrastive:
        what = "in-batch cosine similarities (an (N, N) matrix with targets arange(N))"
    why = (
        f"{ctx.loss.name} applies softmax to its input; scores that differ by at most {hi - lo:.2g} give a "
        f"nearly uniform softmax over {classes} classes, so the loss cannot go below about {floor:.2f} "
        "(it would approach 0 for logits) and the gradients stay small. "
        + (
            "Values that stay inside (0, 1) or touch the bound of [-1, 1] without crossing it were squashed."
            if warn
            else "watch() recorded no sigmoid, tanh or cosine op for this tensor, hence an info."
        )
    )
    ctx.emit(
        "LL311",
        argument,
        f"`{argument}` looks like {what}, not logits: {evidence}; the loss cannot go below {floor:.2f}",
        explanation=why,
        fix="pass the scores from before the sigmoid/tanh; for cosine similarities divide by a temperature: "
        "loss(cos_sim / 0.07, target)",
        observed=f"{facts.summary}, values in [{lo:.3g}, {hi:.3g}]",
        expected="raw logits (any real values)",
        severity=None if warn else "info",
        confidence="strong" if warn else "weak",
    )


def _in_batch_pairs(ctx: CallContext, facts) -> bool:
    """An (N, N) score matrix with targets 0..N-1: the InfoNCE / CLIP layout, whose scores are
    similarities; within [-1, 1] they are cosines without a temperature."""
    target = ctx.values("target")
    if facts.ndim != 2 or facts.shape[0] != facts.shape[1] or facts.shape[0] < 4 or target is None or target.ndim != 1:
        return False
    if target.is_floating or target.numel != facts.shape[0]:
        return False
    t = ctx.args["target"].detach()
    return bool(torch.equal(t, torch.arange(t.numel(), dtype=t.dtype, device=t.device)))


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
            "BCELoss scores each class as an independent yes/no question, while softmax already makes the classes "
            "compete; with exactly one positive per row this is single-label classification, which cross entropy "
            "on the logits does directly (and better calibrated)."
        ),
        fix="nn.CrossEntropyLoss()(logits, target.argmax(dim=1)), without the softmax",
        observed=f"input {inp.summary}, row sums 1 ± {norm.max_sum_error:.1e}; target one-hot",
        expected="CrossEntropyLoss on logits and class indices",
        confidence="strong",
    )
