"""Whether a call's arguments have the metadata of an earlier clean call: the steady state's question.

`attach()` and `watch()` ask it on every call they only count (`hook._Record`, `steady._Site`), so
it is the costliest line of a hook in a training loop: in a loop with a backward, where the CPU's
caches are cold again at every call, reading the metadata of two tensors field by field costs about
as much as torch's own hook dispatch. A call of plain tensors only (what a loss is given in almost
every loop) is compared in one C++ call, the check Dynamo runs on a compiled graph's tensors
(`releases.tensor_guard`): about a fifth of the Python reads' cost, and stricter (it also tells an
autocast region from outside one, and the conjugate and negative bits). Where the installed torch
has no such check, a call of one to three plain tensors is compared by a function written out for
its number of arguments: every field read in one expression and compared in one tuple comparison,
no loop; any other call by `_facts`, argument by argument.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..language.releases import tensor_guard

_Tensor = torch.Tensor


def facts(value: object) -> object:
    """What a metadata check can see of one argument: a tensor's metadata, a scalar itself, a short
    list or tuple by its items (CTCLoss's lengths), and any other object by identity."""
    if type(value) is torch.Tensor:
        return (value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype, value.device, value.layout, value.requires_grad)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if type(value) in (list, tuple) and len(value) <= 64:
        # By value: a list can change in place, and a metadata check reads what it holds.
        return (type(value), tuple(map(facts, value)))
    return (type(value), id(value))


def _by_facts(args: tuple, stored: tuple) -> bool:
    """Any call: the arguments' facts, one by one (a tensor subclass, a scalar, a list)."""
    if len(args) != len(stored):
        return False
    try:
        for value, known in zip(args, stored):
            if type(value) is _Tensor and type(known) is tuple and len(known) == 5:
                shape, dtype, device, layout, requires_grad = known
                if (
                    value.shape != shape
                    or value.dtype is not dtype
                    or value.device != device
                    or value.layout is not layout
                    or value.requires_grad is not requires_grad
                ):
                    return False
            elif facts(value) != known:
                return False
    except (TypeError, ValueError):
        return False  # a tensor where the last call had a scalar, None or a tensor subclass
    return True


# Plain tensors, written out per count. Unpacking a tuple of another length raises ValueError, which
# costs nothing when it does not happen. The tuple comparison tries identity first (a dtype, a
# layout, a bool), so only the shapes and the devices are compared by value.


def _one(args: tuple, flat: tuple) -> bool:
    try:
        (a,) = args
    except ValueError:
        return False
    return type(a) is _Tensor and (a.shape, a.dtype, a.device, a.layout, a.requires_grad) == flat


def _two(args: tuple, flat: tuple) -> bool:
    try:
        a, b = args
    except ValueError:
        return False
    return (
        type(a) is _Tensor
        and type(b) is _Tensor
        and (a.shape, a.dtype, a.device, a.layout, a.requires_grad, b.shape, b.dtype, b.device, b.layout, b.requires_grad) == flat
    )


def _three(args: tuple, flat: tuple) -> bool:
    try:
        a, b, c = args
    except ValueError:
        return False
    return (
        type(a) is _Tensor
        and type(b) is _Tensor
        and type(c) is _Tensor
        and (
            a.shape, a.dtype, a.device, a.layout, a.requires_grad,
            b.shape, b.dtype, b.device, b.layout, b.requires_grad,
            c.shape, c.dtype, c.device, c.layout, c.requires_grad,
        ) == flat
    )


def _guarded(args: tuple, check: Callable[..., bool]) -> bool:
    """Plain tensors, compared by the C++ check recorded for them (`releases.tensor_guard`)."""
    try:
        return check(*args)
    except TypeError:
        return False  # another number of arguments


_WRITTEN_OUT: dict[int, Callable[[tuple, tuple], bool]] = {1: _one, 2: _two, 3: _three}


class Arguments:
    """The metadata of one call's positional arguments, and how a later call is compared with it:
    `matches(args, compared)`, the two attributes read once by the caller; or `check(*args)`, for as
    many arguments as were recorded (another number raises TypeError), where the caller holds them
    one by one (`functional_wrapper`)."""

    __slots__ = ("facts", "matches", "compared", "check")

    def __init__(self, args: tuple) -> None:
        self.facts = tuple(map(facts, args))
        plain = bool(args) and all(type(value) is _Tensor for value in args)
        guard = tensor_guard(args) if plain else None
        if guard is not None:
            self.matches, self.compared = _guarded, guard
            self.check = guard
            return
        written_out = _WRITTEN_OUT.get(len(args)) if plain else None
        if written_out is not None:
            self.matches, self.compared = written_out, sum(self.facts, ())
        else:
            self.matches, self.compared = _by_facts, self.facts
        matches, compared, count = self.matches, self.compared, len(args)

        def check(*args: object) -> bool:
            if len(args) != count:
                raise TypeError("wrong length")
            return matches(args, compared)

        self.check = check
