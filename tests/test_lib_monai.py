"""MONAI's segmentation losses under losslint: real training loops, as MONAI's tutorials run them.

A MONAI UNet (2-D, 1 input channel, 3 output channels, channels=(4, 8), random weights) trains a few
steps on 32x32 images, batch 2, on the CPU. Correct setups are quiet and bit-identical with and without
`watch()`; each classic mistake is reported as the MONAI loss ("monai.DiceLoss", ...), at this file's
line that calls the loss, with a fix in MONAI's terms (to_onehot_y=..., softmax=..., mode='nearest').

The mistakes come from MONAI's own code (monai/losses/dice.py, focal_loss.py, networks/utils.py:one_hot)
and its users' threads:
- labels >= C, 'index 2 is out of bounds for dimension 1 with size 2': Project-MONAI/MONAI#5881,
  Project-MONAI/MONAI#7493, Project-MONAI/tutorials#578
- DiceCELoss on sigmoid outputs / one channel: Project-MONAI/MONAI#6923,
  Junelin2333/LanGuideMedSeg-MICCAI2023#13
- the focal term of DiceFocalLoss takes logits whatever softmax= says: Project-MONAI/MONAI#2610,
  Project-MONAI/MONAI#8242
- DiceCELoss's weight counts the background, DiceLoss's does not with include_background=False:
  Project-MONAI/MONAI#7729
- a target without its channel dimension: Project-MONAI/MONAI#7587
- Dice on raw logits (no activation): MIC-DKFZ/nnUNet#108, ScrollPrize/villa#1644
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

import losslint
from conftest import need

monai = need("monai")

from monai.losses import (  # noqa: E402
    DiceCELoss,
    DiceFocalLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceFocalLoss,
    GeneralizedDiceLoss,
    GeneralizedWassersteinDiceLoss,
    HausdorffDTLoss,
    MaskedDiceLoss,
    TverskyLoss,
)
from monai.networks.nets import UNet  # noqa: E402

# The line of train() that calls the loss: the location every report must name.
LOSS_LINE = next(i for i, text in enumerate(open(__file__), 1) if text.rstrip().endswith("# <- the loss call"))


@pytest.fixture(autouse=True)
def _monai_warnings():
    # MONAI's own "single channel prediction, ... ignored" warnings are part of what is exercised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def unet(out_channels: int = 3) -> nn.Module:
    return UNet(spatial_dims=2, in_channels=1, out_channels=out_channels, channels=(4, 8), strides=(2,))


def label_maps(steps: int = 3, classes: int = 3, batch: int = 2, size: int = 32, seed: int = 0, dtype=torch.int64):
    """(image, label map (B, 1, H, W)) batches with blobs of classes 0..classes-1."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        image = torch.randn(batch, 1, size, size, generator=g)
        coarse = torch.randint(0, classes, (batch, 1, size // 8, size // 8), generator=g)
        label = coarse.repeat_interleave(8, 2).repeat_interleave(8, 3)
        out.append((image, label.to(dtype)))
    return out


def one_hot(label: torch.Tensor, classes: int = 3) -> torch.Tensor:
    return monai.networks.one_hot(label, classes)


def train(loss_fn, data, *, out_channels: int = 3, head: nn.Module | None = None, extra=()):
    """A few optimizer steps; the losses and the parameters after them."""
    torch.manual_seed(0)
    model = unet(out_channels)
    if head is not None:
        model = nn.Sequential(model, head)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for image, label in data:
        opt.zero_grad()
        loss = loss_fn(model(image), label, *extra)  # <- the loss call
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses, [p.detach().clone() for p in model.parameters()]


def watched(loss_fn, data, action="collect", **kw):
    with losslint.watch(action=action) as w:
        result = train(loss_fn, data, **kw)
    return w, result


def loud(report) -> list[str]:
    return sorted({f.code for f in report.findings if f.severity in ("error", "warning")})


def the_report(w, loss: str):
    """The one report of `loss`, at the loss call's line."""
    reports = [r for r in w.reports if loud(r)]
    assert len(reports) == 1, [str(r) for r in w.reports]
    (report,) = reports
    assert report.loss == loss, str(report)
    assert report.location is not None and report.location.endswith(f"test_lib_monai.py:{LOSS_LINE}"), report.location
    return report


def finding(report, code: str):
    found = [f for f in report.findings if f.code == code]
    assert found, str(report)
    return found[0]


# ---- correct setups: quiet, and bit-identical with and without watch() ------------------------------

BINARY = label_maps(classes=2)
BINARY_MASKS = [(x, y.float()) for x, y in BINARY]
MAPS = label_maps()
FLOAT_MAPS = label_maps(dtype=torch.float32)  # LoadImaged gives float32 label maps
ONE_HOT = [(x, one_hot(y)) for x, y in MAPS]
VOID = [(x, torch.where(torch.rand(y.shape, generator=torch.Generator().manual_seed(1)) > 0.9, 255, y)) for x, y in MAPS]
TINY = label_maps(batch=1)
DISTANCES = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]])

