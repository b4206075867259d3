"""The real cases of ../shared/corpus/dev_cases.md, rebuilt as calls, judged by losslint and by torch.

Each mistake must be reported at (at least) the stated severity with the stated code, and
`torch_raises` must match what torch does with the very same call. The correct usages at the end
must produce nothing at warning level or above.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from examples_runner import torch_outcome

g = torch.Generator().manual_seed(1234)


def randn(*s):
    return torch.randn(*s, generator=g)


def rand(*s):
    return torch.rand(*s, generator=g)


def randint(lo, hi, s):
    return torch.randint(lo, hi, s, generator=g)


def _pad_tokens():
    tokens = randint(1, 20, (4, 12))
    for row, pad in enumerate([0, 3, 6, 8]):
        if pad:
            tokens[row, -pad:] = 0
    return tokens


def _ctc_short():
    targets = randint(1, 5, (4, 3))
    targets[2] = torch.tensor([1, 1, 1])
    return (randn(12, 4, 5).log_softmax(2), targets, torch.tensor([12, 12, 4, 12]), torch.tensor([3, 3, 3, 3]))


def _ctc_blank():
    targets = randint(1, 10, (4, 8))
    targets[1, 2] = 0
    targets[3, 5] = 0
    return (randn(30, 4, 10).log_softmax(2), targets, torch.full((4,), 30), torch.full((4,), 8))


def _void_mask(classes, ignore=255):
    mask = randint(0, classes, (2, 8, 8))
    mask[:, 0, :] = ignore
    return mask


def _multilabel(rows, classes, lo=1, hi=5):
    target = torch.zeros(rows, classes)
    for r in range(rows):
        k = int(randint(lo, hi + 1, (1,)))
        target[r, torch.randperm(classes, generator=g)[:k]] = 1
    return target


def _mixup(rows, classes):
    a = F.one_hot(randint(0, classes, (rows,)), classes).float()
    b = F.one_hot(randint(0, classes, (rows,)), classes).float()
    return 0.6 * a + 0.4 * b


# (id, loss, args, kwargs, expected code, minimum severity)
MISTAKES = [
    ("ce-onehot-int-target", nn.CrossEntropyLoss(), (randn(8, 5), F.one_hot(randint(0, 5, (8,)), 5)), {}, "LL202", "error"),
    ("ce-multilabel-multihot-target", nn.CrossEntropyLoss(), (randn(16, 8), _multilabel(16, 8)), {}, "LL404", "warning"),
    ("ce-seg-float-mask", nn.CrossEntropyLoss(), (randn(2, 4, 8, 8), randint(0, 4, (2, 8, 8)).float()), {}, "LL102", "error"),
    ("ce-uint8-target", nn.CrossEntropyLoss(), (randn(2, 5, 8, 8), randint(0, 5, (2, 8, 8)).to(torch.uint8)), {}, "LL102", "error"),
    ("ce-labels-1-to-C-cpu", nn.CrossEntropyLoss(), (randn(16, 13), torch.cat([torch.tensor([13, 1]), randint(1, 14, (14,))])), {}, "LL401", "error"),
    ("ce-seg-void-255-no-ignore", nn.CrossEntropyLoss(), (randn(2, 3, 8, 8), _void_mask(3)), {}, "LL412", "error"),
    ("ce-padding-not-ignored-pad0", F.cross_entropy, (randn(4, 12, 20).transpose(1, 2), _pad_tokens()), {"ignore_index": -100}, "LL409", "warning"),
    ("ce-seg-target-N1HW", nn.CrossEntropyLoss(), (randn(2, 3, 8, 8), randint(0, 3, (2, 1, 8, 8))), {}, "LL203", "error"),
    ("ce-seq-NTC-no-transpose", nn.CrossEntropyLoss(), (randn(4, 12, 20), randint(0, 20, (4, 12))), {}, "LL204", "error"),
    ("ce-double-softmax-har", nn.CrossEntropyLoss(), (F.softmax(randn(32, 6), 1), randint(0, 6, (32,))), {}, "LL301", "warning"),
    ("ce-single-output-unit", nn.CrossEntropyLoss(), (randn(16, 1), torch.zeros(16, dtype=torch.long)), {}, "LL502", "warning"),
    ("ce-prob-target-with-ignore-index", nn.CrossEntropyLoss(ignore_index=255), (randn(16, 10), _mixup(16, 10)), {}, "LL410", "error"),
    ("nll-softmax-input-text-clf", nn.NLLLoss(), (F.softmax(randn(32, 4), 1), randint(0, 4, (32,))), {}, "LL303", "warning"),
    ("nll-log-softmax-over-batch-dim", F.nll_loss, (F.log_softmax(randn(32, 10), dim=0), randint(0, 10, (32,))), {}, "LL304", "warning"),
    ("bce-raw-logits-input", nn.BCELoss(), (randn(2, 1, 8, 8) * 3, (rand(2, 1, 8, 8) > 0.5).float()), {}, "LL308", "error"),
    ("bce-target-N-vs-input-N1", nn.BCELoss(), (torch.sigmoid(randn(64, 1)), (rand(64) > 0.5).float()), {}, "LL201", "error"),
    ("bcel-target-N-vs-input-N1", nn.BCEWithLogitsLoss(), (randn(64, 1), (rand(64) > 0.5).float()), {}, "LL201", "error"),
    ("bce-long-target-gan", nn.BCELoss(), (torch.sigmoid(randn(64)), torch.full((64,), 1)), {}, "LL103", "error"),
    ("bcel-long-target-gan", nn.BCEWithLogitsLoss(), (randn(64), torch.full((64,), 1)), {}, "LL103", "error"),
    ("bcel-double-sigmoid-focal", F.binary_cross_entropy_with_logits, (torch.sigmoid(randn(16, 10)), (rand(16, 10) > 0.8).float()), {"reduction": "none"}, "LL305", "warning"),
    ("bcel-pos-weight-nchw-broadcast", F.binary_cross_entropy_with_logits, (randn(2, 3, 8, 8), (rand(2, 3, 8, 8) > 0.5).float()), {"pos_weight": torch.tensor([2.0, 5.0, 10.0])}, "LL206", "error"),
    ("bce-mask-0-255", nn.BCEWithLogitsLoss(), (randn(2, 1, 8, 8), (rand(2, 1, 8, 8) > 0.5).float() * 255), {}, "LL402", "warning"),
    ("kl-kd-student-softmax", F.kl_div, (F.softmax(randn(2, 19, 8, 8), 1), F.softmax(randn(2, 19, 8, 8), 1)), {"reduction": "none"}, "LL303", "warning"),
    ("kl-mean-reduction", nn.KLDivLoss(), (F.log_softmax(randn(32, 10), 1), F.softmax(randn(32, 10), 1)), {}, "LL501", "warning"),
    # dev_cases.md asks a warning; torch documents 'batchmean' as the sum divided by input.size(0), so on
    # (B, T, V) the value is the KL per sequence: a scale choice, said as an info (LL503) with what it divides by.
    ("kl-batchmean-3d-inputs", nn.KLDivLoss(reduction="batchmean"), (F.log_softmax(randn(4, 12, 20), -1), F.softmax(randn(4, 12, 20), -1)), {}, "LL503", "info"),
    ("kl-log-target-without-flag", F.kl_div, (F.log_softmax(randn(32, 10), 1), F.log_softmax(randn(32, 10), 1)), {"reduction": "batchmean"}, "LL408", "warning"),
    ("mse-regression-target-cast-long", nn.MSELoss(), (torch.sigmoid(randn(32)), rand(32).round().long()), {}, "LL105", "warning"),
    ("l1-image-size-mismatch", nn.L1Loss(), (randn(2, 3, 24, 16), randn(2, 3, 26, 16)), {}, "LL201", "error"),
    ("smoothl1-depth-map-channel", F.smooth_l1_loss, (randn(2, 1, 8, 8), randn(2, 8, 8)), {"reduction": "sum"}, "LL205", "warning"),
    ("hinge-01-labels", nn.HingeEmbeddingLoss(margin=1.0), (rand(32) * 3, (rand(32) > 0.5).float()), {}, "LL403", "warning"),
    ("mrl-2d-inputs-1d-target", nn.MarginRankingLoss(margin=1.0), (randn(32, 16), randn(32, 16), torch.ones(32)), {}, "LL201", "error"),
    ("cos-target-2d", nn.CosineEmbeddingLoss(), (randn(4, 8), randn(4, 8), torch.tensor([[1.0, -1.0, 1.0, -1.0]])), {}, "LL203", "error"),
    ("softmargin-shape-broadcast", F.soft_margin_loss, (randn(16, 4), torch.where(rand(16, 1) > 0.5, 1.0, -1.0)), {}, "LL205", "warning"),
    ("mlm-onehot-target", nn.MultiLabelMarginLoss(), (randn(8, 6), _multilabel(8, 6, 1, 3).long()), {}, "LL406", "warning"),
    ("mlsm-voc-minus1-0-1-labels", nn.MultiLabelSoftMarginLoss(), (randn(16, 20), randint(-1, 2, (16, 20)).float()), {}, "LL402", "warning"),
    ("mm-target-size", nn.MultiMarginLoss(), (randn(8, 8), randint(0, 8, (7,))), {}, "LL207", "error"),
    ("ctc-raw-logits-negative", nn.CTCLoss(), (randn(50, 4, 20) * 3, randint(1, 20, (4, 12)), torch.full((4,), 50), torch.tensor([12, 10, 11, 9])), {}, "LL302", "warning"),
    ("ctc-batch-first-layout", F.ctc_loss, (randn(4, 30, 12).log_softmax(2), randint(1, 12, (4, 8)), torch.full((4,), 30), torch.full((4,), 8)), {}, "LL208", "error"),
    ("ctc-input-too-short-inf", nn.CTCLoss(reduction="none", blank=0), _ctc_short(), {}, "LL210", "warning"),
    ("ctc-target-contains-blank", nn.CTCLoss(blank=0), _ctc_blank(), {}, "LL407", "warning"),
    ("gauss-var-shape-rejected", nn.GaussianNLLLoss(), (randn(2, 3, 8, 8), randn(2, 3, 8, 8), rand(1, 1, 8, 8) + 0.1), {}, "LL201", "error"),
    ("poisson-logfalse-raw-linear", nn.PoissonNLLLoss(log_input=False), (randn(32), torch.poisson(rand(32) * 5, generator=g)), {}, "LL309", "warning"),
    ("poisson-default-logtrue-with-rates", nn.PoissonNLLLoss(), (0.5 + rand(32) * 7.5, torch.poisson(0.5 + rand(32) * 7.5, generator=g)), {}, "LL310", "warning"),
]

_TEACHER = randn(32, 10)
_CTC_PADDED = randint(1, 6, (4, 12))
_CTC_LENGTHS = torch.tensor([12, 7, 5, 9])
for _row, _n in enumerate(_CTC_LENGTHS.tolist()):
    _CTC_PADDED[_row, _n:] = 0

CORRECT = [
    ("ok-ce-soft-labels-mixup", nn.CrossEntropyLoss(), (randn(32, 10), 0.7 * F.one_hot(randint(0, 10, (32,)), 10).float() + 0.3 * F.one_hot(randint(0, 10, (32,)), 10).float()), {}),
    ("ok-ce-ignore-index-minus100-padding", nn.CrossEntropyLoss(), (randn(48, 20), torch.where(rand(48) > 0.6, -100, randint(0, 20, (48,)))), {}),
    ("ok-ce-segmentation-4d-ignore255-weights", nn.CrossEntropyLoss(ignore_index=255, weight=rand(5) + 0.5), (randn(2, 5, 8, 8), _void_mask(5)), {}),
    ("ok-ce-on-log-softmax", F.cross_entropy, (F.log_softmax(randn(32, 10), 1), randint(0, 10, (32,))), {}),
    ("ok-bcel-raw-negative-logits", nn.BCEWithLogitsLoss(), (-5 + randn(32, 20) * 0.5, (rand(32, 20) < 0.02).float()), {}),
    ("ok-kl-kd-logsoftmax-softmax", nn.KLDivLoss(reduction="batchmean"), (F.log_softmax(randn(32, 10) / 4, 1), F.softmax(_TEACHER / 4, 1)), {}),
    ("ok-poisson-log-rate-default", nn.PoissonNLLLoss(), (randn(32), torch.poisson(rand(32) * 3, generator=g)), {}),
    ("ok-ctc-padded-targets-with-zeros", nn.CTCLoss(blank=0), (randn(40, 4, 6).log_softmax(2), _CTC_PADDED, torch.full((4,), 40), _CTC_LENGTHS), {}),
    ("ok-multilabel-margin-minus1-padding", nn.MultiLabelMarginLoss(), (randn(4, 4), torch.tensor([[3, 0, -1, 1], [2, -1, -1, -1], [0, 1, 2, -1], [1, -1, 3, 0]])), {}),
    ("ok-l1-scalar-vs-1elem-warning", nn.L1Loss(), (torch.tensor(0.5), torch.tensor([0.7])), {}),
]

SEVERITY = {"info": 2, "warning": 1, "error": 0}


@pytest.mark.parametrize("case,loss,args,kwargs,code,severity", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_reported(case, loss, args, kwargs, code, severity):
    report = losslint.check(loss, *args, **kwargs)
    found = [f for f in report.findings if f.code == code]
    assert found, f"{case}: expected {code}, got:\n{report}"
    assert SEVERITY[found[0].severity] <= SEVERITY[severity], str(report)
    assert report.torch_raises == torch_outcome(loss, args, kwargs)[0], str(report)


@pytest.mark.parametrize("case,loss,args,kwargs", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_usage_stays_quiet(case, loss, args, kwargs):
    report = losslint.check(loss, *args, **kwargs)
    assert not report.errors and not report.warnings, f"{case}:\n{report}"
    assert not torch_outcome(loss, args, kwargs)[0]


# ---- public reports beyond dev_cases.md, each rebuilt as one call, with its source ----------
# (id, source, loss, args, kwargs, expected code, minimum severity). The tensors follow the report's
# shapes and values; where a report used another framework or a larger model, the same mistake is
# rebuilt with PyTorch at a small size, and the comment says so.


def _lm_all_ignored():
    # pytorch/pytorch#116349: logits (1, 5, 10) viewed as (5, 10), every label -100.
    return (randn(1, 5, 10).view(-1, 10), torch.full((5,), -100))


def _pos_weight_no_positives():
    # small-text#39: class weights from a labelled set whose labels all come from one class; rebuilt
    # with the recipe of the BCEWithLogitsLoss docs, pos_weight = negatives / positives.
    target = (rand(16, 5) > 0.6).float()
    target[:, 2] = 0
    return (randn(16, 5), target), {"pos_weight": (16 - target.sum(0)) / target.sum(0)}


def _class_balanced_weights():
    # fcakyon/balanced-loss#12: samples_per_class [310, 2489, 114, 17, 0, 725], beta 0.999; the class
    # with no sample gets (1 - beta) / (1 - beta**0) = inf, and normalizing makes it nan.
    counts = torch.tensor([310.0, 2489.0, 114.0, 17.0, 0.0, 725.0])
    weights = (1 - 0.999) / (1 - 0.999**counts)
    weights = weights / weights.sum() * 6
    return nn.CrossEntropyLoss(weight=weights), (randn(5, 6), torch.tensor([5, 0, 4, 0, 0]))


def _in_batch_cosine(batch=32):
    # sentence-transformers#3179: MultipleNegativesRankingLoss's cosine scores without the scale
    # (the report builds them from an embedding and its negation); in-batch, as the loss computes them.
    a = F.normalize(randn(batch, 64), dim=1)
    b = F.normalize(a + 0.1 * randn(batch, 64), dim=1)
    return a @ b.T, torch.arange(batch)


def _causal_lm_pad_labels():
    # 01-ai/Yi#110 (and hengjiUSTC/learn-llm#2): labels = input_ids with the pad id left in, shifted
    # and flattened by the model's loss, so padding is scored like any token.
    ids = randint(3, 6400, (4, 40))
    for row, pad in enumerate([0, 6, 15, 22]):
        if pad:
            ids[row, -pad:] = 0
    labels = ids[:, 1:].reshape(-1)
    return (randn(labels.numel(), 6400), labels)


_CB_LOSS, _CB_ARGS = _class_balanced_weights()
_PW_ARGS, _PW_KWARGS = _pos_weight_no_positives()

PUBLIC_MISTAKES = [
    ("pt116349-lm-labels-all-ignored", "https://github.com/pytorch/pytorch/issues/116349",
     nn.CrossEntropyLoss(), _lm_all_ignored(), {}, "LL601", "error"),
    ("pt75181-ignore-index-minus-1", "https://github.com/pytorch/pytorch/issues/75181",
     nn.CrossEntropyLoss(ignore_index=-1), (torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([-1])), {}, "LL601", "error"),
    ("openrlhf583-ring-attention-chunk-all-ignored", "https://github.com/OpenRLHF/OpenRLHF/pull/583",
     nn.CrossEntropyLoss(ignore_index=-100), (torch.tensor([[0.2, 1.0, 0.5], [0.1, 0.3, 0.6]]), torch.tensor([-100, -100])), {}, "LL601", "error"),
    ("e2ec7-smooth-l1-no-instances", "https://github.com/zhang-tao-whu/e2ec/issues/7",
     F.smooth_l1_loss, (randn(0, 128, 2), randn(0, 128, 2)), {}, "LL602", "error"),
    ("small-text39-pos-weight-label-without-positives", "https://github.com/webis-de/small-text/issues/39",
     F.binary_cross_entropy_with_logits, _PW_ARGS, _PW_KWARGS, "LL604", "error"),
    ("balanced-loss12-class-with-no-samples", "https://github.com/fcakyon/balanced-loss/pull/12",
     _CB_LOSS, _CB_ARGS, {}, "LL604", "error"),
    ("st3179-cosine-scores-without-scale", "https://github.com/huggingface/sentence-transformers/issues/3179",
     nn.CrossEntropyLoss(), _in_batch_cosine(), {}, "LL311", "warning"),
    ("yi110-causal-lm-pad-labels", "https://github.com/01-ai/Yi/issues/110",
     nn.CrossEntropyLoss(), _causal_lm_pad_labels(), {}, "LL409", "warning"),
    # A Keras report (binary_crossentropy after a softmax over one node), rebuilt with BCELoss.
    ("softmax-single-output-node", "https://geek-tips.imtqy.com/articles/557592/index.html",
     nn.BCELoss(), (F.softmax(randn(32, 1), dim=1), (rand(32, 1) > 0.5).float()), {}, "LL313", "warning"),
    # discuss.pytorch.org, "KL Divergence Produces Negative Values" (2018): neither side is a distribution.
    ("discuss-kl-negative-not-distributions", "https://huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1",
     nn.KLDivLoss(reduction="batchmean"), (torch.tensor([[0.1, 0.2]]), torch.tensor([[0.3, 0.6]])), {}, "LL404", "warning"),
    ("discuss763-kl-softmax-outputs-one-hot", "https://discuss.pytorch.org/t/kullback-leibler-divergence-loss-function-giving-negative-values/763",
     nn.KLDivLoss(reduction="batchmean"), (F.softmax(randn(4, 10), 1), F.one_hot(randint(0, 10, (4,)), 10).float()), {}, "LL303", "warning"),
]

_SMP_TARGET = (rand(2, 1, 16, 16) > 0.5).float()
_SMP_TARGET[:, :, :2] = -100

PUBLIC_CORRECT = [
    # segmentation_models_pytorch SoftBCEWithLogitsLoss: -100 targets, reduction='none', then masked.
    ("smp-soft-bce-ignore-index", "https://github.com/qubvel-org/segmentation_models.pytorch/blob/main/segmentation_models_pytorch/losses/soft_bce.py",
     F.binary_cross_entropy_with_logits, (randn(2, 1, 16, 16), _SMP_TARGET), {"reduction": "none"}),
    # SimCSE: cosine similarities divided by the temperature 0.05.
    ("simcse97-cosine-over-temperature", "https://github.com/princeton-nlp/SimCSE/issues/97",
     nn.CrossEntropyLoss(), (_in_batch_cosine()[0] / 0.05, torch.arange(32)), {}),
    # The fix of pytorch/pytorch#116349 and OpenRLHF#583: at least one labelled token.
    ("pt116349-one-label-left", "https://github.com/pytorch/pytorch/issues/116349",
     nn.CrossEntropyLoss(), (randn(5, 10), torch.tensor([-100, -100, 3, -100, -100])), {}),
    # The fix of 01-ai/Yi#110: the pad id set to -100 before the loss.
    ("yi110-pad-masked", "https://github.com/01-ai/Yi/issues/110",
     nn.CrossEntropyLoss(), (lambda a: (a[0], a[1].masked_fill(a[1] == 0, -100)))(_causal_lm_pad_labels()), {}),
]


@pytest.mark.parametrize("case,source,loss,args,kwargs,code,severity", PUBLIC_MISTAKES, ids=[m[0] for m in PUBLIC_MISTAKES])
def test_public_mistake_is_reported(case, source, loss, args, kwargs, code, severity):
    test_mistake_is_reported(case, loss, args, kwargs, code, severity)


@pytest.mark.parametrize("case,source,loss,args,kwargs", PUBLIC_CORRECT, ids=[c[0] for c in PUBLIC_CORRECT])
def test_public_correct_usage_stays_quiet(case, source, loss, args, kwargs):
    test_correct_usage_stays_quiet(case, loss, args, kwargs)
