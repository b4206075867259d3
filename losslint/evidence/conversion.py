"""Conversions: Python expressions over a loss's argument names, applied without `eval`.

A rule file writes how to turn one kind of value into another as the code a user would write
(`F.one_hot(target, {C}).float()`, `2 * target - 1`). `suggest()` must know that the code works before it
proposes it, so it runs the expression here, on the user's tensors: `ast` parses it and a whitelist of
names, functions and tensor methods interprets it; anything else is a `ValueError` naming what is not
allowed. Conversions also compose (`torch.sigmoid(input)` then `.squeeze(1)`) by substituting one
expression into another, so that what is shown is still a single expression that runs as written.
"""

from __future__ import annotations

from dataclasses import dataclass

import ast
import operator
import re
from typing import Any, Mapping

import torch
import torch.nn.functional as F

# What a conversion may call: torch.<name>, F.<name>, and tensor methods.
_TORCH = {"sigmoid", "logit", "log", "where", "arange", "cat", "stack", "zeros_like", "ones_like", "softmax", "log_softmax", "sort"}
_FUNCTIONAL = {"one_hot", "log_softmax", "softmax", "pad", "logsigmoid", "normalize", "sigmoid"}
_METHODS = {
    "float", "double", "long", "int", "bool", "to", "unsqueeze", "squeeze", "argmax", "sum", "log", "exp",
    "clamp", "clamp_min", "sigmoid", "softmax", "log_softmax", "sort", "argsort", "view", "reshape", "flatten",
    "movedim", "permute", "expand_as", "abs", "round", "transpose",
}
_ATTRIBUTES = {"shape", "values", "indices", "ndim", "dtype", "device"}
_NAMESPACES = {"torch": torch, "F": F}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
}
_COMPARE = {ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le, ast.Eq: operator.eq, ast.NotEq: operator.ne}


def fill(code: str, placeholders: Mapping[str, Any]) -> str:
    """A rule file's conversion with its placeholders (`{C}`) filled in: plain Python from here on."""
    return code.format(**placeholders)


def compose(outer: str, argument: str, inner: str) -> str:
    """`outer` applied to the result of `inner`: compose("x.squeeze(1)", "x", "torch.sigmoid(x)")
    is "torch.sigmoid(x).squeeze(1)"."""
    inner_tree = ast.parse(inner, mode="eval").body

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return inner_tree if node.id == argument else node

    composed = ast.unparse(Substitute().visit(ast.parse(outer, mode="eval")))
    # Numbers as the rule file writes them (1e-6, not ast.unparse's 1e-06).
    for source in (outer, inner):
        for node in ast.walk(ast.parse(source, mode="eval")):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                written = ast.get_source_segment(source, node)
                shown = ast.unparse(node)
                if written and written != shown:
                    composed = re.sub(rf"(?<![\w.]){re.escape(shown)}(?![\w.])", written, composed)
    return composed


# Findings whose fix converts an argument without changing what it means (a layout move, labels shifted
# to start at 0, a mask scaled to [0, 1], signs mapped to {0, 1}): suggest() applies them as check()
# writes them. A fix that changes meaning (clamping labels into range) is never among them.
MEANING_PRESERVING = {
    "LL204": None,  # classes moved to dim 1
    "LL401": "1-based",  # only where the message says the labels are 1-based
    "LL402": None,  # {0, 255} masks, {-1, 1} signs
}


def meaning_preserving(code: str, argument: str, message: str, fix: str) -> list[str]:
    """The conversions of `argument` that a finding's help line writes and that keep its meaning, in the
    help line's order; [] for a finding whose fix is not one (suggest() applies these, the targets page
    shows them)."""
    if code not in MEANING_PRESERVING:
        return []
    needs = MEANING_PRESERVING[code]
    if needs is not None and needs not in message:
        return []
    return expressions_in(fix, argument)


@dataclass(frozen=True)
class Situation:
    """A call whose finding's help line is a meaning-preserving conversion: shown, computed, on the
    targets page (advice.targets), and run in tests/test_targets.py. Plain torch code."""

    you_have: str
    loss: str
    input: str
    target: str


