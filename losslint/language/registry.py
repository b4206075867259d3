"""Compiled specs, and finding the spec for whatever the user passed as `loss`.

Rule files are validated by pydantic once (`spec`), then compiled here into plain objects: parsed
shape patterns and domains, dtype sets, check functions looked up by name. `check()` only ever sees
these.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

from . import checkbook as check_library
from . import releases
from .domains import Domain, parse_domain
from ..errors import RuleFileError, RuleShadowWarning, UnknownLossError
from .shapes import Pattern, parse_pattern
from .vocabulary import DECLARED_KINDS, VALUE_KINDS
from .spec import DTYPE_GROUPS, CodeDoc, ConfigRule, LossRule, RawRule, builtin_raw, load_builtin, read_rules, validate_rules

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
    declaration: KindDeclaration | None = None  # `kind` with its `kind_codes` and `kind_by` switches
    kind_harmless: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindDeclaration:
    """What an argument takes: a declared kind (`DECLARED_KINDS`), the codes this loss adds over that
    kind's own (`kind_codes`), and the switches that replace it under a configuration (`kind_by`: option
    or shape letter, then (value as text, declaration) pairs, first matching option first)."""

    kind: str
    codes: tuple[tuple[str, str], ...] = ()
    by: tuple[tuple[str, tuple[tuple[str, "KindDeclaration"], ...]], ...] = ()


@dataclass(frozen=True)
class CompiledFormat:
    name: str
    description: str
    arguments: dict[str, CompiledArgument]
    checks: tuple[tuple[CheckFn, dict[str, Any]], ...]


def _kind_declaration(table: dict[str, Any], where: str, codes, problems: list[str]) -> KindDeclaration | None:
    """A `kind` with its `kind_codes` and `kind_by`, each switch value a kind name or a table of the same fields."""
    unknown = sorted(set(table) - {"kind", "kind_codes", "kind_by"})
    if unknown:
        problems.append(f"{where} → kind_by: unknown field {', '.join(map(repr, unknown))}; a declaration has kind, kind_codes, kind_by")
        return None
    kind = table.get("kind")
    if kind not in DECLARED_KINDS:
        problems.append(f"{where} → kind: unknown kind {kind!r}; known kinds: {', '.join(sorted(DECLARED_KINDS))}")
        return None
    added = []
    for value_kind, code in (table.get("kind_codes") or {}).items():
        if value_kind not in VALUE_KINDS:
            problems.append(f"{where} → kind_codes: unknown value kind {value_kind!r}; known: {', '.join(VALUE_KINDS)}")
        elif code not in codes:
            problems.append(f"{where} → kind_codes → {value_kind}: unknown code {code!r}")
        else:
            added.append((value_kind, code))
    by = []
    for option, by_value in (table.get("kind_by") or {}).items():
        if not isinstance(by_value, dict):
            problems.append(f"{where} → kind_by → {option}: a table of values, each a kind or a declaration")
            continue
        cases = []
        for when, then in by_value.items():
            inner = _kind_declaration(then if isinstance(then, dict) else {"kind": then}, f"{where} → kind_by → {option} → {when}", codes, problems)
            if inner is not None:
                cases.append((str(when), inner))
        by.append((option, tuple(cases)))
    return KindDeclaration(kind, tuple(added), tuple(by))


class Ref:
    """A qualified name in a rule file (`kornia.losses.FocalLoss`), resolved without importing anything.

    The object is looked up only once its module is already imported (`sys.modules`), so neither
    `import losslint` nor building the registry imports kornia, pytorch_metric_learning or the user's
    own code; a library that is not installed simply matches nothing. `get(load=True)` imports it,
    for callers that were asked for this loss by name (the CLI, the example tests).
    """

    __slots__ = ("name", "module", "attr", "value", "state")

    def __init__(self, name: str):
        self.name = name
        self.module, _, self.attr = name.rpartition(".")
        self.value: Any = None
        self.state = "pending"  # "pending", "resolved" or "missing"

    def get(self, load: bool = False) -> Any:
        if self.state == "pending" and (load or self.module in sys.modules):
            # While a watch() is active, torch's loss functionals are losslint's wrappers
            # (intercept.py): a rule names the function itself.
            value = _import(self.name)
            self.value = getattr(value, "__losslint_original__", value)
            self.state = "resolved" if self.value is not None else "missing"
        return self.value

    @property
    def top(self) -> str:
        return self.name.split(".")[0]

    def __repr__(self) -> str:
        return f"Ref({self.name!r}, {self.state})"


@dataclass(frozen=True)
class CompiledLoss:
    name: str
    summary: str
    module_ref: Ref | None
    functional_ref: Ref | None
    aliases: tuple[str, ...]
    arguments: tuple[str, ...]
    forward: tuple[str, ...]
    from_module: dict[str, str]
    module_adapter: CheckFn | None
    functional_params: tuple[str, ...]
    keyword_only: tuple[str, ...]
    optional: frozenset[str]
    sparse_ok: frozenset[str]
    empty_batch_skips_dtype_checks: bool | str
    config: dict[str, ConfigRule]
    formats: tuple[CompiledFormat, ...]
    checks: tuple[tuple[CheckFn, dict[str, Any]], ...]
    codes: dict[str, CodeDoc]
    rule: LossRule
    source: str
    # Where the rule came from: "built-in", or how it was registered ("pyproject.toml", ...).
    origin: str = "built-in"
    layer: int = 0
    opaque: frozenset[str] = frozenset()
    # canonical argument name -> the loss's own name (kornia's `pred`), for what users read.
    names: dict[str, str] = field(default_factory=dict)
    # The module attributes the configuration is read from (top level): a metadata verdict's cache
    # key includes their values (engine._metadata_key).
    config_attributes: tuple[str, ...] = ()

    @property
    def module(self) -> type | None:
        """The class, once its module is imported (never imports it)."""
        return self.module_ref.get() if self.module_ref is not None else None

    @property
    def functional(self) -> Callable | None:
        """The function, once its module is imported (never imports it)."""
        return self.functional_ref.get() if self.functional_ref is not None else None

    def load(self) -> "CompiledLoss":
        """Import the class and the function (for a caller that asked for this loss by name)."""
        for ref in (self.module_ref, self.functional_ref):
            if ref is not None:
                ref.get(load=True)
        return self

    @property
    def library(self) -> str | None:
        """The top-level package the loss comes from: torch, kornia, the user's package."""
        ref = self.module_ref or self.functional_ref
        return ref.top if ref is not None else None

    @property
    def installed(self) -> bool:
        """Whether the loss's library can be imported here (checked without importing it), and for
        torch's own losses whether the installed release has it (a rule's `added_in` says which release added it)."""
        if self.library == "torch":
            return self.module is not None or self.functional is not None
        return self.library is None or _installed(self.library)

    @property
    def missing_text(self) -> str:
        """Why a torch loss is not offered here: "not in torch X (added in Y)"."""
        added = f" (added in {self.rule.loss.added_in})" if self.rule.loss.added_in else ""
        return f"not in torch {releases.version()}{added}"


