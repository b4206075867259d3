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


def test_no_forward_hook_stays_on_the_module_in_steady_state():
    """A forward hook costs every call: only the calls whose values were read need one (the
    post-mortem), and it goes with the first call that is only counted."""
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    def call():
        return criterion(x, y)  # one call site

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=2, every=0)) as hook:
        for _ in range(2):
            call()
        assert len(criterion._forward_hooks) == 1  # the first calls share one
        for _ in range(3):  # one judged at metadata depth, then only counted
            call()
        assert len(criterion._forward_hooks) == 0 and hook.calls == 5
    assert not criterion._forward_pre_hooks and not criterion._forward_hooks


def test_a_buffer_changed_in_place_is_judged_again():
    criterion = nn.CrossEntropyLoss(weight=torch.ones(5))
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))

    def call():
        return criterion(x, y)

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=0, every=0)) as hook:
        for _ in range(3):
            call()
        criterion.weight.data = torch.ones(3)  # the same tensor object, another shape
        try:
            call()
        except RuntimeError:
            pass
    assert hook.reports and hook.reports[-1].errors and hook.reports[-1].findings[0].argument == "weight"


def test_the_post_mortem_still_runs_on_the_values_calls():
    criterion = nn.MSELoss()
    big = torch.full((4,), 1e30)
    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=1, every=0)) as hook:
        criterion(big, -big)  # inf: read on the first call
    assert [r.codes for r in hook.reports] and "LL608" in hook.reports[0].codes
