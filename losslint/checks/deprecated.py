"""Deprecated arguments: `size_average`, `reduce` and reduction='elementwise_mean'. torch only warns
(and maps them onto `reduction`); the finding says what to write instead."""

from __future__ import annotations

from ..judging.context import CallContext
from . import check


# ---- deprecated arguments ----------------------------------------------------------------------------


@check("deprecated_arguments")
def deprecated_arguments(ctx: CallContext) -> None:
    """torch still accepts size_average / reduce / 'elementwise_mean' with a UserWarning."""
    config = ctx.config
    if config.get("size_average") is None and config.get("reduce") is None and config.get("reduction") != "elementwise_mean":
        return
    if ctx.torch_raises:
        return  # torch rejects the call (GaussianNLLLoss and the triplet losses reject 'elementwise_mean')
    config = ctx.config
    reduction = config.get("reduction")
    legacy = {k: config.get(k) for k in ("size_average", "reduce") if config.get(k) is not None}
    if legacy:
        given = ", ".join(f"{k}={v!r}" for k, v in legacy.items())
        ctx.emit(
            "LL504",
            next(iter(legacy)),
            f"{given} is deprecated; it means reduction={reduction!r}",
            explanation=(
                "torch folds size_average and reduce into `reduction` and warns that they will be removed; "
                "reduce=False wins over size_average, so the pair is easy to misread."
            ),
            fix=f"reduction={reduction!r} (and drop {', '.join(legacy)})",
            observed=given,
            expected=f"reduction={reduction!r}",
        )
    elif reduction == "elementwise_mean":
        ctx.emit(
            "LL504",
            "reduction",
            "reduction='elementwise_mean' is the deprecated name of 'mean'",
            explanation="torch accepts it with a deprecation warning; some losses (GaussianNLLLoss) already reject it.",
            fix="reduction='mean'",
            observed="reduction='elementwise_mean'",
            expected="reduction='mean'",
        )
