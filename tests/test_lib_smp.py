"""segmentation_models_pytorch's losses in real training loops: rules/segmentation_models_pytorch/,
losslint/libraries/smp.py.

A small smp U-Net (resnet18 encoder, random weights, depth 3, 32x32 images, batch 2) is trained a few steps
with smp's losses the way smp's docs train: correct setups (binary, multiclass, multilabel, ignore_index,
Dice + SoftBCE) are quiet and bit-identical inside `watch()`; each classic mistake is reported once, as
the smp loss, at this file's line, with a fix in smp's terms (from_logits=, mode=, ignore_index=, the
model's activation=), not torch's.

The mistakes come from smp's issue tracker (qubvel-org/segmentation_models.pytorch):
- #889 "DiceLoss when multiclass mode throwing an assertion error": one-hot (B, C, H, W) masks in
  mode="multiclass"; #542 the same question; the answer is a (B, H, W) class map.
- #323 "Dice Loss for multiclass not working": 'one_hot is only applicable to index tensor' for a
  non-int64 class map.
- #372 "`smooth_factor` in `SoftCrossEntropyLoss` is by default None which leads to unsupported
  division": the default raises TypeError on every call.
- #1263 "Inconsistent `from_logits` parameter across loss functions": a model built with
  activation="softmax" fed to FocalLoss, which applies its own sigmoid; #900 (Dice vs Focal logits)
  and #234 ("dice_loss -ve": a {0, 255} mask never scaled; "use activation for model or losses,
  instead of both").
"""

import inspect
import re

import pytest
import torch
import torch.nn.functional as F

import losslint
from conftest import need

smp = need("segmentation_models_pytorch")
L = smp.losses

HERE = "tests/test_lib_smp.py"
N, SIZE = 2, 32


def _line(marker: str) -> str:
    """This file's line that carries `# <marker>`: where the training loop calls the loss."""
    source = inspect.getsource(inspect.getmodule(_line)).splitlines()
    (number,) = [i + 1 for i, text in enumerate(source) if text.rstrip().endswith(f"# {marker}")]
    return f"{HERE}:{number}"


