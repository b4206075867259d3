"""The default watch()'s mechanism (losslint/hooks/intercept.py): the loss functionals and producer ops are
wrapped while a watch is active, restored exactly, per thread, and what it cannot see is what
`watch(thorough=True)` is for."""

from __future__ import annotations

import functools
import threading

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from counting_checker import Counting
from losslint.hooks import intercept

WRAPPED = [(F, "cross_entropy"), (F, "nll_loss"), (F, "softmax"), (torch, "sigmoid"), (torch.special, "expit")]


def snapshot():
    return {(owner.__name__, name): vars(owner).get(name) for owner, name in WRAPPED} | {
        ("Tensor", name): vars(torch.Tensor).get(name) for name in ("softmax", "log_softmax", "sigmoid")
    }


def test_functions_are_wrapped_inside_and_restored_exactly_after():
    before = snapshot()
    assert before[("Tensor", "softmax")] is None  # a method of TensorBase, not of Tensor
    with losslint.watch(action="collect"):
        inside = snapshot()
        with losslint.watch(action="collect"):  # nested: wrapped once
            assert snapshot() == inside
        assert snapshot() == inside
    assert all(inside[key] is not before[key] for key in before)
    assert snapshot() == before and not intercept.installed()


def test_a_watch_raising_on_exit_path_still_restores():
    before = snapshot()
    with pytest.raises(losslint.LossLintError):
        with losslint.watch():
            F.cross_entropy(torch.randn(4, 3), torch.tensor([0, 1, 2, 5]))
    assert snapshot() == before


def test_someone_elses_wrapper_is_left_in_place_and_ours_passes_through():
    original = F.cross_entropy
    seen = []

    def theirs(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            seen.append(1)
            return func(*args, **kwargs)

        return wrapper

    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    try:
        with losslint.watch(action="collect") as w:
            F.cross_entropy = theirs(F.cross_entropy)  # wrapped over losslint's wrapper
            F.cross_entropy(logits.softmax(1), y)
        assert F.cross_entropy.__wrapped__ is not original  # theirs still wraps ours, now retired
        assert w.calls == 1 and [r.codes for r in w.reports] == [["LL301"]]
        with losslint.watch(action="collect") as again:
            F.cross_entropy(logits.softmax(1), y)  # judged once, by the new wrapper only
        assert again.calls == 1 and len(seen) == 2
        F.cross_entropy(logits, y)  # no watch: everything passes through
        assert len(seen) == 3
    finally:
        F.cross_entropy = original


def test_a_watch_entered_again_puts_back_the_same_wrappers_unless_a_function_was_replaced_in_between():
    """The callbacks enter a watch around every step: the second install reuses the first's wrappers
    (compiled code guarded on them is not recompiled), and a function replaced between two watches is
    wrapped as it now is, then restored to the replacement."""
    original = F.mse_loss
    with losslint.watch(action="collect"):
        first = snapshot()
    with losslint.watch(action="collect"):
        assert snapshot() == first
    calls = []

    def replaced(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    try:
        F.mse_loss = replaced
        with losslint.watch(action="collect") as w:
            assert F.mse_loss is not replaced and F.mse_loss.__losslint_original__ is original
            F.mse_loss(torch.zeros(4, 1), torch.zeros(4))
        assert calls and [r.codes for r in w.reports] == [["LL205"]]  # the replacement ran, and the call was judged
        assert F.mse_loss is replaced
    finally:
        F.mse_loss = original
    with losslint.watch(action="collect"):
        assert F.mse_loss is not replaced and F.mse_loss.__losslint_original__ is original
    assert F.mse_loss is original and not intercept.installed()


def test_other_threads_pass_straight_through_and_keep_the_wrappers_alive():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    entered, release = threading.Event(), threading.Event()
    other = {}

    def worker():
        with losslint.watch(action="collect") as w:
            entered.set()
            release.wait(10)
            F.cross_entropy(logits, y)
        other["calls"] = w.calls

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait(10)
    with losslint.watch(action="collect") as mine:
        F.cross_entropy(logits.softmax(1), y)
    assert intercept.installed()  # the other thread's watch is still active
    F.cross_entropy(logits.softmax(1), y)  # this thread has no watch: not seen by the other's
    release.set()
    thread.join()
    assert mine.calls == 1 and other["calls"] == 1 and not intercept.installed()


def test_nested_watches_judge_a_call_once_and_both_record_it():
    counting = Counting()
    criterion = nn.CrossEntropyLoss()
    with losslint.watch(action="collect") as outer, losslint.watch(action="collect", checker=counting) as inner:
        with losslint.attach(criterion, action="collect") as hook:
            criterion(torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,)))
        F.cross_entropy(torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,)))
    assert len(counting.depths) == 1  # the module call was the hook's
    assert hook.calls == 1 and inner.calls == 2 and outer.calls == 2
    assert [r.codes for r in outer.reports] == [r.codes for r in inner.reports] == [["LL301"], ["LL301"]]


