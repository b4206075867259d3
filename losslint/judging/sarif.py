"""SARIF 2.1.0 logs, the format GitHub code scanning and other review tools read: one writer for the
findings of `losslint lint` (seen in the source), `losslint run` (at a call site) and `losslint check`
(tensor files: the first file is the location).

Each code in the log is a rule (`tool.driver.rules`) described from rules/codes.toml; each finding is a
result pointing at its rule by id and index. Paths under the working directory are written relative to
it (`uriBaseId: %SRCROOT%`), as code scanning expects when the command runs at the repository root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


@dataclass(frozen=True)
class Result:
    code: str
    severity: str
    message: str
    fix: str = ""
    path: str | None = None
    line: int | None = None
    column: int | None = None
    properties: dict | None = None


def _uri(path: str) -> tuple[str, str | None]:
    absolute = Path(path).resolve()
    try:
        relative = absolute.relative_to(Path.cwd().resolve())
    except ValueError:
        return absolute.as_uri(), None
    return relative.as_posix(), "%SRCROOT%"


def _rule(code: str, doc: dict) -> dict:
    rule = {
        "id": code,
        "name": doc.get("name", code),
        "shortDescription": {"text": doc.get("summary", code)},
        "defaultConfiguration": {"level": _LEVEL.get(doc.get("severity", "warning"), "warning")},
    }
    if doc.get("why"):
        rule["fullDescription"] = {"text": doc["why"]}
    if doc.get("fix"):
        rule["help"] = {"text": doc["fix"]}
    return rule


def sarif_log(results: list[Result]) -> dict:
    """A SARIF 2.1.0 log of one run of losslint (a JSON-ready dict)."""
    from ..language.catalog import codes
    from ..version import __version__

    catalog = codes()
    used = list(dict.fromkeys(r.code for r in results))
    index = {code: i for i, code in enumerate(used)}
    out = []
    for r in results:
        text = r.message + (f"\nhelp: {r.fix}" if r.fix else "")
        result: dict = {"ruleId": r.code, "ruleIndex": index[r.code], "level": _LEVEL[r.severity], "message": {"text": text}}
        if r.path is not None:
            uri, base = _uri(r.path)
            artifact = {"uri": uri, **({"uriBaseId": base} if base else {})}
            physical: dict = {"artifactLocation": artifact}
            if r.line is not None:
                physical["region"] = {"startLine": r.line, **({"startColumn": r.column} if r.column else {})}
            result["locations"] = [{"physicalLocation": physical}]
        if r.properties:
            result["properties"] = dict(r.properties)
        out.append(result)
    driver = {
        "name": "losslint",
        "version": __version__,
        "rules": [_rule(code, catalog.get(code, {})) for code in used],
    }
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": out}],
    }


def reports_results(reports, fallback: str | None = None) -> list[Result]:
    """The findings of runtime reports (`check`, `run`), at their call site when they have one, else
    at `fallback` (for `check`: the first tensor file), since code scanning drops a result without a
    location."""
    from .suppress import split_location

    results = []
    for report in reports:
        parts = split_location(getattr(report, "location", None) or "")
        path, line = parts if parts is not None else (fallback, None)
        for f in report.findings:
            message = f"{f.loss}: {f.message}" + (" (torch raises)" if f.torch_raises else "")
            results.append(Result(f.code, f.severity, message, f.fix, path, line,
                                  properties={"loss": f.loss, "argument": f.argument}))
    return results
