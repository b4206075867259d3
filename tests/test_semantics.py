"""Semantic findings on realistic tensors across batch sizes, class counts and confidence levels.

The same mistake must be caught whatever the sizes, and the same correct call must stay quiet
whatever the sizes: a confident model's logits, a batch of one, a thousand classes.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint

SIZES = [(1, 2), (2, 3), (8, 5), (64, 10), (512, 1000)]
SCALES = [0.1, 1.0, 10.0, 50.0]  # logit scale: from an untrained model to a very confident one


def loud(report):
    return sorted({f.code for f in report.findings if f.severity in ("error", "warning")})


def logits(n, c, scale, seed=0):
    return torch.randn(n, c, generator=torch.Generator().manual_seed(seed)) * scale


def labels(n, c, seed=1):
    return torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("n,c", SIZES)
@pytest.mark.parametrize("scale", SCALES)
class TestCrossEntropyAcrossSizes:
    def test_logits_and_indices_are_quiet(self, n, c, scale):
        assert loud(losslint.check(nn.CrossEntropyLoss(), logits(n, c, scale), labels(n, c))) == []

    def test_all_negative_logits_are_quiet(self, n, c, scale):
        x = -logits(n, c, scale).abs() - 1
        assert loud(losslint.check(nn.CrossEntropyLoss(), x, labels(n, c))) == []

    def test_label_smoothing_and_weights_are_quiet(self, n, c, scale):
        loss = nn.CrossEntropyLoss(label_smoothing=0.1, weight=torch.rand(c) + 0.5)
        assert loud(losslint.check(loss, logits(n, c, scale), labels(n, c))) == []

    def test_soft_labels_are_quiet(self, n, c, scale):
        soft = torch.softmax(logits(n, c, scale, seed=7), dim=1)
        assert loud(losslint.check(nn.CrossEntropyLoss(), logits(n, c, scale), soft)) == []

    def test_double_softmax_is_a_warning(self, n, c, scale):
        report = losslint.check(nn.CrossEntropyLoss(), torch.softmax(logits(n, c, scale), 1), labels(n, c))
        assert loud(report) == ["LL301"]
        assert report.findings[0].severity == "warning" and not report.torch_raises

    def test_nll_on_log_softmax_is_quiet(self, n, c, scale):
        x = torch.log_softmax(logits(n, c, scale), 1)
        assert loud(losslint.check(nn.NLLLoss(), x, labels(n, c))) == []

    def test_nll_on_softmax_is_a_warning(self, n, c, scale):
        x = torch.softmax(logits(n, c, scale), 1)
        assert loud(losslint.check(F.nll_loss, x, labels(n, c))) == ["LL303"]

    def test_one_hot_int_target_raises(self, n, c, scale):
        report = losslint.check(nn.CrossEntropyLoss(), logits(n, c, scale), F.one_hot(labels(n, c), c))
        assert loud(report) == ["LL202"] and report.torch_raises


@pytest.mark.parametrize("n,c", [(8, 5), (64, 10), (512, 1000)])
def test_nll_raw_logits_warns(n, c):
    # Raw logits have positive entries or unnormalized rows: both are strong evidence.
    assert loud(losslint.check(nn.NLLLoss(), logits(n, c, 3.0), labels(n, c))) == ["LL302"]


@pytest.mark.parametrize("n,c", [(8, 5), (64, 10), (300, 40)])
def test_log_softmax_over_the_batch_dimension(n, c):
    x = torch.log_softmax(logits(n, c, 2.0), dim=0)
    assert loud(losslint.check(nn.NLLLoss(), x, labels(n, c))) == ["LL304"]
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, labels(n, c))) == ["LL304"]


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_other_float_dtypes(dtype):
    x = logits(64, 10, 3.0).to(dtype)
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, labels(64, 10))) == []
    assert loud(losslint.check(nn.CrossEntropyLoss(), torch.softmax(x.float(), 1).to(dtype), labels(64, 10))) == ["LL301"]
    assert loud(losslint.check(nn.NLLLoss(), torch.log_softmax(x.float(), 1).to(dtype), labels(64, 10))) == []


def test_non_contiguous_inputs():
    x = logits(10, 32, 2.0).t()  # (32, 10) view with strides (1, 32)
    assert not x.is_contiguous()
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, labels(32, 10))) == []
    assert loud(losslint.check(nn.CrossEntropyLoss(), torch.softmax(x, 1), labels(32, 10))) == ["LL301"]


def test_flattened_language_model_logits_with_padding():
    x = logits(4 * 128, 500, 2.0)
    y = labels(4 * 128, 500)
    y[::7] = -100
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, y)) == []


def test_segmentation_logits_and_maps():
    x = torch.randn(2, 21, 32, 32)
    y = torch.randint(0, 21, (2, 32, 32))
    assert loud(losslint.check(nn.CrossEntropyLoss(), x, y)) == []
    y[:, :2] = 255
    assert loud(losslint.check(nn.CrossEntropyLoss(ignore_index=255), x, y)) == []


def test_same_class_everywhere_is_quiet():
    assert loud(losslint.check(nn.CrossEntropyLoss(), logits(64, 10, 20.0), torch.full((64,), 3))) == []


def test_other_ignore_index_values():
    y = labels(32, 10)
    y[:5] = -1
    assert loud(losslint.check(nn.CrossEntropyLoss(ignore_index=-1), logits(32, 10, 1.0), y)) == []
    report = losslint.check(nn.CrossEntropyLoss(), logits(32, 10, 1.0), y)
    assert loud(report) == ["LL401"] and report.torch_raises
