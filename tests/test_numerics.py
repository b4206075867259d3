"""Issue 11: losses that will be NaN, bounded predictions, other losses' domains, and staying quiet.

PyTorch is the oracle: where losslint says the loss is NaN or inf (an LL6 error), the real loss
computed from the very same arguments must be non-finite, and `torch_raises` must be False unless
torch really raises. Every family runs at several sizes and dtypes, and at the confidence levels its
evidence allows (a tensor read whole is "certain", one read from a bounded sample "strong").
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.evidence.facts import SAMPLE_ELEMENTS
from examples_runner import torch_outcome


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def value(loss, *args, **kwargs) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return loss(*args, **kwargs)


def codes(report, severity=("error", "warning")) -> set[str]:
    return {f.code for f in report.findings if f.severity in severity}


def finding(report, code):
    found = [f for f in report.findings if f.code == code]
    assert found, str(report)
    return found[0]


def assert_nonfinite_predicted(loss, args, kwargs=None, code=None):
    """losslint reports `code` as an error, torch accepts the call and its value is NaN or inf."""
    kwargs = kwargs or {}
    report = losslint.check(loss, *args, **kwargs)
    f = finding(report, code)
    assert f.severity == "error" and not f.torch_raises, str(report)
    assert not report.torch_raises and not torch_outcome(loss, args, kwargs)[0], str(report)
    out = value(loss, *args, **kwargs)
    assert not bool(torch.isfinite(out).all()), f"torch gave {out}, losslint said:\n{report}"
    return f


# ---- 1. the loss will be NaN or inf ------------------------------------------------------------------

SIZES = [1, 7, 512]
FLOATS = [torch.float32, torch.float64, torch.bfloat16]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("ignore", [-100, 255, -1])
def test_all_ignored_targets_are_nan(n, dtype, ignore):
    logits = torch.randn(n, 19, generator=gen(n)).to(dtype)
    target = torch.full((n,), ignore)
    loss = nn.CrossEntropyLoss(ignore_index=ignore)
    f = assert_nonfinite_predicted(loss, (logits, target), code="LL601")
    assert f.confidence == "certain" and str(ignore) in f.message


@pytest.mark.parametrize("shape", [(2, 32, 32), (1, 128, 128)])
def test_all_void_segmentation_crop(shape):
    logits = torch.randn(shape[0], 5, *shape[1:], generator=gen())
    assert_nonfinite_predicted(nn.CrossEntropyLoss(ignore_index=255), (logits, torch.full(shape, 255)), code="LL601")
    # One labelled pixel is enough for a finite loss, and losslint stays quiet.
    target = torch.full(shape, 255)
    target[0, 0, 0] = 3
    assert "LL601" not in codes(losslint.check(nn.CrossEntropyLoss(ignore_index=255), logits, target))


def test_all_ignored_language_model_batch_nll():
    lp = torch.randn(4 * 31, 500, generator=gen()).log_softmax(1)
    assert_nonfinite_predicted(F.nll_loss, (lp, torch.full((4 * 31,), -100)), code="LL601")


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_all_ignored_without_mean_is_finite_and_quiet(reduction):
    loss = nn.CrossEntropyLoss(reduction=reduction)
    args = (torch.randn(8, 5, generator=gen()), torch.full((8,), -100))
    assert bool(torch.isfinite(value(loss, *args)).all())
    assert not codes(losslint.check(loss, *args))


EMPTY = [
    (nn.CrossEntropyLoss(), lambda: (torch.randn(0, 5), torch.zeros(0, dtype=torch.long))),
    (nn.NLLLoss(), lambda: (torch.randn(0, 5).log_softmax(1), torch.zeros(0, dtype=torch.long))),
    (nn.BCEWithLogitsLoss(), lambda: (torch.randn(0, 3), torch.rand(0, 3))),
    (nn.BCELoss(), lambda: (torch.rand(0, 3), torch.rand(0, 3))),
    (nn.MSELoss(), lambda: (torch.randn(0), torch.randn(0))),
    (nn.L1Loss(), lambda: (torch.randn(0, 4), torch.randn(0, 4))),
    (nn.SmoothL1Loss(), lambda: (torch.randn(0, 4), torch.randn(0, 4))),
    (nn.HuberLoss(), lambda: (torch.randn(0, 4), torch.randn(0, 4))),
    (nn.KLDivLoss(reduction="batchmean"), lambda: (torch.randn(0, 10).log_softmax(1), torch.rand(0, 10))),
    (nn.PoissonNLLLoss(), lambda: (torch.randn(0), torch.rand(0))),
    (nn.GaussianNLLLoss(), lambda: (torch.randn(0, 3), torch.randn(0, 3), torch.ones(0, 3))),
    (nn.HingeEmbeddingLoss(), lambda: (torch.rand(0), torch.ones(0))),
    (nn.SoftMarginLoss(), lambda: (torch.randn(0, 4), torch.ones(0, 4))),
    (nn.CosineEmbeddingLoss(), lambda: (torch.randn(0, 8), torch.randn(0, 8), torch.ones(0))),
    (nn.MarginRankingLoss(), lambda: (torch.randn(0), torch.randn(0), torch.ones(0))),
    (nn.TripletMarginLoss(), lambda: (torch.randn(0, 8), torch.randn(0, 8), torch.randn(0, 8))),
    (nn.MultiLabelSoftMarginLoss(), lambda: (torch.randn(0, 5), torch.rand(0, 5))),
]


@pytest.mark.parametrize("loss,make", EMPTY, ids=[type(l).__name__ for l, _ in EMPTY])
def test_empty_batch_under_mean_is_nan(loss, make):
    assert_nonfinite_predicted(loss, make(), code="LL602")


@pytest.mark.parametrize("loss,make", EMPTY, ids=[type(l).__name__ for l, _ in EMPTY])
def test_empty_batch_under_sum_is_zero_and_quiet(loss, make):
    loss = type(loss)(reduction="sum")
    args = make()
    assert float(value(loss, *args)) == 0.0
    assert "LL602" not in codes(losslint.check(loss, *args))


@pytest.mark.parametrize("loss", [nn.MultiMarginLoss(), nn.MultiLabelMarginLoss()], ids=lambda l: type(l).__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_empty_batch_multi_margin_is_uninitialized(loss, reduction):
    loss = type(loss)(reduction=reduction)
    target = torch.zeros(0, dtype=torch.long) if isinstance(loss, nn.MultiMarginLoss) else torch.zeros(0, 5, dtype=torch.long)
    f = finding(losslint.check(loss, torch.randn(0, 5), target), "LL602")
    assert "uninitialized" in f.message and not f.torch_raises


def test_empty_batch_is_metadata_only():
    """Found on meta tensors: no value is read, so no GPU sync."""
    report = losslint.Checker(depth="metadata").check(
        nn.SmoothL1Loss(), torch.empty(0, 4, device="meta"), torch.empty(0, 4, device="meta")
    )
    assert "LL602" in codes(report)


@pytest.mark.parametrize("n", [4, 64, 4096])
def test_zero_class_weights_for_every_class_present(n):
    weight = torch.tensor([0.0, 0.0, 1.0, 2.0, 1.0])
    target = torch.randint(0, 2, (n,), generator=gen(n))
    logits = torch.randn(n, 5, generator=gen(n + 1))
    assert_nonfinite_predicted(nn.CrossEntropyLoss(weight=weight), (logits, target), code="LL603")
    # One sample of a weighted class: finite, quiet.
    target[0] = 3
    report = losslint.check(nn.CrossEntropyLoss(weight=weight), logits, target)
    assert "LL603" not in codes(report) and bool(torch.isfinite(value(nn.CrossEntropyLoss(weight=weight), logits, target)))


def test_all_zero_weight_is_always_found():
    """Exact whatever the batch size: an all-zero weight is never sampled."""
    n = SAMPLE_ELEMENTS * 2
    report = losslint.check(nn.CrossEntropyLoss(weight=torch.zeros(3)), torch.randn(n, 3), torch.randint(0, 3, (n,)))
    assert finding(report, "LL603").severity == "error"
    # Probability targets and 'sum': the loss is 0, not NaN: a warning.
    f = finding(losslint.check(nn.CrossEntropyLoss(weight=torch.zeros(3)), torch.randn(8, 3), torch.softmax(torch.randn(8, 3), 1)), "LL603")
    assert f.severity == "warning" and "identically 0" in f.message


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_non_finite_class_weight(bad):
    weight = torch.tensor([1.0, bad, 1.0, 1.0])
    logits = torch.randn(12, 4, generator=gen())
    present = torch.arange(12) % 4
    assert_nonfinite_predicted(nn.CrossEntropyLoss(weight=weight), (logits, present), code="LL604")
    absent = torch.tensor([0, 2, 3] * 4)
    f = finding(losslint.check(nn.CrossEntropyLoss(weight=weight), logits, absent), "LL604")
    assert f.severity == "warning" and bool(torch.isfinite(value(nn.CrossEntropyLoss(weight=weight), logits, absent)))
    # Label smoothing weighs every class: certain again.
    assert_nonfinite_predicted(nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1), (logits, absent), code="LL604")


def test_pos_weight_inf_for_a_label_without_positives():
    """small-text #39 / the PyTorch docs' recipe pos_weight = negatives / positives, with a label that
    has no positive in the data."""
    target = (torch.rand(64, 6, generator=gen()) > 0.7).float()
    target[:, 4] = 0
    pos_weight = (target.shape[0] - target.sum(0)) / target.sum(0)
    assert math.isinf(float(pos_weight[4]))
    assert_nonfinite_predicted(nn.BCEWithLogitsLoss(pos_weight=pos_weight), (torch.randn(64, 6, generator=gen(1)), target), code="LL604")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("n", [3, 100, 200_000])
def test_nan_regression_targets(n, dtype):
    pred = torch.randn(n, generator=gen(n)).to(dtype)
    target = torch.randn(n, generator=gen(n + 1)).to(dtype)
    target[1] = math.nan
    f = assert_nonfinite_predicted(nn.MSELoss(), (pred, target), code="LL605")
    assert f.confidence == ("certain" if n <= SAMPLE_ELEMENTS else "strong")


def test_nan_beyond_the_sample_is_not_read_by_check():
    """A bounded sample need not find one NaN at the end of a large tensor (the post-mortem does)."""
    target = torch.randn(4 * SAMPLE_ELEMENTS)
    target[-1] = math.nan
    assert "LL605" not in codes(losslint.check(nn.L1Loss(), torch.randn(4 * SAMPLE_ELEMENTS), target))


@pytest.mark.parametrize("n,c", [(8, 5), (256, 1000)])
def test_positive_inf_logits(n, c):
    logits = torch.randn(n, c, generator=gen())
    logits[0, 1] = math.inf  # an unclamped logit scale overflowed
    assert_nonfinite_predicted(nn.CrossEntropyLoss(), (logits, torch.randint(0, c, (n,), generator=gen(1))), code="LL605")


@pytest.mark.parametrize("n", [8, 300])
def test_masked_logits_are_fine_but_not_at_the_target(n):
    logits = torch.randn(n, 6, generator=gen())
    logits[:, :2] = -math.inf  # classes 0 and 1 masked out
    ok = torch.randint(2, 6, (n,), generator=gen(1))
    assert not codes(losslint.check(nn.CrossEntropyLoss(), logits, ok))
    bad = ok.clone()
    bad[n // 2] = 1
    assert_nonfinite_predicted(nn.CrossEntropyLoss(), (logits, bad), code="LL606")
    # With label smoothing every class's log-probability counts: inf.
    assert_nonfinite_predicted(nn.CrossEntropyLoss(label_smoothing=0.1), (logits, ok), code="LL605")


def test_log_of_float16_softmax_underflows_at_the_target():
    logits = torch.randn(64, 50, generator=gen()) * 12
    log_probs = torch.log(F.softmax(logits, 1).half())
    target = logits.argmin(dim=1)  # the least likely class underflows first
    f = assert_nonfinite_predicted(nn.NLLLoss(), (log_probs, target), code="LL606")
    assert "float16" in f.explanation and "log_softmax" in f.fix


def test_kl_minus_inf_on_both_sides_with_log_target():
    lp = torch.randn(16, 10, generator=gen())
    lp[:, 0] = -math.inf
    lp = lp.log_softmax(1)
    assert_nonfinite_predicted(nn.KLDivLoss(reduction="batchmean", log_target=True), (lp, lp.clone()), code="LL605")


@pytest.mark.parametrize("loss,make", [
    (nn.MSELoss(reduction="sum"), lambda: ((torch.randn(200_000, generator=gen()) * 2).half(), torch.zeros(200_000).half())),
    (nn.CrossEntropyLoss(reduction="sum"), lambda: (torch.randn(50_000, 10, generator=gen()).half(), torch.randint(0, 10, (50_000,), generator=gen(1)))),
    (nn.BCEWithLogitsLoss(reduction="sum"), lambda: (torch.randn(300_000, generator=gen()).half(), torch.rand(300_000, generator=gen(1)).half())),
    (nn.L1Loss(), lambda: (torch.full((64,), 40000.0).half(), torch.full((64,), -40000.0).half())),
], ids=["mse-sum", "ce-sum", "bcel-sum", "l1-element"])
def test_float16_overflow(loss, make):
    assert_nonfinite_predicted(loss, make(), code="LL607")


@pytest.mark.parametrize("n", [1000, 20_000])
def test_float16_sums_that_fit_are_quiet(n):
    args = (torch.randn(n, generator=gen()).half(), torch.randn(n, generator=gen(1)).half())
    loss = nn.MSELoss(reduction="sum")
    assert bool(torch.isfinite(value(loss, *args)))
    assert "LL607" not in codes(losslint.check(loss, *args))


# ---- the hooks' post-mortem ----------------------------------------------------------------------------


def _nan_beyond_sample():
    target = torch.randn(4 * SAMPLE_ELEMENTS, generator=gen())
    target[-3] = math.nan
    return torch.randn(4 * SAMPLE_ELEMENTS, generator=gen(1)), target


def test_attach_post_mortem_names_the_argument():
    criterion = nn.L1Loss()
    pred, target = _nan_beyond_sample()
    with losslint.attach(criterion, action="collect") as hook:
        out = criterion(pred, target)
    assert math.isnan(float(out))
    f = finding(hook.reports[0], "LL608")
    assert "`target` holds 1 NaN" in f.message and not f.torch_raises


def test_watch_post_mortem_warns_once_per_site():
    pred, target = _nan_beyond_sample()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with losslint.watch() as w:
            for _ in range(3):
                F.mse_loss(pred, target)
    assert w.calls == 3
    (report,) = [r for r in w.reports if any(f.code == "LL608" for f in r.findings)]
    assert report.count == 3
    assert sum("LL608" in str(s.message) for s in seen) == 1


def test_post_mortem_under_stop_records_without_warning():
    """action="stop" (losslint run, pytest --losslint, the training callbacks) never warns."""
    pred, target = _nan_beyond_sample()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with losslint.watch(action="stop") as w:
            F.mse_loss(pred, target)
    assert any(f.code == "LL608" for r in w.reports for f in r.findings)
    assert not [s for s in seen if issubclass(s.category, losslint.LossLintWarning)]


def test_post_mortem_when_no_argument_explains_it():
    with losslint.watch(action="collect") as w:
        F.mse_loss(torch.full((4,), 3e38), torch.full((4,), -3e38))  # float32 overflow inside the loss
    f = finding(w.reports[0], "LL608")
    assert "no argument explains it" in f.message


def test_post_mortem_does_not_repeat_a_prediction():
    """The check before the call already said why (LL601): no second report for the same call."""
    with losslint.watch(action="collect") as w:
        F.cross_entropy(torch.randn(8, 5), torch.full((8,), -100))
    assert [f.code for r in w.reports for f in r.findings] == ["LL601"]


def test_post_mortem_costs_nothing_on_calls_the_policy_does_not_read(monkeypatch):
    from losslint.checks import numerics

    calls = []
    original = numerics.post_mortem
    monkeypatch.setattr(numerics, "post_mortem", lambda *a, **k: calls.append(1) or original(*a, **k))
    pred, target = _nan_beyond_sample()
    with losslint.watch(action="collect", policy=losslint.Policy(first=0, every=0)) as w:
        for _ in range(5):
            F.mse_loss(pred, target)
    criterion = nn.MSELoss()
    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=0, every=0)) as h:
        criterion(pred, target)
    assert calls == [] and not w.reports and not h.reports
    with losslint.watch(action="collect", policy=losslint.Policy(first=2, every=0)):
        for _ in range(5):
            F.mse_loss(pred, target)
    assert len(calls) == 2  # only the two calls whose values were read


def test_post_mortem_raise_mode_stops_after_the_loss():
    pred, target = _nan_beyond_sample()
    with pytest.raises(losslint.LossLintError) as info:
        with losslint.watch(action="raise"):
            F.mse_loss(pred, target)
    assert "non-finite" in str(info.value.__notes__)


def test_post_mortem_keeps_values_and_gradients_identical():
    pred = torch.randn(4 * SAMPLE_ELEMENTS, requires_grad=True, generator=gen())
    target = torch.randn(4 * SAMPLE_ELEMENTS, generator=gen(1))
    target[-1] = math.inf
    bare = F.mse_loss(pred, target)
    bare.backward()
    grad = pred.grad.clone()
    pred.grad = None
    with losslint.watch(action="collect"):
        watched = F.mse_loss(pred, target)
    watched.backward()
    assert torch.equal(bare, watched) and torch.equal(grad, pred.grad)


# ---- 2. a prediction of the wrong kind, from bounded values ------------------------------------------


@pytest.mark.parametrize("n,c", [(16, 4), (64, 10), (512, 1000)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sigmoid_outputs_into_cross_entropy(n, c, dtype):
    probs = torch.sigmoid(torch.randn(n, c, generator=gen(n)) * 2).to(dtype)
    f = finding(losslint.check(nn.CrossEntropyLoss(), probs, torch.randint(0, c, (n,), generator=gen(1))), "LL311")
    assert f.severity == "warning" and "no class more than" in f.message and "cross-entropy on them cannot go below" in f.explanation


@pytest.mark.parametrize("batch", [16, 64, 256])
def test_cosine_similarities_without_temperature(batch):
    """sentence-transformers #3179: in-batch cosine similarities into cross entropy, no scale."""
    a = F.normalize(torch.randn(batch, 128, generator=gen(batch)), dim=1)
    b = F.normalize(a + 0.05 * torch.randn(batch, 128, generator=gen(batch + 1)), dim=1)
    sims = a @ b.T
    labels = torch.arange(batch)
    report = losslint.check(nn.CrossEntropyLoss(), sims, labels)
    f = finding(report, "LL311")
    assert f.severity == "warning" and "in-batch cosine" in f.message, str(report)
    assert not codes(losslint.check(nn.CrossEntropyLoss(), sims / 0.05, labels))


