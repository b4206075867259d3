"""Compiled specs, and finding the spec for whatever the user passed as `loss`.

Rule files are validated by pydantic once (`spec`), then compiled here into plain objects: parsed
shape patterns and domains, dtype sets, check functions looked up by name. `check()` only ever sees
these.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

from . import checks as check_library
from .domains import Domain, parse_domain
from .findings import RuleFileError, UnknownLossError
from .shapes import Pattern, parse_pattern
from .spec import DTYPE_GROUPS, CodeDoc, ConfigRule, LossRule, load_builtin, load_loss_files

CheckFn = Callable[..., None]


@dataclass(frozen=True)
class CompiledArgument:
    name: str
    shape: Pattern | None
    dtypes: frozenset[torch.dtype] | None
    dtype_text: str
    dtype_raises: bool
    dtype_code: str
    domain: Domain | None
    domain_code: str | None
    domain_raises: bool
    kind: str | None
    optional: bool
    number_ok: bool
    array_ok: bool


@dataclass(frozen=True)
class CompiledFormat:
    name: str
    description: str
    arguments: dict[str, CompiledArgument]
    checks: tuple[tuple[CheckFn, dict[str, Any]], ...]


@dataclass(frozen=True)
class CompiledLoss:
    name: str
    summary: str
    module: type | None
    functional: Callable | None
    aliases: tuple[str, ...]
    arguments: tuple[str, ...]
    forward: tuple[str, ...]
    from_module: dict[str, str]
    module_adapter: CheckFn | None
    functional_params: tuple[str, ...]
    keyword_only: tuple[str, ...]
    optional: frozenset[str]
    sparse_ok: frozenset[str]
    config: dict[str, ConfigRule]
    formats: tuple[CompiledFormat, ...]
    checks: tuple[tuple[CheckFn, dict[str, Any]], ...]
    codes: dict[str, CodeDoc]
    rule: LossRule
    source: str


def _dtype_set(names: list[str] | None) -> frozenset[torch.dtype] | None:
    if names is None or "any" in names:
        return None
    out: set[torch.dtype] = set()
    for name in names:
        for member in DTYPE_GROUPS.get(name, (name,)):
            out.add(getattr(torch, member))
    return frozenset(out)


def _import(qualified: str | None) -> Any:
    """Resolve ``torch.nn.CrossEntropyLoss``; None when this torch does not have it."""
    if not qualified:
        return None
    module_name, _, attr = qualified.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return None


def _compile_checks(refs, where: str, problems: list[str]) -> tuple[tuple[CheckFn, dict], ...]:
    out = []
    for i, ref in enumerate(refs):
        fn = check_library.REGISTRY.get(ref.name)
        if fn is None:
            known = ", ".join(sorted(check_library.REGISTRY))
            problems.append(f"{where} → checks[{i}] → name: unknown check {ref.name!r}; known checks: {known}")
            continue
        out.append((fn, dict(ref.params)))
    return tuple(out)


def compile_rule(rule: LossRule, codes: dict[str, CodeDoc], source: str, problems: list[str]) -> CompiledLoss:
    formats = []
    for fi, fmt in enumerate(rule.formats):
        arguments = {}
        for name, arg in fmt.arguments.items():
            where = f"{source} → formats[{fi}] → arguments → {name}"
            if name not in rule.signature.arguments:
                problems.append(f"{where}: not an argument of the loss ({rule.signature.arguments})")
            for code in (arg.dtype_code, arg.domain_code):
                if code is not None and code not in codes:
                    problems.append(f"{where}: unknown code {code!r}")
            if arg.kind is not None and f"kind_{arg.kind}" not in check_library.REGISTRY:
                kinds = sorted(k.removeprefix("kind_") for k in check_library.REGISTRY if k.startswith("kind_"))
                problems.append(f"{where} → kind: unknown kind {arg.kind!r}; known kinds: {', '.join(kinds)}")
            dtypes = _dtype_set(arg.dtype)
            arguments[name] = CompiledArgument(
                name=name,
                shape=parse_pattern(arg.shape) if arg.shape is not None else None,
                dtypes=dtypes,
                dtype_text=" or ".join(arg.dtype or ["any"]),
                dtype_raises=arg.dtype_raises,
                dtype_code=arg.dtype_code,
                domain=parse_domain(arg.domain) if arg.domain else None,
                domain_code=arg.domain_code,
                domain_raises=arg.domain_raises,
                kind=arg.kind,
                optional=arg.optional,
                number_ok=arg.number_ok,
                array_ok=arg.array_ok,
            )
        checks = _compile_checks(fmt.checks, f"{source} → formats[{fi}]", problems)
        formats.append(CompiledFormat(fmt.name, fmt.description, arguments, checks))
    for name, conf in rule.config.items():
        if conf.code not in codes:
            problems.append(f"{source} → config → {name} → code: unknown code {conf.code!r}")
    sig = rule.signature
    if sig.forward is not None and len(sig.forward) + len(sig.from_module) != len(sig.arguments):
        problems.append(f"{source} → signature → forward: must name each argument not in from_module")
    module_adapter = None
    if sig.module_adapter is not None:
        module_adapter = check_library.ADAPTERS.get(sig.module_adapter)
        if module_adapter is None:
            known = ", ".join(sorted(check_library.ADAPTERS)) or "none"
            problems.append(f"{source} → signature → module_adapter: unknown adapter {sig.module_adapter!r}; known adapters: {known}")
    forward = tuple(sig.forward) if sig.forward is not None else tuple(a for a in sig.arguments if a not in sig.from_module)
    return CompiledLoss(
        name=rule.loss.name,
        summary=rule.loss.summary,
        module=_import(rule.loss.module),
        functional=_import(rule.loss.functional),
        aliases=tuple(rule.loss.aliases),
        arguments=tuple(sig.arguments),
        forward=forward,
        from_module=dict(sig.from_module),
        module_adapter=module_adapter,
        functional_params=tuple(sig.functional),
        keyword_only=tuple(sig.keyword_only),
        optional=frozenset(sig.optional),
        sparse_ok=frozenset(sig.sparse_ok),
        config=dict(rule.config),
        formats=tuple(formats),
        checks=_compile_checks(rule.checks, source, problems),
        codes=codes,
        rule=rule,
        source=source,
    )


class Registry:
    """Every known loss, found by module class, functional, or name."""

    def __init__(self, losses: list[CompiledLoss]):
        self.losses = {loss.name: loss for loss in losses}
        self._by_object: dict[int, tuple[CompiledLoss, str]] = {}
        self._by_name: dict[str, tuple[CompiledLoss, str]] = {}
        for loss in losses:
            if loss.module is not None:
                self._by_object[id(loss.module)] = (loss, "module")
                self._by_name[loss.module.__name__.lower()] = (loss, "module")
            if loss.functional is not None:
                self._by_object[id(loss.functional)] = (loss, "functional")
                self._by_name[loss.functional.__name__.lower()] = (loss, "functional")
            self._by_name.setdefault(loss.name.lower(), (loss, "module"))
            for alias in loss.aliases:
                self._by_name.setdefault(alias.lower(), (loss, "module" if alias[:1].isupper() else "functional"))

    def resolve(self, loss: object) -> tuple[CompiledLoss, str, object | None]:
        """(spec, form, module instance or None) for a module, class, functional or name."""
        if isinstance(loss, str):
            found = self._by_name.get(loss.lower().removeprefix("torch.nn.functional.").removeprefix("torch.nn.").removeprefix("nn.").removeprefix("f."))
            if found is None:
                raise self._unknown(repr(loss), loss)
            return found[0], found[1], None
        if isinstance(loss, torch.nn.Module):
            for cls in type(loss).__mro__:
                found = self._by_object.get(id(cls))
                if found is not None:
                    return found[0], "module", loss
            raise self._unknown(f"module {type(loss).__name__}", type(loss).__name__)
        if isinstance(loss, type):
            for cls in loss.__mro__:
                found = self._by_object.get(id(cls))
                if found is not None:
                    return found[0], "module", None
            raise self._unknown(f"class {loss.__name__}", loss.__name__)
        found = self._by_object.get(id(loss))
        if found is not None:
            return found[0], found[1], None
        # A functional seen through a wrapper (functools.wraps) still names itself.
        name = getattr(loss, "__name__", None)
        if callable(loss) and isinstance(name, str) and getattr(loss, "__module__", "").startswith("torch.nn"):
            hit = self._by_name.get(name.lower())
            if hit is not None and hit[1] == "functional":
                return hit[0], "functional", None
        raise self._unknown(type(loss).__name__ if not callable(loss) else repr(loss), str(name or loss))

    def _unknown(self, what: str, name: str) -> UnknownLossError:
        candidates = sorted(self._by_name)
        close = difflib.get_close_matches(name.lower(), candidates, n=3, cutoff=0.5)
        display = {}
        for key in close:
            loss, form = self._by_name[key]
            display[key] = loss.functional.__name__ if form == "functional" and loss.functional else loss.name
        hint = f"; did you mean {', '.join(dict.fromkeys(display.values()))}?" if close else ""
        return UnknownLossError(
            f"losslint does not know the loss {what}{hint} "
            "(see `losslint rules` for every known loss, or register a rule file for your own)"
        )


def compile_rules(codes: dict[str, CodeDoc], rules, problems: list[str]) -> list[CompiledLoss]:
    compiled = [compile_rule(rule, codes, str(path), problems) for path, rule in rules]
    names: dict[str, str] = {}
    for loss in compiled:
        if loss.name in names:
            problems.append(f"{loss.source}: loss {loss.name!r} is already defined in {names[loss.name]}")
        names[loss.name] = loss.source
    return compiled


def load_registry(paths: list[Path], codes_path: Path | None = None) -> Registry:
    """Validate and compile rule files; every problem of every file is raised together."""
    from .spec import builtin_rules_dir, load_codes, load_loss_files

    problems: list[str] = []
    codes = load_codes(codes_path or builtin_rules_dir() / "codes.toml", problems)
    rules = load_loss_files(list(paths), problems)
    compiled = compile_rules(codes, rules, problems)
    if problems:
        raise RuleFileError(problems)
    return Registry(compiled)


@lru_cache(maxsize=1)
def builtin_registry() -> Registry:
    codes, rules = load_builtin()
    problems: list[str] = []
    compiled = compile_rules(codes, rules, problems)
    if problems:
        raise RuleFileError(problems)
    return Registry(compiled)


def rule_files(paths: list[Path]) -> list[Path]:
    """The loss rule files named by `paths`: files as given, folders expanded to their *.toml.

    A folder's codes.toml is skipped: extra rule files use the built-in code catalog.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.glob("*.toml") if p.name != "codes.toml"))
        else:
            out.append(path)
    return out


def registry_with(extra_paths: list[Path]) -> Registry:
    """The built-in losses plus the losses of extra rule files or folders (user and third-party losses).

    Without extra paths this is `builtin_registry()` itself. Problems in the extra files are raised as
    one `RuleFileError`, like the built-in ones; an extra loss may not reuse a built-in loss's name.
    """
    if not extra_paths:
        return builtin_registry()
    codes, rules = load_builtin()
    problems: list[str] = []
    extra = load_loss_files(rule_files(list(extra_paths)), problems)
    compiled = compile_rules(codes, list(rules) + extra, problems)
    if problems:
        raise RuleFileError(problems)
    return Registry(compiled)