@lru_cache(maxsize=None)
def _installed(top: str) -> bool:
    if top in sys.modules:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


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
    except Exception:  # noqa: BLE001 - not installed, renamed, or a user module that fails to import
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


def compile_rule(
    rule: LossRule, codes: dict[str, CodeDoc], source: str, problems: list[str], *, origin: str = "built-in", layer: int = 0
) -> CompiledLoss:
    check_library.load_builtin_checks()  # the names below resolve against every built-in check
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
            declaration = None
            if arg.kind is not None:
                declaration = _kind_declaration(
                    {"kind": arg.kind, "kind_codes": arg.kind_codes or {}, "kind_by": arg.kind_by or {}}, where, codes, problems
                )
            elif arg.kind_by or arg.kind_codes:
                problems.append(f"{where}: kind_by and kind_codes need a `kind` (what the argument takes when no switch matches)")
            for kind in arg.kind_harmless or ():
                if kind not in VALUE_KINDS:
                    problems.append(f"{where} → kind_harmless: unknown value kind {kind!r}; known: {', '.join(VALUE_KINDS)}")
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
                declaration=declaration,
                kind_harmless=tuple(arg.kind_harmless or ()),
            )
        checks = _compile_checks(fmt.checks, f"{source} → formats[{fi}]", problems)
        unknown = [c for c in fmt.when if not releases.known(c)]
        if unknown:
            problems.append(
                f"{source} → formats[{fi}] → when: unknown torch behaviour {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(releases.BEHAVIOURS))}"
            )
        elif all(releases.condition_holds(c) for c in fmt.when):
            formats.append(CompiledFormat(fmt.name, fmt.description, arguments, checks))
    for name, conf in rule.config.items():
        if conf.code not in codes:
            problems.append(f"{source} → config → {name} → code: unknown code {conf.code!r}")
    for code in rule.fixes:
        if code not in codes:
            problems.append(f"{source} → fixes → {code}: unknown code")
    for where, conditions in [(f"config → {n}", c.when) for n, c in rule.config.items()] + [
        (f"examples → {e.name!r}", e.when) for e in rule.examples
    ]:
        unknown = [c for c in conditions if not releases.known(c)]
        if unknown:
            problems.append(f"{source} → {where} → when: unknown torch behaviour {', '.join(map(repr, unknown))}")
    # Keywords the installed torch does not have are not part of the loss here (a TypeError if passed).
    absent = {n for n, c in rule.config.items() if c.when and not all(releases.condition_holds(x) for x in c.when if releases.known(x))}
    sig = rule.signature
    if sig.forward is not None and len(sig.forward) + len(sig.from_module) != len(sig.arguments):
        problems.append(f"{source} → signature → forward: must name each argument not in from_module")
    module_adapter = None
    if sig.module_adapter is not None:
        module_adapter = check_library.ADAPTERS.get(sig.module_adapter)
        if module_adapter is None:
            known = ", ".join(sorted(check_library.ADAPTERS)) or "none"
            problems.append(f"{source} → signature → module_adapter: unknown adapter {sig.module_adapter!r}; known adapters: {known}")
    for name in [*sig.names, *sig.opaque]:
        if name not in sig.arguments:
            problems.append(f"{source} → signature: {name!r} is not one of the arguments {sig.arguments}")
    forward = tuple(sig.forward) if sig.forward is not None else tuple(sig.names.get(a, a) for a in sig.arguments if a not in sig.from_module)
    return CompiledLoss(
        name=rule.loss.name,
        summary=rule.loss.summary,
        module_ref=Ref(rule.loss.module) if rule.loss.module else None,
        functional_ref=Ref(rule.loss.functional) if rule.loss.functional else None,
        aliases=tuple(rule.loss.aliases),
        arguments=tuple(sig.arguments),
        forward=forward,
        from_module=dict(sig.from_module),
        module_adapter=module_adapter,
        functional_params=tuple(p for p in sig.functional if p not in absent),
        keyword_only=tuple(p for p in sig.keyword_only if p not in absent),
        optional=frozenset(sig.optional),
        sparse_ok=frozenset(sig.sparse_ok),
        empty_batch_skips_dtype_checks=sig.empty_batch_skips_dtype_checks,
        config={n: c for n, c in rule.config.items() if n not in absent},
        config_attributes=tuple(
            dict.fromkeys(
                name if conf.attribute is None else conf.attribute
                for name, conf in rule.config.items()
                if conf.attribute != ""
            )
        ),
        formats=tuple(formats),
        checks=_compile_checks(rule.checks, source, problems),
        codes=codes,
        rule=rule,
        source=source,
        origin=origin,
        layer=layer,
        opaque=frozenset(sig.opaque),
        names=dict(sig.names),
    )


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


