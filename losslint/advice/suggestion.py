"""suggest(): which losses take a prediction and a target as they are, and the exact conversion for the others.

The question behind a loss switch ("my classifier became multi-class: which loss now, and what do I
change?") answered from the rule files alone: each loss's `[usage]` table says what it is for, which
kinds of prediction and target it takes and how to convert the usual other kinds (`spec.Usage`);
`describe` reads the kinds from the tensors the way `check()` does. Nothing is proposed on faith: every
conversion is applied to the user's tensors (`conversion.apply`, no eval) and the converted call must
pass `check()` with no warning or error before it is shown.
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass, field
from typing import Any

import torch

from ..evidence import conversion
from ..evidence.describe import Description, describe_prediction, describe_target, has_class_dim
from .docs import short_name
from .more_tensors import Guidance, guidance
from ..judging.engine import Checker
from ..evidence.facts import describe_value
from ..judging.findings import Finding
from ..language.registry import CompiledLoss, Registry
from ..language.vocabulary import PREDICTION_TASKS, REGRESSION_PREDICTION, TARGET_KINDS, TARGET_TASKS, TASKS, prediction_words

# Codes whose fix is a mechanical dtype change that check() itself writes as code (`target.long()`).
_DTYPE_CODES = ("LL101", "LL102", "LL103", "LL104", "LL105")
# Infos that say the task wants another loss: correct where the user wrote the call, never proposed
# (softmax rows and one-hot targets into BCELoss are a multi-class task that cross entropy does directly).
_OTHER_TASK_INFOS = ("LL314",)


@dataclass(frozen=True)
class Option:
    """One loss that takes the tensors, as they are or converted."""

    loss: str
    module: str  # the loss module as built: nn.KLDivLoss(reduction='batchmean')
    call: str  # the whole call, runnable with the tensors named as the loss names them
    conversions: dict[str, str] = field(default_factory=dict)  # argument -> expression; empty: as they are
    notes: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()  # codes of the info findings check() still has (correct, worth knowing)
    config: dict[str, Any] = field(default_factory=dict)
    # An info that points to another loss (LL307: "keep log_softmax and use NLLLoss") ranks the call after
    # the others; one about the form of an argument (LL405, float one-hot rows) does not.
    demoted: bool = field(default=False, compare=False)
    # How much the call changes: 2 for each kind conversion of the rule file, 1 for each argument that also
    # needs a mechanical one (a squeeze, a dtype); fewer changes rank first among conversions.
    cost: int = field(default=0, compare=False)

    def to_dict(self) -> dict:
        return {
            "loss": self.loss,
            "module": self.module,
            "call": self.call,
            "conversions": dict(self.conversions),
            "config": dict(self.config),
            "notes": list(self.notes),
            "infos": list(self.infos),
        }


@dataclass(frozen=True)
class Unfit:
    """A loss that does not take these tensors, and why."""

    loss: str
    why: str
    # Whether the loss is for the task at all: False puts it with the losses for other tasks.
    for_this_task: bool = True
    task: str | None = None  # the loss's own task, when it is for another one

    def to_dict(self) -> dict:
        return {"loss": self.loss, "why": self.why, "for_this_task": self.for_this_task, "task": self.task}


@dataclass(frozen=True)
class Suggestion:
    """What the tensors are, and the losses that take them: as they are, converted, or not at all."""

    prediction: Description
    target: Description
    tasks: tuple[str, ...]
    task_source: str  # "given", "the target", "the prediction", or "unknown"
    fits: tuple[Option, ...] = ()
    converted: tuple[Option, ...] = ()
    other: tuple[Unfit, ...] = ()
    # The losses of the task that take more than these two tensors (ranking pairs, CTC lengths): what else
    # they need, and the call with it.
    guidance: tuple[Guidance, ...] = ()

    @property
    def task(self) -> str | None:
        return self.tasks[0] if self.tasks else None

    @property
    def best(self) -> Option | None:
        """The first loss to try: the best that fits as it is, else the best after a conversion."""
        return (self.fits or self.converted or (None,))[0]

    def to_dict(self) -> dict:
        return {
            "prediction": self.prediction.to_dict(),
            "target": self.target.to_dict(),
            "task": self.task,
            "tasks": list(self.tasks),
            "task_source": self.task_source,
            "fits": [o.to_dict() for o in self.fits],
            "converted": [o.to_dict() for o in self.converted],
            "other": [u.to_dict() for u in self.other],
            "guidance": [g.to_dict() for g in self.guidance],
        }

    def __str__(self) -> str:
        return render_suggestion(self)

    def __repr__(self) -> str:
        task = self.task or "unknown task"
        return f"<Suggestion {task}: {len(self.fits)} fit as they are, {len(self.converted)} after a conversion, {len(self.other)} other>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:  # Jupyter
        return render_suggestion_html(self)


# ---- the answer ----------------------------------------------------------------------------------


def suggest(prediction: object, target: object, *, task: str | None = None, registry: Registry | None = None) -> Suggestion:
    """Which losses take `prediction` and `target`, and the exact conversion for the others.

    task: "binary", "multiclass", "multilabel", "regression", "ranking", "distillation", "metric",
    "sequence"; narrows the answer when the tensors are ambiguous (raw embeddings look like logits).
    Never raises for any tensors; raises ValueError for an unknown task.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    checker = Checker(registry=registry)
    pred = _described(describe_prediction, prediction)
    if task is not None:
        pred = _settled(pred, task)
    tgt = _described(describe_target, target, prediction, pred.kind)
    tasks, source = _tasks(task, pred, tgt)
    if task is None and pred.kind == "distances" and tgt.kind == "real_values" and _same_per_sample(prediction, target):
        # A non-negative head (ReLU, softplus) against real values of its shape: regression comes first;
        # a distance of metric learning has ±1 or class labels, not real values.
        tasks, source = ("regression", *(t for t in tasks if t != "regression")), "the target"
    if tasks and tasks[0] == "regression" and pred.kind == "logits":
        pred = dataclasses.replace(pred, named=REGRESSION_PREDICTION)
    fits: list[tuple[tuple, Option]] = []
    converted: list[tuple[tuple, Option]] = []
    other: list[tuple[tuple, Unfit]] = []
    guided: list[tuple[tuple, Guidance]] = []
    losses = sorted((loss for loss in checker.registry.losses.values() if loss.rule.usage is not None and loss.installed), key=_rank)
    for loss in losses:
        usage = loss.rule.usage
        matching = [(tasks.index(t), usage.rank_for(t)) for t in usage.tasks if t in tasks]  # type: ignore[union-attr]
        if not matching:
            other.append(((1, *_rank(loss)), Unfit(loss.name, _purpose(loss), False, usage.tasks[0])))  # type: ignore[union-attr]
            continue
        key = (*min(matching), loss.name)
        reason = needs_more_than_two(loss)
        if reason is not None:
            guide = guidance(checker, loss.name, prediction, target, pred, tgt)
            if guide is not None:
                guided.append((key, guide))
            else:
                other.append(((0, *key), Unfit(loss.name, reason)))
            continue
        loss_task = tasks[min(matching)[0]]
        p_seen, t_seen = _read_for(loss_task, pred, tgt)
        try:
            with torch.no_grad():  # conversions run on the user's tensors: no graph, nothing kept alive
                found = fit_loss(checker, loss, prediction, target, p_seen, t_seen)
        except Exception as exc:  # noqa: BLE001 - one loss losslint fails on must not cost the whole answer
            found = f"losslint failed on it: {type(exc).__name__}: {exc}"
        if isinstance(found, Option):
            (converted if found.conversions else fits).append((key, found))
        else:
            other.append(((0, *key), Unfit(loss.name, found)))
    return Suggestion(
        prediction=pred,
        target=tgt,
        tasks=tasks,
        task_source=source,
        # A loss that check() has nothing to say about comes before one it notes something on (LL307).
        fits=tuple(o for _, o in sorted(fits, key=lambda x: (x[1].demoted, x[0]))),
        converted=tuple(o for _, o in sorted(converted, key=lambda x: (x[0][0], x[1].cost, x[1].demoted, *x[0][1:]))),
        other=tuple(u for _, u in sorted(other, key=lambda x: x[0])),
        guidance=tuple(g for _, g in sorted(guided, key=lambda x: x[0])),
    )


