"""Checks for CTCLoss, AdaptiveLogSoftmaxWithLoss and LinearCrossEntropyLoss.

CTC: torch validates the lengths against the shapes (and raises), but not the label values: on CPU
torch reads labels outside [0, C) out of bounds, accepts the blank inside a target and float
targets (truncated), and returns inf for an input too short to align with its target.

AdaptiveLogSoftmaxWithLoss and LinearCrossEntropyLoss compute their logits from a weight the module
owns; the rule files read it with `signature.from_module`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..language import releases
from ..judging.context import CallContext
from ..evidence.facts import TensorFacts, dtype_name
from . import DOMAIN_HINTS, adapter, check

# ==== CTCLoss ========================================================================================

_LENGTHS = ("input_lengths", "target_lengths")


def _int_sequence(value: Any) -> torch.Tensor | None:
    """A list/tuple of Python ints (NumPy ints, 0-d integer tensors), as torch's IntArrayRef takes it."""
    if not isinstance(value, (list, tuple)):
        return None
    out = []
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, torch.Tensor):
            if item.ndim != 0 or item.dtype.is_floating_point or item.dtype.is_complex or item.dtype == torch.bool:
                return None
            out.append(int(item))
        elif hasattr(item, "__index__") and not isinstance(item, float):
            out.append(int(item.__index__()))
        else:
            return None
    return torch.tensor(out, dtype=torch.int64)


def _lengths(ctx: CallContext) -> dict[str, torch.Tensor | TensorFacts | None]:
    """Each length argument as a flat int64 tensor when its values are known, else its facts or None.

    torch accepts both lengths as tensors or both as int sequences; a mix raises a TypeError, which
    the engine reports as LL002 (`not-a-tensor`). When both are sequences, that LL002 is withdrawn.
    """
    seqs = {name: _int_sequence(ctx.args.get(name)) for name in _LENGTHS}
    if all(s is not None for s in seqs.values()):
        ctx.findings = [f for f in ctx.findings if not (f.code == "LL002" and f.argument in _LENGTHS)]
        return dict(seqs)  # type: ignore[arg-type]
    out: dict[str, torch.Tensor | TensorFacts | None] = {}
    for name in _LENGTHS:
        facts = ctx.fact(name)
        if facts is None:
            out[name] = None
        elif ctx.values(name) is not None and facts.is_integral:
            out[name] = ctx.args[name].detach().reshape(-1).to("cpu", torch.int64)  # N values: cheap, and one device
        else:
            out[name] = facts
    return out


def _count(lengths: torch.Tensor | TensorFacts) -> int:
    return lengths.numel() if isinstance(lengths, torch.Tensor) else lengths.numel


def _ctc_emit_lengths(ctx: CallContext, name: str, message: str, torch_says: str, fix: str, observed: str, expected: str) -> None:
    ctx.emit(
        "LL209",
        name,
        message,
        explanation=f"torch raises '{torch_says}' before computing anything.",
        fix=fix,
        observed=observed,
        expected=expected,
        torch_raises=True,
    )