@pytest.mark.parametrize("n,c", [(8, 10), (64, 10), (64, 1000)])
def test_fresh_and_confident_heads_stay_quiet(n, c):
    head = nn.Linear(64, c)
    fresh = head(torch.randn(n, 64, generator=gen(n))).detach()
    assert not codes(losslint.check(nn.CrossEntropyLoss(), fresh, torch.randint(0, c, (n,), generator=gen(1))))
    zero = torch.zeros(n, c)
    assert not losslint.check(nn.CrossEntropyLoss(), zero, torch.randint(0, c, (n,), generator=gen(1))).findings
    confident = torch.randn(n, c, generator=gen(2)) * 30
    assert not codes(losslint.check(nn.CrossEntropyLoss(), confident, torch.randint(0, c, (n,), generator=gen(3))))


@pytest.mark.parametrize("shape", [(32, 8), (4, 1, 32, 32)])
def test_relu_before_bce_with_logits(shape):
    logits = F.relu(torch.randn(*shape, generator=gen()))
    target = (torch.rand(*shape, generator=gen(1)) > 0.5).float()
    assert "LL312" in codes(losslint.check(nn.BCEWithLogitsLoss(), logits, target))
    # softplus outputs are positive but have no exact zeros: no ReLU evidence.
    assert "LL312" not in codes(losslint.check(nn.BCEWithLogitsLoss(), F.softplus(torch.randn(*shape, generator=gen())), target))


