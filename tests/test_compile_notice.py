"""Under torch.compile a thorough watch's mode steps aside; losslint says so once instead of skipping compiled
code silently. attach() and a default watch() check compiled code (tests/test_compiled_hooks.py): no notice."""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn

import losslint
from losslint.hooks import compiled


def _notices(caught) -> list[str]:
    return [str(w.message) for w in caught if str(w.message).startswith("losslint: torch.compile")]


def _compiled_loss(monkeypatch):
    """A loss module and a compiled step that calls it, with Dynamo and the notice both fresh."""
    import torch._dynamo  # noqa: F401 - as a program that called torch.compile has

    torch._dynamo.reset()
    monkeypatch.setattr(compiled, "_said", False)
    criterion = nn.CrossEntropyLoss()
    return criterion, torch.compile(lambda x, y: criterion(x, y), backend="eager")


def test_compiling_inside_a_thorough_watch_is_said_once_and_under_attach_not(monkeypatch):
    criterion, step = _compiled_loss(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))  # no watch yet: nothing to say
        torch._dynamo.reset()
        with losslint.attach(criterion):  # checks compiled calls: nothing to say either
            step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
        assert _notices(caught) == []
        torch._dynamo.reset()  # compile anew (reset also clears Dynamo's callbacks: the watch registers again)
        with losslint.watch(thorough=True):
            step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
            step(torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1]))  # a recompilation (new shape)
    [notice] = _notices(caught)
    assert "loss calls inside compiled code run unchecked" in notice
    torch._dynamo.reset()


def test_the_notice_is_at_the_users_line_that_compiled(monkeypatch):
    """Warned at the line that called the compiled function (the first frame outside torch and
    losslint), not at torch/_dynamo/callback.py, so that warning filters and a reader land there."""
    import sys

    criterion, step = _compiled_loss(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with losslint.watch(thorough=True):
            line = sys._getframe().f_lineno + 1
            step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    [notice] = [w for w in caught if str(w.message).startswith("losslint: torch.compile")]
    assert (notice.filename, notice.lineno) == (__file__, line), (notice.filename, notice.lineno)
    assert notice.category is UserWarning
    torch._dynamo.reset()


def test_compiling_inside_a_thorough_watch_is_said_too_and_inside_a_default_watch_not(monkeypatch):
    import torch._dynamo  # noqa: F401

    import weakref

    from losslint.hooks import hook

    torch._dynamo.reset()
    monkeypatch.setattr(compiled, "_said", False)
    # No hook left attached by earlier tests, and no plain pre_hook used: only the watches here.
    monkeypatch.setattr(hook, "_ATTACHED", weakref.WeakKeyDictionary())
    monkeypatch.setattr(hook.PRE_HOOK, "_calls", 0)
    step = torch.compile(lambda x, y: torch.nn.functional.cross_entropy(x, y), backend="eager")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with losslint.watch():  # checks compiled loss calls while they compile (tests/test_tracing.py)
            step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
        assert _notices(caught) == []
        torch._dynamo.reset()
        with losslint.watch(thorough=True):
            step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    assert len(_notices(caught)) == 1
    torch._dynamo.reset()


def test_hooks_set_up_before_the_first_torch_compile_still_say_it():
    # torch._dynamo is imported by the first torch.compile, after the hook here: losslint learns of it
    # through a one-shot import hook (a fresh interpreter, so that Dynamo is not imported yet).
    import subprocess
    import sys

    code = (
        "import sys, warnings, torch, torch.nn as nn, losslint\n"
        "assert 'torch._dynamo' not in sys.modules\n"
        "criterion = nn.CrossEntropyLoss()\n"
        "w = losslint.watch(thorough=True).__enter__()\n"
        "step = torch.compile(lambda x, y: criterion(x, y), backend='eager')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    step(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))\n"
        "print(sum(str(w.message).startswith('losslint: torch.compile') for w in caught))\n"
        "print(any(type(f).__name__ == '_WhenDynamoLoads' for f in sys.meta_path))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False"]  # said once; the import hook took itself away
