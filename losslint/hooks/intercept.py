"""How the default `watch()` sees loss calls: the few functions that matter, wrapped while a watch is active.

A `TorchFunctionMode` sees every call, but every op of the model pays for it (a real model's step ran
9-14% slower inside an empty mode). A watch needs a dozen functions, not thousands of ops:

- the loss functionals the registry knows, as attributes of `torch.nn.functional`: the user's
  `F.cross_entropy(...)`, a loss module's forward (torch's `nn/modules/loss.py` calls `F.<loss>`),
  and a library's `nn.functional.cross_entropy(...)` (a HuggingFace model) all look the attribute up
  when they call it;
- `warnings.warn`, so that torch's own warnings still point at the user's line (`warning_place`);
- the producers of predictions a loss can misread: softmax, log_softmax and sigmoid as `F.*`,
  `torch.*`, `torch.special.*` and `Tensor` methods (`nn.Softmax` calls `F.softmax`, `nn.Sigmoid`
  calls `torch.sigmoid`, `F.sigmoid` calls `Tensor.sigmoid`).

They are wrapped when the first watch of the process is entered and restored when the last one is
left (reference-counted over nested watches and threads). A wrapper checks this thread's active
watches and passes straight through when there are none, so other threads, and code that runs while
losslint itself is checking, see the plain function. If someone else wrapped the same attribute in
the meantime, losslint leaves their wrapper in place: its own, below theirs, is retired and from then
on only passes through.

What this does not see (docs/how-it-works/interception.md; `watch(thorough=True)` is the mode that does): a
function imported by name before the block (`from torch.nn.functional import cross_entropy`), and the
copy ops themselves: an origin is followed back from the tensor instead (its `._base`, its storage, its
autograd graph: `evidence.provenance`), which misses only copies made without autograd.
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from typing import Any, Callable

import torch
import torch.nn.functional as F

from torch._C import _is_torch_function_mode_enabled as _mode_enabled
from torch.overrides import handle_torch_function

from .device_asserts import assert_class_range
from ..errors import LossLintError
from ..libraries import carried
from ..language import releases
from . import functional_wrapper, python_calls
from .monitor import claimed, release, state, traced_by_aot
from ..evidence.provenance import ORIGIN_OPS
from .raised import explain
from .warning_place import keeping_place


# Bound once: every wrapped call asks (Dynamo knows the function itself, by whatever name it is called).
_is_compiling = torch.compiler.is_compiling

# The functions a wrapper stands for, by wrapper: a thorough watch's mode is handed the wrapper when
# torch's Python functionals call `handle_torch_function` with their own (patched) global name.
ORIGINAL: dict[object, object] = {}


class _Patch:
    __slots__ = ("owner", "own", "name", "previous", "had_own", "wrapper", "retired")

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name, self.wrapper = owner, name, None
        self.own = vars(owner)  # a live view of the owner's attributes (a module's dict, a class's proxy)
        self.had_own = name in self.own
        self.previous = self.own[name] if self.had_own else None
        self.retired = False

    def restore(self) -> None:
        current = self.own.get(self.name)
        if current is not self.wrapper:
            return  # someone wrapped it over ours: leave theirs, ours only passes through from now on
        ORIGINAL.pop(self.wrapper, None)
        if self.had_own:
            setattr(self.owner, self.name, self.previous)
        else:
            delattr(self.owner, self.name)


_lock = threading.Lock()
_users = 0
_patches: list[_Patch] = []


def _producers() -> list[tuple[Any, str, Callable]]:
    """(owner, attribute, function) of every producer op losslint records origins for."""
    found = []
    for owner, names in (
        (F, ("softmax", "log_softmax")),
        (torch, ("softmax", "log_softmax", "sigmoid")),
        (torch.special, ("softmax", "log_softmax", "expit")),
        (torch.Tensor, ("softmax", "log_softmax", "sigmoid")),
    ):
        for name in names:
            current = getattr(owner, name, None)
            func = getattr(current, "__losslint_original__", current)
            if func in ORIGIN_OPS:
                found.append((owner, name, func))
    return found


# `_losses` of the last registry asked, by its identity and size: the Lightning and Trainer callbacks
# enter a watch around every step, and the registry's losses do not change between steps.
_losses_cache: tuple[tuple[int, int], object, list] | None = None


def _losses(registry) -> list[tuple[str, Callable]]:
    """(loss name, functional) of the registry's losses that are attributes of torch.nn.functional."""
    global _losses_cache
    key = (id(registry), len(registry.losses))
    cached = _losses_cache
    if cached is not None and cached[0] == key and cached[1] is registry:
        return cached[2]
    found, seen = [], set()
    for spec in registry.losses.values():
        func = spec.functional
        func = getattr(func, "__losslint_original__", func)
        if func is not None and getattr(func, "__module__", None) == "torch.nn.functional":
            name = getattr(func, "__name__", None)
            current = vars(F).get(name) if name else None
            if current is not None and getattr(current, "__losslint_original__", current) is func and id(func) not in seen:
                seen.add(id(func))
                found.append((spec.name, func))  # once each, even if two rules named the same functional
    _losses_cache = (key, registry, found)
    return found


