"""Checks for metric-learning losses (pytorch-metric-learning): embeddings (N, D) and labels (N,).

pytorch-metric-learning 2.9 checks only that labels are 1-D and as long as the embeddings
(`check_shapes`) and that embeddings are 2-D (its distances); it compares labels with `==`, so float
and bool labels are accepted, and a batch without positive (or negative) pairs computes silently.
"""

from __future__ import annotations

import torch

from ..evidence import kinds
from ..judging.context import CallContext
from ..evidence.facts import dtype_name
from . import check, raiser


@check("metric_labels")
def metric_labels(ctx: CallContext, indices_ok: bool = True) -> None:
    """Labels are required (or, where the loss takes them instead, an indices_tuple); float labels."""
    labels = ctx.args.get("labels")
    if labels is None:
        if indices_ok and ctx.args.get("indices_tuple") is not None:
            return
        either = " or `indices_tuple`" if indices_ok else ""
        ctx.emit(
            "LL001",
            "labels",
            f"`labels` is missing; {ctx.loss.name} needs labels{either}",
            explanation=f"{raiser(ctx)} raises "
            + ("'labels and indices_tuple cannot both be None'." if indices_ok else "'labels are required for this loss function'."),
            fix="loss(embeddings, labels)",
            observed="labels=None",
            expected="int64[N] labels",
            torch_raises=True,
        )
        return
    facts = ctx.values("labels")
    meta = ctx.fact("labels")
    if meta is None or not meta.is_floating or ctx.format is None:
        return
    if facts is None:
        return
    data = ctx.args["labels"].detach()
    fractional = bool((data != data.round()).any()) if data.numel() else False
    if fractional:
        ctx.emit(
            "LL102",
            "labels",
            f"`labels` is {dtype_name(meta.dtype)} with fractional values: every distinct value is its own class",
            explanation=(
                f"{ctx.loss.name} compares labels with ==, so {meta.summary} with values such as 0.5 are not classes: "
                "these look like regression targets or soft labels, and the pairs the loss forms mean nothing."
            ),
            fix="pass the integer class of each embedding: labels.long() of the class ids",
            observed=f"{meta.summary}, fractional values",
            expected="int64[N] class ids",
            severity="error",
        )
        return
    ctx.emit(
        "LL102",
        "labels",
        f"`labels` is {dtype_name(meta.dtype)}; expected integer class ids",
        explanation=(
            f"{raiser(ctx)} compares labels with ==, so whole-number floats work here, but float32 cannot tell "
            "ids above 2**24 apart, and a loss that indexes with the labels (ArcFace, ProxyAnchor) raises."
        ),
        fix="labels.long()",
        observed=meta.summary,
        expected="int64[N] class ids",
        severity="warning",
    )