@check("ctc_call")
def ctc_call(ctx: CallContext) -> None:
    """Layout, lengths, blank, and the label values inside each target's valid length."""
    lp = ctx.fact("log_probs")
    lengths = _lengths(ctx)
    if lp is None or lp.ndim not in (2, 3):
        return
    batched = lp.ndim == 3
    T, C = lp.shape[0], lp.shape[-1]
    N = lp.shape[1] if batched else 1
    raised = False

    blank = ctx.config.get("blank")
    if isinstance(blank, int) and not isinstance(blank, bool) and C > 0 and not 0 <= blank < C:
        ctx.emit(
            "LL004",
            "blank",
            f"`blank` is {blank}; expected a class index in [0, {C})",
            explanation=f"torch raises 'blank must be in label range': log_probs has C = {C} classes (its last dim).",
            fix="blank=0 (the usual choice; labels then run from 1 to C-1)",
            observed=f"blank={blank}, log_probs {lp.summary}",
            expected=f"0 <= blank < {C}",
            torch_raises=True,
        )
        raised = True
    if lp.numel == 0:
        ctx.emit(
            "LL201",
            "log_probs",
            f"`log_probs` is empty ({lp.summary}); expected T, N and C all > 0",
            explanation="torch raises 'log_probs tensor must not be empty'.",
            fix="skip empty batches before calling the loss",
            observed=lp.summary,
            expected="a non-empty (T, N, C) tensor",
            torch_raises=True,
        )
        return

    # Integral lengths: torch converts them to int64 itself; float and bool lengths are rejected.
    for name in _LENGTHS:
        value = lengths[name]
        if isinstance(value, TensorFacts) and not value.is_integral:
            _ctc_emit_lengths(
                ctx, name, f"`{name}` is {dtype_name(value.dtype)}; expected an integer tensor",
                f"{name} must be integral", f"{name}.long()", value.summary, "int64 (any integer dtype)",
            )
            lengths[name] = None
            raised = True

    # Batch-first layout: torch reads dim 0 as time, so N is taken from dim 1.
    il, tl = lengths["input_lengths"], lengths["target_lengths"]
    tgt = ctx.fact("targets")
    if batched and lp.shape[0] != lp.shape[1]:
        hint = None
        if il is not None and _count(il) == lp.shape[0]:
            hint = f"`input_lengths` has {lp.shape[0]} entries"
        elif il is None and tgt is not None and tgt.ndim == 2 and tgt.shape[0] == lp.shape[0]:
            hint = f"`targets` has {lp.shape[0]} rows"
        if hint is not None:
            n, t = lp.shape[0], lp.shape[1]
            ctx.emit(
                "LL208",
                "log_probs",
                f"`log_probs` {lp.summary} looks batch-first (N={n}, T={t}, C={C}): {hint}; expected (T, N, C)",
                explanation=(
                    f"CTCLoss reads dim 0 as time and dim 1 as the batch, so it sees T={n} frames of a batch of {t} "
                    "and raises 'input_lengths must be of size batch_size'. When N == T the same call runs silently "
                    "and computes a wrong loss."
                ),
                fix="log_probs.transpose(0, 1)  # (N, T, C) -> (T, N, C); or an RNN without batch_first=True",
                observed=f"log_probs {lp.summary}, {hint.strip('`').replace('` ', ' ')}",
                expected=f"log_probs of shape ({t}, {n}, {C})",
                torch_raises=True,
            )
            return

    for name in _LENGTHS:
        value = lengths[name]
        if value is not None and _count(value) != N:
            what = value.summary if isinstance(value, TensorFacts) else f"{_count(value)} entries"
            _ctc_emit_lengths(
                ctx, name,
                f"`{name}` has {_count(value)} entries; expected {N}, one per sample (N is dim 1 of log_probs {lp.summary})",
                f"{name} must be of size batch_size",
                f"one {name[:-1].replace('_', ' ')} per sample: a tensor of shape ({N},)",
                what, f"{N} entries",
            )
            lengths[name] = None
            raised = True
    il, tl = lengths["input_lengths"], lengths["target_lengths"]
    il = il if isinstance(il, torch.Tensor) else None
    tl = tl if isinstance(tl, torch.Tensor) else None

    if il is not None and il.numel():
        lo, hi = int(il.min()), int(il.max())
        if lo < 0:
            _ctc_emit_lengths(
                ctx, "input_lengths", f"`input_lengths` has a negative entry ({lo}); expected 0 <= length <= T = {T}",
                f"Expected input_lengths to have value at least 0, but got value {lo}",
                "input_lengths.clamp(min=0)", f"min {lo}", f"[0, {T}]",
            )
            il, raised = None, True
        elif hi > T:
            _ctc_emit_lengths(
                ctx, "input_lengths",
                f"`input_lengths` has an entry {hi} > T = {T}, the time dim (dim 0) of log_probs {lp.summary}",
                f"Expected input_lengths to have value at most {T}, but got value {hi}",
                "compute input_lengths after the model's time downsampling (frames out, not samples in)",
                f"max {hi}", f"[0, {T}]",
            )
            il, raised = None, True

    tgt_values = ctx.values("targets")
    if tl is not None and tl.numel():
        lo = int(tl.min())
        if lo < 0:
            _ctc_emit_lengths(
                ctx, "target_lengths", f"`target_lengths` has a negative entry ({lo}); expected >= 0",
                f"Expected target_lengths to have value at least 0, but got value {lo}",
                "target_lengths = (targets != pad).sum(1)", f"min {lo}", ">= 0",
            )
            tl, raised = None, True
        elif tgt is not None and tgt.ndim == 2 and int(tl.max()) > tgt.shape[1]:
            hi, S = int(tl.max()), tgt.shape[1]
            _ctc_emit_lengths(
                ctx, "target_lengths",
                f"`target_lengths` has an entry {hi} > S = {S}, the padded length (dim 1) of targets {tgt.summary}",
                f"Expected tensor to have size at least {hi} at dimension 1, but got size {S} for argument #2 'targets'",
                "pad targets to the longest target, or compute target_lengths from the same padded targets",
                f"max {hi}", f"<= {S}",
            )
            tl, raised = None, True
        elif tgt is not None and tgt.ndim == 1 and int(tl.sum()) != tgt.shape[0]:
            total, L = int(tl.sum()), tgt.shape[0]
            _ctc_emit_lengths(
                ctx, "target_lengths",
                f"`target_lengths` sums to {total}; the concatenated 1-D targets {tgt.summary} hold {L} labels",
                f"Expected tensor to have size {total} at dimension 0, but got size {L} for argument #2 'targets'",
                "with 1-D targets, target_lengths must split them exactly: targets = torch.cat(per_sample_targets)",
                f"sum {total}, targets {tgt.summary}", f"sum(target_lengths) == {L}",
            )
            tl, raised = None, True

    if raised or tgt is None or tgt_values is None or tl is None or tgt.ndim not in (1, 2):
        return
    if tgt.ndim == 2 and tgt.shape[0] != N:
        return  # the shape check (LL201) reports it
    _ctc_target_values(ctx, tl, il, C, T)


