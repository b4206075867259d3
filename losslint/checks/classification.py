"""Checks for the class-index and class-probability losses: CrossEntropyLoss, NLLLoss and relatives."""

from __future__ import annotations

import torch

from ..evidence import kinds, layout
from ..language import releases
from ..judging.context import CallContext
from ..evidence.facts import dtype_name, scalar_type_name
from . import check, domain_hint, raiser

# ---- class-index range -----------------------------------------------------------------------------


@domain_hint("LL401")
def explain_out_of_range(ctx: CallContext, argument: str, bad: torch.Tensor):
    """Sharper diagnoses of out-of-range class indices: void 255, 1-based labels."""
    classes = ctx.binding.get("C")
    values = set(bad.tolist())
    if values == {255} and classes is not None and classes < 255 and ctx.config.get("ignore_index") != 255:
        module = ctx.loss.rule.loss.module or ""
        if "ignore_index" not in ctx.config:
            fix = None
        elif module.startswith("torch.nn."):
            fix = f"nn.{module.removeprefix('torch.nn.')}(ignore_index=255)"
        else:
            fix = f"ignore_index=255 ({module or ctx.loss.name})"
        return ("LL412", "; 255 is the usual void/boundary label of segmentation masks", fix)
    facts = ctx.values(argument)
    if classes is not None and facts is not None and values == {classes}:
        vr = facts.value_range
        ignore = ctx.config.get("ignore_index")
        data = ctx.args[argument].detach()
        real = data[data != ignore] if ignore is not None else data
        if vr is not None and real.numel() and int(real.min()) >= 1:
            return (
                "LL401",
                f"; the largest label equals C={classes} and no label is 0, so the labels look 1-based",
                f"{argument} - 1 (labels must run from 0 to C-1 = {classes - 1})",
            )
    ignore = ctx.config.get("ignore_index")
    if values == {-1} and ignore is not None and ignore != -1:
        # -1 marks padding in many pipelines (a collate function's pad value); torch skips only
        # ignore_index, -100 by default, and rejects -1 as a class index.
        return (
            "LL401",
            f"; -1 looks like padding, but only ignore_index ({ignore}) is skipped",
            f"{argument}.masked_fill({argument} == -1, {ignore}), or ignore_index=-1",
        )
    if classes is not None:
        return ("LL401", f"; valid class indices run from 0 to C-1 = {classes - 1}", None)
    return None


# ---- target formats --------------------------------------------------------------------------------


def _one_hot_rows(ctx: CallContext, argument: str, class_dim: int = 1) -> kinds.RowPattern | None:
    facts = ctx.values(argument)
    if facts is None or facts.ndim <= class_dim:
        return None
    sample = facts.sample_rows(0)
    return kinds.binary_rows(sample, class_dim) if sample is not None else None


def _distributions_along_last_dim(sample, facts) -> int | None:
    """The class count when a float target of 3 or more dims holds distributions along its last dim."""
    if facts.ndim < 3 or sample is None:
        return None
    norm = kinds.normalization(sample, sample.ndim - 1)
    return norm.classes if norm is not None and norm.is_probabilities(max(kinds.tolerance(facts.dtype), 1e-3)) else None


