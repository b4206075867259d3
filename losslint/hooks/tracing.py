"""Compiled code checked while it compiles: metadata checks on Dynamo's fake tensors, no runtime cost.

Inside a `watch()`, a loss call that `torch.compile` traces goes through losslint's wrapper of the
functional (`intercept`), where `torch.compiler.is_compiling()` is true. There the wrapper adds a
call of a custom op, `losslint::check_loss(tensors, key)`:

- `key` names a descriptor kept here (the loss, where each tensor goes among the arguments, the other
  arguments' constant values), made by `_describe`, which Dynamo runs once while tracing and treats
  as a constant (`torch._dynamo.assume_constant_result`);
- the op's fake implementation runs while Dynamo traces it, with the call's fake tensors: real
  shapes, dtypes and devices, no values. That is where the metadata checks run, and the finding is
  reported at the user's line (Dynamo's stack of the traced frames), once per call site and set of
  findings: recompilations and AOT autograd's own re-tracing do not report it again;
- the op returns nothing and mutates nothing, so the compiled graph drops it (dead code, in
  aot_eager and Inductor alike); its real implementation does nothing either. No graph break.

What it cannot do: read values (a class index out of range, probabilities where logits belong are
value checks; the finding says that values were not read), and a shape Dynamo made symbolic (a
recompilation with `dynamic=True` shapes) is not checked, since comparing symbolic sizes would add
guards to the user's graph.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import threading
import warnings
from typing import Any

import torch

from ..evidence import callsite

_lock = threading.Lock()
_keys = itertools.count(1)
# key -> (loss: a functional's name, or the id() of a hooked loss module; positional template,
# keyword template, owner: None for a watch's functional, "attach" or "pre_hook" for a module's hook)
_DESCRIPTORS: dict[int, tuple] = {}
# The compiled functions (root code objects) in which some monitor found something while compiling.
# A monitor remembers what it judged (`Monitor._compiled`), never the process: a later watch or hook
# whose compiled code is already cached would otherwise see nothing, since cached code is not traced
# again. `recompile_for` makes Dynamo trace such code once more for a monitor that has not seen it.
_FOUND_IN: dict[object, None] = {}
_CONSTANTS = (int, float, bool, str, type(None))

NOTE = "checked while torch.compile traced the call: shapes, dtypes and devices only, values were not read"


@torch._dynamo.assume_constant_result
def _describe(loss: Any, positional: tuple, keywords: tuple, owner: str | None = None) -> int:
    # `loss`: a functional's name, or for a module's hook the module's id() (hook.TRACEABLE): only
    # constants reach a function Dynamo assumes constant, on every release.
    with _lock:
        key = next(_keys)
        if len(_DESCRIPTORS) > 4096:  # one per traced loss call: bounded all the same
            _DESCRIPTORS.clear()
        _DESCRIPTORS[key] = (loss, positional, keywords, owner)
    return key


@torch._dynamo.assume_constant_result
def device_asserts_wanted() -> bool:
    """Whether the innermost watch asks for device asserts (`losslint.hooks.device_asserts`); read once while
    Dynamo traces, a constant of the graph."""
    from .monitor import state

    return bool(state.watches) and getattr(state.watches[-1], "device_asserts", False)


def _template(value: Any, tensors: list) -> tuple:
    if isinstance(value, torch.Tensor):
        tensors.append(value)
        return ("t", len(tensors) - 1)
    if isinstance(value, _CONSTANTS):
        return ("c", value)
    return ("u", None)  # a callable, a list, ...: the call is not checked while compiling


def check_while_compiling(loss: str, args: tuple, kwargs: dict) -> None:
    """Traced by Dynamo inside the wrapper of a loss functional: adds the checking op to the graph."""
    tensors: list = []
    positional = tuple(_template(value, tensors) for value in args)
    keywords = tuple((name, _template(value, tensors)) for name, value in kwargs.items())
    key = _describe(loss, positional, keywords)
    torch.ops.losslint.check_loss(tensors, key)


def check_module_while_compiling(module: torch.nn.Module, args: tuple, kwargs: dict, owner: str) -> None:
    """Traced by Dynamo inside a loss module's forward pre-hook (`owner`: "attach" or "pre_hook"): the
    same checking op, judged with the module's configuration by the hook's monitor."""
    tensors: list = []
    positional = tuple(_template(value, tensors) for value in args)
    keywords = tuple((name, _template(value, tensors)) for name, value in kwargs.items())
    key = _describe(id(module), positional, keywords, owner)
    torch.ops.losslint.check_loss(tensors, key)


def recompile_for(monitor) -> None:
    """Compiled code in which another monitor found something is traced again the next time it runs,
    so that this monitor (a new watch, a new hook) judges it too; once per monitor and code. Clean
    code, and code this monitor judged already, keep their compiled form."""
    if not _FOUND_IN or torch.compiler.is_compiling():
        return
    seen = monitor._compiled_codes
    # Not a function running now (a watch entered inside it, after a graph break): its cache is in use.
    running = set()
    frame = sys._getframe(1)
    while frame is not None:
        running.add(frame.f_code)
        frame = frame.f_back
    with _lock:
        codes = [code for code in _FOUND_IN if code not in seen and code not in running]
        seen.update(codes)
    for code in codes:
        torch._dynamo.reset_code(code)


def _root_code():
    """The code object Dynamo is compiling (the compiled function's), or None."""
    try:
        from torch._dynamo.symbolic_convert import InstructionTranslator

        return InstructionTranslator.current_tx().output.root_tx.f_code
    except Exception:  # noqa: BLE001 - another release's internals: the code is then not traced again
        return None


def _monitor_of(module: torch.nn.Module, owner: str):
    """The monitor that judges a module's compiled call: its attach() hook, or the plain pre_hook's
    (unless an attach() hook on the same module judges it, as in eager mode)."""
    from .hook import _ATTACHED, PRE_HOOK

    hook = _ATTACHED.get(module)
    attached = hook if hook is not None and hook._handles else None
    if owner == "attach":
        return attached
    return PRE_HOOK if attached is None else None


def _hooked_module(key: int) -> torch.nn.Module | None:
    """The hooked module whose id() is `key`: attach() recorded it (hook.TRACEABLE); a plain pre_hook
    whose module's first call is being compiled did not, and the module is then read from the frames
    Dynamo is tracing (the hook's own `module` argument), then recorded for the traces that follow.
    Not found (another release's internals): the call is not checked while compiling."""
    from .hook import TRACEABLE

    module = TRACEABLE.get(key)
    if module is not None:
        return module
    # Dynamo's translators of the frames being traced are on the Python stack below this fake kernel:
    # the one of the hook's frame holds `module` among its symbolic locals. Walked once per module.
    frame = sys._getframe(1)
    while frame is not None:
        symbolic = getattr(frame.f_locals.get("self"), "symbolic_locals", None)
        for variable in symbolic.values() if isinstance(symbolic, dict) else ():
            value = getattr(variable, "value", None)
            if isinstance(value, torch.nn.Module) and id(value) == key:
                TRACEABLE[key] = value
                return value
        frame = frame.f_back
    return None


def _nothing(tensors: list[torch.Tensor], key: int) -> None:
    """At run time: nothing (and compiled graphs drop the call: it has no output and no effect)."""
    return None


def _fake(tensors: list[torch.Tensor], key: int) -> None:
    # Through sys.modules: an earlier import of this module (a test harness re-importing losslint)
    # registered the op, and the module in use now is the one whose state the watches share.
    module = sys.modules.get(__name__)
    try:
        module._judge(tensors, key)
    except Exception as exc:  # noqa: BLE001 - a compilation must never fail because of losslint
        from .monitor import _internal_failure

        _internal_failure(exc, None, None)
    return None


try:
    # The schema is spelled out: schema inference from annotations differs between torch releases
    # (older ones reject `list[torch.Tensor]`, and this module's annotations are strings).
    _op = torch.library.custom_op("losslint::check_loss", _nothing, mutates_args=(), schema="(Tensor[] tensors, int key) -> ()")
    _op.register_fake(_fake)
except RuntimeError:  # already registered in this process (see _fake)
    pass


def _user_location() -> tuple[str, str, int] | None:
    """(the user's line, its file, its line number) among the frames Dynamo is tracing; None when
    Dynamo is not the one tracing (AOT autograd traces the graph again, with no Python frames)."""
    from torch._guards import TracingContext

    if TracingContext.try_get() is None:
        return None
    for frame in reversed(TracingContext.extract_stack()):
        if not callsite._skipped(frame.filename):
            filename, cwd = frame.filename, os.getcwd() + os.sep
            shown = filename[len(cwd):] if os.path.isabs(filename) and filename.startswith(cwd) else filename
            return f"{shown}:{frame.lineno}", frame.filename, frame.lineno
    return None


def _judge(tensors: list, key: int) -> None:
    from .monitor import state

    described = _DESCRIPTORS.get(key)
    if described is None or state.busy:
        return
    loss, positional, keywords, owner = described
    if owner is None:  # a functional, seen by the innermost watch
        if not state.watches:
            return
        monitor = state.watches[-1]
    else:  # a loss module, seen by its hook
        loss = _hooked_module(loss)
        monitor = _monitor_of(loss, owner) if loss is not None else None
        if monitor is None:
            return
    where = _user_location()
    if where is None:
        return
    location = where[0]
    if any(kind == "u" for kind, _ in (*positional, *(t for _, t in keywords))):
        return
    if any(not isinstance(size, int) for tensor in tensors for size in tensor.shape):
        return  # symbolic sizes: see the module's docstring
    identity = loss if owner is None else (type(loss).__name__, id(loss))
    signature = (location, identity, tuple((tuple(t.shape), t.dtype, t.device.type) for t in tensors), positional, keywords)
    with _lock:
        # Per monitor: each watch or hook judges a call site once, however often it is compiled.
        judged = monitor._compiled
        if signature in judged:
            return
        if len(judged) > 4096:
            judged.clear()
        judged.add(signature)

    def value(template: tuple):
        kind, item = template
        return tensors[item] if kind == "t" else item

    args = tuple(value(t) for t in positional)
    kwargs = {name: value(t) for name, t in keywords}
    _report(monitor, loss, args, kwargs, where, signature, watches=owner is None)


def _report(watch, loss: Any, args: tuple, kwargs: dict, where: tuple[str, str, int], signature: tuple = (), watches: bool = True) -> None:
    """Judge at metadata depth, record (in every active watch too, for a watch's call), warn once.
    Never raises: torch raises its own error on the same fake tensors right after, and the warning
    has said why first. A hook's call is recorded by the hook only: the watches judge the functional
    that the module's forward calls next, as they would in eager mode after the hook's claim."""
    from ..errors import LossLintWarning
    from .monitor import state
    from ..judging.suppress import apply_suppressions

    location, filename, lineno = where
    state.busy = True
    try:
        with torch._C.DisableTorchFunction():
            report = watch.checker.check_call(loss, args, kwargs, depth="metadata")
        if not report.findings:
            with watch._lock:
                watch._calls += 1
            return
        report = apply_suppressions(dataclasses.replace(note(report), location=location))
        mine, new = watch._record(report)
        code = _root_code()
        if code is not None:
            with _lock:
                if len(_FOUND_IN) > 4096:
                    _FOUND_IN.clear()
                _FOUND_IN[code] = None
                watch._compiled_codes.add(code)
        for other in dict.fromkeys(state.watches) if watches else ():
            if other is not watch:
                other._record(report)
                with _lock:
                    other._compiled.add(signature)
                    if code is not None:
                        other._compiled_codes.add(code)
    finally:
        state.busy = False
    if mine is not None and new and watch.action not in ("collect", "stop") and (mine.errors or mine.warnings):
        warnings.warn_explicit(str(mine), LossLintWarning, filename, lineno, module=os.path.splitext(os.path.basename(filename))[0])


def note(report):
    """The report with each finding saying how it was found."""
    findings = [dataclasses.replace(f, explanation=f"{f.explanation} ({NOTE})" if f.explanation else NOTE) for f in report.findings]
    return dataclasses.replace(report, findings=findings)
