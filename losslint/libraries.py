"""Which losses of other libraries a `watch()` wraps, and the model boundaries it watches.

torch's loss modules end in `F.<loss>`, so wrapping torch's functionals sees them all. Other
libraries' losses mostly do not: smp's DiceLoss, MONAI's DiceLoss and timm's SoftTargetCrossEntropy
compute with primitives and call no torch loss, and those that do (smp's FocalLoss calls
`binary_cross_entropy_with_logits` once per class, on slices) would be judged through the wrong loss,
with torch's fix. So every loss a rule names outside torch — a library's or the user's own, by its
`[loss] module` and `functional` — is wrapped where it is defined, once its module is imported (never
importing it): the class's own `forward`, and the function under every name the library's modules
give it. A call is judged once, as that loss, with the instance's configuration, at the user's line;
what it calls inside is not judged again (`intercept.local.inside`).

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
BOUNDARIES: dict[tuple[str, str], tuple[str, str]] = {
    ("transformers.modeling_utils", "PreTrainedModel"): ("losslint.transformers_labels", "judge_model_call"),
}

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
        if isinstance(cls, type) and "forward" in vars(cls) and (id(cls), "forward") not in seen:
            seen.add((id(cls), "forward"))
            found.append((cls, "forward", spec.name, "module"))
        func = spec.functional
        name = getattr(func, "__name__", None)
        if func is None or not callable(func) or isinstance(func, type) or not name:
            continue
        prefix = library + "."
        for module_name, module in list(sys.modules.items()):
            if module is None or not (module_name == library or module_name.startswith(prefix)):
                continue
            held = vars(module).get(name) if hasattr(module, "__dict__") else None
            if held is not None and getattr(held, "__losslint_original__", held) is func and (id(module), name) not in seen:
                seen.add((id(module), name))
                found.append((module, name, spec.name, "functional"))
    _cache = (key, found)
    return found


def boundary_targets() -> list[tuple[type, Callable]]:
    """(class, check) of every model boundary whose library is imported."""
    found = []
    for (module_name, qualname), (checker_module, checker_name) in BOUNDARIES.items():
        module = sys.modules.get(module_name)
        cls = getattr(module, qualname, None) if module is not None else None
        if not isinstance(cls, type):
            continue
        try:
            judge = getattr(importlib.import_module(checker_module), checker_name)
        except Exception:  # noqa: BLE001 - a check that cannot load leaves the model unwatched, not broken
            continue
        found.append((cls, judge))
    return found