@check("probability_target_rows")
def probability_target_rows(ctx: CallContext) -> None:
    """Class-probability targets: each row a distribution. Multi-hot rows mean a multi-label task."""
    facts = ctx.values("target")
    if facts is None or not facts.is_floating:
        return
    class_dim = 0 if facts.ndim == 1 else 1
    sample = facts.sample_rows(0) if class_dim == 1 else ctx.args["target"].detach().double()
    rows = kinds.binary_rows(sample, class_dim)
    if rows is not None and rows.one_hot:
        ctx.emit(
            "LL405",
            "target",
            f"`target` is one-hot {facts.summary}: read as class probabilities; class indices are the usual form",
            fix="loss(input, target.argmax(dim=1))",
            observed=f"{facts.summary}, values {{0, 1}}, one 1 per row",
            expected=f"int64{list(facts.shape[:class_dim] + facts.shape[class_dim + 1:])} class indices",
        )
        return
    if rows is not None and rows.multi_hot:
        ctx.emit(
            "LL404",
            "target",
            f"`target` rows hold up to {rows.ones_max} ones (multi-hot, {facts.summary}); "
            "class probabilities must sum to 1 per row",
            explanation=(
                "A target of the input's shape is read as class probabilities. Rows with several 1s sum to "
                f"up to {rows.ones_max}: this is a multi-label task, which softmax cross entropy cannot express "
                "(the classes compete for one unit of probability)."
            ),
            fix="nn.BCEWithLogitsLoss()(logits, target)  # one independent sigmoid per class",
            observed=f"{facts.summary}, values {{0, 1}}, {rows.ones_min} to {rows.ones_max} ones per row",
            expected="rows of non-negative values that sum to 1",
            confidence="strong",
        )
        return
    norm = kinds.normalization(sample, class_dim)
    if norm is None:
        return
    tol = max(kinds.tolerance(facts.dtype), 1e-3)
    if norm.nonnegative and norm.max_sum_error <= tol:
        return
    if not norm.nonnegative:
        if norm.is_log_probabilities(tol) or norm.nonpositive:
            seen = "holds log-probabilities (values <= 0)"
            fix = "pass probabilities: target.exp(), or F.softmax(teacher_logits, dim=1)"
        else:
            seen = "has negative values"
            fix = "pass probabilities: F.softmax(teacher_logits, dim=1)"
    else:
        seen = f"has rows that sum to {1 + norm.max_sum_error:.3g} or {1 - norm.max_sum_error:.3g}, not 1"
        fix = "target / target.sum(dim=1, keepdim=True)"
        last = _distributions_along_last_dim(sample, facts)
        if last is not None:
            # (N, L, V) teacher probabilities against (N, L, V) logits: the distributions are along the last
            # dim, and renormalizing along dim 1 would make a distribution over the sequence.
            seen = (
                f"sums to 1 along its last dim ({last} values per row), not along dim 1 where "
                f"{ctx.loss.name} reads the classes (size {facts.shape[1]}): the classes are last, (N, L, C)"
            )
            move = ".transpose(1, 2)" if facts.ndim == 3 else ".movedim(-1, 1)"
            fix = f"loss(input{move}, target{move}); or flatten both: loss(input.reshape(-1, {last}), target.reshape(-1, {last}))"
    ctx.emit(
        "LL404",
        "target",
        f"`target` {seen}; class probabilities must be non-negative and sum to 1 per row",
        explanation=(
            "A target of the input's shape is read as class probabilities. torch does not check that they "
            "are a distribution, so the loss is computed, but it is no longer a cross entropy and its "
            "minimum is not at the target."
        ),
        fix=fix,
        observed=f"{facts.summary}, row sums up to 1 ± {norm.max_sum_error:.3g}",
        expected="rows of non-negative values that sum to 1",
        severity="warning",
        confidence="strong",
    )


@check("probabilities_ignore_index")
def probabilities_ignore_index(ctx: CallContext) -> None:
    """torch rejects ignore_index >= 0 with probability targets (negative values are ignored)."""
    ignore = ctx.config.get("ignore_index")
    facts = ctx.fact("target")
    if facts is None or not facts.is_floating or not isinstance(ignore, int) or ignore < 0:
        return
    ctx.emit(
        "LL410",
        "ignore_index",
        f"`ignore_index` is {ignore} while `target` holds class probabilities ({facts.summary})",
        explanation="torch raises 'ignore_index is not supported for floating point target': ignore_index only applies to class-index targets.",
        observed=f"ignore_index={ignore}, target {facts.summary}",
        expected="ignore_index < 0 (the default -100) with probability targets",
        torch_raises=True,
    )


@check("uint8_class_target", metadata_only=True)
def uint8_class_target(ctx: CallContext) -> None:
    """uint8 class indices work with (N, C) inputs, but not with (N, C, d1, ...) (the spatial kernel
    takes int64 only), nor with a class weight and label smoothing (the smoothing term gathers the
    weight with the target, and gather takes int32/int64 indices only)."""
    facts = ctx.fact("target")
    if facts is None or facts.dtype != torch.uint8:
        return
    if ctx.binding.get("*d"):
        why = (
            "A uint8 mask (read from a PNG through NumPy) is accepted with (N, C) inputs, but with extra "
            "dimensions torch raises (expected scalar type Long, found Byte)."
        )
    elif isinstance(ctx.config.get("weight"), torch.Tensor) and (ctx.config.get("label_smoothing") or 0) > 0:
        why = (
            "With a class weight and label smoothing, cross entropy gathers the weight at the target "
            "indices, and torch's gather raises for uint8 indices."
        )
    else:
        return
    ctx.emit(
        "LL102",
        "target",
        f"`target` is uint8 {facts.summary}; expected int64 class indices",
        explanation=why,
        fix="target.long()",
        observed=facts.summary,
        expected="int64",
        torch_raises=True,
    )


