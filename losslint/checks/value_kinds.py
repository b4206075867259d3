"""What only a declared kind knows, read from an argument's values: the readings `kind_contract` runs
before it compares the inferred kind with the declaration.

- `logits` (CrossEntropyLoss): probabilities (LL301), a redundant log_softmax (LL307, an info), a softmax
  over the batch dim (LL304), scores squashed into (0, 1) or [-1, 1] with the loss's floor (LL311).
- `log_probabilities` (NLLLoss, CTCLoss, KLDivLoss): probabilities (LL303), raw scores (LL302), the wrong dim.
- `binary_logits` (BCEWithLogitsLoss and the sigmoid losses): values strictly inside (0, 1) (LL305),
  said as an info on too few values or where watch() saw a layer and no sigmoid.

Each finding says what it saw and how much of it (rows examined), so that its confidence is visible.
"""

from __future__ import annotations

import math

import torch

from ..evidence import kinds, layout
from ..judging.context import CallContext
from .bounded_predictions import untracked


def _sample(ctx: CallContext, argument: str, class_dim: int | None) -> torch.Tensor | None:
    facts = ctx.values(argument)
    if facts is None:
        return None
    if facts.ndim <= 1 or class_dim == 0:
        # Unbatched: one distribution, read whole.
        return facts.sample_view(0) if facts.ndim == 0 else ctx.args[argument].detach()
    # A view in the tensor's own dtype: kinds.normalization converts only what it sums. Of a batch of
    # large volumes, the first slices: rows along the class dim stay whole.
    return facts.sample_view_keeping(class_dim)


def _rows_text(norm: kinds.Normalization, total: int) -> str:
    if norm.rows >= total:
        return f"all {kinds.plural(norm.rows, 'row')}"
    return f"{norm.rows} of {total} rows examined"


def _normalization_along(ctx: CallContext, argument: str, sample: torch.Tensor, dim: int) -> kinds.Normalization | None:
    """kinds.normalization, once per argument and dim: several kind checks ask the same question."""
    facts = ctx.fact(argument)
    key = f"_normalization_{dim}"
    if facts is not None and key in facts.__dict__:
        return facts.__dict__[key]
    norm = kinds.normalization(sample, dim)
    if facts is not None:
        facts.__dict__[key] = norm
    return norm


def _wrong_dim(ctx: CallContext, argument: str, class_dim: int, log: bool) -> kinds.Normalization | None:
    """Normalization over the batch dimension (dim 0) instead of the class dimension.

    Only decidable when the whole batch was sampled: a column sums to 1 over all N rows, not over a
    prefix of them.
    """
    facts = ctx.fact(argument)
    sample = _sample(ctx, argument, class_dim)
    if facts is None or sample is None or facts.ndim < 2 or class_dim == 0:
        return None
    if sample.shape[0] != facts.shape[0] or facts.shape[0] < 2:
        return None
    tol = kinds.tolerance(facts.dtype)
    norm = _normalization_along(ctx, argument, sample, 0)
    if norm is None:
        return None
    if (log and norm.is_log_probabilities(tol)) or (not log and norm.is_probabilities(tol)):
        return norm
    return None


def _normalization(ctx: CallContext, argument: str, class_dim: int | None) -> tuple[kinds.Normalization, int, float] | None:
    """The rows over the class dim, the number of rows, and the dtype's tolerance; None where there are
    no rows to read (no class dim, classes the producer put on another axis, no sample)."""
    if class_dim is None or _layout_misread(ctx, argument, class_dim):
        return None
    facts = ctx.fact(argument)
    sample = _sample(ctx, argument, class_dim)
    if facts is None or sample is None or facts.ndim == 0:
        return None
    norm = _normalization_along(ctx, argument, sample, class_dim if class_dim >= 0 else sample.ndim + class_dim)
    if norm is None:
        return None
    total = facts.numel // max(facts.shape[class_dim], 1)
    return norm, total, kinds.tolerance(facts.dtype)


def _emit_wrong_dim(ctx: CallContext, argument: str, class_dim: int, log: bool) -> bool:
    norm = _wrong_dim(ctx, argument, class_dim, log)
    if norm is None:
        return False
    op = "log_softmax" if log else "softmax"
    facts = ctx.fact(argument)
    ctx.emit(
        "LL304",
        argument,
        f"`{argument}` is normalized over dim 0, not over the class dim {class_dim}: "
        f"each of its {facts.shape[1]} columns is a distribution, its rows are not",  # type: ignore[union-attr]
        fix=f"F.{op}(x, dim={class_dim})",
        observed=f"{facts.summary}, {op} over dim 0",  # type: ignore[union-attr]
        expected=f"{op} over dim {class_dim}",
        confidence="strong",
    )
    return True


