"""Provenance: which op produced a tensor, recorded inside `watch()` without keeping the tensor alive.

`watch()` sees every softmax, log_softmax and sigmoid (functional, `torch.*`, method and module forms:
`nn.Softmax` calls `F.softmax`, `nn.Sigmoid` calls `torch.sigmoid`) and remembers the result's origin
in a weak, identity-keyed table. A loss call's argument found there is known for certain to be, say,
softmax output over dim 1; value heuristics only ever guess that, and need enough rows to.

An origin follows its tensor through ops that move values without changing them (`view`, `reshape`,
`flatten`, indexing, `float()`, `to()`, `contiguous()`, ...), as long as the normalized dimension and
every dimension after it keep their sizes: `logits.softmax(-1).view(-1, C)` is still a softmax over
its last dimension, while after a reshape that merges the normalized dimension nothing is certain.
The default `watch()` does not see those ops (only the producers), so it follows the tensor back
instead: through its `._base` (a view of a softmax output keeps it), through its storage (`.detach()`
shares the producer's memory), and through the autograd graph, whose nodes for copies that keep values
(`.float()`, `.to()`, `.clone()`, `.contiguous()`, views) lead to the producer's node. So a bf16
softmax cast to float32 for the loss is still known as softmax output. A copy made without autograd
(under `no_grad`, or of a detached tensor) is not followed. `watch(thorough=True)` sees every op.
"""

from __future__ import annotations

import os
import sys
import weakref
from dataclasses import dataclass
from types import FrameType

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

from . import callsite


@dataclass(frozen=True)
class Origin:
    """How a tensor was made: `kind` is "softmax", "log_softmax" or "sigmoid"."""

    kind: str
    op: str  # as the user wrote it: "F.softmax", "nn.Softmax", "Tensor.sigmoid", "torch.log_softmax"
    dim: int | None  # the normalized dimension, counted from the end (-1 = last); None: element-wise
    location: str | None  # the user's line that called it

    def dim_for(self, ndim: int) -> int | None:
        """The normalized dimension as a non-negative index of an `ndim`-dimensional tensor."""
        return None if self.dim is None else self.dim + ndim

    def describe(self, ndim: int) -> str:
        """"`F.softmax` over dim 1 at model.py:57"."""
        over = f" over dim {self.dim_for(ndim)}" if self.dim is not None else ""
        at = f" at {self.location}" if self.location else ""
        return f"`{self.op}`{over}{at}"


_T = torch.Tensor
_SOFTMAX = "softmax"
_LOG_SOFTMAX = "log_softmax"
_SIGMOID = "sigmoid"

# The ops whose output kind is certain, with the name they go by when no Python frame says better.
# `F.sigmoid` has no handler of its own: it calls `input.sigmoid()`, which arrives as Tensor.sigmoid.
ORIGIN_OPS: dict[object, tuple[str, str]] = {
    F.softmax: (_SOFTMAX, "F.softmax"),
    torch.softmax: (_SOFTMAX, "torch.softmax"),
    _T.softmax: (_SOFTMAX, "Tensor.softmax"),
    torch.special.softmax: (_SOFTMAX, "torch.special.softmax"),
    F.log_softmax: (_LOG_SOFTMAX, "F.log_softmax"),
    torch.log_softmax: (_LOG_SOFTMAX, "torch.log_softmax"),
    _T.log_softmax: (_LOG_SOFTMAX, "Tensor.log_softmax"),
    torch.special.log_softmax: (_LOG_SOFTMAX, "torch.special.log_softmax"),
    torch.sigmoid: (_SIGMOID, "torch.sigmoid"),
    _T.sigmoid: (_SIGMOID, "Tensor.sigmoid"),
    torch.special.expit: (_SIGMOID, "torch.special.expit"),
}

# Ops that keep values as they are (shape, dtype, device or layout changes): an origin passes through.
PASS_THROUGH_OPS: frozenset[object] = frozenset(
    {
        _T.view, _T.view_as, _T.reshape, _T.reshape_as, torch.reshape, _T.flatten, torch.flatten,
        _T.squeeze, torch.squeeze, _T.unsqueeze, torch.unsqueeze, _T.__getitem__, _T.contiguous,
        _T.clone, torch.clone, _T.detach, torch.detach, _T.float, _T.double, _T.half, _T.bfloat16,
        _T.to, _T.type_as, _T.cpu, _T.cuda,
    }
)