def _same_per_sample(prediction: object, target: object) -> bool:
    """One value per sample on both sides: the same shape, or a (N, 1) column against (N,)."""
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor) or has_class_dim(tuple(prediction.shape)):
        return False
    p, t = tuple(prediction.shape), tuple(target.shape)
    return p == t or (len(p) >= 1 and (p == t + (1,) or t == p + (1,)) and len(min(p, t, key=len)) == 1)


# For a regression loss, a bounded or non-negative output is still a real-valued prediction, and a target
# in [0, 1] is still a real value: the range does not make it a probability.
_REGRESSION_READINGS = {"probabilities": "logits", "distances": "logits", "log_probabilities": "logits", "soft_labels": "real_values"}


def _read_for(task: str, pred: Description, tgt: Description) -> tuple[Description, Description]:
    """The kinds as the loss's task reads them (regression: any float output and float target are real values)."""
    if task != "regression":
        return pred, tgt
    if pred.kind in _REGRESSION_READINGS and pred.dtype and "float" in pred.dtype:
        pred = dataclasses.replace(pred, kind=_REGRESSION_READINGS[pred.kind], named=REGRESSION_PREDICTION)
    if tgt.kind in _REGRESSION_READINGS and tgt.dtype and "float" in tgt.dtype:
        tgt = dataclasses.replace(tgt, kind=_REGRESSION_READINGS[tgt.kind])
    return pred, tgt


