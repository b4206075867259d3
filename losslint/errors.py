"""The exception and warning family, in one place; it imports nothing, so that it loads without torch.

Python resolves `-W error::losslint.LossLintWarning` (and PYTHONWARNINGS) at startup, before `site` has
put torch on sys.path, and would otherwise drop the filter as an "invalid module name"; the pytest
plugin's loading stays free of torch for the same reason. Every class shows its public name
(`losslint.LossLintError`) in tracebacks and warning filters.
"""

from __future__ import annotations


class LossLintError(Exception):
    """Raised on request for a report with errors; `.report` holds the whole report."""

    def __init__(self, report):  # a judging.findings.Report
        self.report = report
        # Raised from a hook, the traceback runs through torch's module and dispatch code; the user's
        # line is named in the message itself.
        where = f"\n  at {report.location}" if report.location else ""
        where += f", inside {report.context}" if report.location and report.context else ""
        super().__init__(str(report) + where)

    def __reduce__(self):
        # Rebuilt from the report, not the message (args), so it crosses processes whole: a
        # DataLoader worker or a spawned rank that raises it hands the parent the report.
        return (type(self), (self.report,), self.__dict__)


class LossLintInternalWarning(RuntimeWarning):
    """losslint itself failed while a hook judged a loss call; the call ran as if unhooked.

    A separate category from LossLintWarning: `-W error::losslint.LossLintWarning` turns findings into
    errors, and must not turn a bug of losslint's into an exception in place of the loss.
    """


class LossLintWarning(UserWarning):
    """Category of every warning losslint emits, so `-W error::losslint.LossLintWarning` works."""


class RuleShadowWarning(UserWarning):
    """A registered rule replaces a built-in (or earlier registered) rule of the same loss.

    Not a LossLintWarning: `-W error::losslint.LossLintWarning` makes findings fatal, not this notice.
    """


# Tracebacks and warning filters show the public name (`losslint.LossLintError`), not this module's.
LossLintError.__module__ = LossLintWarning.__module__ = RuleShadowWarning.__module__ = "losslint"


class UnknownLossError(LookupError):
    """`check()` was handed something that is not a loss losslint knows."""


class RuleFileError(ValueError):
    """One or more rule files are malformed; the message lists every problem with its field path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid losslint rule files:\n" + "\n".join(f"  {p}" for p in problems))


class ConfigError(ValueError):
    """`[tool.losslint]` is malformed; the message names the file and the key, on one line."""


ConfigError.__module__ = "losslint"  # tracebacks show the public name, `losslint.ConfigError`