def enter(registry) -> None:
    """A watch is entered (any thread): wrap the functions if it is the first."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        if _reinstall(registry):
            return
        try:
            # torch's warnings keep the user's line: their stacklevel passes over the wrappers.
            _install(warnings, "warn", lambda patch, current=warnings.warn: keeping_place(current))
            # A wrapper calls what is there now (someone else's wrapper, if any) and stands for the
            # function it ends in.
            producers, losses = _producers(), _losses(registry)
            for owner, name, func in producers:
                _install(owner, name, lambda patch, func=func, current=getattr(owner, name): _origin_wrapper(func, current, patch))
            wrapped = frozenset([name for _, name, _ in producers] + [func.__name__ for _, func in losses])
            for loss, func in losses:
                _install(F, func.__name__, lambda patch, func=func, loss=loss: _loss_wrapper(func, getattr(F, func.__name__), loss, patch, wrapped))
            # Other libraries' losses and the user's own (rules outside torch), where imported, and
            # the model boundaries (`libraries`).
            from ..libraries import boundary_targets, loss_targets

            for owner, name, loss, kind in loss_targets(registry):
                current = getattr(owner, name)
                make = _library_forward if kind == "module" else _library_function
                _install(owner, name, lambda patch, current=current, loss=loss, make=make: make(current, loss, patch))
            for cls, judge, where in boundary_targets():
                current = cls.__call__
                _install(cls, "__call__", lambda patch, current=current, judge=judge, where=where: _boundary_call(current, judge, patch, where))
        except BaseException:
            _uninstall()
            _users -= 1
            raise
        _remember_installed(registry)


# What the last full install put in place, to put back at the next first watch when nothing it
# looked at changed: the Lightning and Trainer callbacks enter a watch around every step, and the
# full install asks the registry, the libraries and every attribute again (about 25 µs a step).
# (key, [(what getattr gave, what the owner held itself or None, patch), ...])
_installed_last: tuple[tuple, list] | None = None


def _install_key(registry) -> tuple:
    # The registry's losses and the imported modules decide what is wrapped (`_losses`, `loss_targets`).
    return (id(registry), len(registry.losses), len(sys.modules))


def _remember_installed(registry) -> None:
    global _installed_last
    entries = []
    for patch in _patches:
        made = _MADE.get((id(patch.owner), patch.name))
        if made is None or made[2] is not patch:
            _installed_last = None
            return
        entries.append((made[0], patch.previous, patch))
    _installed_last = (_install_key(registry), entries)


def _reinstall(registry) -> bool:
    """Put the last install's wrappers back when every attribute holds what it held then; else
    nothing is touched and the full install runs."""
    last = _installed_last
    if last is None or last[0] != _install_key(registry):
        return False
    entries = last[1]
    for current, previous, patch in entries:
        # What the owner holds itself is what it held (None: nothing then, nothing now), and what the
        # name gives is what it gave: then the patch's record of what to restore still holds.
        if patch.own.get(patch.name) is not previous or getattr(patch.owner, patch.name) is not current:
            return False
    for _, _, patch in entries:
        _put(patch)
    return True


def leave() -> None:
    """A watch is left: restore every function if it was the last."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            _uninstall()


