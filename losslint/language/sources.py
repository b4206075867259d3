"""Where rule files come from besides the built-in ones, and the registry `check()` and the hooks use.

Layers, lowest precedence first; a rule in a later layer shadows a rule of the same name (or of the
same class or function) in an earlier one, and says so with a `RuleShadowWarning`:

1. the built-in rules: torch's losses (rules/*.toml) and other libraries' (rules/kornia/, ...);
2. rules that installed packages ship, through the `losslint.rules` entry point group;
3. `[tool.losslint] rules = [...]` in the nearest pyproject.toml (from the working directory);
4. `losslint.register_rules(path)`, in this process.

An entry point names a directory of rule files: `mypkg.losslint_rules` (a package or module, located
without being imported: its folder holds the TOML files), or `mypkg:RULES_DIR` (imported; the
attribute is a path, or a module whose folder holds them).

The default registry is built once, on first use, and rebuilt by `register_rules`. Reading a rule file
never runs code from it; a class or function a rule names is looked up only once its module is
imported (`registry.Ref`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from ..errors import RuleFileError
from .pyproject import load_rule_paths
from .registry import Registry, registry_from

GROUP = "losslint.rules"

_lock = threading.Lock()
_registered: list[Path] = []
_default: Registry | None = None
# Counts rebuilds (register_rules(), reset()): a Checker rereads the settings when it changes. The
# registry itself cannot tell, since the same rules may give back the very same Registry object.
generation = 0


# ---- entry points ------------------------------------------------------------------------------------


def _module_folder(name: str) -> Path | None:
    """The folder of a module or package, found on sys.path without importing it (nor its parents)."""
    spec = None
    search: Any = None
    parts = name.split(".")
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            break
        search = spec.submodule_search_locations
        if search is None and i < len(parts) - 1:
            spec = None
            break
    if spec is None:
        # Found only by another finder (an editable install's): importlib finds it, importing the parents.
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent if spec.origin else None


def _entry_point_folder(ep: Any) -> Path:
    module, _, attr = ep.value.partition(":")
    if not attr.strip():
        folder = _module_folder(module.strip())
        if folder is None:
            raise LookupError(f"cannot find the module {module.strip()!r}")
        return folder
    value = ep.load()
    if isinstance(value, ModuleType):
        folder = _module_folder(value.__name__)
        if folder is None:
            raise LookupError(f"{ep.value} is a module without a folder")
        return folder
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"{ep.value} is {type(value).__name__}; expected a path or a module")


def entry_point_layers(problems: list[str]) -> list[tuple[str, list[Path]]]:
    """One layer per `losslint.rules` entry point of the installed distributions."""
    from importlib.metadata import entry_points

    layers = []
    for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f"entry point {GROUP}:{ep.name}" + (f" of {dist}" if dist else "")
        try:
            folder = _entry_point_folder(ep)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not a crash
            problems.append(f"{origin} ({ep.value}): {type(exc).__name__}: {exc}")
            continue
        if not folder.is_dir():
            problems.append(f"{origin} ({ep.value}): {folder} is not a folder")
            continue
        layers.append((origin, [folder]))
    return layers


# ---- the registries ----------------------------------------------------------------------------------


def _pyproject_origin(source: Path | None) -> str:
    return f"[tool.losslint] rules of {source}" if source is not None else "[tool.losslint] rules"


def registry_for(rule_paths: Iterable[Path], source: Path | None = None, registered: Iterable[Path] = ()) -> Registry:
    """The built-in losses, then the packages' rules, then `rule_paths` (from pyproject.toml), then
    `registered`; raises RuleFileError with every problem of every layer."""
    problems: list[str] = []
    layers = entry_point_layers(problems)
    layers.append((_pyproject_origin(source), list(rule_paths)))
    layers.append(("register_rules()", list(registered)))
    return registry_from([layer for layer in layers if layer[1]], problems=problems)


def default_registry() -> Registry:
    """What `check()`, `attach()` and `watch()` use unless given a Checker of their own: built once."""
    registry = _default
    if registry is None:
        with _lock:
            if _default is None:
                _set(_build(_registered))
            registry = _default
    return registry  # type: ignore[return-value]


def _set(registry: Registry | None) -> None:
    global _default, generation
    _default = registry
    generation += 1


def _build(registered: list[Path]) -> Registry:
    # A broken pyproject.toml (not TOML, a `rules` path that does not exist) raises ConfigError here,
    # naming the file and the key: it is the configuration that is wrong, not a rule file. The rest of
    # the table is read by `config.default_settings`, once per build of this registry.
    source, rule_paths = load_rule_paths()
    return registry_for(rule_paths, source, registered)


def register_rules(*paths: str | os.PathLike) -> Registry:
    """Add rule files, or folders of them, for every later `check()`, `attach()` and `watch()`.

    They take precedence over the built-in rules, the packages' and pyproject.toml's; a rule that
    shadows another says so with a `RuleShadowWarning`. An invalid file raises `RuleFileError` now,
    listing every problem, and leaves the registry as it was. Returns the new registry.
    """
    new = [Path(p) for p in paths]
    missing = [f"{p}: no such file or folder" for p in new if not p.exists()]
    if missing:
        raise RuleFileError(missing)
    with _lock:
        combined = list(dict.fromkeys([*_registered, *(p.resolve() for p in new)]))
        registry = _build(combined)
        _registered[:] = combined
        _set(registry)
    return registry


def reset() -> None:
    """Forget registered rules and the cached registry (tests; a notebook that changed directory)."""
    with _lock:
        _registered.clear()
        _set(None)
