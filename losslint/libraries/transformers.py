"""transformers' own loss logic at the model boundary: what a model will compute from `labels=`.

A transformers model computes its loss itself, from the `labels=` of its forward, and decides which
loss on its own: a sequence classifier with `config.problem_type` unset picks regression (MSE),
single-label (cross entropy) or multi-label classification (BCE) from `num_labels` and the labels'
dtype, and stores the choice in `config.problem_type` for every later batch; a causal LM shifts the
labels by one itself; a masked LM learns only where labels are not -100. None of that is visible to a
check of the torch loss it calls inside: `F.cross_entropy` sees flattened logits and labels, not the
model's configuration. `judge_model_call` looks at the model (its class and `config`) and the
arguments of one forward call, before the forward runs, and says what the model will do with them
when that is not what the caller meant, with fixes in transformers' terms (`labels.long()`,
`num_labels=` at `from_pretrained`, `labels=input_ids`, -100 at padding).

    report = judge_model_call(model, args, kwargs, "values")   # Report, or None: nothing to say

Cost: metadata only (class, config, dtypes, shapes) at depth "metadata"; at depth "values" exact
min/max of the labels (one or two reductions) and comparisons on the first rows only (at most
SAMPLE_ELEMENTS elements per tensor), under no_grad on detached tensors; no input is changed.
Importing this module never imports transformers: the model is recognised by its class name and
config attributes.
"""

from __future__ import annotations

import inspect
import re
import weakref
from functools import lru_cache
from typing import Any

import torch

from ..evidence.facts import SAMPLE_ELEMENTS, dtype_name
from ..judging.findings import Finding, Report

IGNORE_INDEX = -100  # transformers' label to ignore, everywhere (CrossEntropyLoss's default)

# ---- which loss logic a model has ----------------------------------------------------------------

_SEQUENCE = re.compile(r"For(?:Sequence|Image|Audio|Video)Classification$")
_TOKEN = re.compile(r"ForTokenClassification$")
_MASKED = re.compile(r"ForMaskedLM$")
_CAUSAL = re.compile(r"(?:ForCausalLM|LMHeadModel)$")
_GENERATION = re.compile(r"ForConditionalGeneration$")

_TASKS: dict[type, str | None] = {}
_PARAMS: dict[type, tuple[str, ...]] = {}
# config -> the problem_type transformers inferred from the labels of a call we saw with it unset:
# after the first batch config.problem_type is set, and this tells it apart from one set by the user.
# By id, with a weak reference to the config: PretrainedConfig defines __eq__ and so is unhashable
# (no WeakKeyDictionary); the entry goes when the config does, and the reference tells a reused id apart.
_INFERRED: dict[int, tuple[Any, str]] = {}


def _code_names(function: Any) -> tuple[str, ...]:
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def _infers_problem_type(model: Any) -> bool:
    """Whether this classifier's forward picks its loss from config.problem_type (inferring it when unset)."""
    names = _code_names(type(model).forward)
    if "problem_type" in names:
        return True
    if "loss_function" in names:
        try:
            loss_function = model.loss_function
        except Exception:  # noqa: BLE001 - a model's own property; no opinion then
            return False
        return "problem_type" in _code_names(loss_function)
    return False


_NO_PAD_MESSAGE = "Cannot handle batch sizes > 1 if no padding token is defined."
_POOLS_LAST_TOKEN: dict[type, bool] = {}


def _pools_last_token(model: Any) -> bool:
    """Whether the forward pools the last non-pad token and raises without a pad token (GPT-2, Llama, ...)."""
    cls = type(model)
    found = _POOLS_LAST_TOKEN.get(cls)
    if found is None:
        code = getattr(inspect.unwrap(cls.forward), "__code__", None)
        found = code is not None and _NO_PAD_MESSAGE in code.co_consts
        _POOLS_LAST_TOKEN[cls] = found
    return found


def _pad_check(out: _Findings, model: Any, labels: torch.Tensor, call: dict) -> bool:
    """A last-token classifier without config.pad_token_id, on a batch of more than one: transformers raises."""
    if not _pools_last_token(model) or _token_ids(model.config, "pad_token_id"):
        return False
    batch = None
    for name in ("input_ids", "inputs_embeds"):
        value = call.get(name)
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            batch = int(value.shape[0])
            break
    if batch is None or batch == 1:
        return False
    out.emit(
        "LL748",
        f"config.pad_token_id is None, and {type(model).__name__} classifies each sequence from its last "
        f"non-pad token, so it cannot find that token in a batch of {batch}: transformers raises "
        f"`ValueError: {_NO_PAD_MESSAGE}`",
        fix=(
            "model.config.pad_token_id = tokenizer.pad_token_id (for a tokenizer without one, set "
            "tokenizer.pad_token = tokenizer.eos_token first)"
        ),
        observed=f"pad_token_id None, batch of {batch}",
        expected="config.pad_token_id set to the tokenizer's pad token id",
        torch_raises=True,
        argument="pad_token_id",
    )
    return True


