"""Checks for the conventions of torchvision.ops and torchvision's detection models (rules/torchvision/).

Box IoU losses take (x1, y1, x2, y2) rows and validate nothing, so boxes in another format or on another
scale compute a meaningless loss silently; R-CNN's box-head loss takes labels counted with the
background (0), so a label equal to the model's num_classes raises deep inside the model. Values are read
at values depth only, on a bounded prefix of the rows.
"""

from __future__ import annotations

import torch

from ..judging.context import CallContext
from ..checks import check

# At most this many boxes are read per argument (a detection batch has a few hundred).
_BOX_ROWS = 4096


def _boxes(ctx: CallContext, name: str) -> torch.Tensor | None:
    facts = ctx.values(name)
    if facts is None or facts.ndim == 0 or facts.shape[-1] != 4 or facts.is_bool:
        return None
    rows = ctx.args[name].detach().reshape(-1, 4)[:_BOX_ROWS]
    rows = rows.to(torch.float64)
    finite = torch.isfinite(rows).all(dim=1)
    return rows[finite] if not bool(finite.all()) else rows


def _overlapping_pairs(ctx: CallContext, first: str, second: str) -> int | None:
    """How many box pairs overlap (torchvision's intersection mask), or None when values are not read."""
    a, b = ctx.values(first), ctx.values(second)
    if a is None or b is None or a.numel > 4 * _BOX_ROWS * 16:
        return None
    x, y = ctx.args[first].detach().double(), ctx.args[second].detach().double()
    x1, y1, x2, y2 = x.unbind(-1)
    u1, v1, u2, v2 = y.unbind(-1)
    mask = (torch.min(y2, v2) > torch.max(y1, v1)) & (torch.min(x2, u2) > torch.max(x1, u1))
    return int(mask.sum())


def _box_dtypes(ctx: CallContext, first: str, second: str) -> None:
    """torchvision upcasts every box dtype but float64 to float32, then writes the intersections of the
    overlapping pairs (float64 when the second set is) into a zeros_like of the first set's x1. torch's
    index_put takes a single value as a fill of any dtype, and rejects any other number of values in
    another dtype: float64 second boxes with any other first boxes raise 'Index put requires the source
    and destination dtypes match' unless exactly one pair overlaps."""
    a, b = ctx.fact(first), ctx.fact(second)
    if a is None or b is None or b.dtype != torch.float64 or a.dtype == torch.float64 or a.is_complex or a.shape != b.shape:
        return
    pairs = a.numel // 4 if a.ndim else 0
    overlapping = 0 if pairs == 0 and a.ndim else _overlapping_pairs(ctx, first, second)
    raises = overlapping is not None and overlapping != 1
    when = (
        "it raises" if raises
        else "it raises unless exactly one pair of boxes overlaps (a single value is written as a fill of any dtype)"
        if overlapping is None else "only exactly one pair of boxes overlaps in this batch, which torch writes as a fill, so this call passes; any other batch raises"
    )
    ctx.emit(
        "LL106",
        second,
        f"`{second}` is float64 while `{first}` is {str(a.dtype).removeprefix('torch.')}: torchvision "
        + ("raises for this pair" if raises else "raises for this pair on almost every batch"),
        explanation=(
            f"torchvision computes in float32 unless a set is float64, and writes the float64 intersection areas into a "
            f"float32 tensor made from `{first}`: {when} ('Index put requires the source and destination dtypes "
            "match, got Float for the destination and Double for the source')."
        ),
        fix=f"{second}.to({first}.dtype), or {first}.double()",
        observed=f"{first} {a.summary}, {second} {b.summary}",
        expected="one floating dtype for both",
        torch_raises=raises,
        severity=None if raises else "warning",
    )


