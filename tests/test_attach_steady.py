"""attach() in steady state: a call like the last clean one from its line is only counted, and anything a
metadata check depends on (the arguments' metadata, the module's configuration) makes it judged again."""

from __future__ import annotations

import torch
import torch.nn as nn

import losslint
from counting_checker import Counting


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


def test_one_wrapped_forward_serves_every_call_and_none_stays_after_remove():
    """attach() wraps the module's forward once (the judgement, the post-mortem, the claims and the
    explanation when torch raises) and registers no torch hook, so the module's calls keep torch's fast
    path: nothing is added or removed per call, and remove() leaves the module as it was."""
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    def call():
        return criterion(x, y)  # one call site

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=2, every=0)) as hook:
        wrapper = criterion.__dict__["forward"]
        assert not criterion._forward_pre_hooks and not criterion._forward_hooks
        for _ in range(5):  # two read, one judged at metadata depth, then only counted
            call()
            assert criterion.__dict__["forward"] is wrapper and not criterion._forward_hooks
        assert hook.calls == 5
    assert "forward" not in criterion.__dict__
    assert not criterion._forward_pre_hooks and not criterion._forward_hooks


def test_a_forward_the_module_already_had_of_its_own_is_wrapped_and_put_back():
    criterion = nn.CrossEntropyLoss()
    calls = []

    def own_forward(input, target, _plain=criterion.forward):
        calls.append(1)
        return _plain(input, target)

    criterion.forward = own_forward
    with losslint.attach(criterion, action="collect") as hook:
        criterion(torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,)))
    assert calls == [1] and hook.reports and criterion.__dict__["forward"] is own_forward


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


def test_a_line_run_under_no_grad_and_then_with_grad_is_judged_again():
    """SoftMarginLoss rejects a target that requires grad only while grad is enabled: one helper
    line used by an eval loop (no_grad) and then by the training loop is two different calls."""
    criterion = nn.SoftMarginLoss()
    # Fixed values: a random draw of four (torch.randn(4), whatever seed earlier tests left) is
    # sometimes all in (0, 1), which reads as probabilities (LL305, info) and is not what this tests.
    x = torch.tensor([1.5, -0.7, 0.2, -2.1], requires_grad=True)
    t = torch.tensor([1.0, -1.0, -1.0, 1.0]).requires_grad_()

    def loss_of(a, b):
        return criterion(a, b)  # one call site for both loops

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=1, every=0)) as hook:
        with torch.no_grad():
            for _ in range(5):
                loss_of(x, t)  # clean under no_grad: recorded, then only counted
        assert not hook.reports
        try:
            loss_of(x, t)
        except RuntimeError:
            pass  # torch rejects it
    assert [r.codes for r in hook.reports] == [["LL007"]] and hook.reports[0].errors[0].torch_raises


def test_a_list_argument_changed_in_place_is_judged_again():
    """CTCLoss takes its lengths as lists too, which can change in place: compared by value."""
    criterion = nn.CTCLoss()
    log_probs = torch.randn(6, 2, 4).log_softmax(2)
    targets = torch.randint(1, 4, (2, 3))
    input_lengths, target_lengths = [6, 6], [3, 3]

    def call():
        return criterion(log_probs, targets, input_lengths, target_lengths)  # one call site

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=1, every=0)) as hook:
        for _ in range(4):
            call()
        assert not hook.reports
        input_lengths[0] = 9  # longer than the 6 time steps there are
        try:
            call()
        except RuntimeError:
            pass
    assert hook.reports and hook.reports[0].errors and hook.calls == 5


def test_a_tensor_where_the_last_call_had_a_sequence_is_judged_without_an_internal_error():
    criterion = nn.CTCLoss()
    log_probs = torch.randn(6, 2, 4).log_softmax(2)
    targets = torch.randint(1, 4, (2, 3))

    def call(inputs, targets_):
        return criterion(log_probs, targets, inputs, targets_)  # one call site

    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=1, every=0)) as hook:
        for _ in range(3):
            call((6, 6), (3, 3))
        call(torch.tensor([6, 6]), torch.tensor([3, 3]))
        call(torch.tensor([6, 6]), torch.tensor([3, 3]))
    assert not hook.reports and hook.calls == 5


def test_values_calls_with_the_same_metadata_reuse_the_lines_plan(monkeypatch):
    """A site's first calls read values; those after the first with the same metadata take the
    metadata steps' conclusions from the line's record, without computing the engine's key, and
    still judge their own values."""
    from losslint.judging import engine

    keys = []
    real = engine._metadata_key
    monkeypatch.setattr(engine, "_metadata_key", lambda *a: keys.append(1) or real(*a))
    criterion = nn.CrossEntropyLoss()
    batches = [torch.randn(8, 5) for _ in range(9)] + [torch.randn(8, 5).softmax(1)]  # the last: probabilities
    y = torch.randint(0, 5, (8,))
    with losslint.attach(criterion, action="collect", policy=losslint.Policy(first=10, every=0)) as hook:
        for logits in batches:
            criterion(logits, y)  # one call site
    assert len(keys) == 1
    assert hook.calls == 10 and [r.codes for r in hook.reports] == [losslint.check(criterion, batches[-1], y).codes]
    assert hook.reports[0].codes  # the probabilities were seen on a call that reused the plan


def test_a_values_call_with_new_metadata_is_judged_with_its_own():
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with losslint.attach(criterion, action="collect") as hook:
        for target in (y, y, y.int(), y):
            try:
                criterion(x, target)  # one call site; the third call's target is int32
            except RuntimeError:
                pass  # torch releases that reject an int32 class index
    assert [r.codes for r in hook.reports] == [losslint.check(criterion, x, y.int()).codes] and hook.reports[0].count == 1


def test_calls_from_lines_that_alternate_are_counted_where_they_were_made():
    """The user's frame is guessed where it was last time (behind the same torch frame); lines that
    alternate, and a line one function deeper, are each counted as their own."""
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))

    def deeper():
        return criterion(x, y)

    with losslint.attach(criterion, action="collect") as hook:
        for _ in range(150):
            criterion(x, y)
            criterion(x, y)
            deeper()
    counts = sorted(n for n, _ in hook.sites.values())
    assert counts == [150, 150, 150] and hook.calls == 450 and len(hook.sites) == 3


def test_threads_counting_in_steady_state_lose_no_call():
    import threading

    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))

    def worker():
        for _ in range(500):
            criterion(x, y)  # one call site for every thread

    with losslint.attach(criterion, action="collect") as hook:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert hook.calls == 2000 and sum(n for n, _ in hook.sites.values()) == 2000
