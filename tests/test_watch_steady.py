"""watch() in steady state: a functional loss call like the last clean one from its line is only counted
(losslint/hooks/steady.py), and anything a metadata check depends on (the arguments' metadata, the grad mode,
the origin of a tensor) makes it judged again."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from counting_checker import Counting


def test_repeated_clean_calls_are_counted_and_changes_are_judged():
    checker = Counting()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))

    def call(a, b, **kw):
        return F.cross_entropy(a, b, **kw)  # one call site for all of them

    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy(first=1, every=5)) as w:
        for _ in range(6):
            # call 0: values; 1: metadata (the clean call later ones are compared with); 2-3: only
            # counted; 4 (every 5th): values; 5: counted
            call(torch.randn(8, 5), torch.randint(0, 5, (8,)))  # fresh tensors, as training makes
        assert checker.depths == ["values", "metadata", "values"]
        assert w.calls == 6 and w.sites[next(iter(w.sites))] == (6, 2)
        call(torch.randn(4, 5), y[:4])  # new shapes: judged
        call(x, y, reduction="sum")  # a new keyword: judged
        call(x.double(), y)  # a new dtype: judged
        with pytest.raises(RuntimeError):  # action="collect": torch raises its own error
            call(x, y.unsqueeze(1))  # a shape torch rejects: judged
    assert checker.depths == ["values", "metadata", "values"] + ["metadata"] * 4
    assert [r.errors for r in w.reports] and w.calls == 10


def test_a_module_in_a_training_loop_is_counted_with_fresh_tensors_and_a_backward():
    checker = Counting()
    model, criterion = nn.Linear(6, 3), nn.CrossEntropyLoss()
    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy(every=100)) as w:
        for _ in range(250):
            loss = criterion(model(torch.randn(16, 6)), torch.randint(0, 3, (16,)))
            loss.backward()
    # values on the first 10 calls and on calls 109 and 209; metadata on call 10 only: after a values
    # sample with the same metadata, the calls are counted again at once
    assert checker.depths.count("values") == 12 and checker.depths.count("metadata") == 1
    assert w.calls == 250 and list(w.sites.values()) == [(250, 12)]


def test_a_new_origin_with_the_same_metadata_is_judged():
    """Softmax output where the last clean call had logits: the same metadata, another origin (which a
    watch knows for certain), so the call is judged and the double softmax is reported."""
    model = nn.Linear(6, 3)
    with losslint.watch(action="collect", policy=losslint.Policy(first=1, every=0)) as w:
        for step in range(30):
            logits = model(torch.randn(16, 6))
            out = logits.softmax(dim=1) if step == 20 else logits
            F.cross_entropy(out, torch.randint(0, 3, (16,)))
    [report] = w.reports
    assert report.warnings and w.calls == 30


def test_a_line_run_under_no_grad_and_then_with_grad_is_judged_again():
    checker = Counting()
    x, y = torch.randn(8, 5, requires_grad=True), torch.randint(0, 5, (8,))

    def call():
        return F.cross_entropy(x, y)

    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy(first=1, every=0)):
        for _ in range(3):
            call()
        with torch.no_grad():
            call()
        call()
    assert checker.depths == ["values", "metadata", "metadata", "metadata"]


def test_nested_watches_each_count_every_call():
    with losslint.watch(action="collect") as outer:
        with losslint.watch(action="collect") as inner:
            for _ in range(50):
                F.cross_entropy(torch.randn(4, 3), torch.randint(0, 3, (4,)))
        for _ in range(50):
            F.cross_entropy(torch.randn(4, 3), torch.randint(0, 3, (4,)))
    assert (inner.calls, outer.calls) == (50, 100)


def test_the_same_watch_entered_around_each_step_keeps_its_steady_state():
    checker = Counting()
    w = losslint.watch(action="collect", checker=checker, policy=losslint.Policy(first=2, every=0))
    for _ in range(20):
        with w:
            F.mse_loss(torch.randn(8), torch.randn(8))
    assert checker.depths == ["values", "values", "metadata"] and w.calls == 20
