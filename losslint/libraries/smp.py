"""Checks for the conventions of segmentation_models_pytorch (rules/segmentation_models_pytorch/).

smp's segmentation losses (DiceLoss, JaccardLoss, TverskyLoss, FocalLoss, LovaszLoss) take a `mode`,
and what the target must be depends on it; a rule file's formats cannot be conditioned on
configuration, so the rule files declare the prediction's layout (N, C, *) and its kind (by
from_logits and mode, `kind_by`, judged by the one kind check), and `smp_mode` judges the target from
`ctx.config["mode"]`. What smp 0.6.0 does (read from its source and run, see
tests/test_lib_smp.py and the rules' examples):

- binary: prediction (N, 1, *), a {0, 1} mask of the same number of elements, (N, H, W) or
  (N, 1, H, W): both are reshaped to (N, 1, -1), so the channel dimension may be left out. No
  value is validated: a {0, 255} mask computes a meaningless loss (FocalLoss: -inf).
- multiclass: an integer class map (N, H, W). Dice/Jaccard/Tversky one-hot encode it with
  F.one_hot, which raises for a non-int64 map (unless ignore_index is set: then it is converted) and
  for values outside [0, C); FocalLoss scores each class with (y_true == c) and LovaszLoss with
  (labels == c), so a label outside [0, C) silently counts as background for every class.
- multilabel: a {0, 1} mask of the prediction's shape (N, C, H, W).
- FocalLoss applies a sigmoid per class in every mode (binary cross entropy with logits per channel),
  not a softmax; DiceLoss & co. apply log_softmax().exp() in multiclass mode and a sigmoid otherwise
  (with from_logits=True, the default); LovaszLoss ignores its `from_logits` argument (it does not
  keep it) and always takes logits.

SoftBCEWithLogitsLoss, SoftCrossEntropyLoss and MCCLoss have no mode: their rules use formats, and
`smp_soft_bce`, `smp_soft_ce` and `smp_mcc` add what depends on their configuration.
"""

from __future__ import annotations

import math

import torch

from ..judging.context import CallContext
from ..language.domains import parse_domain
from ..checks import DOMAIN_HINTS, check, raiser
from ..checks.classification import _one_hot_rows

_MODES = ("binary", "multiclass", "multilabel")


def _number(value: float) -> str:
    if value != value or value in (math.inf, -math.inf):
        return str(value)
    return str(int(value)) if value == int(value) else f"{value:g}"


def _pair(ctx: CallContext, inp, tgt) -> str:
    """"y_pred f32[2, 3, 8, 8], y_true i64[2, 8, 8]", in the loss's own argument names."""
    names = ctx.loss.names
    return f"{names.get('input', 'input')} {inp.summary}, {names.get('target', 'target')} {tgt.summary}"


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


# ---- shared pieces ---------------------------------------------------------------------------------


def _domain(ctx: CallContext, domain: str, code: str, raises: bool, explanation: str) -> bool:
    """engine._check_domains for a domain that depends on the mode: exact, cheap-first (one min/max)."""
    facts = ctx.values("target")
    if facts is None:
        return False
    names = ctx.names
    dom = parse_domain(domain)
    known = facts.value_range
    if known is not None and not (known.has_nan or known.has_inf) and dom.covers_range(known.min, known.max, names):
        return False
    data = ctx.args["target"].detach()
    if facts.is_bool:
        data = data.to(torch.uint8)
    outside = dom.outside_mask(data, names)
    count = int(outside.sum())
    if count == 0:
        return False
    bad = torch.unique(data[outside])
    shown = ", ".join(_number(v) for v in bad[:5].tolist()) + (", ..." if bad.numel() > 5 else "")
    allowed = dom.text(names)
    hint = DOMAIN_HINTS.get(code)
    extra = hint(ctx, "target", bad) if hint else None
    found, tail, fix = extra if extra else (code, "", None)
    ctx.emit(
        found,
        "target",
        f"`target` has {count} value{'s' if count > 1 else ''} outside {allowed}: {shown}{tail}",
        explanation=explanation,
        fix=fix,
        observed=f"{facts.summary}, values outside the domain: {shown}",
        expected=f"values in {allowed}",
        torch_raises=raises,
    )
    return True