@check("tv_box_format")
def tv_box_format(ctx: CallContext, arguments: tuple[str, ...] = ("boxes1", "boxes2")) -> None:
    """Rows with x2 < x1 or y2 < y1 are not (x1, y1, x2, y2); one normalized set and one in pixels."""
    if ctx.format is None:
        return
    _box_dtypes(ctx, *arguments)
    seen: dict[str, torch.Tensor] = {}
    for name in arguments:
        rows = _boxes(ctx, name)
        if rows is None or rows.shape[0] == 0:
            continue
        seen[name] = rows
        inverted = (rows[:, 2] < rows[:, 0]) | (rows[:, 3] < rows[:, 1])
        count = int(inverted.sum())
        if count == 0:
            continue
        first = rows[inverted][0].tolist()
        shown = "(" + ", ".join(f"{v:.3g}" for v in first) + ")"
        total = rows.shape[0]
        ctx.emit(
            "LL731",
            name,
            f"`{name}` has {count} of {total} boxes with x2 < x1 or y2 < y1, e.g. {shown}: not (x1, y1, x2, y2); "
            "these look like (cx, cy, w, h) or (x, y, w, h) boxes",
            explanation=(
                f"{ctx.loss.name.removeprefix('torchvision.')} reads each row as (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2 "
                "and checks nothing: an inverted row has a negative width or height, so its area, union and "
                "enclosing box are wrong and the loss computes a meaningless value without an error. A width "
                "smaller than the box's x coordinate is exactly what (cx, cy, w, h) and (x, y, w, h) rows give."
            ),
            fix=(
                f"torchvision.ops.box_convert({name}, in_fmt=\"cxcywh\", out_fmt=\"xyxy\") before the loss "
                "(in_fmt=\"xywh\" for COCO-style (x, y, w, h) boxes)"
            ),
            observed=f"{count}/{total} rows with x2 < x1 or y2 < y1",
            expected="rows (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2",
            confidence="certain",
        )
    if len(seen) != 2 or any(ctx.has("LL731", n) for n in seen):
        return
    (a, ra), (b, rb) = seen.items()
    for small, rs, large, rl in ((a, ra, b, rb), (b, rb, a, ra)):
        if rs.shape[0] < 2:
            continue
        if float(rs.min()) >= 0 and float(rs.max()) <= 1 and float(rl.max()) > 2:
            ctx.emit(
                "LL732",
                small,
                f"`{small}` lies in [0, 1] (normalized coordinates) while `{large}` reaches {float(rl.max()):.4g} (pixels)",
                explanation=(
                    "The IoU of a box in [0, 1] coordinates with one in pixel coordinates is about 0 whatever the "
                    "prediction: the loss sits near its maximum and its gradient pulls the boxes toward the wrong scale."
                ),
                fix=f"one scale for both: {large} / torch.tensor([W, H, W, H]) (the image size), or scale `{small}` up",
                observed=f"{small} in [{float(rs.min()):.3g}, {float(rs.max()):.3g}], {large} up to {float(rl.max()):.4g}",
                expected="both sets on the same scale",
                confidence="strong",
            )
            return


@check("tv_fastrcnn_labels")
def tv_fastrcnn_labels(ctx: CallContext) -> None:
    """fastrcnn_loss: the sampled proposals' labels, concatenated, go to F.cross_entropy with the
    class logits (N, num_classes); num_classes counts the background 0."""
    labels = ctx.args.get("labels")
    logits = ctx.fact("class_logits")
    if logits is None or logits.ndim != 2 or not isinstance(labels, (list, tuple)):
        return
    if not all(isinstance(t, torch.Tensor) and t.ndim == 1 for t in labels):
        return
    n, classes = logits.shape
    total = sum(int(t.shape[0]) for t in labels)
    if total != n:
        ctx.emit(
            "LL207",
            "labels",
            f"`labels` hold {total} proposal labels in all; `class_logits` has {n} rows",
            explanation=f"fastrcnn_loss concatenates the labels of every image and calls F.cross_entropy(class_logits, labels): torch raises 'Expected input batch_size ({n}) to match target batch_size ({total})'.",
            fix="one label per sampled proposal of every image, in the order of class_logits",
            observed=f"{total} labels, class_logits {logits.summary}",
            expected=f"{n} labels",
            torch_raises=True,
        )
        return
    if not ctx.read_values or not labels or any(t.device.type == "meta" or t.is_floating_point() for t in labels):
        return
    with torch.no_grad():
        flat = torch.cat([t.detach().reshape(-1) for t in labels]) if len(labels) > 1 else labels[0].detach()
        if flat.numel() == 0:
            return
        lo, hi = int(flat.min()), int(flat.max())
    if lo >= 0 and hi < classes:
        return
    bad = sorted({v for v in (lo, hi) if v < 0 or v >= classes})
    shown = ", ".join(map(str, bad))
    background = hi == classes
    ctx.emit(
        "LL401",
        "labels",
        f"`labels` hold {shown}, outside [0, {classes}): the model has num_classes={classes}, counting the background 0"
        + ("; a label equal to num_classes means the background was not counted" if background else ""),
        explanation=(
            f"Faster/Mask R-CNN's box head scores num_classes = {classes} classes, class 0 being the background, so "
            f"object labels run from 1 to {classes - 1}. fastrcnn_loss hands the ground-truth labels of the sampled "
            "proposals to F.cross_entropy, which raises 'Target ... is out of bounds' on the CPU and a device-side "
            "assert on CUDA, deep inside model(images, targets)."
        ),
        observed=f"labels in [{lo}, {hi}], class_logits {logits.summary}",
        expected=f"labels in [0, {classes})",
        torch_raises=True,
    )


