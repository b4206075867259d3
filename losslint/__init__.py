"""losslint: explains PyTorch loss-function mismatches before the loss runs.

    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    print(report)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# The exception family imports nothing (losslint/errors.py says why it must load without torch);
# Finding and Report are plain dataclasses. The rest is imported on first use, which also keeps the
# pytest plugin's loading and `losslint lint` free of torch.
from .errors import (
    ConfigError,
    LossLintError,
    LossLintInternalWarning,
    LossLintWarning,
    RuleFileError,
    RuleShadowWarning,
    UnknownLossError,
)
from .judging.findings import Finding, Report
from .version import __version__

if TYPE_CHECKING:
    from .advice.suggestion import suggest
    from .hooks.hook import attach, pre_hook
    from .hooks.policy import Policy
    from .hooks.watcher import watch
    from .judging.engine import Checker, check
    from .language.sources import register_rules

# Public name -> the module (below this package) that defines it.
_LAZY = {
    "Checker": "judging.engine",
    "check": "judging.engine",
    "attach": "hooks.hook",
    "pre_hook": "hooks.hook",
    "Policy": "hooks.policy",
    "register_rules": "language.sources",
    "suggest": "advice.suggestion",
    "watch": "hooks.watcher",
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


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'losslint' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
