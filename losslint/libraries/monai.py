"""Checks for the conventions of MONAI (rules/monai/).

MONAI's segmentation losses (monai.losses, checked against MONAI 1.6.1) take a prediction
(B, C, H, W[, D]) and a target that is either a label map (B, 1, H, W[, D]) turned into C channels by
the loss (`to_onehot_y=True`) or already one channel per class (B, C, H, W[, D], `to_onehot_y=False`).
What the prediction must hold depends on the configuration: the Dice-family terms score probabilities,
so raw logits need `softmax=True` / `sigmoid=True` / `other_act`; the cross-entropy and focal terms
(DiceCELoss, DiceFocalLoss, FocalLoss, GeneralizedDiceFocalLoss) always take raw logits. The rule
files declare that kind by those switches (`kind_by`), and the one kind check
(checks/kind_contract.py) compares it with the values; what is judged here is the target against
to_onehot_y, the label values and the class weight.

What MONAI does with each mistake (read from monai/losses/dice.py, focal_loss.py, tversky.py and
monai/networks/utils.py:one_hot, and run):
- to_onehot_y=True on a target with C channels: one_hot raises AssertionError 'labels should have a
  channel with length equal to one'; on (B, H, W) the same (dim 1 is H).
- to_onehot_y=False on a (B, 1, ...) label map with C > 1: 'ground truth has different shape'
  (AssertionError; FocalLoss: ValueError). Nothing is broadcast.
- label values outside [0, C) with to_onehot_y=True: one_hot's scatter_ raises 'index 3 is out of bounds
  for dimension 1 with size 3' (negative values too), except values equal to an ignore_index outside
  [0, C), which DiceLoss, TverskyLoss and FocalLoss replace by 0 first. one_hot converts with .long(), so
  fractional labels are truncated silently (and -0.5 becomes 0).
- softmax=True, to_onehot_y=True, include_background=False with one channel: a warning, the option is
  ignored.
"""

from __future__ import annotations

import torch

from ..judging.context import CallContext
from ..checks import check

# How many label values to show in a message.
_SHOW = 5


def _short(ctx: CallContext) -> str:
    return ctx.loss.name.removeprefix("monai.")


