"""torchvision.ops' losses and the detection models' label convention in real training loops
(rules/torchvision/, losslint/libraries/torchvision.py).

Tiny models with random weights (`weights=None, weights_backbone=None`), 64x64 images, a few steps on
the CPU. Correct setups are quiet and bit-identical under watch(); each classic mistake is reported as
torchvision's loss, at this file's line, with a fix in torchvision's terms.

The classic mistakes, from the trackers:
- IoU losses on (cx, cy, w, h) boxes: stevebottos/owl-vit-object-detection#14 ('generalized_box_iou()
  expects the bounding boxes in xyxy format, but cxcywh boxes are passed in'), PeizeSun/SparseR-CNN#83,
  facebookresearch/detr#75 and #619 (which format the boxes are in when the loss is computed).
- Faster R-CNN's num_classes counts the background: johschmidt42/PyTorch-Object-Detection-Faster-RCNN-
  Tutorial#7 ('IndexError: Target 1 is out of bounds', fixed by CLASSES = 2 for one object class);
  pytorch/vision#1952 (an object labelled 0 is background: 'labels should start at 1'); the same in
  jwyang/faster-rcnn.pytorch#115 (device-side assert) and amdegroot/ssd.pytorch#17.
- sigmoid_focal_loss with class-index or integer targets: kaylode/theseus#26 (one-hot before
  sigmoid_focal_loss).
"""

import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from conftest import need

torchvision = need("torchvision")
from torchvision import ops  # noqa: E402
from torchvision.ops import box_convert  # noqa: E402
from torchvision.ops import generalized_box_iou_loss  # noqa: E402  (a user's import by name)
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn, retinanet_resnet50_fpn  # noqa: E402


def here(offset: int = 0) -> str:
    return f"tests/test_lib_torchvision.py:{inspect.currentframe().f_back.f_lineno + offset}"


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def one_report(w, loss: str):
    reports = [r for r in w.reports if r.errors or r.warnings]
    assert len(reports) == 1, [str(r) for r in reports]
    (report,) = reports
    assert report.loss == loss
    return report


# ---- a box regressor and classifier trained with torchvision.ops' losses ------------------------


