"""losslint.suggest(): every conversion it proposes runs as written, and makes the call clean.

For every pair of a prediction kind and a target kind that the rule files' `[usage]` tables know,
realistic tensors are built, `suggest()` is asked, and each proposed call is evaluated as plain Python
(the text the user would paste): check() must find it clean (no warning, no error) and torch must
accept it. What suggest() says about the tensors themselves is pinned too.
"""

from __future__ import annotations

import json
import warnings
import zlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.suggestion import suggest
from losslint.vocabulary import PREDICTION_KINDS, TARGET_KINDS

N, C = 32, 10


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def prediction_of(kind: str, per_class: bool, g: torch.Generator) -> torch.Tensor:
    """A model output of this kind: one score per class (N, C), or one per sample (N, 1)."""
    scores = torch.randn(N, C if per_class else 1, generator=g) * 2
    if kind == "logits":
        return scores
    if kind == "probabilities":
        return scores.softmax(dim=1) if per_class else scores.sigmoid()
    if kind == "log_probabilities":
        return scores.log_softmax(dim=1) if per_class else F.logsigmoid(scores)
    if kind == "distances":
        return F.pairwise_distance(torch.randn(N, 16, generator=g), torch.randn(N, 16, generator=g))
    if kind == "embeddings":
        return F.normalize(torch.randn(N, 128, generator=g), dim=1)
    raise AssertionError(kind)


def target_of(kind: str, g: torch.Generator) -> torch.Tensor:
    labels = torch.randint(0, C, (N,), generator=g)
    if kind == "class_indices":
        return labels
    if kind == "one_hot":
        return F.one_hot(labels, C)
    if kind == "multi_hot":
        return (torch.rand(N, C, generator=g) > 0.7).float()
    if kind == "soft_labels":
        return torch.sigmoid(torch.randn(N, C, generator=g))
    if kind == "binary":
        return (torch.rand(N, generator=g) > 0.5).long()
    if kind == "signed":
        return torch.where(torch.rand(N, generator=g) > 0.5, 1.0, -1.0)
    if kind == "real_values":
        return torch.randn(N, generator=g) * 3 + 1
    if kind == "distribution":
        return torch.softmax(torch.randn(N, C, generator=g) / 2, dim=1)
    if kind == "index_lists":
        multi_hot = torch.rand(N, C, generator=g) > 0.7
        return torch.where(multi_hot, torch.arange(C), -1).sort(dim=1, descending=True).values
    raise AssertionError(kind)


PER_SAMPLE_TARGETS = {"binary", "signed", "real_values"}
PAIRS = [(p, t) for p in PREDICTION_KINDS for t in TARGET_KINDS]


def _run_as_written(option, prediction, target):
    """Evaluate the suggested call as the user would paste it; (report of check(), torch's error or None)."""
    names = {"torch": torch, "nn": nn, "F": F, "input": prediction, "target": target}
    module = eval(option.module, names)  # noqa: S307 - the point is to run the text as written
    args = [eval(code, names) for code in _argument_codes(option)]  # noqa: S307
    report = losslint.check(module, *args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            eval(option.call, names)  # noqa: S307
            error = None
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
    return report, error


def _argument_codes(option):
    inside = option.call[len(option.module) + 1 : -1]
    # The call's arguments are expressions; split them at top-level commas.
    depth, parts, current = 0, [], ""
    for ch in inside:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


@pytest.mark.parametrize(("prediction_kind", "target_kind"), PAIRS, ids=[f"{p}-{t}" for p, t in PAIRS])
def test_every_proposal_runs_as_written_and_is_clean(prediction_kind, target_kind):
    g = _gen(zlib.crc32(f"{prediction_kind}-{target_kind}".encode()))
    prediction = prediction_of(prediction_kind, target_kind not in PER_SAMPLE_TARGETS, g)
    target = target_of(target_kind, g)
    before = (prediction.clone(), target.clone())
    answer = suggest(prediction, target)
    assert torch.equal(prediction, before[0]) and torch.equal(target, before[1]), "suggest() changed its inputs"
    assert answer.prediction.kind == prediction_kind, answer.prediction
    assert answer.target.kind == target_kind, answer.target
    for option in (*answer.fits, *answer.converted):
        report, error = _run_as_written(option, prediction, target)
        assert error is None, f"{option.call}: torch raised {error}"
        blocking = [f for f in report.findings if f.severity != "info"]
        assert not blocking, f"{option.call}:\n{report}"
    for option in answer.fits:
        assert not option.conversions
    json.dumps(answer.to_dict())  # JSON-ready
    assert str(answer)


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression", "ranking", "distillation", "metric"])
def test_a_given_task_narrows_and_stays_runnable(task):
    g = _gen(1)
    for prediction, target in [
        (torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g)),
        (torch.randn(N, C, generator=g), torch.randn(N, C, generator=g)),
        (torch.randn(N, 1, generator=g), (torch.rand(N, generator=g) > 0.5).float()),
    ]:
        answer = suggest(prediction, target, task=task)
        assert answer.tasks == (task,)
        for option in (*answer.fits, *answer.converted):
            report, error = _run_as_written(option, prediction, target)
            assert error is None and not [f for f in report.findings if f.severity != "info"], option.call


