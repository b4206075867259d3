"""Kind checks from provenance: the op that produced an argument, where `watch()` saw it run.

The value kind checks (`kinds.py`, `binary.py`) infer "these are probabilities" from rows that sum
to 1, and need enough of them. When `watch()` saw `F.softmax(x, dim=1)` produce the argument, the
same conclusion is certain, needs no data access (so it holds for metadata-only calls and for tiny
batches), and can name the line. `judge_origin` returns True when the origin settles the question,
whether it found a problem or confirmed the call; the value checks then do not run.
"""

from __future__ import annotations

from .context import CallContext

_CERTAIN = "watch() saw the op that made it, so this is certain rather than read from the values."
_NAMES = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid"}


def judge_origin(ctx: CallContext, kind: str, argument: str, class_dim: int | None) -> bool:
    origin = ctx.origins[argument]
    facts = ctx.fact(argument)
    if facts is None:
        return False
    ndim = facts.ndim
    produced = f"`{argument}` was produced by {origin.describe(ndim)}"
    observed = f"{facts.summary}, output of {origin.op}" + (f" over dim {origin.dim_for(ndim)}" if origin.dim is not None else "")

    def emit(code: str, message: str, fix: str, expected: str) -> bool:
        ctx.emit(
            code,
            argument,
            message,
            explanation=f"{why_for(ctx, code)} {_CERTAIN}",
            fix=fix,
            observed=observed,
            expected=expected,
        )
        return True

    if kind == "binary_logits":
        if origin.kind == "log_softmax":
            return False
        what = "sigmoid outputs" if origin.kind == "sigmoid" else "softmax outputs"
        return emit(
            "LL305",
            f"{produced}: these are {what}, in (0, 1); expected raw logits",
            f"pass the logits from before the {_NAMES[origin.kind]}: loss(logits, target)"
            + ("; or keep the probabilities and use nn.BCELoss()" if ctx.loss.name == "BCEWithLogitsLoss" else ""),
            "raw logits (any real values, both signs)",
        )
    if class_dim is None:
        return False
    class_dim = class_dim if class_dim >= 0 else class_dim + ndim
    normalized = origin.dim_for(ndim)
    if origin.dim is not None and ndim >= 2 and normalized != class_dim:
        return emit(
            "LL304",
            f"{produced}, not over the class dim {class_dim}: each slice along dim {normalized} is a distribution, "
            f"the class rows are not",
            f"F.{origin.kind}(x, dim={class_dim})",
            f"{origin.kind} over dim {class_dim}",
        )
    if kind == "logits":
        if origin.kind == "log_softmax":
            ctx.emit(
                "LL307",
                argument,
                f"{produced}; {ctx.loss.name} applies log_softmax itself, so this one is redundant",
                explanation=f"{ctx.loss.codes['LL307'].why} {_CERTAIN}",
                observed=observed,
                expected="raw logits",
            )
            return True
        what = "sigmoid outputs" if origin.kind == "sigmoid" else "probabilities"
        # The code the values would get (the kind contract's: softmax rows LL301, sigmoid outputs LL305),
        # so that a loss's own fix for each (MONAI's "drop the final Sigmoid") meets its case.
        return emit(
            "LL305" if origin.kind == "sigmoid" else "LL301",
            f"{produced}: these are {what}; expected raw logits",
            f"pass the logits from before the {_NAMES[origin.kind]} (`{origin.op}`" + (f" at {origin.location}" if origin.location else "") + "): loss(logits, target)",
            "raw logits (any real values)",
        )
    if kind == "log_probabilities":
        if origin.kind == "log_softmax":
            return True  # exactly what the loss wants
        if origin.kind == "softmax":
            return emit(
                "LL303",
                f"{produced}: these are probabilities; expected log-probabilities",
                f"F.log_softmax(logits, dim={class_dim}) instead of {origin.op}",
                f"log-probabilities (log_softmax over dim {class_dim})",
            )
    return False


# A code's catalog text is written for the loss it is best known by (LL301's names CrossEntropyLoss);
# for another loss that declares the same kind, the reader gets what holds for every such loss.
_NEUTRAL_WHY = (
    "Values already squashed by an activation cannot express the scores the loss expects: their range is "
    "bounded, so the loss cannot approach its minimum and its gradients shrink."
)


_NEUTRAL_WHY_RAW = (
    "Values outside [0, 1] are no probabilities: the loss multiplies them with the target as if they were, "
    "so negative values and values above 1 give a meaningless score, without an error."
)


def why_for(ctx: CallContext, code: str, raw: bool = False) -> str:
    """The catalog's reason for `code`, or one that holds for every loss where it names another loss."""
    why = ctx.loss.codes[code].why
    named = [name for name in ("CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "KLDivLoss") if name in why]
    # The loss at hand may be named in short ("NLL of probabilities is negative" speaks of NLLLoss).
    own = ctx.loss.name in named or ctx.loss.name.removesuffix("Loss") in why
    return why if not named or own else _NEUTRAL_WHY_RAW if raw else _NEUTRAL_WHY