@check("monai_segmentation")
def monai_segmentation(
    ctx: CallContext,
    dice: bool = True,
    weight: str | None = None,
    ignore: bool = False,
    bool_target: bool = False,
) -> None:
    """The target's layout against to_onehot_y and its label values (the prediction's kind under the
    activation options is declared in the rule files). dice: the loss has a Dice-family term whose
    softmax=True makes an integer prediction raise. weight: how the loss checks its class weight ('dice', 'ce', 'focal'). ignore: whether
    `ignore_index` values are replaced before the one-hot conversion. bool_target: the loss computes
    1 - target, which raises for a bool target that is not one-hot converted (TverskyLoss, HausdorffDTLoss)."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or inp.ndim < 3:
        return
    channels = inp.shape[1]
    loss = _short(ctx)
    to_onehot = bool(ctx.config.get("to_onehot_y"))
    spatial = inp.shape[2:]
    if tgt.ndim == inp.ndim - 1 and tgt.shape == (inp.shape[0], *spatial):
        # MaskedDiceLoss multiplies the target by its (B, 1, ...) mask first: (B, H, W) broadcasts to
        # (B, B, H, W), which MONAI then takes for a label map (B = 1) or a one-hot target (B = C).
        masked = isinstance(ctx.args.get("mask"), torch.Tensor)
        raises = not (masked and ((to_onehot and inp.shape[0] == 1) or (not to_onehot and inp.shape[0] == channels)))
        ctx.emit(
            "LL201",
            "target",
            f"`target` has shape {list(tgt.shape)}, without the channel dimension; {loss} expects "
            + (f"a label map [{inp.shape[0]}, 1, {', '.join(map(str, spatial))}]" if to_onehot or channels == 1 else f"[{inp.shape[0]}, {channels}, {', '.join(map(str, spatial))}] (one channel per class)"),
            explanation=(
                f"MONAI's losses take the target channel-first like the prediction: (B, 1, H, W[, D]) class labels "
                f"with to_onehot_y=True, or (B, C, H, W[, D]) one-hot. A (B, H, W) target makes {loss} raise "
                "('labels should have a channel with length equal to one', 'ground truth has different shape' or "
                "'the number of dimensions for input and target should be the same')."
            ),
            fix="target.unsqueeze(1) (or EnsureChannelFirstd(keys='label') in the transforms, which keeps the channel dimension)"
            + ("" if to_onehot or channels == 1 else f", with to_onehot_y=True on {loss} to one-hot the label map"),
            observed=tgt.summary,
            expected=f"[{inp.shape[0]}, 1, {', '.join(map(str, spatial))}]",
            torch_raises=raises,
        )
        return
    if tgt.ndim != inp.ndim or tgt.shape[0] != inp.shape[0] or tuple(tgt.shape[2:]) != tuple(spatial):
        return  # no format fits: the engine says which dimension differs
    target_channels = tgt.shape[1]
    if channels == 1:
        _single_channel(ctx, loss)
        if target_channels == 1:
            _binary_values(ctx, loss)
    elif target_channels == 1:
        if not to_onehot:
            ctx.emit(
                "LL712",
                "target",
                f"`target` is a label map {list(tgt.shape)} but to_onehot_y=False: {loss} compares the prediction's "
                f"{channels} channels with the target's channels one for one",
                explanation=f"{ctx.loss.codes['LL712'].why} MONAI does not broadcast the single channel.",
                fix=f"to_onehot_y=True on {loss} (it one-hots the (B, 1, ...) label map into {channels} channels), or "
                f"one-hot the label in the transforms (AsDiscreted(keys='label', to_onehot={channels}))",
                observed=f"{tgt.summary}, to_onehot_y=False",
                expected=f"to_onehot_y=True, or a one-hot target [{inp.shape[0]}, {channels}, {', '.join(map(str, spatial))}]",
                torch_raises=True,
            )
            return
        _label_values(ctx, loss, channels, ignore)
    elif target_channels == channels:
        if to_onehot:
            ctx.emit(
                "LL202",
                "target",
                f"`target` already has {channels} channels {list(tgt.shape)} (one per class) but to_onehot_y=True: "
                f"{loss} would one-hot it a second time",
                explanation=(
                    "to_onehot_y=True expects a label map with one channel (B, 1, H, W[, D]); MONAI's one_hot raises "
                    "'labels should have a channel with length equal to one' for a target of C channels."
                ),
                fix=f"to_onehot_y=False on {loss} (the target is already one-hot), or pass the label map before its AsDiscrete(to_onehot=...)",
                observed=f"{tgt.summary}, to_onehot_y=True",
                expected=f"to_onehot_y=False, or a label map [{inp.shape[0]}, 1, {', '.join(map(str, spatial))}]",
                torch_raises=True,
            )
            return
        _binary_values(ctx, loss, channels)
    else:
        return  # neither 1 nor C channels: the engine's shape finding
    _weight(ctx, loss, weight, channels)
    if not inp.is_floating:
        # MONAI raises for most integer predictions (no integer softmax; `fp *= 0.5` cannot write floats into
        # a Long tensor), but not on every path: a raise is claimed only where it is certain.
        certain = dice and channels > 1 and bool(ctx.config.get("softmax")) and not ctx.config.get("sigmoid")
        ctx.emit(
            "LL104",
            "input",
            f"`input` is {inp.summary}, an integer prediction (an argmax or a thresholded mask?); {loss} needs the model's float output",
            explanation=(
                "An integer prediction carries no gradient, so training cannot learn from it (backward raises 'element 0 of "
                "tensors does not require grad'), and "
                + ("torch.softmax has no integer kernel: with softmax=True MONAI raises." if certain else "MONAI's arithmetic on it raises on most paths.")
            ),
            fix=f"pass the model's float output (the logits) to {loss}, not its argmax or AsDiscrete(threshold=...) result",
            observed=inp.summary,
            expected="a float prediction",
            torch_raises=certain,
        )
        return
    # An ignore_index masks the target first (target * mask), which makes it float.
    if tgt.is_bool and bool_target and not (to_onehot and channels > 1) and ctx.config.get("ignore_index") is None:
        ctx.emit(
            "LL103",
            "target",
            f"`target` is a bool mask {list(tgt.shape)}; {loss} subtracts it (1 - target), which torch rejects for bool",
            explanation=f"{loss} takes the target's complement (false negatives / distance fields); torch raises 'Subtraction, the `-` operator, with a bool tensor is not supported'.",
            fix="target.float()",
            observed=tgt.summary,
            expected="a float (or integer) mask",
            torch_raises=True,
        )


def _single_channel(ctx: CallContext, loss: str) -> None:
    """Options MONAI ignores with a warning when the prediction has one channel."""
    config = ctx.config
    if config.get("softmax") and not config.get("sigmoid"):
        ctx.emit(
            "LL714",
            "softmax",
            f"softmax=True on a single-channel prediction is ignored by {loss}: "
            + ("its Dice term scores the raw values" if config.get("other_act") is None else "only other_act applies"),
            explanation=(
                "MONAI warns 'single channel prediction, `softmax=True` ignored.': a softmax over one channel is 1 "
                "everywhere, so it skips it and the Dice term computes on the raw logits (unbounded, it can exceed 1)."
            ),
            fix="sigmoid=True instead of softmax=True for one foreground channel; or predict 2 channels (out_channels=2) "
            "with softmax=True and to_onehot_y=True",
            observed="softmax=True, input with 1 channel",
            expected="sigmoid=True for one channel",
            severity="warning",
        )
    if config.get("to_onehot_y"):
        ctx.emit(
            "LL714",
            "to_onehot_y",
            f"to_onehot_y=True on a single-channel prediction is ignored by {loss}: the target is used as it is",
            explanation="MONAI warns 'single channel prediction, `to_onehot_y=True` ignored.'; with one channel the target must be the foreground mask itself, values in [0, 1].",
            fix="to_onehot_y=False for a one-channel (foreground) prediction; for one-hot targets predict 2 channels",
            observed="to_onehot_y=True, input with 1 channel",
            expected="to_onehot_y=False",
        )
    if config.get("include_background") is False:
        ctx.emit(
            "LL714",
            "include_background",
            f"include_background=False on a single-channel prediction is ignored by {loss}: the one channel is scored",
            explanation="MONAI warns 'single channel prediction, `include_background=False` ignored.'; removing channel 0 of one channel would leave nothing, so the channel is kept.",
            fix="include_background=True (the single channel is the foreground), or drop the option",
            observed="include_background=False, input with 1 channel",
            expected="include_background=True",
        )


def _binary_values(ctx: CallContext, loss: str, channels: int = 1) -> None:
    """A target of one channel per class (or the foreground mask of one channel): values in [0, 1], soft
    values allowed. A {0, 255} mask that was never scaled, or labels 0..K in one channel, are not."""
    facts = ctx.values("target")
    if facts is None or facts.value_range is None:
        return
    known = facts.value_range
    if known.has_nan or known.has_inf or (known.min >= 0 and known.max <= 1):
        return
    values = facts.distinct_values(_SHOW)
    shown = ", ".join(f"{v:g}" for v in values) if values is not None else f"{known.min:g} to {known.max:g}"
    if channels == 1:
        message = f"`target` has values outside [0, 1] ({shown}) for a single-channel prediction: {loss} reads it as a foreground mask"
        explanation = (
            "With one prediction channel the target is the foreground probability of each voxel; a value of 2 or 255 "
            f"makes the Dice overlap (and a cross-entropy term) meaningless. MONAI accepts it silently. Labels 0..{int(known.max)} "
            f"mean {int(known.max) + 1} classes, which need that many prediction channels."
        )
        fix = f"(target > 0).float() for a binary mask, or out_channels={int(known.max) + 1} on the model with softmax=True and to_onehot_y=True"
    else:
        message = f"`target` has {channels} channels with values outside [0, 1] ({shown}): {loss} reads each channel as a class's mask"
        explanation = (
            "With to_onehot_y=False each target channel is one class's (soft) mask in [0, 1]; a {0, 255} mask that was "
            "never scaled makes the overlaps meaningless, and MONAI accepts it silently."
        )
        fix = "scale the masks to [0, 1] (target / 255, or ScaleIntensityd / AsDiscreted(threshold=0.5) for the label key)"
    ctx.emit(
        "LL402",
        "target",
        message,
        explanation=explanation,
        fix=fix,
        observed=f"{facts.summary}, values {shown}",
        expected="values in [0, 1]",
    )


_ONE_HOT = "to_onehot_y=True turns each label into one of the prediction's {C} channels with MONAI's one_hot, whose scatter"
_GATHER = "GeneralizedWassersteinDiceLoss looks each label up in its {C} x {C} distance matrix with torch.gather, which"


def _label_values(ctx: CallContext, loss: str, channels: int, ignore: bool, how: str = _ONE_HOT) -> None:
    """A label map that the loss one-hots: values must index the C channels (exact, as one_hot needs)."""
    facts = ctx.values("target")
    if facts is None:
        return
    known = facts.value_range
    if known is None:
        return
    ignore_index = ctx.config.get("ignore_index") if ignore else None
    data = ctx.args["target"].detach()
    if not (known.has_nan or known.has_inf) and known.min >= 0 and known.max < channels:
        outside_count = 0
    else:
        # one_hot: labels.long() (truncation), after values equal to an ignore_index outside [0, C) became 0.
        index = data.long() if not facts.is_bool else data.to(torch.int64)
        outside = (index < 0) | (index >= channels)
        if facts.is_floating:
            outside |= ~torch.isfinite(data)
        if ignore_index is not None and (ignore_index < 0 or ignore_index >= channels):
            outside &= data != ignore_index
        outside_count = int(outside.sum())
    if outside_count:
        bad = torch.unique(data[outside])
        finite = bad[torch.isfinite(bad)] if bad.dtype.is_floating_point else bad
        top = int(finite.max()) if finite.numel() else channels
        shown = ", ".join(f"{v:g}" for v in bad[:_SHOW].tolist()) + (", ..." if bad.numel() > _SHOW else "")
        void = bool((bad == 255).any())
        one_based = not void and top == channels and known.min >= 1
        if void:
            code, why = "LL412", "255 is the usual 'void' label of a mask (unlabelled or boundary voxels)"
            fix = f"ignore_index=255 on {loss}" if ignore else "map the void label to a class before the loss (MapLabelValued), or use a loss with ignore_index (DiceLoss, TverskyLoss, FocalLoss)"
        else:
            code, why = "LL401", (
                "the labels look 1-based (no 0, the largest equals C)" if one_based
                else f"the labels need {max(top, channels - 1) + 1} channels, the model predicts {channels}"
            )
            fix = (
                "target - 1 (labels must run 0..C-1), or one more output channel for a background 0"
                if one_based
                else f"out_channels={max(top, channels - 1) + 1} on the model (one channel per label value 0..{max(top, channels - 1)}), or remap the labels "
                "(MapLabelValued(keys='label', orig_labels=..., target_labels=...))"
            )
        ctx.emit(
            code,
            "target",
            f"`target` has {outside_count} voxel{'s' if outside_count > 1 else ''} with labels outside [0, {channels}): {shown}; {why}",
            explanation=(
                how.format(C=channels)
                + f" raises 'index {shown.split(',')[0]} is out of bounds for dimension 1 with size {channels}' "
                "on the CPU, and a device-side assert on CUDA that poisons the process."
            ),
            fix=fix,
            observed=f"{facts.summary}, labels outside [0, {channels}): {shown}",
            expected=f"labels in [0, {channels})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else ""),
            torch_raises=True,
        )
        return
    if facts.is_floating and not known.all_integral:
        fractional = data[(data != data.round()) & torch.isfinite(data)]
        count = int(fractional.numel())
        if count == 0:
            return
        example = ", ".join(f"{v:.3g}" for v in torch.unique(fractional[:4096])[:3].tolist())
        ctx.emit(
            "LL713",
            "target",
            f"`target` is a label map with {count} non-integer value{'s' if count > 1 else ''} ({example}, ...): "
            "labels resampled with interpolation",
            explanation=(
                f"{ctx.loss.codes['LL713'].why} "
                + (f"{loss} one-hots the label map with to_onehot_y=True, which truncates." if how is _ONE_HOT else f"{loss} reads the labels with .long(), which truncates.")
            ),
            fix="resample the label with nearest-neighbour interpolation: mode='nearest' for the label key in "
            "Spacingd / Resized / Orientationd / RandAffined (e.g. mode=('bilinear', 'nearest') for keys=('image', 'label'))",
            observed=f"{facts.summary}, {count} fractional values",
            expected="integer class labels",
            confidence="strong",
        )


def _weight(ctx: CallContext, loss: str, weight: str | None, channels: int) -> None:
    """A per-class weight whose length MONAI rejects (ValueError / CrossEntropyLoss's RuntimeError)."""
    if weight is None:
        return
    value = ctx.config.get("weight")
    if not isinstance(value, torch.Tensor) or value.ndim == 0:
        return
    length = value.numel() if value.ndim == 1 else value.shape[0]
    background = ctx.config.get("include_background", True) is not False
    # The channels scored once include_background=False has dropped channel 0 (MONAI ignores it for one).
    scored = channels if background or channels == 1 else channels - 1
    if weight == "ce" and channels == 1:
        return  # BCEWithLogitsLoss broadcasts it as pos_weight; the Dice term skips a weight for one class
    if weight == "dice" and scored == 1:
        return  # DiceLoss applies no class weight to a single scored channel
    if weight == "focal" and scored == 1:
        ctx.emit(
            "LL206",
            "weight",
            f"`weight` holds {length} per-class value{'s' if length > 1 else ''} for a single scored channel; {loss} rejects a per-class weight there",
            explanation=f"{loss} raises 'Per-class class_weight is not supported for single-channel outputs.'",
            fix="a scalar weight (weight=2.0), or no weight",
            observed=f"weight of {length}, {scored} scored channel (prediction with {channels}, include_background={background})",
            expected="a scalar weight",
            torch_raises=True,
        )
        return
    if weight == "ce":
        expected, what = channels, f"one per class of the prediction, background included ({channels}): DiceCELoss hands it to nn.CrossEntropyLoss and gives its Dice term weight[1:] when include_background=False"
    else:
        expected = scored
        what = (
            f"one per scored class ({scored})" + ("" if background else ": include_background=False leaves class 0 out of the weight")
        )
    if length == expected:
        return
    ctx.emit(
        "LL206",
        "weight",
        f"`weight` has {length} values; {loss} needs {what}",
        explanation=(
            f"{loss} checks the class weight's length against the classes it scores and raises "
            "('The length of the `weight` sequence should be the same as the number of classes' or a cross-entropy weight error)."
        ),
        fix=f"a weight of {expected} values"
        + (" (one per class, background included)" if weight == "ce" else "" if background else " (drop the background's weight, or include_background=True)"),
        observed=f"weight of {length}, prediction with {channels} channels, include_background={background}",
        expected=f"{expected} values",
        torch_raises=True,
    )


@check("monai_wasserstein")
def monai_wasserstein(ctx: CallContext) -> None:
    """GeneralizedWassersteinDiceLoss: logits (B, C, ...) with the softmax inside, a label map of B x the
    prediction's voxels in any layout ((B, H, W) or (B, 1, H, W); it is reshaped to (B, -1) and .long()),
    and a C x C distance matrix."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or inp.ndim < 2 or tgt.ndim < 1:
        return
    loss = _short(ctx)
    channels = inp.shape[1]
    voxels = 1
    for size in inp.shape[2:]:
        voxels *= size
    matrix = ctx.config.get("dist_matrix")
    if isinstance(matrix, torch.Tensor) and matrix.ndim == 2 and matrix.shape[0] != channels and channels != 1:
        ctx.emit(
            "LL206",
            "dist_matrix",
            f"`dist_matrix` is {matrix.shape[0]} x {matrix.shape[1]} for a prediction of {channels} channels",
            explanation=f"{loss} weighs each voxel's {channels} probabilities by a row of the distance matrix; torch raises a size mismatch.",
            fix=f"a {channels} x {channels} distance matrix (one row and column per class, background included)",
            observed=f"{matrix.shape[0]} x {matrix.shape[1]}, input with {channels} channels",
            expected=f"{channels} x {channels}",
            torch_raises=True,
        )
        return
    if tgt.shape[0] != inp.shape[0] or tgt.numel == 0:
        return  # a target batch of one broadcasts; other layouts are not judged
    per_sample = tgt.numel // tgt.shape[0]
    if per_sample != voxels and per_sample != 1:
        one_hot = tgt.ndim == inp.ndim and tgt.shape[1] == channels and tuple(tgt.shape[2:]) == tuple(inp.shape[2:])
        ctx.emit(
            "LL202" if one_hot else "LL201",
            "target",
            (f"`target` is one-hot {list(tgt.shape)}; {loss} takes a label map (B, H, W[, D]) or (B, 1, H, W[, D])" if one_hot
             else f"`target` has {per_sample} values per sample; {loss} needs one label per voxel of the prediction ({voxels})"),
            explanation=f"{loss} reshapes the target to (B, -1) and gathers one distance-matrix row per label: a target of another size per sample makes torch raise a size mismatch.",
            fix="target.argmax(dim=1, keepdim=True) (the label map of a one-hot target)" if one_hot else f"one label per voxel: shape {[inp.shape[0], 1, *inp.shape[2:]]}",
            observed=tgt.summary,
            expected=f"{[inp.shape[0], 1, *inp.shape[2:]]} or {[inp.shape[0], *inp.shape[2:]]}",
            torch_raises=True,
        )
        return
    if per_sample == voxels:
        _label_values(ctx, loss, channels, False, how=_GATHER)
