"""The named checks that rule files refer to, and the built-in packages that provide them.

Rules are data and checks are code; they meet here, by name. A rule file says *which* checks apply to
a loss (``checks = ["single_class"]``) and with which parameters; a function registered with `@check`
says *how*. Each takes the call's `CallContext` and the parameters from the rule file, and reports
through `ctx.emit`. One check, ``kind_contract``, runs for every argument whose format declares a
value kind (``kind = "..."``), with the declared kind as a parameter.

This table sits in the rule language, the lowest layer, so that the registry can validate a rule
file's check names and the engine can run them without importing the layers that define them. The
built-in definitions are loaded by name, once, before the first rule file is validated
(`load_builtin_checks`), the way packages' rules arrive through entry points: the registry never
imports `losslint.checks` itself, so imports keep running down the layers.
"""

from __future__ import annotations

import importlib
import threading
from typing import Callable

REGISTRY: dict[str, Callable[..., None]] = {}

# Codes whose domain findings (see engine._check_domains) deserve a sharper diagnosis: 1-based labels,
# a void label 255. code -> fn(ctx, argument, offending values) -> (code, message tail, fix) or None.
DOMAIN_HINTS: dict[str, Callable[..., tuple[str, str, str | None] | None]] = {}


# Named module adapters (signature.module_adapter): fn(ctx) rewrites ctx.args of a module call into
# what the module's forward() hands to its functional, before anything is observed.
ADAPTERS: dict[str, Callable[..., None]] = {}


def adapter(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        ADAPTERS[name] = fn
        return fn

    return register


def domain_hint(code: str) -> Callable:
    def register(fn: Callable) -> Callable:
        DOMAIN_HINTS[code] = fn
        return fn

    return register


# Checks whose findings follow from the call's metadata and configuration alone (shapes, dtypes,
# configuration scalars, a weight's shape): on a call with the same metadata as one judged before,
# their findings are taken from that call's plan instead of running them again (engine._run_checks).
METADATA_ONLY: set[Callable[..., None]] = set()


def check(name: str, *, metadata_only: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if name in REGISTRY:
            raise RuntimeError(f"check {name!r} registered twice")
        REGISTRY[name] = fn
        if metadata_only:
            METADATA_ONLY.add(fn)
        return fn

    return register


_LIBRARY_NAMES = {"pytorch_metric_learning": "pytorch-metric-learning", "segmentation_models_pytorch": "smp", "monai": "MONAI"}


def raiser(ctx) -> str:
    """Who rejects a bad call, for messages: the library of a built-in rule's loss (kornia), else
    torch (a user's own loss computes with torch, which is what raises)."""
    library = ctx.loss.library or "torch"
    if ctx.loss.layer > 0:
        return "torch"
    return _LIBRARY_NAMES.get(library, library)



# Steps that run after a call's findings are known, when the call's values were read: the advice
# layer adds one that names another loss that takes the target as it is (advice/switch.py).
# fn(ctx) -> None; a step may add findings or fixes through ctx.
AFTER_FINDINGS: list[Callable[..., None]] = []


def after_findings(fn: Callable[..., None]) -> Callable[..., None]:
    AFTER_FINDINGS.append(fn)
    return fn


# Packages whose import registers built-in checks and steps: torch's losses, other libraries', and
# the advice layer's step. Named, not imported, here (see the module docstring).
BUILTIN = ("losslint.checks", "losslint.libraries", "losslint.advice.switch")
_loaded = False
_lock = threading.Lock()


def load_builtin_checks() -> None:
    """Import the built-in check packages once (idempotent, thread-safe)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for name in BUILTIN:
                importlib.import_module(name)
            _loaded = True
