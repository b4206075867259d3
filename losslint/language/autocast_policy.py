"""What `torch.autocast` does to a loss call: the dtypes its kernel sees, per device.

A loss under autocast does not compute in its arguments' dtypes. Each device's autocast has its own
lists (aten/src/ATen/autocast_mode.cpp and autocast_mode.h in torch's source):

- the fp32 list: the op casts its floating arguments of the autocast device to float32 (float64 is never
  cast) and computes in float32 — on the CPU every loss kernel, BCE and CTC included; on CUDA, XPU and
  MPS the loss kernels except the two below;
- banned: `binary_cross_entropy` raises under CUDA and XPU autocast for every dtype, float32 included
  ("unsafe to autocast": its float16 gradient overflows);
- not wrapped: the op runs on its arguments as they are — `ctc_loss` on CUDA (its CUDA kernel takes
  float and double only, so half-precision log-probs raise), and the losses torch writes in Python
  (GaussianNLLLoss, MultiLabelSoftMarginLoss, TripletMarginWithDistanceLoss, and MSE/L1/Huber with a
  `weight`) on the CPU. On CUDA their inner `log`/`pow`/`sum` are on the fp32 list, which this module
  does not model: it leaves their dtypes as they are there.
- CrossEntropyLoss on CUDA is not wrapped itself, but its `log_softmax` and `nll_loss` are fp32: the
  same as the fp32 list for what the call can raise and the dtype of its result.

Which ops have an autocast kernel on which device is asked of the installed torch's dispatcher
(`torch._C._dispatch_has_kernel_for_dispatch_key`), so a release that adds or drops a loss from a list is
followed without a version number; which list a wrapped loss is on (fp32 for every loss op, banned for
BCE on CUDA/XPU) is data, from torch's source. CPU autocast is verified by running torch
(tests/test_autocast.py); the CUDA entries are derived from torch's source (docs/guides/mixed-precision.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

# The aten op that autocast wraps for each of torch's losses (canonical name), or None where torch
# computes the loss in Python from ops that autocast treats one by one.
LOSS_OPS: dict[str, tuple[str, ...] | None] = {
    "BCELoss": ("aten::binary_cross_entropy",),
    "BCEWithLogitsLoss": ("aten::binary_cross_entropy_with_logits",),
    "CrossEntropyLoss": ("aten::cross_entropy_loss",),
    "NLLLoss": ("aten::nll_loss", "aten::nll_loss2d"),
    "MSELoss": ("aten::mse_loss",),
    "L1Loss": ("aten::l1_loss",),
    "SmoothL1Loss": ("aten::smooth_l1_loss",),
    "HuberLoss": ("aten::huber_loss",),
    "SoftMarginLoss": ("aten::soft_margin_loss",),
    "MultiMarginLoss": ("aten::multi_margin_loss",),
    "MultiLabelMarginLoss": ("aten::multilabel_margin_loss",),
    "KLDivLoss": ("aten::kl_div",),
    "PoissonNLLLoss": ("aten::poisson_nll_loss",),
    "CosineEmbeddingLoss": ("aten::cosine_embedding_loss",),
    "HingeEmbeddingLoss": ("aten::hinge_embedding_loss",),
    "MarginRankingLoss": ("aten::margin_ranking_loss",),
    "TripletMarginLoss": ("aten::triplet_margin_loss",),
    "CTCLoss": ("aten::ctc_loss.IntList", "aten::ctc_loss.Tensor"),
    "GaussianNLLLoss": None,
    "MultiLabelSoftMarginLoss": None,
    "TripletMarginWithDistanceLoss": None,
    # linear (lower-precision list) then cross_entropy (fp32 list on the CPU; fp32 inner ops on CUDA).
    "LinearCrossEntropyLoss": ("aten::cross_entropy_loss",),
}

# Arguments that a loss first hands to an op on the lower-precision list: autocast casts them to its low
# dtype (LinearCrossEntropyLoss's projection is an `aten::linear`), the rest follow the loss's policy.
LOWER_PRECISION_ARGUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "LinearCrossEntropyLoss": ("aten::linear", ("input", "linear_weight", "linear_bias")),
}

# Losses whose `weight=` makes torch compute them in Python (F.mse_loss and l1_loss, on releases
# where they take one: releases.holds("mse_loss_weight")): the fused op that autocast wraps is not called then. (F.huber_loss with a weight still calls the fused op, with
# reduction="none", and multiplies its float32 result by the weight.)
WEIGHTED_IN_PYTHON = frozenset({"MSELoss", "L1Loss"})

# Wrapped ops whose autocast kernel is not the fp32 cast (autocast_mode.cpp registers
# `binary_cross_entropy_banned` for CUDA and XPU).
BANNED: dict[str, frozenset[str]] = {
    "aten::binary_cross_entropy": frozenset({"cuda", "xpu"}),
}

# Not wrapped on the device, but its inner ops are fp32 (log_softmax fp32_set_opt_dtype, nll_loss fp32).
INNER_FP32: dict[str, frozenset[str]] = {
    "aten::cross_entropy_loss": frozenset({"cuda", "xpu", "mps"}),
}

_DISPATCH_KEYS = {"cpu": "AutocastCPU", "cuda": "AutocastCUDA", "xpu": "AutocastXPU", "mps": "AutocastMPS"}

# What a device's autocast is called when its tensors are on that device; a tensor on any other device
# (meta, a fake tensor's device aside) gets no autocast kernel.
AUTOCAST_DEVICES = tuple(_DISPATCH_KEYS)


@cache
def wrapped(op: str, device_type: str) -> bool:
    """Whether the installed torch registers an autocast kernel for `op` on `device_type`."""
    key = _DISPATCH_KEYS.get(device_type)
    if key is None:
        return False
    try:
        return bool(torch._C._dispatch_has_kernel_for_dispatch_key(op, key))
    except (RuntimeError, AttributeError):
        return False  # the op does not exist in this release


def policy(loss: str, device_type: str, config: dict[str, Any] | None = None) -> str:
    """"fp32", "banned" or "as-is": what autocast on `device_type` does to `loss`'s kernel."""
    ops = LOSS_OPS.get(loss)
    if ops is None:
        return "as-is"
    if loss in WEIGHTED_IN_PYTHON and config and isinstance(config.get("weight"), torch.Tensor):
        return "as-is"
    for op in ops:
        if device_type in BANNED.get(op, ()):
            return "banned"
        if device_type in INNER_FP32.get(op, ()):
            return "fp32"
    return "fp32" if any(wrapped(op, device_type) for op in ops) else "as-is"