class BoxHead(nn.Module):
    """Features -> per-box class logits and a box in (cx, cy, w, h), normalized, as DETR predicts it."""

    def __init__(self, classes: int = 3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.cls = nn.Linear(8, classes)
        self.box = nn.Linear(8, 4)

    def forward(self, x):
        h = self.body(x)
        return self.cls(h), self.box(h).sigmoid()


def boxes_xyxy(n: int) -> torch.Tensor:
    lo = torch.rand(n, 2) * 0.4
    return torch.cat([lo, lo + 0.1 + torch.rand(n, 2) * 0.4], dim=1)


def train_boxes(*, convert: bool = True, watch: bool = False, steps: int = 3, n: int = 4):
    torch.manual_seed(0)
    net = BoxHead()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    data = [(torch.randn(n, 3, 32, 32), torch.randint(0, 3, (n,)), boxes_xyxy(n)) for _ in range(steps)]
    losses = []
    with (losslint.watch(action="collect") if watch else _Nothing()) as w:
        for images, labels, target_boxes in data:
            logits, pred = net(images)
            pred_boxes = box_convert(pred, in_fmt="cxcywh", out_fmt="xyxy") if convert else pred
            cls_loss = ops.sigmoid_focal_loss(logits, F.one_hot(labels, 3).float(), reduction="mean")
            box_loss = ops.generalized_box_iou_loss(pred_boxes, target_boxes, reduction="mean")
            loss = cls_loss + box_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return losses, [p.detach().clone() for p in net.parameters()], w


def test_focal_and_giou_losses_quiet_and_bit_identical():
    plain_losses, plain_params, _ = train_boxes()
    losses, params, w = train_boxes(watch=True)
    assert [str(r) for r in w.reports if r.errors or r.warnings] == []
    assert w.calls == 6
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


def test_giou_on_cxcywh_predictions_without_box_convert():
    torch.manual_seed(0)
    net = BoxHead()
    images, target = torch.randn(8, 3, 32, 32), boxes_xyxy(8)
    _, pred = net(images)
    pred = torch.cat([pred[:, :2] * 0.5 + 0.4, pred[:, 2:] * 0.2], dim=1)  # centres near the middle, small boxes
    with losslint.watch(action="collect") as w:
        ops.generalized_box_iou_loss(pred, target, reduction="mean"); line = here()  # noqa: E702
    report = one_report(w, "torchvision.generalized_box_iou_loss")
    assert report.codes == ["LL731"] and report.location == line
    (finding,) = report.findings
    assert finding.argument == "boxes1" and not finding.torch_raises
    assert 'box_convert(boxes1, in_fmt="cxcywh", out_fmt="xyxy")' in finding.fix


def test_giou_normalized_predictions_against_pixel_targets():
    torch.manual_seed(0)
    net = BoxHead()
    _, pred = net(torch.randn(8, 3, 32, 32))
    pred = box_convert(pred * 0.5, in_fmt="cxcywh", out_fmt="xyxy").clamp(min=0)
    target = boxes_xyxy(8) * 64  # pixels of a 64x64 image
    with losslint.watch(action="collect") as w:
        ops.generalized_box_iou_loss(pred, target); line = here()  # noqa: E702
    report = one_report(w, "torchvision.generalized_box_iou_loss")
    assert report.codes == ["LL732"] and report.location == line and report.findings[0].argument == "boxes1"


def test_sigmoid_focal_loss_with_integer_one_hot_targets():
    torch.manual_seed(0)
    logits, labels = BoxHead()(torch.randn(4, 3, 32, 32))[0], torch.randint(0, 3, (4,))
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            ops.sigmoid_focal_loss(logits, F.one_hot(labels, 3))
    report = raised.value.report
    assert report.loss == "torchvision.sigmoid_focal_loss" and report.codes == ["LL103"]
    assert report.findings[0].argument == "targets" and report.findings[0].fix.startswith("targets.float()")


def test_sigmoid_focal_loss_with_class_indices():
    torch.manual_seed(0)
    logits, labels = BoxHead()(torch.randn(4, 3, 32, 32))[0], torch.randint(0, 3, (4,))
    with losslint.watch(action="collect") as w:
        with pytest.raises(ValueError):
            line = here(1)
            ops.sigmoid_focal_loss(logits, labels.float())
    report = one_report(w, "torchvision.sigmoid_focal_loss")
    assert "LL201" in report.codes and report.location == line
    assert "F.one_hot(targets.long(), num_classes=3).float()" in report.findings[0].fix


def test_a_functional_imported_by_name():
    cxcywh = torch.cat([torch.rand(8, 2) * 20 + 20, torch.rand(8, 2) * 10 + 2], dim=1)
    with losslint.watch(action="collect") as w:
        generalized_box_iou_loss(cxcywh, cxcywh)
    assert [r.loss for r in w.reports] == ["torchvision.generalized_box_iou_loss"]


# ---- Faster R-CNN: num_classes counts the background ----------------------------------------------


def detector(num_classes: int = 3):
    torch.manual_seed(0)
    return fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=64, max_size=64
    )


def detection_batch(labels_per_image):
    images = [torch.rand(3, 64, 64) for _ in labels_per_image]
    targets = []
    for labels in labels_per_image:
        lo = torch.rand(len(labels), 2) * 30
        boxes = torch.cat([lo, lo + 8 + torch.rand(len(labels), 2) * 20], dim=1)
        targets.append({"boxes": boxes, "labels": torch.tensor(labels, dtype=torch.int64)})
    return images, targets