_NN_MODULES = os.path.join("torch", "nn", "modules") + os.sep
_NN_FUNCTIONAL = os.path.join("torch", "nn", "functional.py")
_OVERRIDES = os.path.join("torch", "overrides.py")


def _entry_point(frame: FrameType | None, default: str) -> tuple[str, str | None]:
    """(the op as the user called it, the user's line), from the frames above the watch's handler.

    The first torch frame above `handle_torch_function` names the entry point: `F.softmax` (a frame in
    torch/nn/functional.py), `nn.Softmax` (a module's forward calling it, directly or through `F`), or
    none for `torch.softmax` and `x.softmax()`, which are C functions and keep `default`.
    """
    while frame is not None and (frame.f_code.co_filename.startswith(callsite.LOSSLINT_DIR) or frame.f_code.co_filename.endswith(_OVERRIDES)):
        frame = frame.f_back
    name = default
    if frame is not None and frame.f_code.co_filename.endswith(_NN_FUNCTIONAL):
        name = f"F.{frame.f_code.co_name}"
        frame = frame.f_back
    if frame is not None and frame.f_code.co_name == "forward" and _NN_MODULES in frame.f_code.co_filename:
        owner = frame.f_locals.get("self")
        if owner is not None:
            name = f"nn.{type(owner).__name__}"
    if frame is None:
        return name, None
    # A library's layer (smp's `activation="sigmoid"`) is named at the user's line that reached it.
    _, user, library = callsite.sites(frame)
    return name, f"{user} (inside {library})" if library else user


def _softmax_dim(func: object, args: tuple, kwargs: dict, ndim: int) -> int | None:
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if dim is None:
        # F.softmax(x) without dim: torch picks dim 0 for 0-, 1- and 3-d input, else 1 (and warns).
        dim = 0 if ndim in (0, 1, 3) else 1
    if not isinstance(dim, int):  # a dimension name (named tensors): nothing certain to say
        return None
    return dim - ndim if dim >= 0 else dim


