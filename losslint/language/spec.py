"""Rule files: their pydantic models, loading from the source tree or an installed wheel, and errors.

pydantic validates each file once, at load, and every problem of every file is reported together with
the file and the field path. The hot path never sees pydantic: `engine` compiles these models into
plain objects.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .domains import DomainError, parse_domain
from ..errors import RuleFileError
from .catalog import rules_dir
from .shapes import PatternError, parse_pattern
from .vocabulary import PLACEHOLDERS, PREDICTION_KINDS, TARGET_KINDS, TASKS, unknown

# Dtype groups a rule may name besides plain dtype names such as "int64".
DTYPE_GROUPS = {
    "floating": ("float16", "bfloat16", "float32", "float64"),
    "integral": ("uint8", "int8", "int16", "int32", "int64"),
    "any": (),
}
DTYPE_NAMES = {
    "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool",
    "complex64", "complex128",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_domain(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_domain(value)
        except DomainError as exc:
            raise ValueError(str(exc)) from None
    return value


class CheckRef(_Model):
    """A named check (code in losslint.checks) with its parameters from the rule file."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


def _check_refs(value: Any) -> Any:
    # `checks = ["one_hot_target", {name = "x", argument = "target"}]`: strings are shorthand.
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append({"name": item})
            elif isinstance(item, dict) and "name" in item:
                params = {k: v for k, v in item.items() if k != "name"}
                out.append({"name": item["name"], "params": params})
            else:
                out.append(item)
        return out
    return value


class ArgumentRule(_Model):
    """What one argument must look like in one accepted format."""

    shape: str | None = None
    dtype: list[str] | None = None
    # Whether torch rejects a dtype outside `dtype` (True) or merely computes nonsense (False).
    dtype_raises: bool = True
    dtype_code: str = "LL101"
    domain: str | None = None
    domain_code: str | None = None
    domain_raises: bool = False
    kind: str | None = None
    # The declared kind under a configuration switch: { sigmoid = { "false" = "probabilities" } } (values
    # as lowercase text; a letter of the argument's shape switches on that dimension's size). A value is
    # a declared kind, or a table of the same three fields (kind, kind_codes, kind_by) for a declaration
    # that needs codes of its own or a further switch; see losslint/checks/kind_contract.py.
    kind_by: dict[str, dict[str, str | dict[str, Any]]] | None = None
    # Codes this loss reports for inferred kinds, over the declared kind's own; a code for a kind the
    # declared kind accepts makes it a mismatch here (raw scores into a Dice term with no activation).
    kind_codes: dict[str, str] | None = None
    # Inferred kinds that compute the same value for this loss (a per-row shift for a margin loss).
    kind_harmless: list[str] | None = None
    # May be None (an optional weight) or a Python number instead of a tensor (GaussianNLL's var).
    optional: bool = False
    number_ok: bool = False
    # May be a NumPy array: a loss written in Python arithmetic (GaussianNLLLoss's `input - target`)
    # converts it, as torch does.
    array_ok: bool = False

    _domain = field_validator("domain")(classmethod(lambda cls, v: _check_domain(v)))

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_pattern(value)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            if name not in DTYPE_NAMES and name not in DTYPE_GROUPS:
                raise ValueError(
                    f"unknown dtype {name!r}; use a dtype name or one of {sorted(DTYPE_GROUPS)}"
                )
        return value

    @model_validator(mode="after")
    def _domain_needs_code(self) -> "ArgumentRule":
        if self.domain is not None and self.domain_code is None:
            raise ValueError("a domain needs a domain_code")
        return self


class FormatRule(_Model):
    """One accepted form of the call, e.g. class indices, or class probabilities."""

    name: str
    description: str
    arguments: dict[str, ArgumentRule]
    # Whether torch rejects a call whose shapes fit no format (False for losses that broadcast).
    checks: list[CheckRef] = Field(default_factory=list)
    # Offered only where the installed torch behaves so: names of losslint/language/releases.py behaviours, each
    # optionally "not <name>" (e.g. a (1,) target for an unbatched input, which older releases reject).
    when: list[str] = Field(default_factory=list)

    _checks = field_validator("checks", mode="before")(classmethod(lambda cls, v: _check_refs(v)))


