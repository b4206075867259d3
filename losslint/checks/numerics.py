"""Numerical validity: calls whose result is certain to be NaN, inf or 0/0 before the loss runs.

What torch computes (CPU, checked in tests/test_numerics.py against the real losses):

- `reduction="mean"` (and KLDivLoss's "batchmean") divides by the number of elements, or, for the
  class-index losses, by the summed class weights of the targets that are not `ignore_index`. An
  empty batch, a target that is all `ignore_index`, or class weights that are 0 for every class in the
  batch make that a 0/0: NaN. ("sum" gives 0 and "none" an empty or all-zero tensor: no NaN.)
- MultiMarginLoss and MultiLabelMarginLoss return uninitialized memory for an empty batch.
- NaN anywhere in an argument propagates. +inf in logits is inf - inf inside log_softmax: NaN.
  -inf logits or log-probabilities are a legitimate mask, except at the target class (the loss is
  inf), in a row that is -inf throughout (NaN), or with label smoothing (inf).
- A NaN or inf class weight poisons every sample of that class; a pos_weight of inf is `inf * 0`
  (NaN) for every negative of that class.
- float16 holds at most 65504: a "sum" over many elements, or one element-wise loss above that, is inf.

Cost: the empty batch is metadata; the all-ignored target and zero weights are exact (the target's
min and max, which the domain check has already read, and a gather of the weights at the targets);
non-finite values are read from the same bounded sample the kind heuristics use, and what those
heuristics have already computed is reused, so a clean call pays almost nothing.
"""

from __future__ import annotations

import math

import torch

from ..judging.context import CallContext
from ..evidence.facts import TensorFacts, dtype_name
from . import check

_AVERAGING = ("mean", "batchmean", "elementwise_mean")
_F16_MAX = 65504.0


def _averaging(ctx: CallContext) -> bool:
    return ctx.config.get("reduction", "mean") in _AVERAGING


def _first(ctx: CallContext) -> str | None:
    for name in ctx.loss.arguments:
        if name in ctx.facts:
            return name
    return None


@check("numerics")
def numerics(
    ctx: CallContext,
    empty: str = "nan",
    class_weight: str | None = None,
    weights: tuple[str, ...] | list[str] = (),
    neg_inf: str = "error",
    overflow: str | None = None,
    mean: str = "exact",
) -> None:
    """The loss is certainly NaN, inf or meaningless from its arguments.

    empty: what an empty batch gives under an averaging reduction: "nan" (0/0) or "uninitialized"
    (any reduction but "none"; torch's multi-margin kernels). class_weight: the per-class weight
    of a class-index loss (CE, NLL): zero for every class present is 0/0 under "mean". weights: other
    weights that multiply the element-wise loss (BCE's weight and pos_weight). neg_inf: how -inf in
    `input` behaves: "error", "target" (a mask; non-finite only at the target class or in an all -inf
    row), "ok" (CTC). overflow: "elementwise" or "rows": how to estimate a float16 sum; mean: whether a
    'mean' is a float16 sum too ("sum", "weighted-sum"; see _half_overflow).
    """
    if ctx.format is None or (ctx.findings and ctx.torch_raises):
        return  # torch rejects the call anyway; that finding says more
    first = ctx.facts.get(ctx.loss.arguments[0])
    if first is not None and first.numel == 0:
        _empty_batch(ctx, empty)
        return
    if not ctx.read_values:
        return  # everything below reads values
    # This runs on every call a hook reads: the clean case is plain attribute and dict reads, on
    # what the earlier steps already computed (the domain check's value range, the kind check's
    # sample range); no torch op of its own.
    config, known = ctx.config, ctx.facts
    index_target = None
    if "ignore_index" in config:
        tgt, inp = known.get("target"), known.get("input")
        # Class indices: an integer target without the class dim (CE, NLL).
        if tgt is not None and inp is not None and tgt.is_integral and tgt.ndim != inp.ndim:
            index_target = tgt
            vr = tgt.__dict__.get("value_range") if tgt.values_readable else None
            if vr is None and tgt.values_readable:
                vr = tgt.value_range
            if vr is not None and vr.min == vr.max == config.get("ignore_index"):
                _all_ignored(ctx, tgt)
    if class_weight and config.get(class_weight) is not None:
        _class_weight(ctx, class_weight, index_target)
    for name in weights:
        if config.get(name) is not None:
            _elementwise_weight(ctx, name)
    input_low = None
    for name, facts in known.items():
        if not facts.is_floating or not facts.values_readable:
            continue
        norm = facts.__dict__.get("_normalization_1")  # the kind checks' usual class dim
        if norm is not None:
            low, high = norm.low, norm.high
        else:
            found = _sample_range(facts)
            if found is None:
                continue
            low, high = found[0], found[1]
        if name == "input":
            input_low = low
        if low > -math.inf and high < math.inf:
            continue  # the common case: a finite sample, read by earlier steps (NaN fails both tests)
        _nonfinite(ctx, name, facts, neg_inf if name == "input" else "error", index_target)
    if index_target is not None and neg_inf == "target" and input_low == -math.inf:
        _inf_at_target(ctx, index_target)
    if overflow and any(f.dtype == torch.float16 for f in known.values()):
        _half_overflow(ctx, overflow, mean)