def task_of(model: Any) -> str | None:
    """'sequence', 'token', 'masked', 'causal', 'seq2seq' or None (no loss logic judged here)."""
    cls = type(model)
    if cls in _TASKS:
        return _TASKS[cls]
    name = cls.__name__
    config = getattr(model, "config", None)
    task: str | None = None
    if config is None:
        task = None
    elif _SEQUENCE.search(name):
        task = "sequence" if _infers_problem_type(model) else None
    elif _TOKEN.search(name):
        task = "token"
    elif _MASKED.search(name):
        task = "masked"
    elif _CAUSAL.search(name):
        task = "causal"
    elif _GENERATION.search(name):
        task = "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"
    _TASKS[cls] = task
    return task


def _bind(model: Any, args: tuple, kwargs: dict) -> dict:
    """The forward's arguments by name (positional ones too: `model(ids, mask, labels=...)`)."""
    if not args:
        return kwargs
    cls = type(model)
    names = _PARAMS.get(cls)
    if names is None:
        try:
            params = inspect.signature(cls.forward).parameters.values()
            names = tuple(
                p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
            )
        except (TypeError, ValueError):
            names = ()
        _PARAMS[cls] = names
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound


# ---- findings ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _catalog() -> dict:
    # codes.toml alone: cheaper than the rule files, and independent of them.
    from ..language.spec import builtin_rules_dir, load_codes

    problems: list[str] = []
    return load_codes(builtin_rules_dir() / "codes.toml", problems)


class _Findings:
    def __init__(self, loss: str):
        self.loss = loss
        self.items: list[Finding] = []

    def emit(
        self,
        code: str,
        message: str,
        *,
        fix: str,
        explanation: str | None = None,
        observed: str = "",
        expected: str = "",
        torch_raises: bool = False,
        confidence: str = "certain",
        severity: str | None = None,
        argument: str = "labels",
    ) -> None:
        doc = _catalog().get(code)
        self.items.append(
            Finding(
                code=code,
                name=doc.name if doc is not None else code,
                severity="error" if torch_raises else (severity or (doc.severity if doc is not None else "warning")),  # type: ignore[arg-type]
                torch_raises=torch_raises,
                loss=self.loss,
                argument=argument,
                message=message,
                explanation=explanation or (doc.why if doc is not None else ""),
                fix=fix,
                observed=observed,
                expected=expected,
                confidence=confidence,
            )
        )


def _summary(t: torch.Tensor) -> str:
    return f"{dtype_name(t.dtype)}[{', '.join(str(s) for s in t.shape)}]"