class ConfigRule(_Model):
    """One configuration argument: a constructor argument of the module, a keyword of the functional."""

    type: Literal["int", "float", "bool", "str", "tensor", "callable", "any"]
    default: Any = None
    nullable: bool = False
    choices: list[Any] | None = None
    range: str | None = None
    # Whether torch rejects a value outside `choices` / `range`.
    raises: bool = True
    code: str = "LL004"
    # Where a module instance keeps it; "" when the module does not have it.
    attribute: str | None = None
    # The functional has no default for it (kornia's focal_loss(pred, target, alpha)): a functional call
    # without it is a TypeError.
    required: bool = False
    description: str = ""
    # Exists only where the installed torch behaves so (losslint/language/releases.py names; "not <name>"):
    # elsewhere the keyword is unknown to torch, and passing it is a TypeError.
    when: list[str] = Field(default_factory=list)

    _range = field_validator("range")(classmethod(lambda cls, v: _check_domain(v)))


class Identity(_Model):
    name: str
    # What the rule matches, by qualified name: a class (an instance of it or of a subclass matches) and
    # a function. Both are looked up only in modules that are already imported (see registry.Ref).
    module: str | None = None
    functional: str | None = None
    aliases: list[str] = Field(default_factory=list)
    summary: str
    # A base that other rules extend and that matches nothing itself.
    abstract: bool = False
    # The release of its library that added the loss (history, for the message where it is missing:
    # whether the installed release has it is read from the library itself).
    added_in: str | None = None

    @model_validator(mode="after")
    def _abstract_matches_nothing(self) -> "Identity":
        if self.abstract and (self.module or self.functional or self.aliases):
            raise ValueError("an abstract rule matches nothing: drop module, functional and aliases")
        return self


class Signature(_Model):
    # The tensor arguments, named as the functional names them.
    arguments: list[str]
    # The module forward's own parameter names, position for position with `arguments`, when they
    # differ (PoissonNLLLoss.forward calls its input `log_input`).
    forward: list[str] | None = None
    # Arguments the module supplies itself (LinearCrossEntropyLoss's linear weight): name -> attribute.
    from_module: dict[str, str] = Field(default_factory=dict)
    # A named adapter (losslint.checks.ADAPTERS) that turns what a module instance holds into the
    # arguments its forward() passes to the functional, for modules that reshape their own weights.
    module_adapter: str | None = None
    # Every positional-or-keyword parameter of the functional, in order; then its keyword-only ones.
    functional: list[str] = Field(default_factory=list)
    keyword_only: list[str] = Field(default_factory=list)
    # The kernel returns before its dtype checks when the batch is empty (torch's multi_margin_loss
    # and multilabel_margin_loss): dtype findings on an empty batch are then not raises. A release
    # behaviour's name (losslint/releases.py) instead of true: only where it holds, and only under
    # reductions other than 'none' (nll_loss's early return on the releases that have it).
    empty_batch_skips_dtype_checks: bool | str = False
    # Arguments that torch happens to accept as sparse COO tensors (its dense-sparse arithmetic
    # covers them); every other argument must be dense.
    sparse_ok: list[str] = Field(default_factory=list)
    # Arguments that may be omitted (defaults to None), e.g. AdaptiveLogSoftmax has none.
    optional: list[str] = Field(default_factory=list)
    # Arguments passed through without inspection (pytorch-metric-learning's indices_tuple, a tuple).
    opaque: list[str] = Field(default_factory=list)
    # The loss's own names for arguments, where they differ from the names the checks use
    # (kornia calls the prediction `pred`): {input = "pred"}. `forward` and `functional` list the
    # loss's own names; findings show them too.
    names: dict[str, str] = Field(default_factory=dict)


class Example(_Model):
    """A call with the codes it must produce; every example is run by tests/test_rule_examples.py.

    Tensor expressions use the small constructor language of `losslint.language.examples` (never `eval`).
    """

    name: str
    args: dict[str, str]
    config: dict[str, Any] = Field(default_factory=dict)
    # Codes expected at warning level or above (exactly); [] means a clean call.
    expect: list[str] = Field(default_factory=list)
    # Codes expected at info level (at least these).
    expect_info: list[str] = Field(default_factory=list)
    form: Literal["module", "functional", "both"] = "both"
    note: str = ""
    # Run only where the installed torch behaves so (losslint/language/releases.py names; "not <name>").
    when: list[str] = Field(default_factory=list)


