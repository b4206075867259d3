"""mkdocs hook (mkdocs.yml `hooks:`): a navigation entry written as a glob lists every page it matches.

The reference pages under docs/codes/ and docs/losses/ are generated from the rule files
(`python -m losslint.advice.docs`), one per code and per loss. `mkdocs build --strict` fails on a page
left out of the navigation, so mkdocs.yml names them by pattern (`Codes: codes/*.md`) and this hook
expands the pattern when the configuration is loaded: a new rule file needs no edit here.
"""

from __future__ import annotations

from pathlib import Path


def _pages(pattern: str, docs: Path) -> list[str]:
    return sorted(path.relative_to(docs).as_posix() for path in docs.glob(pattern))


def _expand(items: list, docs: Path) -> list:
    expanded = []
    for item in items:
        if isinstance(item, str) and "*" in item:
            expanded.extend(_pages(item, docs))
        elif isinstance(item, dict):
            expanded.append({
                title: _expand(value, docs) if isinstance(value, list)
                else _pages(value, docs) if isinstance(value, str) and "*" in value
                else value
                for title, value in item.items()
            })
        else:
            expanded.append(item)
    return expanded


def on_config(config):
    config.nav = _expand(config.nav or [], Path(config.docs_dir))
    return config
