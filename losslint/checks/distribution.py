"""Checks for KLDivLoss / F.kl_div: log-probabilities against probabilities, and its reductions.

KLDivLoss is element-wise: torch never learns which dimension holds the distributions. It is dim 1
for (N, C) and (N, C, H, W), the last dim for (B, T, V) language-model outputs, dim 0 for an
unbatched (C,). So these checks accept a normalization over *any* dimension, and only complain when
no dimension explains the values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..evidence import kinds
from ..judging.context import CallContext
from . import check
from ..evidence.facts import finite_float_sample


# Elements read per question. The heuristics need whole distributions along one dim, but only a few of
# them: a (B, T, V) language-model batch is read as a handful of V-rows, not all B * T of them.
_BUDGET = 1 << 16


@dataclass(frozen=True)
class _Shape:
    """How one tensor's values behave as distributions (from bounded samples)."""

    log_dim: int | None  # a dim along which logsumexp is 0 (log-probabilities)
    prob_dim: int | None  # a dim along which values are >= 0 and sum to 1 (probabilities)
    prob_error: float  # the row-sum error along prob_dim
    rows: int  # distributions examined along the dim that matched
    max_value: float | None  # largest finite value seen, None when none is finite
    min_value: float | None


def _bounded(sample: torch.Tensor, keep: int | None) -> torch.Tensor:
    """A prefix of `sample` along every dim but `keep`, about _BUDGET elements in all."""
    room = max(1, _BUDGET // (sample.shape[keep] if keep is not None else 1))
    for dim in range(sample.ndim):
        if dim == keep:
            continue
        take = max(1, min(sample.shape[dim], room))
        sample = sample.narrow(dim, 0, take)
        room = max(1, room // take)
    return sample


def _analyse(ctx: CallContext, name: str) -> _Shape | None:
    facts = ctx.values(name)
    if facts is None or not facts.is_floating or facts.ndim == 0:
        return None
    # Narrow first, convert after: a float64 copy of a whole LM batch would cost more than the loss.
    sample = ctx.args[name].detach()
    log_dim = prob_dim = None
    prob_error = 0.0
    rows = 0
    tol = kinds.tolerance(facts.dtype)
    # Candidate dims, the usual one first: the last for (B, T, V), dim 1 for (N, C) and (N, C, H, W).
    usual = [sample.ndim - 1, 1] if sample.ndim == 3 else [1, sample.ndim - 1]
    for dim in dict.fromkeys(d for d in usual + list(range(sample.ndim)) if 0 <= d < sample.ndim):
        if sample.shape[dim] < 2:
            continue
        # Whole distributions along `dim` (a 1-D tensor is read whole), a prefix of the others.
        norm = kinds.normalization(_bounded(sample, dim).to(torch.float64), dim)
        if norm is None:
            break  # non-finite values (log(0) = -inf): no evidence either way
        if norm.is_log_probabilities(tol):
            log_dim, rows = dim, norm.rows
            break
        if norm.is_probabilities(tol):
            prob_dim, prob_error, rows = dim, norm.max_sum_error, norm.rows
            break
    seen = _bounded(sample, None).to(torch.float64)
    seen = seen[torch.isfinite(seen)]
    return _Shape(
        log_dim=log_dim,
        prob_dim=prob_dim,
        prob_error=prob_error,
        rows=rows,
        max_value=float(seen.max()) if seen.numel() else None,
        min_value=float(seen.min()) if seen.numel() else None,
    )


def _positive(shape: _Shape, dtype: torch.dtype) -> bool:
    # log-probabilities are <= 0; log_softmax rounds to at most a few ulps above 0.
    return shape.max_value is not None and shape.max_value > kinds.tolerance(dtype)


def _dim_text(ndim: int) -> str:
    if ndim <= 1:
        return "dim 0"
    if ndim == 3:
        return "the last dim (B, T, V) or dim 1"
    return "dim 1"


@check("kl_div_values")
def kl_div_values(ctx: CallContext) -> None:
    """`input` must be log-probabilities; `target` probabilities (or log-probabilities with log_target)."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    # An int 1 makes torch raise (strict_bool), but it still says what the caller meant.
    flag = ctx.config.get("log_target")
    log_target = flag is True or (isinstance(flag, (int, float)) and bool(flag))
    a = _analyse(ctx, "input")
    b = _analyse(ctx, "target")
    swapped = False
    if b is not None and not log_target and b.min_value is not None and b.min_value < 0:
        swapped = a is not None and a.prob_dim is not None and (b.log_dim is not None or (b.max_value or 0) <= 0)
        _negative_target(ctx, b, swapped)
    if a is not None and not swapped:
        _log_probability_argument(ctx, "input", a, inp.dtype, inp.ndim, inp.summary)
    if b is not None and log_target:
        _log_probability_argument(ctx, "target", b, tgt.dtype, tgt.ndim, tgt.summary, flag=True)


def _own_options(ctx: CallContext) -> str:
    """The call's own options, kept in a fix: its reduction (batchmean where it asked for the mean KLDivLoss
    warns about) and log_target=True."""
    reduction = ctx.config.get("reduction")
    reduction = "batchmean" if reduction in (None, "mean", "elementwise_mean") else reduction
    flag = ctx.config.get("log_target")
    return f", reduction={reduction!r}" + (", log_target=True" if flag is True else "")


def _log_probability_argument(
    ctx: CallContext, name: str, shape: _Shape, dtype: torch.dtype, ndim: int, summary: str, flag: bool = False
) -> None:
    if shape.log_dim is not None:
        return
    where = "with log_target=True " if flag else ""
    if shape.prob_dim is not None:
        d = shape.prob_dim
        ctx.emit(
            "LL303",
            name,
            f"`{name}` {where}holds probabilities: non-negative, summing to 1 over dim {d} "
            f"({kinds.plural(shape.rows, 'distribution')} examined); expected log-probabilities",
            explanation=(
                "KLDivLoss computes target * (log(target) - input): it reads `input` as log-probabilities"
                + (" and, with log_target=True, `target` too" if flag else "")
                + ". On probabilities torch returns a meaningless value that can turn negative; it does not raise."
            ),
            fix=(
                f"pass F.log_softmax(teacher_logits, dim={d}) as `target`, or drop log_target=True"
                if flag
                else f"F.kl_div(F.log_softmax(student_logits, dim={d}), target{_own_options(ctx)}) instead of F.softmax"
            ),
            observed=f"{summary}, values in [0, 1], sums 1 ± {shape.prob_error:.1e} over dim {d}",
            expected=f"log-probabilities (values <= 0, logsumexp 0 over {_dim_text(ndim)})",
            confidence="strong",
        )
        return
    if _positive(shape, dtype):
        ctx.emit(
            "LL302",
            name,
            f"`{name}` {where}has positive values (up to {shape.max_value:.3g}): raw scores, not log-probabilities",
            explanation=(
                "Log-probabilities are <= 0 and their logsumexp over the distribution dim is 0; these values "
                "are not normalized over any dim. KLDivLoss does not normalize them itself, so the loss is "
                "unbounded below and the model learns to inflate the scores."
            ),
            fix=f"F.log_softmax({'teacher_logits' if flag else 'logits'}, dim=<distribution dim>)  # dim=1 for (N, C), dim=-1 for (B, T, V)",
            observed=f"{summary}, max {shape.max_value:.3g}, not normalized over any dim",
            expected=f"log-probabilities (values <= 0, logsumexp 0 over {_dim_text(ndim)})",
            confidence="strong",
        )


def _negative_target(ctx: CallContext, b: _Shape, swapped: bool) -> None:
    tgt = ctx.fact("target")
    assert tgt is not None
    if swapped:
        seen = "the arguments look swapped: `input` holds probabilities and `target` log-probabilities"
        fix = "F.kl_div(log_probs, probs): the log-probabilities first, the probabilities second"
    elif b.log_dim is not None:
        seen = f"it holds log-probabilities (logsumexp 0 over dim {b.log_dim}), which need log_target=True"
        fix = "log_target=True (F.kl_div(input, target, log_target=True, reduction='batchmean')), or pass target.exp()"
    elif b.max_value is not None and b.max_value <= 0:
        seen = "all its values are <= 0, like log-probabilities, which need log_target=True"
        fix = "log_target=True if these are log-probabilities, or pass target.exp()"
    else:
        seen = "these are raw scores (teacher logits?), not probabilities"
        fix = "pass probabilities: F.softmax(teacher_logits, dim=<distribution dim>)"
    ctx.emit(
        "LL408",
        "target",
        f"`target` has negative values (min {b.min_value:.3g}) while log_target=False: {seen}",
        explanation=(
            "With log_target=False the target must be probabilities: torch computes "
            "xlogy(target, target) - target * input, which is nan for a negative target. torch does not "
            "raise; the loss is nan (or meaningless) and training diverges."
        ),
        fix=fix,
        observed=f"target {tgt.summary}, min {b.min_value:.3g}",
        expected="target probabilities (values >= 0), or log_target=True",
        confidence="certain",
    )


@check("kl_div_reduction")
def kl_div_reduction(ctx: CallContext) -> None:
    """'mean' is KL / (number of elements); 'batchmean' divides by dim 0 only (an info beyond 2-D)."""
    reduction = ctx.config.get("reduction")
    inp = ctx.fact("input")
    if reduction in ("mean", "elementwise_mean"):
        ndim = inp.ndim if inp is not None else 2
        numel = inp.numel if inp is not None else 0
        batch = inp.shape[0] if inp is not None and inp.ndim >= 1 else 0
        detail = ""
        if batch and numel > batch:
            detail = f": torch divides by all {numel} elements, not by the batch size {batch}, so the value is the KL divergence / {numel // batch}"
        ctx.emit(
            "LL501",
            "reduction",
            f"`reduction` is {reduction!r}{detail}; expected {'sum' if ndim <= 1 else 'batchmean'!r}",
            explanation=(
                "KLDivLoss 'mean' averages over all elements, so the value is the KL divergence divided by the "
                "number of classes (and positions). torch warns on every call and will change 'mean' to "
                "behave like 'batchmean' in a future major release."
            ),
            fix="reduction='sum'  # one distribution, unbatched" if ndim <= 1 else "reduction='batchmean'",
            observed=f"reduction={reduction!r}" + (f", input {inp.summary}" if inp is not None else ""),
            expected="reduction='sum'" if ndim <= 1 else "reduction='batchmean'",
        )
    elif reduction == "batchmean" and inp is not None and inp.ndim > 2:
        # torch documents 'batchmean' as the summed loss divided by input.size(0), whatever the other dims:
        # for (B, T, V) or (N, C, H, W) distributions that is the KL per sequence (or image), averaged over
        # the batch. A definition of the scale, not a wrong value: an info (the catalog's severity).
        shape = list(inp.shape)
        positions = inp.numel // max(shape[0], 1)
        ctx.emit(
            "LL503",
            "reduction",
            f"`reduction` is 'batchmean' on {inp.ndim}-D `input` {inp.summary}: torch sums the KL over dims {shape[1:]} "
            f"and divides by the batch size {shape[0]} only, so the value is the KL per sample summed over its positions "
            "and grows with them",
            explanation=(
                f"'batchmean' divides the summed loss by input.size(0) = {shape[0]}, as torch documents; the other "
                f"{positions} elements of each sample are summed, not averaged. With (B, T, V) or (N, C, H, W) inputs "
                "that is the KL of a whole sequence or image: correct, on a scale that grows with the sequence "
                "length or image size (and so changes the effective learning rate). For the mean KL of one "
                "distribution, flatten first."
            ),
            fix="for the mean KL per distribution: loss(input.flatten(0, -2), target.flatten(0, -2))  # (B*T, V) for (B, T, V)",
            observed=f"input {inp.summary}, reduction='batchmean'",
            expected="2-D (rows, classes) input for the mean KL per distribution, or the per-sample KL on purpose",
        )


@check("strict_bool")
def strict_bool(ctx: CallContext, config: str) -> None:
    """torch's argument parser takes only a real bool for flags such as log_target and zero_infinity."""
    value = ctx.config.get(config)
    if value is None or isinstance(value, bool):
        return
    ctx.emit(
        "LL004",
        config,
        f"`{config}` is {type(value).__name__} {value!r}; expected True or False",
        explanation=f"torch raises a TypeError: its argument parser accepts only a bool for `{config}`, not {type(value).__name__}.",
        fix=f"{config}={bool(value)!r}" if isinstance(value, (int, float)) else f"{config}=True or {config}=False",
        observed=repr(value),
        expected="a bool",
        torch_raises=True,
    )


# ---- KLDivLoss ---------------------------------------------------------------------------------------

# "Equal" for LL315 means equal to within the rounding of the dtype the values were computed in
# (kinds.carried_eps: a bf16 softmax cast up rounds like bf16):
# log_softmax(z) against log(softmax(z)) differs by at most about one ulp of (1 + |value|) in float64,
# float32, float16 and bfloat16 alike (measured over 2..1000 classes, logit scales 0.01..20); 4 ulps
# leave room for a few more ops. A student whose log-probabilities differ from the teacher's by more is
# a different distribution, however small its KL (which rounding can put a few ulps below 0).
_SAME_ULPS = 4


def _same_distribution(a: torch.Tensor, b: torch.Tensor, log_target: bool, eps_a: float, eps_b: float, target_dtype) -> bool:
    """Whether `input` is the log of `target` (or `target` itself with log_target) to within rounding,
    on the entries that say anything: a probability that underflowed to 0 (or a subnormal one, whose
    log has lost its precision) contributes 0 to the KL whatever the input is."""
    if log_target:
        keep = torch.ones_like(b, dtype=torch.bool)
        log_b = b
    else:
        keep = b >= torch.finfo(target_dtype).tiny if target_dtype.is_floating_point else b > 0
        log_b = b.clamp_min(1e-300).log()
    if int(keep.sum()) < 2:
        return False
    x, y = a[keep], log_b[keep]
    if float(x.max() - x.min()) <= 0:
        return False  # constant: a uniform input says nothing about the target
    bound = _SAME_ULPS * max(eps_a, eps_b) * (1 + x.abs())
    return bool(((x - y).abs() <= bound).all())



@check("kl_target_distribution")
def kl_target_distribution(ctx: CallContext) -> None:
    inp, tgt = ctx.values("input"), ctx.values("target")
    flag = ctx.config.get("log_target")
    log_target = flag is True or (isinstance(flag, (int, float)) and bool(flag))
    if inp is None or tgt is None or tgt.ndim == 0 or ctx.findings and any(f.argument == "target" for f in ctx.findings):
        return
    a, b = finite_float_sample(inp), finite_float_sample(tgt)
    if a is None or b is None:
        return
    if a.shape == b.shape:
        same = _same_distribution(a, b, log_target, kinds.carried_eps(a, inp.dtype), kinds.carried_eps(b, tgt.dtype), tgt.dtype)
        if same:
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
