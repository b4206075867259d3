"""Finding and Report: what one check of one call found.

A finding holds short text summaries, never tensors: a report can be kept, logged or sent across
processes without keeping a training batch alive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from ..errors import LossLintError
from ..language.selection import SEVERITY_RANK

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One problem with one argument of one loss call."""

    code: str
    name: str
    severity: Severity
    torch_raises: bool
    loss: str
    argument: str
    message: str
    explanation: str
    fix: str
    observed: str = ""
    expected: str = ""
    # How sure the evidence is: "certain" (metadata or an exact value check), "strong" (values that
    # cannot arise by chance, e.g. rows that sum to 1), "weak" (a pattern a correct call could show).
    confidence: str = "certain"

    def to_dict(self) -> dict:
        return asdict(self)

    # A REPL and a notebook show a finding by its repr: one line that names it, not the dataclass dump
    # of ten fields; `print(finding)` and IPython give the full form (see `losslint.judging.render`).
    def __repr__(self) -> str:
        return f"<Finding {self.severity}[{self.code}] {self.loss}: {_shorten(self.message)}>"

    def __str__(self) -> str:
        from .render import render_finding

        return render_finding(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        from .render import render_finding_html

        return render_finding_html(self)


def _shorten(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


@dataclass(frozen=True)
class Report:
    """Everything losslint found about one loss call, most severe first."""

    loss: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    # Set by the hooks and watch(): the user's line that called the loss ("path/to/file.py:57"), and
    # how many calls from there produced these same findings (repeats are reported once, counted).
    location: str | None = None
    count: int = 1
    # The library's line that made the call, when it was not the user's (a HuggingFace model's
    # `modeling_bert.py:1234` under the user's `train.py:40`); None when the user called the loss.
    context: str | None = None

    def __post_init__(self) -> None:
        if len(self.findings) < 2 and type(self.findings) is tuple:
            return  # nothing to order (most reports of a training loop)
        ordered = tuple(
            sorted(self.findings, key=lambda f: (SEVERITY_RANK[f.severity], not f.torch_raises))
        )
        object.__setattr__(self, "findings", ordered)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    @property
    def ok(self) -> bool:
        """True when nothing is at error level (warnings and infos may remain)."""
        return not self.errors

    @property
    def torch_raises(self) -> bool:
        """True when PyTorch itself would reject this call."""
        return any(f.torch_raises for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict:
        return {
            "loss": self.loss,
            "ok": self.ok,
            "torch_raises": self.torch_raises,
            "counts": {
                "error": len(self.errors),
                "warning": len(self.warnings),
                "info": len(self.infos),
            },
            "findings": [f.to_dict() for f in self.findings],
            "location": self.location,
            "context": self.context,
            "count": self.count,
        }

    def raise_for_errors(self) -> None:
        """Raise `LossLintError` carrying this report if any finding is an error."""
        __tracebackhide__ = True
        if self.errors:
            raise LossLintError(self)

    def __str__(self) -> str:
        from .render import render_text

        return render_text(self)

    def __repr__(self) -> str:
        from .render import raiser, summary_line

        if not self.findings:
            return f"<Report {summary_line(self)}>"
        where = f" at {self.location}" if self.location else ""
        where += f" (inside {self.context})" if self.context else ""
        repeated = f" ({self.count} calls)" if self.count > 1 else ""
        counts = summary_line(self).split(": ", 1)[1].split(" — ")[0]
        verdict = f", {raiser(self.loss)} will reject this call" if self.torch_raises else ""
        codes = ", ".join(dict.fromkeys(self.codes))
        return f"<Report {self.loss}: {counts} [{codes}]{verdict}{where}{repeated}; print() it for the details>"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        # IPython's plain-text display: the full rendering, as print(report) shows it.
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        from .render import render_html

        return render_html(self)

    def __bool__(self) -> bool:
        # `if losslint.check(...):` would read as "if it found something" to some and "if it is fine"
        # to others; either guess silently inverts someone's test. Say which question to ask instead.
        raise TypeError(
            "a losslint Report has no truth value; ask the question you mean: report.ok (no errors), "
            "report.findings (anything found at all) or report.torch_raises (torch would reject the call)"
        )