def test_a_function_imported_by_name_before_the_block_needs_thorough():
    from torch.nn.functional import cross_entropy  # bound before any watch is entered

    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with losslint.watch(action="collect") as cheap:
        cross_entropy(logits.softmax(1), y)
    with losslint.watch(action="collect", thorough=True) as thorough:
        cross_entropy(logits.softmax(1), y)
    assert cheap.calls == 0 and thorough.calls == 1 and thorough.reports[0].codes == ["LL301"]


def test_origins_follow_views_by_default_and_copies_only_when_thorough():
    logits, y = torch.randn(2, 4, 5), torch.randint(0, 5, (8,))
    metadata = losslint.Policy(first=0, every=0)  # evidence from the producer only, never values
    with losslint.watch(action="collect", policy=metadata) as cheap:
        probs = logits.softmax(-1)
        F.cross_entropy(probs.view(-1, 5), y)  # a view: its ._base is the softmax output
        F.cross_entropy(probs.flatten(0, 1)[:, :], y)  # views of views keep the first base
        F.cross_entropy(probs.view(-1, 5).clone(), y)  # a copy: not seen by default
    with losslint.watch(action="collect", policy=metadata, thorough=True) as thorough:
        probs = logits.softmax(-1)
        F.cross_entropy(probs.view(-1, 5).clone(), y)
    assert [r.codes for r in cheap.reports] == [["LL301"], ["LL301"]]
    assert [r.codes for r in thorough.reports] == [["LL301"]]


def test_thorough_and_default_watches_nest():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with losslint.watch(action="collect") as cheap, losslint.watch(action="collect", thorough=True) as thorough:
        F.cross_entropy(logits.softmax(1), y)
        nn.CrossEntropyLoss()(logits.log_softmax(1), y)
    assert thorough.calls == cheap.calls == 2
    assert [r.codes for r in cheap.reports] == [r.codes for r in thorough.reports] == [["LL301"], ["LL307"]]


def test_library_code_calling_through_the_module_attribute_is_seen():
    # As HuggingFace models write it (tests/test_transformers.py runs real ones).
    class Head(nn.Module):
        def forward(self, hidden, labels):
            logits = nn.functional.softmax(hidden, dim=-1)
            return nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))

    with losslint.watch(action="collect") as w:
        Head()(torch.randn(2, 4, 5), torch.randint(0, 5, (2, 4)))
    [report] = w.reports
    assert report.codes == ["LL301"] and "`F.softmax`" in report.findings[0].message


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_metadata_path_never_syncs_on_a_gpu():
    model = nn.Linear(16, 5).cuda()
    x, y = torch.randn(64, 16, device="cuda"), torch.randint(0, 5, (64,), device="cuda")
    metadata = losslint.Policy(first=0, every=0)
    criterion = nn.CrossEntropyLoss()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with losslint.watch(action="collect", policy=metadata) as w, losslint.attach(criterion, action="collect", policy=metadata):
            for _ in range(3):
                criterion(model(x).softmax(1), y).backward()
                F.cross_entropy(model(x), y).backward()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert w.calls == 6
