"""One check for every declared kind: the kind inferred from an argument's values against the kind its
rule file declares.

A rule file says `kind = "logits"` (or `binary_logits`, `scores`, `log_probabilities`, `probabilities`)
on an argument, switched by the loss's own options where they decide it (`kind_by`: MONAI's sigmoid= /
softmax= / other_act, smp's from_logits and mode); `language.vocabulary.DECLARED_KINDS` says which
inferred kinds each accepts, which are harmless, and which code every other one gets, and the rule's
`kind_codes` add the loss's own (raw scores into a Dice term with no activation: LL711, read from a
value outside [0, 1]). `evidence.kinds.infer` reads the values once. A new loss
gets these verdicts by declaring its kinds; a new inferred kind is added once, in the vocabulary and the
inference. This is the only kind check the engine runs: it first says what only the declared kind knows
(`value_kinds.BY_DECLARED_KIND`: a wrong normalization dim, the redundant log_softmax, the loss's floor
for squashed scores), and the comparison stays quiet where that reading, or provenance, already spoke
for the argument.
"""

from __future__ import annotations

import math

import torch

from ..evidence import kinds
from ..judging.context import CallContext
from ..judging.origin import why_for as _why
from ..language.vocabulary import DECLARED_KINDS, KIND_FIXES, VALUE_KINDS
from . import check
from .value_kinds import BY_DECLARED_KIND, _layout_misread, inferred_kind


# Every code a kind mismatch is reported with: an info among them (a weak sigmoid reading that watch()
# saw no sigmoid for) is a verdict on the kind too, which this check does not overrule.
_KIND_CODES = {code for contract in DECLARED_KINDS.values() for code in contract.codes.values()}


def _spoken_for(ctx: CallContext, argument: str) -> bool:
    return any(f.argument == argument and (f.severity != "info" or f.code in _KIND_CODES) for f in ctx.findings)


@check("kind_contract")
def kind_contract(
    ctx: CallContext,
    argument: str,
    class_dim: int | None,
    declared: str,
    harmless: tuple[str, ...] = (),
    codes: dict[str, str] | None = None,
) -> None:
    reading = BY_DECLARED_KIND.get(declared)
    if reading is not None:
        reading(ctx, argument=argument, class_dim=class_dim)
    contract = DECLARED_KINDS.get(declared)
    facts = ctx.values(argument)
    if contract is None or facts is None or not facts.is_floating or facts.ndim == 0:
        return
    # Rows are read along the class dim; an element-wise loss declares none, and dim 1 (where a Linear or
    # conv head puts its outputs) is probed instead: a row pattern there does not arise by chance either.
    dim = 1 if facts.ndim >= 2 else None
    if class_dim is not None and facts.ndim >= 2:
        dim = class_dim if class_dim >= 0 else facts.ndim + class_dim
    accepts = contract.accepts
    if codes:
        codes = {**contract.codes, **codes}
        accepts = accepts - set(codes)  # a rule's own code for an accepted kind makes it a mismatch
        if "raw_scores" in codes and "raw_scores" not in accepts and _outside_unit_interval(ctx, argument, dim, codes["raw_scores"]):
            return
    else:
        codes = contract.codes
    known = facts.__dict__.get(f"_normalization_{dim}")  # the declared kind's reading read the range already
    if known is not None and known.low < -1 and known.high > 1:
        return  # raw scores: both signs, beyond [-1, 1] (the common case, decided without a pass)
    if _spoken_for(ctx, argument) or _layout_misread(ctx, argument, class_dim):
        return
    # Once per argument: a declared kind's reading may have asked. Where the format names the class dim,
    # a distribution along any other dim is a softmax over the wrong dim.
    inferred = inferred_kind(ctx, argument, dim, other_dims=class_dim is not None)
    if inferred is None or inferred.confidence != "strong":
        return
    if inferred.kind in accepts or inferred.kind in contract.harmless or inferred.kind in harmless:
        return
    code = codes.get(inferred.kind)
    if code is None:
        return
    if inferred.kind == "twice_activated":
        # log_softmax of probabilities also has rows whose logsumexp is 0: "redundant" is then wrong.
        ctx.findings[:] = [f for f in ctx.findings if not (f.argument == argument and f.code == "LL307")]
    ctx.emit(
        code,
        argument,
        f"`{argument}` holds {VALUE_KINDS[inferred.kind]}: {inferred.evidence}; expected {contract.words}",
        explanation=(
            f"{_why(ctx, code)} {ctx.loss.name} takes {contract.words}; these values look like the output of "
            f"{inferred.producer or 'an activation'}, which does not arise from raw scores by chance."
        ),
        fix=KIND_FIXES.get(inferred.kind),
        observed=f"{facts.summary}, {VALUE_KINDS[inferred.kind].split(' (')[0]}",
        expected=contract.words,
        confidence=inferred.confidence,
    )


def _outside_unit_interval(ctx: CallContext, argument: str, dim: int | None, code: str) -> bool:
    """Raw scores where the loss (or one of its terms) scores probabilities: a value outside [0, 1] is
    no probability, whatever made it (logits, a ReLU's or a tanh's output), and the loss computes on it
    silently. Read on the bounded sample the inference reads (one min/max)."""
    if _spoken_for(ctx, argument):
        return False
    facts = ctx.values(argument)
    sample = facts.sample_view_keeping(dim) if facts is not None else None
    if sample is None or sample.numel() == 0:
        return False
    low, high = (float(v) for v in torch.aminmax(sample))
    if not (math.isfinite(low) and math.isfinite(high)):
        return False  # NaN or inf: the numerical checks speak of that
    slack = kinds.tolerance(facts.dtype) / 10  # probabilities that rounding left a hair outside [0, 1]
    if -slack <= low and high <= 1 + slack:
        return False
    ctx.emit(
        code,
        argument,
        f"`{argument}` has values from {low:.3g} to {high:.3g}, outside [0, 1]: raw scores, which "
        f"{ctx.loss.name} takes as probabilities in this configuration",
        explanation=_why(ctx, code, raw=True),
        fix=KIND_FIXES.get("raw_scores"),
        observed=f"{facts.summary}, values in [{low:.3g}, {high:.3g}]",
        expected="probabilities in [0, 1]",
        confidence="certain",
    )
    return True