# ---- 0/0 ---------------------------------------------------------------------------------------------


def _empty_batch(ctx: CallContext, empty: str) -> bool:
    """Metadata only: an empty prediction under an averaging reduction."""
    name = _first(ctx)
    facts = ctx.fact(name) if name else None
    if facts is None or facts.numel != 0 or facts.is_nested:
        return False
    reduction = ctx.config.get("reduction", "mean")
    if empty == "uninitialized":
        if reduction == "none":
            return True
        result = "uninitialized memory (torch's kernel returns before writing its result)"
    elif reduction in _AVERAGING:
        result = "nan (a mean over no elements is 0/0)"
    else:
        return True
    ctx.emit(
        "LL602",
        name,
        f"`{name}` is empty ({facts.summary}): with reduction={reduction!r} the loss is {result}",
        fix="skip the loss when the batch is empty: `if input.numel(): loss = criterion(input, target)`, "
        "or reduction='sum' divided by max(n, 1)",
        observed=facts.summary,
        expected="at least one element",
    )
    return True


def _index_target(ctx: CallContext) -> TensorFacts | None:
    """The target's facts when it holds class indices (an integer target without the class dim)."""
    if "ignore_index" not in ctx.config:
        return None
    tgt, inp = ctx.fact("target"), ctx.fact("input")
    if tgt is None or inp is None or tgt.is_floating or tgt.is_complex or tgt.shape == inp.shape:
        return None
    return tgt


def _all_ignored(ctx: CallContext, tgt: TensorFacts) -> None:
    """Exact, and almost free: the domain check has already read the target's min and max."""
    ignore = ctx.config.get("ignore_index")
    facts = ctx.values("target")
    if facts is None or not isinstance(ignore, int) or not _averaging(ctx):
        return
    vr = facts.value_range
    if vr is None or not (vr.min == vr.max == ignore):
        return
    ctx.emit(
        "LL601",
        "target",
        f"every one of the {facts.numel} `target` values is ignore_index ({ignore}): with "
        f"reduction={ctx.config.get('reduction', 'mean')!r} the loss is nan (0/0)",
        explanation=(
            f"{ctx.loss.name} averages over the targets that are not ignore_index; there are none, so it divides "
            "0 by 0. One such batch makes the loss, the gradients and then the weights NaN. Typical causes: a "
            "segmentation crop that is all void, a language-model batch of padding only, an auxiliary head "
            "whose batch has no labelled sample."
        ),
        fix="skip the batch when nothing is labelled: `if (target != ignore_index).any(): loss = ...`, "
        "or reduction='sum' / (target != ignore_index).sum().clamp(min=1)",
        observed=f"{facts.summary}, all {ignore}",
        expected=f"at least one target that is not {ignore}",
    )