CORRECT = {
    "DiceLoss, to_onehot_y and softmax": (lambda: DiceLoss(to_onehot_y=True, softmax=True), MAPS, {}),
    "DiceCELoss on float label maps": (lambda: DiceCELoss(to_onehot_y=True, softmax=True), FLOAT_MAPS, {}),
    "DiceFocalLoss": (lambda: DiceFocalLoss(to_onehot_y=True, softmax=True), MAPS, {}),
    "FocalLoss, softmax focal": (lambda: FocalLoss(to_onehot_y=True, use_softmax=True), MAPS, {}),
    "GeneralizedDiceLoss": (lambda: GeneralizedDiceLoss(to_onehot_y=True, softmax=True), MAPS, {}),
    "GeneralizedDiceFocalLoss": (lambda: GeneralizedDiceFocalLoss(to_onehot_y=True, softmax=True), MAPS, {}),
    "TverskyLoss": (lambda: TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7), MAPS, {}),
    "DiceLoss, sigmoid, one-hot multi-label target": (lambda: DiceLoss(sigmoid=True), ONE_HOT, {}),
    "DiceCELoss, one channel, sigmoid": (lambda: DiceCELoss(sigmoid=True), BINARY_MASKS, {"out_channels": 1}),
    "DiceLoss, ignore_index=255 void voxels": (lambda: DiceLoss(to_onehot_y=True, softmax=True, ignore_index=255), VOID, {}),
    "DiceLoss, no background, batch, weights": (
        lambda: DiceLoss(to_onehot_y=True, softmax=True, include_background=False, batch=True, weight=[1.0, 2.0]), MAPS, {}
    ),
    "DiceCELoss, weight of C with include_background=False": (
        lambda: DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, weight=torch.tensor([0.5, 1.0, 2.0])), MAPS, {}
    ),
    "DiceLoss on a model ending in Softmax, no activation": (lambda: DiceLoss(to_onehot_y=True), MAPS, {"head": nn.Softmax(dim=1)}),
    "DiceLoss, soft labels": (
        lambda: DiceLoss(softmax=True, soft_label=True), [(x, one_hot(y) * 0.9 + 0.05) for x, y in MAPS], {}
    ),
    "MaskedDiceLoss with a mask": (
        lambda: MaskedDiceLoss(to_onehot_y=True, softmax=True), MAPS, {"extra": (torch.ones(2, 1, 32, 32).tril(),)}
    ),
    "DiceCELoss, a batch of one": (lambda: DiceCELoss(to_onehot_y=True, softmax=True), TINY, {}),
    "GeneralizedWassersteinDiceLoss, (B, H, W) labels": (
        lambda: GeneralizedWassersteinDiceLoss(dist_matrix=DISTANCES), [(x, y[:, 0]) for x, y in MAPS], {}
    ),
    "HausdorffDTLoss": (lambda: HausdorffDTLoss(to_onehot_y=True, softmax=True), MAPS, {}),
}