def enabled(device_type: str) -> bool:
    # torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) exist on every
    # release losslint accepts (the per-device forms replaced is_autocast_cpu_enabled and friends).
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except (RuntimeError, TypeError):
        return False  # a device type this build does not know


def dtype(device_type: str) -> torch.dtype:
    """The low-precision dtype of the device's autocast (float16 by default on CUDA, bfloat16 on CPU)."""
    return torch.get_autocast_dtype(device_type)


def _any_enabled_by_device() -> bool:
    return any(enabled(d) for d in AUTOCAST_DEVICES)


# The cheap test a hook's every call pays: is any autocast on at all? torch's own probe where the
# release has it (one C call, no Python frame), else each device in turn.
ANY_ENABLED = getattr(torch._C, "_is_any_autocast_enabled", None) or _any_enabled_by_device


def any_enabled() -> bool:
    """Is any autocast on at all (`ANY_ENABLED`, as a bool)?"""
    return bool(ANY_ENABLED())


@dataclass(frozen=True)
class Autocast:
    """The autocast a call runs under: its device, low dtype, and what it does to this loss."""

    device_type: str
    dtype: torch.dtype
    policy: str  # "fp32", "banned", "as-is"

    def describe(self) -> str:
        return f"torch.autocast({self.device_type!r}, dtype=torch.{str(self.dtype).removeprefix('torch.')})"


def active(loss: str, tensors: list[torch.Tensor], config: dict[str, Any] | None = None) -> Autocast | None:
    """The autocast that applies to a call of `loss` on these tensors, or None. Eligibility is per
    tensor device: the first tensor's device decides (a call on two devices is a device error)."""
    if not ANY_ENABLED():
        return None
    for t in tensors:
        device_type = t.device.type
        if device_type in _DISPATCH_KEYS and enabled(device_type):
            return Autocast(device_type, dtype(device_type), policy(loss, device_type, config))
        return None
    return None


def eligible(t: torch.Tensor, device_type: str) -> bool:
    """Whether autocast casts this tensor: floating, on the autocast's device, and not float64."""
    return t.is_floating_point() and t.dtype != torch.float64 and t.device.type == device_type


def kernel_dtype(loss: str, argument: str, t: torch.Tensor, autocast: Autocast | None) -> torch.dtype:
    """The dtype the loss's kernel sees for its argument `t`."""
    if autocast is None or not eligible(t, autocast.device_type):
        return t.dtype
    lower = LOWER_PRECISION_ARGUMENTS.get(loss)
    if lower is not None and argument in lower[1] and wrapped(lower[0], autocast.device_type):
        return autocast.dtype
    return torch.float32 if autocast.policy == "fp32" else t.dtype


def state() -> tuple:
    """The autocast state that changes a verdict, for the engine's metadata cache."""
    if not ANY_ENABLED():
        return ()
    return tuple((d, dtype(d)) for d in AUTOCAST_DEVICES if enabled(d))
