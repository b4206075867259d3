"""Compiled code inside watch() is checked while Dynamo traces it (losslint/hooks/tracing.py): metadata findings
at the user's line, once, no graph break, and nothing left in the compiled graph."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.language.releases import holds

pytest.importorskip("torch._dynamo")


def _line() -> int:
    import sys

    return sys._getframe(1).f_lineno


# Each test compiles anew, and leaves no compiled code behind (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def model():
    torch.manual_seed(0)
    return nn.Linear(6, 5)


def test_a_shape_mistake_in_compiled_code_is_reported_at_the_users_line_once():
    net = model()

    def step(x, y):
        return F.cross_entropy(net(x), y.unsqueeze(1))  # (N, 1) class indices: torch raises

    line = step.__code__.co_firstlineno + 1
    eager = losslint.check(F.cross_entropy, net(torch.randn(8, 6)), torch.randint(0, 5, (8, 1)))
    compiled = torch.compile(step, backend="aot_eager", dynamic=False)
    with losslint.watch(action="collect") as w:
        for n in (8, 8, 16):  # a recompilation for the new batch size: still one report
            with pytest.raises(Exception):  # torch's own error, raised while tracing
                compiled(torch.randn(n, 6), torch.randint(0, 5, (n,)))
    [report] = w.reports
    assert report.codes == eager.codes and report.location == f"tests/test_tracing.py:{line}"
    assert all("values were not read" in f.explanation for f in report.findings)


def test_a_warning_in_compiled_code_is_warned_once_and_the_step_runs():
    net = model()
    criterion = nn.KLDivLoss()  # reduction="mean": a warning from the configuration alone

    def step(x, y):
        return criterion(net(x).log_softmax(1), y)

    compiled = torch.compile(step, backend="aot_eager")
    x, y = torch.randn(8, 6), torch.rand(8, 5).softmax(1)
    expected = step(x, y)
    with warnings.catch_warnings(record=True) as caught, losslint.watch() as w:
        warnings.simplefilter("always")
        losses = [compiled(x, y) for _ in range(3)]; called_at = _line()  # noqa: E702
    ours = [c for c in caught if issubclass(c.category, losslint.LossLintWarning)]
    # Where Dynamo inlines the loss module, the loss's own line inside the step; on torch 2.4, AOT
    # autograd runs the module later, and the line that called the compiled step is the user's.
    line = step.__code__.co_firstlineno + 1 if holds("dynamo_inlines_loss_modules") else called_at
    assert len(ours) == 1 and ours[0].filename == __file__ and ours[0].lineno == line
    assert [r.codes for r in w.reports] == [[c for c in losslint.check(criterion, net(x).log_softmax(1), y).codes]]
    for loss in losses:
        torch.testing.assert_close(loss, expected)


def test_no_graph_break_and_the_check_is_not_in_the_compiled_graph():
    from torch._dynamo.backends.common import aot_autograd

    if not holds("dynamo_inlines_loss_modules"):
        pytest.skip("this torch's Dynamo does not trace into the loss module: its graph has no check to hold")

    graphs = []

    def keep(gm, example_inputs):
        graphs.append(gm)
        return gm

    net, criterion = model(), nn.CrossEntropyLoss()

    def step(x, y):
        return criterion(net(x), y)

    x, y = torch.randn(8, 6), torch.randint(0, 5, (8,))
    with losslint.watch(action="collect"):
        explanation = torch._dynamo.explain(step)(x, y)
        torch._dynamo.reset()
        compiled = torch.compile(step, backend=aot_autograd(fw_compiler=keep, bw_compiler=keep))
        compiled(x, y).backward()
        dynamo_graph = torch._dynamo.explain(step)(x, y).graphs[0]
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
    # Dynamo's graph holds the check; the graphs that run (after AOT autograd) do not.
    assert "losslint.check_loss" in str(dynamo_graph.graph)
    assert graphs and all("losslint" not in str(gm.graph) for gm in graphs)


def test_compiled_code_outside_a_watch_is_not_checked():
    net = model()

    def step(x, y):
        return F.cross_entropy(net(x), y)

    compiled = torch.compile(step, backend="aot_eager")
    x, y = torch.randn(8, 6), torch.randint(0, 5, (8,))
    before = compiled(x, y)
    with losslint.watch(action="collect") as w:
        inside = compiled(x, y)  # F.cross_entropy is losslint's now: traced again, and checked
    after = compiled(x, y)
    assert torch.equal(before, inside) and torch.equal(before, after)
    assert w.reports == []