def _class_weight(ctx: CallContext, config: str, tgt: TensorFacts | None) -> None:
    """Zero or non-finite class weights; exact (the weight has C entries; one gather over the targets)."""
    weight = ctx.config.get(config)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 1 or not weight.dtype.is_floating_point:
        return
    if weight.device.type == "meta" or not ctx.read_values or weight.numel() == 0:
        return
    w = weight.detach()
    finite = torch.isfinite(w)
    smoothing = float(ctx.config.get("label_smoothing") or 0.0)
    ignore = ctx.config.get("ignore_index")
    target = ctx.tensor("target") if tgt is not None and ctx.values("target") is not None else None
    present = None
    if target is not None:
        # int64 for indexing: a uint8 index tensor would be read as a boolean mask.
        t = target.detach().reshape(-1).to(torch.int64)
        if isinstance(ignore, int):
            t = t[t != ignore]
        if t.numel() and int(t.min()) >= 0 and int(t.max()) < w.numel():
            present = torch.zeros(w.numel(), dtype=torch.bool, device=w.device)
            present[t.to(w.device)] = True
    if not bool(finite.all()):
        bad = (~finite).nonzero().flatten().tolist()
        shown = ", ".join(f"{config}[{i}] = {float(w[i])}" for i in bad[:4]) + (", ..." if len(bad) > 4 else "")
        used = present is not None and bool((~finite & present).any())
        probabilities = tgt is None and ctx.fact("target") is not None and ctx.fact("target").is_floating
        certain = used or smoothing > 0 or probabilities
        if certain:
            why = (
                "the batch holds a class with that weight"
                if used
                else ("label smoothing weighs every class" if smoothing > 0 else "probability targets weigh every class")
            )
            message = f"`{config}` holds non-finite values ({shown}) and {why}: the loss is nan or inf"
        else:
            message = (
                f"`{config}` holds non-finite values ({shown}); no target of this batch has that class, "
                "but the first batch that does gives nan or inf"
            )
        ctx.emit(
            "LL604",
            config,
            message,
            explanation=(
                "A class weight multiplies the loss of every sample of its class, and 'mean' divides by the "
                "summed weights: inf or NaN there makes the whole loss inf or NaN. Class-balanced weights "
                "computed as 1 / count (or total / count) are inf for a class with no samples."
            ),
            fix=f"{config} = torch.nan_to_num({config}, posinf=0.0) for classes that never occur, or compute it "
            "from smoothed counts: 1 / (count + 1)",
            observed=f"{dtype_name(weight.dtype)}[{w.numel()}], non-finite at {bad[:8]}",
            expected="finite weights",
            severity=None if certain else "warning",
            confidence="certain" if certain else "strong",
        )
        return
    if bool((w != 0).any()) and present is None:
        return
    if present is not None:
        total = float(w[present].sum())
        if total != 0 or not bool(present.any()):
            return
        classes = present.nonzero().flatten().tolist()
        scope = f"every class in the batch ({', '.join(map(str, classes[:8]))}{', ...' if len(classes) > 8 else ''})"
    else:
        scope = "every class"
    if _averaging(ctx) and tgt is not None:
        result, severity = "the loss is nan (0/0: 'mean' divides by the summed weights)", None
    else:
        result, severity = "the loss is identically 0 and nothing learns", "warning"
    ctx.emit(
        "LL603",
        config,
        f"`{config}` is 0 for {scope}: {result}",
        fix=f"give the classes that occur a weight > 0; if the batch should not count, skip it "
        f"(`if ({config}[target] > 0).any()`)",
        observed=f"{dtype_name(weight.dtype)}[{w.numel()}], zero for {scope}",
        expected="a positive weight for at least one class in the batch",
        severity=severity,
    )


