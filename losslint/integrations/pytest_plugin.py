"""pytest plugin: `pytest --losslint` runs each test under `losslint.watch()`.

Registered through the `pytest11` entry point and inert until asked: without `--losslint` it only adds
its options and its marker, and nothing of losslint's engine is used.

    pytest --losslint                         # fail tests whose loss calls have warnings or errors
    pytest --losslint --losslint-fail-on=error

    @pytest.mark.losslint(ignore=["LL301"], fail_on="error")   # adjust one test
    @pytest.mark.losslint(ignore=["ALL"])                      # leave one test alone

A failing test shows the rendered findings, grouped by the line that called the loss; a test that fails
for another reason (often torch's own error) gets them as a "losslint" section of its report. Defaults
come from `[tool.losslint]` in the nearest pyproject.toml (select, ignore, fail-on, severity), the
command line overrides them, and a marker overrides both for its test: its `ignore` adds codes,
its `select` and `fail_on` replace. Only the test's call phase is watched, not its fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_MARKER_KEYS = ("ignore", "select", "fail_on")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("losslint", "losslint: PyTorch loss-call checks")
    group.addoption(
        "--losslint",
        action="store_true",
        default=False,
        help="run each test under losslint.watch(); fail tests whose loss calls have findings at or above --losslint-fail-on",
    )
    group.addoption(
        "--losslint-fail-on",
        choices=("error", "warning"),
        default=None,
        help="the severity that fails a test (default: warning, or fail-on in [tool.losslint]); implies --losslint",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "losslint(ignore=[codes], select=[codes], fail_on='error'|'warning'): adjust losslint for this test "
        "(with --losslint)",
    )
    # --losslint-fail-on alone means --losslint: asking for a threshold and getting nothing checked
    # would pass every test silently.
    if config.getoption("losslint") or config.getoption("losslint_fail_on") is not None:
        config.pluginmanager.register(_Watcher(config), "losslint-watcher")


class _Watcher:
    """Registered only with --losslint: everything that imports losslint's engine (and torch) is here."""

    def __init__(self, config: pytest.Config):
        from ..language.config import load_settings
        from ..errors import ConfigError
        from ..judging.engine import Checker
        from ..errors import RuleFileError

        try:
            settings = load_settings(Path(config.invocation_params.dir))
            self.settings = settings.override(fail_on=config.getoption("losslint_fail_on"))
            self.settings.selection()
            # One Checker for the session, with the losses of `rules` and of installed packages too.
            self.checker = Checker(registry=self.settings.registry())
        except ConfigError as exc:
            raise pytest.UsageError(f"losslint: {exc}") from None
        except RuleFileError as exc:
            raise pytest.UsageError("losslint: invalid rule files: " + "; ".join(exc.problems)) from None

    def pytest_report_header(self, config: pytest.Config) -> str:
        source = f", settings from {self.settings.source}" if self.settings.source else ""
        return f"losslint: every test under watch(), fail-on {self.settings.fail_on}{source}"

    def _adjusted(self, item: pytest.Item) -> tuple[Any, str]:
        """The selection and threshold for this test: session settings, then its markers."""
        from ..language.selection import SelectionError, split_codes

        settings = self.settings
        extra_ignore: list[str] = []
        for marker in reversed(list(item.iter_markers("losslint"))):  # farthest first: closest wins
            unknown = sorted(set(marker.kwargs) - set(_MARKER_KEYS))
            if marker.args or unknown:
                pytest.fail(
                    f"losslint marker: takes only the keywords {', '.join(_MARKER_KEYS)}"
                    + (f"; got {', '.join(unknown)}" if unknown else "; got positional arguments"),
                    pytrace=False,
                )
            if "ignore" in marker.kwargs:
                extra_ignore.extend(split_codes(_as_list(marker.kwargs["ignore"])))
            if "select" in marker.kwargs:
                settings = settings.override(select=split_codes(_as_list(marker.kwargs["select"])))
            if "fail_on" in marker.kwargs:
                if marker.kwargs["fail_on"] not in ("error", "warning"):
                    pytest.fail(f"losslint marker: fail_on must be 'error' or 'warning', got {marker.kwargs['fail_on']!r}", pytrace=False)
                settings = settings.override(fail_on=marker.kwargs["fail_on"])
        if extra_ignore:
            settings = settings.override(ignore=tuple(settings.ignore) + tuple(extra_ignore))
        try:
            return settings.selection(), settings.fail_on
        except (SelectionError, ValueError) as exc:
            pytest.fail(f"losslint marker: {exc}", pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        from ..judging.render import render_reports
        from ..language.selection import fails
        from ..judging.suppress import apply_suppressions
        from ..hooks.watcher import watch

        from ..errors import LossLintError

        selection, fail_on = self._adjusted(item)
        raised: BaseException | None = None
        # action="stop": a call torch would reject is stopped before it runs, with losslint's report
        # instead of torch's message (on a GPU, instead of a device-side assert); the rest is
        # collected and judged against fail-on after the test. The test's selection decides what
        # stops too: a marker's ignore=["ALL"] leaves the test alone entirely.
        checker = self.checker.with_selection(select=selection.select, ignore=selection.ignore, severity=selection.severity)
        with watch(action="stop", checker=checker) as watcher:
            try:
                result = yield
            except BaseException as exc:  # the test's own failure (or skip) goes on as it was
                raised = exc
        reports = [r for r in (selection.apply(apply_suppressions(r)) for r in watcher.reports) if r.findings]
        if reports:
            text = render_reports(reports, sites=watcher.sites)
            failing = [r for r in reports if fails(r, fail_on)]
            if isinstance(raised, LossLintError) and raised.report.location is not None:
                pytest.fail(
                    f"losslint stopped a {raised.report.loss} call that torch would reject, at {raised.report.location}\n\n{text}",
                    pytrace=False,
                )
            if raised is None and failing:
                pytest.fail(f"losslint: loss calls with findings at or above {fail_on!r}\n\n{text}", pytrace=False)
            item.add_report_section("call", "losslint", text)
        if raised is not None:
            raise raised
        return result


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