SITUATIONS = (
    Situation("channels-last logits `(N, H, W, C)`", "nn.CrossEntropyLoss()", "torch.randn(8, 16, 16, 5)", "torch.randint(0, 5, (8, 16, 16))"),
    Situation("token logits `(N, L, C)`", "nn.CrossEntropyLoss()", "torch.randn(4, 12, 20)", "torch.randint(0, 20, (4, 12))"),
    Situation("1-based class labels", "nn.CrossEntropyLoss()", "torch.randn(10, 5)", "torch.arange(1, 6).repeat(2)"),
    Situation("a `{0, 255}` mask", "nn.BCEWithLogitsLoss()", "torch.randn(4, 1, 8, 8)", "(torch.rand(4, 1, 8, 8) > 0.5).float() * 255"),
    Situation("`{-1, 1}` labels", "nn.BCEWithLogitsLoss()", "torch.randn(16)", "torch.randint(0, 2, (16,)).float() * 2 - 1"),
)


def expressions_in(fix: str, argument: str) -> list[str]:
    """The expressions over `argument` alone that a finding's help line proposes, in its order.

    "target / 255, or (target > 127).float()" gives both; "loss(input.movedim(-1, 1), target)" gives
    "input.movedim(-1, 1)", and so does "nn.CrossEntropyLoss()(input.movedim(-1, 1), target)"; "target - 1 (labels must run from 0 to C-1 = 4)" gives "target - 1".
    """
    found: list[str] = []
    for piece in re.split(r";|, or |\s+# or ", fix):
        piece = piece.strip()
        if ": " in piece:
            piece = piece.rsplit(": ", 1)[1]
        for candidate in (piece, piece.split(" (")[0]):
            try:
                tree = ast.parse(candidate, mode="eval").body
            except SyntaxError:
                continue
            # A whole call, `loss(input.movedim(-1, 1), target)` or `nn.NLLLoss()(F.log_softmax(input, dim=1),
            # target.argmax(dim=1))`: the argument's own expression inside it.
            called = isinstance(tree, ast.Call) and (
                (isinstance(tree.func, ast.Name) and tree.func.id == "loss") or isinstance(tree.func, ast.Call)
            )
            if called:
                tree = next((a for a in tree.args if _names(a) == {argument}), None)
                if tree is None:
                    break
            if _names(tree) == {argument} and not (isinstance(tree, ast.Name)):
                found.append(ast.unparse(tree))
            break
    return list(dict.fromkeys(found))


def _names(tree: ast.AST) -> set[str]:
    """The free names of an expression, less the namespaces a conversion may use."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(_NAMESPACES)


def apply(code: str, arguments: Mapping[str, Any]) -> Any:
    """The value of `code` with the loss's argument names bound to `arguments` (no eval)."""
    tree = ast.parse(code, mode="eval")
    return _Interpreter(code, arguments).visit(tree.body)


class _Interpreter(ast.NodeVisitor):
    def __init__(self, source: str, names: Mapping[str, Any]):
        self.source = source
        self.names = names

    def _refuse(self, what: str) -> ValueError:
        return ValueError(f"conversion {self.source!r}: {what} is not allowed")

    def generic_visit(self, node: ast.AST) -> Any:
        raise self._refuse(type(node).__name__)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, bool, str)) or node.value is None:
            return node.value
        raise self._refuse(repr(node.value))

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in _NAMESPACES:
            return _NAMESPACES[node.id]
        raise self._refuse(f"the name {node.id!r}")

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.visit(e) for e in node.elts)

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(e) for e in node.elts]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.USub):
            return -self.visit(node.operand)
        if isinstance(node.op, ast.Invert):
            return ~self.visit(node.operand)
        raise self._refuse(type(node.op).__name__)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self._refuse(type(node.op).__name__)
        return op(self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise self._refuse("a chained comparison")
        return _COMPARE[type(node.ops[0])](self.visit(node.left), self.visit(node.comparators[0]))

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        return self.visit(node.value)[self.visit(node.slice)]

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        value = self.visit(node.value)
        if node.attr in _ATTRIBUTES and not isinstance(value, type(torch)):
            return getattr(value, node.attr)
        raise self._refuse(f"the attribute .{node.attr}")

    def visit_Call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Attribute):
            raise self._refuse(f"the call {ast.unparse(func)}()")
        if isinstance(func.value, ast.Name) and func.value.id in _NAMESPACES and func.value.id not in self.names:
            allowed = _TORCH if func.value.id == "torch" else _FUNCTIONAL
            if func.attr not in allowed:
                raise self._refuse(f"{func.value.id}.{func.attr}()")
            fn = getattr(_NAMESPACES[func.value.id], func.attr)
        else:
            target = self.visit(func.value)
            if not isinstance(target, torch.Tensor) or func.attr not in _METHODS:
                raise self._refuse(f".{func.attr}()")
            fn = getattr(target, func.attr)
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords if k.arg}
        return fn(*args, **kwargs)
