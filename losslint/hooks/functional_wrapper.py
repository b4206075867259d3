"""A torch loss functional's wrapper with the functional's own parameters, for the calls a watch counts.

A loss module's forward calls its functional with keywords (`F.cross_entropy(input, target,
weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction, label_smoothing=...)`).
A wrapper written `wrapper(*args, **kwargs)` builds a dict of them on every call and spreads it into
the functional again: measured in a training loop with a backward, about half a microsecond a call,
a quarter of what torch's own empty forward pre-hook costs. So the watch's wrapper of a functional
whose parameters Python can spell (no `*args`, `**kwargs` or positional-only ones) is written with
those parameters, defaults included, the way `dataclasses` writes an `__init__`: its arguments arrive
bound, and the counted call hands them on by position.

Only a counted call takes the short way (`_TEMPLATE`: one watch active, a line whose last clean call
had these arguments' metadata and these very option objects, between values samples); any other call
goes to the generic wrapper (`intercept._loss_wrapper`) with the arguments as `(required, {options
that are not their defaults})`, which judges, counts or passes it through as before, and after a
clean judgement records the call's options for the short way (`_slow`).
"""

from __future__ import annotations

import functools
import inspect
import keyword
import linecache
import os
import sys
from typing import Any, Callable

import torch
from torch._C import _is_torch_function_mode_enabled as _mode_enabled

from .monitor import state
from .raised import explain

# Dynamo reads this as True while it traces the wrapper (it hands the call to the generic wrapper,
# which checks it on fake tensors); run, it is a plain `return False`, where `is_compiling` also asks
# `torch.jit.is_scripting`: a second Python call, measured at a quarter of an empty hook's cost in a
# training loop. Other tracers (non-strict export, the jit tracer) pass tensor subclasses or run under
# a mode, which the short way never counts: they reach the generic wrapper, which asks `is_compiling`.
_dynamo_compiling = torch.compiler.is_dynamo_compiling
_SCALARS = (type(None), bool, int, float, str)

# Frames from `Steady.counted` out to the user's line (`steady.hop`), against the short way's count:
# counted -> intercept._loss_call -> the generic wrapper -> `_slow` -> this wrapper -> its caller,
# where the short way asks from this wrapper itself: this wrapper -> its caller.
_SHORTER_BY = 4

# The wrapper, written for one functional's parameters. `Steady.counted`'s question is asked here, in
# the wrapper's own frame, with no argument tuple built and no further call: in a training loop with a
# backward, where the caches are cold at every call, each Python call and each tuple on this path was
# measured. The names the template uses all start with an underscore, which no parameter of a torch
# functional does (`_parameters` refuses any that would).
_TEMPLATE = """\
def _make(_state, _mode_enabled, _grad, _getframe, _dynamo_compiling, _original, _current, _patch, _slow, _traced, _raised, {defaults}):
    def {name}({parameters}):
        __tracebackhide__ = True
        if _dynamo_compiling():
            # Dynamo traces the generic wrapper, which checks the call on its fake tensors.
            return _traced({required}, {options})
        _thread = _state.__dict__  # this thread's flags, read once (monitor._ThreadState)
        _watches = _thread["watches"]
        if len(_watches) == 1 and not (
            _patch.retired or _thread["busy"] or _thread["inside"] or _thread["thorough"] or _thread["claims"]
            or _thread["predicted"] is not None or _mode_enabled()
        ):
            _watch = _watches[0]
            _steady = _watch.steady
            _site = _steady.last
            # The line's last clean call, recorded with its options (`_slow`): counted when this call is
            # like it, from the same place in the same code, and the policy reads no values on it.
            # (`_site.loss is _original`, asked first: the options were this functional's, as many.)
            _recorded = None if _site is None else _site.options
            if (
                _recorded is not None
                and _site.budget > 0
                and _site.loss is _original
                and _grad() is _site.grad
                and _site.origins is None
                and not _watch.provenance.recorded
                and not _watch.device_asserts
                and {same_options}
            ):
                try:
                    # (hop 0, not yet known, asks for a depth of 0 or less: this frame, never the line's)
                    _frame = _getframe(_steady.hop - {shorter_by})
                    _same = _frame.f_code is _site.code and _frame.f_lasti == _site.lasti and _site.args.check({required_names})
                except (ValueError, TypeError):  # a shallower stack; another number of arguments
                    _same = False
                if _same:
                    _site.budget -= 1
                    _site.tally.append(None)
                    try:
                        return _current({call})
                    except Exception as _exc:
                        _raised(_watch, _exc, {required}, {options})
                        raise
        return _slow({required}, {options})
    return {name}
"""


