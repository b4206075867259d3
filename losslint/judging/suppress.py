"""Inline suppression: `# losslint: ignore[LL301]` on the line that calls the loss.

    loss = F.cross_entropy(probs, y)  # losslint: ignore[LL301]   (codes or prefixes, comma-separated)
    loss = F.cross_entropy(probs, y)  # losslint: ignore           (every code on this line)

It applies to reports that carry their call site (`Report.location`, "path/to/file.py:57", set by
`watch()` and the hooks); the line is read with `linecache`, the same cache tracebacks use. For a call
written over several lines, the comment goes on the line Python reports for the call (its first line).
When a library calls the loss (a HuggingFace model computing its own cross entropy), the comment may
also go on the user's line that called into the library: the hooks pass it as `also`.
"""

from __future__ import annotations

import dataclasses
import linecache
import os
import re

from .findings import Report

_COMMENT = re.compile(r"#\s*losslint:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


def split_location(location: str) -> tuple[str, int] | None:
    """`"train.py:57"` -> `("train.py", 57)`; None when there is no line number."""
    path, sep, line = location.rpartition(":")
    if not sep or not line.isdigit():
        return None
    return path, int(line)


def suppressed(location: str | None) -> tuple[str, ...] | None:
    """The codes a `# losslint: ignore[...]` comment at `location` names; ("ALL",) for a bare ignore.

    None when there is no such comment (or the line cannot be read).
    """
    if not location:
        return None
    parts = split_location(location)
    if parts is None:
        return None
    # An absolute path: the location may be relative to the working directory, and linecache keys
    # its cache by the name as given, so two "test_x.py" in different folders would share an entry.
    path = os.path.abspath(parts[0])
    linecache.checkcache(path)  # the file may have changed since it was cached
    line = linecache.getline(path, parts[1])
    return comment_codes(line)


def comment_codes(line: str) -> tuple[str, ...] | None:
    """The codes a `# losslint: ignore[...]` comment on this source line names; ("ALL",) for a bare
    ignore; None without one. `losslint lint` reads the same comments from the source it lints."""
    match = _COMMENT.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if codes is None:
        return ("ALL",)
    return tuple(code.strip().upper() for code in codes.split(",") if code.strip())


def apply_suppressions(report: Report, also: str | None = None) -> Report:
    """The report without the findings its call site's comment suppresses.

    also: a second line whose comment counts too: the user's own line when the loss was called from
    inside a library (`model(**batch)` while HuggingFace computes the cross entropy), where a comment
    on the library's line is out of the user's reach.
    """
    codes = suppressed(getattr(report, "location", None))
    if also is not None and also != report.location:
        more = suppressed(also)
        if more is not None:
            codes = (*(codes or ()), *more)
    if codes is None:
        return report
    kept = tuple(
        f for f in report.findings if not any(c == "ALL" or f.code.startswith(c) for c in codes)
    )
    if len(kept) == len(report.findings):
        return report
    return dataclasses.replace(report, findings=kept)
