"""When torch raises on a hooked call whose values the sampling policy did not read (a corrupt label at
step 37: values are read on the first 10 calls, then 1 in 1000), losslint judges that call in full and
adds its explanation to torch's own exception, which keeps its type (losslint/hooks/raised.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.hooks.hook import PRE_HOOK

BAD_STEP = 37


def _batches(steps: int = 40):
    torch.manual_seed(0)
    batches = [(torch.randn(16, 8), torch.randint(0, 5, (16,))) for _ in range(steps)]
    batches[BAD_STEP][1][3] = 5  # a corrupt label: 5 classes, indices 0..4
    return batches


def _train(loss_fn, batches):
    """A plain training loop; returns the step torch raised at."""
    torch.manual_seed(0)
    model = nn.Linear(8, 5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        try:
            loss = loss_fn(model(x), y)
        except IndexError:
            return step, model
        loss.backward()
        optimizer.step()
    return None, model


def _explained(exc: BaseException) -> str:
    notes = getattr(exc, "__notes__", [])
    assert len(notes) == 1, notes
    return notes[0]


def _raised(loss_fn, batches) -> IndexError:
    torch.manual_seed(0)
    model = nn.Linear(8, 5)
    for x, y in batches:
        try:
            loss_fn(model(x), y).backward()
        except IndexError as exc:  # torch's own type, caught as users catch it
            return exc
    raise AssertionError("torch did not raise")


def test_attach_explains_torchs_error_on_an_unread_call():
    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion) as hook:
        exc = _raised(criterion, _batches())
        calls = hook.calls
    assert calls == BAD_STEP + 1 and hook.sites[next(iter(hook.sites))][1] < calls  # the call was not read
    note = _explained(exc)
    assert "Target 5 is out of bounds" in str(exc)  # torch's message, unchanged
    assert note.startswith("losslint: torch raised on a CrossEntropyLoss call") and "LL" in note
    [report] = hook.reports
    assert exc.losslint_report.codes == report.codes and report.location.startswith("tests/test_torch_raised.py:")


def test_pre_hook_explains_torchs_error_on_an_unread_call():
    criterion = nn.CrossEntropyLoss()
    handle = criterion.register_forward_pre_hook(losslint.pre_hook, with_kwargs=True)
    try:
        exc = _raised(criterion, _batches())
    finally:
        handle.remove()
    assert "Target 5" in str(exc) and exc.losslint_report.loss == "CrossEntropyLoss"
    assert exc.losslint_report.location in {r.location for r in PRE_HOOK.reports}
    _explained(exc)


@pytest.mark.parametrize("how", ["module", "functional", "thorough"])
def test_watch_explains_torchs_error_on_an_unread_call(how):
    # (F.cross_entropy looked up at the call, as code inside a watch does)
    loss_fn = nn.CrossEntropyLoss() if how == "module" else lambda out, y: F.cross_entropy(out, y)
    with losslint.watch(thorough=how == "thorough") as w:
        exc = _raised(loss_fn, _batches())
    assert "Target 5" in str(exc)
    note = _explained(exc)
    assert "judged in full after the error" in note
    assert [r.codes for r in w.reports] == [exc.losslint_report.codes]


def test_training_stops_at_the_same_step_and_identical_without_the_error():
    """The note changes nothing else: the loop stops where it stops without losslint, and a clean run
    trains bit-identically (the forward hook only reads)."""
    batches = _batches()
    plain_step, plain = _train(nn.CrossEntropyLoss(), batches)
    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion):
        step, hooked = _train(criterion, batches)
    assert step == plain_step == BAD_STEP
    for a, b in zip(plain.parameters(), hooked.parameters()):
        assert torch.equal(a, b)


def test_a_call_whose_values_were_read_gets_no_note():
    """A batch-size mismatch on a call the policy read (the first): judged in full before torch ran,
    recorded then (action="collect" lets torch raise), and not judged again after torch's error."""
    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion, action="collect") as hook:
        with pytest.raises(ValueError) as info:
            criterion(torch.randn(4, 5), torch.randint(0, 5, (3,)))
    assert not hasattr(info.value, "__notes__") and [r.count for r in hook.reports] == [1]
