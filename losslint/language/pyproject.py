"""Finding and reading the user's `[tool.losslint]` table, and its `rules` key.

Below both the configuration (`config`: the whole table, validated into `Settings`) and the rule sources
(`sources`: which rule files to load), which each need the file: neither imports the other for it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError


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


def strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings, got {value!r}")
        return ()
    return tuple(value)



def parse_rule_paths(table: dict[str, Any], source: Path, problems: list[str]) -> tuple[Path, ...]:
    """`rules` (or its old name `rule-paths`): rule files or folders, relative to the pyproject.toml."""
    base = f"{source} → tool.losslint"
    if "rules" in table and "rule-paths" in table:
        problems.append(f"{base} → rule-paths: the old name of `rules`; give only `rules`")
    key = "rules" if "rules" in table or "rule-paths" not in table else "rule-paths"
    paths = []
    for text in strings(table.get(key, []), f"{base} → {key}", problems):
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


