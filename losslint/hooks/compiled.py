"""Saying once where compiled code is not checked.

A default `watch()`, `attach()` and `pre_hook` check the loss calls of compiled code while Dynamo traces
them (`tracing`). `watch(thorough=True)` steps aside under `torch.compile` (no graph break, no cost in
compiled code), so the loss calls it would see inside a compiled function or module run unchecked by
its mode. Rather than leave that unsaid, losslint registers a Dynamo compile-start callback: the first
compilation that starts while one is active gets one `UserWarning` saying what is not seen.

The callback is registered when a hook is attached or a watch entered. Importing `torch._dynamo`
costs seconds, so losslint never imports it: when it is already imported (`torch.compile` imports it
when called) the callback is registered at once; otherwise a one-shot import hook registers it when
Dynamo's callback module is first imported, i.e. at the first `torch.compile` after the hooks.
"""

from __future__ import annotations

import os
import sys

_said = False


_CALLBACKS = "torch._dynamo.callback"


def notice_when_compiling() -> None:
    """Register the compile-start callback, once (again after `torch._dynamo.reset()`, which clears it)."""
    if _said:
        return
    module = sys.modules.get(_CALLBACKS)
    if module is None:
        if "torch._dynamo" in sys.modules:
            try:
                import torch._dynamo.callback as module  # noqa: F811 - imported with Dynamo; cheap now
            except ImportError:  # a torch without compile callbacks: nothing to say it with
                return
        else:
            if not any(isinstance(finder, _WhenDynamoLoads) for finder in sys.meta_path):
                sys.meta_path.insert(0, _WhenDynamoLoads())
            return
    _register(module)


def recompile_for(monitor) -> None:
    """A new watch or hook: compiled code in which an earlier one found something is traced again for
    it (`tracing.recompile_for`). Nothing to do, and nothing imported, while `tracing` is not
    imported: it imports Dynamo (seconds), and no code was checked while compiling before it was."""
    tracing = sys.modules.get(__name__.rpartition(".")[0] + ".tracing")
    if tracing is not None:
        tracing.recompile_for(monitor)


def _register(module) -> None:
    handler = getattr(module, "callback_handler", None)
    if handler is not None and _on_compile_start not in handler.start_callbacks:
        handler.register_start_callback(_on_compile_start)


class _WhenDynamoLoads:
    """A meta path finder that answers nothing itself: when Dynamo's callback module is found by the
    other finders, its loading is followed by the registration, and this finder takes itself away."""

    def find_spec(self, name, path=None, target=None):
        if name != _CALLBACKS:
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module):
            original(module)
            try:
                _register(module)
            except Exception:  # noqa: BLE001 - a notice must never break torch's import
                pass

        loader.exec_module = exec_module
        return spec


def _hooks_active() -> bool:
    from .monitor import state

    # A default watch() (its loss wrappers) and the hooks (their pre-hooks) check compiled loss calls
    # while they compile (tracing.py): only a thorough watch (a TorchFunctionMode, which steps aside)
    # leaves compiled code unchecked.
    return any(getattr(watch, "thorough", False) for watch in state.watches)


def _on_compile_start(*args: object) -> None:
    # Dynamo passes the compile's arguments to start callbacks in newer releases and nothing in older
    # ones (a fixed one-argument signature made torch.compile raise TypeError there).
    global _said
    if _said or not _hooks_active():
        return
    _said = True
    from .monitor import _warn_at

    # At the user's line that started the compilation (the call of the compiled function), not at
    # Dynamo's callback module: warning filters, pytest and a reader of the log land on their code.
    _warn_at(
        "losslint: torch.compile is compiling code inside watch(thorough=True); loss calls inside "
        "compiled code run unchecked by its mode, which judges eager calls only. A default "
        "losslint.watch() and attach() check compiled loss calls while they compile (shapes, dtypes, "
        "configuration; no values); or check the loss once in eager mode (losslint.check()).",
        UserWarning,
        _compiling_frame(),
    )


def _compiling_frame():
    """The first frame outside torch, losslint and the standard library: Dynamo runs its start
    callbacks from a context manager's __enter__ (contextlib.py), which is nobody's line."""
    from ..evidence.callsite import user_frame

    frame = user_frame(sys._getframe(1))
    while frame is not None and _in_stdlib(frame.f_code.co_filename):
        # (user_frame(None) would start from here again)
        frame = user_frame(frame.f_back) if frame.f_back is not None else None
    return frame


def _in_stdlib(filename: str) -> bool:
    import sysconfig

    stdlib = os.path.join(os.path.abspath(sysconfig.get_paths()["stdlib"]), "")
    return filename.startswith(stdlib) and os.sep + "site-packages" + os.sep not in filename and os.sep + "dist-packages" + os.sep not in filename