def test_softmax_over_a_single_unit_into_bce():
    out = F.softmax(torch.randn(32, 1, generator=gen()), dim=1)
    assert "LL313" in codes(losslint.check(nn.BCELoss(), out, (torch.rand(32, 1, generator=gen(1)) > 0.5).float()))


@pytest.mark.parametrize("n,c", [(8, 3), (64, 10)])
def test_softmax_with_one_hot_targets_into_bce(n, c):
    probs = F.softmax(torch.randn(n, c, generator=gen()), 1)
    onehot = F.one_hot(torch.randint(0, c, (n,), generator=gen(1)), c).float()
    # Correct (BCELoss takes probabilities, and it trains), so an info, with nothing louder beside it.
    report = losslint.check(nn.BCELoss(), probs, onehot)
    assert codes(report, severity=("info",)) == {"LL314"} and not codes(report)
    # Multi-hot targets stay LL306; sigmoid outputs with one-hot targets are fine.
    assert "LL314" not in codes(losslint.check(nn.BCELoss(), torch.sigmoid(torch.randn(n, c, generator=gen())), onehot))


def test_sigmoid_outputs_into_soft_margin():
    scores = torch.sigmoid(torch.randn(32, 4, generator=gen()))
    labels = torch.where(torch.rand(32, 4, generator=gen(1)) > 0.5, 1.0, -1.0)
    assert "LL305" in codes(losslint.check(nn.SoftMarginLoss(), scores, labels))