class Take(_Model):
    """One way to feed the loss: the kinds of values its prediction and its target hold."""

    input: list[str]
    target: list[str]
    # The [[formats]] entry these values go through; docs/targets.md shows its target dtype, shape, values.
    format: str | None = None
    # The target's shape in words, where the format's patterns do not say it ("the input's shape").
    shape: str = ""
    # The configuration this way of feeding needs (KLDivLoss takes log-probability targets with
    # log_target=True); suggest() builds the loss with it when the target is taken as it is.
    config: dict[str, Any] = Field(default_factory=dict)


class Conversion(_Model):
    """How to turn one kind of value into what the loss takes, as a Python expression over the loss's own
    argument names (`F.log_softmax(input, dim=1)`); `{C}` is the number of classes (vocabulary.PLACEHOLDERS)."""

    argument: str
    start: list[str] = Field(alias="from")
    code: str
    note: str = ""

    @field_validator("code")
    @classmethod
    def _python(cls, value: str) -> str:
        import ast

        try:
            ast.parse(value.format(**{name: 2 for name in PLACEHOLDERS}), mode="eval")
        except (SyntaxError, KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"not a Python expression (placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}): {exc}") from None
        return value


class Usage(_Model):
    """What the loss is for and how to feed it: read by `losslint.suggest()` and docs/targets.md."""

    tasks: list[str]
    # Which arguments the prediction and the target go to; target = "" for a loss without one (triplets).
    prediction: str = "input"
    target: str = "target"
    takes: list[Take]
    # The configuration a suggested call uses (KLDivLoss wants reduction="batchmean").
    config: dict[str, Any] = Field(default_factory=dict)
    # What the default reduction computes, in words.
    reduction: str
    # The name of a clean [[examples]] entry: the minimal correct call shown for this loss.
    example: str
    conversions: list[Conversion] = Field(default_factory=list)
    # Among losses for the same task, lower comes first (the everyday loss of a task has 10); a table
    # ranks per task (BCEWithLogitsLoss comes first for binary, after CrossEntropyLoss for multiclass).
    rank: int | dict[str, int] = 50
    note: str = ""

    def rank_for(self, task: str) -> int:
        return self.rank if isinstance(self.rank, int) else self.rank.get(task, 50)

    @model_validator(mode="after")
    def _known_words(self) -> "Usage":
        problems = [unknown(t, TASKS, "task") for t in self.tasks if t not in TASKS]
        for take in self.takes:
            problems += [unknown(k, PREDICTION_KINDS, "prediction kind") for k in take.input if k not in PREDICTION_KINDS]
            problems += [unknown(k, TARGET_KINDS, "target kind") for k in take.target if k not in TARGET_KINDS]
        for conversion in self.conversions:
            if not conversion.argument or conversion.argument not in (self.prediction, self.target):
                problems.append(f"a conversion's argument must be {self.prediction!r} or {self.target!r}, got {conversion.argument!r}")
            kinds = PREDICTION_KINDS if conversion.argument == self.prediction else TARGET_KINDS
            problems += [unknown(k, kinds, "kind") for k in conversion.start if k not in kinds]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class LossRule(_Model):
    # The name of a loss whose signature, configuration, formats and checks this rule starts from;
    # resolved when the files are loaded (see resolve_extends), so the model never sees it unresolved.
    extends: str | None = None
    loss: Identity
    signature: Signature
    config: dict[str, ConfigRule] = Field(default_factory=dict)
    formats: list[FormatRule]
    # Loss-level checks: run on every call, whatever format matched (or when none did).
    checks: list[CheckRef] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    usage: Usage | None = None
    # A fix in the terms of this loss's own API, by code, replacing the catalog's torch-worded one
    # (smp's DiceLoss: LL305 -> "from_logits=False", not "use nn.BCELoss()"). It wins over a check's
    # own fix too: the rule's author knows the library's options, a shared check only torch's.
    fixes: dict[str, str] = Field(default_factory=dict)

    _checks = field_validator("checks", mode="before")(classmethod(lambda cls, v: _check_refs(v)))

    @model_validator(mode="after")
    def _usage_fits_the_rule(self) -> "LossRule":
        usage = self.usage
        if usage is None:
            return self
        problems = []
        for name in (usage.prediction, usage.target):
            if name and name not in self.signature.arguments:
                problems.append(f"usage: {name!r} is not one of the arguments {self.signature.arguments}")
        formats = [f.name for f in self.formats]
        for take in usage.takes:
            if take.format is not None and take.format not in formats:
                problems.append(f"usage → takes: no format {take.format!r}; formats: {', '.join(formats)}")
            problems += [f"usage → takes → config: {key!r} is not a configuration argument of the loss" for key in take.config if key not in self.config]
        example = next((e for e in self.examples if e.name == usage.example), None)
        if example is None:
            problems.append(f"usage → example: no [[examples]] entry named {usage.example!r}")
        elif example.expect:
            problems.append(f"usage → example: {usage.example!r} expects {example.expect}; the example shown must be clean")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class CodeDoc(_Model):
    name: str
    severity: Literal["error", "warning", "info"]
    summary: str
    why: str
    example: str
    fix: str
    references: list[str] = Field(default_factory=list)


