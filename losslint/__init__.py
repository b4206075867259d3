"""losslint: explains PyTorch loss-function mismatches before the loss runs.

    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    print(report)
"""

from .engine import Checker, check
from .findings import Finding, LossLintError, LossLintWarning, Report, RuleFileError, UnknownLossError
from .hook import attach, pre_hook
from .policy import Policy
from .watch import watch

__all__ = [
    "Checker",
    "Finding",
    "LossLintError",
    "LossLintWarning",
    "Policy",
    "Report",
    "RuleFileError",
    "UnknownLossError",
    "attach",
    "check",
    "pre_hook",
    "watch",
]
__version__ = "0.1.0"