def _described(describe, value: object, *context: object) -> Description:
    try:
        return describe(value, *context)
    except Exception as exc:  # noqa: BLE001 - an odd tensor is described as unreadable, never raised
        summary = type(value).__name__
        return Description(summary, None, f"its values cannot be read ({type(exc).__name__})")


def _settled(pred: Description, task: str) -> Description:
    """The prediction's kind, once the task is known: raw embeddings look like logits, and only the
    task tells them apart ("metric" makes them embeddings)."""
    def contradicts(kind: str | None) -> bool:
        return kind in PREDICTION_TASKS and task not in PREDICTION_TASKS[kind]  # type: ignore[operator]

    if contradicts(pred.kind):
        better = next((k for k in pred.alternatives if not contradicts(k)), None)
    else:
        better = next((k for k in pred.alternatives if task in PREDICTION_TASKS.get(k, ())), None)
    if better is None:
        return pred
    return Description(pred.summary, better, pred.evidence, (pred.kind,) if pred.kind else (), pred.shape, pred.dtype)


def _tasks(task: str | None, pred: Description, tgt: Description) -> tuple[tuple[str, ...], str]:
    if task is not None:
        return (task,), "given"
    if pred.kind in PREDICTION_TASKS:
        return PREDICTION_TASKS[pred.kind], "the prediction"  # type: ignore[index]
    if tgt.kind in TARGET_TASKS:
        return TARGET_TASKS[tgt.kind], "the target"  # type: ignore[index]
    return (), "unknown"


def _rank(loss: CompiledLoss) -> tuple:
    usage = loss.rule.usage
    return (usage.rank_for(usage.tasks[0]), loss.name)  # type: ignore[union-attr]


def _takes_words(loss: CompiledLoss) -> str:
    usage = loss.rule.usage
    parts = []
    for take in usage.takes:  # type: ignore[union-attr]
        inputs = " or ".join(prediction_words(k, usage.tasks[0]) for k in take.input)  # type: ignore[union-attr]
        targets = " or ".join(TARGET_KINDS[k] for k in take.target)
        parts.append(f"{inputs} with {targets}" if targets else f"{inputs}, no target")
    return "; or ".join(dict.fromkeys(parts))


def _purpose(loss: CompiledLoss) -> str:
    usage = loss.rule.usage
    return f"for {TASKS[usage.tasks[0]]}: takes {_takes_words(loss)}"  # type: ignore[union-attr]