@check("unbatched_target_1_smoothing")
def unbatched_target_1_smoothing(ctx: CallContext) -> None:
    """A (1,) target for an unbatched (C,) input: label smoothing's term is computed at the input's
    (scalar) shape and cannot take the target's (1,) one (where the installed torch rejects it)."""
    smoothing = ctx.config.get("label_smoothing")
    if not isinstance(smoothing, (int, float)) or smoothing <= 0 or releases.holds("unbatched_target_1_label_smoothing"):
        return
    facts = ctx.fact("target")
    ctx.emit(
        "LL203",
        "target",
        f"`target` has shape (1,) for an unbatched `input` with label_smoothing={smoothing}; expected a 0-d class index",
        explanation=(
            "Without label smoothing a (1,) target is accepted for a (C,) input, but the smoothing term "
            "keeps the input's scalar shape: "
            + releases.quote("unbatched_target_1_label_smoothing", "torch raises a shape error.")
        ),
        fix="target.squeeze(0)",
        observed=facts.summary if facts is not None else "(1,)",
        expected="a 0-d target, e.g. torch.tensor(3)",
        torch_raises=True,
    )


@check("square_sequence_logits", metadata_only=True)
def square_sequence_logits(ctx: CallContext) -> None:
    """(N, L, L) logits with an (N, L) target fit (N, C, d) with C == d, but they are just as likely
    (N, T, V) sequence logits with T == V, which would normalize over the time axis silently. The
    shapes cannot tell which; say so once, as info."""
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None or inp.ndim != 3 or tgt.ndim != 2 or inp.shape[1] != inp.shape[2] or inp.shape[1] < 2:
        return
    size = inp.shape[1]
    ctx.emit(
        "LL204",
        "input",
        f"`input` {inp.summary} has as many classes as positions ({size}): read as (N, C, L), classes at dim 1",
        explanation=(
            f"{ctx.loss.name} reads the classes from dim 1. If this is (N, T, V) sequence logits (vocabulary last) "
            "with T == V, the call is accepted and normalizes over the time axis silently; if it is (N, C, L) "
            "with C == L, it is right. The shapes cannot tell the two apart."
        ),
        fix="if the classes are last: loss(input.transpose(1, 2), target)",
        observed=f"input {inp.summary}, target {tgt.summary}",
        expected="classes at dim 1: (N, C, L)",
        severity="info",
        confidence="weak",
    )


@check("label_smoothing_range", metadata_only=True)
def label_smoothing_range(ctx: CallContext) -> None:
    """torch rejects label_smoothing > 1 but takes negative values, which mean nothing: the smoothing
    would push probability away from the uniform distribution."""
    smoothing = ctx.config.get("label_smoothing")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or smoothing >= 0:
        return
    ctx.emit(
        "LL004",
        "label_smoothing",
        f"`label_smoothing` is {smoothing}; expected a value in [0, 1]",
        explanation=(
            "Label smoothing mixes the target with the uniform distribution: target * (1 - s) + s / C. A "
            "negative s gives the non-target classes negative probability. torch does not check it and "
            "computes a loss that rewards over-confidence instead of tempering it."
        ),
        fix="label_smoothing=0.0 (off), or a small positive value such as 0.1",
        observed=f"label_smoothing={smoothing}",
        expected="0 <= label_smoothing <= 1",
        severity="warning",
    )