def _batch(ctx: CallContext, family: str, inp, tgt) -> bool:
    """True when the batch sizes agree; else LL207 (smp raises, except where LovaszLoss's per_image
    zip() stops at the shorter batch)."""
    n, m = inp.shape[0], tgt.shape[0] if tgt.ndim else None
    if m == n:
        return True
    raises = True
    if family == "lovasz" and ctx.config.get("per_image") and m and tgt.numel // m == inp.numel // max(n, 1) // (
        inp.shape[1] if ctx.config.get("mode") == "multiclass" else 1
    ):
        raises = False  # zip(logits, labels) pairs the images up to the shorter batch, silently
    ctx.emit(
        "LL207",
        "target",
        f"`target` has batch size {m}; `input` has {n}",
        explanation=(
            f"{raiser(ctx)} raises a size error."
            if raises
            else f"{ctx.loss.name} with per_image=True pairs the images with zip(), which stops at the shorter batch: "
            "the extra images are silently left out."
        ),
        fix="build the mask from the same batch as the prediction (check drop_last / the last partial batch)",
        observed=_pair(ctx, inp, tgt),
        expected=f"batch size {n}",
        torch_raises=raises,
    )
    return False


def _classes(ctx: CallContext, channels: int) -> None:
    """`classes=[...]` indexes the per-channel losses: an index >= C raises IndexError."""
    classes = ctx.config.get("classes")
    if not isinstance(classes, torch.Tensor) or classes.numel() == 0 or classes.is_meta:
        return
    values = [int(v) for v in classes.reshape(-1).tolist()]
    bad = [v for v in values if not -channels <= v < channels]
    if not bad:
        return
    ctx.emit(
        "LL702",
        "classes",
        f"`classes` is {values}; the prediction has {channels} channel{'s' if channels != 1 else ''}, so "
        f"{', '.join(map(str, bad))} name{'s' if len(bad) == 1 else ''} no channel",
        explanation=(
            f"{ctx.loss.name} computes one loss per channel of the prediction and keeps loss[classes]: "
            f"smp raises IndexError 'index {bad[0]} is out of bounds for dimension 0 with size {channels}'. "
            "classes are channel indices 0..C-1, not class ids of the dataset."
        ),
        fix=f"classes=[...] with channel indices 0..{channels - 1}, or build the model with more output channels (classes= on the model)",
        observed=f"classes={values}, prediction with {channels} channels",
        expected=f"indices in [0, {channels})",
        torch_raises=True,
    )


def _class_weights(ctx: CallContext, channels: int) -> None:
    """class_weights: one per channel (a single one broadcasts); with `classes`, indexed by them."""
    weights = ctx.config.get("class_weights")
    if not isinstance(weights, torch.Tensor) or weights.is_meta:
        return
    size = weights.numel()
    classes = ctx.config.get("classes")
    if isinstance(classes, torch.Tensor) and classes.numel() and "classes" in ctx.config:
        if ctx.has("LL702"):
            return
        values = [int(v) for v in classes.reshape(-1).tolist()]
        if all(-size <= v < size for v in values):
            return
        problem = f"it is indexed by classes={values}"
    else:
        if size in (1, channels):
            return
        problem = f"the prediction has {channels} channels"
    ctx.emit(
        "LL206",
        "class_weights",
        f"`class_weights` has {size} entr{'y' if size == 1 else 'ies'}; {problem}",
        explanation=f"{ctx.loss.name} multiplies the per-channel losses by class_weights: smp raises a size or index error.",
        fix=f"class_weights=[...] with one weight per output channel ({channels})",
        observed=f"class_weights of {size}",
        expected=f"{channels} weights",
        torch_raises=True,
    )


# ---- the mode losses -------------------------------------------------------------------------------