def needs_more_than_two(loss: CompiledLoss) -> str | None:
    """Why a loss cannot be called with just a prediction and a target, or None when it can (also used by
    `switch`)."""
    usage = loss.rule.usage
    if loss.from_module or loss.functional is None:
        return usage.note or f"{loss.name} is a module with its own weights; build it for your model"  # type: ignore[union-attr]
    named = {usage.prediction, usage.target}  # type: ignore[union-attr]
    extra = [a for a in loss.arguments if a not in named and a not in loss.optional]
    if not usage.target or extra:  # type: ignore[union-attr]
        return usage.note or f"takes {', '.join(loss.arguments)}"  # type: ignore[union-attr]
    return None


# ---- one loss --------------------------------------------------------------------------------------


def fit_loss(checker: Checker, loss: CompiledLoss, prediction: object, target: object, pred: Description, tgt: Description) -> Option | str:
    """The simplest call of `loss` that check() finds clean, or why there is none (also used by `switch`)."""
    usage = loss.rule.usage
    p_name, t_name = usage.prediction, usage.target  # type: ignore[union-attr]
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor):
        return "needs tensors"
    placeholders = {"C": prediction.shape[1]} if has_class_dim(tuple(prediction.shape)) else {}
    if tgt.layout and prediction.ndim >= 2:
        placeholders = {"C": prediction.shape[-1]}  # flattened to (rows, C) first
    if not placeholders and _needs_class_dim(loss):
        return (
            f"needs one score per class ({p_name} of shape (N, C, ...), C >= 2); the prediction has one per "
            f"sample, {pred.summary}: give the model one output per class"
        )
    config = dict(usage.config)  # type: ignore[union-attr]
    if tgt.ignore is not None:
        if "ignore_index" not in loss.rule.config:
            return (
                f"cannot skip the ignore label {tgt.ignore}: {loss.name} has no ignore_index, and every target "
                f"must be a class in [0, C) (F.one_hot fails on {tgt.ignore}); drop those samples first "
                f"(target != {tgt.ignore}) or use a loss with ignore_index"
            )
        default = loss.rule.config["ignore_index"].default
        if tgt.ignore != default:
            config["ignore_index"] = tgt.ignore
    # A target kind read as another one too (float one-hot rows are class probabilities) is taken as either.
    t_kinds = (tgt.kind, *tgt.alternatives)
    as_is = any(pred.kind in take.input and any(k in take.target for k in t_kinds) for take in usage.takes)  # type: ignore[union-attr]
    softmax_rows = pred.kind in ("probabilities", "log_probabilities") and "softmax outputs" in pred.evidence
    inputs = _candidates(loss, p_name, pred.kind, [k for take in usage.takes for k in take.input], placeholders, softmax_rows)  # type: ignore[union-attr]
    accepted = [k for take in usage.takes for k in take.target]  # type: ignore[union-attr]
    t_kind = next((k for k in t_kinds if k in accepted), tgt.kind)
    targets = _candidates(loss, t_name, t_kind, accepted, placeholders)
    # The target taken as it is may need the configuration of the way the loss takes it (KLDivLoss takes
    # log-probability targets with log_target=True); a converted target goes with the loss's own config.
    take_config = next((take.config for take in usage.takes if t_kind in take.target), {})  # type: ignore[union-attr]
    if targets and targets[0][0] == t_name:
        targets += [c for c in _candidates(loss, t_name, tgt.kind, [], placeholders) if c not in targets]
    if tgt.kind == "class_indices" and _is_column(prediction, target):
        # (N, 1) class indices: squeezed first, so that every conversion starts from the (N,) indices.
        targets = [(conversion.compose(code, t_name, f"{t_name}.squeeze(1)"), note) for code, note in targets]
    if tgt.layout:
        # Both laid out first (classes last, flattened to rows), then the loss's own conversions over dim 1.
        p_layout, t_layout = (conversion.compose(code, name, own) for code, name, own in zip(tgt.layout, ("input", "target"), (p_name, t_name)))
        inputs = [(conversion.compose(code, p_name, p_layout), note) for code, note in inputs]
        targets = [(conversion.compose(code, t_name, t_layout), note) for code, note in targets]
    if tgt.conversion:
        # Values that are the kind only once converted ((target / 255).long() of a 0/255 mask): converted
        # first, so that the loss's own conversions start from the kind.
        own = conversion.compose(tgt.conversion, "target", t_name)
        targets = [(conversion.compose(code, t_name, own), note) for code, note in targets]
    as_taken = targets[0][0] if targets and t_kind in accepted else None
    if not inputs and softmax_rows and any("torch.logit" in c.code for c in usage.conversions if c.argument == p_name):  # type: ignore[union-attr]
        return (
            f"the prediction is {pred.words} of a softmax: torch.logit does not undo a softmax, and a binary loss "
            "on softmax rows trains one class per sample as independent yes/no (LL314); pass the logits from before the softmax"
        )
    if not inputs or not targets:
        side, which = (pred, "prediction") if not inputs else (tgt, "target")
        if side.kind is None:
            return f"takes {_takes_words(loss)}; the {which} is not recognized ({side.evidence})"
        return f"takes {_takes_words(loss)}; there is no conversion from {side.words}"
    attempts = sorted(
        ((i, t) for i in inputs for t in targets),
        key=lambda pair: (pair[0][0] != p_name) + (pair[1][0] != t_name),
    )
    first_problem = None
    for (p_code, p_note), (t_code, t_note) in attempts:
        if not as_is and p_code == p_name and t_code == t_name:
            continue  # check() may accept kinds the loss is not for (MSE on logits and one-hot rows)
        used = {**config, **take_config} if t_code == as_taken else config
        result = _verified(checker, loss, {p_name: p_code, t_name: t_code}, {p_name: prediction, t_name: target}, used)
        if isinstance(result, tuple):
            codes, report = result
            notes = tuple(n for n in (p_note if codes[p_name] != p_name else "", t_note if codes[t_name] != t_name else "") if n)
            tried = {p_name: p_code, t_name: t_code}
            cost = sum(2 * (tried[a] != a) + (codes[a] != tried[a]) for a in (p_name, t_name))
            return dataclasses.replace(_option(loss, codes, notes, report, used), cost=cost)
        first_problem = first_problem or result
    return f"no conversion makes the call clean: {first_problem}" if first_problem else f"takes {_takes_words(loss)}"