@check("first_index_in_range")
def first_index_in_range(ctx: CallContext) -> None:
    """Older nll_loss releases take a (C,) target for an unbatched (C,) input and read only its first
    entry: that one must be a class index (or ignore_index); the rest is never looked at."""
    facts = ctx.values("target")
    classes = ctx.binding.get("C")
    if facts is None or not facts.is_integral or classes is None or facts.numel == 0:
        return
    first = int(ctx.args["target"].detach().reshape(-1)[0])
    ignore = ctx.config.get("ignore_index")
    if 0 <= first < classes or first == ignore:
        return
    ctx.emit(
        "LL401",
        "target",
        f"`target[0]` is {first}, outside [0, {classes}); an unbatched input takes one class index",
        explanation=f"torch reads the first entry as the sample's class and raises 'Target {first} is out of bounds.'",
        fix="target[0] for the one sample (a (C,) target for a (C,) input is a shape mistake too)",
        observed=f"{facts.summary}, target[0] = {first}",
        expected=f"a 0-d class index in [0, {classes})",
        torch_raises=True,
    )


FLAT_PADDING_MIN_CLASSES = 100  # a vocabulary, where real tokens rarely repeat in runs


@check("padding_not_ignored")
def padding_not_ignored(ctx: CallContext, min_rows: int = 2, min_length: int = 4) -> None:
    """(N, T) token targets whose rows end in runs of an id that appears nowhere else: padding."""
    facts = ctx.values("target")
    if facts is not None and facts.ndim == 1:
        # Flattened (N*T,) token targets: runs of the pad id instead of trailing runs. Only a
        # vocabulary-sized input qualifies; decided here, on the hot path, before the scan.
        inp = ctx.facts.get("input")
        if inp is not None and inp.ndim == 2 and inp.shape[1] >= FLAT_PADDING_MIN_CLASSES:
            flat_padding_not_ignored(ctx, min_classes=FLAT_PADDING_MIN_CLASSES)
        return
    if facts is None or facts.ndim != 2 or facts.shape[1] < min_length or facts.shape[0] < min_rows:
        return
    target = facts.sample_rows(0)
    if target is None:
        return
    last = target[:, -1]
    pad = float(last.mode().values)
    if pad == ctx.config.get("ignore_index"):
        return
    is_pad = target == pad
    # Length of each row's trailing run of `pad`.
    trailing = torch.flip(is_pad, dims=[1]).to(torch.int64).cumprod(dim=1).sum(dim=1)
    padded_rows = int((trailing >= 2).sum())
    inside = is_pad.sum(dim=1) - trailing
    if padded_rows < min_rows or int(inside.sum()) != 0 or len(set(trailing.tolist())) < 2:
        return
    pad_text = str(int(pad))
    ignore = ctx.config.get("ignore_index")
    ctx.emit(
        "LL409",
        "target",
        f"`target` rows end in runs of {pad_text} (lengths {sorted(set(trailing.tolist()))}) and {pad_text} "
        f"appears nowhere else: padding scored as class {pad_text}; ignore_index is {ignore}",
        fix=f"ignore_index={pad_text}, or target.masked_fill(target == {pad_text}, -100)",
        observed=f"{facts.summary}, {padded_rows} rows end in runs of {pad_text}",
        expected=f"padding set to ignore_index ({ignore})",
        confidence="weak",
    )


# ---- loss-level checks -----------------------------------------------------------------------------