@check("metric_shapes")
def metric_shapes(ctx: CallContext) -> None:
    """When no format fits: 1-D or 3-D embeddings, (N, 1) or one-hot labels, labels of another length."""
    if ctx.format is not None:
        return
    emb, lab = ctx.fact("embeddings"), ctx.fact("labels")
    if emb is None:
        return
    library = raiser(ctx)
    n = lab.shape[0] if lab is not None and lab.ndim >= 1 else None
    if emb.ndim == 1:
        if n is not None and emb.shape[0] == n:
            fix, why = "embeddings.unsqueeze(1), or keep the feature dimension the model outputs", "one number per sample"
        elif n and emb.shape[0] % n == 0:
            fix, why = f"embeddings.view({n}, -1)", f"{n} embeddings of {emb.shape[0] // n} values, flattened"
        else:
            fix, why = "embeddings.unsqueeze(0) for a single embedding (and one label)", "a single embedding, not a batch"
        ctx.emit(
            "LL201",
            "embeddings",
            f"`embeddings` is 1-D ({emb.summary}): {why}; expected a batch (N, D)",
            explanation=f"Metric losses compare embeddings pairwise along dim 1; {library} raises "
            "'embeddings must be a 2D tensor of shape (batch_size, embedding_size)'.",
            fix=fix,
            observed=emb.summary,
            expected="(N, D) embeddings" + (f", N = {n}" if n else ""),
            torch_raises=True,
        )
        return
    if emb.ndim > 2:
        ctx.emit(
            "LL201",
            "embeddings",
            f"`embeddings` has {emb.ndim} dimensions ({emb.summary}); expected (N, D)",
            explanation=f"Sequence or feature-map outputs must be pooled to one vector per sample first; {library} raises a shape error.",
            fix="embeddings.mean(dim=1) (pool the tokens), or embeddings.flatten(1)",
            observed=emb.summary,
            expected="(N, D) embeddings",
            torch_raises=True,
        )
        return
    if lab is None or emb.ndim != 2:
        return
    batch = emb.shape[0]
    if lab.ndim == 2 and lab.shape == (batch, 1):
        ctx.emit(
            "LL203",
            "labels",
            f"`labels` has shape {list(lab.shape)}, with an extra dimension of size 1; expected [{batch}]",
            explanation=f"{library} raises 'labels must be a 1D tensor of shape (batch_size,)'.",
            fix="labels.squeeze(1)",
            observed=lab.summary,
            expected=f"[{batch}]",
            torch_raises=True,
        )
        return
    if lab.ndim == 2 and lab.shape[0] == batch:
        facts = ctx.values("labels")
        sample = facts.sample_rows(0) if facts is not None else None
        rows = kinds.binary_rows(sample, 1) if sample is not None else None
        if rows is not None:
            kind = "one-hot" if rows.one_hot else "multi-hot"
            ctx.emit(
                "LL202",
                "labels",
                f"`labels` looks {kind} ({lab.summary}, values {{0, 1}}); expected class ids of shape [{batch}]",
                explanation=f"Metric losses take one class id per embedding; {library} raises 'labels must be a 1D tensor of shape (batch_size,)'.",
                fix="labels.argmax(dim=1)" if rows.one_hot else "multi-label targets have no single class: pick one id per sample",
                observed=f"{lab.summary}, values {{0, 1}}",
                expected=f"int64[{batch}] class ids",
                torch_raises=True,
                confidence="strong",
            )
            return
    if lab.ndim == 1 and lab.shape[0] != batch:
        ctx.emit(
            "LL207",
            "labels",
            f"`labels` has {lab.shape[0]} entries; `embeddings` has {batch} rows",
            explanation=f"{library} raises 'Number of embeddings must equal number of labels'.",
            fix="build the labels from the same batch as the embeddings (check drop_last, or labels of both views: labels.repeat(2))",
            observed=f"embeddings {emb.summary}, labels {lab.summary}",
            expected=f"labels [{batch}]",
            torch_raises=True,
        )


@check("metric_pairs")
def metric_pairs(ctx: CallContext) -> None:
    """A batch without positive pairs (all labels distinct) or without negative pairs (one label)."""
    if ctx.format is None or ctx.args.get("ref_emb") is not None:
        return
    if any(f.code == "LL102" and f.argument == "labels" and f.severity == "error" for f in ctx.findings):
        return  # fractional labels are no classes: pairs of them mean nothing either
    facts = ctx.values("labels")
    if facts is None or facts.ndim != 1 or facts.numel < 2:
        return
    labels = ctx.args["labels"].detach()
    distinct = int(torch.unique(labels).numel())
    n = labels.numel()
    if distinct == n:
        ctx.emit(
            "LL413",
            "labels",
            f"every one of the {n} labels is distinct: the batch has no positive pairs",
            observed=f"{facts.summary}, {distinct} distinct values",
            expected="several samples per class",
        )
    elif distinct == 1:
        value = labels.reshape(-1)[0].item()
        ctx.emit(
            "LL414",
            "labels",
            f"all {n} labels are {value:g}: the batch has no negative pairs",
            observed=f"{facts.summary}, one value",
            expected="at least two classes per batch",
        )
