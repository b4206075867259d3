"""`attach()` and `pre_hook`: losslint on a loss module, around its forward or as a forward pre-hook.

    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion) as hook:     # or hook = losslint.attach(criterion); hook.remove()
        train(model, criterion)
    hook.reports

    criterion.register_forward_pre_hook(losslint.pre_hook)   # the plain form, no handle
    criterion.register_forward_pre_hook(losslint.pre_hook, with_kwargs=True)

attach() wraps the module's `forward` in place (`CheckedForward`; `remove()` puts it back), so that the
module's calls keep torch's fast path, which any registered hook leaves; `pre_hook` is torch's own hook.
Either judges each call before the loss runs, with the module's configuration (`weight`,
`ignore_index`, `reduction`, ...) read from the module, and returns nothing: the arguments reach the
loss untouched. Under `torch.compile` it checks the call's metadata on Dynamo's fake tensors while the
code compiles (`tracing`), and Dynamo traces it away: no graph break, nothing at run time.
"""

from __future__ import annotations

import copy
import operator
import sys
import threading
import warnings
import weakref
from typing import Any, Iterable

import torch

from ..evidence import callsite
from ..language import autocast_policy
from .compiled import recompile_for
from ..errors import ConfigError
from .device_asserts import assert_module_class_range
from ..judging.engine import _SCALARS, Checker
from ..errors import LossLintError
from .monitor import Action, Monitor, claim, release, state
from .policy import Policy, metadata_calls_ahead
from .raised import explain, in_flight
from .arguments_match import Arguments, facts as _facts

_is_compiling = torch.compiler.is_compiling


class _Record:
    """What one clean call from a line looked like, to tell a later call with the same metadata: the
    arguments' shapes, dtypes and devices (none of the call's tensors), the module's own
    configuration objects and buffers (compared by identity: the module holds them anyway; one it has
    replaced stays referenced here until the line is judged again), and the grad mode. `plan` is the
    engine's plan for exactly this metadata, set by `Checker.check_call` (its `slot`). The facts
    never change once made: a call with other metadata makes a new record, so a thread reading one
    while another judges sees facts and a plan that belong together."""

    __slots__ = ("args", "kwargs", "config", "config_scalar", "buffers", "buffers_none", "buffer_facts", "grad", "autocast", "readable", "plan", "plan_spec", "metadata_clean")

    def __init__(self, config, module: torch.nn.Module, args: tuple, kwargs: dict):
        self.args = Arguments(args)
        self.kwargs = tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()
        self.config = config(module.__dict__) if config is not None else ()
        self.config_scalar = all(type(value) in _SCALARS for value in self.config)
        self.buffers = tuple(module._buffers.values())
        self.buffers_none = all(value is None for value in self.buffers)
        self.buffer_facts = tuple(_facts(v) for v in self.buffers if v is not None)
        # SoftMarginLoss rejects a target that requires grad only while grad is enabled: the same
        # line run under no_grad (an eval loop through a shared helper) is another call.
        self.grad = torch.is_grad_enabled()
        # Under autocast the kernel sees other dtypes (a validation loop outside autocast is another call).
        self.autocast = autocast_policy.state()
        # Values can be read: every tensor argument a plain tensor off the meta device (a fake or
        # traced tensor is a subclass). False: not known, Monitor.judge looks (_values_readable).
        self.readable = all(
            value.device.type != "meta" if type(value) is torch.Tensor else not isinstance(value, torch.Tensor)
            for value in (*args, *kwargs.values())
        )
        self.plan = None
        self.plan_spec = None
        # A call with exactly this metadata was judged clean at metadata depth: the verdict the calls
        # only counted stand for (a values call's clean verdict is another depth's).
        self.metadata_clean = False