def _elementwise_weight(ctx: CallContext, config: str) -> None:
    """BCE's weight and pos_weight: non-finite entries make the loss non-finite (exact; weights are small)."""
    weight = ctx.config.get(config)
    if not isinstance(weight, torch.Tensor) or not weight.dtype.is_floating_point or weight.numel() == 0:
        return
    if weight.device.type == "meta" or not ctx.read_values or weight.numel() > (1 << 20):
        return
    w = weight.detach()
    finite = torch.isfinite(w)
    if bool(finite.all()):
        if config == "weight" and not bool((w != 0).any()):
            ctx.emit(
                "LL603",
                config,
                f"`{config}` is 0 everywhere: the loss is identically 0 and nothing learns",
                explanation="The weight multiplies every element of the loss.",
                fix=f"drop `{config}`, or give the elements that should count a weight > 0",
                observed=f"{dtype_name(weight.dtype)}{list(w.shape)}, all 0",
                expected="some weight > 0",
                severity="warning",
            )
        return
    nan, inf = int(torch.isnan(w).sum()), int(torch.isinf(w).sum())
    what = ", ".join(p for p in (f"{nan} NaN" if nan else "", f"{inf} inf" if inf else "") if p)
    extra = (
        " (pos_weight enters as 1 + (pos_weight - 1) * target: inf * 0 is NaN for every negative)"
        if config == "pos_weight"
        else ""
    )
    ctx.emit(
        "LL604",
        config,
        f"`{config}` holds {what} values: the loss is nan or inf{extra}",
        explanation=(
            f"{ctx.loss.name} multiplies the loss by `{config}` element-wise. A pos_weight computed as "
            "negatives / positives is inf for a label with no positive in the data."
        ),
        fix=f"{config} = torch.nan_to_num({config}, nan=1.0, posinf=1.0), or (negatives / positives.clamp(min=1)); "
        "labels with no positives need no pos_weight",
        observed=f"{dtype_name(weight.dtype)}{list(w.shape)}, {what}",
        expected="finite weights",
    )


# ---- non-finite values -------------------------------------------------------------------------------


# The class dim first: that is where the kind checks normalize (see checks/kinds.py).
_DIMS = (1, 0, 2, 3, 4, 5, 6, 7)
_NORM_KEYS = {d: f"_normalization_{d}" for d in range(8)}


def _sample_range(facts: TensorFacts) -> tuple[float, float, bool] | None:
    """(min, max, exact) of what was read about the tensor, reusing what earlier steps computed.

    The exact value range when the domain check read it; else the bounded sample the kind checks use
    (their row statistics prove it finite); else one aminmax over that sample.
    """
    cached = facts.__dict__
    if "value_range" in cached and cached["value_range"] is not None:
        vr = cached["value_range"]
        if not (vr.has_nan or vr.has_inf):
            return vr.min, vr.max, True
        return (math.nan if vr.has_nan else -math.inf), math.inf if vr.has_inf else vr.max, True
    for dim in _DIMS[: facts.ndim] if facts.ndim >= 2 else (0,):
        norm = cached.get(_NORM_KEYS[dim])
        if norm is not None:
            # The kind checks' row statistics, over the same bounded sample: finite, with this range
            # (normalization() gives None for a non-finite sample).
            return norm.low, norm.high, False
    if "_finite_range" in cached:
        return cached["_finite_range"]
    sample = facts.sample_view(0) if facts.ndim else facts._data().reshape(1)
    if sample is None or sample.numel() == 0:
        return None
    lo, hi = torch.aminmax(sample)
    found = (float(lo), float(hi), sample.numel() == facts.numel)
    cached["_finite_range"] = found
    return found


def _sample(facts: TensorFacts) -> torch.Tensor:
    return facts.sample_view(0) if facts.ndim else facts._data().reshape(1)


# Domain findings that already say a NaN is there (BCE's [0, 1] checks read NaN as outside).
_NAN_DOMAIN_CODES = ("LL308", "LL402", "LL411")