def model(classes: int, activation=None):
    return smp.Unet("resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(32, 16, 8), classes=classes, activation=activation)


def images(seed: int = 0) -> torch.Tensor:
    return torch.randn(N, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def class_map(classes: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, classes, (N, SIZE, SIZE), generator=torch.Generator().manual_seed(seed))


def multi_hot(classes: int, seed: int = 3) -> torch.Tensor:
    return (torch.rand(N, classes, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def void(mask: torch.Tensor, value, seed: int = 2) -> torch.Tensor:
    """`mask` with about 10% of its pixels set to `value` (void / padding)."""
    where = torch.rand(mask.shape, generator=torch.Generator().manual_seed(seed)) > 0.9
    return torch.where(where, torch.full_like(mask, value), mask)


def train(losses, classes, mask, steps=3, activation=None, prediction=None):
    """A few SGD steps of a fresh model (seed 0) on one batch; (loss values, parameters).

    losses: one smp loss or several (summed, as smp's examples combine Dice and BCE).
    prediction: what the loss gets from the model's output (MCCLoss takes probabilities).
    """
    torch.manual_seed(0)
    net = model(classes, activation)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = images()
    values = []
    for _ in range(steps):
        out = net(x)
        if prediction is not None:
            out = prediction(out)
        total = sum(loss(out, mask) for loss in (losses if isinstance(losses, (list, tuple)) else [losses]))  # LOSS
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        values.append(total.detach().clone())
    return values, [p.detach().clone() for p in net.parameters()]


def loud(watch):
    return [f for r in watch.reports for f in r.findings if f.severity in ("error", "warning")]


# ---- correct setups: quiet, and bit-identical inside watch() ------------------------------------------

CORRECT = {
    "Dice binary, (N, 1, H, W) float mask": (lambda: L.DiceLoss("binary"), 1, lambda: class_map(2).unsqueeze(1).float(), {}),
    "Dice binary, (N, H, W) mask": (lambda: L.DiceLoss("binary"), 1, lambda: class_map(2), {}),
    "Dice multiclass, class map": (lambda: L.DiceLoss("multiclass"), 3, lambda: class_map(3), {}),
    "Dice multiclass, void 255 ignored": (lambda: L.DiceLoss("multiclass", ignore_index=255), 3, lambda: void(class_map(3), 255), {}),
    "Dice multilabel": (lambda: L.DiceLoss("multilabel"), 3, lambda: F.one_hot(class_map(3), 3).permute(0, 3, 1, 2).float(), {}),
    "Dice multiclass, classes and class_weights": (
        lambda: L.DiceLoss("multiclass", classes=[1, 2], class_weights=[1.0, 2.0, 3.0]), 3, lambda: class_map(3), {}),
    "Dice with from_logits=False on sigmoid activation": (
        lambda: L.DiceLoss("binary", from_logits=False), 1, lambda: class_map(2), {"activation": "sigmoid"}),
    "Jaccard multiclass": (lambda: L.JaccardLoss("multiclass"), 3, lambda: class_map(3), {}),
    "Tversky multilabel": (lambda: L.TverskyLoss("multilabel", alpha=0.3, beta=0.7), 2, lambda: multi_hot(2), {}),
    "Focal binary": (lambda: L.FocalLoss("binary"), 1, lambda: class_map(2).unsqueeze(1).float(), {}),
    "Focal multiclass, void 255 ignored": (lambda: L.FocalLoss("multiclass", ignore_index=255), 3, lambda: void(class_map(3), 255), {}),
    "Lovasz binary": (lambda: L.LovaszLoss("binary"), 1, lambda: class_map(2), {}),
    "Lovasz multiclass, per image": (lambda: L.LovaszLoss("multiclass", per_image=True), 3, lambda: class_map(3), {}),
    "SoftBCE, -100 masked": (lambda: L.SoftBCEWithLogitsLoss(), 1, lambda: void(class_map(2).unsqueeze(1).float(), -100.0), {}),
    "SoftBCE, smoothing and -100": (
        lambda: L.SoftBCEWithLogitsLoss(smooth_factor=0.1), 1, lambda: void(class_map(2).unsqueeze(1).float(), -100.0), {}),
    "SoftCE, smoothing and -100": (lambda: L.SoftCrossEntropyLoss(smooth_factor=0.1), 3, lambda: void(class_map(3), -100), {}),
    "MCC on probabilities": (lambda: L.MCCLoss(), 1, lambda: class_map(2), {"prediction": torch.sigmoid}),
    "Dice + SoftBCE (smp's examples)": (
        lambda: [L.DiceLoss("binary"), L.SoftBCEWithLogitsLoss()], 1, lambda: class_map(2).unsqueeze(1).float(), {}),
}


@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_setups_are_quiet_and_bit_identical(name):
    make, classes, mask, options = CORRECT[name]
    plain_values, plain_params = train(make(), classes, mask(), **options)
    with losslint.watch(action="collect") as w:
        watched_values, watched_params = train(make(), classes, mask(), **options)
    assert loud(w) == [], "\n".join(str(r) for r in w.reports)
    assert w.calls >= 3
    assert all(torch.equal(a, b) for a, b in zip(plain_values, watched_values))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, watched_params))


@pytest.mark.parametrize("thorough", [False, True])
def test_soft_bce_ignore_index_is_not_judged_as_torchs_bce_inside(thorough):
    """SoftBCEWithLogitsLoss masks -100 after binary_cross_entropy_with_logits(reduction="none"): torch's
    BCE rule, judging the inner call, would see -100 targets; the inner call is not judged."""
    mask = void(class_map(2).unsqueeze(1).float(), -100.0)
    with losslint.watch(action="collect", thorough=thorough) as w:
        train(L.SoftBCEWithLogitsLoss(), 1, mask, steps=2)
    assert w.reports == []  # not even an info: torch's BCE rule never saw the -100s
    assert w.calls == 2  # the smp loss, once per step; not the torch functional inside it


# ---- the classic mistakes, in the training loop under watch() -------------------------------------------

MISTAKES = {
    # name: (loss, model classes, mask, train options, code, fix must contain, smp raises)
    "multiclass with a one-hot mask (#889)": (
        lambda: L.DiceLoss("multiclass"), 3, lambda: F.one_hot(class_map(3), 3).permute(0, 3, 1, 2), {}, "LL202", "argmax(dim=1)", True),
    "multiclass with a float class map (#323)": (
        lambda: L.DiceLoss("multiclass"), 3, lambda: class_map(3).float(), {}, "LL102", ".long()", True),
    "Dice on a sigmoid model with from_logits=True": (
        lambda: L.DiceLoss("binary"), 1, lambda: class_map(2), {"activation": "sigmoid"}, "LL305", "from_logits=False", False),
    "Dice on a softmax2d model with from_logits=True": (
        lambda: L.DiceLoss("multiclass"), 3, lambda: class_map(3), {"activation": "softmax2d"}, "LL301", "from_logits=False", False),
    "Jaccard on a sigmoid model": (
        lambda: L.JaccardLoss("multilabel"), 3, lambda: multi_hot(3), {"activation": "sigmoid"}, "LL305", "activation=", False),
    "Tversky on a softmax2d model": (
        lambda: L.TverskyLoss("multiclass"), 3, lambda: class_map(3), {"activation": "softmax2d"}, "LL301", "from_logits=False", False),
    "Focal on a softmax model (#1263)": (
        lambda: L.FocalLoss("multiclass"), 3, lambda: class_map(3), {"activation": "softmax2d"}, "LL305", "from_logits=False", False),
    "Focal multiclass with from_logits=False on a softmax model": (
        lambda: L.FocalLoss("multiclass", from_logits=False), 3, lambda: class_map(3), {"activation": "softmax2d"}, "LL703", "from_logits=True", False),
    "Focal with a one-hot mask": (
        lambda: L.FocalLoss("multiclass"), 3, lambda: F.one_hot(class_map(3), 3).permute(0, 3, 1, 2), {}, "LL202", "argmax(dim=1)", True),
    "Focal with 1-based labels": (
        lambda: L.FocalLoss("multiclass"), 3, lambda: class_map(3) + 1, {}, "LL401", "y_true - 1", False),
    "Focal with void 255 not ignored": (
        lambda: L.FocalLoss("multiclass"), 3, lambda: void(class_map(3), 255), {}, "LL412", "ignore_index=255", False),
    "Lovasz on a sigmoid model (from_logits is ignored)": (
        lambda: L.LovaszLoss("binary", from_logits=False), 1, lambda: class_map(2), {"activation": "sigmoid"}, "LL305", "ignores from_logits", False),
    "a {0, 255} mask (#234)": (
        lambda: L.DiceLoss("binary"), 1, lambda: class_map(2) * 255, {}, "LL402", "y_true / 255", False),
    "from_logits=False on raw logits": (
        lambda: L.DiceLoss("binary", from_logits=False), 1, lambda: class_map(2), {}, "LL308", "from_logits=True", False),
    "binary mode on a 3-channel model": (
        lambda: L.DiceLoss("binary"), 3, lambda: class_map(2), {}, "LL701", 'mode="multiclass"', True),
    "multilabel with a class map": (
        lambda: L.DiceLoss("multilabel"), 3, lambda: class_map(3), {}, "LL701", 'mode="multiclass"', True),
    "classes beyond the channels": (
        lambda: L.DiceLoss("multiclass", classes=[1, 3]), 3, lambda: class_map(3), {}, "LL702", "classes=[...]", True),
    "SoftCrossEntropyLoss with its default smooth_factor (#372)": (
        lambda: L.SoftCrossEntropyLoss(), 3, lambda: class_map(3), {}, "LL004", "smooth_factor=0.0", True),
    "SoftCrossEntropyLoss with a one-hot mask": (
        lambda: L.SoftCrossEntropyLoss(smooth_factor=0.1), 3, lambda: F.one_hot(class_map(3), 3).permute(0, 3, 1, 2), {}, "LL202", "argmax(dim=1)", False),
    "SoftBCE with an (N, H, W) mask": (
        lambda: L.SoftBCEWithLogitsLoss(), 1, lambda: class_map(2).float(), {}, "LL201", "y_true.unsqueeze(1)", True),
    "SoftBCE with a {0, 255} mask": (
        lambda: L.SoftBCEWithLogitsLoss(), 1, lambda: class_map(2).unsqueeze(1).float() * 255, {}, "LL402", "y_true / 255", False),
    "MCC on raw logits": (
        lambda: L.MCCLoss(), 1, lambda: class_map(2), {}, "LL308", "torch.sigmoid(y_pred)", False),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_is_reported_as_the_smp_loss_at_the_users_line(name):
    make, classes, mask, options, code, fix, raises = MISTAKES[name]
    loss = make()
    with losslint.watch(action="collect") as w:
        if raises:
            with pytest.raises(Exception):
                train(loss, classes, mask(), steps=2, **options)
        else:
            train(loss, classes, mask(), steps=2, **options)
    # After a step on MCCLoss's raw logits the model is NaN: the post-mortem (LL608) reports that apart.
    diverged = [r for r in w.reports if r.codes == ["LL608"]]
    (report,) = [r for r in w.reports if r not in diverged]  # once per call, as the smp loss, not as torch's inside
    assert report.loss == "smp." + type(loss).__name__
    assert report.location == _line("LOSS")
    assert code in report.codes, str(report)
    finding = next(f for f in report.findings if f.code == code)
    assert fix in finding.fix, str(report)
    assert "nn.BCELoss" not in finding.fix and "nn.CrossEntropyLoss" not in finding.fix
    assert report.torch_raises == raises, str(report)
    if not raises and not diverged:
        assert report.count == 2  # both steps, one report


def test_a_raising_mistake_stops_with_losslints_message_before_smp_raises():
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            train(L.DiceLoss("multiclass"), 3, F.one_hot(class_map(3), 3).permute(0, 3, 1, 2), steps=1)
    text = str(raised.value)
    assert "LL202" in text and "smp.DiceLoss" in text and "y_true.argmax(dim=1)" in text and _line("LOSS") in text


@pytest.mark.parametrize("thorough", [False, True])
def test_focal_one_hot_is_one_finding_on_smp_focal_not_a_per_class_bce_shape(thorough):
    """FocalLoss calls binary_cross_entropy_with_logits per class with a (N, C, H, W) slice of the mask:
    the report is about the mask's layout, on smp.FocalLoss, not a reshape of a per-class slice."""
    with losslint.watch(action="collect", thorough=thorough) as w:
        with pytest.raises(ValueError):
            train(L.FocalLoss("multiclass"), 3, F.one_hot(class_map(3), 3).permute(0, 3, 1, 2), steps=1)
    (report,) = w.reports
    assert report.loss == "smp.FocalLoss" and report.codes == ["LL202"]
    assert not re.search(r"reshape|view\(", report.findings[0].fix)


# ---- check() and attach() on the same calls -----------------------------------------------------------


def test_binary_mask_without_its_channel_dimension_is_fine():
    """mode="binary" reshapes both to (N, 1, -1): a (N, H, W) mask for (N, 1, H, W) logits is smp's own
    documented layout (constants.BINARY_MODE), so it is quiet; SoftBCEWithLogitsLoss is not so lenient."""
    logits, mask = torch.randn(N, 1, 8, 8), torch.randint(0, 2, (N, 8, 8))
    for loss in (L.DiceLoss("binary"), L.JaccardLoss("binary"), L.FocalLoss("binary"), L.LovaszLoss("binary"), L.TverskyLoss("binary")):
        report = losslint.check(loss, logits, mask)
        assert report.findings == (), str(report)
        loss(logits, mask)  # smp agrees
    report = losslint.check(L.SoftBCEWithLogitsLoss(), logits, mask.float())
    assert report.codes == ["LL201"] and report.torch_raises


def test_check_reads_the_mode_from_the_instance():
    logits, one_hot = torch.randn(N, 3, 8, 8), F.one_hot(torch.randint(0, 3, (N, 8, 8)), 3).permute(0, 3, 1, 2)
    assert losslint.check(L.DiceLoss("multiclass"), logits, one_hot).codes == ["LL202"]
    assert losslint.check(L.DiceLoss("multilabel"), logits, one_hot).findings == ()
    assert losslint.check(L.DiceLoss("multilabel"), logits, one_hot.argmax(1)).codes == ["LL701"]


def test_metadata_depth_judges_layouts_without_reading_values():
    checker = losslint.Checker(depth="metadata")
    logits = torch.randn(N, 3, 8, 8)
    report = checker.check(L.DiceLoss("multiclass"), logits, torch.zeros(N, 3, 8, 8, dtype=torch.long))
    assert report.codes == ["LL202"] and report.torch_raises
    assert checker.check(L.DiceLoss("multiclass"), logits, torch.zeros(N, 8, 8, dtype=torch.long)).findings == ()
    assert checker.check(L.SoftCrossEntropyLoss(), logits, torch.zeros(N, 8, 8, dtype=torch.long)).codes == ["LL004"]


def test_attach_stops_a_raising_call_before_smp_does():
    loss = L.FocalLoss("multilabel")
    hook = losslint.attach(loss)
    try:
        with pytest.raises(losslint.LossLintError) as raised:
            loss(torch.randn(N, 3, 8, 8), torch.randint(0, 3, (N, 8, 8)))
        assert "LL701" in str(raised.value) and 'mode="multiclass"' in str(raised.value)
    finally:
        hook.remove()


def test_checks_never_change_the_inputs():
    logits, mask = torch.randn(N, 3, 8, 8), void(torch.randint(0, 3, (N, 8, 8)), 255)
    before = (logits.clone(), mask.clone())
    for loss in (L.DiceLoss("multiclass"), L.FocalLoss("multiclass"), L.LovaszLoss("multiclass"), L.SoftCrossEntropyLoss(smooth_factor=0.1)):
        losslint.check(loss, logits, mask)
    assert torch.equal(before[0], logits) and torch.equal(before[1], mask)


def test_focal_multilabel_with_ignore_index_is_an_smp_bug_reported_before_it_raises():
    loss = L.FocalLoss("multilabel", ignore_index=255)
    report = losslint.check(loss, torch.randn(N, 3, 8, 8), (torch.rand(N, 3, 8, 8) > 0.5).float())
    assert report.codes == ["LL004"] and report.torch_raises and "DiceLoss(mode=\"multilabel\", ignore_index" in report.findings[0].fix
    with pytest.raises(IndexError):
        loss(torch.randn(N, 3, 8, 8), (torch.rand(N, 3, 8, 8) > 0.5).float())


def test_torch_raises_agrees_with_smp_on_a_grid_of_layouts():
    """`torch_raises` must be exact in both directions (a false True stops a valid run): every smp loss,
    mode and ignore_index against masks of every layout, dtype and value kind, at both depths (at
    metadata depth a claim that smp raises must hold)."""
    C, g = 3, torch.Generator().manual_seed(0)
    idx = torch.randint(0, C, (N, 4, 4), generator=g)
    oh = F.one_hot(idx, C).permute(0, 3, 1, 2)
    b = torch.randint(0, 2, (N, 4, 4), generator=g)
    masks = [idx, idx.unsqueeze(1), oh, oh.float(), b, b.unsqueeze(1).float(), idx.byte(), idx.float(), b.bool(),
             void(idx, 255), void(idx, -100), idx + 1, b * 255, (torch.rand(N, C, 4, 4, generator=g) > 0.5).float(), idx[:1]]
    losses = [f(mode, ignore_index=i) for mode in ("binary", "multiclass", "multilabel") for i in (None, 255)
              for f in (L.DiceLoss, L.FocalLoss, L.LovaszLoss)]
    losses += [L.SoftBCEWithLogitsLoss(), L.SoftCrossEntropyLoss(smooth_factor=0.1), L.MCCLoss()]
    metadata = losslint.Checker(depth="metadata")
    for loss in losses:
        for channels in (1, C):
            pred = torch.randn(N, channels, 4, 4, generator=g)
            for mask in masks:
                try:
                    loss(pred, mask)
                    raised = False
                except Exception:  # noqa: BLE001
                    raised = True
                report = losslint.check(loss, pred, mask)
                where = f"{type(loss).__name__}({getattr(loss, 'mode', '')}) {list(pred.shape)} {mask.dtype} {list(mask.shape)}"
                assert report.torch_raises == raised, f"{where}: smp raised={raised}\n{report}"
                assert not (metadata.check(loss, pred, mask).torch_raises and not raised), where