def test_logits_with_a_prior_bias_inside_unit_interval_under_watch():
    """A small head whose logits all lie in (0, 1): a warning from values alone, an info under
    watch(), which saw no sigmoid make them."""
    head = nn.Linear(16, 4)
    with torch.no_grad():
        head.weight.mul_(0.01)
        head.bias.fill_(0.5)
    x = torch.randn(64, 16, generator=gen())
    target = (torch.rand(64, 4, generator=gen(1)) > 0.8).float()
    assert finding(losslint.check(nn.BCEWithLogitsLoss(), head(x).detach(), target), "LL305").severity == "warning"
    with losslint.watch(action="collect") as w:
        F.binary_cross_entropy_with_logits(head(x), target)
    assert not any(f.severity != "info" for r in w.reports for f in r.findings), w.reports
    with losslint.watch(action="collect") as w:
        F.binary_cross_entropy_with_logits(torch.sigmoid(head(x)), target)
    assert any(f.code == "LL305" and f.severity == "warning" for r in w.reports for f in r.findings)


# ---- 3. distributions and other losses' domains ---------------------------------------------------------


@pytest.mark.parametrize("shape", [(32, 10), (2, 19, 8, 8)])
def test_kl_target_rows_that_do_not_sum_to_one(shape):
    lp = torch.randn(*shape, generator=gen()).log_softmax(1)
    assert "LL404" in codes(losslint.check(nn.KLDivLoss(reduction="batchmean"), lp, torch.rand(*shape, generator=gen(1))))
    assert not codes(losslint.check(nn.KLDivLoss(reduction="batchmean"), lp, torch.randn(*shape, generator=gen(1)).softmax(1))) - {"LL503"}