@check("smp_mode")
def smp_mode(ctx: CallContext, family: str) -> None:
    """smp's mode losses: the target's layout, dtype and values per `mode` (the prediction's kind per
    `from_logits` and `mode` is declared in the rule files). family: "overlap" (Dice, Jaccard,
    Tversky), "focal" or "lovasz"."""
    mode = ctx.config.get("mode")
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if mode not in _MODES or inp is None or tgt is None or ctx.format is None or inp.ndim < 2:
        return
    channels = inp.shape[1]
    if family == "overlap":
        _classes(ctx, channels)
    if family in ("overlap", "focal"):
        _class_weights(ctx, channels)
    if family == "focal" and mode == "multilabel" and ctx.config.get("ignore_index") is not None:
        ctx.emit(
            "LL004",
            "ignore_index",
            f"`ignore_index` is {ctx.config.get('ignore_index')!r} with mode=\"multilabel\": smp's FocalLoss cannot apply it and raises on every call",
            explanation=(
                "FocalLoss builds the ignore mask from the whole (N, C, H, W) mask and indexes each class's (N, H, W) slice "
                "with it: smp raises IndexError 'too many indices for tensor of dimension 3', whatever the values."
            ),
            fix='ignore_index=None with mode="multilabel" (zero the void pixels of the mask yourself), or DiceLoss(mode="multilabel", ignore_index=...), which supports it',
            observed=f"mode='multilabel', ignore_index={ctx.config.get('ignore_index')!r}",
            expected="ignore_index=None in multilabel mode",
            torch_raises=True,
        )
    if family == "focal" and mode == "multiclass" and ctx.config.get("from_logits") is False:
        ctx.emit(
            "LL703",
            "from_logits",
            "`from_logits` is False with mode=\"multiclass\": smp's FocalLoss scores log(probabilities) as sigmoid logits, "
            "so no prediction can reach a loss of 0",
            observed="FocalLoss(mode='multiclass', from_logits=False)",
            expected="from_logits=True on raw logits",
            confidence="certain",
        )
    judge = {"binary": _binary, "multiclass": _multiclass, "multilabel": _multilabel}[mode]
    judge(ctx, family, inp, tgt)


def _mask_values(ctx: CallContext, family: str) -> None:
    tgt = ctx.fact("target")
    if family == "lovasz" and tgt is not None and tgt.is_bool:
        ctx.emit(
            "LL103",
            "target",
            f"`target` is bool; LovaszLoss in mode=\"{ctx.config.get('mode')}\" computes 1 - labels, which torch rejects for bool",
            explanation="torch raises 'Subtraction, the `-` operator, with a bool tensor is not supported'.",
            fix="y_true.long() (or .float())",
            observed=tgt.summary,
            expected="an integer or float {0, 1} mask",
            torch_raises=True,
        )
    what = {
        "overlap": "the soft Dice/IoU counts mask values as pixel weights, so a 255 counts 255 times and the loss can go negative",
        "focal": "binary cross entropy against values outside [0, 1] has no minimum (the loss can reach -inf)",
        "lovasz": "the hinge reads each label as a sign 2 * label - 1, so other values give a meaningless loss",
    }[family]
    _domain(ctx, "[0, 1] | ignore_index", "LL402", False, f"{ctx.loss.name} validates no mask values: {what}.")


def _binary(ctx: CallContext, family: str, inp, tgt) -> None:
    if not _batch(ctx, family, inp, tgt):
        return
    channels = inp.shape[1]
    spatial = inp.numel // max(inp.shape[0] * channels, 1)
    if tgt.numel != inp.numel:
        if channels > 1 and tgt.numel == inp.shape[0] * spatial:
            ctx.emit(
                "LL701",
                "input",
                f"`input` {inp.summary} has {channels} channels, but mode=\"binary\" takes one (N, 1, H, W); "
                f"`target` {tgt.summary} is a mask of one channel",
                explanation=(
                    f"In binary mode {ctx.loss.name} reshapes the prediction and the mask to (N, 1, -1): "
                    f"{channels} channels do not fit a mask of one, and smp raises a size error."
                ),
                fix=f'mode="multiclass" (an integer class map of {channels} classes), or build the model with classes=1',
                observed=_pair(ctx, inp, tgt),
                expected="one channel, (N, 1, H, W), in binary mode",
                torch_raises=True,
            )
        else:
            _size_mismatch(ctx, inp, tgt, "a mask of the prediction's size, (N, H, W) or (N, 1, H, W)")
        return
    if channels > 1 and family == "overlap":
        ctx.emit(
            "LL701",
            "input",
            f"`input` {inp.summary} has {channels} channels in mode=\"binary\": they are scored as one mask",
            explanation=(
                f"In binary mode {ctx.loss.name} flattens every channel into one (N, 1, C*H*W) mask, so the "
                f"{channels} channels share one Dice/IoU score instead of one each; mode=\"multilabel\" "
                "scores each channel on its own and averages them."
            ),
            fix='mode="multilabel" for one mask per channel, or build the model with classes=1',
            observed=_pair(ctx, inp, tgt),
            expected="one channel, (N, 1, H, W), in binary mode",
            confidence="strong",
            severity="warning",
        )
    _mask_values(ctx, family)