@pytest.mark.parametrize("name", list(CORRECT))
def test_a_correct_setup_is_quiet_and_bit_identical(name):
    make, data, kw = CORRECT[name]
    plain_losses, plain_params = train(make(), data, **kw)
    w, (losses, params) = watched(make(), data, action="raise", **kw)
    assert [r for r in w.reports if loud(r)] == [], [str(r) for r in w.reports]
    assert w.calls == len(data)  # judged once per call: the torch losses inside are not judged again
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


def test_a_monai_pipeline_is_quiet_and_bit_identical():
    """LoadImaged-like float arrays through MONAI transforms and DataLoader: MetaTensor batches."""
    import numpy as np
    from monai.data import DataLoader, Dataset
    from monai.transforms import Compose, EnsureChannelFirstd, EnsureTyped, Resized

    data = _pipeline(np, DataLoader, Dataset, Compose, EnsureChannelFirstd, EnsureTyped, Resized, label_mode="nearest")
    assert type(data[0][1]).__name__ == "MetaTensor"
    plain_losses, plain_params = train(DiceCELoss(to_onehot_y=True, softmax=True), data)
    w, (losses, params) = watched(DiceCELoss(to_onehot_y=True, softmax=True), data, action="raise")
    assert w.reports == [] and w.calls == len(data)
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


def _pipeline(np, DataLoader, Dataset, Compose, EnsureChannelFirstd, EnsureTyped, Resized, *, label_mode):
    rng = np.random.default_rng(0)
    items = []
    for _ in range(4):
        coarse = rng.integers(0, 3, (6, 6))
        items.append({"image": rng.normal(size=(48, 48)).astype(np.float32), "label": np.kron(coarse, np.ones((8, 8))).astype(np.float32)})
    transforms = Compose([
        EnsureChannelFirstd(keys=["image", "label"], channel_dim="no_channel"),
        Resized(keys=["image", "label"], spatial_size=(32, 32), mode=("bilinear", label_mode)),
        EnsureTyped(keys=["image", "label"]),
    ])
    return [(b["image"], b["label"]) for b in DataLoader(Dataset(items, transforms), batch_size=2)]


# ---- the classic mistakes ------------------------------------------------------------------------------


def test_softmax_true_on_a_model_that_ends_in_softmax():
    w, _ = watched(DiceLoss(to_onehot_y=True, softmax=True), MAPS, head=nn.Softmax(dim=1))
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL301"]
    f = finding(report, "LL301")
    assert "softmax=False" in f.fix and "Softmax" in f.fix and "nn.CrossEntropyLoss" not in f.fix
    # nn.Softmax's F.softmax was seen: certain, not a guess (the one kind check's provenance reading)
    assert "produced by `nn.Softmax`" in f.message and "watch() saw the op" in f.explanation
    assert "CrossEntropyLoss" not in f.explanation  # the catalog's torch wording is not this loss's


def test_sigmoid_true_on_sigmoid_outputs():
    w, _ = watched(DiceLoss(sigmoid=True), BINARY_MASKS, out_channels=1, head=nn.Sigmoid())
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL305"]
    assert "sigmoid=False" in finding(report, "LL305").fix


def test_dice_ce_loss_on_softmax_outputs_double_softmaxes_its_cross_entropy():
    # softmax=False does not save it: the cross-entropy term takes logits whatever the Dice options.
    w, _ = watched(DiceCELoss(to_onehot_y=True), MAPS, head=nn.Softmax(dim=1))
    report = the_report(w, "monai.DiceCELoss")
    assert loud(report) == ["LL301"]
    fix = finding(report, "LL301").fix
    assert "drop the model's final Softmax" in fix and "softmax=True" in fix


def test_dice_ce_loss_on_a_sigmoid_output_for_one_channel():
    w, _ = watched(DiceCELoss(sigmoid=True), BINARY_MASKS, out_channels=1, head=nn.Sigmoid())
    report = the_report(w, "monai.DiceCELoss")
    assert loud(report) == ["LL305"]
    assert "BCEWithLogitsLoss" in finding(report, "LL305").fix  # MONAI's own inner loss, named as such