@dataclass(frozen=True)
class Shadow:
    """A rule registered later that replaces a lower layer's rule (same name, or the same class or function)."""

    rule: CompiledLoss
    shadowed: CompiledLoss
    what: str  # "the name 'CrossEntropyLoss'", "the class torch.nn.CrossEntropyLoss"

    def __str__(self) -> str:
        return (
            f"{self.rule.source} ({self.rule.origin}): {self.rule.name} shadows the {self.shadowed.origin} rule "
            f"{self.shadowed.name} from {self.shadowed.source} ({self.what})"
        )


class Registry:
    """Every known loss, found by module class, functional, or name.

    Losses come in layers (built-in first, then rules registered later); a later layer wins where two
    rules claim the same name, class or function, and `shadows` records it. Classes and functions are
    matched by identity once their module is imported, and by qualified name
    (`type(m).__module__ + "." + type(m).__qualname__`) for classes no import path reaches.
    """

    def __init__(self, losses: list[CompiledLoss], shadows: list[Shadow] | None = None):
        # The highest layer first: its names, classes and functions win.
        ordered = sorted((loss for loss in losses if not loss.rule.loss.abstract), key=lambda loss: -loss.layer)
        self.losses = {loss.name: loss for loss in reversed(ordered)}
        self.shadows: list[Shadow] = list(shadows or [])
        self._by_object: dict[int, tuple[CompiledLoss, str]] = {}
        self._by_qualname: dict[str, tuple[CompiledLoss, str]] = {}
        self._by_name: dict[str, tuple[CompiledLoss, str]] = {}
        self._pending: list[tuple[Ref, CompiledLoss, str]] = []
        self._keep: list[object] = []  # classes cached by id stay alive, so that the id is never reused
        for loss in ordered:
            if loss.name in self.losses and self.losses[loss.name] is not loss:
                continue  # shadowed by name
            for ref, form in ((loss.module_ref, "module"), (loss.functional_ref, "functional")):
                if ref is None:
                    continue
                taken = self._by_qualname.get(ref.name)
                if taken is not None:
                    if taken[0].layer > loss.layer and not any(s.rule is taken[0] and s.shadowed is loss for s in self.shadows):
                        self.shadows.append(Shadow(taken[0], loss, f"the {'class' if form == 'module' else 'function'} {ref.name}"))
                    continue
                self._by_qualname[ref.name] = (loss, form)
                self._pending.append((ref, loss, form))
        for loss in ordered:
            if self.losses.get(loss.name) is loss:
                self._by_name.setdefault(loss.name.lower(), (loss, "module" if loss.module_ref or not loss.functional_ref else "functional"))
        for loss in ordered:
            if self.losses.get(loss.name) is not loss:
                continue
            for ref, form in ((loss.module_ref, "module"), (loss.functional_ref, "functional")):
                if ref is not None:
                    self._by_name.setdefault(ref.name.lower(), (loss, form))
                    self._by_name.setdefault(ref.attr.lower(), (loss, form))
            for alias in loss.aliases:
                self._by_name.setdefault(alias.lower(), (loss, "module" if alias[:1].isupper() else "functional"))
        self._refresh()

    def _refresh(self) -> bool:
        """Index the classes and functions whose modules were imported since; True when any was new."""
        found = False
        still = []
        for ref, loss, form in self._pending:
            value = ref.get()
            if value is not None:
                self._by_object.setdefault(id(value), (loss, form))
                found = True
            elif ref.state == "pending":
                still.append((ref, loss, form))
        self._pending = still
        return found

    def _class(self, cls: type) -> tuple[CompiledLoss, str] | None:
        found = self._by_object.get(id(cls))
        if found is not None:
            return found
        if self._pending:
            self._refresh()
        for base in cls.__mro__:
            found = self._by_object.get(id(base)) or self._by_qualname.get(_qualname(base))
            if found is not None and found[1] == "module":
                # Cache the class itself: the next call is one dict lookup.
                self._by_object[id(cls)] = found
                self._keep.append(cls)
                return found
        return None

    def resolve(self, loss: object) -> tuple[CompiledLoss, str, object | None]:
        """(spec, form, module instance or None) for a module, class, functional or name."""
        if isinstance(loss, str):
            key = loss.lower().removeprefix("torch.nn.functional.").removeprefix("torch.nn.").removeprefix("nn.").removeprefix("f.")
            found = self._by_name.get(key) or self._by_name.get(loss.lower())
            if found is None:
                raise self._unknown(repr(loss), loss)
            if found[0].library == "torch" and not found[0].installed:
                raise UnknownLossError(f"{found[0].name} is {found[0].missing_text}: upgrade torch to use it")
            return found[0], found[1], None
        if isinstance(loss, torch.nn.Module):
            found = self._class(type(loss))
            if found is not None:
                return found[0], "module", loss
            raise self._unknown(f"module {type(loss).__name__}", type(loss).__name__)
        if isinstance(loss, type):
            found = self._class(loss)
            if found is not None:
                return found[0], "module", None
            raise self._unknown(f"class {loss.__name__}", loss.__name__)
        found = self._by_object.get(id(loss))
        if found is None and callable(loss):
            if self._pending and self._refresh():
                found = self._by_object.get(id(loss))
            if found is None:
                hit = self._by_qualname.get(_qualname(loss))
                if hit is not None and hit[1] == "functional":
                    found = hit
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
            if form == "functional" and loss.functional_ref is not None and loss.library == "torch":
                display[key] = loss.functional_ref.attr
            else:
                display[key] = loss.name
        hint = f"; did you mean {', '.join(dict.fromkeys(display.values()))}?" if close else ""
        return UnknownLossError(
            f"losslint does not know the loss {what}{hint} "
            "(see `losslint rules` for every known loss, or register a rule file for your own)"
        )