def _ctc_target_values(ctx: CallContext, tl: torch.Tensor, il: torch.Tensor | None, C: int, T: int) -> None:
    facts = ctx.fact("targets")
    assert facts is not None
    raw = ctx.args["targets"].detach().cpu()
    if facts.is_floating:
        integral = bool((raw == raw.trunc()).all())
        ctx.emit(
            "LL102",
            "targets",
            f"`targets` is {dtype_name(facts.dtype)}; expected integer class indices"
            + ("" if integral else ", and some values are fractional (torch truncates them)"),
            explanation=(
                "torch accepts float CTC targets and truncates them to integers"
                + (" silently, so 2.7 is read as label 2." if not integral else "; these hold whole numbers, so the loss is right, but a float label is easy to corrupt.")
            ),
            fix="targets.long()" if integral else "targets.round().long()  # or fix how the labels were produced",
            observed=facts.summary,
            expected="int64 class indices",
            severity="warning",
        )
    labels_all = raw.to(torch.float64).trunc().to(torch.int64) if facts.is_floating else raw.to(torch.int64)
    N = tl.numel()
    if facts.ndim == 2:
        S = facts.shape[1]
        valid = torch.arange(S).unsqueeze(0) < tl.unsqueeze(1)
        labels = labels_all
        same_as_prev = torch.zeros_like(valid)
        if S > 1:
            same_as_prev[:, 1:] = (labels[:, 1:] == labels[:, :-1]) & valid[:, 1:]
        repeats = same_as_prev.sum(dim=1)
        sample_of = torch.arange(N).unsqueeze(1).expand(N, S)[valid]
        valid_labels = labels[valid]
    else:
        valid_labels = labels_all
        sample_of = torch.repeat_interleave(torch.arange(N), tl)
        same = torch.zeros(valid_labels.numel(), dtype=torch.bool)
        if valid_labels.numel() > 1:
            same[1:] = (valid_labels[1:] == valid_labels[:-1]) & (sample_of[1:] == sample_of[:-1])
        repeats = torch.zeros(N, dtype=torch.int64).index_add_(0, sample_of, same.to(torch.int64))

    blank = ctx.config.get("blank")
    blank = blank if isinstance(blank, int) and not isinstance(blank, bool) else 0
    is_blank = valid_labels == blank
    if bool(is_blank.any()):
        rows = sorted(set(sample_of[is_blank].tolist()))
        shown = ", ".join(map(str, rows[:6])) + (", ..." if len(rows) > 6 else "")
        ctx.emit(
            "LL407",
            "targets",
            f"`targets` contain the blank index {blank} inside the target lengths ({int(is_blank.sum())} times, "
            f"sample{'s' if len(rows) > 1 else ''} {shown}); labels must avoid the blank",
            explanation=(
                "CTC reserves the blank to separate labels in an alignment; torch does not check the targets, so a "
                "blank inside a target trains the model on a label that decoding removes. Padding after "
                "target_lengths is ignored and may be anything."
            ),
            fix=f"shift the labels to 1..C-1 (and keep blank={blank}), or set blank to an index no label uses",
            observed=f"{facts.summary}, {int(is_blank.sum())} blanks inside target_lengths",
            expected=f"labels in [0, {C}) other than {blank}",
        )
    outside = (valid_labels < 0) | (valid_labels >= C)
    if bool(outside.any()):
        bad = torch.unique(valid_labels[outside])
        shown = ", ".join(str(v) for v in bad[:5].tolist()) + (", ..." if bad.numel() > 5 else "")
        ctx.emit(
            "LL401",
            "targets",
            f"`targets` contain labels outside [0, {C}) inside the target lengths: {shown}; log_probs has C = {C} classes",
            explanation=(
                "torch does not bounds-check CTC targets on CPU: it reads log-probabilities out of bounds "
                "(garbage values, or a crash for very large labels); on CUDA it may fault asynchronously."
            ),
            fix=f"map the labels to 1..{C - 1} (blank={blank})"
            + (f", or give the model {int(bad.max()) + 1} output classes" if int(bad.max()) >= C else "; negative values belong after target_lengths, as padding"),
            observed=f"{facts.summary}, labels {shown}",
            expected=f"labels in [0, {C})",
        )
    if il is None or il.numel() != N:
        return
    needed = tl + repeats
    short = il < needed
    if bool(short.any()):
        rows = torch.nonzero(short).flatten().tolist()
        first = rows[0]
        ctx.emit(
            "LL210",
            "input_lengths",
            f"`input_lengths` are too short for {len(rows)} sample{'s' if len(rows) > 1 else ''}: sample {first} has "
            f"{int(il[first])} frames but its target needs {int(needed[first])} "
            f"({int(tl[first])} labels + {int(repeats[first])} blanks between repeated labels)",
            explanation=(
                "A CTC alignment emits every label once and a blank between two equal consecutive labels, so it "
                "needs target_length + repeats frames. With fewer, no alignment exists: that sample's loss is inf "
                "(the mean is inf too), and zero_infinity=True only hides it."
            ),
            fix="downsample less in time (fewer strides/pooling), or drop samples whose targets are too long",
            observed=f"input_length {int(il[first])}, target_length {int(tl[first])}, repeats {int(repeats[first])}",
            expected=f"input_length >= {int(needed[first])}",
        )


