"""Value domains written in rule files, parsed by a small grammar (never `eval`).

    domain   := term ("|" term)*
    term     := interval | set | bound
    interval := ("[" | "(") bound "," bound ("]" | ")")
    set      := "{" bound ("," bound)* "}"
    bound    := ["-"] (number | "inf" | name)

Names are resolved at check time from the shape binding (``C``) and the loss configuration
(``ignore_index``, ``blank``). A name bound to None (``ignore_index=None``) drops its term.
Examples: ``[0, C) | ignore_index``, ``{-1, 1}``, ``[0, 1]``, ``(0, inf)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import torch

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<op>[\[\](){},|\-]))")


class DomainError(ValueError):
    pass


@dataclass(frozen=True)
class Bound:
    negate: bool
    number: float | None
    name: str | None

    def resolve(self, names: Mapping[str, object]) -> float | None:
        if self.number is not None:
            value = self.number
        elif self.name == "inf":
            value = math.inf
        else:
            raw = names.get(self.name)  # type: ignore[arg-type]
            # A configuration value of the wrong type (ignore_index="none") has its own finding; the
            # domain then simply lacks that term.
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                return None
            value = float(raw)
        return -value if self.negate else value

    def text(self, names: Mapping[str, object]) -> str:
        value = self.resolve(names)
        if value is None:
            return ("-" if self.negate else "") + str(self.name)
        if value in (math.inf, -math.inf):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class Interval:
    low: Bound
    high: Bound
    low_closed: bool
    high_closed: bool


@dataclass(frozen=True)
class Values:
    members: tuple[Bound, ...]


Term = Interval | Values


@dataclass(frozen=True)
class Domain:
    source: str
    terms: tuple[Term, ...]

    @property
    def names(self) -> set[str]:
        out: set[str] = set()
        for term in self.terms:
            bounds = (term.low, term.high) if isinstance(term, Interval) else term.members
            out.update(b.name for b in bounds if b.name and b.name != "inf")
        return out

    def contains_scalar(self, value: float, names: Mapping[str, object]) -> bool:
        for term in self.terms:
            if isinstance(term, Interval):
                lo, hi = term.low.resolve(names), term.high.resolve(names)
                if lo is None or hi is None:
                    continue
                if (value > lo or (term.low_closed and value == lo)) and (
                    value < hi or (term.high_closed and value == hi)
                ):
                    return True
            else:
                if any(b.resolve(names) == value for b in term.members):
                    return True
        return False

    def covers_range(self, low: float, high: float, names: Mapping[str, object]) -> bool:
        """Whether one interval term holds all of [low, high]: then no element can lie outside, and
        the exact check costs one min/max instead of a mask per term."""
        for term in self.terms:
            if isinstance(term, Interval):
                lo, hi = term.low.resolve(names), term.high.resolve(names)
                if lo is None or hi is None:
                    continue
                if (low > lo or (term.low_closed and low == lo)) and (high < hi or (term.high_closed and high == hi)):
                    return True
        return False

    def outside_mask(self, data: torch.Tensor, names: Mapping[str, object]) -> torch.Tensor:
        """Boolean mask of the elements of `data` that lie outside the domain (NaN is outside)."""
        inside = torch.zeros(data.shape, dtype=torch.bool, device=data.device)
        for term in self.terms:
            if isinstance(term, Interval):
                lo, hi = term.low.resolve(names), term.high.resolve(names)
                if lo is None or hi is None:
                    continue
                above = data >= lo if term.low_closed else data > lo
                below = data <= hi if term.high_closed else data < hi
                inside |= above & below
            else:
                for b in term.members:
                    v = b.resolve(names)
                    if v is not None:
                        inside |= data == v
        return ~inside

    def text(self, names: Mapping[str, object]) -> str:
        parts = []
        for term in self.terms:
            if isinstance(term, Interval):
                if term.low.resolve(names) is None or term.high.resolve(names) is None:
                    if any(b.name in names for b in (term.low, term.high)):
                        continue
                parts.append(
                    ("[" if term.low_closed else "(")
                    + f"{term.low.text(names)}, {term.high.text(names)}"
                    + ("]" if term.high_closed else ")")
                )
            else:
                shown = [b.text(names) for b in term.members if b.resolve(names) is not None or b.name not in names]
                if not shown:
                    continue
                parts.append(shown[0] if len(shown) == 1 else "{" + ", ".join(shown) + "}")
        return " or ".join(parts)


@lru_cache(maxsize=None)
def parse_domain(source: str) -> Domain:
    tokens = _tokenize(source)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise DomainError(f"domain {source!r}: unexpected end")
        token = tokens[pos]
        if expected is not None and token != expected:
            raise DomainError(f"domain {source!r}: expected {expected!r}, got {token!r}")
        pos += 1
        return token

    def bound() -> Bound:
        negate = False
        if peek() == "-":
            take()
            negate = True
        token = take()
        if token[0].isdigit():
            return Bound(negate, float(token), None)
        if token[0].isalpha() or token[0] == "_":
            return Bound(negate, None, token)
        raise DomainError(f"domain {source!r}: expected a number or a name, got {token!r}")

    def term() -> Term:
        token = peek()
        if token in ("[", "("):
            take()
            low = bound()
            take(",")
            high = bound()
            closing = take()
            if closing not in ("]", ")"):
                raise DomainError(f"domain {source!r}: expected ']' or ')', got {closing!r}")
            return Interval(low, high, token == "[", closing == "]")
        if token == "{":
            take()
            members = [bound()]
            while peek() == ",":
                take()
                members.append(bound())
            take("}")
            return Values(tuple(members))
        return Values((bound(),))

    terms = [term()]
    while peek() == "|":
        take()
        terms.append(term())
    if pos != len(tokens):
        raise DomainError(f"domain {source!r}: unexpected {tokens[pos]!r}")
    return Domain(source, tuple(terms))


def _tokenize(source: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = source.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise DomainError(f"domain {source!r}: cannot read {text[pos:]!r}")
        tokens.append(match.group(match.lastgroup))  # type: ignore[arg-type]
        pos = match.end()
    return tokens