def _nonfinite(ctx: CallContext, name: str, facts: TensorFacts, neg_inf: str, tgt: TensorFacts | None) -> None:
    if any(f.argument == name and f.code in _NAN_DOMAIN_CODES for f in ctx.findings):
        return
    found = _sample_range(facts)
    if found is None:
        return
    lo, hi, exact = found
    if math.isfinite(lo) and math.isfinite(hi):
        return
    data = facts._data() if exact and facts.numel <= (1 << 22) else _sample(facts)
    nan = int(torch.isnan(data).sum())
    posinf = int((data == math.inf).sum())
    neginf = int((data == -math.inf).sum())
    examined = data.numel()
    smoothing = float(ctx.config.get("label_smoothing") or 0.0)
    if nan == 0 and posinf == 0 and (neg_inf == "ok" or (neg_inf == "target" and smoothing == 0)):
        return  # -inf only: a mask; _inf_at_target judges the targets' entries exactly
    where = f"all {facts.numel} values" if examined >= facts.numel else f"the first {examined} of {facts.numel} values"
    parts = [p for p in (f"{nan} NaN" if nan else "", f"{posinf} +inf" if posinf else "", f"{neginf} -inf" if neginf and neg_inf != "ok" else "") if p]
    if nan:
        result = "nan"
    elif posinf and neg_inf == "target":
        result = "nan (+inf - inf inside log_softmax)"
    elif neginf and smoothing > 0 and not posinf:
        result = "inf (label smoothing takes every class's log-probability, and some are -inf)"
    else:
        result = "inf or nan"
    ignored = ctx.config.get("ignore_index")
    maybe_ignored = (
        tgt is not None
        and ctx.values("target") is not None
        and isinstance(ignored, int)
        and bool((ctx.args["target"].detach() == ignored).any())
    )
    if maybe_ignored:
        result += ", unless every such row has an ignored target"
    role = {"input": "the prediction", "target": "the target", "var": "the variance"}.get(name, f"`{name}`")
    if nan:
        fix = (
            f"find where the NaN enters {role}: torch.isnan({name}).nonzero(); for a diverging model, "
            "torch.autograd.set_detect_anomaly(True) and a lower learning rate"
            if name == "input"
            else f"mask the missing values out: keep = ~torch.isnan({name}); loss(input[keep], target[keep])"
            if name == "target"
            else f"find where the NaN enters `{name}` (torch.isnan({name}).nonzero())"
        )
    else:
        fix = (
            f"bound {role} before the loss: {name}.clamp(-1e4, 1e4), or a logit scale that is clamped "
            "(logit_scale.clamp(max=math.log(100)))"
            if name == "input"
            else f"replace the infinite values where that is right (torch.nan_to_num({name}, posinf=..., neginf=...)) or mask them out"
        )
    ctx.emit(
        "LL605",
        name,
        f"`{name}` holds {', '.join(parts)} ({where}): the loss is {result}",
        explanation=(
            f"NaN and inf propagate through {ctx.loss.name}: one non-finite value makes a reduced loss, and "
            "then every gradient and weight it touches, non-finite."
        ),
        fix=fix,
        observed=f"{facts.summary}, {', '.join(parts)} in {examined} values read",
        expected="finite values",
        severity=None if not maybe_ignored else "warning",
        confidence="certain" if examined >= facts.numel else "strong",
    )


def _inf_at_target(ctx: CallContext, tgt: TensorFacts) -> None:
    """-inf logits or log-probabilities at the target class (inf) or in whole rows (nan).

    Only looked at when -inf was seen in the sample; then exact: one gather of N values.
    """
    inp = ctx.values("input")
    if inp is None or not inp.is_floating or ctx.values("target") is None or ctx.has("LL605", "input"):
        return
    found = _sample_range(inp)
    if found is None or found[0] != -math.inf:
        return
    x, t = ctx.args["input"].detach(), ctx.args["target"].detach()
    if x.ndim < 2 or t.ndim != x.ndim - 1:
        return
    ignore = ctx.config.get("ignore_index")
    t = t.to(torch.int64)
    valid = t != ignore if isinstance(ignore, int) else torch.ones_like(t, dtype=torch.bool)
    safe = torch.where(valid, t, torch.zeros_like(t)).clamp(0, x.shape[1] - 1)
    picked = x.gather(1, safe.unsqueeze(1)).squeeze(1)
    at_target = int(((picked == -math.inf) & valid).sum())
    dead_rows = int(((x == -math.inf).all(dim=1) & valid).sum())
    if not at_target and not dead_rows:
        return
    kind = "log-probabilities" if ctx.format.arguments.get("input") and ctx.format.arguments["input"].kind == "log_probabilities" else "logits"
    parts = []
    if at_target:
        parts.append(f"{at_target} target{'s' if at_target > 1 else ''} whose class has {kind} -inf")
    if dead_rows:
        parts.append(f"{dead_rows} row{'s' if dead_rows > 1 else ''} that {'are' if dead_rows > 1 else 'is'} -inf for every class")
    result = "nan" if dead_rows else "inf"
    half = inp.dtype in (torch.float16, torch.bfloat16) and kind == "log-probabilities"
    ctx.emit(
        "LL606",
        "input",
        f"`input` has {' and '.join(parts)}: the loss is {result}",
        explanation=(
            "-inf marks a class as impossible, which is fine where the target is another class; at the target "
            "class the negative log-likelihood is inf, and a row with no possible class gives nan."
            + (
                f" In {dtype_name(inp.dtype)}, log(softmax(x)) underflows to -inf for any probability below the "
                "dtype's smallest value."
                if half
                else ""
            )
        ),
        fix=(
            "F.log_softmax(logits.float(), dim=1) instead of torch.log(F.softmax(...)) (or CrossEntropyLoss on the logits)"
            if kind == "log-probabilities"
            else "mask with a large negative number (torch.finfo(x.dtype).min) instead of -inf, and never the target class"
        ),
        observed=f"{inp.summary}, -inf at {at_target} target entries, {dead_rows} all -inf rows",
        expected="a finite value at every target class",
    )