# ---- what it says, on the classic switches ---------------------------------------------------------


def _calls(options):
    return [o.call for o in options]


def test_multiclass_logits_and_class_indices():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g))
    assert answer.task == "multiclass"
    assert _calls(answer.fits)[:1] == ["nn.CrossEntropyLoss()(input, target)"]
    converted = {o.loss: o.conversions for o in answer.converted}
    assert converted["NLLLoss"] == {"input": "F.log_softmax(input, dim=1)"}
    assert converted["BCEWithLogitsLoss"] == {"target": f"F.one_hot(target, {C}).float()"}
    assert "MSELoss" in [u.loss for u in answer.other if not u.for_this_task]


def test_binary_head_of_one_column():
    g = _gen(0)
    answer = suggest(torch.randn(N, 1, generator=g), (torch.rand(N, generator=g) > 0.5).long())
    assert answer.task == "binary"
    converted = {o.loss: o.conversions for o in answer.converted}
    assert converted["BCEWithLogitsLoss"] == {"input": "input.squeeze(1)", "target": "target.float()"}
    assert converted["SoftMarginLoss"]["target"] == "2 * target - 1"


def test_one_hot_target():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g), F.one_hot(torch.randint(0, C, (N,), generator=g), C))
    converted = {o.loss: o.conversions for o in answer.converted}
    assert converted["CrossEntropyLoss"] == {"target": "target.argmax(dim=1)"}
    assert converted["BCEWithLogitsLoss"] == {"target": "target.float()"}


def test_signed_labels_to_binary_losses():
    g = _gen(0)
    target = torch.where(torch.rand(N, generator=g) > 0.5, 1.0, -1.0)
    answer = suggest(torch.randn(N, generator=g), target)
    assert [o.call for o in answer.fits] == ["nn.SoftMarginLoss()(input, target)"]
    converted = {o.loss: o.conversions for o in answer.converted}
    assert converted["BCEWithLogitsLoss"] == {"target": "(target + 1) / 2"}


def test_distillation_uses_batchmean_and_softmax_of_teacher_logits():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g), torch.randn(N, C, generator=g), task="distillation")
    converted = {o.loss: o for o in answer.converted}
    kl = converted["KLDivLoss"]
    assert kl.call == "nn.KLDivLoss(reduction='batchmean')(F.log_softmax(input, dim=1), F.softmax(target, dim=1))"


def test_the_task_settles_raw_embeddings():
    g = _gen(0)
    features, labels = torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g)
    assert suggest(features, labels).prediction.kind == "logits"
    assert suggest(features, labels, task="metric").prediction.kind == "embeddings"


def test_description_text():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g).softmax(1), torch.randint(0, C, (N,), generator=g))
    assert str(answer.prediction).startswith("f32[32, 10] probabilities: non-negative, every row sums to 1 over dim 1")
    assert str(answer.target) == "i64[32] class indices: integers in [0, 10), one per sample: the prediction has 10 classes"
    assert answer.fits == () or all("CrossEntropyLoss" not in o.loss for o in answer.fits)


@pytest.mark.parametrize(
    "prediction, target",
    [
        (None, torch.zeros(3)),
        ([1.0, 2.0], torch.zeros(2)),
        (torch.randn(4, 3, device="meta"), torch.zeros(4).long()),
        (torch.full((4, 3), float("nan")), torch.zeros(4).long()),
        (torch.randn(0, 3), torch.zeros(0).long()),
        (torch.randint(0, 3, (4, 3)), torch.zeros(4).long()),
        (torch.randn(4, 3, dtype=torch.complex64), torch.zeros(4).long()),
    ],
)
def test_any_arguments_get_an_answer(prediction, target):
    answer = suggest(prediction, target)
    assert str(answer) and json.dumps(answer.to_dict())


def test_unknown_task_is_a_value_error():
    with pytest.raises(ValueError, match="task must be one of"):
        suggest(torch.randn(4, 3), torch.zeros(4).long(), task="classification")


def test_renderings():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g))
    assert repr(answer).startswith("<Suggestion multiclass: ")
    assert answer._repr_html_().startswith("<pre>")
    assert set(answer.to_dict()) == {"prediction", "target", "task", "tasks", "task_source", "fits", "converted", "other"}
    assert losslint.suggest is suggest