def test_kl_with_the_teacher_on_both_sides():
    teacher = torch.randn(32, 10, generator=gen())
    report = losslint.check(nn.KLDivLoss(reduction="batchmean"), F.log_softmax(teacher / 4, 1), F.softmax(teacher / 4, 1))
    assert "LL315" in codes(report) and abs(float(value(nn.KLDivLoss(reduction="batchmean"), F.log_softmax(teacher / 4, 1), F.softmax(teacher / 4, 1)))) < 1e-6
    log_both = F.log_softmax(teacher, 1)
    assert "LL315" in codes(losslint.check(nn.KLDivLoss(reduction="batchmean", log_target=True), log_both, log_both.clone()))


@pytest.mark.parametrize("n", [8, 256])
def test_hinge_embedding_on_logits(n):
    labels = torch.where(torch.rand(n, generator=gen()) > 0.5, 1.0, -1.0)
    assert "LL316" in codes(losslint.check(nn.HingeEmbeddingLoss(), torch.randn(n, generator=gen(1)), labels))
    dist = torch.norm(torch.randn(n, 8, generator=gen(2)) - torch.randn(n, 8, generator=gen(3)), dim=1)
    assert not codes(losslint.check(nn.HingeEmbeddingLoss(), dist, labels))
    assert not codes(losslint.check(nn.HingeEmbeddingLoss(), 1 - F.cosine_similarity(torch.randn(n, 8), torch.randn(n, 8)), labels))