def compile_rules(codes: dict[str, CodeDoc], rules, problems: list[str]) -> tuple[list[CompiledLoss], list[Shadow]]:
    """Compile (RawRule, LossRule) pairs; a name defined twice in one layer is a problem, a name
    defined again in a higher layer shadows the lower one."""
    compiled = []
    for raw, rule in rules:
        if isinstance(raw, Path):  # (path, rule) pairs: one layer of built-in rules
            compiled.append(compile_rule(rule, codes, str(raw), problems))
        else:
            compiled.append(compile_rule(rule, codes, str(raw.path), problems, origin=raw.origin, layer=raw.layer))
    seen: dict[tuple[str, int], CompiledLoss] = {}
    latest: dict[str, CompiledLoss] = {}
    shadows = []
    for loss in sorted(compiled, key=lambda loss: loss.layer):
        key = (loss.name, loss.layer)
        if key in seen:
            problems.append(f"{loss.source}: loss {loss.name!r} is already defined in {seen[key].source}")
            continue
        seen[key] = loss
        if loss.name in latest:
            shadows.append(Shadow(loss, latest[loss.name], f"the name {loss.name!r}"))
        latest[loss.name] = loss
    return compiled, shadows


def build_registry(codes: dict[str, CodeDoc], raw: list[RawRule], problems: list[str]) -> Registry:
    compiled, shadows = compile_rules(codes, validate_rules(raw, problems), problems)
    registry = Registry(compiled, shadows)
    return registry