def _unchanged(record: _Record, config, module: torch.nn.Module, args: tuple, kwargs: dict, _is=operator.is_, _grad=torch.is_grad_enabled, _autocast=autocast_policy.state, _any_autocast=autocast_policy.ANY_ENABLED) -> bool:
    """Whether this call's metadata is the record's: the arguments' metadata, the very same
    configuration objects and buffers (a tensor is compared by identity, never by value; a buffer
    replaced by another tensor is judged again), and the grad mode. Unrolled for plain tensors: this
    runs on every call in steady state."""
    stored = record.args
    if not stored.matches(args, stored.compared):
        return False
    if (kwargs or record.kwargs) and (tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()) != record.kwargs:
        return False
    if _grad() is not record.grad:
        return False
    if record.autocast:
        if _autocast() != record.autocast:
            return False
    elif _any_autocast() and _autocast():
        # `state()` is () while no autocast is on: one C call says so, without building the tuple.
        return False
    if config is not None:
        now = config(module.__dict__)
        # Scalars and strings (reduction, ignore_index, ...) compare in one tuple comparison, which
        # tries identity first; anything else (a tensor the module keeps outside its buffers) only
        # by identity, since == on a tensor compares values.
        if not (now == record.config if record.config_scalar else all(map(_is, now, record.config))):
            return False
    buffers = module._buffers
    if not buffers:
        return not record.buffers
    if record.buffers_none:
        # Declared but unset (CrossEntropyLoss's weight=None): a tensor there now compares unequal
        # to None (Tensor.__eq__(None) is NotImplemented), so one tuple comparison says it.
        return tuple(buffers.values()) == record.buffers
    if not all(map(_is, buffers.values(), record.buffers)):
        return False
    # The same tensor can change in place (`criterion.weight.data = ...`): its metadata too.
    return tuple(_facts(v) for v in record.buffers if v is not None) == record.buffer_facts



def _bypasses_hooks(cls: type) -> bool:
    """Whether the class overrides `__call__` with one that never calls a `__call__` it inherits
    (`super().__call__(...)`, `nn.Module.__call__(self, ...)`) nor its `forward`: then the forward
    attach() wraps never runs."""
    own = cls.__call__
    if own is torch.nn.Module.__call__:
        return False
    code = getattr(own, "__code__", None)
    return code is not None and "__call__" not in code.co_names and "forward" not in code.co_names


def _origin():
    """What the innermost active watch() knows about how tensors were made, if one is active."""
    return state.watches[-1].provenance.get if state.watches else None


class _Line:
    """A call site in steady state: its code and line, how it is described, and the record of its
    last clean call (`_Record`), which later calls are compared with."""

    __slots__ = ("code", "lineno", "lasti", "location", "record", "budget", "tally")

    def __init__(self, code, lineno, location):
        self.code = code
        self.lineno = lineno
        # The offset of the call's instruction in the user's frame, last time: the steady state tells
        # the line by it (`f_lasti`, read as is), not by `f_lineno`, which Python works out from the
        # offset on every read by walking the function's line table from its start (about 3 µs at
        # line 300 of a function: a training loop's loss line is often far down a long function).
        self.lasti = -1
        self.location = location
        self.record: _Record | None = None  # None: no clean call to compare with yet
        # How many more calls from here the policy checks at metadata depth only (then a values call
        # is due): those, when unchanged, are only counted.
        self.budget = 0
        # The calls only counted since the line was last judged, one entry each: list.append is
        # atomic, so threads count without a lock; the hook adds them up when counts are read.
        self.tally: list = []


def new_site(table: dict, frame, make, forget) -> Any:
    """The entry of the user's line `frame` in a table of call sites keyed by (id(code), line number),
    made with `make(code, lineno, location)` when the table has none for this code object (attach()'s
    lines, watch()'s sites). `forget()` empties a table that outgrew 64 lines first.

    A library's line (the loss called inside a model's code) is not the call site: the user's line
    further out can differ from call to call, so its location is None and such calls are judged in
    full. By the code object's id: hashing a code object hashes its bytecode and constants, every time;
    the entry keeps the code object, so a reused id is told apart. setdefault: two threads meeting a
    new line at once share one entry (an entry set over another would take with it the calls counted
    on the other's tally)."""
    if len(table) > 64:
        forget()
    code, lineno = frame.f_code, frame.f_lineno
    own = callsite.outside_libraries(frame) is frame
    made = make(code, lineno, callsite.describe(frame) if own else None)
    entry = table.setdefault((id(code), lineno), made)
    if entry.code is not code:  # an entry of a freed code object whose id was reused
        entry = table[(id(code), lineno)] = made
    entry.lasti = frame.f_lasti
    return entry


