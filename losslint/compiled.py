"""Saying once that compiled code is not checked.

The hooks and `watch()` step aside under `torch.compile` (no graph break, no cost in compiled code),
so the loss calls inside a compiled function or module run unchecked. Rather than leave that
unsaid, losslint registers a Dynamo compile-start callback: the first compilation that starts while a
hook is attached or a watch is active in the thread gets one `UserWarning` saying what is not seen.

The callback is registered when a hook is attached or a watch entered, and only if `torch._dynamo`
is already imported (importing it costs seconds, and code cannot be compiled before it is): the
usual order, `model = torch.compile(model)` and then the hooks, is covered; a `torch.compile` called
for the first time after the hooks were set up compiles without the notice.
"""

from __future__ import annotations

import sys
import warnings

_said = False


def notice_when_compiling() -> None:
    """Register the compile-start callback, once (again after `torch._dynamo.reset()`, which clears it)."""
    if _said or "torch._dynamo" not in sys.modules:
        return
    try:
        from torch._dynamo.callback import callback_handler
    except ImportError:  # a torch without compile callbacks: nothing to say it with
        return
    if _on_compile_start not in callback_handler.start_callbacks:
        callback_handler.register_start_callback(_on_compile_start)


def _hooks_active() -> bool:
    from .hook import PRE_HOOK, _ATTACHED
    from .monitor import state

    return bool(state.watches) or any(hook._handles for hook in list(_ATTACHED.values())) or PRE_HOOK.calls > 0


def _on_compile_start(args: object) -> None:
    global _said
    if _said or not _hooks_active():
        return
    _said = True
    warnings.warn(
        "losslint: torch.compile is compiling code while losslint's hooks are active; loss calls inside "
        "compiled code run unchecked (losslint judges eager calls only). Check a compiled model's "
        "loss once in eager mode (losslint.check(), or one step without torch.compile).",
        UserWarning,
        stacklevel=2,
    )
