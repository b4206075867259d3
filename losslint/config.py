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
`attach()`, `pre_hook` and `watch()`, which read it once, with the rules (see `losslint.sources`).
Arguments override it key by key (`watch(ignore=[...])` replaces the file's `ignore`, as the command's
`--ignore` does). `fail-on` is what fails: the command's exit status, a test under the plugin, and,
when set, the severity at which the hooks' action="raise" stops a call. `rule-paths`, the former name
of `rules`, is still accepted.

As with ruff, the nearest pyproject.toml that has a `[tool.losslint]` table is used; one without it
is passed over. Every problem of the table is reported together, on one line, with the file and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .selection import FAIL_ON, Selection, SelectionError

KEYS = ("select", "ignore", "fail-on", "severity", "rules")
# Accepted, not advertised: `rules` was called `rule-paths` before losslint read it outside the CLI.
DEPRECATED_KEYS = {"rule-paths": "rules"}


class ConfigError(ValueError):
    """`[tool.losslint]` is malformed; the message names the file and the key, on one line."""


ConfigError.__module__ = "losslint"  # tracebacks show the public name, `losslint.ConfigError`


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
        from .sources import registry_for

        return registry_for(self.rule_paths, self.source)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def find_pyproject(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest pyproject.toml at or above `start` (default: the working directory) with [tool.losslint]."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            table = _read(path).get("tool", {}).get("losslint")
            if table is not None:
                return path, table
    return None


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings, got {value!r}")
        return ()
    return tuple(value)


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


def parse_rule_paths(table: dict[str, Any], source: Path, problems: list[str]) -> tuple[Path, ...]:
    """`rules` (or its old name `rule-paths`): rule files or folders, relative to the pyproject.toml."""
    base = f"{source} → tool.losslint"
    if "rules" in table and "rule-paths" in table:
        problems.append(f"{base} → rule-paths: the old name of `rules`; give only `rules`")
    key = "rules" if "rules" in table or "rule-paths" not in table else "rule-paths"
    paths = []
    for text in _strings(table.get(key, []), f"{base} → {key}", problems):
        path = Path(text)
        path = path if path.is_absolute() else source.parent / path
        if not path.exists():
            problems.append(f"{base} → {key}: {text!r} does not exist (relative to {source.parent})")
        paths.append(path)
    return tuple(paths)


def load_rule_paths(start: Path | None = None) -> tuple[Path | None, tuple[Path, ...]]:
    """Only the `rules` of the nearest `[tool.losslint]`: what `check()` needs, without the CLI's keys."""
    found = find_pyproject(start)
    if found is None:
        return None, ()
    path, table = found
    if not isinstance(table, dict):
        raise ConfigError(f"{path} → tool.losslint: expected a table, got {table!r}")
    problems: list[str] = []
    paths = parse_rule_paths(table, path, problems)
    if problems:
        raise ConfigError("; ".join(problems))
    return path, paths


def load_settings(start: Path | None = None) -> Settings:
    """Settings from the nearest `[tool.losslint]` at or above `start`, or the defaults."""
    found = find_pyproject(start)
    if found is None:
        return Settings()
    path, table = found
    return parse_table(table, path)
