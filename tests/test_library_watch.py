"""watch() judges other libraries' losses where the user called them, once.

kornia's losses compute with primitives and call no torch loss: before, a watch saw nothing of them.
Now the rule's class (its `forward`) and functional are wrapped while a watch is active, and a call is
judged as that loss, with the instance's configuration, at the user's line; what it calls inside is
not judged again. The libraries' own rules are tested in tests/test_lib_*.py.
"""

import inspect

import pytest
import torch
import torch.nn.functional as F

import losslint
from conftest import need

kornia = need("kornia")


def here() -> str:
    return f"tests/test_library_watch.py:{inspect.currentframe().f_back.f_lineno}"


def one_hot(n=8, c=3):
    return F.one_hot(torch.randint(0, c, (n,)), c)


@pytest.mark.parametrize("thorough", [False, True])
def test_a_library_module_loss_is_judged_as_itself_at_the_users_line(thorough):
    loss = kornia.losses.FocalLoss(alpha=0.5)
    x, target = torch.randn(8, 3), one_hot()
    with losslint.watch(action="collect", thorough=thorough) as w:
        with pytest.raises(Exception):
            line = here()
            loss(x, target)
    line = line[: line.rindex(":") + 1] + str(int(line.rsplit(":", 1)[1]) + 1)  # the loss's line
    (report,) = w.reports
    assert report.loss == "kornia.FocalLoss" and report.codes == ["LL202"] and report.location == line
    assert report.context is None  # the user called it: no library line to add
    assert w.calls == 1


def test_a_library_functional_is_judged_and_what_it_calls_inside_is_not():
    x, target = torch.randn(8, 3), torch.randint(0, 3, (8,))
    with losslint.watch(action="collect") as w:
        kornia.losses.focal_loss(x.softmax(1), target, alpha=0.5); line = here()  # noqa: E702
    (report,) = w.reports
    assert report.loss == "kornia.FocalLoss" and "LL301" in report.codes and report.location == line
    assert w.calls == 1


def test_a_correct_call_is_quiet_and_its_result_unchanged():
    torch.manual_seed(0)
    x, target = torch.randn(8, 3, requires_grad=True), torch.randint(0, 3, (8,))
    loss = kornia.losses.FocalLoss(alpha=0.5, reduction="mean")
    plain = loss(x, target)
    (plain_grad,) = torch.autograd.grad(plain, x)
    with losslint.watch(action="raise") as w:
        watched = loss(x, target)
    (watched_grad,) = torch.autograd.grad(watched, x)
    assert w.reports == [] and w.calls == 1
    assert torch.equal(plain, watched) and torch.equal(plain_grad, watched_grad)


def test_attach_and_watch_judge_a_call_once():
    loss = kornia.losses.FocalLoss(alpha=0.5)
    hook = losslint.attach(loss, action="collect")
    x = torch.randn(8, 3)
    with losslint.watch(action="collect") as w:
        with pytest.raises(Exception):
            loss(x, one_hot())
    assert len(hook.reports) == 1 and len(w.reports) == 1 and w.reports[0].count == 1
    hook.remove()


def test_the_library_is_left_as_it_was():
    forward, functional = kornia.losses.FocalLoss.forward, kornia.losses.focal_loss
    with losslint.watch():
        assert kornia.losses.FocalLoss.forward is not forward
        with losslint.watch():
            pass
        assert kornia.losses.FocalLoss.forward is not forward  # the outer watch still holds it
    assert kornia.losses.FocalLoss.forward is forward and kornia.losses.focal_loss is functional


def test_a_stop_comes_before_the_library_raises():
    loss = kornia.losses.FocalLoss(alpha=0.5)
    with losslint.watch(action="auto"):
        with pytest.raises(losslint.LossLintError) as raised:
            loss(torch.randn(8, 3), torch.randint(0, 3, (8,)).float())
    assert raised.value.report.loss == "kornia.FocalLoss" and "LL102" in raised.value.report.codes
