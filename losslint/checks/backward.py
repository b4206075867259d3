"""Calls whose forward runs and whose backward raises, judged from the arguments alone.

torch's huber_loss forward promotes an input and a target of different floating dtypes, but its
backward kernel writes the gradient in one dtype and checks the other against it: 'Found dtype Half
but expected Float' (every pair of float16, bfloat16, float32 and float64, whichever argument requires
grad; measured over the mixed-precision matrix, tests/autocast_matrix.py, where HuberLoss is the only
torch loss that does this). A training step calls backward, so where autograd is on and an argument
requires grad, torch rejects the call — one step later than the forward.
"""

from __future__ import annotations

from ..context import CallContext
from ..facts import dtype_name
from . import check


@check("backward_dtypes", metadata_only=True)
def backward_dtypes(ctx: CallContext, arguments: tuple[str, ...] | list[str] = ("input", "target")) -> None:
    """The arguments' floating dtypes differ and a gradient flows: the backward raises."""
    if not ctx.grad_enabled or (ctx.findings and ctx.torch_raises):
        return
    tensors = [(name, ctx.tensor(name)) for name in arguments]
    if any(t is None or not t.is_floating_point() for _, t in tensors):
        return
    if len({t.dtype for _, t in tensors}) < 2 or not any(t.requires_grad for _, t in tensors):
        return
    (first, a), (second, b) = tensors[0], tensors[1]
    ctx.emit(
        "LL106",
        second,
        f"`{first}` is {dtype_name(a.dtype)} and `{second}` is {dtype_name(b.dtype)}: {ctx.loss.name}'s forward "
        "runs, and its backward raises",
        explanation=(
            f"{ctx.loss.name} promotes the two dtypes in its forward, but its backward raises 'Found dtype "
            f"{_torch_name(b.dtype)} but expected {_torch_name(a.dtype)}' (or the reverse) when the gradient "
            "is computed: the training step fails at loss.backward()."
        ),
        fix=f"{second}.to({first}.dtype)",
        observed=f"{dtype_name(a.dtype)} and {dtype_name(b.dtype)}, with a gradient",
        expected="one floating dtype",
        torch_raises=True,
    )


def _torch_name(dtype) -> str:
    return {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double"}.get(dtype_name(dtype), dtype_name(dtype))