def _is_column(prediction: torch.Tensor, target: torch.Tensor) -> bool:
    """A target of shape (N, 1, *d) against scores of shape (N, C, *d)."""
    p, t = tuple(prediction.shape), tuple(target.shape)
    return has_class_dim(p) and t == p[:1] + (1,) + p[2:]


def _needs_class_dim(loss: CompiledLoss) -> bool:
    """Whether every way the loss is fed puts classes on the prediction's dim 1 ("N C *d" in its formats)."""
    usage = loss.rule.usage
    patterns = []
    for take in usage.takes:  # type: ignore[union-attr]
        fmt = next((f for f in loss.rule.formats if f.name == take.format), None)
        arg = fmt.arguments.get(usage.prediction) if fmt is not None else None  # type: ignore[union-attr]
        patterns.append(arg.shape.split() if arg is not None and arg.shape else [])
    return bool(patterns) and all(len(p) >= 2 and p[1] == "C" for p in patterns)


def _candidates(
    loss: CompiledLoss, argument: str, kind: str | None, accepted: list[str], placeholders: dict, softmax_rows: bool = False
) -> list[tuple[str, str]]:
    """(expression, note) for `argument`: itself when its kind is accepted, then the rule's conversions."""
    out = [(argument, "")] if kind in accepted else []
    for conv in loss.rule.usage.conversions:  # type: ignore[union-attr]
        if conv.argument == argument and kind in conv.start:
            if softmax_rows and "torch.logit" in conv.code:
                continue  # the logit of a softmax is no logit: a binary loss on it hides LL314 from check()
            try:
                out.append((conversion.fill(conv.code, placeholders), conv.note))
            except (KeyError, IndexError):
                continue  # it needs the number of classes, and the prediction has no class dim
    return out