# ==== shared: class indices whose range comes from the configuration ================================


def _class_index_dtype(ctx: CallContext, argument: str, allowed: tuple[torch.dtype, ...], says: str) -> bool:
    """LL102 for float indices, LL101 for other wrong dtypes; True when the dtype is fine."""
    facts = ctx.fact(argument)
    if facts is None or facts.dtype in allowed:
        return facts is not None
    names = " or ".join(dtype_name(d) for d in allowed)
    code = "LL102" if facts.is_floating else "LL101"
    ctx.emit(
        code,
        argument,
        f"`{argument}` is {dtype_name(facts.dtype)}; expected {names} class indices",
        explanation=f"torch raises '{says}'.",
        fix=f"{argument}.long()",
        observed=facts.summary,
        expected=names,
        torch_raises=True,
    )
    return False


def _out_of_range(
    ctx: CallContext, argument: str, classes: int, ignore: int | None, torch_says, config_name: str
) -> None:
    """Exact [0, classes) | ignore check of an integer index tensor; emits LL401 (torch raises)."""
    facts = ctx.values(argument)
    if facts is None or not facts.is_integral or facts.numel == 0:
        return
    # Compare as int64, as the kernels do: a uint8 tensor compared with -100 would wrap it to 156.
    data = ctx.args[argument].detach().to(torch.int64)
    outside = (data < 0) | (data >= classes)
    if ignore is not None:
        outside &= data != ignore
    count = int(outside.sum())
    if count == 0:
        return
    bad = torch.unique(data[outside])
    shown = ", ".join(str(v) for v in bad[:5].tolist()) + (", ..." if bad.numel() > 5 else "")
    allowed = f"[0, {classes})" + (f" or {ignore}" if ignore is not None else "")
    code, tail, fix = "LL401", f"; valid class indices run from 0 to {config_name}-1 = {classes - 1}", None
    hint = DOMAIN_HINTS.get("LL401")
    if hint is not None and ctx.binding.get("C") == classes:
        # The cross-entropy diagnoses: 1-based labels, a void label 255 that is not ignored (LL412).
        found = hint(ctx, argument, bad)
        if found is not None:
            code, tail, fix = found
            if code != "LL401":
                fix = f"ignore_index={int(bad[0])}"
    if fix is None and ignore is None and bool((bad == -100).all()):
        # AdaptiveLogSoftmaxWithLoss has no ignore_index at all: -100 padding must be dropped.
        fix = f"{ctx.loss.name} has no ignore_index: drop those rows first, keep = {argument} != -100; module(input[keep], {argument}[keep])"
    if fix is None:
        fix = f"map the labels to 0..{classes - 1} ({argument} - 1 if they are 1-based)" + (
            f", or give the model {int(bad.max()) + 1} classes" if int(bad.max()) >= classes else ""
        )
    ctx.emit(
        code,
        argument,
        f"`{argument}` has {count} value{'s' if count > 1 else ''} outside {allowed}: {shown}{tail}",
        explanation=f"torch raises '{torch_says(data)}'.",
        fix=fix,
        observed=f"{facts.summary}, values outside the range: {shown}",
        expected=f"values in {allowed}",
        torch_raises=True,
    )


