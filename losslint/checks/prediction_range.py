"""A prediction that cannot reach its target: a regression loss whose prediction the values show to be
confined to (0, 1) (a sigmoid's or a softmax's outputs, or one applied twice) against targets that lie
well outside [0, 1] ({0, 255} masks, {-1, 1} labels, counts, standardized values). The loss cannot
approach 0, and its gradient pushes the activation into saturation.
"""

from __future__ import annotations

from ..evidence import kinds
from ..judging.context import CallContext
from ..language.vocabulary import VALUE_KINDS
from . import check

# Inferred kinds whose values never leave (0, 1).
_UNIT_KINDS = {"probabilities", "element_probabilities", "twice_activated"}
# A target mostly inside [0, 1] with a few values a hair outside (rounding, a clipped outlier) is no
# evidence: at least this share of its values must lie outside, or one far outside.
_MIN_SHARE_OUTSIDE = 0.1
_FAR = 2.0


@check("prediction_reaches_target")
def prediction_reaches_target(ctx: CallContext, prediction: str = "input", target: str = "target") -> None:
    inp, tgt = ctx.values(prediction), ctx.values(target)
    if inp is None or tgt is None or not inp.is_floating or inp.ndim == 0 or tgt.numel == 0:
        return
    if any(f.severity != "info" for f in ctx.findings):
        return  # a shape or dtype problem comes first
    sample = inp.sample_view(0)
    if sample is None:
        return
    inferred = kinds.infer(sample, inp.dtype, 1 if inp.ndim >= 2 else None)
    if inferred is None or inferred.confidence != "strong" or inferred.kind not in _UNIT_KINDS or float(sample.min()) < 0 or float(sample.max()) > 1:
        return  # (log_softmax of probabilities is twice activated too, but never positive)
    t = ctx.args[target].detach()
    t = t if t.is_floating_point() else t.double()
    outside = (t < 0) | (t > 1)
    share = float(outside.float().mean())
    low, high = float(t.min()), float(t.max())
    if share < _MIN_SHARE_OUTSIDE and not (high >= _FAR or low <= -_FAR):
        return
    ctx.emit(
        "LL321",
        target,
        f"`{target}` has {share:.0%} of its values outside [0, 1] (from {low:.3g} to {high:.3g}), "
        f"but `{prediction}` holds {VALUE_KINDS[inferred.kind]}: {inferred.evidence}",
        explanation=(
            f"{ctx.loss.codes['LL321'].why} The prediction looks like the output of {inferred.producer or 'an activation'}."
        ),
        fix="scale the target into [0, 1] (mask / 255, (y + 1) / 2, y / y.max()), or drop the final activation for real-valued targets",
        observed=f"input {inp.summary}, in (0, 1); target values in [{low:.3g}, {high:.3g}]",
        expected="targets inside the prediction's range [0, 1]",
        confidence="strong",
    )
