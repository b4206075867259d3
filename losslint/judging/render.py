"""Text, JSON and GitHub renderings of reports. Reports and findings know nothing about presentation."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Iterable, Sequence

from ..language.selection import SEVERITY_RANK

if TYPE_CHECKING:  # annotations only: findings imports this module to render itself, not the reverse
    from .findings import Finding, Report

# ANSI styles for a terminal; `color=False` (the default) renders plain text.
_STYLE = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
    "help": "\x1b[1;32m",
}
_RESET = "\x1b[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_RESET}" if color else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# Losses of other libraries are named with the library's prefix (rules/kornia/, rules/pytorch_metric_learning/):
# there the library's own checks, not torch, reject the call.
_RAISERS = {"kornia": "kornia", "pml": "pytorch-metric-learning", "smp": "smp", "monai": "MONAI", "timm": "timm", "torchvision": "torchvision"}


def raiser(loss: str) -> str:
    """Who rejects a call of this loss, for `(torch raises)`: torch, or the loss's library."""
    prefix, dot, _ = loss.partition(".")
    return _RAISERS.get(prefix, "torch") if dot else "torch"


def render_finding(finding: Finding, *, color: bool = False) -> str:
    """The full form: header, observed/expected, why, and the fix on its own `help:` line."""
    raises = f" ({raiser(finding.loss)} raises)" if finding.torch_raises else ""
    label = _paint(f"{finding.severity}[{finding.code}]", finding.severity, color)
    lines = [f"{label} {_paint(finding.loss + ':', 'bold', color)} {finding.message}{raises}"]
    if finding.observed:
        lines.append(f"  {_paint('observed:', 'dim', color)} {finding.observed}")
    if finding.expected:
        lines.append(f"  {_paint('expected:', 'dim', color)} {finding.expected}")
    lines.append(f"  {_paint('why:', 'dim', color)} {finding.explanation}")
    lines.append(f"  {_paint('help:', 'help', color)} {finding.fix}")
    return "\n".join(lines)


def _counts(findings: Sequence[Finding]) -> str:
    by = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    return ", ".join(_plural(n, word) for word, n in by.items() if n)


def summary_line(report: Report) -> str:
    """`NLLLoss: 1 warning`, `CrossEntropyLoss: 1 error — torch will reject this call`, or no problems."""
    if not report.findings:
        return f"{report.loss}: no problems found"
    verdict = f" — {raiser(report.loss)} will reject this call" if report.torch_raises else ""
    return f"{report.loss}: {_counts(report.findings)}{verdict}"


def render_text(report: Report, *, color: bool = False) -> str:
    if not report.findings:
        return summary_line(report)
    body = "\n\n".join(render_finding(f, color=color) for f in report.findings)
    verdict = f" — {raiser(report.loss)} will reject this call" if report.torch_raises else ""
    return f"{body}\n\n{_paint(report.loss + ':', 'bold', color)} {_counts(report.findings)}{verdict}"


# ---- HTML, for Jupyter (`Report._repr_html_`) ------------------------------------------------------

# Inline styles only: JupyterLab, VS Code and nbviewer keep `style` attributes but may drop a <style>
# block, and a notebook saved with its outputs must look the same when reopened elsewhere.
_HTML_COLORS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
_BOX = "font-family: var(--jp-content-font-family, sans-serif); line-height: 1.45; margin: 0.3em 0"


def render_finding_html(finding: Finding) -> str:
    """One finding: a coloured severity badge and its code, the message, observed/expected, why, and
    the fix as code."""
    from html import escape

    color = _HTML_COLORS[finding.severity]
    raises = f" <em>({escape(raiser(finding.loss))} raises)</em>" if finding.torch_raises else ""
    badge = (
        f'<span style="background: {color}; color: white; border-radius: 3px; padding: 0 0.4em; '
        f'font-weight: bold">{finding.severity}[{escape(finding.code)}]</span>'
    )
    rows = [
        f'<div>{badge} <b>{escape(finding.loss)}:</b> {escape(finding.message)}{raises}</div>',
        '<table style="margin: 0.2em 0 0 1.5em; border-collapse: collapse">',
    ]
    for label, value in (("observed", finding.observed), ("expected", finding.expected), ("why", finding.explanation)):
        if value:
            rows.append(
                f'<tr><td style="color: gray; padding: 0 0.6em 0 0; vertical-align: top; text-align: left">{label}:</td>'
                f'<td style="text-align: left">{escape(value)}</td></tr>'
            )
    rows.append(
        '<tr><td style="color: #2e7d32; font-weight: bold; padding: 0 0.6em 0 0; text-align: left">help:</td>'
        f'<td style="text-align: left"><code>{escape(finding.fix)}</code></td></tr>'
    )
    rows.append("</table>")
    return f'<div class="losslint-finding losslint-{finding.severity}" style="{_BOX}">{"".join(rows)}</div>'