@check("class_weight", metadata_only=True)
def class_weight(
    ctx: CallContext,
    config: str = "weight",
    same_dtype: bool = True,
    promoting_formats: tuple[str, ...] = (),
    spatial_numel: bool = False,
) -> None:
    """A per-class weight: shape (C,), the input's floating dtype (where the loss requires it: kornia
    promotes a float64 weight instead).

    promoting_formats: formats whose computation multiplies by the weight and so promotes its dtype
    (cross entropy's class probabilities: any weight dtype is accepted there).
    spatial_numel: with inputs of 3 or more dims, nll_loss2d checks only that the weight holds C values
    (a (1, C) or (C, 1) weight passes), where the 1- and 2-d kernels require the shape (C,).
    """
    weight = ctx.config.get(config)
    facts = ctx.fact("input")
    if not isinstance(weight, torch.Tensor) or facts is None:
        return
    classes = ctx.binding.get("C")
    if classes is None and facts.ndim >= 1:
        classes = facts.shape[1] if facts.ndim >= 2 else facts.shape[0]
    shape = tuple(weight.shape)
    fits = shape == (classes,)
    if not fits and spatial_numel and facts.ndim >= 3 and ctx.format is not None and ctx.format.name not in promoting_formats:
        fits = weight.numel() == classes
    if same_dtype and ctx.format is not None and ctx.format.name in promoting_formats:
        same_dtype = False
    if classes is not None and not fits:
        ctx.emit(
            "LL206",
            config,
            f"`{config}` has shape {shape}; expected ({classes},), one weight per class",
            explanation=(
                f"torch raises 'weight tensor should be defined either for all {classes} classes or no classes'."
                if raiser(ctx) == "torch"
                else f"{raiser(ctx)} raises: the weight must hold one value per class of the prediction."
            ),
            fix=f"a weight of {classes} entries, e.g. torch.ones({classes})",
            observed=f"{dtype_name(weight.dtype)}{list(shape)}",
            expected=f"[{classes}]",
            torch_raises=True,
        )
    elif same_dtype and facts.is_floating and weight.dtype != facts.dtype:
        ctx.emit(
            "LL106",
            config,
            f"`{config}` is {dtype_name(weight.dtype)}; expected {dtype_name(facts.dtype)}, the input's dtype",
            explanation=f"torch raises 'expected scalar type {scalar_type_name(facts.dtype)} but found {scalar_type_name(weight.dtype)}'.",
            fix=f"{config}.to(input.dtype)",
            observed=dtype_name(weight.dtype),
            expected=dtype_name(facts.dtype),
            torch_raises=True,
        )


@check("single_class", metadata_only=True)
def single_class(ctx: CallContext, raises: bool = False, fix: str | None = None) -> None:
    """C == 1: log_softmax over one class is 0, so the loss is identically zero (or, where the loss
    checks it, `raises`)."""
    facts = ctx.fact("input")
    if ctx.format is None or facts is None or ctx.binding.get("C") != 1 or facts.ndim < 2:
        return
    ctx.emit(
        "LL502",
        "input",
        f"`input` has a single class (C = 1, {facts.summary}): "
        + (f"{raiser(ctx)} rejects it" if raises else "the loss is identically zero"),
        fix=fix or "nn.BCEWithLogitsLoss()(input.squeeze(1), target.float())  # or two logits with cross entropy",
        observed=f"{facts.summary}, C = 1",
        expected="C >= 2",
        torch_raises=raises,
    )


@check("diagnose_class_target_shape")  # not metadata_only: it replaces earlier findings
def diagnose_class_target_shape(ctx: CallContext, float_one_hot: bool = False, one_hot: bool = True) -> None:
    """When no format fits: name the classic layout mistakes instead of a bare shape error.

    float_one_hot: a float target of the input's shape is a one-hot encoding too, for losses that have
    no class-probability format (kornia's). one_hot: False for a binary loss, whose {0, 1} mask of the
    prediction's shape is no one-hot encoding.
    """
    if ctx.format is not None:
        return
    library = raiser(ctx)
    inp, tgt = ctx.fact("input"), ctx.fact("target")
    if inp is None or tgt is None:
        return
    i, t = inp.shape, tgt.shape
    if inp.ndim >= 2 and tgt.ndim == inp.ndim and t[1] == 1 and t[:1] + t[2:] == i[:1] + i[2:]:
        ctx.emit(
            "LL203",
            "target",
            f"`target` has shape {t}, with an extra dimension of size 1; expected {t[:1] + t[2:]}",
            explanation=(
                f"Class-index targets have no class dimension: for input {inp.summary} the target is "
                f"{t[:1] + t[2:]}. "
                + (
                    f"{library} raises a shape error."
                    if library != "torch"
                    else "torch raises "
                    + ("'0D or 1D target tensor expected, multi-target not supported'." if inp.ndim == 2 else "'only batches of spatial targets supported'.")
                )
            ),
            fix="target.squeeze(1)",
            observed=tgt.summary,
            expected=f"{list(t[:1] + t[2:])}",
            torch_raises=True,
        )
        return
    if inp.ndim >= 3 and t == i[:-1]:
        layout = "(N, T, C) sequence" if inp.ndim == 3 else "channels-last (N, H, W, C)"
        ctx.emit(
            "LL204",
            "input",
            f"`input` looks like {layout} logits {inp.summary}: the classes are on the last dim; expected them at dim 1",
            explanation=(
                f"{ctx.loss.name} reads the classes from dim 1, so with input {list(i)} it expects a target of "
                f"shape {[i[0]] + list(i[2:])} and raises a size error for {list(t)}. Had the sizes happened to "
                "agree, it would have normalized over the wrong axis silently."
            ),
            fix="loss(input.movedim(-1, 1), target)" if inp.ndim > 3 else "loss(input.transpose(1, 2), target)  # or input.flatten(0, 1), target.flatten()",
            observed=inp.summary,
            expected=f"{[i[0], i[-1]] + list(i[1:-1])} (classes at dim 1)",
            torch_raises=True,
        )
        return
    if inp.ndim >= 2 and tgt.ndim == inp.ndim - 1 and t[1:] == i[2:] and t[0] != i[0]:
        ctx.emit(
            "LL207",
            "target",
            f"`target` has batch size {t[0]}; `input` has {i[0]}",
            explanation=(
                f"torch raises 'Expected input batch_size ({i[0]}) to match target batch_size ({t[0]})'."
                if library == "torch"
                else f"{library} raises a size error."
            ),
            fix="build the target from the same batch as the input (check drop_last / the last partial batch)",
            observed=f"input {inp.summary}, target {tgt.summary}",
            expected=f"target [{i[0]}{''.join(f', {d}' for d in i[2:])}]",
            torch_raises=True,
        )
        return
    if one_hot and inp.ndim >= 2 and tgt.ndim == inp.ndim and t[0] == i[0] and (float_one_hot or not tgt.is_floating):
        rows = _one_hot_rows(ctx, "target")
        if rows is not None:
            # A float one-hot target also fails the dtype rule; the one-hot diagnosis says more.
            _emit_one_hot(ctx, rows, torch_raises=True, replaces=("LL102", "LL103") if float_one_hot else ())