def _verified(checker: Checker, loss: CompiledLoss, codes: dict[str, str], tensors: dict[str, torch.Tensor], config: dict[str, Any]):
    """((final codes, report), ) when the converted call is clean, else the first problem, in words.

    A (N, 1) head against (N,) labels is squeezed, and a dtype that check() says is wrong is changed as
    check() itself writes the fix (`target.float()`), so that the rule files only name kind conversions.
    """
    codes = dict(codes)
    names = list(codes)
    first = None
    squeezed = False
    uncast: dict[str, str] = {}  # an argument's code before a dtype fix, which a later conversion may make unneeded
    for _ in range(5):
        values = {}
        for name, code in codes.items():
            try:
                values[name] = conversion.apply(code, tensors)
            except Exception as exc:  # noqa: BLE001 - a conversion that does not apply to these tensors
                return first or _does_not_apply(code, name, tensors.get(name), exc)
        report = _check(checker, loss, values, config)
        blocking = [f for f in report.findings if f.severity in ("error", "warning") or f.code in _OTHER_TASK_INFOS]
        if not blocking:
            return codes, report
        first = first or blocking[0].message
        if not squeezed:
            squeezed = True
            if _squeezed(codes, names, values):
                continue
        if not _repair(codes, blocking, values, uncast):
            return first
    return first


def _does_not_apply(code: str, name: str, value: object, exc: Exception) -> str:
    """Why a conversion cannot run on the user's tensor, in words rather than torch's exception."""
    message = str(exc)
    if not isinstance(value, torch.Tensor):
        return f"{code} does not apply to `{name}`"
    what = f"`{name}` ({describe_value(value)})"
    if "Dimension out of range" in message:
        return f"{code} does not apply to a {value.ndim}-D {what}"
    if "smaller than num_classes" in message:
        return f"{code} needs class indices below the number of classes; {what} holds values up to {_number(value.max())}"
    if "non-negative" in message:
        return f"{code} needs class indices from 0; {what} holds negative values"
    if "index tensor" in message:
        return f"{code} needs integer (int64) class indices; {what} is {str(value.dtype).removeprefix('torch.')}"
    return f"{code} does not apply to {what}"


def _number(value: torch.Tensor) -> str:
    v = float(value)
    return str(int(v)) if v == int(v) else f"{v:.3g}"


def _squeezed(codes: dict[str, str], names: list[str], values: dict[str, Any]) -> bool:
    """Squeeze a (N, 1) column against (N,) labels, the other argument's shape: True when it did."""
    a, b = values[names[0]], values[names[1]]
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return False
    for column, value, other in ((names[0], a, b), (names[1], b, a)):
        # (N, 1) against (N,), (N, 1, *d) scores against a (N, *d) mask, and a channels-last (N, *d, 1) head
        # against it (squeezed as check()'s help line writes it: input.squeeze(3)).
        for dim in dict.fromkeys((1, value.ndim - 1)):
            if value.ndim >= 2 and dim >= 1 and value.shape[dim] == 1 and tuple(other.shape) == tuple(value.shape[:dim]) + tuple(value.shape[dim + 1 :]):
                codes[column] = conversion.compose(f"{column}.squeeze({dim})", column, codes[column])
                return True
    return False


