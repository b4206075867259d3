"""timm's losses and Mixup/CutMix targets in real training loops (rules/timm/, losslint/libraries/timm.py).

Small timm models built from their configs with random weights (`pretrained=False`), 32x32 images,
batch 2 or 4, a few steps on the CPU, trained as timm's train.py trains them: Mixup/CutMix makes soft
targets for SoftTargetCrossEntropy (or BinaryCrossEntropy), LabelSmoothingCrossEntropy takes class
indices, validation uses nn.CrossEntropyLoss. Correct setups are quiet and bit-identical under
watch(); each classic mistake is reported as timm's loss, at this file's line, with a fix in timm's
terms.

The classic mistakes, from the trackers:
- Mixup/CutMix's soft targets need SoftTargetCrossEntropy, not LabelSmoothingCrossEntropy or
  CrossEntropyLoss: facebookresearch/deit#91 (CutMix on, mixup off, the wrong loss), kaylode/theseus#26
  (soft one-hot targets to SmoothCE), Nota-NetsPresso/netspresso-trainer#225.
- Mixup's num_classes must be the model's: huggingface/pytorch-image-models#46 (soft target criterion),
  autogluon/autogluon#1730 (timm's mixup target is the one-hot width of num_classes), JacobChalk/TIM#4;
  ClassyVision#516 ('This error is common when the number of classes in the head is wrong').
- huggingface/pytorch-image-models#1040 (LabelSmoothingCrossEntropy's contract).
"""

import inspect

import numpy as np
import pytest
import torch
import torch.nn as nn

import losslint
from conftest import need

timm = need("timm")
from timm.data import Mixup  # noqa: E402
from timm.loss import (  # noqa: E402
    AsymmetricLossMultiLabel,
    BinaryCrossEntropy,
    JsdCrossEntropy,
    LabelSmoothingCrossEntropy,
    SoftTargetCrossEntropy,
)

CLASSES = 10


def here(offset: int = 0) -> str:
    return f"tests/test_lib_timm.py:{inspect.currentframe().f_back.f_lineno + offset}"


def seed(n: int = 0) -> None:
    torch.manual_seed(n)
    np.random.seed(n)  # Mixup draws lambda with NumPy


def model(classes: int = CLASSES) -> nn.Module:
    return timm.create_model("test_resnet", pretrained=False, num_classes=classes)


def batch(n: int = 2, classes: int = CLASSES):
    return torch.randn(n, 3, 32, 32), torch.randint(0, classes, (n,))


