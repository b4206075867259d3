"""Checks for the conventions of timm (rules/timm/).

timm's classification losses come in two families that training scripts switch between: class indices
(LabelSmoothingCrossEntropy, JsdCrossEntropy, nn.CrossEntropyLoss for validation) and dense soft targets
(SoftTargetCrossEntropy, and BinaryCrossEntropy, which takes both), the soft ones made by Mixup/CutMix
from class indices with a `num_classes` that defaults to 1000. The classic mistakes are a target of the
other family and a Mixup width that is not the model's class count; the checks here name them in timm's
terms. Metadata first; values (one-hot or soft rows) only at values depth, on a bounded sample.
"""

from __future__ import annotations

import torch

from ..evidence import kinds
from ..judging.context import CallContext
from ..language.shapes import broadcast_shape
from ..checks import check
from ..checks.classification import _emit_one_hot, _one_hot_rows, diagnose_class_target_shape

MIXUP_DEFAULT_CLASSES = 1000


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _mixup_width(ctx: CallContext, width: int, classes: int, raises: bool, why_tail: str) -> None:
    tgt = ctx.fact("target")
    default = width == MIXUP_DEFAULT_CLASSES
    ctx.emit(
        "LL721",
        "target",
        f"`target` has {width} classes per row ({tgt.summary}) but `input` has {classes}"  # type: ignore[union-attr]
        + ("; 1000 is the default num_classes of timm's Mixup/CutMix" if default else ""),
        explanation=(
            f"Soft targets are made by timm.data.Mixup / FastCollateMixup from class indices with `num_classes` "
            f"columns{' (default 1000, for ImageNet)' if default else ''}; the model has {classes} outputs. "
            + why_tail
        ),
        fix=f"Mixup(..., num_classes={classes})  # the model's class count, as in timm.create_model(..., num_classes={classes})",
        observed=f"target {tgt.summary}, prediction with {classes} classes",  # type: ignore[union-attr]
        expected=f"target [..., {classes}]",
        torch_raises=raises,
    )


def _soft_rows(ctx: CallContext, argument: str, dim: int = -1) -> kinds.Normalization | None:
    """Rows that are class distributions (non-negative, summing to 1): Mixup/CutMix or smoothed labels."""
    facts = ctx.values(argument)
    if facts is None or not facts.is_floating or facts.ndim < 1:
        return None
    sample = facts.sample_rows(0)
    if sample is None or sample.numel() == 0 or not bool(torch.isfinite(sample).all()):
        return None
    norm = kinds.normalization(sample, dim % facts.ndim)
    if norm is None or not norm.is_probabilities(max(kinds.tolerance(facts.dtype), 1e-3)):
        return None
    return norm


_SOFT_TARGET_FORMULA = "sum(-target * log_softmax(x, dim=-1))"


