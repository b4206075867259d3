"""`losslint lint`'s outputs: text for people, a JSON array for programs, GitHub Actions annotations,
and SARIF 2.1.0 (the shared writer in `losslint.judging.sarif`)."""

from __future__ import annotations

import json

from ..judging.render import _escape_data, _escape_property, _paint, _plural, _relative
from ..judging.sarif import Result, sarif_log
from .linter import LintResult

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def text(result: LintResult, *, color: bool = False) -> str:
    """One block per finding (`path:line:col: severity[CODE] Loss: message`, then `help:`), then a summary."""
    blocks = []
    for f in result.findings:
        label = _paint(f"{f.severity}[{f.code}]", f.severity, color)
        loss = f"{f.loss}: " if f.loss else ""
        blocks.append(f"{_paint(f.where, 'bold', color)}: {label} {loss}{f.message}\n  {_paint('help:', 'help', color)} {f.fix}")
    scanned = f"{_plural(result.files, 'file')} ({_plural(result.lines, 'line')})"
    if not result.findings:
        return f"losslint: no problems found in {scanned}"
    counts = {s: sum(1 for f in result.findings if f.severity == s) for s in ("error", "warning", "info")}
    summary = ", ".join(_plural(n, s) for s, n in counts.items() if n)
    return "\n".join(blocks) + f"\n\nlosslint: {summary} in {scanned}"


def json_text(result: LintResult) -> str:
    return json.dumps([f.to_dict() for f in result.findings], indent=2)


def github(result: LintResult) -> str:
    lines = []
    for f in result.findings:
        place = f"file={_escape_property(_relative(f.path))}" + ("" if f.cell is not None else f",line={f.line},col={f.column}")
        title = _escape_property(f"{f.code} {f.name}" + (f" ({f.loss})" if f.loss else ""))
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {place},title={title}::{_escape_data(_in_cell(f) + f.message + chr(10) + 'help: ' + f.fix)}")
    return "\n".join(lines)


def _in_cell(f) -> str:
    # A notebook's line numbers count within a cell, not in the .ipynb file that GitHub shows: the
    # annotation names the file only, and the message says where.
    return f"cell {f.cell}, line {f.line}: " if f.cell is not None else ""


def sarif(result: LintResult) -> str:
    results = [
        Result(f.code, f.severity, _in_cell(f) + f.message, f.fix, f.path,
               f.line if f.cell is None else None, f.column if f.cell is None else None,
               properties={"cell": f.cell, "line_in_cell": f.line} if f.cell is not None else None)
        for f in result.findings
    ]
    return json.dumps(sarif_log(results), indent=2)


def render(result: LintResult, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json_text(result)
    if fmt == "github":
        return github(result)
    if fmt == "sarif":
        return sarif(result)
    return text(result, color=color)
