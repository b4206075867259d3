"""`[tool.losslint]` in the user's pyproject.toml, found from a folder upward; flags override it.

    [tool.losslint]
    select = ["ALL"]            # codes or prefixes (LL3 = every prediction-kind code)
    ignore = ["LL5"]
    fail-on = "warning"         # or "error"
    rules = ["lint/losses"]     # your own losses' rule files or folders of them, relative to this file

    [tool.losslint.severity]    # per code or prefix; a call torch rejects stays an error
    LL305 = "error"
    LL2 = "warning"

The whole table applies everywhere: the CLI and the pytest plugin, and also `losslint.check()`,
`attach()`, `pre_hook` and `watch()`, which read it once, with the rules (see `losslint.language.sources`).
Arguments override it key by key (`watch(ignore=[...])` replaces the file's `ignore`, as the command's
`--ignore` does). `fail-on` is what fails: the command's exit status, a test under the plugin, and,
when set, the severity at which the hooks' action="raise" stops a call. `rule-paths`, the former name
of `rules`, is still accepted.

As with ruff, the nearest pyproject.toml that has a `[tool.losslint]` table is used; one without it
is passed over. Every problem of the table is reported together, on one line, with the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .pyproject import find_pyproject, parse_rule_paths, strings as _strings
from .selection import FAIL_ON, Selection, SelectionError

KEYS = ("select", "ignore", "fail-on", "severity", "rules")
# Accepted, not advertised: `rules` was called `rule-paths` before losslint read it outside the CLI.
DEPRECATED_KEYS = {"rule-paths": "rules"}




@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str = "warning"
    severity: dict[str, str] = field(default_factory=dict)
    rule_paths: tuple[Path, ...] = ()
    # The pyproject.toml the settings came from; None for the defaults.
    source: Path | None = None
    # Whether fail-on was given (by the file or a flag) rather than defaulted: the hooks' action="raise"
    # stops calls at errors unless a threshold was asked for (see `raise_at`).
    fail_on_given: bool = field(default=False, compare=False)

    def override(
        self,
        *,
        select: tuple[str, ...] | None = None,
        ignore: tuple[str, ...] | None = None,
        fail_on: str | None = None,
    ) -> "Settings":
        """Command-line values replace the file's (None keeps the file's value)."""
        return replace(
            self,
            select=self.select if select is None else tuple(select),
            ignore=self.ignore if ignore is None else tuple(ignore),
            fail_on=self.fail_on if fail_on is None else fail_on,
            fail_on_given=self.fail_on_given or fail_on is not None,
        )

    @property
    def raise_at(self) -> str:
        """The severity at which the hooks' action="raise" stops a call: `fail-on` when it was set,
        else "error" (the CLI's and the plugin's default of "warning" is about exit statuses)."""
        return self.fail_on if self.fail_on_given else "error"

    def selection(self) -> Selection:
        """The validated selection; raises ConfigError naming the file for an unknown code."""
        # The catalog's codes, read without torch: `losslint lint` validates its settings too.
        from .catalog import codes

        where = f"{self.source} → tool.losslint" if self.source else ""
        try:
            return Selection.build(self.select, self.ignore, self.severity, known=codes(), where=where)
        except SelectionError as exc:
            raise ConfigError(str(exc)) from None

    def registry(self):
        """The built-in losses, those that installed packages ship, and those of `rules`."""
        from ..language.sources import registry_for

        return registry_for(self.rule_paths, self.source)


def parse_table(table: Any, source: Path) -> Settings:
    """Validate a `[tool.losslint]` table; every problem at once, in one ConfigError."""
    base = f"{source} → tool.losslint"
    if not isinstance(table, dict):
        raise ConfigError(f"{base}: expected a table, got {table!r}")
    problems: list[str] = []
    for key in table:
        if key not in KEYS and key not in DEPRECATED_KEYS:
            hint = " (did you mean fail-on?)" if key == "fail_on" else ""
            problems.append(f"{base} → {key}: unknown key{hint}; known keys: {', '.join(KEYS)}")
    select = _strings(table.get("select", []), f"{base} → select", problems)
    ignore = _strings(table.get("ignore", []), f"{base} → ignore", problems)
    fail_on = table.get("fail-on", "warning")
    if fail_on not in FAIL_ON:
        problems.append(f"{base} → fail-on: expected 'error' or 'warning', got {fail_on!r}")
        fail_on = "warning"
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        problems.append(f"{base} → severity: expected a table of code = severity, got {severity!r}")
        severity = {}
    rule_paths = parse_rule_paths(table, source, problems)
    if problems:
        raise ConfigError("; ".join(problems))
    settings = Settings(
        select, ignore, fail_on, {str(k): v for k, v in severity.items()}, tuple(rule_paths), source,
        fail_on_given="fail-on" in table,
    )
    settings.selection()  # validates the codes now, with the file named
    return settings


def load_settings(start: Path | None = None) -> Settings:
    """Settings from the nearest `[tool.losslint]` at or above `start`, or the defaults."""
    found = find_pyproject(start)
    if found is None:
        return Settings()
    path, table = found
    return parse_table(table, path)


_cached: tuple[int, Settings] | None = None


def default_settings() -> Settings:
    """The `[tool.losslint]` settings that `check()` and the hooks honour (select, ignore, severity,
    fail-on, rules), read once per build of the default registry (`register_rules()` and
    `sources.reset()` reread both); raises `ConfigError` for a broken file."""
    global _cached
    from . import sources

    cached = _cached
    if cached is not None and cached[0] == sources.generation:
        return cached[1]
    sources.default_registry()
    cached = _cached = (sources.generation, load_settings())
    return cached[1]