def train(loss_fn, *, mixup=None, steps: int = 3, n: int = 2, classes: int = CLASSES, watch: bool = False):
    """timm's train.py in miniature: returns the losses and the final parameters."""
    seed()
    net = model(classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    data = [batch(n, classes) for _ in range(steps)]
    losses = []
    with (losslint.watch(action="raise") if watch else _Nothing()) as w:
        for images, labels in data:
            if mixup is not None:
                images, labels = mixup(images, labels)
            loss = loss_fn(net(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return losses, [p.detach().clone() for p in net.parameters()], w


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def assert_quiet_and_identical(loss_fn, **kw):
    plain_losses, plain_params, _ = train(loss_fn, **kw)
    losses, params, w = train(loss_fn, watch=True, **kw)
    assert [r for r in w.reports if r.errors or r.warnings] == []
    assert w.calls >= len(losses)
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


# ---- correct setups: quiet and bit-identical ----------------------------------------------------


def test_mixup_cutmix_with_soft_target_cross_entropy():
    mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=CLASSES)
    assert_quiet_and_identical(SoftTargetCrossEntropy(), mixup=mixup)


def test_label_smoothing_cross_entropy_on_class_indices():
    assert_quiet_and_identical(LabelSmoothingCrossEntropy(smoothing=0.1))


def test_binary_cross_entropy_on_indices_and_on_mixup_targets():
    assert_quiet_and_identical(BinaryCrossEntropy(smoothing=0.1))
    mixup = Mixup(mixup_alpha=0.8, num_classes=CLASSES)
    assert_quiet_and_identical(BinaryCrossEntropy(target_threshold=0.2), mixup=mixup)


def test_two_classes_batch_of_two_with_mixup_is_quiet():
    # N == C: the shape that lets class indices broadcast silently must not be mistaken for them.
    mixup = Mixup(mixup_alpha=0.8, num_classes=2)
    assert_quiet_and_identical(SoftTargetCrossEntropy(), mixup=mixup, classes=2)


def test_validation_with_cross_entropy_after_mixup_training_is_quiet():
    seed()
    net, train_loss, val_loss = model(), SoftTargetCrossEntropy(), nn.CrossEntropyLoss()
    mixup = Mixup(mixup_alpha=0.8, num_classes=CLASSES)
    with losslint.watch(action="raise") as w:
        images, labels = mixup(*batch())
        train_loss(net(images), labels).backward()
        net.eval()
        with torch.no_grad():
            val_loss(net(batch()[0]), batch()[1])
    assert w.reports == [] and w.calls == 2


def test_attach_on_a_timm_loss():
    seed()
    net, loss_fn = model(), SoftTargetCrossEntropy()
    hook = losslint.attach(loss_fn, action="collect")
    mixup = Mixup(mixup_alpha=0.8, num_classes=CLASSES)
    images, labels = mixup(*batch())
    loss_fn(net(images), labels).backward()
    assert hook.reports == [] or all(r.ok and not r.warnings for r in hook.reports)
    with pytest.raises(RuntimeError):
        loss_fn(net(images), torch.softmax(torch.randn(2, 1000), 1))
    assert [r.codes for r in hook.reports if r.errors] == [["LL721"]]
    hook.remove()


# ---- the classic mistakes -----------------------------------------------------------------------


def one_report(w, loss: str):
    reports = [r for r in w.reports if r.errors or r.warnings]
    assert len(reports) == 1, [str(r) for r in reports]
    (report,) = reports
    assert report.loss == loss
    return report


def test_mixup_with_the_default_num_classes_1000():
    seed()
    net, loss_fn = model(), SoftTargetCrossEntropy()
    mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0)  # num_classes defaults to 1000
    images, labels = mixup(*batch())
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError, match="must match the size"):
            line = here(1)
            loss_fn(net(images), labels)
    report = one_report(w, "timm.SoftTargetCrossEntropy")
    assert report.codes == ["LL721"] and report.location == line
    (finding,) = report.findings
    assert finding.torch_raises and "Mixup(..., num_classes=10)" in finding.fix and "1000" in finding.message


def test_mixup_default_width_stopped_before_timm_raises():
    seed()
    net, loss_fn = model(), BinaryCrossEntropy(target_threshold=0.2)
    images, labels = Mixup(mixup_alpha=0.8)(*batch())
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            loss_fn(net(images), labels)
    report = raised.value.report
    assert report.loss == "timm.BinaryCrossEntropy" and report.codes == ["LL721"]
    assert "Mixup(..., num_classes=10)" in report.findings[0].fix


def test_soft_target_cross_entropy_validating_class_indices():
    seed()
    net, loss_fn = model(), SoftTargetCrossEntropy()
    images, labels = batch(4)
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError):
            line = here(1)
            loss_fn(net(images), labels)
    report = one_report(w, "timm.SoftTargetCrossEntropy")
    assert report.codes == ["LL722"] and report.location == line
    assert report.findings[0].torch_raises and "nn.CrossEntropyLoss()" in report.findings[0].fix


def test_soft_target_cross_entropy_on_indices_when_n_equals_c_is_silent_in_timm():
    seed()
    net, loss_fn = model(classes=2), SoftTargetCrossEntropy()
    images, labels = batch(2, classes=2)
    with losslint.watch(action="collect") as w:
        loss = loss_fn(net(images), labels); line = here()  # noqa: E702  timm computes a number
    assert torch.isfinite(loss)
    report = one_report(w, "timm.SoftTargetCrossEntropy")
    (finding,) = report.findings
    assert report.location == line and finding.code == "LL722" and finding.severity == "error"
    assert not finding.torch_raises and "N == C" in finding.explanation


