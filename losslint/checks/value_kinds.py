"""Kind checks: does an argument hold the kind of values its format declares?

Run by the engine for every argument with ``kind = "..."`` in its format, on a bounded sample. Each
finding says what it saw and how much of it (rows examined), so that its confidence is visible.
"""

from __future__ import annotations

import torch

from ..evidence import kinds, layout
from ..judging.context import CallContext
from . import check


def _sample(ctx: CallContext, argument: str, class_dim: int | None) -> torch.Tensor | None:
    facts = ctx.values(argument)
    if facts is None:
        return None
    if facts.ndim <= 1 or class_dim == 0:
        # Unbatched: one distribution, read whole.
        return facts.sample_view(0) if facts.ndim == 0 else ctx.args[argument].detach()
    # A view in the tensor's own dtype: kinds.normalization converts only what it sums.
    return facts.sample_view(0)


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


def _normalization(ctx: CallContext, argument: str, class_dim: int) -> tuple[kinds.Normalization, int, float] | None:
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


@check("kind_logits")
def kind_logits(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """Raw, unnormalized scores, as CrossEntropyLoss wants."""
    if class_dim is None or _layout_misread(ctx, argument, class_dim):
        return
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
        from .bounded_predictions import bounded_logits

        bounded_logits(ctx, argument=argument, class_dim=class_dim)


@check("kind_log_probabilities")
def kind_log_probabilities(ctx: CallContext, argument: str, class_dim: int | None) -> None:
    """log_softmax outputs, as NLLLoss, CTCLoss and KLDivLoss (input) want."""
    if class_dim is None or _layout_misread(ctx, argument, class_dim):
        return
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
