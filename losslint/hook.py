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
from .device_asserts import assert_module_class_range
from .engine import Checker
from .findings import LossLintError
from .monitor import Action, Monitor, claim, release, state
from .policy import Policy

_is_compiling = torch.compiler.is_compiling


def _facts(value: object) -> object:
    """What a metadata check can see of one argument: a tensor's metadata, a scalar itself, and any
    other object by identity."""
    if type(value) is torch.Tensor:
        return (value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return (type(value), id(value))


def _unchanged(line: _Line, config, module: torch.nn.Module, args: tuple, kwargs: dict, _tensor=torch.Tensor, _is=operator.is_) -> bool:
    """Whether this call's metadata is the line's last clean call's: the arguments' metadata, and the
    very same configuration objects and buffers (`is`: a tensor is not compared by value; a buffer
    replaced by another tensor is judged again). Unrolled for plain tensors: this runs on every
    call in steady state."""
    stored = line.args
    if len(args) != len(stored):
        return False
    for value, facts in zip(args, stored):
        if type(value) is _tensor:
            if (
                value.shape != facts[0]
                or value.dtype is not facts[1]
                or value.device != facts[2]
                or value.layout is not facts[3]
                or value.requires_grad is not facts[4]
            ):
                return False
        elif _facts(value) != facts:
            return False
    if (kwargs or line.kwargs) and (tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()) != line.kwargs:
        return False
    if config is not None and not all(map(_is, config(module.__dict__), line.config)):
        return False
    buffers = module._buffers
    if not buffers:
        return not line.buffers
    if not all(map(_is, buffers.values(), line.buffers)):
        return False
    # The same tensor can change in place (`criterion.weight.data = ...`): its metadata too.
    return not line.buffer_facts or tuple(_facts(v) for v in line.buffers if v is not None) == line.buffer_facts


def _origin():
    """What the innermost active watch() knows about how tensors were made, if one is active."""
    return state.watches[-1].provenance.get if state.watches else None


class _Line:
    """A call site in steady state: its code and line, how it is described, and what its last clean
    metadata-depth call looked like: the arguments' shapes, dtypes and devices (none of the call's
    tensors), and the module's own configuration objects and buffers, compared by identity. Those the
    module holds anyway; one it has replaced stays referenced here until the line is judged again."""

    __slots__ = ("code", "lineno", "location", "args", "kwargs", "config", "buffers", "buffer_facts", "budget")

    def __init__(self, code, lineno, location):
        self.code = code
        self.lineno = lineno
        self.location = location
        self.args = None  # None: no clean call to compare with yet
        # How many more calls from here the policy checks at metadata depth only (then a values call
        # is due): those, when unchanged, are only counted.
        self.budget = 0


class Hook(Monitor):
    """The handle `attach()` returns: `.reports`, `.calls`, `.remove()`, and a context manager."""

    def __init__(self, module: torch.nn.Module, *, action: Action = "auto", policy: Policy | None = None, checker: Checker | None = None, device_asserts: bool = False, **selection: Any):
        super().__init__(action=action, policy=policy, checker=checker, **selection)
        self.device_asserts = bool(device_asserts)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"attach() takes a loss module, got {type(module).__name__}")
        # An unknown module raises UnknownLossError here, at attach time, not at the first call.
        self._loss_name = self.checker.registry.resolve(module)[0].name
        # Per thread, the calls of this module in progress that need the forward hook: (the depth
        # they were judged at, whether a watch was left a claim to release). Innermost last.
        self._pending = threading.local()
        self._lines: dict = {}  # (id of code, line number) -> _Line
        self._last: _Line | None = None  # the line of the last call only counted
        names = [name for name in module.__dict__ if name[0] != "_"]  # reduction, ignore_index, ...
        self._config = operator.itemgetter(*names) if names else None
        if len(names) == 1:  # itemgetter of one name returns the value, not a tuple
            self._config = lambda d, getter=self._config: (getter(d),)
        self._judged = None
        self.module = module
        # Only a pre-hook stays: a forward hook costs every call, and only the calls whose values were
        # read (the post-mortem) or that a watch must not judge again (the claim) need one. It is
        # installed for such calls (counted over threads) and removed by the next call that is only
        # counted, with none of them in progress (`_drop_after`).
        self._after_handle = None
        self._after_users = 0
        self._handles = [module.register_forward_pre_hook(self._before, with_kwargs=True)]

    def _before(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if self.device_asserts:
            assert_module_class_range(self._loss_name, module, args, kwargs, compiling=_is_compiling())
        thread = state
        if thread.watches or thread.busy or _is_compiling():
            # Compiling: nothing else, so that Dynamo traces the hook away without a graph break.
            return None if thread.busy or _is_compiling() else self._judge(module, args, kwargs, None)
        __tracebackhide__ = True
        # Steady state (issue 13): a metadata-depth call whose arguments' metadata, and the module's
        # configuration, are what an earlier clean call from the same line had is only counted.
        frame = callsite.user_frame(sys._getframe(1))
        if frame is None:
            return self._judge(module, args, kwargs, None)
        code, lineno = frame.f_code, frame.f_lineno
        line = self._last
        if line is None or line.code is not code or line.lineno != lineno:
            # By the code object's id: hashing a code object hashes its bytecode and constants, every
            # time. The entry keeps the code object, so a reused id is told apart.
            line = self._lines.get((id(code), lineno))
        if line is None or line.code is not code:
            if len(self._lines) > 64:
                self._lines.clear()
                self._last = None
            # A library's line (the loss called inside a model's code) is not the call site: that is
            # the user's line further out, which can differ from call to call. Such calls are judged
            # in full (location None: judge() finds the site).
            own = callsite.outside_libraries(frame) is frame
            line = self._lines[(id(code), lineno)] = _Line(code, lineno, callsite.describe(frame) if own else None)
            self._last = line
        elif line.budget > 0 and _unchanged(line, self._config, module, args, kwargs):
            if self._after_handle is not None:
                self._drop_after()
            with self._lock:
                self._site_calls[line.location] += 1
                self._calls += 1
            line.budget -= 1
            self._last = line  # the line a loop calls from: next time, no lookup
            if thread.predicted is not None:
                thread.predicted = None
            return None
        if line.location is None:
            return self._judge(module, args, kwargs, None)
        return self._judge(module, args, kwargs, line, (frame, line.location, None))

    def _judge(self, module: torch.nn.Module, args: tuple, kwargs: dict, line: _Line | None, sites: tuple | None = None) -> None:
        """A call judged in full: values or metadata as the policy says, with the module's forward
        hook installed for this call when it needs one. `sites`: the call site, when the line's
        record knows it (see callsite.sites)."""
        __tracebackhide__ = True
        self._judged = None
        try:
            depth = self.judge(module, args, kwargs, sys._getframe(2), origin=_origin(), sites=sites)
        except LossLintError as exc:
            # Raised at the user's call, not from inside losslint's own frames.
            raise exc.with_traceback(None) from None
        # A clean metadata call is what later calls from its line are compared with (the values calls
        # before it are not: the policy reads their values anyway).
        if line is not None and depth == "metadata" and self._judged is not None and not self._judged.findings:
            line.args = tuple(map(_facts, args))
            line.kwargs = tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()
            line.config = self._config(module.__dict__) if self._config is not None else ()
            line.buffers = tuple(module._buffers.values())
            line.buffer_facts = tuple(_facts(v) for v in line.buffers if v is not None)
            line.budget = self._metadata_calls_ahead(line.location)
        watches = len(state.watches)
        if depth == "values" or watches:
            # The module's forward calls its functional next; the active watches must not judge it
            # again (released in _after). And a call whose values were read gets its post-mortem.
            if watches:
                claim(self._loss_name, args, kwargs, watches)
            pending = getattr(self._pending, "calls", None)
            if pending is None:
                pending = self._pending.calls = []
            pending.append((depth, watches))
            with self._lock:
                self._after_users += 1
                if self._after_handle is None:
                    self._after_handle = module.register_forward_hook(self._after, with_kwargs=True, always_call=True)
        return None

    def _after(self, module: torch.nn.Module, args: tuple, *rest: object) -> None:
        # rest is (kwargs, output); a thread that removes the hook while another thread's call is
        # running it can make torch call it without kwargs (torch reads "with kwargs" per call).
        __tracebackhide__ = True
        pending = getattr(self._pending, "calls", None)
        if not pending:
            return None  # a call that did not need it: the hook stays until a counted call removes it
        depth, claimed = pending.pop()
        with self._lock:
            self._after_users -= 1
        kwargs, output = rest if len(rest) == 2 else ({}, rest[-1])
        if claimed:
            release(self._loss_name, args, kwargs)
        if depth == "values":
            self.after(module, args, kwargs, output, depth, sys._getframe(1))
        return None

    def _drop_after(self) -> None:
        """Remove the forward hook once no call needs it. Not at the end of the call that needed it:
        a site's first calls all read values, and they share one hook instead of installing one each;
        the first call only counted (steady state) removes it."""
        with self._lock:
            if self._after_users == 0 and self._after_handle is not None:
                self._after_handle.remove()
                self._after_handle = None

    def _metadata_calls_ahead(self, location: str | None) -> int:
        """How many of the next calls from `location` the policy checks at metadata depth only."""
        with self._lock:
            index = self._site_calls.get(location, 0)
        ahead = 0
        while ahead < 1000 and self.policy.depth(index + ahead) == "metadata":
            ahead += 1
        return ahead

    def _record(self, report, counted: bool = True):
        self._judged = report
        return super()._record(report, counted)

    def remove(self) -> None:
        """Detach from the module; the reports stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        with self._lock:
            if self._after_handle is not None:
                self._after_handle.remove()
                self._after_handle = None
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
    device_asserts: bool = False,
) -> Hook:
    """Judge every call of `loss_module` before it runs.

    action: "auto" raises `LossLintError` where torch would raise and warns `LossLintWarning` for
    other errors and warnings; "stop" raises where torch would and only records the rest; "raise"
    raises on any error (or at `fail_on`); "warn" only warns; "collect" only records.
    policy: how often values are read (`Policy`; default: the first 10 calls of each call site, then
    every 100th; metadata on every call). checker: a `Checker` with losslint's own options.
    select, ignore, severity, fail_on: as in `[tool.losslint]`, whose values they replace.
    device_asserts: also assert CrossEntropyLoss's and NLLLoss's class-index range on the device
    (`torch._assert_async`: no sync, one small kernel a call) on a GPU and in compiled code, where
    values are not read (see `losslint.device_asserts`).

    A module has at most one losslint hook: attaching it again with the same options returns the
    hook already there; with other options, the earlier hook is removed first.
    """
    options = (action, policy, checker, select, ignore, severity, fail_on, device_asserts)
    existing = _ATTACHED.get(loss_module) if isinstance(loss_module, torch.nn.Module) else None
    if existing is not None:
        if existing._options == options:
            return existing
        existing.remove()
    try:
        hook = Hook(loss_module, action=action, policy=policy, checker=checker, select=select, ignore=ignore, severity=severity, fail_on=fail_on, device_asserts=device_asserts)
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
    attached = _ATTACHED.get(module)
    if attached is not None and attached._handles:
        return None  # attach() on the same module judges the call: once is enough
    kwargs = kwargs or {}
    try:
        PRE_HOOK.judge(module, args, kwargs, sys._getframe(1), origin=_origin())
    except LossLintError as exc:
        # Raised at the user's call, not from inside losslint's own frames.
        raise exc.with_traceback(None) from None
    # No forward hook releases this claim: it expires when the watches consume it, or with its tensor.
    claim(PRE_HOOK.checker.registry.resolve(module)[0].name, args, kwargs, len(state.watches))
    return None