def _repair(codes: dict[str, str], blocking: list[Finding], values: dict, uncast: dict[str, str]) -> bool:
    """Apply check()'s own fix where it is mechanical (a dtype, a squeeze) or a conversion that keeps the
    meaning (`conversion.MEANING_PRESERVING`: a layout move, 1-based labels, an unscaled mask), each run
    on the user's tensors first; True when something changed."""
    changed = False
    # An argument a conversion just changed is checked again before a dtype fix: `target / 255` of a
    # uint8 mask is already float, and `(target / 255).float()` would say otherwise.
    converted: set[str] = set()
    for finding in sorted(blocking, key=lambda f: f.code not in conversion.MEANING_PRESERVING):
        if finding.code in conversion.MEANING_PRESERVING and finding.argument in codes:
            for expression in conversion.meaning_preserving(finding.code, finding.argument, finding.message, finding.fix):
                try:
                    conversion.apply(expression, values)
                    # The move or relabelling belongs to the user's own tensor, before the rule's
                    # conversion: F.log_softmax(input.movedim(-1, 1), dim=1), not a log_softmax
                    # over the wrong dim moved afterwards. A dtype fix made before the finding showed
                    # (check() reads a uint8 mask's values only once it is float) is dropped and
                    # checked again: `target / 255` is float already.
                    base = uncast.pop(finding.argument, codes[finding.argument])
                    fixed = conversion.compose(base, finding.argument, expression)
                except Exception:  # noqa: BLE001 - it does not run on these tensors
                    continue
                codes[finding.argument] = fixed
                converted.add(finding.argument)
                changed = True
                break
            continue
        if finding.argument in converted:
            continue
        mechanical = finding.code in _DTYPE_CODES or finding.fix.startswith(f"{finding.argument}.squeeze(")  # LL203: a (N, 1) column
        # The help line's first expression over the argument alone (`build the target as float: target.float() (...)`).
        written = conversion.expressions_in(finding.fix, finding.argument)[:1] if mechanical and finding.argument in codes else []
        for fix in written:
            if not fix.startswith(finding.argument + "."):
                continue  # a method of the argument (a dtype, a squeeze), nothing else
            try:
                conversion.apply(fix, values)  # a plain expression over the argument, or not
                fixed = conversion.compose(fix, finding.argument, codes[finding.argument])
            except Exception:  # noqa: BLE001
                continue
            if fixed != codes[finding.argument]:
                if finding.code in _DTYPE_CODES:
                    uncast.setdefault(finding.argument, codes[finding.argument])
                codes[finding.argument] = fixed
                changed = True
    return changed


def _check(checker: Checker, loss: CompiledLoss, values: dict[str, Any], config: dict[str, Any]):
    args = [values[a] for a in loss.arguments if a in values]
    return checker.check(loss.functional, *args, **config)


def _option(loss: CompiledLoss, codes: dict[str, str], notes: tuple[str, ...], report, config: dict[str, Any]) -> Option:
    own = loss.names
    config = dict(config)
    module = short_name(loss.rule.loss.module) or loss.name
    built = ", ".join(f"{k}={v!r}" for k, v in config.items())
    positional = ", ".join(codes.get(a, a) for a in loss.arguments if a in codes)
    conversions = {own.get(a, a): code for a, code in codes.items() if code != a}
    found = [f for f in report.findings if f.severity == "info"]
    infos = tuple(dict.fromkeys(f.code for f in found))
    demoted = any(name != loss.name for f in found for name in re.findall(r"\b(\w+Loss)\b", f"{f.message} {f.fix}"))
    return Option(loss.name, f"{module}({built})", f"{module}({built})({positional})", conversions, notes, infos, config, demoted)


# ---- rendering -------------------------------------------------------------------------------------


def render_suggestion(s: Suggestion) -> str:
    lines = [f"prediction: {s.prediction}", f"target:     {s.target}"]
    if s.tasks:
        also = f" (or {', '.join(s.tasks[1:])})" if len(s.tasks) > 1 else ""
        lines.append(f"task:       {TASKS[s.tasks[0]]}{also}, from {s.task_source}" if s.task_source != "given" else f"task:       {TASKS[s.tasks[0]]} (given)")
    else:
        lines.append("task:       not recognized; pass task=... to narrow it")
    if s.fits:
        lines += ["", "take them as they are:"]
        lines += [line for o in s.fits for line in _option_lines(o)]
    if s.converted:
        lines += ["", "take them after a conversion:"]
        lines += [line for o in s.converted for line in _option_lines(o)]
    for g in s.guidance:
        lines += ["", f"{g.loss} needs more than these two tensors: {g.needs}", f"  {g.call}"]
        lines += [f"      {note}" for note in g.notes]
        if not g.checked:
            lines.append("      (a template: not checked on these tensors)")
    here = [u for u in s.other if u.for_this_task]
    if here:
        width = max(len(u.loss) for u in here)
        lines += ["", "do not take them:"]
        lines += [f"  {u.loss:<{width}}  {u.why}" for u in here]
    elsewhere: dict[str, list[str]] = {}
    for u in s.other:
        if not u.for_this_task:
            elsewhere.setdefault(u.task or "", []).append(u.loss)
    if elsewhere:
        lines += ["", "for other tasks:"]
        lines += [f"  {task}: {', '.join(elsewhere[task])}" for task in TASKS if task in elsewhere]
    lines += ["", _summary(s)]
    return "\n".join(lines)