@check("timm_soft_target")
def timm_soft_target(
    ctx: CallContext,
    computes: str = _SOFT_TARGET_FORMULA,
    index_fix: str | None = None,
    bool_raises: bool = True,
) -> None:
    """SoftTargetCrossEntropy: `-target * log_softmax(x, -1)` broadcasts, so the target's shape decides
    between a size error and a silently meaningless loss. computes: the formula, for the message (other
    dense-target losses: AsymmetricLossMultiLabel); index_fix: the fix for class indices; bool_raises:
    False where the loss converts the target with .float() first."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or ctx.format is None or inp.ndim == 0:
        return
    classes = inp.shape[-1]
    lead, ts = inp.shape[:-1], tgt.shape
    fits = broadcast_shape(ts, inp.shape)
    raises = fits is None or fits != inp.shape
    name = ctx.loss.name.removeprefix("timm.")
    if lead and (ts == lead or (ts == lead + (1,) and classes != 1)):
        silent = "" if raises else (
            f" Here it does not raise: the {_shape(ts)} target broadcasts against the {_shape(inp.shape)} "
            "log-probabilities" + (" because N == C" if ts == lead else "")
            + ", and each column is multiplied by a label: the loss is meaningless."
        )
        ctx.emit(
            "LL722",
            "target",
            f"`target` {tgt.summary} looks like class indices; {name} takes soft targets of `input`'s shape {_shape(inp.shape)}",
            explanation=(
                f"{name} computes {computes}: it has no class-index form. "
                + ("The shapes do not broadcast, so torch raises a size error." if raises else silent.strip())
                + " Batches without Mixup/CutMix (validation, or mixup switched off) carry class indices."
            ),
            fix=(index_fix.format(C=classes) if index_fix else (
                "nn.CrossEntropyLoss() (or timm's LabelSmoothingCrossEntropy) for class-index targets, as timm's "
                f"train.py does for validation; or soft targets: Mixup(..., num_classes={classes}), or "
                f"F.one_hot(target, {classes}).float()"
            )),
            observed=tgt.summary,
            expected=f"float{list(inp.shape)} class probabilities",
            torch_raises=raises,
            replaces=("LL402",),
        )
        return
    if tgt.ndim == inp.ndim and ts[:-1] == lead and ts[-1] not in (classes, 1):
        _mixup_width(
            ctx, ts[-1], classes, True,
            f"torch raises 'The size of tensor a ({ts[-1]}) must match the size of tensor b ({classes})'.",
        )
        return
    if raises:
        code = "LL207" if tgt.ndim == inp.ndim and ts[1:] == inp.shape[1:] and ts[:1] != inp.shape[:1] else "LL201"
        ctx.emit(
            code,
            "target",
            f"`target` has shape {_shape(ts)}; expected `input`'s shape {_shape(inp.shape)}",
            explanation=f"{name} multiplies the target with the (N, C) log-probabilities; {_shape(ts)} does not broadcast to {_shape(inp.shape)}, so torch raises a size error.",
            fix="build the target from the same batch as the input (check drop_last / the last partial batch)" if code == "LL207" else f"a target of shape {_shape(inp.shape)}",
            observed=tgt.summary,
            expected=f"{list(inp.shape)}",
            torch_raises=True,
        )
        return
    if tgt.is_bool and bool_raises:
        ctx.emit(
            "LL103",
            "target",
            f"`target` is bool ({tgt.summary}); expected a float (or integer) soft target",
            explanation=f"{name} negates the target (-target), which torch does not support for bool tensors: it raises NotImplementedError.",
            fix="target.float()",
            observed=tgt.summary,
            expected="float class probabilities",
            torch_raises=True,
        )


_GATHER = "gathers the log-probability of one class per sample (target.unsqueeze(1) as an index): timm raises 'gather(): Expected dtype int32/int64 for index'"


@check("timm_index_target")
def timm_index_target(ctx: CallContext, reads: str = _GATHER, by: str = "gather") -> None:
    """LabelSmoothingCrossEntropy: class indices (N,) only. Name the dense targets (one-hot, Mixup's soft
    rows) and the sequence layout, which timm accepts silently; the rest is the shared diagnosis.
    reads: how the loss reads the target, for the message; by: "gather" (LabelSmoothingCrossEntropy:
    a shorter index is taken, a single label broadcasts) or "scatter" (AsymmetricLossSingleLabel's
    one-hot scatter_: a shorter target leaves rows without a class, a longer one raises)."""
    if ctx.format is not None:
        return
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    i, t = inp.shape, tgt.shape
    name = ctx.loss.name.removeprefix("timm.")
    if inp.ndim >= 3 and t == i[:-1]:
        raises = False
        if by == "scatter":
            # scatter_ along dim 1 (the positions), so a label >= T raises and smaller ones pass.
            facts = ctx.values("target")
            known = facts.value_range if facts is not None else None
            raises = known is not None and known.max >= i[1]
        # log_softmax and gather over the last dim, with index target.unsqueeze(1): (N, 1, T) picks
        # positions of row 0 of each sample; no error.
        ctx.emit(
            "LL201",
            "input",
            f"`input` is {inp.summary}, a sequence of logits; {name} takes (N, C) logits and (N,) class indices",
            explanation=(
                f"{name} gathers log-probabilities with target.unsqueeze(1) along the last dim: for (N, T, C) logits "
                "and (N, T) targets timm raises nothing, but every target is scored against the first position's "
                "log-probabilities, so the loss is meaningless."
                if by == "gather" else
                f"{name} one-hot encodes the target with scatter_ along dim 1, which here is the sequence dim: "
                + ("a label >= T raises." if raises else "labels below T are written into the wrong dim without an error, and a label >= T raises.")
            ),
            fix="loss_fn(x.flatten(0, 1), target.flatten())",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"input [{i[0] * i[1] if inp.ndim == 3 else 'N'}, {i[-1]}], target [{i[0] * i[1] if inp.ndim == 3 else 'N'}]",
            torch_raises=raises,
        )
        return
    if inp.ndim == 2 and tgt.ndim == 1 and t[0] != i[0]:
        # gather takes a smaller index; a (1,) target then broadcasts against the (N,) smoothing term.
        # scatter_ takes a smaller index too, and leaves the other rows without a class.
        raises = t[0] != 1 if by == "gather" else t[0] > i[0]
        ctx.emit(
            "LL207",
            "target",
            f"`target` has batch size {t[0]}; `input` has {i[0]}",
            explanation=(
                "timm raises a size error." if raises
                else f"timm raises nothing: the one label is scored against the first sample and broadcast over the batch of {i[0]}, a meaningless loss."
                if by == "gather" else f"timm raises nothing: the last {i[0] - t[0]} samples get no class at all, a meaningless loss."
            ),
            fix="build the target from the same batch as the input (check drop_last / the last partial batch)",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"target [{i[0]}]",
            torch_raises=raises,
        )
        return
    if inp.ndim == 2 and t == i:
        rows = _one_hot_rows(ctx, "target")
        if rows is not None:
            _emit_one_hot(ctx, rows, torch_raises=True, replaces=("LL102", "LL103"))
            return
        if _soft_rows(ctx, "target") is not None:
            ctx.emit(
                "LL202",
                "target",
                f"`target` holds soft targets ({tgt.summary}, rows summing to 1: Mixup/CutMix or smoothed labels); {name} takes class indices of shape [{i[0]}]",
                explanation=(
                    f"{name} {reads}. Mixup and CutMix mix the labels of two images, which a class index cannot say."
                ),
                fix="SoftTargetCrossEntropy() with Mixup/CutMix targets (Mixup's label_smoothing already smooths them), as timm's train.py does",
                observed=f"{tgt.summary}, rows sum to 1",
                expected=f"int64[{i[0]}] class indices",
                torch_raises=True,
                confidence="strong",
                replaces=("LL102", "LL103"),
            )
            return
    diagnose_class_target_shape(ctx, float_one_hot=True)


@check("timm_bce_target")
def timm_bce_target(ctx: CallContext) -> None:
    """BinaryCrossEntropy reads any target not of x's shape as class indices: a Mixup target of another
    width becomes N * K indices and scatter_ raises."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or ctx.format is None or ctx.format.name != "class-indices":
        return
    i, t = inp.shape, tgt.shape
    if tgt.numel == i[0]:
        return  # (N,) or (N, 1): class indices
    if tgt.ndim == 2 and tgt.is_floating:
        _mixup_width(
            ctx, t[1], i[1], True,
            "BinaryCrossEntropy reads a target that is not of x's shape as class indices and one-hot encodes "
            f"its {tgt.numel} values into ({i[0]}, {i[1]}): scatter_ raises 'Expected index [{tgt.numel}, 1] to be "
            f"no larger than self [{i[0]}, {i[1]}]'.",
        )
        return
    ctx.emit(
        "LL201",
        "target",
        f"`target` has shape {_shape(t)}; expected x's shape {_shape(i)} (dense) or class indices [{i[0]}]",
        explanation=(
            f"BinaryCrossEntropy reads a target that is not of x's shape as class indices (target.long().view(-1, 1)): "
            f"{tgt.numel} of them for {i[0]} samples, and scatter_ raises."
        ),
        fix=f"a float target of x's shape {_shape(i)}, or class indices of shape ({i[0]},)",
        observed=tgt.summary,
        expected=f"{list(i)} or [{i[0]}]",
        torch_raises=True,
    )


