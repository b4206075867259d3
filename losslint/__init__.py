"""losslint: explains PyTorch loss-function mismatches before the loss runs.

    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    print(report)
"""

from .engine import Checker, check
from .findings import Finding, LossLintError, LossLintWarning, Report, RuleFileError, UnknownLossError

__all__ = [
    "Checker",
    "Finding",
    "LossLintError",
    "LossLintWarning",
    "Report",
    "RuleFileError",
    "UnknownLossError",
    "check",
]
__version__ = "0.1.0"