def _layout_misread(ctx: CallContext, argument: str, class_dim: int | None) -> bool:
    """The layer that made the tensor put the classes elsewhere (LL204, said by the format's check):
    rows along the declared class dim are then no evidence of anything."""
    value = ctx.args.get(argument)
    if class_dim is None or not isinstance(value, torch.Tensor) or value.ndim < 3:
        return False
    made = layout.producer_axis(value)
    return made is not None and made.dim != class_dim % value.ndim


def logits_kind(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """Raw, unnormalized scores, as CrossEntropyLoss wants."""
    found = _normalization(ctx, argument, class_dim)
    if found is None:
        return
    norm, total, tol = found
    facts = ctx.fact(argument)
    if norm.is_probabilities(tol):
        ctx.emit(
            "LL301",
            argument,
            f"`{argument}` holds probabilities: every row is non-negative and sums to 1 over dim {class_dim} "
            f"({_rows_text(norm, total)}); expected raw logits",
            explanation=(
                f"{ctx.loss.name} applies log_softmax itself, so these probabilities are squashed a second "
                "time (double softmax): gradients shrink and the loss cannot approach 0. Rows that sum to 1 "
                "to within rounding do not arise from raw logits by chance."
            ),
            fix=f"pass the logits from before the softmax: loss(logits, target), not loss(logits.softmax({class_dim}), target)",
            observed=f"{facts.summary}, values in [0, 1], row sums 1 ± {norm.max_sum_error:.1e}",  # type: ignore[union-attr]
            expected="raw logits (any real values)",
            confidence="strong",
        )
    elif norm.is_log_probabilities(tol):
        ctx.emit(
            "LL307",
            argument,
            f"`{argument}` holds log-probabilities (logsumexp over dim {class_dim} is 0); "
            f"{ctx.loss.name} applies log_softmax itself, so this one is redundant",
            observed=f"{facts.summary}, logsumexp over dim {class_dim} = 0",  # type: ignore[union-attr]
            expected="raw logits",
            confidence="strong",
        )
    elif norm.nonpositive and _emit_wrong_dim(ctx, argument, class_dim, log=True):
        pass
    elif norm.nonnegative:
        # Columns can only be distributions if the values have one sign: ordinary logits, which have
        # both, need no second look.
        _emit_wrong_dim(ctx, argument, class_dim, log=False)
    if -1.0 <= norm.low and norm.high <= 1.0:
        # Scores confined to [-1, 1] (sigmoid, tanh, cosine): decided here, where the range is already
        # in hand, so that real logits pay one comparison (LL311).
        _bounded_scores(ctx, argument=argument, class_dim=class_dim)


def log_probabilities_kind(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """log_softmax outputs, as NLLLoss, CTCLoss and KLDivLoss (input) want."""
    found = _normalization(ctx, argument, class_dim)
    if found is None:
        return
    norm, total, tol = found
    facts = ctx.fact(argument)
    if norm.is_log_probabilities(tol):
        return
    if norm.is_probabilities(tol):
        ctx.emit(
            "LL303",
            argument,
            f"`{argument}` holds probabilities: every row is non-negative and sums to 1 over dim {class_dim} "
            f"({_rows_text(norm, total)}); expected log-probabilities",
            fix=f"F.log_softmax(logits, dim={class_dim}) instead of F.softmax(logits, dim={class_dim})",
            observed=f"{facts.summary}, values in [0, 1], row sums 1 ± {norm.max_sum_error:.1e}",  # type: ignore[union-attr]
            expected=f"log-probabilities (values <= 0, logsumexp over dim {class_dim} = 0)",
            confidence="strong",
        )
        return
    if _emit_wrong_dim(ctx, argument, class_dim, log=True):
        return
    if norm.classes < 2:
        return
    if norm.nonpositive and norm.max_logsumexp_error <= kinds.carried_tolerance(norm._sample, facts.dtype):  # type: ignore[union-attr]
        return  # log_softmax computed in bf16 or fp16, cast up for the loss: normalized to its own rounding
    positive = not norm.nonpositive
    seen = "has positive values" if positive else f"is not normalized (logsumexp over dim {class_dim} is up to {norm.max_logsumexp_error:.3g}, not 0)"
    ctx.emit(
        "LL302",
        argument,
        f"`{argument}` {seen} ({_rows_text(norm, total)}): these are raw scores, not log-probabilities",
        fix=f"F.log_softmax(x, dim={class_dim})" + (" (or CrossEntropyLoss on the logits)" if ctx.loss.name == "NLLLoss" else ""),
        observed=f"{facts.summary}, logsumexp over dim {class_dim} up to {norm.max_logsumexp_error:.3g}",  # type: ignore[union-attr]
        expected=f"log-probabilities (values <= 0, logsumexp over dim {class_dim} = 0)",
        confidence="strong",
    )


# ---- scores for a loss that applies the sigmoid itself --------------------------------------------------------------------------------------


def binary_logits_kind(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """Raw scores for a loss that applies the sigmoid itself: values all strictly inside (0, 1) are
    sigmoid (or softmax) outputs. Enough of them is strong evidence: raw logits spread over both signs
    and rarely stay inside (0, 1)."""
    facts = ctx.values(argument)
    if facts is None or not facts.is_floating:
        return
    if facts.ndim:
        view = facts.sample_view_keeping(1 if facts.ndim >= 2 else None)
        sample = view.to(torch.float64) if view is not None else None
    else:
        sample = ctx.args[argument].detach().to(torch.float64).reshape(1)
    if sample is None or sample.numel() == 0 or not bool(torch.isfinite(sample).all()):
        return
    if not kinds.strictly_inside_unit_interval(sample):
        return
    n = sample.numel()
    enough = n >= kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE
    seen = f"all {n} values" if n >= facts.numel else f"all {n} values of the first rows examined ({facts.numel} in all)"
    lo, hi = float(sample.min()), float(sample.max())
    what = "sigmoid outputs"
    if facts.ndim >= 2 and facts.shape[1] >= 2:
        norm = kinds.normalization(sample, 1)
        if norm is not None and norm.is_probabilities(kinds.tolerance(facts.dtype)):
            what = "softmax outputs (rows sum to 1 over dim 1)"
    if enough:
        explanation = (
            f"{ctx.loss.name} applies the sigmoid itself, so these probabilities are squashed a second time: "
            "sigmoid maps (0, 1) into (0.5, 0.73), so the model can never predict below 0.5 and the loss "
            f"cannot approach 0 on negative targets. Raw logits take both signs; {n} values all inside "
            "(0, 1) do not arise from them by chance."
        )
    else:
        explanation = (
            f"{ctx.loss.name} applies the sigmoid itself. Only {n} value{'s' if n > 1 else ''} were seen, "
            f"too few to tell sigmoid outputs from small logits (at least {kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE} "
            "are needed for a warning)."
        )
    ctx.emit(
        "LL305",
        argument,
        f"`{argument}` lies strictly inside (0, 1) ({seen}, {lo:.3g} to {hi:.3g}): these look like {what}; expected raw logits",
        explanation=explanation,
        fix="pass the logits from before the sigmoid: loss(logits, target)"
        + ("; or keep the probabilities and use nn.BCELoss()" if ctx.loss.name == "BCEWithLogitsLoss" else ""),
        observed=f"{facts.summary}, values in ({lo:.3g}, {hi:.3g})",
        expected="raw logits (any real values, both signs)",
        # Under watch(), which records every sigmoid it sees, none was recorded for this tensor: real
        # logits that happen to lie in (0, 1) (a small head with a prior bias), so an info.
        severity=None if enough and not untracked(ctx, argument) else "info",
        confidence="strong" if enough and not untracked(ctx, argument) else "weak",
    )


# ---- scores confined to (0, 1) or [-1, 1], for a softmax loss ----------------------------------------

# Fewer values than this inside [-1, 1] is no evidence: a small fresh head does that too.
MIN_ELEMENTS_BOUNDED = 256


def _values_sample(ctx: CallContext, name: str) -> torch.Tensor | None:
    facts = ctx.values(name)
    if facts is None or not facts.is_floating or facts.ndim == 0:
        return None
    sample = facts.sample_view_keeping(1 if facts.ndim >= 2 else None)
    if sample is None or sample.numel() == 0:
        return None
    return sample


def _bounded_scores(ctx: CallContext, argument: str = "input", class_dim: int = 1) -> None:
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
        sample = _values_sample(ctx, argument)
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
        f"nearly uniform softmax over {classes} classes (no class above {math.exp(-floor):.2f}), so the loss "
        f"cannot approach its minimum (a cross-entropy on them cannot go below about {floor:.2f}; it would "
        "approach 0 for logits) and the gradients stay small. "
        + (
            "Values that stay inside (0, 1) or touch the bound of [-1, 1] without crossing it were squashed."
            if warn
            else "watch() recorded no sigmoid, tanh or cosine op for this tensor, hence an info."
        )
    )
    ctx.emit(
        "LL311",
        argument,
        # The cap on the softmax holds for every loss that applies one (a Dice term too); the floor of
        # the loss itself only for a cross-entropy, so the explanation says it as such.
        f"`{argument}` looks like {what}, not logits: {evidence}; their softmax gives no class more than {math.exp(-floor):.2f}",
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


# ---- log-rates for PoissonNLLLoss(log_input=True) -----------------------------------------------------


def inferred_kind(ctx: CallContext, argument: str, dim: int | None, other_dims: bool = False) -> kinds.Inference | None:
    """kinds.infer on the argument's bounded sample, once per argument and dim (the reading and the
    contract ask the same question); `other_dims` where the loss's format names the class dim."""
    facts = ctx.values(argument)
    if facts is None or not facts.is_floating or facts.ndim == 0:
        return None
    key = f"_inferred_{dim}_{other_dims}"
    if key in facts.__dict__:
        return facts.__dict__[key]
    sample = facts.sample_view_keeping(dim)  # bounded for a batch of volumes, the class dim whole
    inferred = None
    if sample is not None:
        whole = sample.ndim >= 1 and sample.shape[0] == facts.shape[0]
        inferred = kinds.infer(sample, facts.dtype, dim, whole_batch=whole, other_dims=other_dims)
    facts.__dict__[key] = inferred
    return inferred


# Kinds a log-rate can hold, but that an activation leaves: a log-rate is any real number, so a sigmoid's
# (0, 1) or a softplus's [0, inf) is a log-rate only where the rates it gives, exp(input), can meet the
# counts. "sigmoid of sigmoid" is a band inside (0, 1) that a fitted log-rate near log(1.8) also fills.
_RATE_IMAGE_KINDS = {"element_probabilities", "positive"}


def log_rates_kind(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """log_input=True: the loss computes exp(input) - target * input, and is smallest where exp(input)
    equals the count's mean. An activation's output (sigmoid, softplus, exp, one applied twice) whose
    rates exp(input) all lie above, or all below, the counts' mean cannot be log-rates fitted to these
    counts: it is rates (or probabilities) passed with log_input=True."""
    facts = ctx.values(argument)
    target = ctx.values("target")
    if facts is None or target is None or not facts.is_floating or facts.ndim == 0 or target.is_complex:
        return
    inferred = inferred_kind(ctx, argument, 1 if facts.ndim >= 2 else None)
    if inferred is None or inferred.confidence != "strong":
        return
    twice = inferred.kind == "twice_activated"
    if not twice and inferred.kind not in _RATE_IMAGE_KINDS:
        return
    sample = facts.sample_view(0)
    t = target.sample_rows(0) if target.ndim > 0 else ctx.args["target"].detach().to(torch.float64).reshape(1)
    if sample is None or t is None or t.numel() == 0:
        return
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()) or float(t.min()) < 0:
        return  # negative or non-finite counts: LL416 / LL605 say so
    lo, hi = (float(v) for v in torch.aminmax(sample.to(torch.float64)))
    count_mean = float(t.mean())
    rate_lo, rate_hi = math.exp(lo), math.exp(min(hi, 700.0))
    unreachable = count_mean < rate_lo or count_mean > rate_hi
    # Rows that are a (log_)softmax of distributions are an activation applied twice whatever the counts;
    # the sigmoid-of-sigmoid band is decided like a single sigmoid, by the counts.
    if not unreachable and not (twice and inferred.producer != "sigmoid of sigmoid"):
        return
    where = "above" if count_mean < rate_lo else "below"
    code = "LL319" if twice else "LL310"
    reach = f"the rates exp(input) lie in [{rate_lo:.3g}, {rate_hi:.3g}]"
    seen = f"{reach}, all {where} the counts' mean {count_mean:.3g}" if unreachable else reach
    ctx.emit(
        code,
        argument,
        f"`{argument}` holds {VALUE_KINDS_SHORT.get(inferred.kind, inferred.kind)} ({inferred.evidence}); read as log-rates "
        f"(log_input=True) {seen}: these look like {'an activation applied twice' if twice else 'rates'}, not log-rates",
        explanation=(
            "PoissonNLLLoss() defaults to log_input=True and computes exp(input) - target * input, smallest where "
            f"exp(input) equals the mean count. Values left by {inferred.producer or 'an activation'} "
            + ("cannot express the rates these counts need, so the loss cannot approach its minimum."
               if unreachable else "are squashed twice, so the rates they give are confined to a narrow band.")
        ),
        fix="nn.PoissonNLLLoss(log_input=False) for rates, or pass the log-rate from before the activation",
        observed=f"{facts.summary}, rates exp(input) in [{rate_lo:.3g}, {rate_hi:.3g}]; target mean {count_mean:.3g}",
        expected="log-rates: exp(input) on the counts' scale",
        confidence="strong",
    )


# Short words for an inferred kind in a message.
VALUE_KINDS_SHORT = {
    "element_probabilities": "values strictly inside (0, 1), like sigmoid outputs",
    "positive": "positive values crowding 0, like softplus or exp outputs",
    "twice_activated": "an activation applied twice",
}


# The reading for each declared kind that has one; every other declared kind has only the contract.
BY_DECLARED_KIND = {
    "logits": logits_kind,
    "log_probabilities": log_probabilities_kind,
    "binary_logits": binary_logits_kind,
    "log_rates": log_rates_kind,
}
