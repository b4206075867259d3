"""Distributions and other losses' domains; deprecated arguments; library conventions (issue 11,
families 3 and 4).

- KLDivLoss: a target that is no distribution (log_target=False, rows that do not sum to 1), and an
  input that is exactly the log of the target (the teacher passed as both: KL is identically 0).
- HingeEmbeddingLoss takes distances (>= 0); negative inputs are classifier scores.
- MultiLabelMarginLoss reads each row up to its first -1: a row padded with 0 instead of -1 lists
  class 0 as a positive (repeatedly).
- PoissonNLLLoss: counts are >= 0; with log_input=False a rate of exactly 0 against a positive count
  costs count * 18.4 (log(eps)) and a gradient of about -count / 1e-8.
- `size_average`, `reduce` and reduction='elementwise_mean': torch only warns; say what to write.
- BCEWithLogitsLoss with reduction='none' and a conventional ignore value (-100, 255) besides real
  {0, 1} labels: the caller masks those elements afterwards (segmentation_models_pytorch's
  SoftBCEWithLogitsLoss does), so LL402 is an info there.
"""

from __future__ import annotations

import math

import torch

from .. import kinds
from ..context import CallContext
from ..facts import TensorFacts
from . import check


def _sample(facts: TensorFacts | None) -> torch.Tensor | None:
    if facts is None or not facts.is_floating:
        return None
    sample = facts.sample_rows(0) if facts.ndim else facts._data().reshape(1).double()
    if sample is None or sample.numel() == 0 or not bool(torch.isfinite(sample).all()):
        return None
    return sample


# ---- KLDivLoss ---------------------------------------------------------------------------------------


@check("kl_target_distribution")
def kl_target_distribution(ctx: CallContext) -> None:
    inp, tgt = ctx.values("input"), ctx.values("target")
    flag = ctx.config.get("log_target")
    log_target = flag is True or (isinstance(flag, (int, float)) and bool(flag))
    if inp is None or tgt is None or tgt.ndim == 0 or ctx.findings and any(f.argument == "target" for f in ctx.findings):
        return
    a, b = _sample(inp), _sample(tgt)
    if a is None or b is None:
        return
    if a.shape == b.shape:
        same = torch.equal(a, b) if log_target else bool(torch.allclose(a, b.clamp_min(1e-300).log(), atol=1e-5, rtol=1e-4))
        if same and a.numel() >= 2 and float(a.max() - a.min()) > 0:
            ctx.emit(
                "LL315",
                "input",
                "`input` is exactly " + ("`target`" if log_target else "the log of `target`")
                + f" ({a.numel()} values read): the KL divergence is identically 0",
                explanation=(
                    "KL(p || p) = 0 whatever p is, and so is its gradient: the student learns nothing. This is the "
                    "teacher's distribution passed as both arguments (or the student's, detached, as the target)."
                ),
                fix="F.kl_div(F.log_softmax(student_logits / T, 1), F.softmax(teacher_logits / T, 1), reduction='batchmean')",
                observed=f"input {inp.summary} equal to {'target' if log_target else 'log(target)'}",
                expected="the student's log-probabilities against the teacher's probabilities",
                confidence="strong",
            )
            return
    if log_target or float(b.min()) < 0:
        return
    dim = b.ndim - 1 if b.ndim == 3 else (1 if b.ndim >= 2 else 0)
    if b.shape[dim] < 2:
        return
    sums = b.movedim(dim, -1).reshape(-1, b.shape[dim]).sum(dim=1)
    error = float((sums - 1).abs().max())
    if error <= max(kinds.tolerance(tgt.dtype), 1e-3) * 10:
        return
    # Every other dim too: a distribution over any dim is fine (KL is element-wise).
    for other in range(b.ndim):
        if other != dim and b.shape[other] >= 2 and float((b.sum(dim=other) - 1).abs().max()) <= 1e-2:
            return
    lo, hi = float(sums.min()), float(sums.max())
    ctx.emit(
        "LL404",
        "target",
        f"`target` rows sum to {lo:.3g} to {hi:.3g} over dim {dim}, not 1 ({sums.numel()} rows read): "
        "not a probability distribution",
        explanation=(
            "With log_target=False KLDivLoss reads the target as probabilities, sum_c p log(p / q); for rows that "
            "do not sum to 1 this is no divergence (its minimum is not at q = p, and it can go negative). Raw "
            "scores, counts, or a softmax over the wrong dim give such rows."
        ),
        fix="F.softmax(teacher_logits, dim=1) as the target (or target / target.sum(dim, keepdim=True))",
        observed=f"{tgt.summary}, row sums {lo:.3g} to {hi:.3g}",
        expected="rows of non-negative values that sum to 1",
        severity="warning",
        confidence="strong",
    )


# ---- HingeEmbeddingLoss ------------------------------------------------------------------------------