def test_focal_loss_on_sigmoid_outputs():
    w, _ = watched(FocalLoss(to_onehot_y=True), MAPS, head=nn.Sigmoid())
    report = the_report(w, "monai.FocalLoss")
    assert loud(report) == ["LL305"]
    assert "FocalLoss applies the sigmoid itself" in finding(report, "LL305").fix


def test_generalized_wasserstein_dice_loss_on_softmax_outputs():
    w, _ = watched(GeneralizedWassersteinDiceLoss(dist_matrix=DISTANCES), MAPS, head=nn.Softmax(dim=1))
    report = the_report(w, "monai.GeneralizedWassersteinDiceLoss")
    assert loud(report) == ["LL301"]
    assert "applies the softmax itself" in finding(report, "LL301").fix


def test_raw_logits_with_no_activation_option():
    w, _ = watched(DiceLoss(to_onehot_y=True), MAPS)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL711"]
    assert "softmax=True" in finding(report, "LL711").fix


def test_to_onehot_y_on_labels_that_are_already_one_hot_stops_before_monai_raises():
    data = ONE_HOT
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            train(DiceCELoss(to_onehot_y=True, softmax=True), data)
    report = raised.value.report
    assert report.loss == "monai.DiceCELoss" and loud(report) == ["LL202"] and report.torch_raises
    assert report.location.endswith(f"test_lib_monai.py:{LOSS_LINE}")
    assert "to_onehot_y=False" in finding(report, "LL202").fix


def test_a_label_map_without_to_onehot_y():
    with losslint.watch(action="collect") as w:
        with pytest.raises(AssertionError):  # MONAI: 'ground truth has different shape'
            train(DiceLoss(softmax=True), MAPS)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL712"] and report.torch_raises
    assert "to_onehot_y=True" in finding(report, "LL712").fix


def test_labels_resampled_bilinearly():
    import numpy as np
    from monai.data import DataLoader, Dataset
    from monai.transforms import Compose, EnsureChannelFirstd, EnsureTyped, Resized

    data = _pipeline(np, DataLoader, Dataset, Compose, EnsureChannelFirstd, EnsureTyped, Resized, label_mode="bilinear")
    w, _ = watched(DiceLoss(to_onehot_y=True, softmax=True), data)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL713"]
    assert "mode='nearest'" in finding(report, "LL713").fix


def test_labels_beyond_the_model_s_channels():
    data = label_maps(classes=4)  # labels 0..3, a 3-channel model
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            train(DiceFocalLoss(to_onehot_y=True, softmax=True), data)
    report = raised.value.report
    assert report.loss == "monai.DiceFocalLoss" and loud(report) == ["LL401"] and report.torch_raises
    assert "out_channels=4" in finding(report, "LL401").fix


def test_one_based_labels():
    data = [(x, y + 1) for x, y in MAPS]  # labels 1..3 for classes 0..2
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError):  # one_hot: 'index 3 is out of bounds for dimension 1 with size 3'
            train(DiceLoss(to_onehot_y=True, softmax=True), data)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL401"] and "target - 1" in finding(report, "LL401").fix


def test_multi_label_masks_of_0_and_255():
    data = [(x, one_hot(y) * 255) for x, y in MAPS]  # per-class PNG masks, never scaled
    w, _ = watched(DiceLoss(sigmoid=True), data)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL402"] and "target / 255" in finding(report, "LL402").fix


def test_a_void_label_255_without_ignore_index():
    with losslint.watch(action="collect") as w:
        with pytest.raises(RuntimeError):  # one_hot: 'index 255 is out of bounds for dimension 1 with size 3'
            train(TverskyLoss(to_onehot_y=True, softmax=True), VOID)
    report = the_report(w, "monai.TverskyLoss")
    assert loud(report) == ["LL412"]
    assert "ignore_index=255" in finding(report, "LL412").fix