def _multilabel(ctx: CallContext, family: str, inp, tgt) -> None:
    if not _batch(ctx, family, inp, tgt):
        return
    channels = inp.shape[1]
    if tgt.shape == inp.shape:
        _mask_values(ctx, family)
        return
    spatial = inp.numel // max(inp.shape[0] * channels, 1)
    if tgt.numel == inp.shape[0] * spatial and channels > 1:
        ctx.emit(
            "LL701",
            "target",
            f"`target` {tgt.summary} has no channel dimension, but mode=\"multilabel\" takes a mask of the "
            f"prediction's shape {_shape(inp.shape)}: one {{0, 1}} mask per channel",
            explanation=(
                f"In multilabel mode {ctx.loss.name} reads channel c of the mask for class c; an integer class map "
                "(one class per pixel) is mode=\"multiclass\". smp raises a size error."
            ),
            fix=f'mode="multiclass" for a class map (one class per pixel), or F.one_hot(y_true.long(), {channels}).permute(0, 3, 1, 2) for one mask per channel',
            observed=_pair(ctx, inp, tgt),
            expected=f"a mask of shape {_shape(inp.shape)}",
            torch_raises=True,
        )
        return
    if tgt.numel == inp.numel and family != "focal":
        _mask_values(ctx, family)  # smp reshapes the mask to the prediction's shape
        return
    if family == "focal" and tgt.ndim >= 2 and tgt.shape[1] > channels and tgt.shape[:1] + tgt.shape[2:] == inp.shape[:1] + inp.shape[2:]:
        # FocalLoss loops over the prediction's channels and reads y_true[:, c]: extra mask channels are never read.
        ctx.emit(
            "LL201",
            "target",
            f"`target` has {tgt.shape[1]} channels; the prediction has {channels}: FocalLoss reads only the first {channels}",
            explanation=(
                f"In multilabel mode FocalLoss scores channel c of the prediction against y_true[:, c] for c < {channels}: "
                "the other mask channels are silently left out (and the prediction is missing classes)."
            ),
            fix=f"build the model with classes={tgt.shape[1]}, one output channel per mask channel",
            observed=_pair(ctx, inp, tgt),
            expected=f"a mask of shape {_shape(inp.shape)}",
        )
        _mask_values(ctx, family)
        return
    fix = "y_true.unsqueeze(1)" if tgt.shape == inp.shape[:1] + inp.shape[2:] else None
    _size_mismatch(ctx, inp, tgt, f"a mask of the prediction's shape {_shape(inp.shape)}", fix=fix)


def _size_mismatch(ctx: CallContext, inp, tgt, wanted: str, fix: str | None = None, raises: bool = True) -> None:
    ctx.emit(
        "LL201",
        "target",
        f"`target` has shape {_shape(tgt.shape)}; in mode=\"{ctx.config.get('mode')}\" {ctx.loss.name} takes {wanted}",
        explanation=(
            f"The shapes do not fit: smp raises a size error ({_pair(ctx, inp, tgt)})."
            if raises
            else f"The shapes do not fit ({_pair(ctx, inp, tgt)}); LovaszLoss skips the classes absent from the labels "
            "and, with none present, returns 0 without an error: nothing is learned."
        ),
        fix=fix or f"pass {wanted} as y_true",
        observed=tgt.summary,
        expected=wanted,
        torch_raises=raises,
    )


def _lovasz_meets_a_class(ctx: CallContext, channels: int, layout_error: bool = False) -> bool:
    """LovaszLoss(mode="multiclass") skips every class absent from the (valid) labels (classes="present"):
    a layout error or one channel raises only when some valid label is a class 0..C-1. Unknown
    values (metadata depth): no claim that it raises. With ignore_index set, a layout error raises at
    once (the ignore mask indexes the flattened prediction)."""
    if layout_error and ctx.config.get("ignore_index") is not None:
        return True
    facts = ctx.values("target")
    if facts is None:
        return False
    data = ctx.args["target"].detach()
    ignore = ctx.config.get("ignore_index")
    valid = data[data != ignore] if ignore is not None else data.reshape(-1)
    if valid.dtype == torch.bool:
        valid = valid.to(torch.uint8)
    hits = torch.zeros(valid.shape, dtype=torch.bool, device=valid.device)
    for c in range(channels):
        hits |= valid == c
    return bool(hits.any())