def installed() -> bool:
    return bool(_patches)


# The wrapper made for each (owner, attribute, what it wrapped), reused when the same function is
# wrapped again: code that torch.compile traced inside a watch is guarded on the identity of the
# functions it called, and a new wrapper at each watch (the Lightning callback enters one per step)
# would recompile it every time.
_MADE: dict[tuple[int, str], tuple[Callable, Callable, _Patch]] = {}


def _install(owner: Any, name: str, make: Callable[[_Patch], Callable]) -> None:
    current = getattr(owner, name)
    made = _MADE.get((id(owner), name))
    if made is not None and made[0] is current:
        patch = made[2]
        patch.had_own, patch.previous = name in patch.own, patch.own.get(name)
    else:
        patch = _Patch(owner, name)
        patch.wrapper = make(patch)
        _MADE[(id(owner), name)] = (current, patch.wrapper, patch)
    _put(patch)


def _put(patch: _Patch) -> None:
    """Set a patch's wrapper in place, as the one that answers for what it wraps."""
    patch.retired = False
    wrapper = patch.wrapper
    ORIGINAL[wrapper] = wrapper.__losslint_original__
    setattr(patch.owner, patch.name, wrapper)
    _patches.append(patch)


def _uninstall() -> None:
    while _patches:
        patch = _patches.pop()
        patch.retired = True
        patch.restore()


def _call(original: Callable, args: tuple, kwargs: dict):
    """`original(*args, **kwargs)`, as a TorchFunctionMode of the user's would see it without losslint.

    torch names the function it hands a mode by looking it up where the user would (`Tensor.softmax`,
    `F.cross_entropy`'s own global name), which is now the wrapper: under a mode, the call is handed
    over with the original instead, as torch would have.
    """
    if _mode_enabled():
        tensors = [a for a in args if isinstance(a, torch.Tensor)] + [v for v in kwargs.values() if isinstance(v, torch.Tensor)]
        return handle_torch_function(original, tensors, *args, **kwargs)
    return original(*args, **kwargs)


def _origin_wrapper(original: Callable, current: Callable, patch: _Patch) -> Callable:
    @functools.wraps(current)
    def wrapper(*args: Any, **kwargs: Any):
        # Compiled code: Dynamo traces this as a plain call of the op (no graph break, no cost).
        if torch.compiler.is_compiling():
            return current(*args, **kwargs)
        watches = state.watches
        if not watches or patch.retired or state.busy or state.inside or state.thorough:
            return _call(current, args, kwargs)
        state.inside = True  # F.softmax calls Tensor.softmax: one record, in the form the user wrote
        try:
            out = _call(current, args, kwargs)
        finally:
            state.inside = False
        try:
            # Reading shapes goes through __torch_function__ too: other modes must not see it.
            with torch._C.DisableTorchFunction():
                for watch in dict.fromkeys(watches):
                    watch.provenance.record(original, args, kwargs, out)
        except Exception:  # noqa: BLE001 - bookkeeping must never break the user's forward pass
            pass
        return out

    ORIGINAL[wrapper] = original
    wrapper.__losslint_original__ = original
    return wrapper


