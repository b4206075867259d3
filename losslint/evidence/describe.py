"""What a prediction and a target hold, in the kinds of `losslint.language.vocabulary`, with the evidence.

Built on what `check()` observes (`facts.TensorFacts`: summaries, exact value ranges, distinct values)
and on its value-kind tests (`kinds.normalization`, `kinds.binary_rows`), so that `suggest()` and
`check()` never disagree about what a tensor is. Each description says what was seen ("every row sums
to 1 over dim 1 (all 32 rows)"), and which other kinds the values would also fit when they are ambiguous
(raw embeddings and logits look alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from . import kinds
from .facts import TensorFacts, describe_value
from ..language.vocabulary import PREDICTION_KINDS, TARGET_KINDS


@dataclass(frozen=True)
class Description:
    """One tensor as suggest() sees it; summaries only, never the tensor."""

    summary: str  # f32[32, 10]
    kind: str | None  # a key of vocabulary.PREDICTION_KINDS or TARGET_KINDS; None: not recognized
    evidence: str  # what the kind was read from
    alternatives: tuple[str, ...] = field(default=())  # other kinds these values fit as well
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    # Class indices that also hold an ignore label (-100, torch's default ignore_index; 255, the void
    # label of segmentation masks): only a loss with an ignore_index takes them.
    ignore: int | None = None
    # How the kind reads where the task changes it ("real-valued predictions" for a regression head).
    named: str | None = None
    # The expression over `target` that makes the values the kind they are read as, where they need one
    # whatever the loss (a {0, 255} mask against a 2-class head: `(target / 255).long()`); suggest()
    # applies it before any conversion of the loss's own.
    conversion: str | None = None
    # The layout both tensors need first, as (an expression over `input`, one over `target`), where the
    # target says the classes are not dim 1: a teacher's distributions over the last dim of (N, L, V)
    # token logits, flattened to one distribution per row.
    layout: tuple[str, str] | None = None

    @property
    def words(self) -> str:
        if self.kind is None:
            return "not recognized"
        if self.named:
            return self.named
        return PREDICTION_KINDS.get(self.kind) or TARGET_KINDS.get(self.kind, self.kind)

    def __str__(self) -> str:
        also = f"; could also be {', '.join(_words(k) for k in self.alternatives)}" if self.alternatives else ""
        return f"{self.summary} {self.words}: {self.evidence}{also}" if self.kind else f"{self.summary}: {self.evidence}"

    def to_dict(self) -> dict:
        return {
            "summary": self.summary,
            "kind": self.kind,
            "words": self.words,
            "evidence": self.evidence,
            "alternatives": list(self.alternatives),
            "shape": list(self.shape) if self.shape is not None else None,
            "dtype": self.dtype,
            "ignore": self.ignore,
            "conversion": self.conversion,
            "layout": list(self.layout) if self.layout else None,
        }


def _words(kind: str) -> str:
    return PREDICTION_KINDS.get(kind) or TARGET_KINDS.get(kind, kind)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3g}"


def _unreadable(value: object) -> Description | None:
    """A description for what has no values to read (not a tensor, meta, empty, complex), else None."""
    if not isinstance(value, torch.Tensor):
        return Description(describe_value(value), None, "not a tensor")
    facts = TensorFacts(value)
    if not facts.values_readable:
        why = "no values to read" if facts.is_meta or facts.numel == 0 else "its values cannot be inspected"
        return Description(facts.summary, None, why, shape=facts.shape, dtype=str(facts.dtype).removeprefix("torch."))
    return None


IGNORE_INDEX = -100  # torch's default ignore_index
VOID_LABEL = 255  # the void/boundary label of segmentation masks


def _ignore_label(value: torch.Tensor, classes: int) -> int | None:
    """The one ignore label that the values outside [0, classes) all are, else None: a negative one (-100,
    torch's default; -1, the unlabeled or padding mark of many datasets) or 255 (the void label of masks).
    Another positive value is no ignore label: the labels may run from 1 to C."""
    with torch.no_grad():
        data = value.detach().reshape(-1)
        outside = data[(data < 0) | (data >= classes)]
        if outside.numel() == 0 or outside.numel() == data.numel():
            return None
        label = int(outside[0])
        if (label < 0 or label == VOID_LABEL) and bool((outside == label).all()):
            return label
    return None


def _ignore_words(label: int) -> str:
    if label == IGNORE_INDEX:
        return "ignored by CrossEntropyLoss/NLLLoss's default ignore_index"
    if label == VOID_LABEL:
        return "the usual void label of segmentation masks: pass ignore_index=255"
    return f"an ignore label: pass ignore_index={label}"


def _each(shape: tuple[int, ...], noun: str = "value") -> str:
    """"one value per sample", per pixel where there are spatial dims, or a single value for a 0-d tensor."""
    if len(shape) == 0:
        return f"a single {noun}"
    return f"one {noun} per " + ("pixel" if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1) else "sample")


def has_class_dim(shape: tuple[int, ...]) -> bool:
    """A prediction of shape (N, C, *d) with C >= 2 holds one score per class; (N,) and (N, 1) one per sample."""
    return len(shape) >= 2 and shape[1] >= 2


def describe_prediction(value: object) -> Description:
    unreadable = _unreadable(value)
    if unreadable is not None:
        return unreadable
    facts = TensorFacts(value)  # type: ignore[arg-type]
    made = dict(summary=facts.summary, shape=facts.shape, dtype=str(facts.dtype).removeprefix("torch."))
    vr = facts.value_range
    if not facts.is_floating:
        return Description(kind=None, evidence="integer values; a model's output is floating point", **made)
    if vr is None or vr.has_nan or vr.has_inf or math.isnan(vr.min):
        return Description(kind=None, evidence="non-finite values (NaN or inf)", **made)
    spread = f"values in [{vr.min:.3g}, {vr.max:.3g}]"
    if has_class_dim(facts.shape):
        sample = facts.sample_rows(0)
        norm = kinds.normalization(sample, 1)
        tol = kinds.tolerance(facts.dtype)
        rows = f"{norm.rows} rows" if norm is not None else "rows"
        if norm is not None and norm.is_probabilities(tol):
            return Description(kind="probabilities", evidence=f"non-negative, every row sums to 1 over dim 1 ({rows}): softmax outputs", **made)
        if norm is not None and norm.is_log_probabilities(tol):
            return Description(kind="log_probabilities", evidence=f"every row's logsumexp over dim 1 is 0 ({rows}): log_softmax outputs", **made)
        row_norms = sample.movedim(1, -1).reshape(-1, facts.shape[1]).norm(dim=1)
        if bool(((row_norms - 1).abs() <= 10 * tol).all()) and vr.min < 0:
            return Description(kind="embeddings", evidence=f"every row has L2 norm 1 ({rows}): normalized feature vectors", **made)
        if vr.min >= 0 and vr.max <= 1 and facts.numel >= kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE:
            return Description(kind="probabilities", evidence="every value lies in [0, 1] and rows do not sum to 1: sigmoid outputs", **made)
        return Description(
            kind="logits", evidence=f"{spread}, rows not normalized", alternatives=("embeddings",), **made
        )
    if vr.min >= 0 and vr.max <= 1 and facts.numel >= kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE:
        return Description(kind="probabilities", evidence=f"{_each(facts.shape)}, every one in [0, 1]: sigmoid outputs", alternatives=("distances",), **made)
    if vr.max <= 0 and facts.numel >= kinds.MIN_ELEMENTS_FOR_RANGE_EVIDENCE:
        return Description(kind="log_probabilities", evidence=f"{_each(facts.shape)}, every one <= 0: log-sigmoid outputs", alternatives=("logits",), **made)
    if vr.min >= 0:
        return Description(kind="distances", evidence=f"{_each(facts.shape)}, non-negative, up to {vr.max:.3g}", alternatives=("logits",), **made)
    return Description(kind="logits", evidence=f"{_each(facts.shape, 'score')}, {spread}", **made)


def describe_target(value: object, prediction: object = None, prediction_kind: str | None = None) -> Description:
    """The target's kind, judged against the prediction's shape where there is one (an embedding's
    dim 1 holds features, not classes)."""
    unreadable = _unreadable(value)
    if unreadable is not None:
        return unreadable
    facts = TensorFacts(value)  # type: ignore[arg-type]
    made = dict(summary=facts.summary, shape=facts.shape, dtype=str(facts.dtype).removeprefix("torch."))
    vr = facts.value_range
    if vr is None or vr.has_nan or vr.has_inf or math.isnan(vr.min):
        return Description(kind=None, evidence="non-finite values (NaN or inf)", **made)
    pred_shape = tuple(prediction.shape) if isinstance(prediction, torch.Tensor) else None
    per_class = pred_shape is not None and has_class_dim(pred_shape) and prediction_kind != "embeddings"
    classes = pred_shape[1] if per_class else None  # type: ignore[index]
    without_class_dim = per_class and facts.shape == pred_shape[:1] + pred_shape[2:]  # type: ignore[index]
    # (N, 1) class indices against (N, C) scores: a column that .squeeze(1) makes the (N,) torch wants.
    column = per_class and facts.shape == pred_shape[:1] + (1,) + pred_shape[2:]  # type: ignore[index]
    in_range = column and vr.all_integral and not facts.is_floating and vr.min >= 0 and vr.max < classes  # type: ignore[operator]
    ignored = _ignore_label(value, classes) if column and vr.all_integral and not facts.is_floating and not in_range else None  # type: ignore[arg-type]
    if in_range or ignored is not None:
        return Description(
            kind="class_indices",
            evidence=f"integers in [0, {classes}) in a column of size 1 at dim 1: target.squeeze(1) gives the shape torch wants"
            + (f"; with {ignored} (an ignore label)" if ignored is not None else ""),
            ignore=ignored,
            **made,
        )
    # Classes last, (N, L, C) token logits or (N, H, W, C) maps, against labels of the leading dims: class
    # indices (with an ignore label) all the same; the loss's check says where the classes must go.
    classes_last = (
        pred_shape is not None and len(pred_shape) >= 3 and prediction_kind != "embeddings" and pred_shape[-1] >= 2
        and facts.shape == pred_shape[:-1] and not without_class_dim and vr.all_integral and not facts.is_floating
    )
    if classes_last:
        last = pred_shape[-1]  # type: ignore[index]
        # -100 (token padding) or 255 (the void label of a channels-last mask), as for classes at dim 1.
        ignored = _ignore_label(value, last)
        if (vr.min >= 0 and vr.max < last) or ignored is not None:
            return Description(
                kind="class_indices",
                evidence=f"integers in [0, {last}), one per position of the prediction's leading dims: its {last} classes are its last dim"
                + (f"; with {ignored} (an ignore label)" if ignored is not None else ""),
                ignore=ignored,
                **made,
            )
    # Distributions (or log-distributions) along the last dim of a prediction of the same shape, (N, L, V)
    # token logits against a teacher's softmax over the vocabulary: the classes are last, and every loss
    # takes them as one distribution per row once both are flattened (KLDivLoss's batchmean included).
    same_layout = (
        pred_shape is not None and len(pred_shape) >= 3 and facts.shape == pred_shape and facts.is_floating
        and prediction_kind != "embeddings" and pred_shape[-1] >= 2
    )
    if same_layout:
        sample = facts.sample_rows(0)
        tol = kinds.tolerance(facts.dtype)
        along_1, along_last = kinds.normalization(sample, 1), kinds.normalization(sample, -1)
        normalized_1 = along_1 is not None and (along_1.is_probabilities(tol) or along_1.is_log_probabilities(tol))
        if along_last is not None and not normalized_1:
            flat = ("input.flatten(0, -2)", "target.flatten(0, -2)")
            last = pred_shape[-1]  # type: ignore[index]
            if along_last.is_probabilities(tol) and vr.all_integral:
                # {0, 1} with one 1 per row over the last dim: one-hot labels of the tokens, also class probabilities.
                return Description(kind="one_hot", evidence=f"{{0, 1}} with exactly one 1 per row over the last dim ({along_last.rows} rows): the prediction's {last} classes are its last dim", alternatives=("distribution",), layout=flat, **made)
            if along_last.is_probabilities(tol):
                return Description(kind="distribution", evidence=f"non-negative, every row sums to 1 over the last dim ({along_last.rows} rows): the prediction's {last} classes are its last dim", layout=flat, **made)
            if along_last.is_log_probabilities(tol):
                return Description(kind="log_distribution", evidence=f"every row's logsumexp over the last dim is 0 ({along_last.rows} rows): the prediction's {last} classes are its last dim", layout=flat, **made)
    distinct = set(facts.distinct_values(3) or ())
    where = "pixel" if pred_shape is not None and len(pred_shape) > 2 else "sample"
    # One score per pixel, (N, 1, *d) or channels-last (N, *d, 1), against a mask of the pixels (with or
    # without the channel): a binary segmentation mask.
    mask_of_one_channel = pred_shape is not None and len(pred_shape) > 2 and (
        (pred_shape[1] == 1 and facts.shape in (pred_shape[:1] + pred_shape[2:], pred_shape))
        or (pred_shape[-1] == 1 and facts.shape in (pred_shape[:-1], pred_shape))
    )
    if distinct == {0.0, 255.0} and (facts.shape == pred_shape or mask_of_one_channel):
        # An image mask loaded as 0/255 (uint8, as image files hold it) and never scaled: binary labels,
        # once divided by 255; with or without the channel of the one-score-per-pixel head.
        return Description(kind="binary", evidence="every value is 0 or 255: a binary mask that was never scaled (target / 255)", **made)
    if mask_of_one_channel and vr.all_integral and distinct and distinct <= {0.0, 1.0}:
        return Description(kind="binary", evidence="every value is 0 or 1, one per pixel: a binary mask", **made)
    # Rows over dim 1, one per sample: one-hot, multi-hot, distributions (also against a mismatched prediction).
    rows_shape = facts.ndim >= 2 and facts.shape[1] >= 2 and (pred_shape is None or pred_shape[:1] == facts.shape[:1])
    if vr.all_integral:
        if distinct and distinct <= {-1.0, 1.0} and -1.0 in distinct:
            return Description(kind="signed", evidence="every value is -1 or 1", **made)
        if without_class_dim and classes == 2 and distinct == {0.0, 255.0}:
            # A binary mask loaded as 0/255 against a head of two classes (background, foreground): 255 is
            # the foreground, not the void label; reading it as void would drop every foreground pixel.
            return Description(
                kind="class_indices",
                evidence=f"every value is 0 or 255, one per {where}, against 2 classes: a binary mask that was never scaled; (target / 255).long() gives the classes 0 and 1",
                conversion="(target / 255).long()",
                **made,
            )
        if without_class_dim and vr.min >= 0 and vr.max < classes:  # type: ignore[operator]
            return Description(kind="class_indices", evidence=f"integers in [0, {classes}), one per {where}: the prediction has {classes} classes", **made)
        ignored = _ignore_label(value, classes) if without_class_dim and not facts.is_floating else None  # type: ignore[arg-type]
        if ignored is not None:
            why = _ignore_words(ignored)
            return Description(
                kind="class_indices",
                evidence=f"integers in [0, {classes}), one per {where}: the prediction has {classes} classes; with {ignored} ({why})",
                ignore=ignored,
                **made,
            )
        if rows_shape and distinct and distinct <= {0.0, 1.0}:
            rows = kinds.binary_rows(facts.sample_rows(0), 1)
            if rows is not None and rows.one_hot:
                # Float one-hot rows are also class probabilities (CrossEntropyLoss takes them so).
                also = ("distribution",) if facts.is_floating else ()
                return Description(kind="one_hot", evidence=f"{{0, 1}} with exactly one 1 per row over dim 1 ({rows.rows} rows)", alternatives=also, **made)
            if rows is not None:
                return Description(kind="multi_hot", evidence=f"{{0, 1}} with {rows.ones_min} to {rows.ones_max} ones per row over dim 1", **made)
        if rows_shape and vr.min == -1 and facts.is_integral and vr.max >= 0:
            return Description(kind="index_lists", evidence="integers from -1 up, one row per sample: class indices padded with -1", **made)
        if distinct and distinct <= {0.0, 1.0}:
            return Description(kind="binary", evidence=f"every value is 0 or 1, {_each(facts.shape, 'label')}", **made)
        # Against one raw score per sample (a regression head), non-negative integers are counts; against
        # distances or embeddings they are the class labels of metric learning.
        if vr.min >= 0 and pred_shape is not None and not per_class and prediction_kind == "logits":
            return Description(kind="counts", evidence=f"non-negative integers up to {_number(vr.max)}, against one score per sample", alternatives=("class_indices",), **made)
        if vr.min >= 0 and not facts.is_floating:
            return Description(kind="class_indices", evidence=f"non-negative integers from {_number(vr.min)} to {_number(vr.max)}", **made)
    if facts.is_floating and rows_shape and vr.min >= 0:
        norm = kinds.normalization(facts.sample_rows(0), 1)
        if norm is not None and norm.is_probabilities(kinds.tolerance(facts.dtype)):
            return Description(kind="distribution", evidence=f"non-negative, every row sums to 1 over dim 1 ({norm.rows} rows)", **made)
    if facts.is_floating and rows_shape and vr.max <= 0:
        # A teacher's log_softmax output: KLDivLoss takes it with log_target=True, cross entropy after exp().
        norm = kinds.normalization(facts.sample_rows(0), 1)
        if norm is not None and norm.is_log_probabilities(kinds.tolerance(facts.dtype)):
            return Description(kind="log_distribution", evidence=f"every row's logsumexp over dim 1 is 0 ({norm.rows} rows): log_softmax outputs", **made)
    if facts.is_floating and vr.min >= 0 and vr.max <= 1:
        return Description(kind="soft_labels", evidence="values in [0, 1], not only 0 and 1" + (", rows do not sum to 1" if rows_shape else ""), **made)
    return Description(kind="real_values", evidence=f"values in [{vr.min:.3g}, {vr.max:.3g}]", **made)