def _multiclass(ctx: CallContext, family: str, inp, tgt) -> None:
    channels = inp.shape[1]
    if channels == 1:
        raises = family == "lovasz" and _lovasz_meets_a_class(ctx, 1)
        ctx.emit(
            "LL502",
            "input",
            f"`input` {inp.summary} has one channel in mode=\"multiclass\""
            + (": smp rejects it" if family == "lovasz" else ": it cannot tell classes apart"),
            explanation=(
                "LovaszLoss raises 'Sigmoid output possible only with 1 class' for one channel in multiclass mode "
                "(as soon as a label 0 is present)."
                if family == "lovasz"
                else (
                    "A softmax over one channel is 1 everywhere: the loss does not depend on the prediction, and a "
                    "label 1 in the mask raises (F.one_hot with 1 class)."
                    if family == "overlap"
                    else "FocalLoss then trains the one channel on (y_true == 0): class 0 against everything else, "
                    "the opposite of a binary mask."
                )
            ),
            fix='mode="binary" for one output channel (a {0, 1} mask), or build the model with classes=2',
            observed=f"{inp.summary}, C = 1",
            expected="C >= 2 in multiclass mode",
            torch_raises=raises,
            severity=None if family != "focal" else "warning",
        )
    if not _batch(ctx, family, inp, tgt):
        return
    spatial = inp.shape[2:]
    class_map = (inp.shape[0],) + spatial
    if tgt.shape != class_map:
        if tgt.shape == inp.shape and channels > 1:
            rows = _one_hot_rows(ctx, "target")
            if rows is not None and rows.multi_hot:
                what, fix = "multi-hot", 'mode="multilabel" for a mask with several classes per pixel'
            elif rows is not None:
                what, fix = "one-hot", "y_true.argmax(dim=1)"
            else:
                what, fix = "of the prediction's shape", "y_true.argmax(dim=1) for a one-hot mask"
            ctx.emit(
                "LL202",
                "target",
                f"`target` is {what} {tgt.summary}; mode=\"multiclass\" takes an integer class map {_shape(class_map)}",
                explanation=(
                    f"In multiclass mode {ctx.loss.name} takes one class index per pixel and encodes it itself; "
                    + (
                        f"a mask with a channel per class does not fit, and {raiser(ctx)} raises a size error."
                        if family != "lovasz" or _lovasz_meets_a_class(ctx, channels, layout_error=True)
                        else "a mask with a channel per class does not fit: smp raises a size error as soon as a value is a class index."
                    )
                ),
                fix=fix,
                observed=tgt.summary + (", values {0, 1}, one 1 per pixel" if rows is not None and rows.one_hot else ""),
                expected=f"int64{list(class_map)} class indices",
                torch_raises=family != "lovasz" or _lovasz_meets_a_class(ctx, channels, layout_error=True),
                confidence="strong" if rows is not None else "certain",
            )
            return
        if tgt.numel != math.prod(class_map):
            _size_mismatch(
                ctx, inp, tgt, f"an integer class map {_shape(class_map)}",
                raises=family != "lovasz" or _lovasz_meets_a_class(ctx, channels, layout_error=True),
            )
            return
        if family == "focal":
            # FocalLoss compares (y_true == c) with y_pred[:, c]: the shapes must be equal.
            squeeze = tgt.ndim == inp.ndim and tgt.shape[1] == 1
            ctx.emit(
                "LL203" if squeeze else "LL201",
                "target",
                f"`target` has shape {_shape(tgt.shape)}; FocalLoss in multiclass mode takes a class map {_shape(class_map)}",
                explanation="FocalLoss compares (y_true == c) with the prediction's channel c element by element: smp raises a size error.",
                fix="y_true.squeeze(1)" if squeeze else f"y_true.reshape({', '.join(map(str, class_map))})",
                observed=tgt.summary,
                expected=str(list(class_map)),
                torch_raises=True,
            )
            return
        # Dice & co. and Lovasz reshape the map to (N, -1): a (N, 1, H, W) map is read just as well.
    ignore = ctx.config.get("ignore_index")
    if family == "overlap" and ignore is None and tgt.dtype != torch.int64:
        ctx.emit(
            "LL102",
            "target",
            f"`target` is {str(tgt.dtype).removeprefix('torch.')}; {ctx.loss.name} in multiclass mode one-hot encodes it and needs int64",
            explanation="F.one_hot raises 'one_hot is only applicable to index tensor of type LongTensor' (with ignore_index set, smp converts the map itself).",
            fix="y_true.long()",
            observed=tgt.summary,
            expected="int64 class indices",
            torch_raises=True,
        )
    if family == "overlap":
        why = (
            f"{ctx.loss.name} one-hot encodes the map with F.one_hot, which raises 'Class values must be smaller than "
            "num_classes' or 'must be non-negative' (on CUDA a device-side assert)."
        )
    else:
        why = (
            f"{ctx.loss.name} scores class c on (y_true == c): a label outside [0, C) matches no class, so those pixels "
            "are silently trained as background for every class."
        )
    _domain(ctx, "[0, C) | ignore_index", "LL401", family == "overlap", why)