def _loss_wrapper(original: Callable, current: Callable, loss: str, patch: _Patch, wrapped: frozenset[str] | None = None) -> Callable:
    # Whether the functional reaches, from Python, a function a watch wraps (`wrapped`: the producer
    # ops, the losses): then what it calls is kept from being seen again while it runs (`inside`).
    # Most torch losses call their kernel directly, and their calls only counted skip the two writes.
    reaches = wrapped is None or current is not original or python_calls.reaches(original, wrapped, itself=original)

    @functools.wraps(current)
    def wrapper(*args: Any, **kwargs: Any):
        __tracebackhide__ = True
        if _is_compiling():
            # Checked on Dynamo's fake tensors while it traces, then dropped from the graph.
            from .tracing import check_while_compiling, device_asserts_wanted

            check_while_compiling(original.__name__, args, kwargs)
            if device_asserts_wanted():
                assert_class_range(original.__name__, args, kwargs, compiling=True)
            return current(*args, **kwargs)
        thread = state.__dict__  # this thread's flags, read once (monitor._ThreadState)
        watches = thread["watches"]
        if not watches or patch.retired or thread["busy"] or thread["inside"] or thread["thorough"]:
            return _call(current, args, kwargs)
        return _loss_call(watches[-1], thread, original, current, loss, args, kwargs, reaches)

    if not reaches:
        # The counted call's short way, for a functional that calls no wrapped function (it sets no
        # `inside` flag): a wrapper with the functional's own parameters (`functional_wrapper`).
        matched = functional_wrapper.matched_wrapper(original, current, wrapper, patch)
        if matched is not None:
            wrapper = matched
    ORIGINAL[wrapper] = original
    wrapper.__losslint_original__ = original
    return wrapper


def _loss_call(watch, thread: dict, original: Callable, current: Callable, loss: str, args: tuple, kwargs: dict, reaches: bool = True):
    """The wrapper's call with a watch active (`thread`: the thread's flags, `state.__dict__`). The
    frame that called the wrapper is `sys._getframe(2)` from here, taken only where it is used: a
    call only counted needs none, and Python makes the frame object on first access."""
    __tracebackhide__ = True
    # Steady state (`steady`): a call like its line's last clean one, between values samples, is only
    # counted. With one watch active and no claim pending: nested watches each count the call, and a
    # hook's claim is consumed by `_judged`. Asked first: a site records plain tensors only, so a call
    # with a tracer's tensors (below) is never counted, and the call a loop makes every step is not
    # asked about tracers at all. Device asserts go into every call, counted or not.
    steady = watch.steady if len(thread["watches"]) == 1 else None
    if steady is not None and not thread["claims"] and steady.counted(original, args, kwargs, watch.provenance):
        if watch.device_asserts:
            assert_class_range(original.__name__, args, kwargs, compiling=False)  # plain tensors: not traced
        if thread["predicted"] is not None:
            thread["predicted"] = None
        try:
            # `_call`, written out for the call every step of a loop makes.
            if not reaches and not _mode_enabled():
                return current(*args, **kwargs)
            thread["inside"] = True  # what the loss calls inside is not judged again
            try:
                if _mode_enabled():
                    return _call(current, args, kwargs)
                return current(*args, **kwargs)
            finally:
                thread["inside"] = False
        except Exception as exc:  # torch raised on a call losslint did not read: say why (`raised`)
            explain(watch, original, args, kwargs, exc, sys._getframe(2))
            raise
    traced = traced_by_aot(args, kwargs)
    if traced and releases.holds("dynamo_inlines_loss_modules"):
        return _inside(_call, current, args, kwargs)  # judged while Dynamo traced it
    if watch.device_asserts:
        # AOT autograd tracing a loss module that Dynamo did not inline (older releases): into its graph.
        assert_class_range(original.__name__, args, kwargs, compiling=traced)
    # Under a mode of the user's, torch's own functional is handed over as torch would (`_call`).
    return _judged(watch, original, loss, args, kwargs, sys._getframe(2), _call, (current, args, kwargs), {}, steady)


# ---- other libraries' losses and model boundaries (`libraries`) ------------------------------------


def _inside(call: Callable, *args: Any, **kwargs: Any):
    state.inside = True  # what a judged loss calls inside (a library's torch losses) is not judged again
    try:
        return call(*args, **kwargs)
    finally:
        state.inside = False


