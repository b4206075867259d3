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
_DESCRIPTORS: dict[int, tuple] = {}  # key -> (loss name, positional template, keyword template)
_JUDGED: set[tuple] = set()  # (location, loss, argument metadata) already judged while compiling
_CONSTANTS = (int, float, bool, str, type(None))

NOTE = "checked while torch.compile traced the call: shapes, dtypes and devices only, values were not read"


@torch._dynamo.assume_constant_result
def _describe(loss: str, positional: tuple, keywords: tuple) -> int:
    with _lock:
        key = next(_keys)
        if len(_DESCRIPTORS) > 4096:  # one per traced loss call: bounded all the same
            _DESCRIPTORS.clear()
        _DESCRIPTORS[key] = (loss, positional, keywords)
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
    if described is None or not state.watches or state.busy:
        return
    where = _user_location()
    if where is None:
        return
    location = where[0]
    loss, positional, keywords = described
    if any(kind == "u" for kind, _ in (*positional, *(t for _, t in keywords))):
        return
    if any(not isinstance(size, int) for tensor in tensors for size in tensor.shape):
        return  # symbolic sizes: see the module's docstring
    signature = (location, loss, tuple((tuple(t.shape), t.dtype, t.device.type) for t in tensors), positional, keywords)
    with _lock:
        if signature in _JUDGED:
            return
        if len(_JUDGED) > 4096:
            _JUDGED.clear()
        _JUDGED.add(signature)

    def value(template: tuple):
        kind, item = template
        return tensors[item] if kind == "t" else item

    args = tuple(value(t) for t in positional)
    kwargs = {name: value(t) for name, t in keywords}
    _report(state.watches[-1], loss, args, kwargs, where)


def _report(watch, loss: str, args: tuple, kwargs: dict, where: tuple[str, str, int]) -> None:
    """Judge at metadata depth, record in every active watch, warn once. Never raises: torch raises
    its own error on the same fake tensors right after, and the warning has said why first."""
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
        for other in dict.fromkeys(state.watches):
            if other is not watch:
                other._record(report)
    finally:
        state.busy = False
    if mine is not None and new and watch.action not in ("collect", "stop") and (mine.errors or mine.warnings):
        warnings.warn_explicit(str(mine), LossLintWarning, filename, lineno, module=os.path.splitext(os.path.basename(filename))[0])


def note(report):
    """The report with each finding saying how it was found."""
    findings = [dataclasses.replace(f, explanation=f"{f.explanation} ({NOTE})" if f.explanation else NOTE) for f in report.findings]
    return dataclasses.replace(report, findings=findings)
