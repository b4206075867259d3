"""The public contract of check(): what it accepts, what it returns, what it never does."""

from __future__ import annotations

import gc
import json
import weakref

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint import Report, UnknownLossError


def _call():
    return torch.randn(8, 5), torch.randint(0, 5, (8,))


@pytest.mark.parametrize(
    "loss",
    [nn.CrossEntropyLoss(), nn.CrossEntropyLoss, F.cross_entropy, "CrossEntropyLoss", "cross_entropy", "torch.nn.functional.cross_entropy"],
    ids=["instance", "class", "functional", "class-name", "functional-name", "qualified-name"],
)
def test_every_way_to_name_a_loss(loss):
    report = losslint.check(loss, *_call())
    assert isinstance(report, Report) and report.loss == "CrossEntropyLoss" and report.ok


def test_nllloss2d_is_nllloss():
    with pytest.warns(Warning):
        loss = nn.NLLLoss2d()
    assert losslint.check(loss, torch.randn(2, 3, 4, 4).log_softmax(1), torch.randint(0, 3, (2, 4, 4))).loss == "NLLLoss"


def test_configuration_is_read_from_the_module():
    x, y = _call()
    y[0] = 255
    assert losslint.check(nn.CrossEntropyLoss(ignore_index=255), x, y).ok
    assert not losslint.check(nn.CrossEntropyLoss(), x, y).ok


@pytest.mark.parametrize("thing", [nn.Linear(2, 3), print, "CrossEntropy_Loss", 42, None, lambda a, b: a])
def test_unknown_losses_raise_lookup_errors_with_close_matches(thing):
    with pytest.raises(UnknownLossError) as info:
        losslint.check(thing, *_call())
    assert isinstance(info.value, LookupError)
    if thing == "CrossEntropy_Loss":
        assert "did you mean CrossEntropyLoss" in str(info.value)


JUNK = [
    (),
    (None, None),
    ("a", "b"),
    ([1.0, 2.0], [1, 2]),
    (torch.randn(8, 5),),
    (torch.randn(8, 5), torch.randint(0, 5, (8,)), torch.randn(3)),
    (torch.randn(8, 5, dtype=torch.complex64), torch.randint(0, 5, (8,))),
    (torch.empty(0, 5), torch.empty(0, dtype=torch.long)),
    (torch.full((8, 5), float("nan")), torch.randint(0, 5, (8,))),
    (torch.randn(8, 5, device="meta"), torch.empty(8, dtype=torch.long, device="meta")),
    (torch.randn(8, 5).to_sparse(), torch.randint(0, 5, (8,))),
    (torch.tensor(1.0), torch.tensor(1)),
    (torch.randn(2, 3, 4, 5, 6, 7), torch.randint(0, 3, (2, 4, 5, 6, 7))),
    (torch.randn(8, 5).expand(3, 8, 5), torch.randint(0, 5, (3, 5))),
    (torch.randint(0, 5, (8, 5), dtype=torch.int8), torch.randint(0, 5, (8,)).to(torch.bool)),
]


@pytest.mark.parametrize("args", JUNK, ids=range(len(JUNK)))
@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), F.nll_loss])
def test_any_arguments_give_a_report(loss, args):
    report = losslint.check(loss, *args)
    assert isinstance(report, Report)
    assert "LL000" not in report.codes, str(report)
    json.dumps(report.to_dict())
    str(report)


def test_unknown_keyword_is_a_finding_not_an_exception():
    report = losslint.check(F.cross_entropy, *_call(), label_smothing=0.1)
    assert report.codes == ["LL001"] and report.findings[0].argument == "label_smothing"


def test_inputs_are_not_changed_and_not_kept():
    x = torch.softmax(torch.randn(64, 10), 1).requires_grad_()
    y = torch.randint(0, 10, (64,))
    before = (x.detach().clone(), y.clone(), x._version, y._version)
    report = losslint.check(nn.CrossEntropyLoss(), x, y)
    assert report.codes == ["LL301"]
    assert torch.equal(x, before[0]) and torch.equal(y, before[1])
    assert (x._version, y._version) == before[2:]
    assert x.grad is None and x.grad_fn is None
    refs = [weakref.ref(x), weakref.ref(y)]
    del x, y
    gc.collect()
    assert all(r() is None for r in refs), "check() kept a tensor alive"
    assert "tensor" not in json.dumps(report.to_dict()).lower().replace("tensor)", "")


def test_report_shape():
    report = losslint.check(nn.CrossEntropyLoss(), torch.softmax(torch.randn(8, 5), 1), F.one_hot(torch.randint(0, 5, (8,)), 5))
    data = report.to_dict()
    assert set(data) == {"loss", "ok", "torch_raises", "counts", "findings", "location", "context", "count"}
    # A direct check has no call site; the hooks and watch() fill these in (context: the library's
    # line that made the call, when a library did).
    assert (data["location"], data["context"], data["count"]) == (None, None, 1)
    assert set(data["findings"][0]) == {
        "code", "name", "severity", "torch_raises", "loss", "argument", "message", "explanation", "fix",
        "observed", "expected", "confidence",
    }
    assert [f.severity for f in report.findings] == sorted((f.severity for f in report.findings), key=["error", "warning", "info"].index)
    with pytest.raises(losslint.LossLintError) as info:
        report.raise_for_errors()
    assert info.value.report is report
    with pytest.raises(Exception):
        report.findings[0].code = "LL999"  # frozen


def test_metadata_depth_reads_no_values():
    checker = losslint.Checker(depth="metadata")
    report = checker.check(nn.CrossEntropyLoss(), torch.softmax(torch.randn(8, 5), 1), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7]))
    assert report.codes == []  # neither the double softmax nor the range is visible without values
    meta = checker.check(nn.CrossEntropyLoss(), torch.empty(8, 5, device="meta"), torch.empty(8, 5, dtype=torch.long, device="meta"))
    assert meta.codes == ["LL103"] and meta.torch_raises
