"""Text and JSON renderings of a report. Reports and findings know nothing about presentation."""

from __future__ import annotations

import json

from .findings import Finding, Report


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render_finding(finding: Finding) -> str:
    """The full form: header, observed/expected, why, and the fix on its own `help:` line."""
    raises = " (torch raises)" if finding.torch_raises else ""
    lines = [f"{finding.severity}[{finding.code}] {finding.loss}: {finding.message}{raises}"]
    if finding.observed:
        lines.append(f"  observed: {finding.observed}")
    if finding.expected:
        lines.append(f"  expected: {finding.expected}")
    lines.append(f"  why: {finding.explanation}")
    lines.append(f"  help: {finding.fix}")
    return "\n".join(lines)


def render_text(report: Report) -> str:
    if not report.findings:
        return f"{report.loss}: no problems found"
    body = "\n\n".join(render_finding(f) for f in report.findings)
    counts = ", ".join(
        _plural(n, word) for n, word in ((len(report.errors), "error"), (len(report.warnings), "warning"), (len(report.infos), "info"))
        if n
    )
    verdict = " — torch will reject this call" if report.torch_raises else ""
    return f"{body}\n\n{report.loss}: {counts}{verdict}"


def render_concise(report: Report) -> str:
    """One line per finding, for logs: ``error[LL202] CrossEntropyLoss target: ...``."""
    return "\n".join(f"{f.severity}[{f.code}] {f.loss} {f.argument}: {f.message}" for f in report.findings)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)