# ---- float16 overflow --------------------------------------------------------------------------------


def result_dtype(ctx: CallContext) -> torch.dtype | None:
    """The dtype torch computes the loss in, for the dtypes its kernel sees (after autocast).

    Asked of torch: the same call on CPU tensors of zeros with every dimension cut to 1 (the kernels
    differ: soft_margin_loss computes in its input's dtype, float16 against a float32 target, while its
    meta kernel promotes; BCEWithLogitsLoss follows its target), else on meta tensors, else by
    promotion. Answered once per dtype signature. None where the loss has no functional form."""
    fn = ctx.loss.functional
    if fn is None:
        return None
    if ctx.autocast is not None and ctx.autocast.policy == "fp32":
        return torch.float32  # the loss op is on autocast's float32 list (float64 arguments stay wider)
    args = [ctx.args[a] for a in ctx.loss.arguments if a in ctx.args]
    config = {k: v for k, v in ctx.config.items() if k not in ("size_average", "reduce") and v is not None}

    def sig(v: object) -> object:
        return (v.dtype, v.ndim) if isinstance(v, torch.Tensor) else None

    key = (fn, tuple(sig(v) for v in args), tuple((k, sig(v)) for k, v in config.items() if isinstance(v, torch.Tensor)))
    found = _RESULT_DTYPES.get(key)
    if found is None:
        found = _RESULT_DTYPES[key] = _ask_result_dtype(fn, args, config)
    return found


_RESULT_DTYPES: dict[tuple, torch.dtype | None] = {}


