"""Calls whose forward runs and whose backward raises, judged from the arguments alone.

huber_loss's forward promotes an input and a target of different floating dtypes, but its backward
kernel writes the gradient in one dtype and checks the other against it: 'Found dtype Half but expected
Float' (every pair of float16, bfloat16, float32 and float64, whichever argument requires grad). Some
releases' mse_loss does the same, and some lack the float16 CPU backward of mse_loss or smooth_l1_loss
while their forward runs; the mixed-precision matrix (tests/autocast_matrix.py) finds these on each
release, and losslint/releases.py asks the installed torch. A training step calls backward, so where
autograd is on and an argument requires grad, torch rejects the call, one step after the forward.
"""

from __future__ import annotations

import torch

from ..evidence.facts import dtype_name
from ..judging.context import CallContext
from ..language import releases
from ..language.autocast_policy import WEIGHTED_IN_PYTHON
from . import check


@check("backward_dtypes", metadata_only=True)
def backward_dtypes(ctx: CallContext, functional: str, arguments: tuple[str, ...] | list[str] = ("input", "target")) -> None:
    """A gradient will flow and the release's backward of F.<functional> rejects the dtypes its forward
    took: two floating dtypes (asked of torch: releases.mixed_backward_message), or a half-precision
    dtype its CPU backward kernel lacks (releases.cpu_backward_message)."""
    if not ctx.grad_enabled or (ctx.findings and ctx.torch_raises):
        return
    if ctx.loss.name in WEIGHTED_IN_PYTHON and isinstance(ctx.config.get("weight"), torch.Tensor):
        return  # computed from pow/abs/mul, whose backward takes any floating mix
    tensors = [(name, ctx.tensor(name)) for name in arguments]
    if any(t is None or not t.is_floating_point() for _, t in tensors):
        return
    if not any(t.requires_grad for _, t in tensors):
        return
    (first, a), (second, b) = tensors[0], tensors[1]
    if a.dtype != b.dtype:
        said = releases.mixed_backward_message(functional)
        if said is None:
            return
        ctx.emit(
            "LL106",
            second,
            f"`{first}` is {dtype_name(a.dtype)} and `{second}` is {dtype_name(b.dtype)}: {ctx.loss.name}'s forward "
            "runs, and its backward raises",
            explanation=(
                f"{ctx.loss.name} promotes the two dtypes in its forward, but its backward raises when the gradient "
                f"is computed (for float32 and float16 this release says '{said}'): the training step fails at "
                "loss.backward()."
            ),
            fix=f"{second}.to({first}.dtype)",
            observed=f"{dtype_name(a.dtype)} and {dtype_name(b.dtype)}, with a gradient",
            expected="one floating dtype",
            torch_raises=True,
        )
        return
    if a.dtype in (torch.float16, torch.bfloat16) and a.device.type == "cpu":
        said = releases.cpu_backward_message(functional, a.dtype)
        if said is None or ctx.config.get("beta") == 0:  # smooth_l1 with beta=0 is l1: another kernel
            return
        ctx.emit(
            "LL101",
            first,
            f"`{first}` is {dtype_name(a.dtype)} on the CPU: {ctx.loss.name}'s forward runs, and its backward raises",
            explanation=f"This release has no {dtype_name(a.dtype)} CPU kernel for the gradient: torch raises '{said}' at loss.backward().",
            fix=f"compute the loss in float32: loss({first}.float(), {second}.float())",
            observed=f"{dtype_name(a.dtype)} on the CPU, with a gradient",
            expected="float32 or float64",
            torch_raises=True,
        )


@check("unbatched_target_1_backward", metadata_only=True)
def unbatched_target_1_backward(ctx: CallContext) -> None:
    """A (1,) class index for an unbatched (C,) input: the releases whose forward takes it reject it in
    the backward ('size mismatch (got input: [C], target: [1])'), where a gradient flows."""
    if not ctx.grad_enabled or (ctx.findings and ctx.torch_raises) or releases.holds("unbatched_target_1_backward"):
        return
    if not any(isinstance(v, torch.Tensor) and v.requires_grad for v in ctx.args.values()):
        return
    ctx.emit(
        "LL203",
        "target",
        f"`target` has shape (1,) for an unbatched `input` of shape {tuple(ctx.tensor('input').shape)}: "
        f"{ctx.loss.name}'s forward runs, and its backward raises",
        explanation=(
            "torch takes a (1,) class index for one unbatched sample in the forward, but the backward raises "
            "'size mismatch (got input: [C], target: [1])': the training step fails at loss.backward()."
        ),
        fix="target.squeeze(0) (a 0-d class index), or a batch of one: loss(input.unsqueeze(0), target)",
        observed=ctx.describe("target"),
        expected="a 0-d target for a (C,) input, or (1, C) and (1,)",
        torch_raises=True,
    )