def test_a_label_without_its_channel_dimension():
    data = [(x, y[:, 0]) for x, y in MAPS]  # (B, H, W), as torch's CrossEntropyLoss wants it
    with losslint.watch(action="collect") as w:
        with pytest.raises(ValueError):  # DiceCELoss: 'the number of dimensions ... should be the same'
            train(DiceCELoss(to_onehot_y=True, softmax=True), data)
    report = the_report(w, "monai.DiceCELoss")
    assert loud(report) == ["LL201"] and report.torch_raises
    fix = finding(report, "LL201").fix
    assert "unsqueeze(1)" in fix and "EnsureChannelFirstd" in fix


def test_softmax_true_with_a_single_channel():
    w, _ = watched(DiceLoss(softmax=True), BINARY_MASKS, out_channels=1)
    report = the_report(w, "monai.DiceLoss")
    assert loud(report) == ["LL714"]
    assert "sigmoid=True" in finding(report, "LL714").fix


def test_include_background_false_with_a_single_channel_is_only_an_info():
    w, _ = watched(DiceLoss(sigmoid=True, include_background=False), BINARY_MASKS, out_channels=1)
    assert [r for r in w.reports if loud(r)] == []
    (report,) = w.reports
    assert report.loss == "monai.DiceLoss" and [f.code for f in report.findings] == ["LL714"]


def test_dice_ce_loss_weight_without_the_background_entry():
    loss = DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, weight=torch.tensor([1.0, 2.0]))
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            train(loss, MAPS)
    report = raised.value.report
    assert report.loss == "monai.DiceCELoss" and loud(report) == ["LL206"]
    assert "3 values" in finding(report, "LL206").fix


def test_attach_judges_a_monai_loss_too():
    loss = DiceLoss(to_onehot_y=True)
    handle = losslint.attach(loss, action="collect")
    try:
        train(loss, MAPS[:1])
    finally:
        handle.remove()
    (report,) = handle.reports
    assert report.loss == "monai.DiceLoss" and loud(report) == ["LL711"]


def test_check_names_the_loss_and_leaves_metatensors_alone():
    from monai.data import MetaTensor

    label = MetaTensor(torch.randint(0, 3, (2, 1, 8, 8)).float())
    before = label.clone()
    report = losslint.check(DiceLoss(to_onehot_y=True, softmax=True), torch.randn(2, 3, 8, 8), label)
    assert report.ok and report.findings == () and torch.equal(label, before)


def _deep_supervision_run(loss_fn, data, watch: bool):
    from monai.networks.nets import DynUNet

    torch.manual_seed(0)
    net = DynUNet(
        spatial_dims=2, in_channels=1, out_channels=3, kernel_size=[3, 3, 3], strides=[1, 2, 2],
        upsample_kernel_size=[2, 2], deep_supervision=True, deep_supr_num=1,
    )
    opt = torch.optim.SGD(net.parameters(), lr=1e-2)
    losses = []
    with losslint.watch(action="collect") if watch else _nothing() as w:
        for image, label in data:
            opt.zero_grad()
            loss = loss_fn(list(torch.unbind(net(image), 1)), label)  # <- the deep-supervision call
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return w, losses, [p.detach().clone() for p in net.parameters()]


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


DS_LINE = next(i for i, text in enumerate(open(__file__), 1) if text.rstrip().endswith("# <- the deep-supervision call"))


def test_deep_supervision_judges_the_inner_loss_at_the_users_line():
    """DeepSupervisionLoss (not a loss losslint knows) calls DiceCELoss once per scale: each call is
    judged as monai.DiceCELoss, at the user's line, with MONAI's line as context."""
    from monai.losses import DeepSupervisionLoss

    make = lambda: DeepSupervisionLoss(DiceCELoss(to_onehot_y=True, softmax=True))  # noqa: E731
    _, plain, plain_params = _deep_supervision_run(make(), MAPS, watch=False)
    w, losses, params = _deep_supervision_run(make(), MAPS, watch=True)
    assert w.reports == [] and w.calls == 2 * len(MAPS)
    assert all(torch.equal(a, b) for a, b in zip(plain, losses)) and all(torch.equal(a, b) for a, b in zip(plain_params, params))

    w, _, _ = _deep_supervision_run(DeepSupervisionLoss(DiceCELoss(to_onehot_y=True)), MAPS, watch=True)
    (report,) = w.reports
    assert report.loss == "monai.DiceCELoss" and loud(report) == ["LL711"]
    assert report.location.endswith(f"test_lib_monai.py:{DS_LINE}") and "/monai/" in (report.context or "")  # MONAI's own file layout is not pinned


