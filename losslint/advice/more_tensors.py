"""What a loss that takes more than a prediction and a target needs, said to someone who gave `suggest()`
the task: MarginRankingLoss for ranking (a second score tensor and a ±1 target), CTCLoss for sequence
labelling (input and target lengths, time first).

`suggest()` cannot propose a call it has no tensors for, but it can say what else to pass and build the
call from what it has: the lengths from the shapes, the ±1 target from {0, 1} labels, log_softmax over
the classes for raw scores. Each call is run through check() on the user's tensors (for the ranking
pair, with a stand-in second score tensor of the prediction's shape) and said to be clean only when it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..evidence.describe import Description
from ..judging.engine import Checker


@dataclass(frozen=True)
class Guidance:
    """What a loss of the task needs besides the two tensors given, and the call with it."""

    loss: str
    needs: str  # what else to pass, in words
    call: str  # the call, with the extra tensors built where the shapes allow
    checked: bool = False  # check() found the call clean on the user's tensors
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"loss": self.loss, "needs": self.needs, "call": self.call, "checked": self.checked, "notes": list(self.notes)}


def guidance(checker: Checker, loss_name: str, prediction: object, target: object, pred: Description, tgt: Description) -> Guidance | None:
    """Guidance for `loss_name`, or None for a loss this module knows nothing about."""
    build = _GUIDES.get(loss_name)
    if build is None:
        return None
    try:
        with torch.no_grad():
            return build(checker, prediction, target, pred, tgt)
    except Exception:  # noqa: BLE001 - guidance is a courtesy: odd tensors get the words without a call
        return _GUIDES_WORDS[loss_name]()


def _clean(checker: Checker, loss: Any, *args: torch.Tensor) -> tuple[bool, str | None]:
    """(clean, the first warning or error) for check() on the call, which must also run."""
    report = checker.check(loss, *args)
    blocking = [f for f in report.findings if f.severity in ("error", "warning")]
    if blocking:
        return False, blocking[0].message
    try:
        loss(*args)
    except Exception as exc:  # noqa: BLE001 - a raise check() did not predict: not shown as clean
        return False, f"{type(exc).__name__}: {exc}"
    return True, None


# ---- ranking: MarginRankingLoss ------------------------------------------------------------------

_RANKING_NEEDS = (
    "two score tensors of the same shape, input1 and input2 (the scores of the two items of each pair), "
    "and a target of that shape holding 1 where input1 should rank higher and -1 where input2 should"
)


def _ranking_words() -> Guidance:
    return Guidance("MarginRankingLoss", _RANKING_NEEDS, "nn.MarginRankingLoss(margin=0.0)(input1, input2, target)")


def _ranking(checker: Checker, prediction: object, target: object, pred: Description, tgt: Description) -> Guidance:
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor) or not prediction.is_floating_point():
        return _ranking_words()
    notes = ["the prediction is one of the two score tensors: pass the other item's scores as input2"]
    t = "target"
    if tgt.kind == "binary":
        t = "2 * target - 1"
        notes.append("2 * target - 1 turns the {0, 1} labels into the ±1 the loss takes")
    t_value = (2 * target - 1) if t != "target" else target
    if not t_value.is_floating_point():
        t, t_value = f"({t}).float()" if t != "target" else "target.float()", t_value.float()
    if t_value.shape != prediction.shape and t_value.numel() == prediction.numel():
        t, t_value = f"{t}.view_as(input1)", t_value.view_as(prediction)
    # A stand-in for the other item's scores: the same shape, so that the target and the call are checked.
    clean, problem = _clean(checker, torch.nn.MarginRankingLoss(), prediction, prediction.flip(0), t_value)
    if problem:
        notes.append(f"check() on it: {problem}")
    return Guidance("MarginRankingLoss", _RANKING_NEEDS, f"nn.MarginRankingLoss(margin=0.0)(input1, input2, {t})", clean, tuple(notes))


# ---- sequence: CTCLoss ----------------------------------------------------------------------------

_SEQUENCE_NEEDS = (
    "log-probabilities (T, N, C), time first, targets (N, S) padded or concatenated, and input_lengths "
    "and target_lengths (N,): how many of the T steps and of the S labels belong to each sequence"
)


def _sequence_words() -> Guidance:
    return Guidance("CTCLoss", _SEQUENCE_NEEDS, "nn.CTCLoss(blank=0)(log_probs, targets, input_lengths, target_lengths)")


def _sequence(checker: Checker, prediction: object, target: object, pred: Description, tgt: Description) -> Guidance:
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor) or prediction.ndim != 3 or target.ndim != 2:
        return _sequence_words()
    notes = []
    x, lp = "log_probs", prediction
    n, s = target.shape
    if prediction.shape[1] != n and prediction.shape[0] == n:
        x, lp = f"{x}.transpose(0, 1)", lp.transpose(0, 1)
        notes.append("transpose(0, 1): CTCLoss wants the time first, (T, N, C)")
    # Read along the classes (dim 2): the description reads dim 1, which here is the batch.
    if not lp.is_floating_point():
        return _sequence_words()
    if not bool(torch.allclose(lp.float().logsumexp(2), torch.zeros(()), atol=1e-3)):
        x, lp = f"{x}.log_softmax(2)", lp.log_softmax(2)
        notes.append("log_softmax(2) over the classes: CTCLoss takes log-probabilities")
    if lp.shape[1] != n:
        return _sequence_words()
    steps = lp.shape[0]
    input_lengths = torch.full((n,), steps, dtype=torch.long)
    if _trailing_padding(target):
        # Padded targets (0, the blank, or a negative mark after each row's labels): each row's length is
        # the count of its labels, which CTC reads and nothing after them.
        target_lengths, t_code = (target > 0).sum(1), "(targets > 0).sum(1)"
        notes.append(
            f"the input lengths here say every sequence uses all {steps} steps (pass each one's own where they differ); "
            "the target lengths count each row's labels before its padding"
        )
    else:
        target_lengths, t_code = torch.full((n,), s, dtype=torch.long), f"torch.full(({n},), {s}, dtype=torch.long)"
        notes.append(
            f"the lengths here say every sequence uses all {steps} steps and all {s} labels; with padded targets "
            "pass each sequence's own lengths instead (the count of its real labels)"
        )
    clean, problem = _clean(checker, torch.nn.CTCLoss(), lp, target, input_lengths, target_lengths)
    if problem:
        notes.append(f"check() on it: {problem}")
    call = f"nn.CTCLoss(blank=0)({x}, targets, torch.full(({n},), {steps}, dtype=torch.long), {t_code})"
    return Guidance("CTCLoss", _SEQUENCE_NEEDS, call, clean, tuple(notes))


def _trailing_padding(target: torch.Tensor) -> bool:
    """Rows of labels (> 0, the blank being 0) followed by padding (<= 0) and nothing after it, with some
    padding and at least one label in every row: what a collator makes of targets of different lengths."""
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        return False
    labels = target > 0
    trailing = not bool((labels[:, 1:] & ~labels[:, :-1]).any())
    return trailing and bool(labels.any(1).all()) and not bool(labels.all())


_GUIDES = {"MarginRankingLoss": _ranking, "CTCLoss": _sequence}
_GUIDES_WORDS = {"MarginRankingLoss": _ranking_words, "CTCLoss": _sequence_words}
