"""A torch loss functional's wrapper with the functional's own parameters, for the calls a watch counts.

A loss module's forward calls its functional with keywords (`F.cross_entropy(input, target,
weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction, label_smoothing=...)`).
A wrapper written `wrapper(*args, **kwargs)` builds a dict of them on every call and spreads it into
the functional again: measured in a training loop with a backward, about half a microsecond a call,
a quarter of what torch's own empty forward pre-hook costs. So the watch's wrapper of a functional
whose parameters Python can spell (no `*args`, `**kwargs` or positional-only ones) is written with
those parameters, defaults included, the way `dataclasses` writes an `__init__`: its arguments arrive
bound, and the counted call hands them on by position.

Only the counted call (`_counted`: one watch active, a line whose last clean call had these
arguments' metadata and these very option objects, between values samples) takes the short way; any
other call goes to the generic wrapper (`intercept._loss_wrapper`) with the arguments as `(required,
{options that are not their defaults})`, which judges, counts or passes it through as before, and
after a clean judgement records the call's options for the short way (`_slow`).
"""

from __future__ import annotations

import functools
import inspect
import keyword
import linecache
import operator
import os
import sys
from typing import Any, Callable

import torch
from torch._C import _is_torch_function_mode_enabled as _mode_enabled

from .monitor import state
from .raised import explain

_is_compiling = torch.compiler.is_compiling
_grad = torch.is_grad_enabled
_is = operator.is_
_SCALARS = (type(None), bool, int, float, str)

# Frames from `_counted` out to the user's line, against the generic path's count (`steady.hop`, from
# `Steady.counted`): counted -> intercept._loss_call -> the generic wrapper -> `_slow` -> this wrapper
# -> its caller, where the short way has _counted -> this wrapper -> its caller.
_SHORTER_BY = 3

_PREFIX = "_losslint_"


def _parameters(function: Callable) -> tuple[list[str], list[str], list[str], list[Any], set[str]] | None:
    """(the parameter list as source, the required names, the optional names, their defaults, the
    keyword-only names), or
    None when the signature cannot be written as a plain `def` (no readable signature, `*args`,
    `**kwargs`, positional-only or keyword-only required parameters, or no required one)."""
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
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith(_PREFIX):
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
            source.append(f"{name}={_PREFIX}d{len(defaults)}")
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
    required_tuple = "(" + "".join(f"{name}, " for name in required) + ")"
    options_tuple = "(" + "".join(f"{name}, " for name in optional) + ")"
    call = ", ".join([*required, *(f"{name}={name}" if name in keyword_only else name for name in optional)])
    name = getattr(current, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name in required or name in optional:
        name = "loss"  # the def's own name only (update_wrapper below gives it the functional's)
    # (warning_place passes over frames of this name, as over intercept's.)
    filename = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"<losslint wrapper of {name}>")
    text = "\n".join(
        [
            f"def {_PREFIX}make({_PREFIX}counted, {_PREFIX}slow, {_PREFIX}traced, {_PREFIX}raised, {_PREFIX}current, {_PREFIX}compiling, "
            + "".join(f"{_PREFIX}d{i}, " for i in range(len(defaults)))
            + "):",
            f"    def {name}({', '.join(source)}):",
            "        __tracebackhide__ = True",
            f"        if {_PREFIX}compiling():",
            # Dynamo traces the generic wrapper, which checks the call on its fake tensors.
            f"            return {_PREFIX}traced({required_tuple}, {options_tuple})",
            f"        {_PREFIX}watch = {_PREFIX}counted({required_tuple}, {options_tuple})",
            f"        if {_PREFIX}watch is not None:",
            "            try:",
            f"                return {_PREFIX}current({call})",
            f"            except Exception as {_PREFIX}exc:",
            f"                {_PREFIX}raised({_PREFIX}watch, {_PREFIX}exc, {required_tuple}, {options_tuple})",
            "                raise",
            f"        return {_PREFIX}slow({required_tuple}, {options_tuple})",
            f"    return {name}",
            "",
        ]
    )
    # Kept where tracebacks and `inspect` look for source, under a name inside losslint's package, so
    # that the call-site search passes over its frame as over any other of losslint's.
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope: dict[str, Any] = {}
    exec(compile(text, filename, "exec"), scope)  # noqa: S102 - the source is built from a signature above

    counted = _counted_for(original, patch)
    slow = _slow_for(generic, optional, defaults)

    def raised(watch: Any, exc: BaseException, args: tuple, options: tuple) -> None:
        # The user's frame: raised -> the wrapper -> its caller.
        explain(watch, original, args, _keywords(optional, defaults, options), exc, sys._getframe(2))

    def traced(args: tuple, options: tuple) -> Any:
        return generic(*args, **_keywords(optional, defaults, options))

    wrapper = scope[f"{_PREFIX}make"](counted, slow, traced, raised, current, _is_compiling, *defaults)
    functools.update_wrapper(wrapper, current)
    return wrapper


def _keywords(optional: list[str], defaults: list[Any], options: tuple) -> dict[str, Any]:
    """The options given, as the keywords a caller would have written: those that are not the default."""
    return {name: value for name, default, value in zip(optional, defaults, options) if value is not default}


def _counted_for(original: Callable, patch: Any) -> Callable[[tuple, tuple], Any]:
    def counted(args: tuple, options: tuple) -> Any:
        """The watch, when this call is only counted: `Steady.counted`'s question for a call whose
        options are the very objects of the line's last clean call (`_Site.options`); else None."""
        thread = state.__dict__  # this thread's flags, read once (monitor._ThreadState)
        watches = thread["watches"]
        if (
            not watches
            or len(watches) != 1
            or patch.retired
            or thread["busy"]
            or thread["inside"]
            or thread["thorough"]
            or thread["claims"]
            or thread["predicted"] is not None
            or _mode_enabled()
        ):
            return None
        watch = watches[0]
        steady = watch.steady
        hop = steady.hop - _SHORTER_BY
        if hop <= 0 or watch.device_asserts:
            return None
        try:
            guess = sys._getframe(hop)
        except ValueError:
            return None
        site = steady.last
        # The line found as the generic path last found it; any other (another line, a second call on
        # the same line) is the generic path's to look up.
        if site is None or site.code is not guess.f_code or site.lasti != guess.f_lasti:
            return None
        recorded = site.options
        if recorded is None or site.budget <= 0 or site.loss is not original or _grad() is not site.grad:
            return None
        if site.origins is not None or watch.provenance.recorded:
            return None
        stored = site.args
        # `recorded` came from this functional's own wrapper (`site.loss is original`): as many options.
        if not (stored.matches(args, stored.compared) and all(map(_is, options, recorded))):
            return None
        site.budget -= 1
        site.tally.append(None)
        return watch

    return counted


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