def _emit_one_hot(
    ctx: CallContext, rows: kinds.RowPattern, torch_raises: bool, replaces: tuple[str, ...] = (), explanation: str | None = None
) -> None:
    facts = ctx.fact("target")
    kind = "one-hot" if rows.one_hot else "multi-hot"
    library = raiser(ctx)
    if library != "torch":
        explanation = (
            f"{ctx.loss.name} takes class indices, without a class dimension; {library} raises a shape "
            "error for a target of the prediction's shape."
        )
    ctx.emit(
        "LL202",
        "target",
        f"`target` looks {kind} ({facts.summary}, values {{0, 1}}); expected class indices of shape "  # type: ignore[union-attr]
        f"{list(facts.shape[:1] + facts.shape[2:])}",  # type: ignore[union-attr]
        fix="target.argmax(dim=1)" if rows.one_hot else "for multi-label targets use nn.BCEWithLogitsLoss() with target.float()",
        observed=f"{facts.summary}, values {{0, 1}}, "  # type: ignore[union-attr]
        + ("one 1 per row" if rows.one_hot else f"{rows.ones_min} to {rows.ones_max} ones per row"),
        expected=f"int64{list(facts.shape[:1] + facts.shape[2:])} class indices",  # type: ignore[union-attr]
        explanation=explanation,
        torch_raises=torch_raises,
        confidence="strong",
        replaces=replaces,
    )


@check("one_hot_integer_target")
def one_hot_integer_target(ctx: CallContext, replaces: tuple[str, ...] = ("LL103",)) -> None:
    """An integer target of the input's shape read as class probabilities: a one-hot encoding."""
    facts = ctx.fact("target")
    if facts is None or facts.is_floating:
        return
    rows = _one_hot_rows(ctx, "target", 1 if facts.ndim >= 2 else 0)
    if rows is not None:
        why = None
        if raiser(ctx) == "torch":
            why = "A target of the input's shape is read as class probabilities, which must be float: " + releases.quote(
                "integer_probability_target", "torch raises a dtype error", facts.dtype
            ) + "."
        _emit_one_hot(ctx, rows, torch_raises=True, replaces=replaces, explanation=why)


# ---- token padding in flattened targets --------------------------------------------------------------


