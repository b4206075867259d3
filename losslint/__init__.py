"""losslint: explains PyTorch loss-function mismatches before the loss runs.

    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    print(report)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# The exception family imports nothing heavy and stays importable without torch: Python resolves
# `-W error::losslint.LossLintWarning` (and PYTHONWARNINGS) at startup, before `site` has put torch
# on sys.path, and would otherwise drop the filter as an "invalid module name". The rest is imported
# on first use, which also keeps the pytest plugin's loading free of torch.
from .findings import (
    Finding,
    LossLintError,
    LossLintInternalWarning,
    LossLintWarning,
    Report,
    RuleFileError,
    RuleShadowWarning,
    UnknownLossError,
)

if TYPE_CHECKING:
    from .config import ConfigError
    from .engine import Checker, check
    from .hook import attach, pre_hook
    from .policy import Policy
    from .sources import register_rules
    from .suggestion import suggest
    from .watcher import watch

_LAZY = {
    "Checker": "engine",
    "ConfigError": "config",
    "check": "engine",
    "attach": "hook",
    "pre_hook": "hook",
    "Policy": "policy",
    "register_rules": "sources",
    # Not a module named `suggest`, for the same reason as `watch` below.
    "suggest": "suggestion",
    # Not a module named `watch`: importing it would rebind the package attribute to the module.
    "watch": "watcher",
}

__all__ = [
    "Checker",
    "ConfigError",
    "Finding",
    "LossLintError",
    "LossLintInternalWarning",
    "LossLintWarning",
    "Policy",
    "Report",
    "RuleFileError",
    "RuleShadowWarning",
    "UnknownLossError",
    "attach",
    "check",
    "pre_hook",
    "register_rules",
    "suggest",
    "watch",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'losslint' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
