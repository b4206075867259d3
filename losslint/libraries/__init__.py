"""Other libraries' losses: one module per library, its checks (registered by name, as `losslint.checks`
does for torch's) beside the boundaries `watch()` wraps (`BOUNDARIES`, `loss_targets`, `boundary_targets`).

Layer: beside `losslint.checks`, which it may import (library checks build on torch's); also judging,
evidence and the rule language. Never hooks, advice or integrations. Importing a module here never
imports the library it describes.

Which losses of other libraries a `watch()` wraps, and the model boundaries it watches.

torch's loss modules end in `F.<loss>`, so wrapping torch's functionals sees them all. Other
libraries' losses mostly do not: smp's DiceLoss, MONAI's DiceLoss and timm's SoftTargetCrossEntropy
compute with primitives and call no torch loss, and those that do (smp's FocalLoss calls
`binary_cross_entropy_with_logits` once per class, on slices) would be judged through the wrong loss,
with torch's fix. So every loss a rule names outside torch — a library's or the user's own, by its
`[loss] module` and `functional` — is wrapped where it is defined, once its module is imported (never
importing it): the class's own `forward`, and the function under every name the library's modules
give it. A call is judged once, as that loss, with the instance's configuration, at the user's line;
what it calls inside is not judged again (`monitor.state.inside`).

A model boundary is a class whose calls carry what a loss will receive before any loss sees it: a
transformers model's `labels=`, with the config that decides which loss the model computes. Its
`__call__` is wrapped for a check of the call itself (`BOUNDARIES`); the loss computed inside is
still judged, as torch's.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable

# Class (module, qualified name) -> (module, function) of the check of its calls, imported when
# the class's module is: judge(model, args, kwargs, depth) -> Report | None.
# The third entry names the argument that carries the target, (keyword, position after self): a call
# without it (inference) is not judged.
BOUNDARIES: dict[tuple[str, str], tuple[str, str, tuple[str, int | None]]] = {
    ("transformers.modeling_utils", "PreTrainedModel"): ("losslint.libraries.transformers", "judge_model_call", ("labels", None)),
    # Faster / Mask / Keypoint R-CNN: forward(images, targets); ground-truth boxes labelled 0 (background).
    ("torchvision.models.detection.generalized_rcnn", "GeneralizedRCNN"): ("losslint.libraries.torchvision", "judge_rcnn_call", ("targets", 1)),
}


def carried(args: tuple, kwargs: dict, where: tuple[str, int | None]):
    """The boundary call's target argument, or None."""
    keyword, position = where
    if keyword in kwargs:
        return kwargs[keyword]
    return args[position - 1] if position is not None and len(args) >= position else None

_cache: tuple[tuple[int, int], list] | None = None


def loss_targets(registry) -> list[tuple[Any, str, str, str]]:
    """(owner, attribute, loss name, "module" or "functional") of every non-torch loss whose module
    is imported: the class that defines `forward`, and each module of the library that holds the
    functional under its name. Recomputed only when sys.modules grew (a new import)."""
    global _cache
    key = (id(registry), len(sys.modules))
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    found: list[tuple[Any, str, str, str]] = []
    seen: set[tuple[int, str]] = set()
    for spec in registry.losses.values():
        library = spec.library
        if library in (None, "torch") or library not in sys.modules:
            continue
        cls = spec.module
        # The class's own forward; or its __call__ where it overrides that instead (timm's JsdCrossEntropy).
        entry = next((m for m in ("forward", "__call__") if isinstance(cls, type) and m in vars(cls)), None)
        if entry is not None and (id(cls), entry) not in seen:
            seen.add((id(cls), entry))
            found.append((cls, entry, spec.name, "module"))
        func = spec.functional
        name = getattr(func, "__name__", None)
        if func is None or not callable(func) or isinstance(func, type) or not name:
            continue
        # Every module that holds it under its name: the library's, and the user's own after
        # `from torchvision.ops import sigmoid_focal_loss` (a name bound inside a function is not reached).
        for module_name, module in list(sys.modules.items()):
            if module is None:
                continue
            held = vars(module).get(name) if hasattr(module, "__dict__") else None
            if held is not None and getattr(held, "__losslint_original__", held) is func and (id(module), name) not in seen:
                seen.add((id(module), name))
                found.append((module, name, spec.name, "functional"))
    _cache = (key, found)
    return found


def boundary_targets() -> list[tuple[type, Callable, tuple[str, int | None]]]:
    """(class, check, where its target is) of every model boundary whose library is imported."""
    found = []
    for (module_name, qualname), (checker_module, checker_name, where) in BOUNDARIES.items():
        module = sys.modules.get(module_name)
        cls = getattr(module, qualname, None) if module is not None else None
        if not isinstance(cls, type):
            continue
        try:
            judge = getattr(importlib.import_module(checker_module), checker_name)
        except Exception:  # noqa: BLE001 - a check that cannot load leaves the model unwatched, not broken
            continue
        found.append((cls, judge, where))
    return found


# Importing the modules registers their checks (each library's rules name them).
from . import monai, smp, timm, torchvision  # noqa: E402,F401
