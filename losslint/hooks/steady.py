"""A watch's steady state: a loss call like the last clean one from its line is counted, not judged again.

Between the policy's values samples, every call of a training loop is checked at metadata depth, and
every call of a loop looks like the one before: the same loss, arguments with the same shapes, dtypes,
devices, layouts and grad requirements, the same non-tensor arguments, the same grad mode, and (where
the watch has recorded origins) the same origin for each tensor. A metadata verdict depends on nothing
else, so once a call from a line was judged clean, the following calls from that line with the same
metadata are only counted, for as many calls as the policy checks at metadata depth only (then a
values call is due, and it is judged in full). This is what `attach()` does for a loss module
(`hook._Record`), here for the functional a default `watch()` wraps (`intercept._judged`).

The user's line is found where it was last time (`sys._getframe(hop)`: one frame object made, not one
per frame of torch's call machinery) and checked against the line's record by code object and
instruction offset (`f_lasti`; `f_lineno` is worked out from the line table on every read); any
mismatch falls back to the line number, then to the full path, which finds the line by walking the
stack.
Only for a single active watch: nested watches each count the call, which the full path does.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from ..evidence import callsite
from .arguments_match import Arguments, facts as _facts
from .hook import new_site
from .policy import metadata_calls_ahead

_SCALARS = (type(None), bool, int, float, str)
_CALLER = 3  # counted -> intercept._loss_call -> the wrapper -> the frame that called the wrapper


class _Site:
    """One line of the user's code that calls a loss: the record of its last clean call."""

    __slots__ = ("code", "lineno", "lasti", "location", "loss", "args", "kwargs", "plain_kwargs", "options", "grad", "origins", "metadata_clean", "budget", "tally")

    def __init__(self, code, lineno: int, location: str | None) -> None:
        self.code, self.lineno, self.location = code, lineno, location
        self.lasti = -1  # the call's instruction offset in the user's frame, last time (see hook._Line)
        self.loss = None
        self.args: Arguments | None = None  # None: no clean call to compare with
        self.kwargs: tuple = ()
        self.plain_kwargs: dict | None = None  # the keywords themselves when all are scalars or None
        # Every option's value, defaults included, in the functional's order, when all are scalars or
        # None: what `functional_wrapper` compares by identity (None: it hands the call on).
        self.options: tuple | None = None
        self.metadata_clean = False  # the record was judged clean at metadata depth (see `remember`)
        self.grad = True
        self.origins: tuple | None = None
        self.budget = 0  # how many more calls the policy checks at metadata depth only
        self.tally: list = []  # calls only counted since the last fold, one entry each (append is atomic)


def _origins(provenance, args: tuple, kwargs: dict) -> tuple | None:
    if not len(provenance):
        return None
    return tuple(provenance.get(v) if isinstance(v, torch.Tensor) else None for v in (*args, *kwargs.values()))


def _same(site: _Site, loss: object, args: tuple, kwargs: dict, provenance, _grad=torch.is_grad_enabled) -> bool:
    """Whether this call's metadata is that of the site's last clean call (unrolled for plain tensors:
    this runs on every call in steady state)."""
    stored = site.args
    if stored is None or site.loss is not loss or _grad() is not site.grad or not stored.matches(args, stored.compared):
        return False
    plain = site.plain_kwargs
    if plain is not None:
        # A loss module's forward passes its configuration as scalars (reduction="mean",
        # ignore_index=-100, weight=None): one dict comparison, identity first.
        if kwargs != plain:
            return False
    elif (kwargs or site.kwargs) and (tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()) != site.kwargs:
        return False
    # `recorded`, not len(): while the watch has recorded no origin (most loops), one attribute says
    # so; once it has, `_origins` looks each tensor up (None while none is alive, as len() would say).
    if site.origins is not None or provenance.recorded:
        return _origins(provenance, args, kwargs) == site.origins
    return True


def _plain_tensors(args: tuple, kwargs: dict, _tensor=torch.Tensor) -> bool:
    """No argument is a tensor subclass (plain tensors, scalars, lists and other objects are)."""
    return not any(isinstance(v, _tensor) and type(v) is not _tensor for v in (*args, *kwargs.values()))


