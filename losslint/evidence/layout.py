"""Where a producer put the classes: read from the autograd graph of the tensor a loss receives.

A Linear layer's output has its features last, whatever the leading dims: `(N, L, C)` token logits,
`(T, N, V)` sequence logits, `(N, H, W, C)` per-pixel logits. A convolution's output has its channels at
dim 1. Following the tensor's `grad_fn` back through ops that keep its layout, or move its dims in a
known way (transpose, permute, movedim, an activation, a cast, a view that keeps the last dim), to the
layer that made it tells which dim of the tensor holds that layer's outputs. Shapes alone cannot: a
`(T, N, V)` tensor with N == V reads as `(N, C, d)` just as well.

Needs no values and costs a few attribute reads; says nothing for a tensor without autograd history
(made under `no_grad`, detached) or one whose path back it does not understand.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Nodes whose output has the input's layout, dim for dim (their first input is the tensor followed).
_SAME_LAYOUT = frozenset(
    {
        "ToCopyBackward0", "CloneBackward0", "AliasBackward0", "LogSoftmaxBackward0", "SoftmaxBackward0",
        "SigmoidBackward0", "TanhBackward0", "ReluBackward0", "SoftplusBackward0", "ExpBackward0",
        "LogSigmoidBackward0", "LogSigmoidBackward1", "MulBackward1", "DivBackward1", "AddBackward1", "SubBackward1",
        "NegBackward0", "GeluBackward0", "ContiguousBackward0",
    }
)
_VIEWS = frozenset({"ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0"})
_MAX_STEPS = 16


@dataclass(frozen=True)
class ProducerAxis:
    dim: int  # the dim of the tensor that holds the producer's outputs (features, channels)
    producer: str  # in words: "a Linear layer (its output features are its last dim)"


def producer_axis(tensor: torch.Tensor) -> ProducerAxis | None:
    """The dim of `tensor` that holds the outputs of the layer that made it, or None where unknown."""
    node = getattr(tensor, "grad_fn", None)
    # pos[i]: where dim i of `tensor` sits in the output of `node` (None: merged by a view, untraceable).
    pos: list[int | None] = list(range(tensor.ndim))
    sizes = tuple(tensor.shape)
    for _ in range(_MAX_STEPS):
        if node is None:
            return None
        name = type(node).__name__
        if name in ("AddmmBackward0", "MmBackward0"):
            features = int(node._saved_mat2_sym_sizes[-1])
            last = len(sizes) - 1
            dims = [i for i, p in enumerate(pos) if p == last]
            if len(dims) != 1 or tensor.shape[dims[0]] != features:
                return None
            return ProducerAxis(dims[0], "a Linear layer (its output features are its last dim)")
        if name == "ConvolutionBackward0":
            dims = [i for i, p in enumerate(pos) if p == 1]
            return ProducerAxis(dims[0], "a convolution (its channels are dim 1)") if len(dims) == 1 else None
        if name in _SAME_LAYOUT:
            pass
        elif name == "TransposeBackward0":
            a, b = node._saved_dim0 % len(sizes), node._saved_dim1 % len(sizes)
            pos = [b if p == a else a if p == b else p for p in pos]
            sizes = tuple(sizes[b] if i == a else sizes[a] if i == b else s for i, s in enumerate(sizes))
        elif name == "PermuteBackward0":
            dims = [d % len(sizes) for d in node._saved_dims]  # output dim j is input dim dims[j]
            pos = [None if p is None else dims[p] for p in pos]
            inverse = [0] * len(dims)
            for j, d in enumerate(dims):
                inverse[d] = sizes[j]
            sizes = tuple(inverse)
        elif name in _VIEWS and hasattr(node, "_saved_self_sym_sizes"):
            before = tuple(int(s) for s in node._saved_self_sym_sizes)
            if not before or before[-1] != sizes[-1]:
                return None
            # Only the last dim is traced through a view: the others may be merged or split.
            last, new_last = len(sizes) - 1, len(before) - 1
            pos = [new_last if p == last else None for p in pos]
            sizes = before
        else:
            return None
        if not node.next_functions or node.next_functions[0][0] is None:
            return None
        node = node.next_functions[0][0]
    return None


# Nodes that move or convert values without computing new ones.
_VALUE_KEEPING = frozenset(
    {"ToCopyBackward0", "CloneBackward0", "AliasBackward0", "TransposeBackward0", "PermuteBackward0", "TBackward0",
     "SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward2", "UnsqueezeBackward0", "SliceBackward0",
     "SelectBackward0", "IndexBackward0", "ExpandBackward0"}
) | _VIEWS
_LAYERS = frozenset({"AddmmBackward0", "MmBackward0", "BmmBackward0", "ConvolutionBackward0", "LinearBackward0"})


def straight_from_layer(tensor: torch.Tensor) -> bool:
    """Whether the values are a Linear's or a convolution's outputs as they came out (moved or cast, not
    transformed): raw scores, whatever range they happen to have."""
    node = getattr(tensor, "grad_fn", None)
    for _ in range(_MAX_STEPS):
        if node is None:
            return False
        name = type(node).__name__
        if name in _LAYERS:
            return True
        if name not in _VALUE_KEEPING or not node.next_functions:
            return False
        node = node.next_functions[0][0]
    return False
