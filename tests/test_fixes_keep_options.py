"""A fix keeps what the user chose: KLDivLoss's reduction and log_target; a float one-hot target for
NLLLoss gets one finding with the argmax, not a dtype error and a shape error."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint


def test_kl_div_fix_keeps_log_target_and_reduction():
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(0))
    fix = losslint.check(nn.KLDivLoss(reduction="batchmean", log_target=True), x.softmax(1), x.log_softmax(1)).findings[0].fix
    assert fix == "F.kl_div(F.log_softmax(student_logits, dim=1), target, reduction='batchmean', log_target=True) instead of F.softmax"
    fix = losslint.check(nn.KLDivLoss(reduction="sum"), x.softmax(1), x.softmax(1)).findings[0].fix
    assert "reduction='sum'" in fix and "log_target" not in fix


def test_float_one_hot_into_nll_is_one_finding_with_argmax():
    g = torch.Generator().manual_seed(0)
    target = F.one_hot(torch.randint(0, 5, (16,), generator=g), 5).float()
    report = losslint.check(nn.NLLLoss(), torch.randn(16, 5, generator=g).log_softmax(1), target)
    assert [(f.code, f.fix, f.torch_raises) for f in report.findings] == [("LL202", "target.argmax(dim=1)", True)]