@check("distance_input")
def distance_input(ctx: CallContext, argument: str = "input") -> None:
    facts = ctx.values(argument)
    sample = _sample(facts)
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


# ---- deprecated arguments ----------------------------------------------------------------------------


@check("deprecated_arguments")
def deprecated_arguments(ctx: CallContext) -> None:
    """torch still accepts size_average / reduce / 'elementwise_mean' with a UserWarning."""
    config = ctx.config
    if config.get("size_average") is None and config.get("reduce") is None and config.get("reduction") != "elementwise_mean":
        return
    if ctx.torch_raises:
        return  # torch rejects the call (GaussianNLLLoss and the triplet losses reject 'elementwise_mean')
    config = ctx.config
    reduction = config.get("reduction")
    legacy = {k: config.get(k) for k in ("size_average", "reduce") if config.get(k) is not None}
    if legacy:
        given = ", ".join(f"{k}={v!r}" for k, v in legacy.items())
        ctx.emit(
            "LL504",
            next(iter(legacy)),
            f"{given} is deprecated; it means reduction={reduction!r}",
            explanation=(
                "torch folds size_average and reduce into `reduction` and warns that they will be removed; "
                "reduce=False wins over size_average, so the pair is easy to misread."
            ),
            fix=f"reduction={reduction!r} (and drop {', '.join(legacy)})",
            observed=given,
            expected=f"reduction={reduction!r}",
        )
    elif reduction == "elementwise_mean":
        ctx.emit(
            "LL504",
            "reduction",
            "reduction='elementwise_mean' is the deprecated name of 'mean'",
            explanation="torch accepts it with a deprecation warning; some losses (GaussianNLLLoss) already reject it.",
            fix="reduction='mean'",
            observed="reduction='elementwise_mean'",
            expected="reduction='mean'",
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


# ---- token padding in flattened targets --------------------------------------------------------------


@check("flat_padding_not_ignored")
def flat_padding_not_ignored(ctx: CallContext, min_classes: int = 100, min_run: int = 3, min_runs: int = 2) -> None:
    """LL409 for flattened token targets (N*T,): HuggingFace-style `labels.view(-1)` copied from
    input_ids without setting the padding to -100. The pad id repeats in long runs, one per padded
    sequence, and appears nowhere else; real tokens of a vocabulary this size rarely repeat at all."""
    inp = ctx.facts.get("input")
    if inp is None or inp.ndim != 2 or inp.shape[1] < min_classes:
        return
    facts = ctx.values("target")
    if facts is None or facts.ndim != 1 or facts.is_floating:
        return
    if facts.numel < 2 * min_run * min_runs or ctx.has("LL409"):
        return
    t = facts.sample_view(0)  # the target's own integer dtype: no float64 copy
    if t is None:
        return
    if int((t[1:] == t[:-1]).sum()) < min_runs * (min_run - 1):
        return  # too few repeated neighbours for any run of padding: one comparison decides it
    t = t.to(torch.int64)
    change = torch.ones_like(t, dtype=torch.bool)
    change[1:] = t[1:] != t[:-1]
    starts = change.nonzero().flatten()
    lengths = torch.diff(torch.cat([starts, torch.tensor([t.numel()], device=starts.device)]))
    values = t[starts]
    long = lengths >= min_run
    if int(long.sum()) < min_runs:
        return
    candidates = torch.unique(values[long])
    ignore = ctx.config.get("ignore_index")
    for pad in candidates.tolist():
        if pad == ignore:
            continue
        mine = values == pad
        runs = int(mine.sum())
        if runs < min_runs or bool((mine & ~long).any()) or runs == values.numel():
            continue  # every occurrence of the pad id sits in a long run, and other ids lie between
        others = lengths[~mine]
        if others.numel() == 0 or float((others >= min_run).float().mean()) > 0.05:
            continue  # the other ids repeat too: sorted labels, not tokens with padding
        total = int(lengths[mine].sum())
        ctx.emit(
            "LL409",
            "target",
            f"`target` holds {pad} in {runs} runs of {int(lengths[mine].min())} to {int(lengths[mine].max())} "
            f"({total} of {t.numel()} values) and nowhere else: padding scored as class {pad}; ignore_index is {ignore}",
            explanation=(
                "Flattened token targets (labels.view(-1)) whose pad id was not set to ignore_index: the pad id comes "
                "in one long run per padded sequence, while real tokens of a vocabulary of "
                f"{inp.shape[1]} rarely repeat. Padding is then trained like any token, and the loss falls fast on it."
            ),
            fix=f"labels[labels == {pad}] = -100 before flattening (or ignore_index={pad}); with HuggingFace, "
            "DataCollatorForSeq2Seq / DataCollatorForLanguageModeling do this",
            observed=f"{facts.summary}, {runs} runs of {pad}",
            expected=f"padding set to ignore_index ({ignore})",
            confidence="weak",
        )
        return
