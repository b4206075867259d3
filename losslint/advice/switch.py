"""When a target fits another loss exactly, a finding's help says both fixes.

The classic loss switch leaves a target in the format of the old loss: one-hot rows handed to
CrossEntropyLoss (they fit BCEWithLogitsLoss, for a multi-label task), {0, 1} labels handed to a ±1 loss
(they fit BCEWithLogitsLoss), class indices handed to BCEWithLogitsLoss (they fit CrossEntropyLoss).
The help of the finding on the target then says both ways out: convert the target for this loss, or
use the loss that takes it as it is. Both come from the rule files' `[usage]` tables through the same
search as `suggest()`, verified by `check()` on the call's own tensors, so the help never proposes a
call that would be rejected.
"""

from __future__ import annotations

import contextvars
import dataclasses

from ..judging.context import CallContext
from ..language.checkbook import after_findings
from ..judging.findings import SEVERITY_RANK, Finding

# A switch hint judges other calls with check(); those must not look for switch hints in turn.
_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("losslint_switch", default=False)


@after_findings
def point_to_switch(ctx: CallContext) -> None:
    """Rewrite the help of the most severe finding on the target when another loss takes it as it is."""
    usage = ctx.loss.rule.usage
    if usage is None or not usage.target or not ctx.read_values or _ACTIVE.get():
        return
    on_target = [f for f in ctx.findings if f.argument == usage.target and f.severity != "info"]
    if not on_target:
        return
    worst = min(on_target, key=lambda f: (SEVERITY_RANK[f.severity], not f.torch_raises))
    token = _ACTIVE.set(True)
    try:
        hint = _both_fixes(ctx, usage, worst)
    except Exception:  # noqa: BLE001 - a better help is a bonus: failing to find one leaves the finding as it is
        hint = None
    finally:
        _ACTIVE.reset(token)
    if hint is None:
        return
    ctx.findings = [dataclasses.replace(f, fix=hint) if f is worst else f for f in ctx.findings]


def _both_fixes(ctx: CallContext, usage, finding: Finding) -> str | None:
    import torch

    from ..evidence.describe import describe_prediction, describe_target
    from ..judging.engine import Checker
    from .suggestion import Option, fit_loss, needs_more_than_two

    prediction, target = ctx.args.get(usage.prediction), ctx.args.get(usage.target)
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor):
        return None
    pred = describe_prediction(prediction)
    tgt = describe_target(target, prediction, pred.kind)
    if pred.kind is None or tgt.kind is None or any(pred.kind in t.input and tgt.kind in t.target for t in usage.takes):
        return None  # the target is of a kind this loss takes: the problem is not a switch
    checker = Checker()
    others = [
        loss
        for loss in checker.registry.losses.values()
        if loss.name != ctx.loss.name
        and loss.rule.usage is not None
        and any(pred.kind in t.input and tgt.kind in t.target for t in loss.rule.usage.takes)
        and set(loss.rule.usage.tasks) & set(usage.tasks)  # a switch within the task, never to regression
        and needs_more_than_two(loss) is None
    ]
    others.sort(key=lambda loss: (min(loss.rule.usage.rank_for(t) for t in loss.rule.usage.tasks), loss.name))
    other = next((found for loss in others if isinstance(found := fit_loss(checker, loss, prediction, target, pred, tgt), Option)), None)
    if other is None:
        return None
    also = f"use the loss that takes it: {other.call}"
    own = fit_loss(checker, ctx.loss, prediction, target, pred, tgt)
    if isinstance(own, Option) and usage.target in own.conversions:
        if set(own.conversions) - {usage.target}:
            # The loss's own way also changes the input (NLLLoss: log_softmax): the target alone is no fix.
            return f"convert the input and the target: {own.call}; or {also}"
        return f"convert the target: {own.conversions[usage.target]}; or {also}"
    if other.loss in finding.fix:
        return None  # the check's own help already names that loss
    return f"{finding.fix}; or {also}"