def test_multilabel_margin_zero_padding():
    target = torch.tensor([[3, 1, 0, 0, 0], [2, 0, 0, 0, 0], [4, 3, 2, 0, 0]])
    assert "LL415" in codes(losslint.check(nn.MultiLabelMarginLoss(), torch.randn(3, 5), target))
    padded = torch.tensor([[3, 1, -1, -1, -1], [2, 0, -1, 0, 0], [4, 3, 2, -1, -1]])
    assert not codes(losslint.check(nn.MultiLabelMarginLoss(), torch.randn(3, 5), padded))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_poisson_negative_counts_and_zero_rates(dtype):
    counts = torch.poisson(torch.rand(64, generator=gen()) * 4, generator=gen(1)).to(dtype)
    standardized = (counts - counts.mean()) / counts.std()
    f = finding(losslint.check(nn.PoissonNLLLoss(), torch.randn(64, dtype=dtype), standardized), "LL416")
    assert f.severity == "error" and not f.torch_raises
    rates = F.relu(torch.randn(64, generator=gen(2))).to(dtype)
    assert "LL317" in codes(losslint.check(nn.PoissonNLLLoss(log_input=False), rates, counts)) or not bool(((rates == 0) & (counts > 0)).any())
    assert not codes(losslint.check(nn.PoissonNLLLoss(log_input=False), F.softplus(torch.randn(64, generator=gen(2))).to(dtype), counts))