@check("flat_padding_not_ignored")
def flat_padding_not_ignored(ctx: CallContext, min_classes: int = 100, min_run: int = 3, min_runs: int = 2) -> None:
    """LL409 for flattened token targets (N*T,): HuggingFace-style `labels.view(-1)` copied from
    input_ids without setting the padding to -100. The pad id repeats in long runs, one per padded
    sequence, and appears nowhere else; real tokens of a vocabulary this size rarely repeat at all."""
    inp = ctx.facts.get("input")
    if inp is None or inp.ndim != 2 or inp.shape[1] < min_classes:
        return
    facts = ctx.values("target")
    if facts is None or facts.ndim != 1 or facts.is_floating:
        return
    if facts.numel < 2 * min_run * min_runs or ctx.has("LL409"):
        return
    t = facts.sample_view(0)  # the target's own integer dtype: no float64 copy
    if t is None:
        return
    if int((t[1:] == t[:-1]).sum()) < min_runs * (min_run - 1):
        return  # too few repeated neighbours for any run of padding: one comparison decides it
    t = t.to(torch.int64)
    change = torch.ones_like(t, dtype=torch.bool)
    change[1:] = t[1:] != t[:-1]
    starts = change.nonzero().flatten()
    lengths = torch.diff(torch.cat([starts, torch.tensor([t.numel()], device=starts.device)]))
    values = t[starts]
    long = lengths >= min_run
    if int(long.sum()) < min_runs:
        return
    candidates = torch.unique(values[long])
    ignore = ctx.config.get("ignore_index")
    for pad in candidates.tolist():
        if pad == ignore:
            continue
        mine = values == pad
        runs = int(mine.sum())
        if runs < min_runs or bool((mine & ~long).any()) or runs == values.numel():
            continue  # every occurrence of the pad id sits in a long run, and other ids lie between
        others = lengths[~mine]
        if others.numel() == 0 or float((others >= min_run).float().mean()) > 0.05:
            continue  # the other ids repeat too: sorted labels, not tokens with padding
        total = int(lengths[mine].sum())
        ctx.emit(
            "LL409",
            "target",
            f"`target` holds {pad} in {runs} runs of {int(lengths[mine].min())} to {int(lengths[mine].max())} "
            f"({total} of {t.numel()} values) and nowhere else: padding scored as class {pad}; ignore_index is {ignore}",
            explanation=(
                "Flattened token targets (labels.view(-1)) whose pad id was not set to ignore_index: the pad id comes "
                "in one long run per padded sequence, while real tokens of a vocabulary of "
                f"{inp.shape[1]} rarely repeat. Padding is then trained like any token, and the loss falls fast on it."
            ),
            fix=f"labels[labels == {pad}] = -100 before flattening (or ignore_index={pad}); with HuggingFace, "
            "DataCollatorForSeq2Seq / DataCollatorForLanguageModeling do this",
            observed=f"{facts.summary}, {runs} runs of {pad}",
            expected=f"padding set to ignore_index ({ignore})",
            confidence="weak",
        )
        return


@check("classes_where_the_producer_put_them")
def classes_where_the_producer_put_them(ctx: CallContext) -> None:
    """Logits whose producer says where the classes are ((N, L, C) from a Linear, channels-last from a
    permuted convolution), read by the loss with the classes at dim 1: torch accepts them when the sizes
    happen to fit, and normalizes over the sequence, the batch or a spatial axis."""
    value = ctx.args.get("input")
    inp = ctx.fact("input")
    if not isinstance(value, torch.Tensor) or inp is None or inp.ndim < 3:
        return
    found = layout.producer_axis(value)
    if found is None or found.dim == 1:
        return
    size = inp.shape[found.dim]
    move = "input.transpose(1, 2)" if inp.ndim == 3 and found.dim == 2 else f"input.movedim({found.dim}, 1)"
    ctx.emit(
        "LL204",
        "input",
        f"`input` {inp.summary} comes from {found.producer}: its {size} classes are dim {found.dim}, "
        f"but {ctx.loss.name} reads the classes from dim 1 (size {inp.shape[1]})",
        explanation=(
            f"{ctx.loss.codes['LL204'].why} The layer that made the tensor fixes where its outputs are; torch accepts "
            "the call because the sizes happen to fit, and normalizes over the wrong axis."
        ),
        fix=f"loss({move}, target); or flatten both: loss(input.reshape(-1, {size}), target.reshape(-1))",
        observed=f"input {inp.summary}, classes at dim {found.dim} (from the producer)",
        expected="classes at dim 1: (N, C, d1, ...)",
        severity="warning",
        confidence="strong",
    )