def render_html(report: Report) -> str:
    """The report for a notebook: each finding, then the summary line (with its call site, if any)."""
    from html import escape

    place = report.location + (f", inside {report.context}" if report.location and report.context else "") if report.location else ""
    where = f" <span style=\"color: gray\">at {escape(place)}</span>" if place else ""
    verdict_color = _HTML_COLORS["error"] if report.torch_raises else "inherit"
    summary = f'<div style="{_BOX}; color: {verdict_color}"><b>{escape(summary_line(report))}</b>{where}</div>'
    body = "".join(render_finding_html(f) for f in report.findings)
    return f'<div class="losslint-report">{body}{summary}</div>'


def render_concise(report: Report) -> str:
    """One line per finding, for logs: ``error[LL202] CrossEntropyLoss target: ...``."""
    return "\n".join(f"{f.severity}[{f.code}] {f.loss} {f.argument}: {f.message}" for f in report.findings)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)


# ---- GitHub Actions workflow commands ------------------------------------------------------------

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(path: str) -> str:
    # Annotations attach to files by their path in the repository; the job runs from its root.
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def render_github(report: Report) -> str:
    """One GitHub Actions annotation per finding (`::error file=…,line=…,title=…::message`).

    The call site (`report.location`, when the report has one) becomes the annotation's file and line.
    """
    from .suppress import split_location

    location = getattr(report, "location", None)
    place = ""
    if location:
        parts = split_location(location)
        if parts is not None:
            place = f"file={_escape_property(_relative(parts[0]))},line={parts[1]},"
    lines = []
    for f in report.findings:
        raises = f" ({raiser(f.loss)} raises)" if f.torch_raises else ""
        title = _escape_property(f"{f.code} {f.name} ({f.loss})")
        message = _escape_data(f"{f.message}{raises}\nhelp: {f.fix}")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {place}title={title}::{message}")
    return "\n".join(lines)


# ---- several reports: `losslint run`, the pytest plugin -----------------------------------------


def _site(report: Report) -> str:
    return getattr(report, "location", None) or "(unknown call site)"


def group_by_site(reports: Iterable[Report]) -> dict[str, list[Report]]:
    """Reports with findings, grouped by call site in the order the sites were first seen."""
    groups: dict[str, list[Report]] = {}
    for report in reports:
        if report.findings:
            groups.setdefault(_site(report), []).append(report)
    return groups


def repeat_text(count: int, site: tuple[int, int] | None) -> str:
    """How many calls had these findings, out of how many the line made and how many were read:
    "(10 identical calls)" for a line called 100 times read as if only 10 had the problem."""
    if site is None or site[0] <= 1:
        return f" ({count} calls with these findings)" if count > 1 else ""
    calls, read = site
    read_text = "values read on every one" if read >= calls else f"values read on {read} of them, shapes and dtypes on all"
    share = f"all {calls}" if count >= calls else f"{count} of the {calls}"
    return f" ({share} calls from this line had these findings; {read_text})"


def render_reports(
    reports: Sequence[Report],
    *,
    color: bool = False,
    calls: int | None = None,
    sites: dict[str | None, tuple[int, int]] | None = None,
) -> str:
    """Every report with findings under its call site, then one summary line.

    `calls`: how many loss calls were seen, when known (`watch().calls`); `sites`: per call site, the
    calls made and the calls whose values were read (`watch().sites`).
    """
    groups = group_by_site(reports)
    seen = f" in {_plural(calls, 'loss call')}" if calls is not None else ""
    if not groups:
        return f"losslint: no problems found{seen}"
    blocks = []
    for site, members in groups.items():
        for report in members:
            count = getattr(report, "count", 1) or 1
            repeated = repeat_text(count, (sites or {}).get(report.location))
            inside = f" (computed inside {report.context})" if getattr(report, "context", None) else ""
            header = _paint(f"{site}: {report.loss}{inside}{repeated}", "bold", color)
            blocks.append(f"{header}\n{render_text(report, color=color)}")
    findings = [f for members in groups.values() for report in members for f in report.findings]
    summary = f"losslint: {_counts(findings)} at {_plural(len(groups), 'call site')}{seen}"
    return "\n\n".join(blocks) + "\n\n" + summary


def reports_to_dict(reports: Sequence[Report], sites: dict[str | None, tuple[int, int]] | None = None) -> dict:
    """JSON-ready: each report's stable keys plus its call site and count; totals by severity.

    With `sites` (`watch().sites`), each report also says how many calls its line made
    (`site_calls`) and on how many of them values were read (`values_read`)."""
    out = []
    for report in reports:
        if not report.findings:
            continue
        entry = report.to_dict()
        entry.setdefault("location", getattr(report, "location", None))
        entry.setdefault("count", getattr(report, "count", 1))
        if sites is not None and report.location in sites:
            entry["site_calls"], entry["values_read"] = sites[report.location]
        out.append(entry)
    findings = [f for r in reports for f in r.findings]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_RANK}
    return {"counts": counts, "reports": out}


def render_github_reports(reports: Sequence[Report]) -> str:
    return "\n".join(text for text in (render_github(r) for r in reports) if text)