# ---- R-CNN models: a check of the model call itself (a model boundary, see losslint/libraries.py) ----


def judge_rcnn_call(model, args: tuple, kwargs: dict, depth: str = "values"):
    """What torchvision's GeneralizedRCNN (Faster / Mask / Keypoint R-CNN) will train from `targets`,
    where it is not what was meant: a ground-truth box labelled 0, the background class.

    model: the GeneralizedRCNN instance; args, kwargs: what its forward receives, (images, targets);
    depth: "metadata" reads nothing (labels are values), "values" reads each image's labels (a few
    ints). Returns a Report whose loss is "torchvision.<ModelClass>", or None (eval mode, no targets,
    or labels from 1). A label >= num_classes is left to fastrcnn_loss, where torchvision raises.
    """
    from ..judging.findings import Finding, Report
    from ..language.spec import load_builtin

    targets = kwargs.get("targets", args[1] if len(args) > 1 else None)
    if depth != "values" or not getattr(model, "training", False) or not isinstance(targets, (list, tuple)):
        return None
    zero = []
    with torch.no_grad():
        for i, target in enumerate(targets[:64]):
            labels = target.get("labels") if isinstance(target, dict) else None
            if not isinstance(labels, torch.Tensor) or labels.device.type == "meta" or labels.numel() == 0 or labels.is_floating_point():
                continue
            count = int((labels.detach() == 0).sum())
            if count:
                zero.append((i, count, int(labels.numel())))
    if not zero:
        return None
    predictor = getattr(getattr(getattr(model, "roi_heads", None), "box_predictor", None), "cls_score", None)
    classes = getattr(predictor, "out_features", None)
    boxes = sum(c for _, c, _ in zero)
    where = ", ".join(f"image {i}: {c} of {n}" for i, c, n in zero[:3]) + (", ..." if len(zero) > 3 else "")
    doc = load_builtin()[0]["LL733"]
    name = f"torchvision.{type(model).__name__}"
    k = f"{classes - 1}" if isinstance(classes, int) else "K"
    finding = Finding(
        code="LL733",
        name=doc.name,
        severity=doc.severity,  # type: ignore[arg-type]
        torch_raises=False,
        loss=name,
        argument="targets",
        message=f"`targets` give label 0, the background class of {type(model).__name__}, to {boxes} ground-truth box{'es' if boxes > 1 else ''} ({where})",
        explanation=(
            f"{type(model).__name__} reserves label 0 for the background"
            + (f" and scores num_classes = {classes} classes, so object labels run from 1 to {classes - 1}" if isinstance(classes, int) else "")
            + ". A box labelled 0 is matched to proposals that are then trained as background: its object is never learned, and torchvision raises nothing."
        ),
        fix=f"object labels from 1 to {k} (labels + 1 for 0-based class ids), with num_classes = {k} + 1 counting the background",
        observed=f"{boxes} box{'es' if boxes > 1 else ''} labelled 0",
        expected=f"labels in [1, {classes})" if isinstance(classes, int) else "labels from 1",
        confidence="certain",
    )
    return Report(loss=name, findings=(finding,))


@check("tv_focal_class_indices")
def tv_focal_class_indices(ctx: CallContext) -> None:
    """sigmoid_focal_loss with class indices (N,) for (N, C) logits: it takes one binary target per logit."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or inp.ndim < 2 or inp.shape[-1] < 2 or tgt.shape != inp.shape[:-1]:
        return
    classes = inp.shape[-1]
    ctx.emit(
        "LL201",
        "target",
        f"`targets` {tgt.summary} looks like class indices; sigmoid_focal_loss takes a binary target per logit, of `inputs`' shape {list(inp.shape)}",
        explanation=(
            "sigmoid_focal_loss is binary cross entropy with logits per element, times the focal factor: "
            f"torchvision raises 'Target size ({list(tgt.shape)}) must be the same as input size ({list(inp.shape)})'. "
            "RetinaNet's head turns each anchor's class index into a one-hot row first."
        ),
        fix=f"F.one_hot(targets.long(), num_classes={classes}).float(), as RetinaNet's head builds them",
        observed=tgt.summary,
        expected=f"float{list(inp.shape)}, values in [0, 1]",
        torch_raises=True,
        replaces=("LL402",),  # the indices' values outside [0, 1] say the same
    )