def _rows(t: torch.Tensor) -> torch.Tensor:
    """The first rows of `t` (a view, no copy), at most about SAMPLE_ELEMENTS elements, at least one row."""
    if t.ndim == 0 or t.shape[0] == 0:
        return t
    per_row = max(1, t.numel() // t.shape[0])
    keep = min(t.shape[0], max(1, SAMPLE_ELEMENTS // per_row))
    return t.narrow(0, 0, keep) if keep < t.shape[0] else t


def _readable(t: Any) -> bool:
    return (
        isinstance(t, torch.Tensor)
        and t.layout == torch.strided
        and t.device.type != "meta"
        and not getattr(t, "is_nested", False)
        and not t.dtype.is_complex
        and t.numel() > 0
    )


def _companion(call: dict, name: str, labels: torch.Tensor) -> torch.Tensor | None:
    """`input_ids` or a mask to compare with the labels: readable, of the labels' shape and device.

    transformers moves labels to the logits' device itself, so labels may live elsewhere than the inputs:
    then nothing is compared (a copy would cost a transfer)."""
    value = call.get(name)
    if (
        isinstance(value, torch.Tensor)
        and _readable(value)
        and tuple(value.shape) == tuple(labels.shape)
        and value.device == labels.device
    ):
        return value
    return None


def _batch_size(call: dict, labels: torch.Tensor) -> int | None:
    for name in ("input_ids", "inputs_embeds", "pixel_values", "input_values", "input_features"):
        value = call.get(name)
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            return int(value.shape[0])
    return int(labels.shape[0]) if labels.ndim >= 1 else None


def _ids(values) -> str:
    values = sorted(values)
    shown = ", ".join(str(int(v)) for v in values[:6])
    return shown + (", …" if len(values) > 6 else "")


def _out_of_range(labels: torch.Tensor, classes: int) -> tuple[list[int], int, int] | None:
    """(a few offending ids, min, max) over labels other than -100, when any is outside [0, classes)."""
    flat = labels.reshape(-1)
    lo, hi = torch.aminmax(flat)
    lo, hi = int(lo), int(hi)
    if lo == IGNORE_INDEX:
        lo = int(flat.masked_fill(flat == IGNORE_INDEX, hi).min())
        if hi == IGNORE_INDEX:
            return None  # every label ignored
    if lo >= 0 and hi < classes:
        return None
    bad = flat[((flat < 0) & (flat != IGNORE_INDEX)) | (flat >= classes)]
    offending = torch.unique(bad[:4096]).tolist()[:8]
    return offending, lo, hi


# ---- the judges ----------------------------------------------------------------------------------


def _range_check(out: _Findings, labels: torch.Tensor, classes: int, what: str, fix: str) -> bool:
    """LL401 for labels outside [0, classes) other than -100; whether it was emitted."""
    found = _out_of_range(labels, classes)
    if found is None:
        return False
    offending, lo, hi = found
    negative = [v for v in offending if v < 0]
    one_based = lo == 1 and hi == classes
    if negative and not [v for v in offending if v >= classes]:
        message = (
            f"`labels` holds {_ids(negative)}, which is neither a class id in [0, {classes}) nor -100, "
            f"the only label transformers ignores; {negative[0]} looks like padding"
        )
        fix = f"mark the positions to ignore with -100 (labels[labels == {negative[0]}] = -100), not {negative[0]}"
    else:
        message = (
            f"`labels` holds {_ids(offending)}, but {what}: valid class indices run from 0 to "
            f"C-1 = {classes - 1}, and -100 is ignored"
        )
        if one_based:
            message += f"; the labels run from 1 to {classes}: they look 1-based"
            fix = "labels - 1 (0-based class ids); " + fix
    out.emit(
        "LL401",
        message,
        fix=fix,
        observed=f"{_summary(labels)}, values in [{lo}, {hi}] (ignoring -100)",
        expected=f"class ids in [0, {classes - 1}] or -100",
        torch_raises=True,
        explanation=(
            "The model's cross entropy raises `IndexError: Target ... is out of bounds` on the CPU; on CUDA it is "
            "a device-side assert reported later at an unrelated line, which poisons the process."
        ),
    )
    return True


def _one_hot_rows(labels: torch.Tensor) -> tuple[bool, int]:
    """Whether the first rows of a 2-d label tensor are all exactly one-hot (one 1, the rest 0); the rows read."""
    rows = _rows(labels)
    if rows.dtype == torch.bool:
        rows = rows.to(torch.uint8)
    ones = rows == 1
    zeros = rows == 0
    one_hot = bool((ones | zeros).all()) and bool((ones.sum(dim=-1) == 1).all())
    return one_hot, int(rows.shape[0])


_INT_CLASS_IDS = (torch.int64, torch.int32)  # transformers: `labels.dtype in (torch.long, torch.int)`


@lru_cache(maxsize=None)
def _bce_accepts(dtype: torch.dtype) -> bool:
    """Whether torch's BCE-with-logits kernel accepts a target of this dtype (probed once per dtype).

    The ATen op, not F.binary_cross_entropy_with_logits: a probe inside watch() must not be judged."""
    try:
        with torch.no_grad():
            torch.binary_cross_entropy_with_logits(torch.zeros(1, 2), torch.zeros(1, 2, dtype=dtype), None, None, 1)
    except Exception:  # noqa: BLE001 - what torch does is the answer
        return False
    return True


def _forget(key: int, ref: Any) -> None:
    entry = _INFERRED.get(key)
    if entry is not None and entry[0] is ref:
        del _INFERRED[key]


def _remember(config: Any, problem_type: str) -> None:
    key = id(config)
    entry = _INFERRED.get(key)
    if entry is not None and entry[0]() is config:
        if entry[1] != problem_type:
            _INFERRED[key] = (entry[0], problem_type)
        return
    try:
        ref = weakref.ref(config, lambda dead, key=key: _forget(key, dead))
    except TypeError:
        return  # a config that cannot be weakly referenced: only calls with problem_type unset are judged so
    _INFERRED[key] = (ref, problem_type)


def _recalled(config: Any) -> str | None:
    entry = _INFERRED.get(id(config))
    return entry[1] if entry is not None and entry[0]() is config else None


def _judge_sequence(out: _Findings, model: Any, labels: torch.Tensor, call: dict, values: bool) -> None:
    config = model.config
    classes = int(getattr(config, "num_labels", 0) or 0)
    if classes < 1:
        return
    problem_type = getattr(config, "problem_type", None)
    if problem_type is None:
        if classes == 1:
            problem_type = "regression"
        elif labels.dtype in _INT_CLASS_IDS:
            problem_type = "single_label_classification"
        else:
            problem_type = "multi_label_classification"
        _remember(config, problem_type)
        inferred, earlier = True, False
    else:
        inferred = earlier = _recalled(config) == problem_type
    batch = _batch_size(call, labels)
    where = (
        "transformers inferred it from an earlier batch and stored it in config.problem_type"
        if earlier
        else "config.problem_type is None, so transformers infers it from these labels"
    )
    shape = tuple(labels.shape)

    if problem_type == "single_label_classification":
        if labels.dtype in _INT_CLASS_IDS and labels.ndim == 2 and batch is not None and shape == (batch, classes):
            one_hot = values and _readable(labels) and _one_hot_rows(labels)[0]
            if one_hot:
                message = (
                    f"`labels` is {_summary(labels)}, one-hot rows of num_labels = {classes} classes, but a "
                    "single-label classifier takes class ids of shape (N,)"
                )
                fix = "labels.argmax(-1) (int64 class ids of shape (N,))"
            else:
                message = (
                    f"`labels` is {_summary(labels)}, (N, num_labels = {classes}), but a single-label classifier "
                    "takes class ids of shape (N,)"
                )
                fix = (
                    "labels.argmax(-1) for one class per sample; for several labels per sample set "
                    "config.problem_type = \"multi_label_classification\" (problem_type= at from_pretrained) "
                    "and pass labels.float()"
                )
            out.emit(
                "LL202",
                message,
                fix=fix,
                observed=_summary(labels),
                expected=f"int64[{batch}] class ids in [0, {classes - 1}]",
                torch_raises=True,
                explanation=(
                    f"problem_type is single_label_classification ({where}): the model computes "
                    f"cross entropy on logits.view(-1, {classes}) and labels.view(-1), {batch} rows against "
                    f"{labels.numel()} labels, and torch raises a batch-size error."
                ),
            )
            return
        if labels.dtype in _INT_CLASS_IDS and values and _readable(labels) and labels.numel() == (batch or labels.numel()):
            _range_check(
                out,
                labels,
                classes,
                f"the model has config.num_labels = {classes} classes",
                f"num_labels={max(classes + 1, int(labels.max()) + 1)} at from_pretrained (or in the config, with "
                "id2label/label2id) when the dataset has that many classes; otherwise map the labels to 0..num_labels-1",
            )
            return
        if not inferred and labels.dtype.is_floating_point and batch is not None and labels.numel() == batch:
            out.emit(
                "LL102",
                f"`labels` is {_summary(labels)}: config.problem_type is \"single_label_classification\", so the "
                "model computes cross entropy, which takes int64 class ids, not floats",
                fix=(
                    "labels.long() (int64 class ids); for regression targets set problem_type=\"regression\" "
                    "(num_labels=1)"
                ),
                observed=_summary(labels),
                expected=f"int64[{batch}] class ids in [0, {classes - 1}]",
                torch_raises=True,
            )
        return

    if problem_type == "multi_label_classification" and classes > 1:
        expected_shape = (batch, classes) if batch is not None else None
        if not inferred and expected_shape is not None and shape != expected_shape:
            out.emit(
                "LL201",
                f"`labels` is {_summary(labels)}: config.problem_type is \"multi_label_classification\", so the model "
                f"computes BCEWithLogitsLoss, which needs labels of the logits' shape ({batch}, {classes}), one "
                "0/1 column per class",
                fix=(
                    "multi-hot float labels of shape (N, num_labels) (F.one_hot(labels, num_labels).float() for one "
                    "class per sample); for class ids, problem_type=\"single_label_classification\" at from_pretrained"
                ),
                observed=_summary(labels),
                expected=f"float[{batch}, {classes}]",
                torch_raises=True,
                explanation=(
                    f"torch raises `Target size ({list(shape)}) must be the same as input size` (a ValueError): "
                    "binary cross entropy compares each logit with the label in the same position."
                ),
            )
            return
        if inferred and expected_shape is not None and shape != expected_shape:
            holds = ""
            if values and _readable(labels) and labels.ndim <= 2 and labels.numel() == batch:
                rows = _rows(labels.reshape(-1)).double()
                if bool((rows == rows.round()).all()) and float(rows.min()) >= 0 and float(rows.max()) < classes:
                    holds = " of class ids"
            out.emit(
                "LL741",
                f"`labels` is {_summary(labels)}{holds}: not int64/int32, so transformers infers "
                f"problem_type = \"multi_label_classification\" and computes BCEWithLogitsLoss, which needs "
                f"labels of the logits' shape ({batch}, {classes})",
                fix=(
                    "labels.long() (int64 class ids: single-label classification with cross entropy); for a "
                    "regression target use num_labels=1 or problem_type=\"regression\"; for multi-label targets "
                    f"pass float labels of shape (N, {classes}) and set problem_type=\"multi_label_classification\""
                ),
                observed=f"{_summary(labels)}; {where}",
                expected=f"int64[{batch}] class ids (single-label), or float[{batch}, {classes}] (multi-label)",
                torch_raises=True,
                explanation=(
                    "With config.problem_type None, transformers picks the loss from the first batch's labels and "
                    "stores the choice in config.problem_type: int64/int32 labels mean cross entropy, any other "
                    f"dtype means BCEWithLogitsLoss on logits ({batch}, {classes}); torch raises `Target size "
                    f"({list(shape)}) must be the same as input size` (a ValueError). The choice also stays for "
                    "every later batch and is saved with the model."
                ),
            )
            return
        if expected_shape is not None and not labels.dtype.is_floating_point and not _bce_accepts(labels.dtype):
            chosen = (
                "transformers infers problem_type = \"multi_label_classification\" (the labels are not int64/int32), so the model"
                if inferred
                else "config.problem_type is \"multi_label_classification\", so the model"
            )
            out.emit(
                "LL103",
                f"`labels` is {_summary(labels)}: {chosen} computes BCEWithLogitsLoss, which rejects "
                f"{dtype_name(labels.dtype)} targets",
                fix="labels.float() for multi-hot targets (and set problem_type=\"multi_label_classification\"); "
                "labels.argmax(-1) for one class per sample",
                observed=_summary(labels),
                expected=f"float[{batch}, {classes}]",
                torch_raises=True,
            )
            return
        if inferred and values and labels.dtype.is_floating_point and _readable(labels) and labels.ndim == 2:
            one_hot, rows = _one_hot_rows(labels)
            if one_hot:
                strong = rows >= 8
                out.emit(
                    "LL743",
                    f"`labels` is {_summary(labels)} with exactly one 1 per row (one-hot), and {where}: float "
                    "labels of the logits' shape mean multi_label_classification, so the model trains "
                    f"{classes} independent sigmoids (BCEWithLogitsLoss), not a softmax over the classes",
                    fix=(
                        "labels.argmax(-1) (int64 class ids) for single-label classification; if the task is "
                        "multi-label, set problem_type=\"multi_label_classification\" at from_pretrained (or "
                        "config.problem_type) so it is explicit"
                    ),
                    observed=f"{_summary(labels)}, one 1 per row in the {rows} rows read",
                    expected="int64[N] class ids, or multi-hot rows with problem_type set explicitly",
                    confidence="strong" if strong else "weak",
                    severity="warning" if strong else "info",
                )
        return

    if problem_type == "regression" and inferred and classes == 1:
        if labels.dtype.is_floating_point or not values or not _readable(labels):
            return
        rows = _rows(labels)
        if rows.dtype == torch.bool:
            rows = rows.to(torch.uint8)
        distinct = torch.unique(rows)
        if distinct.numel() <= 2 and bool(((distinct == 0) | (distinct == 1)).all()):
            out.emit(
                "LL742",
                f"`labels` is {_summary(labels)} with values in {{0, 1}}, and config.num_labels = 1 with "
                "problem_type unset means regression: the model fits its one logit to 0 and 1 with MSELoss "
                "instead of training a binary classifier",
                fix=(
                    "num_labels=2 at from_pretrained (cross entropy over two logits, int64 labels as they are); "
                    "for a real regression target pass float labels"
                ),
                observed=f"{_summary(labels)}, values {{0, 1}}; num_labels = 1",
                expected="num_labels = 2 for two classes, or float regression targets",
                confidence="strong",
            )


def _vocab_size(model: Any) -> int | None:
    try:
        head = model.get_output_embeddings()
    except Exception:  # noqa: BLE001 - models without an LM head
        head = None
    weight = getattr(head, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.ndim == 2:
        return int(weight.shape[0])
    config = model.config
    size = getattr(config, "vocab_size", None)
    if size is None and hasattr(config, "get_text_config"):
        size = getattr(config.get_text_config(), "vocab_size", None)
    return int(size) if isinstance(size, int) else None


def _token_ids(config: Any, name: str) -> set[int]:
    value = getattr(config, name, None)
    if value is None and hasattr(config, "get_text_config"):
        try:
            value = getattr(config.get_text_config(), name, None)
        except Exception:  # noqa: BLE001
            value = None
    if isinstance(value, int):
        return {value}
    if isinstance(value, (list, tuple)):
        return {int(v) for v in value if isinstance(v, int)}
    return set()


_EOS_KEPT = (
    "; with pad_token = eos_token, append the eos token to each text before padding (its attention_mask is 1, "
    "so it keeps its label and the model learns to stop)"
)


def _pad_fix(task: str, model: Any) -> str:
    fix = _PAD_FIX[task]
    if task == "causal":
        eos = _token_ids(model.config, "eos_token_id")
        pads = _token_ids(model.config, "pad_token_id")
        if eos and (not pads or pads & eos):
            fix += _EOS_KEPT
    return fix


_PAD_FIX = {
    "causal": (
        "labels = input_ids.clone(); labels[attention_mask == 0] = -100, or build the batches with "
        "DataCollatorForLanguageModeling(tokenizer, mlm=False)"
    ),
    "masked": "labels[attention_mask == 0] = -100 (DataCollatorForLanguageModeling does it)",
    "token": (
        "labels[attention_mask == 0] = -100 (DataCollatorForTokenClassification pads labels with -100; "
        "label_pad_token_id=-100)"
    ),
    "seq2seq": (
        "labels[labels == tokenizer.pad_token_id] = -100, or DataCollatorForSeq2Seq(tokenizer, model=model) "
        "(label_pad_token_id=-100)"
    ),
}


def _padding_check(out: _Findings, task: str, model: Any, labels: torch.Tensor, call: dict) -> None:
    """Labels that train on padding: not -100 where the attention mask is 0 (or, without a mask, runs of pad_token_id)."""
    if labels.ndim != 2 or labels.shape[1] < 2:
        return
    mask_name = "decoder_attention_mask" if task == "seq2seq" else "attention_mask"
    mask = _companion(call, mask_name, labels)
    rows = _rows(labels)
    first = 1 if task == "causal" else 0  # a causal LM never scores labels[:, 0]
    if mask is not None:
        pad = mask.narrow(0, 0, rows.shape[0]) == 0
        scored = pad & (rows != IGNORE_INDEX)
        scored = scored[:, first:]
        count = int(scored.sum())
        if count == 0:
            return
        positions = int(pad[:, first:].sum())
        out.emit(
            "LL409",
            f"`labels` is not -100 at {count} of the {positions} positions where `{mask_name}` is 0 (in the "
            f"{rows.shape[0]} rows read): the loss trains the model on padding",
            fix=_pad_fix(task, model),
            observed=f"{_summary(labels)}; labels at {mask_name} == 0: not -100",
            expected=f"-100 wherever {mask_name} == 0",
            explanation=(
                "transformers ignores only the label -100; a padded position with a real token id as its label "
                "is scored like text, so the model learns to predict padding (and, where pad is the eos token, "
                "to keep emitting it)."
            ),
        )
        return
    if task == "token":
        return  # token-classification labels are class ids, not token ids: no pad id to look for
    pads = _token_ids(model.config, "pad_token_id")
    eos = _token_ids(model.config, "eos_token_id")
    pad_name = "pad_token_id"
    if not pads and task == "causal" and len(eos) == 1:
        pads = eos  # GPT-2 style: no pad token in the config, the tokenizer pads with eos (pad_token = eos_token)
        pad_name = "eos_token_id"
    if len(pads) != 1:
        return
    (pad_id,) = pads
    pad_is_eos = pad_id in eos
    is_pad = rows == pad_id
    # Trailing runs of the pad id (right padding): the length of the run at the end of each row.
    trailing = torch.cumprod(is_pad.flip(-1).to(torch.int32), dim=-1).sum(dim=-1)
    # Evidence: a run of two or more pad ids at the end of a row (a text whose last token is the pad id by
    # chance shows one); with pad == eos a text's own eos is one pad-id token at its end, so only the
    # tokens after it are counted as padding.
    if int(trailing.max()) < 2:
        return
    padded = (trailing - 1).clamp(min=0) if pad_is_eos else trailing
    count = int(padded.sum())
    out.emit(
        "LL409",
        f"`labels` rows end in runs of {pad_name} = {pad_id} ({count} positions in the {rows.shape[0]} rows read) "
        "that are not -100: the loss trains the model on padding"
        + (
            " (the config has no pad_token_id; eos is the usual padding, pad_token = eos_token: the first of each "
            "run is counted as the text's eos, the rest as padding)"
            if pad_name != "pad_token_id"
            else " (pad_token_id is also the eos token: the first of each run is counted as the text's eos, the rest as padding)"
            if pad_is_eos
            else ""
        ),
        fix=_pad_fix(task, model),
        observed=f"{_summary(labels)}, trailing runs of {pad_id}",
        expected="-100 at the padded positions",
        confidence="strong",
        explanation=(
            "transformers ignores only the label -100; padded positions labeled with the pad token id are scored "
            "like text, so the model learns to predict padding."
        ),
    )


def _isin(x: torch.Tensor, tokens: set[int]) -> torch.Tensor:
    found = None
    for token in tokens:
        found = (x == token) if found is None else (found | (x == token))
    return found


def _eos_check(out: _Findings, model: Any, labels: torch.Tensor, call: dict) -> None:
    """A causal LM whose texts end in eos, with -100 as that eos's label: it is never taught to stop.

    What DataCollatorForLanguageModeling does when pad_token = eos_token: it sets every label equal to
    the pad id to -100, the texts' own eos included. Evidence: the last attended token of a row is eos
    (the caller appended it), its label is -100, and the token before it is labeled."""
    eos = _token_ids(model.config, "eos_token_id")
    ids = _companion(call, "input_ids", labels)
    mask = _companion(call, "attention_mask", labels)
    if not eos or labels.ndim != 2 or labels.shape[1] < 2 or ids is None:
        return
    rows = _rows(labels)
    x = ids.narrow(0, 0, rows.shape[0])
    n, length = rows.shape
    with_mask = mask is not None
    if with_mask:
        # The last attended position of each row (-1 for a row with none): one amax, no indices.
        positions = torch.arange(1, length + 1, device=rows.device)
        end = ((mask.narrow(0, 0, n) != 0) * positions).amax(dim=-1) - 1
    else:
        # The first token of each row's trailing run of eos (right padding with pad == eos).
        is_eos = _isin(x, eos)
        run = torch.cumprod(is_eos.flip(-1).to(torch.int32), dim=-1).sum(dim=-1)
        end = torch.where(run > 0, length - run, -1)
    valid = end >= 1
    index = end.clamp(min=1).unsqueeze(-1)
    at_end = _isin(x.gather(1, index).squeeze(-1), eos)
    ignored = rows.gather(1, index).squeeze(-1) == IGNORE_INDEX
    before = rows.gather(1, index - 1).squeeze(-1) != IGNORE_INDEX
    hit = valid & at_end & ignored & before
    count = int(hit.sum())
    if count == 0:
        return
    token = sorted(eos)[0]
    where = "the last attended token" if with_mask else "the eos that ends the text (the first of its trailing run)"
    out.emit(
        "LL747",
        f"`labels` is -100 at {where} in {count} of the {n} rows read, and that token is eos ({token}), while the "
        "text before it is labeled: the model is never trained to emit eos, so it does not learn to stop",
        fix=(
            "keep the label of each text's own eos (labels[attention_mask == 0] = -100 instead of labels[labels == "
            "pad_token_id] = -100), or give the tokenizer a pad token distinct from eos "
            "(tokenizer.add_special_tokens({\"pad_token\": \"<pad>\"}) and model.resize_token_embeddings(len(tokenizer)))"
        ),
        observed=f"labels {_summary(labels)}: -100 at the texts' final eos",
        expected=f"labels[eos position] == {token}",
        confidence="strong" if with_mask else "weak",
        severity="warning" if with_mask else "info",
    )


def _shift_check(out: _Findings, labels: torch.Tensor, call: dict) -> None:
    ids = _companion(call, "input_ids", labels)
    if ids is None:
        return
    if labels.ndim != 2 or labels.shape[1] < 3:
        return
    rows = _rows(labels)
    x = ids.narrow(0, 0, rows.shape[0])
    target, following = rows[:, :-1], x[:, 1:]
    scored = target != IGNORE_INDEX
    compared = int(scored.sum())
    if compared < 8:
        return  # too few positions to tell a shift from chance
    if not bool(((target == following) | ~scored).all()):
        return
    # Not a shift if the labels also equal the inputs (rows of one repeated token satisfy both).
    plain = rows != IGNORE_INDEX
    if bool(((rows == x) | ~plain).all()):
        return
    out.emit(
        "LL744",
        f"`labels[:, :-1]` equals `input_ids[:, 1:]` at all {compared} positions compared (first {rows.shape[0]} "
        "rows): the labels are already shifted by one, and the model shifts them again, so each position is "
        "trained to predict the token two steps ahead",
        fix=_SHIFT_FIX,
        observed=f"labels {_summary(labels)} == input_ids shifted left by one",
        expected="labels == input_ids (the model shifts them)",
        confidence="strong",
    )


_SHIFT_FIX = (
    "labels=input_ids (with -100 at padding: DataCollatorForLanguageModeling(tokenizer, mlm=False)); the model "
    "shifts internally"
)


def _short_shift_check(out: _Findings, labels: torch.Tensor, call: dict) -> None:
    """labels = input_ids[:, 1:] with input_ids whole: one label short, and the model shifts again (it raises)."""
    ids = call.get("input_ids")
    if not (isinstance(ids, torch.Tensor) and _readable(ids) and ids.device == labels.device):
        return
    if labels.ndim != 2 or ids.ndim != 2 or labels.shape[0] != ids.shape[0] or labels.shape[1] != ids.shape[1] - 1:
        return
    rows = _rows(labels)
    following = ids.narrow(0, 0, rows.shape[0])[:, 1:]
    scored = rows != IGNORE_INDEX
    compared = int(scored.sum())
    if compared < 8 or not bool(((rows == following) | ~scored).all()):
        return
    if bool(((rows == ids.narrow(0, 0, rows.shape[0])[:, :-1]) | ~scored).all()):
        return  # rows of one repeated token: no evidence of a shift
    out.emit(
        "LL744",
        f"`labels` ({_summary(labels)}) equals `input_ids[:, 1:]` ({_summary(ids)}): the labels are already shifted, "
        "one token shorter than input_ids, and the model shifts them again; the flattened logits and labels then "
        "differ in length",
        fix=_SHIFT_FIX,
        observed=f"labels {_summary(labels)} == input_ids[:, 1:]",
        expected=f"labels of input_ids' shape {list(ids.shape)} (the model shifts them)",
        confidence="strong",
        torch_raises=True,
    )


def _unmasked_check(out: _Findings, labels: torch.Tensor, call: dict) -> None:
    ids = _companion(call, "input_ids", labels)
    if ids is None:
        return
    rows = _rows(labels)
    if rows.numel() < 8 or bool((rows == IGNORE_INDEX).any()):
        return
    x = ids.narrow(0, 0, rows.shape[0])
    if not bool((rows == x).all()):
        return
    out.emit(
        "LL745",
        f"`labels` equals `input_ids` at every position of the {rows.shape[0]} rows read, and none is -100: "
        "nothing was masked, so the masked LM learns to copy its input",
        fix=(
            "DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15) masks input_ids and sets labels to "
            "-100 where nothing was masked"
        ),
        observed=f"labels {_summary(labels)} == input_ids, no -100",
        expected="-100 except at the masked positions",
        confidence="strong",
    )


def _judge_tokens(out: _Findings, task: str, model: Any, labels: torch.Tensor, call: dict, values: bool) -> None:
    name = type(model).__name__
    if task == "token":
        ids = call.get("input_ids")
        length = ids.shape[1] if isinstance(ids, torch.Tensor) and ids.ndim == 2 else None
        if labels.ndim == 1 and length is not None and length > 1:
            batch = _batch_size(call, labels)
            out.emit(
                "LL746",
                f"`labels` is {_summary(labels)}, one label per sequence, but {name} labels every token: it "
                f"needs labels of shape ({batch}, {length}), like input_ids",
                fix=(
                    "labels of shape (N, sequence_length), -100 at special tokens and padding; for one label per "
                    "sequence use AutoModelForSequenceClassification"
                ),
                observed=_summary(labels),
                expected=f"int64[{batch}, {length}]",
                torch_raises=True,
            )
            return
        if labels.ndim == 2 and length is not None and labels.shape[0] == ids.shape[0] and labels.shape[1] != length:
            out.emit(
                "LL749",
                f"`labels` is {_summary(labels)}, {labels.shape[1]} labels per sequence, but input_ids has "
                f"{length} tokens per sequence: the labels are not aligned with the tokens (word-level labels, "
                "or labels padded or truncated apart from input_ids)",
                fix=(
                    "align the labels to the tokens: tokenizer(words, is_split_into_words=True, truncation=True) "
                    "and its word_ids(), the word's label on its first subword and -100 on the other subwords and "
                    "special tokens; pad with DataCollatorForTokenClassification(tokenizer)"
                ),
                observed=f"labels {_summary(labels)}, input_ids {_summary(ids)}",
                expected=f"int64[{ids.shape[0]}, {length}]",
                torch_raises=True,
            )
            return
    if labels.dtype not in _INT_CLASS_IDS:
        return  # the inner cross entropy's dtype contract says the rest
    if not values or not _readable(labels):
        return
    if task == "token":
        classes = int(getattr(model.config, "num_labels", 0) or 0)
        if classes >= 1 and labels.dtype == torch.int64:
            if _range_check(
                out,
                labels,
                classes,
                f"the model has config.num_labels = {classes} token classes",
                f"num_labels=len(label_list) at from_pretrained (with id2label/label2id); here at least "
                f"{int(labels.max()) + 1}",
            ):
                return  # torch raises: the padding (if that is what it is) is said by the message
        _padding_check(out, task, model, labels, call)
        return
    vocab = _vocab_size(model)
    if vocab is not None and labels.dtype == torch.int64:
        if _range_check(
            out,
            labels,
            vocab,
            f"the model's vocabulary has {vocab} tokens (its output layer's size)",
            "labels must be token ids of this model's vocabulary or -100; after adding tokens to the tokenizer "
            "call model.resize_token_embeddings(len(tokenizer))",
        ):
            return
    if task == "causal":
        _shift_check(out, labels, call)
        _short_shift_check(out, labels, call)
        _eos_check(out, model, labels, call)
    elif task == "masked":
        _unmasked_check(out, labels, call)
    _padding_check(out, task, model, labels, call)


def judge_model_call(model: Any, args: tuple, kwargs: dict, depth: str = "values") -> Report | None:
    """What a transformers model will compute from this forward call's `labels=`, where it is not what was meant.

    model: the PreTrainedModel instance (its class name and `config` are read); args, kwargs: exactly what
    its forward receives; depth: "metadata" (dtypes, shapes, config only) or "values" (also bounded reads
    of the labels, input_ids and attention_mask). Returns a Report whose loss is
    "transformers.<ModelClass>", or None when there is nothing to say (no labels, a model whose loss logic
    is not judged here, or correct labels). Never changes its inputs; reads under no_grad.
    """
    task = task_of(model)
    if task is None:
        return None
    if "_loss_function" in vars(model) and "loss_function" in _code_names(type(model).forward):
        return None  # `model.loss_function = ...`: the caller's own loss, whose contract is not transformers'
    call = _bind(model, args, kwargs)
    labels = call.get("labels")
    if not isinstance(labels, torch.Tensor) or labels.layout != torch.strided or labels.device.type == "meta":
        return None
    values = depth == "values" and _readable(labels)
    out = _Findings(f"transformers.{type(model).__name__}")
    with torch.no_grad():
        labels = labels.detach()
        call = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in call.items()}
        if task == "sequence":
            if not _pad_check(out, model, labels, call):
                _judge_sequence(out, model, labels, call, values)
        else:
            _judge_tokens(out, task, model, labels, call, values)
    if not out.items:
        return None
    return Report(loss=out.loss, findings=tuple(out.items))