class Steady:
    """The steady state of one watch: its call sites, by (id of code object, line number)."""

    def __init__(self) -> None:
        self.sites: dict[tuple[int, int], _Site] = {}
        self.last: _Site | None = None  # the site of the last call only counted
        # The site the last `remember` left counting, until `functional_wrapper` records its options.
        self.recorded: _Site | None = None
        self.hop = 0  # frames from `counted` to the user's line, last time; 0: unknown

    def counted(self, loss: object, args: tuple, kwargs: dict, provenance) -> bool:
        """Count the call and return True when it is like its line's last clean call and the policy
        checks it at metadata depth only; False: judge it in full (and then `remember`)."""
        hop = self.hop
        if not hop:
            return False
        try:
            guess = sys._getframe(hop)
        except ValueError:
            return False
        site = self.last
        code, lasti = guess.f_code, guess.f_lasti
        if site is None or site.code is not code or site.lasti != lasti:
            site = self.sites.get((id(code), guess.f_lineno))
            if site is None or site.code is not code:
                return False
            site.lasti = lasti
        if site.budget <= 0 or not _same(site, loss, args, kwargs, provenance):
            return False
        site.budget -= 1
        site.tally.append(None)
        self.last = site
        return True

    def remember(self, watch: Any, loss: object, args: tuple, kwargs: dict, depth: str | None, clean: bool, caller) -> None:
        """After a call judged in full: its line, where the user's frame was, and, for a clean call,
        its metadata and how many calls the policy now checks at metadata depth only. `caller`: the
        frame that called the wrapped function, three frames out from `counted` (which
        `intercept._loss_call` calls, which the wrapper calls)."""
        frame, steps = callsite.user_frame_and_steps(caller)
        if frame is None:
            return
        self.hop = _CALLER + steps
        code, lineno = frame.f_code, frame.f_lineno
        site = self.sites.get((id(code), lineno))
        if site is None or site.code is not code:
            site = new_site(self.sites, frame, _Site, lambda: self.forget(watch))
        site.lasti = frame.f_lasti
        if site.location is None or depth is None or not clean or not _plain_tensors(args, kwargs):
            # Only calls on plain tensors are counted: a tensor subclass (a tracer's fake tensor, which
            # `intercept._loss_call` asks about only after this state) is judged every time.
            site.args, site.budget, site.options = None, 0, None
            return
        if depth == "values" and site.metadata_clean and _same(site, loss, args, kwargs, watch.provenance):
            # A values sample whose metadata is the record's: the calls after it are counted again at
            # once, with no metadata-depth call to re-establish what is known.
            site.budget = self._metadata_calls_ahead(watch, site.location)
            self.last = self.recorded = site
            return
        site.loss = loss
        site.args = Arguments(args)
        site.kwargs = tuple((name, _facts(value)) for name, value in kwargs.items()) if kwargs else ()
        site.plain_kwargs = dict(kwargs) if all(type(v) in _SCALARS for v in kwargs.values()) else None
        site.grad = torch.is_grad_enabled()
        site.origins = _origins(watch.provenance, args, kwargs)
        # As attach() does: the run of calls only counted starts after a call checked at metadata
        # depth, the depth they stand for (a values call's verdict is another depth's).
        site.metadata_clean = depth == "metadata"
        site.budget = self._metadata_calls_ahead(watch, site.location) if depth == "metadata" else 0
        site.options = None
        if site.budget > 0:
            self.last = self.recorded = site

    def forget(self, watch: Any) -> None:
        """Fold the counted calls into the watch, then start the site table afresh (`new_site`)."""
        self.fold(watch)
        self.sites.clear()
        self.last = self.recorded = None

    def fold(self, watch: Any, sites=None) -> None:
        """Add the calls only counted to the watch's call and site counts (`Monitor._fold_tallies`)."""
        watch._fold_tallies(list(self.sites.values()) if sites is None else sites)

    @staticmethod
    def _metadata_calls_ahead(watch: Any, location: str) -> int:
        """How many of the next calls from `location` are checked at metadata depth only (a
        metadata-only checker is a ceiling the policy's values calls do not lift: see Monitor.judge)."""
        with watch._lock:
            index = watch._site_calls.get(location, 0)
        policy = watch.policy
        if watch.checker.depth != "metadata":
            return metadata_calls_ahead(policy, index)
        checked = ("metadata", "values")
        ahead = 0
        while ahead < 1000 and policy.depth(index + ahead) in checked:
            ahead += 1
        return ahead
