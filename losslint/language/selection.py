"""Which findings a user wants to see, and at which severity: `select`, `ignore`, per-code severity.

Codes are selected by code or by prefix, as in ruff: `LL3` is every prediction-kind code, `LL301` one
code, `ALL` everything. When a code matches both a `select` and an `ignore` entry, the more specific
(longer) entry wins, and `ignore` wins a tie: `select = ["LL3"], ignore = ["LL301"]` keeps LL302 and
drops LL301; `select = ["LL301"], ignore = ["LL3"]` keeps LL301 alone.

A selection turns a `Report` into a `Report` and knows nothing about where the codes came from
(command-line flags, `[tool.losslint]`, a pytest marker).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # for annotations only: reports are judging's, a layer above
    from ..judging.findings import Report

# Most severe first. Reports are judging's (`judging.findings.Report`); a selection reads their
# findings' `code` and `severity` and rebuilds them with dataclasses.replace, so it needs no import of them.
SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


FAIL_ON = ("error", "warning")
SEVERITIES = ("error", "warning", "info")


class SelectionError(ValueError):
    """A code, prefix or severity that does not exist; the message is one line."""


def split_codes(values: Iterable[str] | None) -> tuple[str, ...]:
    """`["LL3,LL4", "LL501"]` -> `("LL3", "LL4", "LL501")`: flags may repeat and hold commas."""
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip().upper() for part in str(value).split(",") if part.strip())
    return tuple(out)


def _match(entries: Iterable[str], code: str) -> int:
    """Length of the longest entry that selects `code` (ALL counts as 0); -1 when none does."""
    best = -1
    for entry in entries:
        if entry == "ALL":
            best = max(best, 0)
        elif code.startswith(entry):
            best = max(best, len(entry))
    return best


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    # code or prefix -> severity; the most specific entry wins.
    severity: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        severity: dict[str, str] | None = None,
        *,
        known: Iterable[str] | None = None,
        where: str = "",
    ) -> "Selection":
        """Normalize and validate; `known` is the code catalog (every code, e.g. `LL301`)."""
        known_codes = sorted(known) if known is not None else None
        select_t = split_codes(select) or ("ALL",)
        ignore_t = split_codes(ignore)
        severity_d = {key.strip().upper(): str(value) for key, value in (severity or {}).items()}
        problems: list[str] = []
        prefix = f"{where}: " if where else ""
        for label, entries in (("select", select_t), ("ignore", ignore_t), ("severity", tuple(severity_d))):
            for entry in entries:
                if entry == "ALL" or known_codes is None:
                    continue
                if not any(code.startswith(entry) for code in known_codes):
                    problems.append(
                        f"{prefix}{label}: {entry!r} is neither a losslint code nor a prefix of one "
                        f"(codes run {known_codes[0]}…{known_codes[-1]}; see `losslint explain CODE`)"
                    )
        for key, value in severity_d.items():
            if value not in SEVERITIES:
                problems.append(f"{prefix}severity: {key} = {value!r}; use one of {', '.join(SEVERITIES)}")
        if problems:
            raise SelectionError("; ".join(problems))
        return cls(select_t, ignore_t, severity_d)

    def keeps(self, code: str) -> bool:
        return _match(self.select, code) > _match(self.ignore, code)

    def severity_of(self, code: str, severity: str, torch_raises: bool) -> str:
        # A call torch rejects stays an error whatever the configuration says: it will crash anyway.
        if torch_raises or not self.severity:
            return severity
        best, chosen = -1, severity
        for entry, value in self.severity.items():
            length = _match((entry,), code)
            if length > best:
                best, chosen = length, value
        return chosen

    def apply(self, report: Report) -> Report:
        """The report with unselected findings dropped and severities overridden (reordered to match)."""
        findings = []
        for finding in report.findings:
            if not self.keeps(finding.code):
                continue
            severity = self.severity_of(finding.code, finding.severity, finding.torch_raises)
            if severity != finding.severity:
                finding = dataclasses.replace(finding, severity=severity)
            findings.append(finding)
        if len(findings) == len(report.findings) and all(a is b for a, b in zip(findings, report.findings)):
            return report
        # dataclasses.replace keeps every other field of the report (call site, count, …).
        return dataclasses.replace(report, findings=tuple(findings))


def fails(report: Report, fail_on: str) -> bool:
    """True when the report has a finding at or above `fail_on` ("error" or "warning")."""
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] <= threshold for f in report.findings)