# ---- the losses without a mode ---------------------------------------------------------------------


@check("smp_soft_bce")
def smp_soft_bce(ctx: CallContext) -> None:
    """SoftBCEWithLogitsLoss: torch's binary_cross_entropy_with_logits on (1 - y) * s + y * (1 - s)."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    if ctx.format is None:
        squeezed = inp.ndim >= 2 and inp.shape[1] == 1 and tgt.shape == inp.shape[:1] + inp.shape[2:]
        ctx.emit(
            "LL201",
            "target",
            f"`target` has shape {_shape(tgt.shape)}; SoftBCEWithLogitsLoss takes a mask of the prediction's shape {_shape(inp.shape)}",
            explanation=(
                "It calls binary_cross_entropy_with_logits, which raises 'Target size must be the same as input size'"
                + (" (smp's docstring says (N, H, W) is accepted; it is not)." if squeezed else ".")
            ),
            fix="y_true.unsqueeze(1)" if squeezed else f"a mask of shape {_shape(inp.shape)}",
            observed=_pair(ctx, inp, tgt),
            expected=_shape(inp.shape),
            torch_raises=True,
        )
    smoothing = ctx.config.get("smooth_factor")
    if tgt.is_bool or (tgt.is_integral and smoothing is None):
        ctx.emit(
            "LL103",
            "target",
            f"`target` is {str(tgt.dtype).removeprefix('torch.')}; SoftBCEWithLogitsLoss takes a float mask"
            + (" (without smooth_factor it goes to torch unchanged)" if not tgt.is_bool else ""),
            explanation=(
                "binary_cross_entropy_with_logits raises 'result type Float can't be cast to the desired output type'."
                if not tgt.is_bool
                else "torch raises 'Subtraction, the `-` operator, with two bool tensors is not supported'."
            ),
            fix="y_true.float()",
            observed=tgt.summary,
            expected="float32",
            torch_raises=True,
        )


@check("smp_soft_ce")
def smp_soft_ce(ctx: CallContext) -> None:
    """SoftCrossEntropyLoss: log_softmax over `dim`, then gather() at the class indices."""
    smoothing = ctx.config.get("smooth_factor")
    if smoothing is None:
        ctx.emit(
            "LL004",
            "smooth_factor",
            "`smooth_factor` is None (the default); SoftCrossEntropyLoss computes smooth_factor / C and raises",
            explanation="smp raises TypeError: unsupported operand type(s) for /: 'NoneType' and 'int' on every call: its default does not work.",
            fix="smooth_factor=0.0 for no smoothing (or e.g. 0.1)",
            observed="smooth_factor=None",
            expected="a float in [0, 1]",
            torch_raises=True,
        )
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if ctx.format is not None or inp is None or tgt is None or ctx.config.get("dim", 1) != 1 or inp.ndim < 2:
        return
    index = tgt.shape if tgt.ndim == inp.ndim else tgt.shape[:1] + (1,) + tgt.shape[1:] if tgt.ndim == inp.ndim - 1 else None
    if index is None:
        return  # the engine's shape finding
    integral = tgt.dtype in (torch.int64, torch.int32)
    larger = any(index[d] > inp.shape[d] for d in range(len(index)) if d != 1)
    if index[1] == inp.shape[1] and inp.shape[1] > 1 and not larger and index[0] == inp.shape[0]:
        rows = _one_hot_rows(ctx, "target")
        ctx.emit(
            "LL202",
            "target",
            f"`target` {tgt.summary} has one channel per class; SoftCrossEntropyLoss takes class indices {_shape(inp.shape[:1] + inp.shape[2:])}",
            explanation=(
                "gather() reads the log-probability at each value of the mask: a 0/1 mask picks class 0 or 1 in every "
                "channel, a meaningless loss that smp computes silently."
                if integral
                else "torch's gather raises 'Expected dtype int32/int64 for index'."
            ),
            fix="y_true.argmax(dim=1)",
            observed=tgt.summary + (", values {0, 1}, one 1 per pixel" if rows is not None and rows.one_hot else ""),
            expected=f"int64{list(inp.shape[:1] + inp.shape[2:])} class indices",
            torch_raises=not integral,
            confidence="strong" if rows is not None else "certain",
            replaces=("LL102",),  # the one-hot diagnosis says more than the dtype
        )
        return
    outside = False
    if integral and not larger and index[1] == 1:
        ctx.binding.setdefault("C", inp.shape[1])  # no format bound it: the domain's C
        outside = _domain(
            ctx, "[0, C) | ignore_index", "LL401", True,
            "SoftCrossEntropyLoss gathers the log-probability at each class index: torch's gather raises 'index out of bounds'.",
        )
    raises = larger or index[1] != 1 or not integral or outside
    code = "LL207" if index[0] != inp.shape[0] and all(index[d] == inp.shape[d] for d in range(2, len(index))) else "LL201"
    ctx.emit(
        code,
        "target",
        f"`target` has shape {_shape(tgt.shape)}; SoftCrossEntropyLoss takes class indices {_shape(inp.shape[:1] + inp.shape[2:])}",
        explanation=(
            "torch's gather raises a size error."
            if raises
            else "torch's gather accepts an index smaller than the prediction and reads only its part: the rest of the "
            "prediction is silently left out of the loss."
        ),
        fix="build the mask from the same batch and size as the prediction",
        observed=_pair(ctx, inp, tgt),
        expected=str(list(inp.shape[:1] + inp.shape[2:])),
        torch_raises=raises,
    )


@check("smp_mcc")
def smp_mcc(ctx: CallContext) -> None:
    """MCCLoss: binary only, on probabilities (it applies no sigmoid), against a {0, 1} mask."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or tgt.ndim == 0:
        return
    n = tgt.shape[0]
    p = inp.numel // n if n and inp.numel % n == 0 else None
    t = tgt.numel // n if n else None
    raises = p is None or (p != t and p != 1 and t != 1)
    channels = inp.shape[1] if inp.ndim == 4 else 1
    if p != t:
        several = channels > 1 and p is not None and t is not None and p == t * channels
        ctx.emit(
            "LL701" if several else "LL201",
            "input" if several else "target",
            (
                f"`input` {inp.summary} has {channels} channels; MCCLoss is binary only: (N, 1, H, W) or (N, H, W)"
                if several
                else f"`target` {tgt.summary} does not have the prediction's size {inp.summary}"
            ),
            explanation="MCCLoss reshapes both to (N, 1, -1) and multiplies them: smp raises a size error."
            if raises
            else "MCCLoss reshapes both to (N, 1, -1) and multiplies them; torch broadcasts the mismatch silently.",
            fix="one output channel for MCCLoss (classes=1 on the model); for several classes use DiceLoss(mode=\"multilabel\")"
            if several
            else "a mask of the prediction's size, (N, H, W) or (N, 1, H, W)",
            observed=_pair(ctx, inp, tgt),
            expected="one channel, (N, 1, H, W), and a mask of as many pixels",
            torch_raises=raises,
        )
        return
    if channels > 1:
        ctx.emit(
            "LL701",
            "input",
            f"`input` {inp.summary} has {channels} channels; MCCLoss is binary only and pools them into one score",
            explanation="MCCLoss reshapes the prediction and the mask to (N, 1, -1): all channels count as one binary mask.",
            fix='DiceLoss(mode="multilabel") or one MCCLoss per channel; for a binary task build the model with classes=1',
            observed=_pair(ctx, inp, tgt),
            expected="one channel, (N, 1, H, W)",
            severity="warning",
        )
    if tgt.is_bool:
        ctx.emit(
            "LL103",
            "target",
            "`target` is bool; MCCLoss computes 1 - y_true, which torch rejects for bool",
            explanation="torch raises 'Subtraction, the `-` operator, with a bool tensor is not supported'.",
            fix="y_true.float()",
            observed=tgt.summary,
            expected="a float {0, 1} mask",
            torch_raises=True,
        )
    _domain(ctx, "[0, 1]", "LL402", False, "MCCLoss counts true/false positives as products with the mask: other values give a meaningless (often NaN) loss.")