class Hook(Monitor):
    """The handle `attach()` returns: `.reports`, `.calls`, `.remove()`, and a context manager."""

    def __init__(self, module: torch.nn.Module, *, action: Action = "auto", policy: Policy | None = None, checker: Checker | None = None, device_asserts: bool = False, **selection: Any):
        super().__init__(action=action, policy=policy, checker=checker, **selection)
        self.device_asserts = bool(device_asserts)
        TRACEABLE[id(module)] = module
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"attach() takes a loss module, got {type(module).__name__}")
        # An unknown module raises UnknownLossError here, at attach time, not at the first call.
        self._loss_name = self.checker.registry.resolve(module)[0].name
        if _bypasses_hooks(type(module)):
            # nn.Module.__call__ is what runs forward: a class with its own __call__ that computes the
            # loss itself (timm's JsdCrossEntropy) would leave attach() silent for the whole run.
            warnings.warn(
                f"losslint.attach() cannot see the calls of {type(module).__name__}: its class overrides "
                f"__call__ and computes the loss there, never through forward(). Wrap the training step in `with losslint.watch():` "
                f"instead (it sees the loss inside), or call losslint.check() on its arguments.",
                UserWarning,
                stacklevel=3,
            )
        # Per thread, the calls of this module in progress that need the forward hook: (the depth
        # they were judged at, whether a watch was left a claim to release). Innermost last.
        # Per thread, the calls in progress that need the forward hook: (depth judged at, watches that
        # were left a claim), innermost last. A plain threading.local read with getattr: Dynamo traces
        # the forward hook, and a threading.local subclass with an __init__ breaks its tracing on older
        # releases of the matrix.
        self._pending = threading.local()
        self._lines: dict = {}  # (id of code, line number) -> _Line
        self._last: _Line | None = None  # the line of the last call only counted
        # How deep the user's frame was last time (sys._getframe(n) in _before); 0: not known yet.
        self._hop = 0
        names = [name for name in module.__dict__ if name[0] != "_"]  # reduction, ignore_index, ...
        self._config = operator.itemgetter(*names) if names else None
        if len(names) == 1:  # itemgetter of one name returns the value, not a tuple
            self._config = lambda d, getter=self._config: (getter(d),)
        self._judged = None
        self.module = module
        # The module's own `forward`, wrapped in place (`CheckedForward`) rather than hooked: any
        # forward hook or pre-hook sends every call of the module down torch's slow path of
        # Module.__call__, which costs more than this hook's whole steady state; a module with no hook
        # takes the fast path straight to `self.forward`. The wrapper judges the call first, then runs
        # the loss, then does what the old forward hook did: the post-mortem of a call whose values
        # were read, the release of a claim left for the watches, and the explanation of a call torch
        # raised on (`raised`).
        self._handles = [CheckedForward.install(self, module)]

    def _compiling(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        """A call Dynamo is tracing: checked on its fake tensors (metadata), then dropped from the
        graph: no graph break, no cost in the compiled code (`tracing`)."""
        if self.device_asserts:
            assert_module_class_range(self._loss_name, module, args, kwargs, compiling=True)
        from .tracing import check_module_while_compiling

        check_module_while_compiling(module, args, kwargs, "attach")

    def _before(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if self.device_asserts:
            assert_module_class_range(self._loss_name, module, args, kwargs, compiling=False)
        thread = state
        if thread.watches or thread.busy:
            return None if thread.busy else self._judge(module, args, kwargs, None)
        __tracebackhide__ = True
        # (The steady state, a call only counted, is `CheckedForward.__call__`'s, before this.)
        frame, steps = callsite.user_frame_and_steps(sys._getframe(1))
        if frame is None:
            return self._judge(module, args, kwargs, None)
        self._hop = steps  # from CheckedForward.__call__, sys._getframe(1) here and the walk's start
        code, lineno = frame.f_code, frame.f_lineno
        line = self._last
        if line is None or line.code is not code or line.lineno != lineno:
            # By the code object's id: hashing a code object hashes its bytecode and constants, every
            # time. The entry keeps the code object, so a reused id is told apart.
            line = self._lines.get((id(code), lineno))
        if line is None or line.code is not code:
            line = self._last = new_site(self._lines, frame, _Line, self._forget_lines)
            record = None
        else:
            line.lasti = frame.f_lasti
            record = line.record
            if record is not None and not _unchanged(record, self._config, module, args, kwargs):
                record = None
            elif record is not None and line.budget > 0:
                return self._count(line, thread)
        if line.location is None:
            return self._judge(module, args, kwargs, None)
        if line.tally:
            self._fold((line,))  # the policy counts this call after those only counted
        return self._judge(module, args, kwargs, line, (frame, line.location, None), record)

    def _count(self, line: _Line, thread) -> None:
        """A call in steady state: only counted."""
        line.tally.append(None)  # counted without a lock (see _fold)
        line.budget -= 1
        self._last = line  # the line a loop calls from: next time, no lookup
        if thread.predicted is not None:
            thread.predicted = None
        return None

    def _judge(self, module: torch.nn.Module, args: tuple, kwargs: dict, line: _Line | None, sites: tuple | None = None, record: _Record | None = None) -> None:
        """A call judged in full: values or metadata as the policy says, with what the forward
        hook must do after it left in `_pending` when it needs anything. `sites`: the call site, when the line's
        record knows it (see callsite.sites). `record`: the line's record, when this call's metadata
        is the one it describes (its plan then serves this call)."""
        __tracebackhide__ = True
        self._judged = None
        fresh = None
        if line is not None and record is None and self.policy.metadata:
            # A new record for this call's metadata, which the engine gives its plan; it becomes the
            # line's if the call is clean. (A policy that skips metadata checks never counts a call
            # as like another: no record to make.)
            record = fresh = _Record(self._config, module, args, kwargs)
        try:
            if sites is None:
                depth = self.judge(module, args, kwargs, sys._getframe(2), origin=_origin())
            else:  # a line's call: no watch is active (see _before), and the site is known
                depth = self.judge(module, args, kwargs, None, sites=sites, slot=record)
        except LossLintError as exc:
            # Raised at the user's call, not from inside losslint's own frames.
            raise exc.with_traceback(None) from None
        # A clean call is what later calls from its line are compared with: those at metadata depth
        # are then only counted, and those at values depth reuse its plan.
        if fresh is not None and depth is not None and self._judged is not None and not self._judged.findings:
            line.record = fresh
        if line is not None and depth == "metadata" and line.record is record:
            record.metadata_clean = True
            line.budget = self._metadata_calls_ahead(line.location)
        elif (
            line is not None and depth == "values" and fresh is None and line.record is record and record.metadata_clean
            and self._judged is not None and not self._judged.findings
        ):
            # A values sample whose metadata is the line's clean record's: the calls after it are
            # counted again at once, with no metadata-depth call to re-establish what is known.
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
        return None

    def _after(self, module: torch.nn.Module, args: tuple, *rest: object) -> None:
        # rest is (kwargs, output); a thread that removes the hook while another thread's call is
        # running it can make torch call it without kwargs (torch reads "with kwargs" per call).
        __tracebackhide__ = True
        pending = getattr(self._pending, "calls", None)
        if not pending:
            # A call only counted (or judged without needing more): nothing to do unless torch raised.
            if rest[-1] is None and (exc := in_flight()) is not None:
                explain(self, module, args, rest[0] if len(rest) == 2 else {}, exc, sys._getframe(1))
            return None
        kwargs, output = rest if len(rest) == 2 else ({}, rest[-1])
        depth, claimed = pending.pop()
        if claimed:
            release(self._loss_name, args, kwargs)
        if output is None and (exc := in_flight()) is not None:
            if depth != "values":  # a call whose values were read was judged in full already
                explain(self, module, args, kwargs, exc, sys._getframe(1))
            return None
        if depth == "values":
            self.after(module, args, kwargs, output, depth, sys._getframe(1))
        return None

    def _forget_lines(self) -> None:
        """Fold the counted calls in, then start the line table afresh (`new_site`, past 64 lines)."""
        self._fold()
        self._lines.clear()
        self._last = None

    def _fold(self, lines: Iterable[_Line] | None = None) -> None:
        """Add the calls only counted on `lines` (default: every line) to the site and call counts."""
        self._fold_tallies(list(self._lines.values()) if lines is None else lines)

    @property
    def calls(self) -> int:
        """Loss calls seen, checked or not, including those only counted in steady state."""
        self._fold()
        return self._calls

    @property
    def sites(self) -> dict[str | None, tuple[int, int]]:
        """Per call site: (calls from there, calls whose values were read), as `Monitor.sites`."""
        self._fold()
        return super().sites

    def _metadata_calls_ahead(self, location: str | None) -> int:
        """How many of the next calls from `location` the policy checks at metadata depth only."""
        with self._lock:
            index = self._site_calls.get(location, 0)
        return metadata_calls_ahead(self.policy, index)

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


class CheckedForward:
    """An attached module's `forward`, as an instance attribute over its class's: judge the call
    (`Hook._before`), run the loss, then finish what the judgement left pending (`Hook._after`).

    Copied with the module (an EMA or SWA copy of a model that holds its criterion), it wraps the
    copy's own forward and reports to the same hook; saved with the module (`torch.save(model)`), it
    loads as the module's plain forward: the loaded module is not attached."""

    # No __slots__: Dynamo on older releases of the matrix cannot read a slot while it traces the call
    # (a graph break), and reads an instance's __dict__.

    def __init__(self, hook: "Hook", module: torch.nn.Module, forward, own: bool):
        self.hook, self.module, self.forward = hook, module, forward
        self.own = own  # the module had its own instance `forward` before: restored on removal

    @classmethod
    def install(cls, hook: "Hook", module: torch.nn.Module) -> "CheckedForward":
        own = "forward" in module.__dict__
        wrapper = cls(hook, module, module.forward, own)
        module.__dict__["forward"] = wrapper
        return wrapper

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        hook, module = self.hook, self.module
        if _is_compiling():
            hook._compiling(module, args, kwargs)
            return self.forward(*args, **kwargs)
        # Steady state, written out here (this is the call a training loop makes every step): a
        # metadata-depth call whose arguments' metadata, and the module's configuration, are what an
        # earlier clean call from the same line had is only counted.
        thread = state.__dict__  # this thread's flags, read once (monitor._ThreadState)
        hop = hook._hop
        if hop and not (thread["watches"] or thread["busy"] or hook.device_asserts):
            # The user's frame where it was last time: one frame object made instead of one for each
            # frame of torch's call machinery (Python makes a frame object on first access, and
            # walking the stack makes one per frame). Only for counting: a call whose metadata is
            # that of a clean call, at a line already seen (so a frame of the user's). Which line it
            # is counted at only matters to sampling, since a metadata verdict does not depend on the
            # line; a call judged finds its frame by walking the stack (`Hook._before`).
            try:
                guess = sys._getframe(hop)
            except ValueError:
                guess = None
            if guess is not None:
                code, lasti = guess.f_code, guess.f_lasti
                line = hook._last
                if line is None or line.code is not code or line.lasti != lasti:
                    # Another call of the line (or another line): found by its line number.
                    line = hook._lines.get((id(code), guess.f_lineno))
                    if line is not None and line.code is code:
                        line.lasti = lasti
                if (
                    line is not None
                    and line.code is code
                    and line.budget > 0
                    and (record := line.record) is not None
                    and _unchanged(record, hook._config, module, args, kwargs)
                ):
                    line.tally.append(None)  # counted without a lock (see Hook._fold)
                    line.budget -= 1
                    hook._last = line
                    if thread["predicted"] is not None:
                        thread["predicted"] = None
                    try:
                        return self.forward(*args, **kwargs)
                    except Exception:
                        hook._after(module, args, kwargs, None)  # torch's error is in flight: explained on it
                        raise
        hook._before(module, args, kwargs)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            hook._after(module, args, kwargs, None)  # torch's error is in flight: explained on it
            raise
        if getattr(hook._pending, "calls", None):
            hook._after(module, args, kwargs, output)
        return output

    def remove(self) -> None:
        module = self.module
        if module.__dict__.get("forward") is self:
            if self.own:
                module.__dict__["forward"] = self.forward
            else:
                del module.__dict__["forward"]

    def __deepcopy__(self, memo: dict) -> Any:
        copied = memo.get(id(self.module))
        if copied is None:  # the wrapper copied on its own, not with its module
            return self
        forward = copy.deepcopy(self.forward, memo) if self.own else type(copied).forward.__get__(copied)
        return CheckedForward(self.hook, copied, forward, self.own)

    def __reduce__(self):
        # The module's forward without the check: a bound method, which pickles by reference.
        return (getattr, (self.module, "forward")) if not self.own else (_identity, (self.forward,))


def _identity(value: Any) -> Any:
    return value


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
    every 1000th; metadata on every call). checker: a `Checker` with losslint's own options.
    select, ignore, severity, fail_on: as in `[tool.losslint]`, whose values they replace.
    device_asserts: also assert CrossEntropyLoss's and NLLLoss's class-index range on the device
    (`torch._assert_async`: no sync, one small kernel a call) on a GPU and in compiled code, where
    values are not read (see `losslint.hooks.device_asserts`).

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
    recompile_for(hook)
    return hook


# The plain pre_hook's record: it has no handle, but repeats from one call site must still be warned
# about once, so their counts live here (`losslint.hooks.hook.PRE_HOOK.reports`).
PRE_HOOK = Monitor()


# The modules the plain pre_hook has seen, with the always-called forward hook that explains torch's
# raise: registered at the module's first call, since a plain pre-hook has no moment of attaching.
_EXPLAINED: "weakref.WeakKeyDictionary[torch.nn.Module, Any]" = weakref.WeakKeyDictionary()

# The hooked modules by id(), for the checks made while torch.compile traces a hooked call. Dynamo
# passes only constants to `tracing`'s descriptor, and on the older releases of the matrix an
# nn.Module argument is "not a constant" there (the user's compiled step would fail), so the traced
# hook hands on id(module), which Dynamo folds to a constant, and the check finds the module here.
# Filled when attach() installs its hook and at a plain pre_hook's first eager call; a pre_hook whose
# module is compiled first is found in Dynamo's translators instead (`tracing._hooked_module`).
TRACEABLE: "weakref.WeakValueDictionary[int, torch.nn.Module]" = weakref.WeakValueDictionary()


def _explain_pre_hooked(module: torch.nn.Module, args: tuple, kwargs: dict, output: object) -> None:
    if output is not None:
        return None
    exc = in_flight()
    attached = _ATTACHED.get(module)
    if exc is not None and pre_hook in module._forward_pre_hooks.values() and not (attached is not None and attached._handles):
        explain(PRE_HOOK, module, args, kwargs, exc, sys._getframe(1))
    return None


def pre_hook(module: torch.nn.Module, args: tuple, kwargs: dict | None = None) -> None:
    """A forward pre-hook with action "auto" and the default policy, with or without
    `with_kwargs=True`. For a handle with `.reports` and other actions, use `attach()`."""
    if torch.compiler.is_compiling():
        from .tracing import check_module_while_compiling  # as attach() does: see Hook._before

        check_module_while_compiling(module, args, kwargs or {}, "pre_hook")
        return None
    __tracebackhide__ = True
    attached = _ATTACHED.get(module)
    if attached is not None and attached._handles:
        return None  # attach() on the same module judges the call: once is enough
    kwargs = kwargs or {}
    if module not in _EXPLAINED:
        # torch's own error on a call the policy did not read gets losslint's explanation (`raised`).
        _EXPLAINED[module] = module.register_forward_hook(_explain_pre_hooked, with_kwargs=True, always_call=True)
        TRACEABLE[id(module)] = module
    try:
        PRE_HOOK.judge(module, args, kwargs, sys._getframe(1), origin=_origin())
    except LossLintError as exc:
        # Raised at the user's call, not from inside losslint's own frames.
        raise exc.with_traceback(None) from None
    # No forward hook releases this claim: it expires when the watches consume it, or with its tensor.
    claim(PRE_HOOK.checker.registry.resolve(module)[0].name, args, kwargs, len(state.watches))
    return None