# Inline styles only, as for reports (render.render_html): notebooks drop <style> blocks.
_BOX = "font-family: var(--jp-content-font-family, sans-serif); line-height: 1.45; margin: 0.3em 0"


def render_suggestion_html(s: Suggestion) -> str:
    """The answer for a notebook: what the tensors are, the calls as code, the rest folded away."""
    e = html.escape

    def described(label: str, d: Description) -> str:
        rest = f" {e(d.words)}: {e(d.evidence)}" if d.kind else f": {e(d.evidence)}"
        also = f"; could also be {e(', '.join(d.alternatives))}" if d.alternatives else ""
        return f"<div><b>{label}</b> <code>{e(d.summary)}</code>{rest}{also}</div>"

    def options(title: str, found: tuple[Option, ...]) -> str:
        if not found:
            return ""
        items = "".join(
            f"<li><code>{e(o.call)}</code>" + "".join(f'<br><span style="color: gray">{e(n)}</span>' for n in o.notes) + "</li>"
            for o in found
        )
        return f'<div style="margin-top: 0.4em"><b>{title}</b><ul style="margin: 0.2em 0">{items}</ul></div>'

    task = TASKS[s.tasks[0]] + (" (given)" if s.task_source == "given" else f", from {s.task_source}") if s.tasks else "not recognized; pass task=... to narrow it"
    parts = [described("prediction:", s.prediction), described("target:", s.target), f"<div><b>task:</b> {e(task)}</div>"]
    parts += [options("take them as they are", s.fits), options("take them after a conversion", s.converted)]
    for g in s.guidance:
        notes = "".join(f'<br><span style="color: gray">{e(n)}</span>' for n in g.notes)
        parts.append(f'<div style="margin-top: 0.4em"><b>{e(g.loss)} needs more than these two tensors:</b> {e(g.needs)}<br><code>{e(g.call)}</code>{notes}</div>')
    here = [u for u in s.other if u.for_this_task]
    if here:
        items = "".join(f"<li>{e(u.loss)}: {e(u.why)}</li>" for u in here)
        parts.append(f'<details><summary>do not take them ({len(here)})</summary><ul style="margin: 0.2em 0">{items}</ul></details>')
    elsewhere = [u for u in s.other if not u.for_this_task]
    if elsewhere:
        items = "".join(f"<li>{e(u.loss)}: {e(u.why)}</li>" for u in elsewhere)
        parts.append(f'<details><summary>for other tasks ({len(elsewhere)})</summary><ul style="margin: 0.2em 0">{items}</ul></details>')
    parts.append(f"<div><b>{e(_summary(s))}</b></div>")
    return f'<div class="losslint-suggestion" style="{_BOX}">{"".join(parts)}</div>'


def _option_lines(option: Option) -> list[str]:
    lines = [f"  {option.call}"]
    lines += [f"      {note}" for note in option.notes]
    if option.infos:
        # Correct calls that check() still notes something about (a redundant log_softmax, LL307).
        lines.append(f"      worth knowing: {', '.join(option.infos)} (losslint explain {option.infos[0]})")
    return lines


def _summary(s: Suggestion) -> str:
    def count(n: int) -> str:
        return f"{n} loss" + ("" if n == 1 else "es")

    return f"losslint.suggest: {count(len(s.fits))} as they are, {count(len(s.converted))} after a conversion"