def _ask_result_dtype(fn, args: list, config: dict) -> torch.dtype | None:
    import warnings

    def tiny(v: object) -> object:
        if isinstance(v, torch.Tensor):
            return torch.zeros([min(d, 1) for d in v.shape], dtype=v.dtype)
        return v

    def meta(v: object) -> object:
        return torch.empty(v.shape, dtype=v.dtype, device="meta") if isinstance(v, torch.Tensor) else v

    for make in (tiny, meta):
        with warnings.catch_warnings(), torch.autocast("cpu", enabled=False):
            warnings.simplefilter("ignore")
            try:
                out = fn(*[make(a) for a in args], **{k: make(v) for k, v in config.items()})
            except Exception:  # noqa: BLE001 - not a call these stand-ins can make: try the next
                continue
        if isinstance(out, torch.Tensor):
            return out.dtype
    floats = [v.dtype for v in [*args, *config.values()] if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if not floats:
        return None
    out_dtype = floats[0]
    for d in floats[1:]:
        out_dtype = torch.promote_types(out_dtype, d)
    return out_dtype


def _half_overflow(ctx: CallContext, how: str, mean: str) -> None:
    """float16 results above 65504: estimated from the element-wise loss on the bounded sample.

    how: "elementwise" or "rows" (the loss has one term per element, or per row). mean: "exact" (a
    'mean' is accumulated wider than float16 and stays finite), "sum" (the kernel sums the terms in
    float16 and divides: CrossEntropyLoss/NLLLoss's 'mean' overflows with the sum, then is NaN), or
    "weighted-sum" (torch computes the loss in Python with a `weight`: sum(w * loss) / sum(w) in float16).
    """
    name = ctx.loss.arguments[0]
    inp = ctx.values(name)
    fn = ctx.loss.functional
    if inp is None or fn is None or inp.ndim == 0:
        return
    reduction = ctx.config.get("reduction", "mean")
    if reduction == "none" and how != "elementwise":
        return
    if result_dtype(ctx) != torch.float16:
        return  # torch promotes (a float32 target, autocast's float32 list): nothing to overflow
    x = inp.sample_view(0)
    rows, batch = x.shape[0], inp.shape[0]

    def narrow(v: object) -> object:
        if isinstance(v, torch.Tensor):
            v = v.detach()
            if v.ndim and v.shape[0] == batch:
                v = v.narrow(0, 0, rows)
            return v.float() if v.is_floating_point() else v
        return v

    args = [narrow(ctx.args[a]) for a in ctx.loss.arguments if a in ctx.args]
    kwargs = {k: narrow(v) for k, v in ctx.config.items() if k not in ("size_average", "reduce", "reduction") and v is not None}
    weighted = mean == "weighted-sum" and isinstance(ctx.config.get("weight"), torch.Tensor)
    try:
        per = fn(*args, reduction="none", **kwargs)
    except Exception:  # noqa: BLE001 - the estimate is best effort; torch's own checks came first
        return
    per = per.detach().double()
    if per.numel() == 0 or not bool(torch.isfinite(per).all()):
        return
    largest = float(per.abs().max())
    scale = batch / rows
    terms = round(per.numel() * scale)
    estimate = float(per.sum()) * scale
    sums = reduction == "sum" or reduction == "mean" and (mean == "sum" or weighted)
    # The sample is thousands of rows: its sum scaled to the batch is within a few percent; a 20%
    # margin keeps a borderline sum (which may or may not overflow) from being called certain.
    if largest > _F16_MAX:
        seen = f"element-wise losses up to {largest:.3g} in the sample"
    elif sums and abs(estimate) > 1.2 * _F16_MAX:
        seen = f"a sum of about {abs(estimate):.3g} over {terms} terms"
    else:
        return
    if reduction == "mean" and not largest > _F16_MAX:
        where = (
            "its 'mean' divides a float16 sum, which is inf, so the loss is NaN or inf"
            if not weighted
            else "with a `weight` torch computes sum(weight * loss) / sum(weight) in float16, and the sum is inf"
        )
    else:
        where = "float16 holds at most 65504, so the loss is inf"
    autocast = ctx.autocast
    outside = (
        f"; {autocast.describe()} does not cast {ctx.loss.name} here (torch computes it from float16 ops "
        "that the CPU's autocast leaves alone)"
        if autocast is not None and autocast.policy != "fp32"
        else ""
    )
    # The float16 arguments that make the result float16 (the input, or a target the loss follows).
    half = [k for k, v in ctx.args.items() if isinstance(v, torch.Tensor) and v.dtype == torch.float16]
    half += [k for k, v in ctx.config.items() if isinstance(v, torch.Tensor) and v.dtype == torch.float16]
    call = ", ".join(f"{a}.float()" if a in half else a for a in ctx.loss.arguments if a in ctx.args)
    call += "".join(f", {k}={k}.float()" for k in half if k not in ctx.args)
    fix = f"compute the loss in float32: loss({call})"
    if autocast is not None:
        fix += f", or outside autocast (with torch.autocast({autocast.device_type!r}, enabled=False):)"
    if reduction == "sum" and not (mean == "sum" or weighted):
        fix += ", or reduction='mean'"  # accumulated wider than float16: finite
    named = " and ".join(f"`{a}`" for a in half) or f"`{name}`"
    ctx.emit(
        "LL607",
        half[0] if half else name,
        f"{named} {'is' if len(half) <= 1 else 'are'} float16, so {ctx.loss.name} computes in float16, and {seen}: {where}",
        explanation=(
            f"{ctx.loss.name} computes and returns a float16 result here{outside}; a value above 65504 overflows "
            "to inf, and its gradient to inf or NaN. Autocast's float32 list exists for this reason."
        ),
        fix=fix,
        observed=f"{(ctx.facts.get(half[0]) if half and half[0] in ctx.facts else inp).summary}, reduction={reduction!r}, {seen}",
        expected="a result below 65504, or float32",
        confidence="strong" if rows < batch else "certain",
    )


# ---- the hooks' post-mortem --------------------------------------------------------------------------


def _exact_nonfinite(args: tuple, kwargs: dict, names: list[str]) -> list[tuple[str, str]]:
    """(argument, "3 NaN, 1 +inf of 65536 values") for every tensor argument, read whole."""
    found = []
    named = [(f"`{names[i]}`" if i < len(names) else f"argument {i}", a) for i, a in enumerate(args)]
    named += [(f"`{k}`", v) for k, v in kwargs.items()]
    for name, value in named:
        if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point or value.is_meta:
            continue
        if value.layout != torch.strided or value.numel() == 0:
            continue
        data = value.detach()
        if bool(torch.isfinite(data).all()):
            continue
        nan, posinf, neginf = int(torch.isnan(data).sum()), int((data == math.inf).sum()), int((data == -math.inf).sum())
        parts = [p for p in (f"{nan} NaN" if nan else "", f"{posinf} +inf" if posinf else "", f"{neginf} -inf" if neginf else "") if p]
        found.append((name, f"{', '.join(parts)} of {data.numel()} values"))
    return found


def finite_cpu_scalar(value: object) -> bool:
    """Whether `value` is the usual loss, a floating scalar on the CPU, and finite: one read decides,
    without a kernel. False says nothing (not such a scalar, or not finite)."""
    return (
        type(value) is torch.Tensor
        and value.is_cpu
        and value.dim() == 0
        and value.dtype.is_floating_point
        and math.isfinite(value.item())
    )


def post_mortem(checker, loss: object, args: tuple, kwargs: dict, value: torch.Tensor):
    """The report for a hooked call whose loss value came out non-finite, or None when it is finite.

    Costs one read of the loss value (a scalar, unless reduction='none'); only when that is NaN or
    inf are the arguments judged again, at values depth, and their floating tensors scanned whole for
    NaN and inf (the regular check reads a bounded sample).
    """
    from ..judging.findings import Finding, Report

    if finite_cpu_scalar(value):
        return None
    out = value.detach()
    if out.is_meta or not out.dtype.is_floating_point or out.numel() == 0:
        return None
    if out.numel() == 1 and out.device.type == "cpu":
        if math.isfinite(out.item()):  # a (1,) loss, or a subclass
            return None
    elif bool(torch.isfinite(out).all()):
        return None
    report = checker.check_call(loss, args, kwargs, depth="values")
    spec, form, _ = checker.registry.resolve(loss)
    names = list(spec.forward if form == "module" else spec.functional_params)
    doc = spec.codes["LL608"]
    what = "nan" if bool(torch.isnan(out).any()) else "inf"
    shown = f"{what}" if out.numel() == 1 else f"{int((~torch.isfinite(out)).sum())} non-finite of {out.numel()} values"
    causes = [f for f in report.findings if f.severity in ("error", "warning") and f.code != "LL608"]
    if any(f.code.startswith("LL6") and f.severity == "error" for f in causes):
        return None  # the check before the call predicted this value and said why: once is enough
    scanned = _exact_nonfinite(args, kwargs, names)
    if causes:
        first = causes[0]
        because = f"[{first.code}] {first.message}"
        fix = first.fix
    elif scanned:
        because = "; ".join(f"{n} holds {s}" for n, s in scanned)
        fix = "find where the non-finite values start (torch.autograd.set_detect_anomaly(True)); mask or clamp them"
    else:
        because = (
            "no argument explains it: every argument is finite and in its format, so the value became "
            "non-finite inside the loss (an overflow, a log of 0)"
        )
        fix = doc.fix
    extra = "" if not scanned or not causes else " Read in full: " + "; ".join(f"{n} holds {s}" for n, s in scanned) + "."
    finding = Finding(
        code="LL608",
        name=doc.name,
        severity="error",
        torch_raises=False,
        loss=spec.name,
        argument=causes[0].argument if causes else (scanned[0][0] if scanned else "-"),
        message=f"the loss returned {shown}; {because}",
        explanation=doc.why + extra,
        fix=fix,
        observed=f"loss value {shown}",
        expected="a finite loss",
        confidence="certain",
    )
    return Report(loss=report.loss, findings=(finding, *report.findings))