# ---- the prediction's kind, declared by each loss's switches in its rule file ---------------------------

_X = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2
_X1 = _X[:, :1]
_LABELS = torch.randint(0, 3, (2, 1, 8, 8), generator=torch.Generator().manual_seed(1))
_MASK = (_LABELS > 0).float()


@pytest.mark.parametrize(
    "make, prediction, target, codes",
    [
        # The Dice term's own activation: softmax=True / sigmoid=True take logits, none takes probabilities.
        (lambda: DiceLoss(to_onehot_y=True, softmax=True), _X, _LABELS, []),
        (lambda: DiceLoss(to_onehot_y=True, softmax=True), _X.softmax(1), _LABELS, ["LL301"]),
        (lambda: DiceLoss(to_onehot_y=True), _X.softmax(1), _LABELS, []),
        (lambda: DiceLoss(to_onehot_y=True), _X, _LABELS, ["LL711"]),
        (lambda: DiceLoss(to_onehot_y=True), _X.relu(), _LABELS, ["LL711"]),  # a ReLU head: no probabilities either
        (lambda: DiceLoss(sigmoid=True), _X1.sigmoid(), _MASK, ["LL305"]),
        (lambda: DiceLoss(), _X1.sigmoid(), _MASK, []),
        # An activation of the user's choice: nothing to compare.
        (lambda: DiceLoss(to_onehot_y=True, other_act=torch.tanh), _X, _LABELS, []),
        (lambda: DiceLoss(to_onehot_y=True, other_act=torch.tanh), _X.softmax(1), _LABELS, []),
        # softmax=True on one channel is skipped by MONAI (LL714 says so): sigmoid outputs are then right.
        (lambda: DiceLoss(softmax=True), _X1.sigmoid(), _MASK, ["LL714"]),
        # A cross-entropy or focal term takes logits whatever the Dice options; with no Dice activation
        # no input is right.
        (lambda: DiceCELoss(to_onehot_y=True, softmax=True), _X, _LABELS, []),
        (lambda: DiceCELoss(to_onehot_y=True), _X.softmax(1), _LABELS, ["LL301"]),
        (lambda: DiceCELoss(to_onehot_y=True), _X, _LABELS, ["LL711"]),
        (lambda: DiceCELoss(softmax=True), _X1.sigmoid(), _MASK, ["LL305", "LL714"]),  # BCEWithLogitsLoss for one channel
        (lambda: DiceCELoss(sigmoid=True), _X1, _MASK, []),
        (lambda: DiceFocalLoss(to_onehot_y=True, softmax=True), _X.softmax(1), _LABELS, ["LL305"]),  # a sigmoid focal term
        (lambda: DiceFocalLoss(to_onehot_y=True, other_act=torch.tanh), _X, _LABELS, []),
        (lambda: FocalLoss(to_onehot_y=True, use_softmax=True), _X.softmax(1), _LABELS, ["LL301"]),
        (lambda: FocalLoss(to_onehot_y=True), _X, _LABELS, []),
    ],
)
def test_the_prediction_is_judged_against_the_kind_its_switches_declare(make, prediction, target, codes):
    assert loud(losslint.check(make(), prediction, target)) == codes


def test_the_expected_line_names_the_switches_that_decided_the_kind():
    report = losslint.check(DiceLoss(to_onehot_y=True), _X, _LABELS)
    assert finding(report, "LL711").expected == "probabilities in [0, 1], for sigmoid=False, softmax=False, other_act=None"
    report = losslint.check(DiceCELoss(to_onehot_y=True, softmax=True), _X.softmax(1), _LABELS)
    assert finding(report, "LL301").expected.endswith(", for sigmoid=False, softmax=True, C=3")