def _parameters(function: Callable) -> tuple[list[str], list[str], list[str], list[Any], set[str]] | None:
    """(the parameter list as source, the required names, the optional names, their defaults, the
    keyword-only names), or
    None when the signature cannot be written as a plain `def` (no readable signature, `*args`,
    `**kwargs`, positional-only or keyword-only required parameters, no required one, or a name the
    template keeps for itself)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    source: list[str] = []
    required: list[str] = []
    optional: list[str] = []
    defaults: list[Any] = []
    keyword_only = False
    keyword_names: set[str] = set()
    for parameter in signature.parameters.values():
        name = parameter.name
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            return None
        if parameter.kind is parameter.KEYWORD_ONLY:
            if not keyword_only:
                keyword_only = True
                source.append("*")
            keyword_names.add(name)
        elif parameter.kind is not parameter.POSITIONAL_OR_KEYWORD:
            return None  # *args, **kwargs, positional-only
        if parameter.default is parameter.empty:
            if keyword_only or optional:
                return None
            required.append(name)
            source.append(name)
        else:
            source.append(f"{name}=_d{len(defaults)}")
            optional.append(name)
            defaults.append(parameter.default)
    if not required:
        return None
    return source, required, optional, defaults, keyword_names


def matched_wrapper(original: Callable, current: Callable, generic: Callable, patch: Any) -> Callable | None:
    """The wrapper of `current` (the functional `original`, or what stands in its place) with its own
    parameters, which counts what a watch would count and hands everything else to `generic`; None
    when the parameters cannot be written out (then `generic` is the wrapper)."""
    found = _parameters(current)
    if found is None:
        return None
    source, required, optional, defaults, keyword_only = found
    name = getattr(current, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in required or name in optional:
        name = "loss"  # the def's own name only (update_wrapper below gives it the functional's)
    text = _TEMPLATE.format(
        name=name,
        parameters=", ".join(source),
        defaults="".join(f"_d{i}, " for i in range(len(defaults))),
        required="(" + "".join(f"{n}, " for n in required) + ")",
        required_names=", ".join(required),
        options="(" + "".join(f"{n}, " for n in optional) + ")",
        same_options=" and ".join(f"{n} is _recorded[{i}]" for i, n in enumerate(optional)) or "True",
        call=", ".join([*required, *(f"{n}={n}" if n in keyword_only else n for n in optional)]),
        shorter_by=_SHORTER_BY,
    )
    # Kept where tracebacks and `inspect` look for source, under a name inside losslint's package, so
    # that the call-site search passes over its frame as over any other of losslint's.
    # (warning_place passes over frames of this name, as over intercept's.)
    filename = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"<losslint wrapper of {name}>")
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(text, filename, "exec"), scope)  # noqa: S102 - the source is built from a signature above

    slow = _slow_for(generic, optional, defaults)

    def raised(watch: Any, exc: BaseException, args: tuple, options: tuple) -> None:
        # The user's frame: raised -> the wrapper -> its caller.
        explain(watch, original, args, _keywords(optional, defaults, options), exc, sys._getframe(2))

    def traced(args: tuple, options: tuple) -> Any:
        return generic(*args, **_keywords(optional, defaults, options))

    wrapper = scope["_make"](
        state, _mode_enabled, torch.is_grad_enabled, sys._getframe, _dynamo_compiling, original, current, patch, slow, traced, raised, *defaults
    )
    functools.update_wrapper(wrapper, current)
    return wrapper


def _keywords(optional: list[str], defaults: list[Any], options: tuple) -> dict[str, Any]:
    """The options given, as the keywords a caller would have written: those that are not the default."""
    return {name: value for name, default, value in zip(optional, defaults, options) if value is not default}


def _slow_for(generic: Callable, optional: list[str], defaults: list[Any]) -> Callable[[tuple, tuple], Any]:
    def slow(args: tuple, options: tuple) -> Any:
        """Any call the short way does not take: the generic wrapper's, with the options given as
        keywords. After it, a clean call's options are recorded on its line (`Steady.recorded`), when
        they are all scalars or None: compared by identity, they then stand for their values."""
        __tracebackhide__ = True
        watches = state.watches
        steady = watches[0].steady if len(watches) == 1 else None
        if steady is not None:
            steady.recorded = None
        result = generic(*args, **_keywords(optional, defaults, options))
        if steady is not None:
            site = steady.recorded
            if site is not None:
                steady.recorded = None
                if all(type(value) in _SCALARS for value in options):
                    site.options = options
        return result

    return slow