def load_registry(paths: list[Path], codes_path: Path | None = None) -> Registry:
    """Validate and compile these rule files alone; every problem of every file is raised together."""
    from .spec import builtin_rules_dir, load_codes

    problems: list[str] = []
    codes = load_codes(codes_path or builtin_rules_dir() / "codes.toml", problems)
    registry = build_registry(codes, read_rules(list(paths), problems), problems)
    if problems:
        raise RuleFileError(problems)
    return registry


@lru_cache(maxsize=1)
def builtin_registry() -> Registry:
    """torch's losses and the built-in rules for other libraries (kornia, pytorch-metric-learning)."""
    codes, _ = load_builtin()
    problems: list[str] = []
    registry = build_registry(codes, list(builtin_raw()), problems)
    if problems:
        raise RuleFileError(problems)
    return registry


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
    return list(dict.fromkeys(p.resolve() for p in out))


def registry_from(layers: list[tuple[str, list[Path]]], *, warn: bool = True, problems: list[str] | None = None) -> Registry:
    """The built-in losses plus the rule files of each (origin, paths) layer, in order of precedence.

    Without any file this is `builtin_registry()` itself. Problems in any file are raised as one
    `RuleFileError`. A rule that shadows a lower layer's rule (by name, class or function) is kept and
    recorded in `registry.shadows`, and said with a `RuleShadowWarning` unless `warn` is False.
    """
    extra: list[RawRule] = []
    problems = list(problems or [])
    for layer, (origin, paths) in enumerate(layers, start=1):
        extra.extend(read_rules(rule_files(list(paths)), problems, layer=layer, origin=origin))
    if not extra and not problems:
        return builtin_registry()
    codes, _ = load_builtin()
    registry = build_registry(codes, list(builtin_raw()) + extra, problems)
    if problems:
        raise RuleFileError(problems)
    if warn:
        for shadow in registry.shadows:
            if shadow.rule.layer > 0:
                warnings.warn(str(shadow), RuleShadowWarning, stacklevel=3)
    return registry


def registry_with(extra_paths: list[Path]) -> Registry:
    """The built-in losses plus the losses of extra rule files or folders, as one user layer."""
    return registry_from([("user", list(extra_paths))] if extra_paths else [])
