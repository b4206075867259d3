"""Each watch() gets its own findings in compiled code: a second training run in the same process
(a notebook running its cells again) sees the same silent broadcast as the first, whether or not
Dynamo's caches were reset in between (losslint/hooks/tracing.py)."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

import losslint

pytest.importorskip("torch._dynamo")
pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def _run(reset: bool) -> list:
    """One training run as a user writes it: a model, a compiled step with MSELoss on an (N, 1) head
    against (N,) targets, a few steps under watch(); what the watch reported."""
    if reset:
        torch._dynamo.reset()
    torch.manual_seed(0)
    model, criterion = nn.Linear(4, 1), nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        loss = criterion(model(x), y)  # (N, 1) against (N,): broadcast to (N, N), silently
        return loss

    step = torch.compile(train_step, backend="aot_eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with losslint.watch(action="collect") as w:
            for _ in range(3):
                loss = step(torch.randn(8, 4), torch.randn(8))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return [r.codes for r in w.reports]


@pytest.mark.parametrize("reset", [False, True], ids=["cached", "after-reset"])
def test_a_second_watch_sees_what_the_first_saw_in_compiled_code(reset):
    first = _run(reset=False)
    assert first and "LL" in first[0][0]
    assert _run(reset=reset) == first


def test_an_entered_again_watch_does_not_recompile_clean_or_reported_code():
    """The same watch entered around every step (the Lightning and Trainer callbacks) reports once and
    compiles once: only a watch that has not seen the code's findings makes Dynamo trace it again."""
    from torch._dynamo.utils import counters

    from losslint.language.releases import holds

    if not holds("dynamo_inlines_loss_modules"):
        pytest.skip("this torch's Dynamo does not trace into the loss module: its call is judged eagerly, on every entry")
    torch.manual_seed(0)
    model, criterion = nn.Linear(4, 1), nn.MSELoss()
    step = torch.compile(lambda x, y: criterion(model(x), y), backend="aot_eager")
    w = losslint.watch(action="collect")
    counters.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            with w:
                step(torch.randn(8, 4), torch.randn(8))
    assert len(w.reports) == 1 and w.reports[0].count == 1
    assert counters["stats"]["unique_graphs"] == 1
