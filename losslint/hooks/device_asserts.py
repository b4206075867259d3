"""The class-index range as an assertion on the device: `watch(device_asserts=True)`, `attach(..., device_asserts=True)`.

The value check that matters most on a GPU is the class-index range: a label outside [0, C) makes
CrossEntropyLoss and NLLLoss fail with a CUDA device-side assert, reported asynchronously, at some
later line, and fatal to the process. losslint reads values only on a sample of calls (the policy),
and never while torch.compile traces (the tensors are fake). For the others this adds, as kornia
does, `torch._assert_async` of the range to the computation itself: no sync, no graph break, one
small kernel per call; on a GPU the assert still stops the process, but it now says which tensor
and what was expected. On the CPU torch raises a clear error of its own and the assertion is not
needed, so in eager mode it is added only for tensors on another device; a compiled graph gets it
whatever the device, since the graph is the same.

Off by default: it costs a kernel on every call.
"""

from __future__ import annotations

import torch

# The losses whose integer target holds class indices in [0, C), with an ignore_index: the
# functional's name -> (the loss's name, positions of input, target and ignore_index, its default).
CLASS_INDEX_LOSSES = {"cross_entropy": ("CrossEntropyLoss", 0, 1, 4, -100), "nll_loss": ("NLLLoss", 0, 1, 4, -100)}
# The same losses by the loss's name, as the registry resolves a module (attach(); NLLLoss2d is NLLLoss).
BY_LOSS = {entry[0]: functional for functional, entry in CLASS_INDEX_LOSSES.items()}

MESSAGE = (
    "losslint: {loss}: a class index in target is outside [0, {classes}) and is not ignore_index "
    "({ignore}); torch would fail with a device-side assert. Check the labels: 1-based labels need "
    "`target - 1`, padding needs ignore_index, and the model's class count must cover every label."
)


def _argument(args: tuple, kwargs: dict, position: int, name: str, default: object = None) -> object:
    if len(args) > position:
        return args[position]
    return kwargs.get(name, default)


def assert_class_range(loss: str, args: tuple, kwargs: dict, *, compiling: bool) -> None:
    """Add the assertion for a call of the functional `loss` (by name), where it applies."""
    spec = CLASS_INDEX_LOSSES.get(loss)
    if spec is None:
        return
    shown, input_at, target_at, ignore_at, default_ignore = spec
    logits = _argument(args, kwargs, input_at, "input")
    target = _argument(args, kwargs, target_at, "target")
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        return
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        return  # class probabilities, or a dtype torch rejects before any kernel runs
    if not compiling and target.device.type == "cpu":
        return
    if logits.dim() == 0:
        return
    ignore = _argument(args, kwargs, ignore_at, "ignore_index", default_ignore)
    if not isinstance(ignore, int):
        return
    classes = logits.shape[1] if logits.dim() >= 2 else logits.shape[0]
    message = MESSAGE.format(loss=shown, classes=classes, ignore=ignore)
    if compiling:
        _assert(target, classes, ignore, message)  # traced into the user's graph
        return
    # Eagerly: a mode of the user's (a FLOP counter) does not see losslint's own ops.
    with torch._C.DisableTorchFunction():
        _assert(target, classes, ignore, message)


def _assert(target: torch.Tensor, classes: int, ignore: int, message: str) -> None:
    inside = ((target >= 0) & (target < classes)) | (target == ignore)
    torch._assert_async(inside.all(), message)


def assert_module_class_range(loss: str, module: torch.nn.Module, args: tuple, kwargs: dict, *, compiling: bool) -> None:
    """The same for a call of a loss module, by the loss's name, with the module's own ignore_index."""
    functional = BY_LOSS.get(loss)
    if functional is None:
        return
    ignore = getattr(module, "ignore_index", -100)
    assert_class_range(functional, args, {**kwargs, "ignore_index": ignore}, compiling=compiling)
