"""`attach()` and `pre_hook`: losslint on a loss module, as a forward pre-hook.

    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion) as hook:     # or hook = losslint.attach(criterion); hook.remove()
        train(model, criterion)
    hook.reports

    criterion.register_forward_pre_hook(losslint.pre_hook)   # the plain form, no handle
    criterion.register_forward_pre_hook(losslint.pre_hook, with_kwargs=True)

The hook judges each call before the loss runs, with the module's configuration (`weight`,
`ignore_index`, `reduction`, ...) read from the module, and returns nothing: the arguments reach the
loss untouched. Under `torch.compile` it does nothing, so Dynamo traces it away without a graph break.
"""

from __future__ import annotations

import operator
import sys
import threading
import weakref
from typing import Any, Iterable

import torch

from . import callsite
from .compiled import notice_when_compiling
from .config import ConfigError
from .engine import Checker
from .findings import LossLintError
from .monitor import Action, Monitor, claim, release, state
from .policy import Policy


def _facts(value: object) -> object:
    if type(value) is torch.Tensor:
        return (value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return (type(value), id(value))


def _metadata_key(hook: "Hook", module: torch.nn.Module, args: tuple, kwargs: dict) -> tuple:
    """What a metadata check of this call depends on: the arguments' metadata, and the module's
    configuration (its plain attributes, as the objects they are, and its buffers' metadata)."""
    return (
        tuple(map(_facts, args)),
        tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else (),
        hook._config(module.__dict__) if hook._config is not None else (),
        tuple(map(_facts, module._buffers.values())) if module._buffers else (),
    )


def _same(a: tuple | None, b: tuple) -> bool:
    """Equal metadata, and the very same configuration objects (`is`: a tensor attribute is not
    compared by value). The configuration tuples have the same length: the names are fixed at
    attach time."""
    return a is not None and a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and all(map(operator.is_, a[2], b[2]))


def _origin():
    """What the innermost active watch() knows about how tensors were made, if one is active."""
    return state.watches[-1].provenance.get if state.watches else None


class Hook(Monitor):
    """The handle `attach()` returns: `.reports`, `.calls`, `.remove()`, and a context manager."""

    def __init__(self, module: torch.nn.Module, *, action: Action = "auto", policy: Policy | None = None, checker: Checker | None = None, **selection: Any):
        super().__init__(action=action, policy=policy, checker=checker, **selection)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"attach() takes a loss module, got {type(module).__name__}")
        # An unknown module raises UnknownLossError here, at attach time, not at the first call.
        self._loss_name = self.checker.registry.resolve(module)[0].name
        self._depth = threading.local()  # the depth _before judged this thread's current call at
        self._clean: dict = {}  # call site -> metadata of its last clean call (see _before)
        self._lines: dict = {}  # (id of code, line number) -> (code, call site as callsite.describe says it)
        names = [name for name in module.__dict__ if name[0] != "_"]  # reduction, ignore_index, ...
        self._config = operator.itemgetter(*names) if names else None
        if len(names) == 1:  # itemgetter of one name returns the value, not a tuple
            self._config = lambda d, getter=self._config: (getter(d),)
        self._judged = None
        self.module = module
        self._handles = [
            module.register_forward_pre_hook(self._before, with_kwargs=True),
            module.register_forward_hook(self._after, with_kwargs=True, always_call=True),
        ]

    def _before(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if torch.compiler.is_compiling():
            return None
        __tracebackhide__ = True
        if not state.watches and not state.busy:
            # Steady state: a metadata-depth call whose metadata (and the module's configuration)
            # is what an earlier clean call from the same line had is only counted (issue 13).
            frame = callsite.user_frame(sys._getframe(1))
            # By the code object's id: hashing a code object hashes its bytecode and constants, every
            # time. The entry keeps the code object, so a reused id is told apart.
            line = (id(frame.f_code), frame.f_lineno) if frame is not None else None
            known = self._lines.get(line)
            if known is not None and known[0] is frame.f_code:
                location = known[1]
            else:
                location = callsite.describe(frame)
                if len(self._lines) > 64:
                    self._lines.clear()
                self._lines[line] = (frame.f_code if frame is not None else None, location)
            clean = self._clean.get(location)
            if clean is not None and _same(clean, _metadata_key(self, module, args, kwargs)) and self._count_clean(location):
                self._depth.value = None
                return None
            steady = True
        else:
            steady = False
        self._judged = None
        try:
            depth = self.judge(module, args, kwargs, sys._getframe(1), origin=_origin())
        except LossLintError as exc:
            # Raised at the user's call, not from inside losslint's own frames.
            raise exc.with_traceback(None) from None
        # A clean metadata call is what later calls are compared with (the values calls before it are
        # not: the policy reads their values anyway).
        if steady and depth == "metadata" and self._judged is not None and not self._judged.findings:
            if len(self._clean) > 64:
                self._clean.clear()
            self._clean[location] = _metadata_key(self, module, args, kwargs)
        # Whether this call's values were read: only then does _after look at the loss value.
        self._depth.value = depth
        # The module's forward calls its functional next; the active watches must not judge it again.
        claim(self._loss_name, args, kwargs, len(state.watches))
        return None

    def _after(self, module: torch.nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        if torch.compiler.is_compiling():
            return None
        __tracebackhide__ = True
        release(self._loss_name, args, kwargs)
        depth, self._depth.value = getattr(self._depth, "value", None), None
        if depth == "values":
            self.after(module, args, kwargs, output, depth, sys._getframe(1))
        return None

    def _count_clean(self, location: str | None) -> bool:
        """Count a call like the last clean one from its site, if the policy would check only its
        metadata: the check would find what it found then, nothing."""
        with self._lock:
            index = self._site_calls.get(location, 0)
            if self.policy.depth(index) != "metadata":
                return False
            self._site_calls[location] = index + 1
            self._calls += 1
        state.predicted = None
        return True

    def _record(self, report, counted: bool = True):
        self._judged = report
        return super()._record(report, counted)

    def remove(self) -> None:
        """Detach from the module; the reports stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if _ATTACHED.get(self.module) is self:
            del _ATTACHED[self.module]

    def __enter__(self) -> "Hook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        state_ = "attached" if self._handles else "removed"
        return f"<losslint hook on {type(self.module).__name__}, action={self.action!r}, {state_}, {len(self.reports)} reports>"


# The hook attached to each module, so that attaching twice (a notebook cell run again) leaves one
# hook, not two that warn twice and count every call double. Weak: a hook never keeps a module alive.
_ATTACHED: "weakref.WeakKeyDictionary[torch.nn.Module, Hook]" = weakref.WeakKeyDictionary()


def attach(
    loss_module: torch.nn.Module,
    *,
    action: Action = "auto",
    policy: Policy | None = None,
    checker: Checker | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    severity: dict[str, str] | None = None,
    fail_on: str | None = None,
) -> Hook:
    """Judge every call of `loss_module` before it runs.

    action: "auto" raises `LossLintError` where torch would raise and warns `LossLintWarning` for
    other errors and warnings; "stop" raises where torch would and only records the rest; "raise"
    raises on any error (or at `fail_on`); "warn" only warns; "collect" only records.
    policy: how often values are read (`Policy`; default: the first 10 calls of each call site, then
    every 100th; metadata on every call). checker: a `Checker` with losslint's own options.
    select, ignore, severity, fail_on: as in `[tool.losslint]`, whose values they replace.

    A module has at most one losslint hook: attaching it again with the same options returns the
    hook already there; with other options, the earlier hook is removed first.
    """
    options = (action, policy, checker, select, ignore, severity, fail_on)
    existing = _ATTACHED.get(loss_module) if isinstance(loss_module, torch.nn.Module) else None
    if existing is not None:
        if existing._options == options:
            return existing
        existing.remove()
    try:
        hook = Hook(loss_module, action=action, policy=policy, checker=checker, select=select, ignore=ignore, severity=severity, fail_on=fail_on)
    except ConfigError as exc:
        raise exc.with_traceback(None) from None  # one clear error at the user's line
    hook._options = options
    _ATTACHED[loss_module] = hook
    notice_when_compiling()
    return hook


# The plain pre_hook's record: it has no handle, but repeats from one call site must still be warned
# about once, so their counts live here (`losslint.hook.PRE_HOOK.reports`).
PRE_HOOK = Monitor()


def pre_hook(module: torch.nn.Module, args: tuple, kwargs: dict | None = None) -> None:
    """A forward pre-hook with action "auto" and the default policy, with or without
    `with_kwargs=True`. For a handle with `.reports` and other actions, use `attach()`."""
    if torch.compiler.is_compiling():
        return None
    __tracebackhide__ = True
    kwargs = kwargs or {}
    try:
        PRE_HOOK.judge(module, args, kwargs, sys._getframe(1), origin=_origin())
    except LossLintError as exc:
        # Raised at the user's call, not from inside losslint's own frames.
        raise exc.with_traceback(None) from None
    # No forward hook releases this claim: it expires when the watches consume it, or with its tensor.
    claim(PRE_HOOK.checker.registry.resolve(module)[0].name, args, kwargs, len(state.watches))
    return None
