"""Lint one source or many: the flow of each file judged by the patterns, then the line's
`# losslint: ignore[...]` comment and the code selection applied, as at run time."""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from ..language import catalog
from ..language.selection import SEVERITY_RANK, Selection
from ..judging.suppress import comment_codes
from . import patterns, sources
from .flow import FileFlow, Value, Where

# Codes whose static evidence means torch itself raises at the first call.
_RAISES = {"LL202", "LL107"}


@dataclass(frozen=True)
class StaticFinding:
    path: str
    line: int  # 1-based; for a notebook, within its cell
    column: int  # 1-based
    code: str
    name: str
    severity: str
    message: str
    fix: str
    loss: str = ""
    argument: str = ""
    cell: int | None = None  # a notebook's cell number, 1-based
    torch_raises: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.cell is None:
            del data["cell"]
        return data

    @property
    def where(self) -> str:
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{self.path}:{cell}{self.line}:{self.column}"


@dataclass
class LintResult:
    findings: list[StaticFinding] = field(default_factory=list)
    files: int = 0
    lines: int = 0

    def fails(self, fail_on: str) -> bool:
        threshold = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[f.severity] <= threshold for f in self.findings)


class _Collector:
    def __init__(self) -> None:
        self.hits: dict[tuple[str, int, int, str], patterns.Hit] = {}

    def _keep(self, hits: list[patterns.Hit]) -> None:
        for hit in hits:
            key = (hit.code, hit.node.lineno, hit.node.col_offset, hit.argument)
            self.hits.setdefault(key, hit)

    def constructed(self, name: str, call: ast.Call) -> None:
        self._keep(patterns.constructed(name, call))

    def called(self, loss: str, call: ast.Call, args: dict[str, Value], where: Where, functional: bool) -> None:
        self._keep(patterns.called(loss, call, args, where, functional))


def _finding(source: sources.Source, code: str, line: int, column: int, message: str, fix: str,
             loss: str = "", argument: str = "", cell: int | None = None) -> StaticFinding:
    doc = catalog.codes().get(code, {})
    return StaticFinding(
        path=str(source.path), line=line, column=column, code=code, name=doc.get("name", code),
        severity=doc.get("severity", "warning"), message=message, fix=fix, loss=loss, argument=argument,
        cell=cell, torch_raises=code in _RAISES,
    )


def lint_source(source: sources.Source) -> list[StaticFinding]:
    """Every finding of one read source, before suppression and selection."""
    found = [
        _finding(source, "LL008", line, 1, f"`{source.path.name}` {message}; it was not linted",
                 catalog.codes()["LL008"]["fix"], cell=cell)
        for message, line, cell in source.problems
    ]
    if source.tree is None:
        return found
    collector = _Collector()
    try:
        FileFlow(source.tree).run(collector)
    except RecursionError:
        found.append(_finding(source, "LL000", 1, 1, "static: the file nests too deeply for losslint's reader; it was not linted",
                              catalog.codes()["LL000"]["fix"]))
        return found
    for hit in collector.hits.values():
        line, cell = source.place(hit.node.lineno)
        column = _column(source.lines, hit.node.lineno, hit.node.col_offset)
        found.append(_finding(source, hit.code, line, column, hit.message, hit.fix,
                              hit.loss, hit.argument, cell))
    return found


def _column(lines: list[str], lineno: int, offset: int) -> int:
    """ast's column is a UTF-8 byte offset; editors and SARIF count characters (1-based)."""
    if not 0 < lineno <= len(lines):
        return offset + 1
    return len(lines[lineno - 1].encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1


def _suppressed(source: sources.Source, finding: StaticFinding) -> bool:
    line = finding.line
    if finding.cell is not None:
        cell = next((c for c in source.cells if c.number == finding.cell), None)
        line = line + cell.start - 1 if cell is not None else 0
    if not 0 < line <= len(source.lines):
        return False
    codes = comment_codes(source.lines[line - 1])
    return codes is not None and any(c == "ALL" or finding.code.startswith(c) for c in codes)


def lint_paths(paths: Iterable[str | Path], selection: Selection | None = None) -> LintResult:
    """Lint the .py and .ipynb files under `paths`; raises `sources.MissingPath` for a path that does not exist."""
    selection = selection or Selection()
    result = LintResult()
    for path in sources.collect(list(paths)):
        source = sources.read(path)
        result.files += 1
        result.lines += len(source.lines)
        for finding in sorted(lint_source(source), key=lambda f: (f.cell or 0, f.line, f.column, f.code)):
            if _suppressed(source, finding) or not selection.keeps(finding.code):
                continue
            severity = selection.severity_of(finding.code, finding.severity, finding.torch_raises)
            if severity != finding.severity:
                finding = StaticFinding(**{**finding.__dict__, "severity": severity})
            result.findings.append(finding)
    return result
