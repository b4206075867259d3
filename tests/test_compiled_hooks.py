"""attach() and pre_hook see a criterion called inside a compiled training step: checked on Dynamo's fake
tensors while the step compiles (metadata), at the user's line, with no graph break and no cost in
the compiled code (losslint/hooks/tracing.py)."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

import losslint
from losslint.hooks.hook import PRE_HOOK

pytest.importorskip("torch._dynamo")
pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def _training(criterion, steps: int = 3):
    """A model, and its whole training step compiled, as `torch.compile(train_step)` users write it."""
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        optimizer.zero_grad()
        loss = criterion(model(x), y)  # (N, 1) head against (N,) targets
        loss.backward()
        optimizer.step()
        return loss

    line = train_step.__code__.co_firstlineno + 2
    step = torch.compile(train_step, backend="aot_eager")
    torch.manual_seed(1)
    batches = [(torch.randn(8, 4), torch.randn(8)) for _ in range(steps)]
    return step, batches, line, model


def test_attach_sees_the_criterion_inside_a_compiled_step():
    criterion = nn.MSELoss()
    step, batches, line, _ = _training(criterion)
    with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion) as hook:
        warnings.simplefilter("always")
        for x, y in batches:
            step(x, y)
    [report] = hook.reports
    assert report.codes == losslint.check(criterion, torch.zeros(8, 1), torch.zeros(8)).codes
    assert report.location == f"tests/test_compiled_hooks.py:{line}" and report.count == 1
    assert "values were not read" in report.findings[0].explanation
    ours = [c for c in caught if issubclass(c.category, losslint.LossLintWarning)]
    assert len(ours) == 1 and (ours[0].filename, ours[0].lineno) == (__file__, line)
    # The hooks no longer step aside: no notice that compiled code runs unchecked.
    assert not any("run unchecked" in str(c.message) for c in caught)


def test_pre_hook_sees_the_criterion_inside_a_compiled_step():
    criterion = nn.MSELoss()
    step, batches, line, _ = _training(criterion)
    handle = criterion.register_forward_pre_hook(losslint.pre_hook)
    before = {(r.location, tuple(r.codes)) for r in PRE_HOOK.reports}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for x, y in batches:
                step(x, y)
    finally:
        handle.remove()
    new = [r for r in PRE_HOOK.reports if (r.location, tuple(r.codes)) not in before]
    assert [r.location for r in new] == [f"tests/test_compiled_hooks.py:{line}"]
    ours = [c for c in caught if issubclass(c.category, losslint.LossLintWarning)]
    assert len(ours) == 1 and ours[0].lineno == line


def test_the_hooked_compiled_step_has_no_graph_break_and_trains_as_without_losslint():
    from torch._dynamo.utils import counters

    plain = nn.MSELoss()
    step, batches, _, model = _training(plain)
    counters.clear()
    for x, y in batches:
        expected = step(x, y)
    plain_breaks = sum(counters["graph_break"].values())
    expected_weight = model.weight.detach().clone()

    torch._dynamo.reset()
    criterion = nn.MSELoss()
    step, batches, _, model = _training(criterion)
    counters.clear()
    with warnings.catch_warnings(), losslint.attach(criterion, action="collect") as hook:
        warnings.simplefilter("ignore")
        for x, y in batches:
            loss = step(x, y)
    assert hook.reports
    assert sum(counters["graph_break"].values()) == plain_breaks  # losslint adds none
    assert torch.equal(loss, expected) and torch.equal(model.weight, expected_weight)


def test_a_clean_compiled_step_reports_nothing():
    torch.manual_seed(0)
    model, criterion = nn.Linear(4, 3), nn.CrossEntropyLoss()
    step = torch.compile(lambda x, y: criterion(model(x), y), backend="aot_eager")
    with losslint.attach(criterion) as hook:
        for _ in range(2):
            step(torch.randn(8, 4), torch.randint(0, 3, (8,)))
    assert hook.reports == []
