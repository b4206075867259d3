"""`watch()`: judge every functional loss call in a block, also inside code you do not own.

    with losslint.watch() as w:          # action="auto": raise where torch would, warn otherwise
        out = model(**batch, labels=labels)   # HuggingFace computes F.cross_entropy inside
    w.reports

By default it wraps, while it is active, only the functions that matter (`intercept`): the loss
functionals of `torch.nn.functional` (loss modules reach them through their forward) and the ops that
make predictions a loss can misread (softmax, log_softmax, sigmoid), whose outputs it remembers,
weakly (`provenance`), so that "this input is softmax output" is known instead of guessed. The
model's other ops run exactly as without losslint. `watch(thorough=True)` is a
`torch.overrides.TorchFunctionMode` instead: torch hands it every call of an overridable function,
so it also sees a loss imported by name before the block and origins through copies, and every op
of the model pays for the dispatch.

A watch is per thread: calls in other threads (a DataLoader's pin-memory thread, your own worker
threads) are not seen. Under `torch.compile` it adds no graph break: Dynamo traces the wrappers as
plain calls of the functions they wrap.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Iterable

import torch
from torch.overrides import TorchFunctionMode

from .compiled import notice_when_compiling, recompile_for
from ..errors import ConfigError
from ..judging.engine import Checker
from ..errors import LossLintError
from .monitor import Action, Monitor, claim, claimed, release, state
from .policy import Policy
from ..evidence.provenance import ORIGIN_OPS, PASS_THROUGH_OPS, Provenance
from .raised import explain
from ..language.registry import Registry
from .steady import Steady

# The module itself, from sys.modules: `from . import intercept` would take the package's attribute,
# which outlives a re-import of losslint's modules (pytester's in-process runs do that) and would then
# share no thread state with this module's `monitor`.
from .intercept import ORIGINAL as _ORIGINAL, enter as _intercept_enter, leave as _intercept_leave

_LOSS, _ORIGIN, _PASS = "loss", "origin", "pass"


def _roles(registry: Registry) -> dict[object, str]:
    roles: dict[object, str] = {op: _ORIGIN for op in ORIGIN_OPS}
    roles.update({op: _PASS for op in PASS_THROUGH_OPS})
    for spec in registry.losses.values():
        if spec.functional is not None:
            roles[spec.functional] = _LOSS
            roles[getattr(spec.functional, "__losslint_original__", spec.functional)] = _LOSS
    return roles


_PARAMETERS: dict[object, tuple[tuple[str, object], ...]] = {}


def _complete(func, args: tuple, kwargs: dict) -> dict:
    """The keyword arguments of a functional loss call, with those torch left out restored.

    torch's `F.l1_loss` hands a TorchFunctionMode its arguments without `weight`, so under any
    mode a weighted L1 loss would silently run unweighted. The functional's own frame, two levels up
    (below `handle_torch_function`), still holds every argument it was called with.
    """
    params = _PARAMETERS.get(func)
    if params is None:
        params = tuple((p.name, p.default) for p in inspect.signature(func).parameters.values())
        _PARAMETERS[func] = params
    if len(args) + len(kwargs) >= len(params):
        return kwargs
    missing = [(name, default) for name, default in params[len(args):] if name not in kwargs]
    frame = sys._getframe(2)
    for _ in range(4):
        if frame is None or frame.f_code is getattr(func, "__code__", None):
            break
        frame = frame.f_back
    if frame is None or frame.f_code is not getattr(func, "__code__", None):
        return kwargs
    local = frame.f_locals
    extra = {name: local[name] for name, default in missing if name in local and local[name] is not default}
    return {**kwargs, **extra} if extra else kwargs


class Watch(Monitor, TorchFunctionMode):
    """The context manager `watch()` returns: `.reports`, `.calls`, `.provenance`."""

    def __init__(self, *, action: Action = "auto", policy: Policy | None = None, checker: Checker | None = None, thorough: bool = False, device_asserts: bool = False, **selection: Any):
        Monitor.__init__(self, action=action, policy=policy, checker=checker, **selection)
        TorchFunctionMode.__init__(self)
        self.thorough = bool(thorough)
        self.device_asserts = bool(device_asserts)
        registry = self.checker.registry
        self._roles = _roles(registry)
        self._names = {spec.functional: spec.name for spec in registry.losses.values() if spec.functional is not None}
        self.provenance = Provenance()
        self.steady = Steady()  # calls like their line's last clean one, only counted (`steady`)
        self._judged = None  # the report of the last call this watch judged (for `steady`)

    def __enter__(self) -> "Watch":
        notice_when_compiling()
        recompile_for(self)
        # The loss functionals and producer ops wrapped while a watch is active (`intercept`); the
        # model's other ops run as they would without losslint. A thorough watch's mode sees torch's
        # functions itself (their wrappers pass through), and still needs the wrappers of other
        # libraries' losses, which call no torch loss a mode could see.
        _intercept_enter(self.checker.registry)
        if not self.thorough:
            state.watches.append(self)
            return self
        state.watches.append(self)
        try:
            super().__enter__()
        except BaseException:
            state.watches.pop()
            _intercept_leave()
            raise
        state.thorough += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.thorough:
                state.thorough -= 1
                try:
                    super().__exit__(*exc)
                finally:
                    _intercept_leave()
            else:
                _intercept_leave()
        finally:
            # The innermost entry of this watch: a watch may be entered again inside itself.
            for i in range(len(state.watches) - 1, -1, -1):
                if state.watches[i] is self:
                    del state.watches[i]
                    break

    def _record(self, report, counted: bool = True):
        self._judged = report
        return super()._record(report, counted)

    @property
    def calls(self) -> int:
        """Loss calls seen, checked or not, including those only counted in steady state."""
        self.steady.fold(self)
        return self._calls

    @property
    def sites(self) -> dict[str | None, tuple[int, int]]:
        """Per call site: (calls from there, calls whose values were read), as `Monitor.sites`."""
        self.steady.fold(self)
        return super().sites

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        # Most ops have no role: they pass straight through, at the cost of one dict lookup. A
        # functional of torch's hands over its own global name, which a default watch may have
        # wrapped (in this thread or another): the wrapper stands for the function it wraps.
        role = self._roles.get(func)
        if role is None and _ORIGINAL:
            func = _ORIGINAL.get(func, func)
            role = self._roles.get(func)
        if role is None or torch.compiler.is_compiling() or state.busy or state.inside:
            # (inside: a library loss judged as itself computes this one)
            return func(*args, **kwargs)
        if role is _LOSS:
            return self._loss_call(func, args, kwargs)
        out = func(*args, **kwargs)
        if role is _ORIGIN or len(self.provenance):
            try:
                # Reading shapes goes through __torch_function__ too: other modes must not see it.
                with torch._C.DisableTorchFunction():
                    if role is _ORIGIN:
                        self.provenance.record(func, args, kwargs, out)
                    else:
                        self.provenance.propagate(args, kwargs, out)
            except Exception:  # noqa: BLE001 - bookkeeping must never break the user's forward pass
                pass
        return out

    def _loss_call(self, func, args: tuple, kwargs: dict):
        __tracebackhide__ = True
        name = self._names[func]
        kwargs = _complete(func, args, kwargs)
        if claimed(name, args, kwargs):
            return func(*args, **kwargs)
        try:
            depth = self.judge(func, args, kwargs, sys._getframe(1), origin=self.provenance.get)
        except LossLintError as exc:
            # Raised at the user's call, not from inside losslint's own frames.
            raise exc.with_traceback(None) from None
        # Watches further out see this same call next (torch forwards it down the mode stack).
        outer = len(state.watches) - 1
        claim(name, args, kwargs, outer)
        try:
            out = func(*args, **kwargs)
        except Exception as exc:
            if depth != "values":  # torch raised on a call the policy did not read: say why (`raised`)
                explain(self, func, args, kwargs, exc, sys._getframe(1))
            raise
        finally:
            if outer > 0:
                release(name, args, kwargs)
        if depth == "values":
            # The post-mortem: one read of the loss value, on the calls whose values were read.
            self.after(func, args, kwargs, out, depth, sys._getframe(1))
        return out

    def __repr__(self) -> str:
        return f"<losslint watch, action={self.action!r}, {self.calls} calls, {len(self.reports)} reports>"


def watch(
    *,
    action: Action = "auto",
    policy: Policy | None = None,
    checker: Checker | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    severity: dict[str, str] | None = None,
    fail_on: str | None = None,
    thorough: bool = False,
    device_asserts: bool = False,
) -> Watch:
    """A context manager that judges every functional loss call made inside it, in this thread.

    action: "auto" raises `LossLintError` where torch would raise and warns `LossLintWarning` for
    other errors and warnings; "stop" raises where torch would and only records the rest; "raise"
    raises on any error (or at `fail_on`); "warn" only warns; "collect" only records.
    policy: how often values are read (`Policy`; default: the first 10 calls of each call site, then
    every 1000th; metadata on every call). checker: a `Checker` with losslint's own options.
    select, ignore, severity, fail_on: as in `[tool.losslint]`, whose values they replace;
    `ignore=["LL301"]` silences a finding about a loss that a library calls where no comment reaches.
    `.reports` lists what it saw, one report per call site and set of findings, with a count.
    thorough: see every op through a `TorchFunctionMode` (what the default cannot: a loss function
    imported by name before the block, origins through copies such as `.clone()`), at a cost of
    roughly 10% of a model's step; the default wraps only the loss functionals and the producer ops.
    device_asserts: also assert the class-index range of CrossEntropyLoss and NLLLoss targets on the
    device (`torch._assert_async`: no sync, one small kernel a call), where values are not read: in
    compiled code, and on a GPU between the policy's samples (see `losslint.hooks.device_asserts`).
    """
    try:
        return Watch(action=action, policy=policy, checker=checker, select=select, ignore=ignore, severity=severity, fail_on=fail_on, thorough=thorough, device_asserts=device_asserts)
    except ConfigError as exc:
        raise exc.with_traceback(None) from None  # one clear error at the user's line