def test_flattened_token_targets_with_unmasked_padding():
    """01-ai/Yi #110, HF causal LM: labels = input_ids with the pad id left in, shifted and flattened."""
    ids = torch.randint(3, 32000, (4, 48), generator=gen())
    for row, pad in enumerate([0, 7, 19, 30]):
        if pad:
            ids[row, -pad:] = 2  # pad_token_id
    labels = ids[:, 1:].reshape(-1)
    logits = torch.randn(labels.numel(), 32000)
    assert "LL409" in codes(losslint.check(nn.CrossEntropyLoss(), logits, labels))
    masked = labels.masked_fill(labels == 2, -100)
    assert not codes(losslint.check(nn.CrossEntropyLoss(), logits, masked))


@pytest.mark.parametrize("kwargs,meant", [({"size_average": False}, "sum"), ({"reduce": False}, "none"), ({"reduction": "elementwise_mean"}, "mean")])
def test_deprecated_arguments_say_what_to_write(kwargs, meant):
    f = finding(losslint.check(F.mse_loss, torch.randn(8), torch.randn(8), **kwargs), "LL504")
    assert f"reduction={meant!r}" in f.fix and not f.torch_raises


# ---- 4. quiet where it looks wrong but is not --------------------------------------------------------------


@pytest.mark.parametrize("n,k", [(4, 3), (32, 9)])
def test_pairwise_quantile_broadcasting_under_none(n, k):
    pred = torch.randn(n, k, 1, generator=gen())
    target = torch.randn(n, 1, k, generator=gen(1))
    assert not codes(losslint.check(F.smooth_l1_loss, pred, target, reduction="none"))
    assert not codes(losslint.check(F.l1_loss, pred, target, reduction="none"))
    # The classic mistake stays a warning, with or without reduction='none'.
    assert "LL205" in codes(losslint.check(F.l1_loss, torch.randn(n, 1), torch.randn(n), reduction="none"))
    assert "LL205" in codes(losslint.check(F.l1_loss, pred, target))