@check("timm_jsd_splits")
def timm_jsd_splits(ctx: CallContext) -> None:
    """JsdCrossEntropy: the batch is num_splits equal parts; the target labels the clean split."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    splits = ctx.config.get("num_splits")
    if inp is None or ctx.format is None or not isinstance(splits, int) or isinstance(splits, bool) or splits < 1:
        return
    batch = inp.shape[0]
    split = batch // splits
    if split * splits != batch or split == 0:
        ctx.emit(
            "LL723",
            "input",
            f"`output` has a batch of {batch}, which is not num_splits={splits} equal splits",
            explanation=(
                f"JsdCrossEntropy asserts split_size * num_splits == batch (here {split} * {splits} != {batch}): timm raises "
                "an AssertionError. The batch must hold the clean images and then each of the num_splits - 1 "
                "augmentations of them, as timm's AugMixDataset and its collate lay it out."
            ),
            observed=f"batch {batch}, num_splits {splits}",
            expected=f"a batch of num_splits * N ({splits} * N)",
            torch_raises=True,
        )
        return
    if tgt is None or tgt.ndim != 1 or tgt.shape[0] >= split:
        return
    smoothing = ctx.config.get("smoothing")
    # With smoothing, LabelSmoothingCrossEntropy's gather takes a shorter index and a single label then
    # broadcasts over the split; nn.CrossEntropyLoss (smoothing 0) checks the batch size.
    raises = not (tgt.shape[0] == 1 and isinstance(smoothing, (int, float)) and smoothing > 0)
    ctx.emit(
        "LL207",
        "target",
        f"`target` has {tgt.shape[0]} labels; the clean split of `output` has {split} images (batch {batch} / num_splits {splits})",
        explanation=(
            f"JsdCrossEntropy scores the first split against target[:{split}]: "
            + ("the sizes disagree and the cross entropy raises." if raises else "timm raises nothing, the one label is broadcast over the split: a meaningless loss.")
        ),
        fix=f"one label per clean image (target of {split}), as timm's AugMixDataset collate gives, or one per image of the batch ({batch})",
        observed=f"target {tgt.summary}, output {inp.summary}",
        expected=f"target [{split}] or [{batch}]",
        torch_raises=raises,
    )