def train_detector(*, watch: bool, steps: int = 2):
    net = detector()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    torch.manual_seed(1)
    data = [detection_batch([[1, 2], [2]]) for _ in range(steps)]
    torch.manual_seed(2)  # the proposal sampler draws from torch's generator
    losses = []
    with (losslint.watch(action="raise") if watch else _Nothing()) as w:
        for images, targets in data:
            loss = sum(net(images, targets).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    return losses, [p.detach().clone() for p in net.parameters()], w


def test_faster_rcnn_training_quiet_and_bit_identical():
    plain_losses, plain_params, _ = train_detector(watch=False)
    losses, params, w = train_detector(watch=True)
    assert [str(r) for r in w.reports if r.errors or r.warnings] == []
    assert w.calls >= 2  # fastrcnn_loss, and the RPN's torch losses
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


def test_faster_rcnn_num_classes_without_the_background():
    # Two object classes labelled 1 and 2, but num_classes=2: the background was not counted.
    net = detector(num_classes=2)
    net.train()
    torch.manual_seed(1)
    images, targets = detection_batch([[1, 2], [2, 2]])
    torch.manual_seed(2)
    with losslint.watch(action="collect") as w:
        with pytest.raises(IndexError, match="out of bounds"):
            line = here(1)
            net(images, targets)
    report = one_report(w, "torchvision.fastrcnn_loss")
    assert report.codes == ["LL401"] and report.location == line
    (finding,) = report.findings
    assert finding.torch_raises and "num_classes = the number of object classes + 1" in finding.fix
    assert "labels - 1" not in finding.fix


def test_faster_rcnn_label_out_of_range_stopped_before_torch():
    net = detector(num_classes=3)
    net.train()
    torch.manual_seed(1)
    images, targets = detection_batch([[1, 3], [3]])
    torch.manual_seed(2)
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            net(images, targets)
    report = raised.value.report
    assert report.loss == "torchvision.fastrcnn_loss" and report.codes == ["LL401"]
    assert "num_classes=3" in report.findings[0].message


def test_faster_rcnn_objects_labelled_zero_are_background():
    # pytorch/vision#1952: one object class labelled 0, which R-CNN trains as background, silently.
    from losslint.libraries.torchvision import judge_rcnn_call

    net = detector(num_classes=2)
    net.train()
    torch.manual_seed(1)
    images, targets = detection_batch([[0, 0], [0]])
    report = judge_rcnn_call(net, (images, targets), {})
    assert report is not None and report.loss == "torchvision.FasterRCNN" and report.codes == ["LL733"]
    (finding,) = report.findings
    assert not finding.torch_raises and finding.severity == "error" and "labels + 1" in finding.fix
    net(images, targets)  # torchvision trains on, without an error
    images, targets = detection_batch([[1, 1], [1]])
    assert judge_rcnn_call(net, (images, targets), {}) is None
    net.eval()
    assert judge_rcnn_call(net, (images,), {}) is None


def test_faster_rcnn_objects_labelled_zero_under_watch():
    net = detector(num_classes=2)
    net.train()
    torch.manual_seed(1)
    images, targets = detection_batch([[0, 0], [0]])
    with losslint.watch(action="collect") as w:
        net(images, targets); line = here()  # noqa: E702
    report = one_report(w, "torchvision.FasterRCNN")
    assert report.codes == ["LL733"] and report.location == line


def test_retinanet_training_quiet():
    # RetinaNet calls torchvision.ops.sigmoid_focal_loss itself (reduction="sum", one-hot float targets,
    # logits with a -4.6 prior bias): judged as torchvision's loss, at this line, and quiet.
    torch.manual_seed(0)
    net = retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=3, min_size=64, max_size=64)
    net.train()
    torch.manual_seed(1)
    images, targets = detection_batch([[1, 2], [2]])
    with losslint.watch(action="raise") as w:
        losses = net(images, targets)
    assert w.reports == [] and w.calls >= 1 and torch.isfinite(sum(losses.values()))
