"""Named checks: the code that rule files refer to by name.

A rule file says *which* checks apply to a loss (``checks = ["single_class"]``) and with which
parameters; the functions here say *how*. Each takes the call's `CallContext` and the parameters from
the rule file, and reports through `ctx.emit`. Kind checks are named ``kind_<kind>`` and run for every
argument whose format declares that value kind.
"""

from __future__ import annotations

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


# Importing the modules registers their checks.
from . import binary, classification, distribution, elementwise, kinds, margin, metric, regression, sequence  # noqa: E402,F401
from . import backward, bounded, misuse, numerics  # noqa: E402,F401  (issue 11: NaN / inf, bounded predictions, domains)
# Other libraries' conventions (issue 12), one module each: dropping a library touches nothing else.
from . import lib_monai, lib_smp, lib_timm, lib_torchvision  # noqa: E402,F401