def _judged(watch, loss_object: object, loss: str, args: tuple, kwargs: dict, frame, call: Callable, call_args: tuple, call_kwargs: dict, steady=None):
    """Judge the loss call (`args`, `kwargs`) in `watch`, then run it: `call(*call_args, **call_kwargs)`.
    `steady`: the watch's steady state, which remembers the call when it was clean (`_loss_call`)."""
    __tracebackhide__ = True
    if claimed(loss, args, kwargs):
        # A hook on the loss module judged it. One wrapper serves every watch of the thread, so the
        # passes the hook left for the others are not needed.
        release(loss, args, kwargs)
        return _inside(call, *call_args, **call_kwargs)
    if steady is not None:
        steady.fold(watch)  # the policy's index of this call counts the calls only counted
    watch._judged = None
    try:
        depth = watch.judge(loss_object, args, kwargs, frame, origin=watch.provenance.get)
    except LossLintError as exc:
        # Raised at the user's call, not from inside losslint's own frames.
        raise exc.with_traceback(None) from None
    if steady is not None:
        report = watch._judged
        steady.remember(watch, loss_object, args, kwargs, depth, report is not None and not report.findings, frame)
    try:
        out = _inside(call, *call_args, **call_kwargs)
    except Exception as exc:
        if depth != "values":  # torch raised on a call the policy did not read: say why (`raised`)
            explain(watch, loss_object, args, kwargs, exc, frame)
        raise
    if depth == "values":
        # The post-mortem: one read of the loss value, on the calls whose values were read.
        watch.after(loss_object, args, kwargs, out, depth, frame)
    return out


def _library_forward(current: Callable, loss: str, patch: _Patch) -> Callable:
    """A library loss class's `forward`: judged as that loss, with the instance's configuration."""

    @functools.wraps(current)
    def forward(self, *args: Any, **kwargs: Any):
        __tracebackhide__ = True
        watches = state.watches
        if not watches or patch.retired or state.busy or state.inside or torch.compiler.is_compiling():
            return current(self, *args, **kwargs)
        return _judged(watches[-1], self, loss, args, kwargs, sys._getframe(1), current, (self, *args), kwargs)

    forward.__losslint_original__ = current
    return forward


def _library_function(current: Callable, loss: str, patch: _Patch) -> Callable:
    original = getattr(current, "__losslint_original__", current)

    @functools.wraps(current)
    def wrapper(*args: Any, **kwargs: Any):
        __tracebackhide__ = True
        watches = state.watches
        if not watches or patch.retired or state.busy or state.inside or torch.compiler.is_compiling():
            return current(*args, **kwargs)
        return _judged(watches[-1], original, loss, args, kwargs, sys._getframe(1), current, args, kwargs)

    wrapper.__losslint_original__ = original
    return wrapper


def judge_boundary(watch, judge: Callable, model: Any, args: tuple, kwargs: dict, frame) -> bool:
    """Judge a model-boundary call in `watch`; True when it found an error or a warning, so that the
    loss the model computes inside from the same labels need not be judged again (an info leaves
    that to the inner loss's own checks)."""
    made: list = []

    def produce(depth: str):
        made.append(judge(model, args, kwargs, depth))
        return made[-1]

    try:
        watch.judge(model, args, kwargs, frame, produce=produce)
    except LossLintError as exc:
        # Raised at the user's call, not from inside losslint's own frames.
        raise exc.with_traceback(None) from None
    report = made[0] if made else None
    return report is not None and any(f.severity in ("error", "warning") for f in report.findings)


def _boundary_call(current: Callable, judge: Callable, patch: _Patch, where: tuple = ("labels", None)) -> Callable:
    """A model whose call carries a loss's target (`labels=`): its own check, then the model runs as
    always. The loss computed inside is judged too, as torch's, unless the boundary found something:
    then that report, in the model's terms, is the one."""

    @functools.wraps(current)
    def __call__(self, *args: Any, **kwargs: Any):
        __tracebackhide__ = True
        watches = state.watches
        if (
            carried(args, kwargs, where) is None
            or not watches
            or patch.retired
            or state.busy
            or state.inside
            or torch.compiler.is_compiling()
        ):
            return current(self, *args, **kwargs)
        if judge_boundary(watches[-1], judge, self, args, kwargs, sys._getframe(1)):
            # The boundary said what is wrong, in the model's terms: the loss computed from these
            # labels inside the model is not judged again (one report, with the model's fix).
            return _inside(current, self, *args, **kwargs)
        return current(self, *args, **kwargs)

    __call__.__losslint_original__ = current
    return __call__
