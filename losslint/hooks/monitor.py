"""What `attach()`, `pre_hook` and `watch()` share: judging one loss call, recording it, acting on it.

One judged call goes through the same steps whoever saw it:
1. its call site, the user's line (`callsite`), and how many calls came from there before;
2. the sampling `Policy`: values, metadata only, or nothing this time; meta and fake tensors get
   metadata only, since they have no values;
3. `Checker.check_call`, with torch-function handling off (no mode of the user's sees losslint's own
   ops, and no autograd: the engine runs under `no_grad` on detached views);
4. recording: identical findings from one call site become one report with a count, in this monitor
   and in every `watch()` active in this thread, so an outer watch (the CLI, the pytest plugin) sees
   what a hook or an inner watch judged;
5. the action, taken once, by the monitor that judged the call.

A call is judged once even when several monitors see it: a hook, or an inner `watch()`, leaves a
*claim* on the call for the watches further out, which then let it pass (see `claim`).
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
import weakref
from types import FrameType
from typing import Any, Callable, Iterable, Literal

import torch
from torch._subclasses.fake_tensor import FakeTensor

from ..evidence import callsite
from ..checks import numerics
from ..judging.engine import Checker
from ..judging.findings import Report
from ..errors import LossLintError, LossLintInternalWarning, LossLintWarning
from .policy import Policy
from ..language.selection import FAIL_ON, fails
from ..judging.suppress import apply_suppressions

# "stop" is "auto" without the warnings: stop what torch would reject, record the rest for a report
# at the end (`losslint run`, `pytest --losslint`, the Lightning and HuggingFace callbacks).
Action = Literal["auto", "stop", "raise", "warn", "collect"]
ACTIONS = ("auto", "stop", "raise", "warn", "collect")


class _ThreadState(threading.local):
    """Per thread, like torch's own mode stack: a watch sees the calls of the thread that entered it.

    Every read of an attribute of a `threading.local` looks the thread's own dict up first. The
    steady-state paths (`CheckedForward.__call__`, the wrappers of `intercept`), which run on every
    loss call of a training loop and ask four to six of these flags, read the dict itself once
    (`state.__dict__`, the same dict the attributes live in) and index it."""

    def __init__(self) -> None:
        self.busy = False  # a check runs in this thread: calls it triggers are not judged again
        self.inside = False  # a wrapped function runs in this thread: what it calls is not seen again
        self.thorough = 0  # thorough watches active in this thread: their mode sees every call
        self.watches: list = []  # the watch() contexts entered in this thread, innermost last
        self.claims: list[list] = []  # [loss name, weakref to the first tensor, watches still to pass]
        # The last call judged whose report already said what is wrong (an error or a warning): id
        # of its args tuple. after() does not judge that call again: once is enough.
        self.predicted: int | None = None


state = _ThreadState()


def _first_tensor(args: tuple, kwargs: dict) -> torch.Tensor | None:
    for value in args:
        if isinstance(value, torch.Tensor):
            return value
    for value in kwargs.values():
        if isinstance(value, torch.Tensor):
            return value
    return None


def claim(loss: str, args: tuple, kwargs: dict, watches: int) -> None:
    """Mark a call as judged for the next `watches` watch() handlers that see it.

    A loss module's forward calls its functional with the same first tensor, and an inner watch
    forwards the very same call outward, so (loss name, that tensor's identity) recognizes it. The
    tensor is held weakly: a claim never keeps a batch alive.
    """
    if watches <= 0:
        return
    first = _first_tensor(args, kwargs)
    if first is None:
        return
    entry = [loss, weakref.ref(first), watches]
    # Keep the list short: a claim that no watch consumed (a forward that never called its
    # functional) must not pile up.
    del state.claims[:-7]
    state.claims.append(entry)


def _find(loss: str, args: tuple, kwargs: dict) -> list | None:
    first = _first_tensor(args, kwargs)
    if first is None:
        return None
    for entry in reversed(state.claims):
        if entry[0] == loss and entry[1]() is first:
            return entry
    return None


def release(loss: str, args: tuple, kwargs: dict) -> None:
    """Drop this thread's claim on the call, once the loss ran (or raised)."""
    if state.claims:
        entry = _find(loss, args, kwargs)
        if entry is not None:
            state.claims.remove(entry)


def claimed(loss: str, args: tuple, kwargs: dict) -> bool:
    """Whether a hook or an inner watch already judged this call; consumes one pass of its claim."""
    if not state.claims:
        return False
    entry = _find(loss, args, kwargs)
    if entry is None:
        return False
    entry[2] -= 1
    if entry[2] <= 0:
        state.claims.remove(entry)
    return True


def _default_checker() -> Checker:
    from ..judging.engine import _DEFAULT

    return _DEFAULT


_TENSOR = torch.Tensor
_PLAIN = frozenset((type(None), bool, int, float, str))


def traced_by_aot(args: tuple, kwargs: dict) -> bool:
    """Whether the call's tensors are a tracer's (AOT autograd replaying a graph Dynamo made, under a
    fake mode). Where Dynamo traces into loss modules, it has judged this call already, at compile
    time (`tracing`), and the replay must not report it a second time, at another line."""
    # Plain tensors and scalars (the usual call) decide it at once, without isinstance (which goes
    # through torch's metaclass): every watched loss call asks.
    for value in args:
        kind = type(value)
        if kind is not _TENSOR and kind not in _PLAIN and isinstance(value, _TENSOR):
            break
    else:
        # The keywords apart, without building one tuple of every argument on every call.
        for value in kwargs.values():
            kind = type(value)
            if kind is not _TENSOR and kind not in _PLAIN and isinstance(value, _TENSOR):
                break
        else:
            return False
    try:
        from torch._guards import TracingContext

        # A compilation in progress (a user's own FakeTensorMode has none, and is judged as usual).
        return TracingContext.try_get() is not None
    except Exception:  # noqa: BLE001
        return False


def _values_readable(args: tuple, kwargs: dict) -> bool:
    """False when a tensor has no data to read: meta tensors, fake tensors (FakeTensorMode, export),
    and tensors traced under an active fake mode (AOT autograd tracing a loss module that Dynamo did
    not inline, see releases "dynamo_inlines_loss_modules": the arguments are functional wrappers of
    fake tensors)."""
    tensors = []
    plain = True
    for value in (*args, *kwargs.values()) if kwargs else args:
        if type(value) is torch.Tensor:
            if value.is_meta:
                return False
            tensors.append(value)
        elif isinstance(value, torch.Tensor):
            if value.is_meta or isinstance(value, FakeTensor):
                return False
            tensors.append(value)
            plain = False
    if plain:
        return True  # plain tensors (the usual call): no tracer's wrapper among them
    try:
        from torch._guards import detect_fake_mode

        return detect_fake_mode(tensors) is None
    except Exception:  # noqa: BLE001 - without the helper, the tensors' own types decided above
        return True


def _warn(report: Report, frame: FrameType | None) -> None:
    """A LossLintWarning attributed to the user's line, so that filters by module and line apply."""
    _warn_at(str(report), LossLintWarning, frame)


def _internal_failure(exc: BaseException, location: str | None, frame: FrameType | None) -> None:
    """A bug of losslint's during a hook: say so, once per call site, and let the loss run."""
    _warn_at(
        f"losslint failed while checking the loss call at {location or 'an unknown line'} and skipped it "
        f"({type(exc).__name__}: {exc}); the loss ran unchecked. This is a bug in losslint, please report it.",
        LossLintInternalWarning,
        frame,
    )


def _warn_internal(report: Report, frame: FrameType | None) -> None:
    """A check that failed inside the engine (LL000) is reported as losslint's failure, not dropped."""
    for finding in report.findings:
        if finding.code == "LL000":
            _warn_at(
                f"{finding.message} (checking {report.loss} at {report.location}); the other checks ran. "
                "This is a bug in losslint, please report it.",
                LossLintInternalWarning,
                frame,
            )


def _warn_at(message: str, category: type[Warning], frame: FrameType | None) -> None:
    """Warn at the user's frame (its file, line and module), or from the caller's caller without one."""
    if frame is None:
        warnings.warn(message, category, stacklevel=4)
        return
    globals_ = frame.f_globals
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=globals_.get("__name__", "<unknown>"),
        registry=globals_.setdefault("__warningregistry__", {}),
        # No module_globals: for code run by `python -c` its __loader__ is BuiltinImporter, whose
        # get_source raises ImportError from inside warn_explicit (Python 3.11).
    )


