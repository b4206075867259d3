"""losslint.suggest(): every conversion it proposes runs as written, and makes the call clean.

For every pair of a prediction kind and a target kind that the rule files' `[usage]` tables know,
realistic tensors are built, `suggest()` is asked, and each proposed call is evaluated as plain Python
(the text the user would paste): check() must find it clean (no warning, no error) and torch must
accept it. What suggest() says about the tensors themselves is pinned too.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.advice.suggestion import suggest

from tensor_kinds import C, N, PAIRS, build_pair, expected_target_kind, pair_id, run_as_written


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _run_as_written(option, prediction, target):
    return run_as_written(option, {"input": prediction, "target": target})


@pytest.mark.parametrize(("prediction_kind", "target_kind", "layout"), PAIRS, ids=[pair_id(*p) for p in PAIRS])
def test_every_proposal_runs_as_written_and_is_clean(prediction_kind, target_kind, layout):
    prediction, target = build_pair(prediction_kind, target_kind, layout)
    before = (prediction.clone(), target.clone())
    answer = suggest(prediction, target)
    assert torch.equal(prediction, before[0]) and torch.equal(target, before[1]), "suggest() changed its inputs"
    assert answer.prediction.kind == prediction_kind, answer.prediction
    assert answer.target.kind == expected_target_kind(prediction_kind, target_kind), answer.target
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
    page = answer._repr_html_()
    assert page.startswith('<div class="losslint-suggestion"')
    assert "<code>nn.CrossEntropyLoss()(input, target)</code>" in page
    assert "<details><summary>for other tasks" in page and "<script" not in page
    assert set(answer.to_dict()) == {"prediction", "target", "task", "tasks", "task_source", "fits", "converted", "other", "guidance"}
    assert losslint.suggest is suggest


# ---- the command ---------------------------------------------------------------------------------


def _saved(tmp_path, **tensors):
    paths = []
    for name, value in tensors.items():
        path = tmp_path / f"{name}.pt"
        torch.save(value, path)
        paths.append(str(path))
    return paths


def test_cli_suggest_text_and_json(tmp_path, capsys):
    from losslint.cli import main

    g = _gen(0)
    prediction, target = torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g)
    paths = _saved(tmp_path, logits=prediction, labels=target)
    assert main(["suggest", *paths]) == 0
    out = capsys.readouterr().out
    assert out.strip() == str(suggest(prediction, target))
    assert main(["suggest", *paths, "--format", "json", "--task", "multilabel"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(suggest(prediction, target, task="multilabel").to_dict()))
    assert data["converted"][0]["call"] == "nn.BCEWithLogitsLoss()(input, F.one_hot(target, 10).float())"


def test_cli_suggest_exit_status(tmp_path, capsys):
    from losslint.cli import main

    # Integer "predictions" fit no loss: exit 1.
    paths = _saved(tmp_path, pred=torch.randint(0, 3, (8, 3)), target=torch.zeros(8).long())
    assert main(["suggest", *paths]) == 1
    assert main(["suggest", paths[0], str(tmp_path / "missing.pt")]) == 2
    assert "no such file" in capsys.readouterr().err


# ---- the rule files' own examples, and what the rule files know ------------------------------------


def _two_argument_usages():
    from losslint.language.spec import load_builtin
    from losslint.advice.targets import example_code

    for _, rule in load_builtin()[1]:
        usage = rule.usage
        if usage is None or not usage.target or rule.signature.from_module:
            continue
        if [a for a in rule.signature.arguments if a not in (usage.prediction, usage.target) and a not in rule.signature.optional]:
            continue
        yield rule, example_code(rule)


@pytest.mark.parametrize(("rule", "code"), list(_two_argument_usages()), ids=lambda x: getattr(getattr(x, "loss", None), "name", ""))
def test_each_loss_takes_its_own_example_as_it_is(rule, code):
    names = {"torch": torch, "nn": nn, "F": F}
    torch.manual_seed(0)
    for line in code.setup:
        exec(line, names)  # noqa: S102
    own = dict(zip([a for a in rule.signature.arguments if a not in rule.signature.from_module], code.arguments))
    answer = suggest(names[own[rule.usage.prediction]], names[own[rule.usage.target]])
    assert rule.loss.name in [o.loss for o in answer.fits], str(answer)


def test_the_pairs_cover_every_kind_the_rule_files_name():
    from losslint.language.spec import load_builtin
    from tensor_kinds import PAIRS

    named_predictions, named_targets = set(), set()
    for _, rule in load_builtin()[1]:
        if rule.usage is None:
            continue
        for take in rule.usage.takes:
            named_predictions |= set(take.input)
            named_targets |= set(take.target)
        for conv in rule.usage.conversions:
            (named_predictions if conv.argument == rule.usage.prediction else named_targets).update(conv.start)
    assert named_predictions <= {p for p, _, _ in PAIRS}
    assert named_targets <= {t for _, t, _ in PAIRS}


def test_every_loss_suggest_can_call_is_proposed_somewhere():
    """No [usage] table is dead: each loss callable with a prediction and a target is proposed for some pair."""
    from tensor_kinds import pairs

    proposed = set()
    for *_, prediction, target in pairs():
        answer = suggest(prediction, target)
        proposed |= {o.loss for o in (*answer.fits, *answer.converted)}
    expected = {rule.loss.name for rule, _ in _two_argument_usages()} - {"KLDivLoss"}  # KLDivLoss: with task="distillation"
    assert expected <= proposed, expected - proposed


def test_a_bad_usage_table_is_reported_with_its_file_and_field(tmp_path):
    from pathlib import Path

    from losslint.language.spec import load_loss_files

    text = (Path(__file__).resolve().parent.parent / "rules" / "mse.toml").read_text(encoding="utf-8")
    text = text.replace('tasks = ["regression"]', 'tasks = ["regresion"]').replace('target = ["real_values", "counts"]', 'target = ["reals"]')
    text = text.replace('example = "regression on matching shapes"', 'example = "no such example"')
    path = tmp_path / "mse.toml"
    path.write_text(text, encoding="utf-8")
    problems: list[str] = []
    load_loss_files([path], problems)
    joined = "\n".join(problems)
    assert f"{path} → usage" in joined
    assert "unknown task 'regresion'" in joined and "unknown target kind 'reals'" in joined


def test_a_class_loss_says_why_one_score_per_sample_does_not_do():
    g = _gen(0)
    answer = suggest(torch.randn(N, 1, generator=g), (torch.rand(N, generator=g) > 0.5).long(), task="multiclass")
    why = {u.loss: u.why for u in answer.other}
    assert why["CrossEntropyLoss"] == (
        "needs one score per class (input of shape (N, C, ...), C >= 2); the prediction has one per sample, "
        "f32[32, 1]: give the model one output per class"
    )
    assert [o.loss for o in answer.converted][:1] == ["BCEWithLogitsLoss"]


def test_tensors_that_require_grad_stay_untouched_and_build_no_graph():
    g = _gen(0)
    logits = torch.randn(N, C, generator=g).requires_grad_()
    answer = suggest(logits, torch.randint(0, C, (N,), generator=g))
    assert answer.converted and logits.grad is None and logits.grad_fn is None


# ---- audit: readings that were wrong or missing ----------------------------------------------------


def _assert_runs_clean(answer, prediction, target):
    for option in (*answer.fits, *answer.converted):
        report, error = _run_as_written(option, prediction, target)
        assert error is None, f"{option.call}: torch raised {error}"
        assert not [f for f in report.findings if f.severity != "info"], f"{option.call}:\n{report}"


def test_class_indices_with_the_default_ignore_label():
    g = _gen(0)
    prediction = torch.randn(16, 4, generator=g)
    target = torch.where(torch.rand(16, generator=g) > 0.8, -100, torch.randint(0, 4, (16,), generator=g))
    target[0] = -100
    answer = suggest(prediction, target)
    assert answer.target.kind == "class_indices" and answer.target.ignore == -100
    assert "with -100 (ignored by CrossEntropyLoss/NLLLoss's default ignore_index)" in str(answer.target)
    assert answer.task == "multiclass"
    assert answer.best.call == "nn.CrossEntropyLoss()(input, target)"
    assert "BCEWithLogitsLoss" not in [o.loss for o in answer.converted]
    why = {u.loss: u.why for u in answer.other}
    assert why["BCEWithLogitsLoss"].startswith("cannot skip the ignore label -100: BCEWithLogitsLoss has no ignore_index")
    _assert_runs_clean(answer, prediction, target)


def test_segmentation_void_label_255_gets_ignore_index():
    g = _gen(0)
    prediction = torch.randn(2, 4, 8, 8, generator=g)
    target = torch.randint(0, 4, (2, 8, 8), generator=g)
    target[:, :2] = 255
    answer = suggest(prediction, target)
    assert answer.target.ignore == 255
    assert answer.best.call == "nn.CrossEntropyLoss(ignore_index=255)(input, target)"
    assert all(o.config.get("ignore_index") == 255 for o in (*answer.fits, *answer.converted))
    _assert_runs_clean(answer, prediction, target)


@pytest.mark.parametrize("task", [None, "multiclass"])
def test_a_column_of_class_indices_is_squeezed(task):
    g = _gen(0)
    prediction, target = torch.randn(16, 4, generator=g), torch.randint(0, 4, (16, 1), generator=g)
    answer = suggest(prediction, target, task=task)
    assert answer.target.kind == "class_indices"
    assert answer.best.call == "nn.CrossEntropyLoss()(input, target.squeeze(1))"
    converted = {o.loss: o.conversions for o in answer.converted}
    assert converted["BCEWithLogitsLoss"] == {"target": "F.one_hot(target.squeeze(1), 4).float()"}
    _assert_runs_clean(answer, prediction, target)
    target[0, 0] = -100
    answer = suggest(prediction, target, task=task)
    assert answer.target.ignore == -100 and answer.best.call == "nn.CrossEntropyLoss()(input, target.squeeze(1))"
    _assert_runs_clean(answer, prediction, target)


@pytest.mark.parametrize("column", [False, True])
def test_a_non_negative_regression_head_reads_as_regression(column):
    g = _gen(0)
    prediction = F.softplus(torch.randn(16, generator=g)) * 3
    prediction = prediction.unsqueeze(1) if column else prediction
    target = torch.rand(16, generator=g) * 5 + 1
    answer = suggest(prediction, target)
    assert answer.tasks[0] == "regression" and "metric" in answer.tasks
    assert answer.best.loss == "MSELoss"
    assert "distances" in str(answer.prediction)  # what the values look like is still said
    _assert_runs_clean(answer, prediction, target)


def test_values_in_zero_one_do_not_block_a_given_regression():
    g = _gen(0)
    prediction, target = torch.rand(16, generator=g), torch.rand(16, generator=g)
    answer = suggest(prediction, target, task="regression")
    assert [o.call for o in answer.fits][:1] == ["nn.MSELoss()(input, target)"]
    _assert_runs_clean(answer, prediction, target)


def test_a_regression_head_is_real_valued_predictions_not_logits():
    g = _gen(0)
    answer = suggest(torch.randn(16, generator=g), torch.randn(16, generator=g) * 3 + 1)
    assert answer.task == "regression"
    assert str(answer.prediction).startswith("f32[16] real-valued predictions:")
    text = str(answer)
    assert "raw scores" not in text.split("for other tasks:")[0], text


def test_targets_page_calls_regression_inputs_real_valued_predictions():
    from losslint.language.spec import load_builtin
    from losslint.advice.targets import take_rows

    for _, rule in load_builtin()[1]:
        if rule.usage is not None and rule.usage.tasks[0] == "regression":
            assert all("raw scores" not in row[0] for row in take_rows(rule)), rule.loss.name


@pytest.mark.parametrize("channel", [False, True])
def test_binary_segmentation_of_one_channel(channel):
    g = _gen(0)
    prediction = torch.randn(2, 1, 8, 8, generator=g)
    target = torch.randint(0, 2, (2, 1, 8, 8) if channel else (2, 8, 8), generator=g)
    answer = suggest(prediction, target)
    assert answer.task == "binary" and answer.target.kind == "binary"
    assert "one per pixel" in answer.target.evidence and "per sample" not in answer.target.evidence
    assert "one score per pixel" in answer.prediction.evidence
    expected = "nn.BCEWithLogitsLoss()(input, target.float())" if channel else "nn.BCEWithLogitsLoss()(input.squeeze(1), target.float())"
    assert answer.best.call == expected
    _assert_runs_clean(answer, prediction, target)


def test_per_pixel_and_zero_d_descriptions():
    g = _gen(0)
    seg = suggest(torch.randn(2, 4, 8, 8, generator=g), torch.randint(0, 4, (2, 8, 8), generator=g))
    assert "one per pixel" in seg.target.evidence
    scalar = suggest(torch.tensor(0.5), torch.tensor(1.0))
    assert "per sample" not in scalar.prediction.evidence and "a single value" in scalar.prediction.evidence


def test_float_one_hot_rows_fit_cross_entropy_first_for_a_multiclass_reading():
    g = _gen(0)
    prediction = torch.randn(16, 4, generator=g)
    target = F.one_hot(torch.randint(0, 4, (16,), generator=g), 4).float()
    answer = suggest(prediction, target)
    assert answer.task == "multiclass"
    assert answer.best.call == "nn.CrossEntropyLoss()(input, target)" and answer.best.infos == ("LL405",)
    assert "nn.BCEWithLogitsLoss()(input, target)" in _calls(answer.fits)
    assert "worth knowing: LL405" in str(answer)
    _assert_runs_clean(answer, prediction, target)


def test_an_info_pointing_to_another_loss_still_ranks_last():
    g = _gen(0)
    answer = suggest(torch.randn(N, C, generator=g).log_softmax(1), torch.randint(0, C, (N,), generator=g))
    assert _calls(answer.fits)[0] == "nn.NLLLoss()(input, target)" and answer.fits[-1].loss == "CrossEntropyLoss"


def test_the_smallest_change_ranks_first_and_eps_reads_as_written():
    g = _gen(0)
    prediction, target = torch.rand(16, 1, generator=g), (torch.rand(16, generator=g) > 0.5).long()
    answer = suggest(prediction, target)
    assert answer.best.call == "nn.BCELoss()(input.squeeze(1), target.float())"
    logit = next(o for o in answer.converted if o.loss == "BCEWithLogitsLoss")
    assert "torch.logit(input, eps=1e-6).squeeze(1)" in logit.call and "1e-06" not in str(answer)
    _assert_runs_clean(answer, prediction, target)


@pytest.mark.parametrize("log", [False, True])
def test_no_logit_of_a_softmax_for_a_binary_loss(log):
    g = _gen(0)
    prediction = torch.randn(16, 4, generator=g).softmax(1)
    prediction = prediction.log() if log else prediction
    target = torch.randint(0, 4, (16,), generator=g)
    answer = suggest(prediction, target)
    proposed = [o.loss for o in (*answer.fits, *answer.converted)]
    assert "BCEWithLogitsLoss" not in proposed and "BCELoss" not in proposed
    why = {u.loss: u.why for u in answer.other}
    assert "torch.logit does not undo a softmax" in why["BCEWithLogitsLoss"]
    _assert_runs_clean(answer, prediction, target)


def test_compose_keeps_numbers_as_written():
    from losslint.evidence.conversion import compose

    assert compose("x.squeeze(1)", "x", "torch.logit(x, eps=1e-6)") == "torch.logit(x, eps=1e-6).squeeze(1)"


@pytest.mark.parametrize(
    ("target", "task", "loss", "words"),
    [
        (torch.tensor(2), "multilabel", "MultiLabelMarginLoss", "does not apply to a 0-D `target` (i64[])"),
        (torch.arange(16) % 4 + 4, None, "BCEWithLogitsLoss", "needs class indices below the number of classes; `target` (i64[16]) holds values up to 7"),
        ((torch.arange(16) % 4).float(), None, "BCEWithLogitsLoss", "needs integer (int64) class indices; `target` (f32[16]) is float32"),
    ],
)
def test_reasons_are_words_not_exceptions(target, task, loss, words):
    answer = suggest(torch.randn(16, 4, generator=_gen(0)), target, task=task)
    why = {u.loss: u.why for u in answer.other}
    assert words in why[loss], why[loss]
    assert not any("Error:" in u.why for u in answer.other), [u.why for u in answer.other]


def test_cli_suggest_wants_one_tensor_per_file(tmp_path, capsys):
    from losslint.cli import main

    paths = _saved(tmp_path, batch={"logits": torch.randn(4, 3), "labels": torch.zeros(4).long()}, target=torch.zeros(4).long())
    assert main(["suggest", *paths]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "must hold one tensor; it holds a dict with keys 'logits', 'labels'" in err
    pair = _saved(tmp_path, pair=(torch.randn(4, 3), torch.zeros(4).long()))
    assert main(["suggest", pair[0], paths[1]]) == 2
    assert "must hold one tensor; it holds a tuple of 2" in capsys.readouterr().err


# ---- losses of more than two tensors, given the task ----------------------------------------------


def test_ranking_says_it_needs_two_score_tensors_and_a_signed_target():
    g = _gen(3)
    scores, labels = torch.randn(N, generator=g), (torch.rand(N, generator=g) > 0.5).float()
    answer = suggest(scores, labels, task="ranking")
    (guide,) = answer.guidance
    assert guide.loss == "MarginRankingLoss" and "MarginRankingLoss" not in [u.loss for u in answer.other]
    assert "two score tensors" in guide.needs and "-1" in guide.needs
    # {0, 1} labels are turned into ±1, and the call is clean with a second score tensor of that shape.
    assert guide.call == "nn.MarginRankingLoss(margin=0.0)(input1, input2, 2 * target - 1)" and guide.checked
    input1, input2, target = scores, torch.randn(N, generator=g), labels
    report = losslint.check(nn.MarginRankingLoss(margin=0.0), input1, input2, 2 * target - 1)
    assert not [f for f in report.findings if f.severity != "info"]
    assert "MarginRankingLoss needs more than these two tensors" in str(answer)
    assert "MarginRankingLoss needs more than these two tensors" in answer._repr_html_()
    assert answer.to_dict()["guidance"][0]["call"] == guide.call
    # ±1 labels are taken as they are.
    assert suggest(scores, 2 * labels - 1, task="ranking").guidance[0].call.endswith("(input1, input2, target)")


@pytest.mark.parametrize("layout", ["time-first log-probabilities", "batch-first logits"])
def test_sequence_shows_the_ctc_call_with_its_lengths(layout):
    g = _gen(4)
    T, n, classes, S = 30, 4, 12, 8
    logits = torch.randn(T, n, classes, generator=g)
    prediction = logits.log_softmax(2) if layout.startswith("time") else logits.transpose(0, 1)
    targets = torch.randint(1, classes, (n, S), generator=g)
    answer = suggest(prediction, targets, task="sequence")
    (guide,) = answer.guidance
    assert guide.loss == "CTCLoss" and "input_lengths" in guide.needs and "target_lengths" in guide.needs
    assert guide.checked
    assert f"torch.full(({n},), {T}, dtype=torch.long), torch.full(({n},), {S}, dtype=torch.long)" in guide.call
    expected = "log_probs" if layout.startswith("time") else "log_probs.transpose(0, 1).log_softmax(2)"
    assert guide.call.startswith(f"nn.CTCLoss(blank=0)({expected}, targets, ")
    # The call runs as shown, is clean, and computes CTC on the time-first log-probabilities.
    scope = {"nn": nn, "torch": torch, "log_probs": prediction, "targets": targets}
    value = eval(guide.call, scope)  # noqa: S307 - the call the answer shows, on the test's own tensors
    want = F.ctc_loss(logits.log_softmax(2), targets, torch.full((n,), T), torch.full((n,), S))
    assert torch.allclose(value, want)
    lengths = (torch.full((n,), T, dtype=torch.long), torch.full((n,), S, dtype=torch.long))
    report = losslint.check(nn.CTCLoss(), logits.log_softmax(2), targets, *lengths)
    assert not [f for f in report.findings if f.severity != "info"]


def test_sequence_guidance_says_what_check_finds_and_never_claims_a_clean_call():
    g = _gen(5)
    # The blank (0) among the labels: the call is shown with check()'s finding, not as clean.
    guide = suggest(torch.randn(20, 2, 6, generator=g).log_softmax(2), torch.randint(0, 6, (2, 5), generator=g) * 0, task="sequence").guidance[0]
    assert not guide.checked and any("blank" in note for note in guide.notes)
    # Shapes it cannot read a sequence from: what CTCLoss needs, in words, and a template.
    guide = suggest(torch.randn(N, C, generator=g), torch.randint(0, C, (N,), generator=g), task="sequence").guidance[0]
    assert not guide.checked and "input_lengths" in guide.call and "time first" in guide.needs
