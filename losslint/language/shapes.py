"""Named-dimension shape patterns and their bindings.

A pattern is a space-separated list of dimension names, integer literals and at most one variadic
`*name`: ``"N C *d"`` matches ``(8, 5)`` with N=8, C=5, d=() and ``(2, 4, 8, 8)`` with d=(8, 8).
``""`` matches a 0-d tensor. Patterns of several arguments share one binding, so ``input: "N C *d"``
and ``target: "N *d"`` agree only when the batch and trailing dimensions agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

Dim = int | tuple[int, ...]


@dataclass(frozen=True)
class Pattern:
    text: str
    head: tuple[str, ...]  # fixed dims before the variadic
    variadic: str | None
    tail: tuple[str, ...]  # fixed dims after the variadic

    @property
    def min_ndim(self) -> int:
        return len(self.head) + len(self.tail)


class PatternError(ValueError):
    pass


@lru_cache(maxsize=None)
def parse_pattern(text: str) -> Pattern:
    head: list[str] = []
    tail: list[str] = []
    variadic: str | None = None
    for token in text.split():
        if token.startswith("*"):
            if variadic is not None:
                raise PatternError(f"pattern {text!r} has more than one variadic dimension")
            variadic = token[1:]
            if not variadic.isidentifier():
                raise PatternError(f"pattern {text!r}: {token!r} is not a valid variadic name")
            continue
        if not (token.isidentifier() or token.isdigit()):
            raise PatternError(f"pattern {text!r}: {token!r} is neither a name nor an integer")
        (tail if variadic is not None else head).append(token)
    return Pattern(text, tuple(head), variadic, tuple(tail))


def bind(pattern: Pattern, shape: tuple[int, ...], binding: dict[str, Dim]) -> str | None:
    """Extend `binding` with the dims of `shape`; return a short reason when it does not match.

    On failure the binding may be partly extended; callers bind into a copy.
    """
    n = len(shape)
    if pattern.variadic is None and n != pattern.min_ndim:
        return f"expected {pattern.min_ndim} dimensions, got {n}"
    if n < pattern.min_ndim:
        return f"expected at least {pattern.min_ndim} dimensions, got {n}"
    named = list(zip(pattern.head, shape[: len(pattern.head)]))
    named += list(zip(pattern.tail, shape[n - len(pattern.tail) :]))
    for name, size in named:
        if name.isdigit():
            if size != int(name):
                return f"expected size {name}, got {size}"
            continue
        seen = binding.get(name)
        if seen is None:
            binding[name] = size
        elif seen != size:
            return f"{name} is {seen} elsewhere, got {size}"
    if pattern.variadic is not None:
        rest = tuple(shape[len(pattern.head) : n - len(pattern.tail)])
        seen = binding.get("*" + pattern.variadic)
        if seen is None:
            binding["*" + pattern.variadic] = rest
        elif seen != rest:
            return f"trailing dims {_fmt(seen)} elsewhere, got {_fmt(rest)}"
    return None


def describe_binding(binding: dict[str, Dim]) -> str:
    """``N=8, C=5, *d=(8, 8)`` for messages."""
    parts = []
    for name, size in binding.items():
        parts.append(f"{name}={_fmt(size) if isinstance(size, tuple) else size}")
    return ", ".join(parts)


def _fmt(dims: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast of two shapes, or None when they do not broadcast."""
    out = []
    for x, y in zip(reversed((1,) * (len(b) - len(a)) + tuple(a)), reversed((1,) * (len(a) - len(b)) + tuple(b))):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(reversed(out))


def render(pattern: Pattern, binding: dict[str, Dim]) -> str:
    """The pattern with what is known substituted: ``N *d`` with N=8, d=() reads ``(8,)``."""
    parts: list[str] = []
    for name in pattern.head:
        parts.append(str(binding.get(name, name)))
    if pattern.variadic is not None:
        known = binding.get("*" + pattern.variadic)
        if isinstance(known, tuple):
            parts.extend(str(d) for d in known)
        else:
            parts.append("*" + pattern.variadic)
    for name in pattern.tail:
        parts.append(str(binding.get(name, name)))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def render_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