# ---- loading --------------------------------------------------------------------------------------


def builtin_rules_dir() -> Path:
    """rules/ of the source tree when running from a checkout, else losslint/rules in the wheel."""
    return rules_dir()


def builtin_rule_paths(directory: Path | None = None) -> list[Path]:
    """The built-in loss rule files: torch's at the top of rules/, then each library's subfolder
    (rules/kornia/, rules/pytorch_metric_learning/, named by the library's import name)."""
    directory = directory or builtin_rules_dir()
    top = sorted(p for p in directory.glob("*.toml") if p.name != "codes.toml")
    return top + sorted(directory.glob("*/*.toml"))


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f" → {item}" if parts else str(item))
    return "".join(parts)


def _read_toml(path: Path, problems: list[str]) -> dict | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc}")
    return None


def _validate(model: type[_Model], data: Any, where: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = _format_location(tuple(error["loc"]))
            problems.append(f"{where}{' → ' + loc if loc else ''}: {error['msg']}")
    return None


def load_codes(path: Path, problems: list[str]) -> dict[str, CodeDoc]:
    data = _read_toml(path, problems)
    codes: dict[str, CodeDoc] = {}
    for code, entry in (data or {}).items():
        doc = _validate(CodeDoc, entry, f"{path} → {code}", problems)
        if doc is not None:
            codes[code] = doc
    return codes


@dataclass(frozen=True)
class RawRule:
    """One rule file as read, before validation: its data, and where it came from.

    layer: 0 for the built-in rules, higher for rules registered later (entry points, pyproject.toml,
    register_rules), which may shadow and extend the rules of lower layers.
    """

    path: Path
    data: dict
    layer: int = 0
    origin: str = "built-in"

    @property
    def name(self) -> str | None:
        loss = self.data.get("loss")
        name = loss.get("name") if isinstance(loss, dict) else None
        return name if isinstance(name, str) else None


def read_rules(paths: list[Path], problems: list[str], *, layer: int = 0, origin: str = "built-in") -> list[RawRule]:
    out = []
    for path in paths:
        data = _read_toml(path, problems)
        if data is not None:
            out.append(RawRule(path, data, layer, origin))
    return out


# What a rule inherits from the rule it extends; its identity ([loss]) and examples are its own.
INHERITED = ("signature", "config", "formats", "checks")


def merge_rule(base: dict, child: dict, where: str = "", problems: list[str] | None = None) -> dict:
    """`child` over `base`: tables merge key by key (signature, each config entry), lists replace.

    `[config.reduction] attribute = "red"` changes one key of an inherited entry and keeps the rest;
    `config.weight = false` drops an inherited entry the loss does not have. `checks`, when given,
    replace the inherited ones; so do `formats`, where a string names an inherited format to keep
    (`formats = ["class-indices"]`) and a table defines a new one.
    """
    out: dict[str, Any] = {key: base[key] for key in INHERITED if key in base}
    for key, value in child.items():
        inherited = out.get(key)
        if key == "signature" and isinstance(value, dict) and isinstance(inherited, dict):
            out[key] = {**inherited, **value}
        elif key == "config" and isinstance(value, dict) and isinstance(inherited, dict):
            merged = dict(inherited)
            for name, entry in value.items():
                old = merged.get(name)
                if entry is False:
                    merged.pop(name, None)
                else:
                    merged[name] = {**old, **entry} if isinstance(entry, dict) and isinstance(old, dict) else entry
            out[key] = merged
        elif key == "formats" and isinstance(value, list) and any(isinstance(v, str) for v in value):
            by_name = {f.get("name"): f for f in inherited or [] if isinstance(f, dict)}
            formats = []
            for i, item in enumerate(value):
                if isinstance(item, str):
                    if item in by_name:
                        formats.append(by_name[item])
                    elif problems is not None:
                        known = ", ".join(map(repr, by_name)) or "none"
                        problems.append(f"{where} → formats[{i}]: no inherited format {item!r}; inherited formats: {known}")
                else:
                    formats.append(item)
            out[key] = formats
        else:
            out[key] = value
    return out


def resolve_extends(rules: list[RawRule], problems: list[str]) -> list[RawRule | None]:
    """Each rule with its `extends` resolved (None where that failed, with the problem reported).

    A rule extends a loss by its canonical name, looked up in its own layer and then in lower ones
    (so a user rule may extend the built-in rule of the same name it shadows). Unknown bases and
    cycles (`a extends b extends a`) are reported with the file and the field, all at once.
    """
    by_name: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        if rule.name is not None:
            by_name.setdefault(rule.name, []).append(i)
    done: dict[int, dict | None] = {}

    def base_of(i: int, name: str) -> int | None:
        candidates = [j for j in by_name.get(name, []) if j != i and rules[j].layer <= rules[i].layer]
        return max(candidates, key=lambda j: (rules[j].layer, -j)) if candidates else None

    def resolve(i: int, chain: tuple[int, ...]) -> dict | None:
        if i in done:
            return done[i]
        rule = rules[i]
        base_name = rule.data.get("extends")
        if base_name is None:
            done[i] = rule.data
            return rule.data
        where = f"{rule.path} → extends"
        if not isinstance(base_name, str):
            problems.append(f"{where}: expected the name of a loss, got {base_name!r}")
            done[i] = None
            return None
        if i in chain:
            cycle = [rules[k].name or str(rules[k].path) for k in chain[chain.index(i):]] + [rule.name or str(rule.path)]
            problems.append(f"{where}: a cycle: {' extends '.join(map(repr, cycle))}")
            done[i] = None
            return None
        j = base_of(i, base_name)
        if j is None:
            if base_name == rule.name:
                problems.append(f"{where}: {base_name!r} extends itself, and no lower layer (built-in, package) defines it")
            else:
                close = difflib.get_close_matches(base_name, sorted(by_name), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                problems.append(f"{where}: unknown loss {base_name!r}{hint}")
            done[i] = None
            return None
        base = resolve(j, chain + (i,))
        merged = None if base is None else merge_rule(base, rule.data, str(rule.path), problems)
        done[i] = merged
        return merged

    out: list[RawRule | None] = []
    for i, rule in enumerate(rules):
        data = resolve(i, ())
        out.append(None if data is None else RawRule(rule.path, data, rule.layer, rule.origin))
    return out


def validate_rules(rules: list[RawRule], problems: list[str]) -> list[tuple[RawRule, LossRule]]:
    """Resolve `extends`, then validate every rule; problems are collected, never raised here."""
    out = []
    for raw in resolve_extends(rules, problems):
        if raw is None:
            continue
        rule = _validate(LossRule, raw.data, str(raw.path), problems)
        if rule is not None:
            out.append((raw, rule))
    return out


def load_loss_files(paths: list[Path], problems: list[str]) -> list[tuple[Path, LossRule]]:
    """Validated rules of these files alone (their `extends` resolved among themselves)."""
    return [(raw.path, rule) for raw, rule in validate_rules(read_rules(list(paths), problems), problems)]


@lru_cache(maxsize=1)
def builtin_raw() -> tuple[RawRule, ...]:
    """The built-in rule files as read (the base layer that extra rule files may extend)."""
    problems: list[str] = []
    raw = read_rules(builtin_rule_paths(), problems)
    if problems:
        raise RuleFileError(problems)
    return tuple(raw)


@lru_cache(maxsize=1)
def load_builtin() -> tuple[dict[str, CodeDoc], list[tuple[Path, LossRule]]]:
    """Every built-in rule file, validated; raises RuleFileError listing all problems at once."""
    directory = builtin_rules_dir()
    problems: list[str] = []
    codes = load_codes(directory / "codes.toml", problems)
    rules = [(raw.path, rule) for raw, rule in validate_rules(list(builtin_raw()), problems)]
    if problems:
        raise RuleFileError(problems)
    return codes, rules
