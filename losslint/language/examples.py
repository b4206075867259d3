"""A small constructor language for example tensors in rule files, read without `eval`.

Rule files carry their own good and bad examples (``target = "one_hot(randint(0, 5, (8,)), 5)"``).
This module parses such an expression with `ast` and interprets a whitelist of node types, functions
and methods; anything else is a `ValueError` naming what is not allowed. Random draws come from the
generator passed in, so that examples are reproducible.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

import torch
import torch.nn.functional as F

_DTYPES = {
    name: getattr(torch, name)
    for name in ("float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool", "complex64", "complex128")
}
_CONSTANTS = {"inf": float("inf"), "nan": float("nan"), "meta": "meta", **_DTYPES}

_METHODS = {
    "float", "double", "half", "bfloat16", "long", "int", "byte", "bool", "to",
    "unsqueeze", "squeeze", "transpose", "permute", "reshape", "view", "flatten", "t", "contiguous",
    "expand", "repeat", "abs", "exp", "log", "neg", "clamp", "argmax", "sum", "mean", "round",
    "softmax", "log_softmax", "sigmoid", "relu", "movedim", "narrow", "clone", "requires_grad_",
    "to_sparse", "masked_fill", "flip", "cumsum", "detach",
}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
}
_COMPARE = {ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le, ast.Eq: operator.eq, ast.NotEq: operator.ne}


def _functions(gen: torch.Generator) -> dict[str, Any]:
    def shape(args):
        return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args

    return {
        "randn": lambda *a, **k: torch.randn(*shape(a), generator=gen, **k),
        "rand": lambda *a, **k: torch.rand(*shape(a), generator=gen, **k),
        "randint": lambda low, high, size, **k: torch.randint(low, high, tuple(size), generator=gen, **k),
        "zeros": lambda *a, **k: torch.zeros(*shape(a), **k),
        "ones": lambda *a, **k: torch.ones(*shape(a), **k),
        "empty": lambda *a, **k: torch.empty(*shape(a), **k),
        "full": lambda size, value, **k: torch.full(tuple(size), value, **k),
        "tensor": lambda data, **k: torch.tensor(data, **k),
        "arange": lambda *a, **k: torch.arange(*a, **k),
        "linspace": lambda *a, **k: torch.linspace(*a, **k),
        "eye": lambda *a, **k: torch.eye(*a, **k),
        "one_hot": lambda t, n: F.one_hot(t, n),
        "softmax": lambda t, dim: torch.softmax(t, dim),
        "log_softmax": lambda t, dim: torch.log_softmax(t, dim),
        "sigmoid": torch.sigmoid,
        "softplus": F.softplus,
        "cat": lambda ts, dim=0: torch.cat(list(ts), dim),
        "stack": lambda ts, dim=0: torch.stack(list(ts), dim),
        "where": torch.where,
    }


def build(source: str, generator: torch.Generator | None = None) -> Any:
    """Build the value an example expression describes."""
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    tree = ast.parse(source, mode="eval")
    return _Interpreter(_functions(gen), source).visit(tree.body)


class _Interpreter(ast.NodeVisitor):
    def __init__(self, functions: dict[str, Any], source: str):
        self.functions = functions
        self.source = source

    def generic_visit(self, node: ast.AST) -> Any:
        raise ValueError(f"example {self.source!r}: {type(node).__name__} is not allowed")

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"example {self.source!r}: unknown name {node.id!r}")

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.visit(e) for e in node.elts)

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(e) for e in node.elts]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        if isinstance(node.op, ast.Invert):
            return ~value
        return self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINARY.get(type(node.op))
        if op is None:
            return self.generic_visit(node)
        return op(self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            return self.generic_visit(node)
        return _COMPARE[type(node.ops[0])](self.visit(node.left), self.visit(node.comparators[0]))

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        return self.visit(node.value)[self.visit(node.slice)]

    def visit_Slice(self, node: ast.Slice) -> Any:
        part = lambda n: None if n is None else self.visit(n)  # noqa: E731
        return slice(part(node.lower), part(node.upper), part(node.step))

    def visit_Call(self, node: ast.Call) -> Any:
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords if k.arg}
        if isinstance(node.func, ast.Name):
            fn = self.functions.get(node.func.id)
            if fn is None:
                raise ValueError(f"example {self.source!r}: unknown function {node.func.id!r}")
            return fn(*args, **kwargs)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
            target = self.visit(node.func.value)
            if not isinstance(target, torch.Tensor):
                raise ValueError(f"example {self.source!r}: .{node.func.attr}() needs a tensor")
            return getattr(target, node.func.attr)(*args, **kwargs)
        raise ValueError(f"example {self.source!r}: call of {ast.unparse(node.func)!r} is not allowed")
