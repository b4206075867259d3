"""attach() in steady state: a call like the last clean one from its line is only counted, and anything a
metadata check depends on (the arguments' metadata, the module's configuration) makes it judged again."""

from __future__ import annotations

import torch
import torch.nn as nn

import losslint


class Counting(losslint.Checker):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.depths: list = []

    def check_call(self, *args, depth, **kwargs):
        self.depths.append(depth)
        return super().check_call(*args, depth=depth, **kwargs)


def test_repeated_clean_calls_are_counted_and_changes_are_judged():
    checker = Counting()
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))

    def call(a, b):
        return criterion(a, b)  # one call site for all of them

    with losslint.attach(criterion, action="collect", checker=checker, policy=losslint.Policy(first=1, every=5)) as hook:
        for _ in range(6):
            # call 0: values; 1: metadata (the clean call later ones are compared with); 2-3: only
            # counted; 4 (every 5th): values; 5: counted
            call(x, y)
        assert checker.depths == ["values", "metadata", "values"] and hook.calls == 6 and hook.sites[next(iter(hook.sites))] == (6, 2)
        call(torch.randn(4, 5), y[:4])  # new shapes: judged
        criterion.reduction = "sum"  # new configuration: judged
        call(x, y)
        criterion.weight = torch.ones(5)  # a weight (a buffer's metadata): judged
        call(x, y)
        criterion.weight = torch.ones(3)  # a wrong weight is caught
        try:
            call(x, y)
        except RuntimeError:
            pass
    assert checker.depths == ["values", "metadata", "values"] + ["metadata"] * 4
    assert [r.codes for r in hook.reports] and hook.reports[-1].errors