def test_smp_soft_bce_ignore_index_under_none():
    """segmentation_models_pytorch's SoftBCEWithLogitsLoss: -100 targets, reduction='none', masked after."""
    logits = torch.randn(2, 1, 32, 32, generator=gen())
    target = (torch.rand(2, 1, 32, 32, generator=gen(1)) > 0.5).float()
    target[:, :, :4] = -100
    report = losslint.check(F.binary_cross_entropy_with_logits, logits, target, reduction="none")
    assert not codes(report) and finding(report, "LL402").severity == "info"
    assert finding(losslint.check(F.binary_cross_entropy_with_logits, logits, target), "LL402").severity == "error"


def test_check_never_changes_inputs_or_builds_a_graph():
    logits = torch.randn(64, 10, requires_grad=True)
    target = torch.full((64,), -100)
    before = (logits.detach().clone(), target.clone())
    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    assert "LL601" in codes(report) and logits.grad is None
    assert torch.equal(before[0], logits.detach()) and torch.equal(before[1], target)


# ---- every rule-file example that predicts a NaN or inf, run through torch ----------------------------

from examples_runner import all_examples, build_call  # noqa: E402

_NONFINITE = {"LL601", "LL602", "LL603", "LL604", "LL605", "LL606", "LL607"}
_PREDICTING = [
    (loss, example, form)
    for loss, example, form in all_examples()
    if form is not None and set(example.expect) & _NONFINITE
]


@pytest.mark.parametrize(
    "loss,example,form", _PREDICTING, ids=[f"{l.name}-{e.name}-{f}".replace(" ", "_") for l, e, f in _PREDICTING]
)
def test_rule_examples_that_predict_nan_are_nan_in_torch(loss, example, form):
    args, config = build_call(loss, example)
    if form == "module":
        try:
            fn = loss.module(**config)
        except Exception:  # noqa: BLE001
            pytest.skip("torch rejects this configuration when the module is constructed")
        canonical = [a for a in loss.arguments if a not in loss.from_module]
        call, kwargs = [args[c] for c in canonical if c in args], {}
    else:
        fn, call, kwargs = loss.functional, [args[a] for a in loss.arguments if a in args], config
    out = value(fn, *call, **kwargs)
    if "LL602" in example.expect and "uninitialized" in example.name:
        return  # uninitialized memory: any value at all
    if set(example.expect) & _NONFINITE == {"LL603"} and "identically 0" in example.name:
        assert float(out) == 0.0
        return
    assert not bool(torch.isfinite(out).all()), f"{example.name}: torch gave {out}"
