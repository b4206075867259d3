"""Rule files: their pydantic models, loading from the source tree or an installed wheel, and errors.

pydantic validates each file once, at load, and every problem of every file is reported together with
the file and the field path. The hot path never sees pydantic: `engine` compiles these models into
plain objects.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .domains import DomainError, parse_domain
from .findings import RuleFileError
from .shapes import PatternError, parse_pattern

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
    # May be None (an optional weight) or a Python number instead of a tensor (GaussianNLL's var).
    optional: bool = False
    number_ok: bool = False
    # May be a NumPy array: a loss written in Python arithmetic (GaussianNLLLoss's `input - target`)
    # converts it, as torch 2.13 does.
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
    description: str = ""

    _range = field_validator("range")(classmethod(lambda cls, v: _check_domain(v)))


class Identity(_Model):
    name: str
    module: str | None = None
    functional: str | None = None
    aliases: list[str] = Field(default_factory=list)
    summary: str


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
    # Arguments that torch 2.13 happens to accept as sparse COO tensors (its dense-sparse arithmetic
    # covers them); every other argument must be dense.
    sparse_ok: list[str] = Field(default_factory=list)
    # Arguments that may be omitted (defaults to None), e.g. AdaptiveLogSoftmax has none.
    optional: list[str] = Field(default_factory=list)


class Example(_Model):
    """A call with the codes it must produce; every example is run by tests/test_rule_examples.py.

    Tensor expressions use the small constructor language of `losslint.examples` (never `eval`).
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


class LossRule(_Model):
    loss: Identity
    signature: Signature
    config: dict[str, ConfigRule] = Field(default_factory=dict)
    formats: list[FormatRule]
    # Loss-level checks: run on every call, whatever format matched (or when none did).
    checks: list[CheckRef] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)

    _checks = field_validator("checks", mode="before")(classmethod(lambda cls, v: _check_refs(v)))


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
    source_tree = Path(__file__).resolve().parent.parent / "rules"
    if (source_tree / "codes.toml").is_file():
        return source_tree
    return Path(str(resources.files("losslint") / "rules"))


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


def load_loss_files(paths: list[Path], problems: list[str]) -> list[tuple[Path, LossRule]]:
    rules = []
    for path in paths:
        data = _read_toml(path, problems)
        if data is None:
            continue
        rule = _validate(LossRule, data, str(path), problems)
        if rule is not None:
            rules.append((path, rule))
    return rules


@lru_cache(maxsize=1)
def load_builtin() -> tuple[dict[str, CodeDoc], list[tuple[Path, LossRule]]]:
    """Every built-in rule file, validated; raises RuleFileError listing all problems at once."""
    directory = builtin_rules_dir()
    problems: list[str] = []
    codes = load_codes(directory / "codes.toml", problems)
    paths = sorted(p for p in directory.glob("*.toml") if p.name != "codes.toml")
    rules = load_loss_files(paths, problems)
    if problems:
        raise RuleFileError(problems)
    return codes, rules