class Provenance:
    """Origins of the tensors one `watch()` saw made, keyed weakly by identity."""

    def __init__(self) -> None:
        self._origins: WeakIdKeyDictionary = WeakIdKeyDictionary()
        # The producers' outputs by their storage, to find them again from a detached tensor:
        # storage address -> (weak reference to the output, its origin).
        self._by_storage: dict[int, tuple[weakref.ref, Origin]] = {}
        # Nothing recorded yet: every lookup is a miss, at no cost. Read on every call in a watch's
        # steady state, where len() (two Python calls) would cost more than the rest of the test.
        self.recorded = False
        self._key = f"losslint.origin.{id(self)}"  # this watch's entry in an autograd node's metadata

    def __len__(self) -> int:
        return len(self._origins)

    def get(self, tensor: torch.Tensor) -> Origin | None:
        """The origin of `tensor`, or of the tensor it is a view of (its `._base`, which views keep:
        the default `watch()` sees the producers, not the view ops), under the same dimension rule
        as `propagate`."""
        origin = self._origins.get(tensor)
        if origin is not None or not self.recorded:
            return origin
        base = getattr(tensor, "_base", None)
        if base is not None:
            origin = self._origins.get(base)
            if origin is not None and _keeps(origin, base, tensor):
                return origin
        return self._through_storage(tensor) or self._through_autograd(tensor)

    def _through_storage(self, tensor: torch.Tensor) -> Origin | None:
        """`.detach()` and views share the producer's memory: the same storage, the same values."""
        try:
            key = tensor.untyped_storage().data_ptr()
        except Exception:  # noqa: BLE001 - meta, sparse, fake tensors: nothing to follow
            return None
        found = self._by_storage.get(key)
        if found is None:
            return None
        ref, origin = found
        out = ref()
        if out is None or out.dtype != tensor.dtype or out.storage_offset() != tensor.storage_offset():
            return None
        return origin if _keeps(origin, out, tensor) else None

    def _through_autograd(self, tensor: torch.Tensor) -> Origin | None:
        """Back through autograd nodes of copies that keep values, to a producer's node, which carries
        the origin in its `metadata` (kept by the node itself, freed with the graph)."""
        node = tensor.grad_fn
        for _ in range(_MAX_COPIES):
            if node is None:
                return None
            found = node.metadata.get(self._key)
            if found is not None:
                shape, origin = found
                return origin if _keeps_shape(origin, shape, tensor) else None
            if type(node).__name__ not in _VALUE_KEEPING_NODES or not node.next_functions:
                return None
            node = node.next_functions[0][0]
        return None

    def _remember(self, out: torch.Tensor, origin: Origin) -> None:
        try:
            key = out.untyped_storage().data_ptr()
        except Exception:  # noqa: BLE001
            key = None
        if key is not None:
            self._by_storage[key] = (weakref.ref(out), origin)
            if len(self._by_storage) > _MAX_REMEMBERED:
                # Outputs of finished steps: drop those that are gone (a step makes a handful).
                self._by_storage = {k: v for k, v in self._by_storage.items() if v[0]() is not None}
        if out.grad_fn is not None:
            out.grad_fn.metadata[self._key] = (tuple(out.shape), origin)

    def record(self, func: object, args: tuple, kwargs: dict, out: object) -> None:
        """After an op of ORIGIN_OPS ran: remember what `out` is."""
        source = args[0] if args else kwargs.get("input")
        if not isinstance(out, torch.Tensor) or not isinstance(source, torch.Tensor):
            return
        kind, default = ORIGIN_OPS[func]
        dim = None if kind == _SIGMOID else _softmax_dim(func, args, kwargs, source.ndim)
        if kind != _SIGMOID and dim is None:
            return
        op, location = _entry_point(sys._getframe(1), default)
        origin = Origin(kind=kind, op=op, dim=dim, location=location)
        self._origins[out] = origin
        self.recorded = True
        self._remember(out, origin)

    def propagate(self, args: tuple, kwargs: dict, out: object) -> None:
        """After a PASS_THROUGH_OPS op ran: `out` inherits its input's origin if the normalized
        dimension and those after it are unchanged."""
        source = args[0] if args else kwargs.get("input")
        if not isinstance(source, torch.Tensor) or not isinstance(out, torch.Tensor) or out is source:
            return
        origin = self._origins.get(source)
        if origin is None or not _keeps(origin, source, out):
            return
        self._origins[out] = origin


# Autograd nodes of ops that move or convert values without changing them (a float cast of probabilities
# is still probabilities); `_keeps` then checks that the normalized dimension survived.
_VALUE_KEEPING_NODES = frozenset(
    {
        "ToCopyBackward0", "CloneBackward0", "ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0",
        "SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward2", "UnsqueezeBackward0", "SliceBackward0",
        "PermuteBackward0", "TransposeBackward0", "TBackward0", "AsStridedBackward0", "ExpandBackward0",
        "IndexBackward0", "SelectBackward0", "AliasBackward0",
    }
)
_MAX_COPIES = 8
_MAX_REMEMBERED = 1024


def _keeps_shape(origin: Origin, shape: tuple[int, ...], out: torch.Tensor) -> bool:
    """`_keeps` for a source known only by its shape (a producer's output that may be gone)."""
    if not out.dtype.is_floating_point:
        return False
    if origin.dim is not None:
        tail = -origin.dim
        if out.ndim < tail or len(shape) < tail or tuple(out.shape[-tail:]) != tuple(shape[-tail:]):
            return False
    return True


def _keeps(origin: Origin, source: torch.Tensor, out: torch.Tensor) -> bool:
    """Whether `out`, made from `source` without changing values, still has `origin`: floating point
    (`.to(torch.long)` truncates probabilities to 0), with the normalized dimension and every one
    after it unchanged."""
    if not out.dtype.is_floating_point:
        return False
    if origin.dim is not None:
        tail = -origin.dim
        if out.ndim < tail or tuple(out.shape[-tail:]) != tuple(source.shape[-tail:]):
            return False
    return True