# ==== AdaptiveLogSoftmaxWithLoss =====================================================================

# AdaptiveLogSoftmaxWithLoss.forward gathers with the target itself: int64 only, or int64 and int32
# where the installed torch's gather takes int32 indices (releases.adaptive_int32_target), never
# uint8 (cross entropy takes uint8).
def _asm_target_dtypes() -> tuple[torch.dtype, ...]:
    return (torch.int64, torch.int32) if releases.holds("adaptive_int32_target") else (torch.int64,)


@check("adaptive_softmax_call")
def adaptive_softmax_call(ctx: CallContext) -> None:
    """in_features, the module's dtype, the batch, and targets in [0, n_classes)."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    in_features = ctx.config.get("in_features")
    n_classes = ctx.config.get("n_classes")
    head = ctx.fact("head_weight")
    dtype_ok = _class_index_dtype(
        ctx, "target", _asm_target_dtypes(), releases.said("adaptive_uint8_target") or "gather(): the index must be int64"
    )

    if ctx.format is None:
        # forward() checks the target's dims first, then the batch, then the input's dims.
        if tgt.ndim >= 2:
            squeezable = tgt.ndim == 2 and tgt.shape[1] == 1 and inp.ndim == 2 and tgt.shape[0] == inp.shape[0]
            ctx.emit(
                "LL203" if squeezable else "LL201",
                "target",
                f"`target` has shape {tuple(tgt.shape)}; expected ({inp.shape[0]},) class indices"
                if inp.ndim >= 1
                else f"`target` has shape {tuple(tgt.shape)}; expected a 0-d class index",
                explanation="torch raises '0D or 1D target tensor expected, multi-target not supported'."
                + (" For (N, T) sequences, flatten both: input.flatten(0, 1), target.flatten()." if tgt.ndim == 2 and not squeezable else ""),
                fix="target.squeeze(1)" if squeezable else "input.flatten(0, -2), target.flatten()",
                observed=f"input {inp.summary}, target {tgt.summary}",
                expected=f"target ({inp.shape[0]},)" if inp.ndim >= 1 else "target ()",
                torch_raises=True,
            )
            return
        if tgt.ndim == 1 and inp.ndim >= 1 and inp.shape[0] != tgt.shape[0]:
            ctx.emit(
                "LL207",
                "target",
                f"`target` has batch size {tgt.shape[0]}; `input` has {inp.shape[0]}"
                + (" (an unbatched input takes a 0-d target)" if inp.ndim == 1 else ""),
                explanation="torch raises 'Input and target should have the same size in the batch dimension.'",
                fix="target.squeeze(0)  # a 0-d target for an unbatched input" if inp.ndim == 1 else "build the target from the same batch as the input",
                observed=f"input {inp.summary}, target {tgt.summary}",
                expected=f"target ({inp.shape[0]},)" if inp.ndim == 2 else "target ()",
                torch_raises=True,
            )
            return
    if isinstance(in_features, int) and inp.ndim in (1, 2) and inp.shape[-1] != in_features:
        ctx.emit(
            "LL201",
            "input",
            f"`input` has {inp.shape[-1]} features (last dim of {inp.summary}); expected in_features = {in_features}",
            explanation="The module's head is a Linear(in_features, ...): torch raises 'mat1 and mat2 shapes cannot be multiplied'.",
            fix=f"give `input` {in_features} features, or build AdaptiveLogSoftmaxWithLoss({inp.shape[-1]}, n_classes, cutoffs)",
            observed=inp.summary,
            expected=f"(N, {in_features}) or ({in_features},)",
            torch_raises=True,
        )
    if head is not None and inp.is_floating and head.is_floating and inp.dtype != head.dtype:
        ctx.emit(
            "LL106",
            "input",
            f"`input` is {dtype_name(inp.dtype)}; the module's weights are {dtype_name(head.dtype)}",
            explanation="torch raises 'expected m1 and m2 to have the same dtype' in the head's matrix multiply.",
            fix=f"input.to({'torch.' + dtype_name(head.dtype)}), or module.to(input.dtype)",
            observed=f"input {inp.summary}, weights {dtype_name(head.dtype)}",
            expected=dtype_name(head.dtype),
            torch_raises=True,
        )
    if dtype_ok and isinstance(n_classes, int) and ctx.format is not None:
        _out_of_range(
            ctx,
            "target",
            n_classes,
            None,
            lambda data: f"Target values should be in [0, {n_classes - 1}], but values in range "
            f"[{int(data.min())}, {int(data.max())}] were found.",
            "n_classes",
        )


# ==== LinearCrossEntropyLoss =========================================================================


@adapter("linear_cross_entropy_module")
def linear_cross_entropy_module(ctx: CallContext) -> None:
    """Give `linear_weight` the shape LinearCrossEntropyLoss.forward passes on.

    The module stores its weight flat, Linear(in_features, C * prod(out_features)), and forward()
    reshapes it to (C, *out_features, in_features) before calling F.linear_cross_entropy.
    """
    weight = ctx.tensor("linear_weight")
    classes, out = ctx.config.get("num_classes"), ctx.config.get("out_features")
    if weight is None or weight.ndim != 2 or not isinstance(classes, int) or not out:
        return
    try:
        shaped = (classes, *(int(d) for d in out), weight.shape[-1])
    except (TypeError, ValueError):
        return
    if tuple(weight.shape) != shaped and weight.numel() == math.prod(shaped):
        ctx.args["linear_weight"] = weight.detach().reshape(shaped)


def _chunked(ctx: CallContext, target: TensorFacts | None, out_features: tuple[int, ...]) -> bool:
    """Whether F.linear_cross_entropy takes the chunked path (its condition, verbatim)."""
    return (
        ctx.config.get("options") is not None
        and ctx.config.get("reduction") in ("mean", "sum", "none")
        and ctx.config.get("label_smoothing") == 0.0
        and target is not None
        and target.dtype == torch.int64
        and not out_features
    )


@check("linear_cross_entropy_call")
def linear_cross_entropy_call(ctx: CallContext) -> None:
    """dtypes of input / linear_weight / linear_bias / weight, their shapes, ignore_index, index range."""
    inp, lw, tgt = ctx.fact("input"), ctx.fact("linear_weight"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    if lw is None or lw.ndim < 2 or inp.ndim not in (1, 2):
        _linear_ce_target_shape(ctx, inp, None, tgt)
        return
    if inp.shape[-1] != lw.shape[-1]:
        features = lw.shape[-1]
        ctx.emit(
            "LL201",
            "input",
            f"`input` has {inp.shape[-1]} features (last dim of {inp.summary}); `linear_weight` {lw.summary} has in_features = {features}",
            explanation=f"torch raises 'expected equal input and linear_weight last dimensions (in_features), got {inp.shape[-1]} and {features}, respectively'.",
            fix=f"give `input` {features} features"
            + (f", or build LinearCrossEntropyLoss({inp.shape[-1]}, num_classes)" if ctx.form == "module" else ""),
            observed=f"input {inp.summary}, linear_weight {lw.summary}",
            expected=f"input (N, {features}) or ({features},)",
            torch_raises=True,
        )
        return
    if lw.ndim > 2 and inp.ndim == 1:
        ctx.emit(
            "LL201",
            "input",
            f"`input` is unbatched {inp.summary}; a K-dimensional `linear_weight` {lw.summary} needs batched input (N, {inp.shape[0]})",
            explanation=f"torch raises 'K-dimensional loss defined by linear_weight shape {tuple(lw.shape)} requires batched input'.",
            fix="input.unsqueeze(0), target.unsqueeze(0)",
            observed=f"input {inp.summary}, linear_weight {lw.summary}",
            expected=f"input (N, {inp.shape[0]})",
            torch_raises=True,
        )
        return
    classes, out = lw.shape[0], tuple(lw.shape[1:-1])
    logits = (*inp.shape[:-1], classes, *out)
    chunked = _chunked(ctx, tgt, out)
    path = "the chunked path (options=...)" if chunked else "the reference path"

    # input @ linear_weight.T: the chunked kernel also takes f16/bf16 input with wider weights.
    if inp.is_floating and lw.is_floating and inp.dtype != lw.dtype and not (chunked and inp.dtype in (torch.float16, torch.bfloat16)):
        ctx.emit(
            "LL106",
            "input",
            f"`input` is {dtype_name(inp.dtype)}; `linear_weight` is {dtype_name(lw.dtype)}",
            explanation=f"The logits are input @ linear_weight.T, and on {path} torch raises 'expected m1 and m2 to have the same dtype'.",
            fix=f"input.to({'torch.' + dtype_name(lw.dtype)})" + (", or module.to(input.dtype)" if ctx.form == "module" else ""),
            observed=f"input {inp.summary}, linear_weight {lw.summary}",
            expected=dtype_name(lw.dtype),
            torch_raises=True,
        )

    bias = ctx.config.get("linear_bias")
    if isinstance(bias, torch.Tensor):
        want = (classes, *out)
        if tuple(bias.shape) != want:
            ctx.emit(
                "LL201",
                "linear_bias",
                f"`linear_bias` has shape {tuple(bias.shape)}; expected {want}, one bias per logit",
                explanation=f"torch raises 'expected linear_bias shape {want}, got {tuple(bias.shape)}'.",
                fix=f"linear_bias of shape {want} (linear_weight.shape[:-1])",
                observed=f"{dtype_name(bias.dtype)}{list(bias.shape)}",
                expected=str(list(want)),
                torch_raises=True,
            )
        elif not chunked and inp.is_floating and bias.dtype != inp.dtype:
            ctx.emit(
                "LL106",
                "linear_bias",
                f"`linear_bias` is {dtype_name(bias.dtype)}; expected {dtype_name(inp.dtype)}, the input's dtype",
                explanation="torch raises 'self and mat2 must have the same dtype' in the linear layer.",
                fix="linear_bias.to(input.dtype)",
                observed=dtype_name(bias.dtype),
                expected=dtype_name(inp.dtype),
                torch_raises=True,
            )

    weight = ctx.config.get("weight")
    if isinstance(weight, torch.Tensor):
        shape = tuple(weight.shape)
        if shape != (classes,):
            # The chunked kernel indexes weight[target] and checks nothing: a longer 1-D weight works.
            raises = not chunked or weight.ndim != 1 or weight.numel() < classes
            ctx.emit(
                "LL206",
                "weight",
                f"`weight` has shape {shape}; expected ({classes},), one weight per class",
                explanation=(
                    f"torch raises 'weight tensor should be defined either for all {classes} classes or no classes'."
                    if not chunked
                    else ("the chunked path raises 'index out of range in self'." if raises else "the chunked path indexes weight[target] without checking its size, and the reference path (options=None) raises.")
                ),
                fix=f"a weight of {classes} entries, e.g. torch.ones({classes})",
                observed=f"{dtype_name(weight.dtype)}{list(shape)}",
                expected=f"[{classes}]",
                torch_raises=raises,
                severity=None if raises else "warning",
            )
        elif not chunked and inp.is_floating and weight.dtype != inp.dtype:
            ctx.emit(
                "LL106",
                "weight",
                f"`weight` is {dtype_name(weight.dtype)}; expected {dtype_name(inp.dtype)}, the logits' dtype",
                explanation="cross entropy on the logits raises 'expected scalar type ... but found ...'.",
                fix="weight.to(input.dtype)",
                observed=dtype_name(weight.dtype),
                expected=dtype_name(inp.dtype),
                torch_raises=True,
            )

    ignore = ctx.config.get("ignore_index")
    if tuple(tgt.shape) == logits:
        if ignore is not None and not isinstance(ignore, bool):
            ctx.emit(
                "LL410",
                "ignore_index",
                f"`ignore_index` is {ignore!r} while `target` holds class probabilities ({tgt.summary})",
                explanation=(
                    "F.linear_cross_entropy raises 'ignore_index cannot be specified when target contains "
                    "probabilities' for any ignore_index that is not None, -100 included (CrossEntropyLoss "
                    "only rejects values >= 0)."
                ),
                fix="ignore_index=None (the default)",
                observed=f"ignore_index={ignore!r}, target {tgt.summary}",
                expected="ignore_index=None with probability targets",
                torch_raises=True,
            )
        return
    if ctx.format is None:
        _linear_ce_target_shape(ctx, inp, logits, tgt)
        return
    if chunked and inp.ndim == 1 and tgt.ndim == 1:
        # The reference path accepts a (1,) target for an unbatched input (as cross entropy does); the
        # chunked path unsqueezes both and fails in its gather.
        ctx.emit(
            "LL203",
            "target",
            f"`target` has shape {tuple(tgt.shape)} for an unbatched `input` {inp.summary}; expected a 0-d class index",
            explanation="with options=LinearCrossEntropyOptions(...) torch raises 'Index tensor must have the same number of dimensions as input tensor'; only the reference path (options=None) accepts a (1,) target here.",
            fix="target.squeeze(0)",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected="target ()",
            torch_raises=True,
        )
    if tgt.dtype in (torch.int64, torch.uint8) and not ctx.has("LL102", "target"):
        effective = ignore if isinstance(ignore, int) and not isinstance(ignore, bool) else -100
        _out_of_range(
            ctx,
            "target",
            classes,
            effective,
            lambda data: f"Target {_first_outside(data, classes, effective)} is out of bounds."
            if not chunked
            else f"index {_first_outside(data, classes, effective)} is out of bounds for dimension 1 with size {classes}",
            "C",
        )


def _first_outside(data: torch.Tensor, classes: int, ignore: int) -> int:
    bad = data[((data < 0) | (data >= classes)) & (data != ignore)]
    return int(bad.reshape(-1)[0]) if bad.numel() else -1


def _linear_ce_target_shape(ctx: CallContext, inp: TensorFacts, logits: tuple[int, ...] | None, tgt: TensorFacts) -> None:
    """No format fits: name the classic target mistakes, measured against the logits' shape."""
    if logits is None or inp.ndim != 2:
        return
    expected = (logits[0], *logits[2:])
    t = tuple(tgt.shape)
    if len(t) == len(expected) + 1 and t[1] == 1 and t[:1] + t[2:] == expected:
        ctx.emit(
            "LL203",
            "target",
            f"`target` has shape {t}, with an extra dimension of size 1; expected {expected}",
            explanation="Class-index targets have no class dimension; torch raises '0D or 1D target tensor expected, multi-target not supported'"
            + (" ('only batches of spatial targets supported' with out_features)." if len(expected) > 1 else "."),
            fix="target.squeeze(1)",
            observed=tgt.summary,
            expected=str(list(expected)),
            torch_raises=True,
        )
    elif tgt.ndim == len(expected) and t[1:] == expected[1:] and t[0] != expected[0]:
        ctx.emit(
            "LL207",
            "target",
            f"`target` has batch size {t[0]}; `input` has {expected[0]}",
            explanation=f"torch raises 'Expected input batch_size ({expected[0]}) to match target batch_size ({t[0]})'.",
            fix="build the target from the same batch as the input (check drop_last / the last partial batch)",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"target {list(expected)}",
            torch_raises=True,
        )
    elif t != expected:
        ctx.emit(
            "LL201",
            "target",
            f"`target` has shape {t}; expected class indices {expected} or class probabilities {logits}, "
            f"for logits {logits} = input {tuple(inp.shape)} @ linear_weight.T",
            explanation=(
                f"The logits are (N, C, *out_features) = {logits}: cross entropy takes int64 class indices without "
                "the class dim, or float probabilities of the logits' own shape; torch raises a size error for anything else."
            ),
            fix=f"give `target` the shape {expected}"
            + (f" (out_features={logits[2:]} are part of every target)" if len(logits) > 2 else ""),
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"{list(expected)} or {list(logits)}",
            torch_raises=True,
        )