class Monitor:
    """Reports and actions of one hook or watch; safe to share between threads."""

    def __init__(
        self,
        *,
        action: Action = "auto",
        policy: Policy | None = None,
        checker: Checker | None = None,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        severity: dict[str, str] | None = None,
        fail_on: str | None = None,
    ):
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(map(repr, ACTIONS))}, got {action!r}")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError(f"policy must be a losslint.Policy, got {type(policy).__name__}")
        if fail_on is not None and fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be 'error' or 'warning', got {fail_on!r}")
        self.action: Action = action
        self.policy = policy or Policy()
        # The checker check() uses, by default: its verdicts per call signature are already warm,
        # so a hook's first calls cost what check() costs.
        checker = checker or _default_checker()
        if select is not None or ignore is not None or severity is not None:
            checker = checker.with_selection(select=select, ignore=ignore, severity=severity)
        self.checker = checker
        # action="raise" stops calls with findings at or above this; None: `fail-on` of [tool.losslint]
        # if it sets one, else "error" (read when first needed: a module-level Monitor reads no file).
        self._raise_at = fail_on
        self._lock = threading.Lock()
        self._reports: list[Report] = []
        self._index: dict[tuple, int] = {}
        self._site_calls: dict[str | None, int] = {}
        self._site_values: dict[str | None, int] = {}  # of those, the calls whose values were read
        self._boundary_calls: dict[str | None, int] = {}  # model-boundary checks per site (libraries.py)
        self._calls = 0
        # What this monitor judged while torch.compile traced (`tracing`): call signatures, and the
        # compiled functions whose findings it has seen.
        self._compiled: set = set()
        self._compiled_codes: set = set()

    @property
    def reports(self) -> list[Report]:
        """Reports with findings, one per call site and set of findings, each with its `count`."""
        with self._lock:
            return list(self._reports)

    def _fold_tallies(self, entries) -> None:
        """Add the calls only counted in steady state (the `tally` of each of attach()'s lines or
        watch()'s sites, one entry a call, appended without a lock) to the call and site counts.
        `del tally[:n]` removes exactly the entries counted, even while other threads append."""
        with self._lock:
            for entry in entries:
                counted = len(entry.tally)
                if counted:
                    del entry.tally[:counted]
                    self._site_calls[entry.location] = self._site_calls.get(entry.location, 0) + counted
                    self._calls += counted

    @property
    def sites(self) -> dict[str | None, tuple[int, int]]:
        """Per call site: (loss calls this monitor judged from there, calls whose values it read).

        A report's `count` says how many calls had its findings; these say how many there were in
        all, since the policy reads values on a sample only."""
        with self._lock:
            return {site: (n, self._site_values.get(site, 0)) for site, n in self._site_calls.items()}

    @property
    def calls(self) -> int:
        """Loss calls seen, checked or not (the policy skips some), including those that inner
        monitors judged."""
        return self._calls

    # ---- judging ---------------------------------------------------------------------------------

    def judge(
        self,
        loss: object,
        args: tuple,
        kwargs: dict,
        start: FrameType,
        origin: Callable[[torch.Tensor], Any] | None = None,
        produce: Callable[[str], Report | None] | None = None,
        sites: tuple | None = None,
        slot: Any = None,
    ) -> str | None:
        """Check one loss call, record it here and in the active watches, and act on it.

        Returns the depth it was judged at ("values", "metadata" or None): `after()` reads the loss
        value only on calls whose values were read. `produce(depth)`, when given, makes the report
        instead of the checker (a model-boundary check: transformers' `labels=`). `sites`: what
        `callsite.sites(start)` would say, when the caller knows it already. `slot`: attach()'s
        record of this call's metadata, for the checker (see `Checker.check_call`).
        """
        __tracebackhide__ = True
        if state.busy:
            return None
        # The user's line, even when a library made the call (its line is the report's context).
        frame, location, context = sites or callsite.sites(start)
        # A model-boundary check is not a loss call: it has a sampling count of its own, and is not
        # counted in `calls` or `sites` (the loss computed inside the model is).
        counts = self._site_calls if produce is None else self._boundary_calls
        with self._lock:
            index = counts.get(location, 0)
            counts[location] = index + 1
        depth = self.policy.depth(index)
        if depth is not None and self.checker.depth == "metadata":
            depth = "metadata"  # a metadata-only Checker is a ceiling the policy does not lift
        report = None
        state.busy = True
        try:
            try:
                if depth is not None:
                    # No TorchFunctionMode of the user's (a FLOP counter, another watch) should see
                    # losslint's own ops, and tensor subclasses are read as the tensors they are.
                    with torch._C.DisableTorchFunction():
                        # attach()'s record of this call's metadata knows when every argument is
                        # a plain tensor with data (none on the meta device).
                        if depth == "values" and not (slot is not None and slot.readable) and not _values_readable(args, kwargs):
                            depth = "metadata"
                        if produce is not None:
                            report = produce(depth)
                            if report is not None:
                                report = self.checker.selection.apply(report)
                        else:
                            report = self.checker.check_call(loss, args, kwargs, depth=depth, origin=origin, slot=slot)
                    if depth == "values" and produce is None:
                        with self._lock:
                            self._site_values[location] = self._site_values.get(location, 0) + 1
                    if report is not None and report.findings:  # a clean report is only counted
                        report = dataclasses.replace(report, location=location, context=context)
                        _warn_internal(report, frame)
                        # `# losslint: ignore[...]` on the user's line holds for the hooks too, and on
                        # the library's line that made the call.
                        report = apply_suppressions(report, also=context)
            except Exception as exc:  # noqa: BLE001 - losslint must never be what breaks the step
                _internal_failure(exc, location, frame)
                report = None
            state.predicted = (
                id(args)
                if report is not None and report.findings and any(f.severity in ("error", "warning") for f in report.findings)
                else None
            )
            # A boundary with findings stands for the loss call inside the model, which is then
            # not judged (intercept._boundary_call): it is the call counted.
            counted = produce is None or (report is not None and bool(report.findings))
            mine, new = self._record(report, counted=counted)
            if state.watches:
                for other in dict.fromkeys(state.watches):
                    if other is not self:
                        other._record(report, counted=counted)
            if mine is not None:
                self._act(mine, new, frame)
        finally:
            state.busy = False
        return depth

    def after(self, loss: object, args: tuple, kwargs: dict, output: object, depth: str | None, start: FrameType) -> None:
        """The post-mortem: a non-finite loss value on a call whose values were read, re-judged.

        Nothing happens on the calls the policy did not read (depth is not "values"); on the others
        it costs one read of the loss value, and the arguments are judged again, in full, only when
        that value is NaN or inf (see checks.numerics.post_mortem).
        """
        __tracebackhide__ = True
        if depth != "values" or state.busy or not isinstance(output, torch.Tensor):
            return
        if state.predicted == id(args):
            state.predicted = None
            return  # the check before the call predicted this value and said why
        # The usual loss, a finite scalar on the CPU, decided before anything else is set up.
        with torch._C.DisableTorchFunction():
            if numerics.finite_cpu_scalar(output):
                return
        report = None
        state.busy = True
        frame = None
        try:
            try:
                with torch._C.DisableTorchFunction():
                    report = numerics.post_mortem(self.checker, loss, args, kwargs, output)
                if report is None:
                    return
                frame, location, context = callsite.sites(start)
                report = dataclasses.replace(report, location=location, context=context)
                report = apply_suppressions(report, also=context)  # as judge() does
            except Exception as exc:  # noqa: BLE001 - losslint must never be what breaks the step
                _internal_failure(exc, callsite.describe(frame), frame)
                return
            with self._lock:
                self._calls -= 1  # the call was counted when it was judged
            mine, new = self._record(report)
            for other in dict.fromkeys(state.watches):
                if other is not self:
                    with other._lock:
                        other._calls -= 1
                    other._record(report)
            if mine is None or self.action in ("collect", "stop"):
                return  # "stop" only records what torch would not reject: the report says it
            if self.action == "raise":
                error = LossLintError(mine)
                error.add_note(f"losslint stopped after this {mine.loss} call returned a non-finite value (action='raise').")
                raise error
            if new:
                _warn(mine, frame)
        finally:
            state.busy = False

    def _record(self, report: Report | None, counted: bool = True) -> tuple[Report | None, bool]:
        """(the stored report with its count, whether it is new) for a report with findings."""
        with self._lock:
            self._calls += counted
            if report is None or not report.findings:
                return None, False
            key = (report.location, frozenset((f.code, f.argument) for f in report.findings))
            at = self._index.get(key)
            if at is None:
                self._index[key] = len(self._reports)
                self._reports.append(report)
                return report, True
            stored = dataclasses.replace(self._reports[at], count=self._reports[at].count + 1)
            self._reports[at] = stored
            return stored, False

    def _act(self, report: Report, new: bool, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        if self.action == "collect":
            return
        if (self.action in ("auto", "stop") and report.torch_raises) or (
            self.action == "raise" and fails(report, self._raise_at or self._configured_raise_at())
        ):
            # Every time: the call is stopped before torch (or a CUDA kernel) sees it.
            error = LossLintError(report)
            error.add_note(f"losslint stopped this {report.loss} call before it ran (action={self.action!r}).")
            raise error
        if new and self.action != "stop" and (report.errors or report.warnings):
            # Under DDP every rank sees the same mistake: the first rank to see it warns, with its rank.
            from .distributed import first_to_report, rank_note

            if first_to_report(report):
                _warn_at(str(report) + rank_note(), LossLintWarning, frame)

    def _configured_raise_at(self) -> str:
        from ..language.config import default_settings

        self._raise_at = default_settings().raise_at
        return self._raise_at