def test_mixup_targets_to_label_smoothing_cross_entropy():
    seed()
    net, loss_fn = model(), LabelSmoothingCrossEntropy(smoothing=0.1)
    images, labels = Mixup(mixup_alpha=0.8, num_classes=CLASSES)(*batch())
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError, match="gather"):
            line = here(1)
            loss_fn(net(images), labels)
    report = one_report(w, "timm.LabelSmoothingCrossEntropy")
    assert report.codes == ["LL202"] and report.location == line
    assert "SoftTargetCrossEntropy()" in report.findings[0].fix and "Mixup" in report.findings[0].message


def test_padding_label_to_label_smoothing_cross_entropy():
    seed()
    net, loss_fn = model(), LabelSmoothingCrossEntropy()
    images = batch(4)[0]
    labels = torch.tensor([3, -100, 7, 1])
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            loss_fn(net(images), labels)
    (finding,) = raised.value.report.findings
    assert finding.code == "LL401" and "no ignore_index" in finding.fix and "ignore_index=-100" in finding.fix


def test_sigmoid_before_binary_cross_entropy():
    seed()
    net, loss_fn = model(), BinaryCrossEntropy()
    images, labels = batch(8)
    with losslint.watch(action="collect") as w:
        loss_fn(net(images).sigmoid(), labels); line = here()  # noqa: E702
    report = one_report(w, "timm.BinaryCrossEntropy")
    assert report.codes == ["LL305"] and report.location == line
    assert "BinaryCrossEntropy applies the sigmoid itself" in report.findings[0].fix


def test_jsd_cross_entropy_batch_not_in_splits():
    # timm's JsdCrossEntropy overrides __call__, not forward: check() judges it as itself.
    seed()
    net, loss_fn = model(), JsdCrossEntropy(num_splits=3)
    images, labels = batch(4)
    report = losslint.check(loss_fn, net(images), labels)
    assert report.loss == "timm.JsdCrossEntropy" and report.codes == ["LL723"]
    with pytest.raises(AssertionError):
        loss_fn(net(images), labels)
    # The layout timm's AugMixDataset collate gives: 3 splits of 2 images, one label per clean image.
    images, labels = batch(6)[0], batch(2)[1]
    assert losslint.check(loss_fn, net(images), labels).codes == []


def test_jsd_cross_entropy_under_watch():
    seed()
    net, loss_fn = model(), JsdCrossEntropy(num_splits=3)
    images, labels = batch(4)
    with losslint.watch(action="collect") as w:
        with pytest.raises(AssertionError):
            loss_fn(net(images), labels)
    assert [r.loss for r in w.reports] == ["timm.JsdCrossEntropy"] and w.reports[0].codes == ["LL723"]


def test_asymmetric_loss_multi_label():
    seed()
    net, loss_fn = model(), AsymmetricLossMultiLabel()
    images = batch(4)[0]
    multi_hot = (torch.rand(4, CLASSES) > 0.7).float()
    with losslint.watch(action="collect") as w:
        loss_fn(net(images), multi_hot).backward()
    assert w.reports == [] and w.calls == 1
    labels = torch.randint(0, CLASSES, (4,))
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError):
            line = here(1)
            loss_fn(net(images), labels)
    report = one_report(w, "timm.AsymmetricLossMultiLabel")
    assert report.codes == ["LL722"] and report.location == line
    assert report.findings[0].argument == "y" and "AsymmetricLossSingleLabel()" in report.findings[0].fix


def test_jsd_cross_entropy_training_is_quiet_and_bit_identical():
    # AugMix batches as timm's AugMixDataset collate lays them out: 3 splits of 2 images, one label
    # per clean image.
    def run(watch):
        seed()
        net, loss_fn = model(), JsdCrossEntropy(num_splits=3, smoothing=0.1)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        data = [(torch.randn(6, 3, 32, 32), torch.randint(0, CLASSES, (2,))) for _ in range(2)]
        losses = []
        with (losslint.watch(action="raise") if watch else _Nothing()) as w:
            for images, labels in data:
                loss = loss_fn(net(images), labels)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.detach())
        return losses, [p.detach().clone() for p in net.parameters()], w

    plain_losses, plain_params, _ = run(False)
    losses, params, w = run(True)
    assert [str(r) for r in w.reports if r.errors or r.warnings] == []
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))
