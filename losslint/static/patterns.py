"""What a loss call's arguments, seen in the source, must not be: each pattern maps to the code the
runtime uses for the same mistake (rules/codes.toml), so one code and one page explain both.

Patterns judge what `flow` made certain. They say nothing about an unknown value; they also leave alone
what is right: log_softmax into NLLLoss, sigmoid into BCELoss, raw scores into BCEWithLogitsLoss, and a
negated NLL of probabilities (`-F.nll_loss(probs, y)`, which picks probabilities on purpose).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .flow import Tensor, Value, Where


@dataclass(frozen=True)
class Hit:
    """One pattern matched: the code, the node it is reported at, what was seen, and the fix."""

    code: str
    node: ast.AST
    loss: str
    argument: str
    message: str
    fix: str


@dataclass(frozen=True)
class Pattern:
    """A pattern as the docs list it: the code, and what in the source produces it."""

    code: str
    loss: str
    shape: str


# The docs pages of the codes list these (losslint/docs.py); tests/test_lint.py has a case for each.
PATTERNS = (
    Pattern("LL301", "CrossEntropyLoss", "softmax output as `input`: `F.softmax`, `torch.softmax`, `.softmax()`, "
            "an `nn.Softmax` last layer of an `nn.Sequential` or a model whose `forward` returns a softmax"),
    Pattern("LL307", "CrossEntropyLoss", "log_softmax output as `input` (info: redundant, not wrong)"),
    Pattern("LL303", "NLLLoss", "softmax output as `input` (not negated: `-F.nll_loss(probs, y)` is left alone)"),
    Pattern("LL303", "KLDivLoss", "softmax output as `input`, which must be log-probabilities"),
    Pattern("LL302", "NLLLoss", "raw scores as `input`: a linear layer's output, no log_softmax"),
    Pattern("LL305", "BCEWithLogitsLoss", "sigmoid output as `input`"),
    Pattern("LL308", "BCELoss", "raw scores as `input`: a linear layer's output, no sigmoid"),
    Pattern("LL202", "CrossEntropyLoss, NLLLoss", "`F.one_hot(...)` as `target` without a float conversion"),
    Pattern("LL501", "KLDivLoss", "`nn.KLDivLoss()` or `F.kl_div(...)` without `reduction=\"batchmean\"`"),
    Pattern("LL504", "every loss", "`size_average=`, `reduce=` or `reduction=\"elementwise_mean\"`"),
    Pattern("LL107", "BCELoss", "`nn.BCELoss` or `F.binary_cross_entropy` called inside `torch.autocast(\"cuda\")` "
            "or `torch.cuda.amp.autocast()`"),
)

# Codes only the source shows today: a file that cannot be read, and BCE under CUDA autocast (the
# runtime checks do not yet judge calls by the autocast region around them).
STATIC_ONLY = {"LL008"}

_FIXES = {
    "LL301": "drop the softmax and pass the logits; apply softmax only where probabilities are needed (inference, metrics)",
    "LL307": "pass the logits (or keep log_softmax and use NLLLoss)",
    "LL303": "use F.log_softmax instead of softmax (or CrossEntropyLoss on the logits)",
    "LL302": "apply F.log_softmax(x, dim=1) first, or use CrossEntropyLoss on the logits",
    "LL305": "pass the raw logits (drop the sigmoid), or use BCELoss on the probabilities",
    "LL308": "use BCEWithLogitsLoss on the logits (numerically stable), or apply torch.sigmoid first",
    "LL202": "pass the class indices themselves (or target.argmax(dim=1)); F.one_hot(...).float() only when soft labels are meant",
    "LL501": "reduction='batchmean'",
    "LL107": "use nn.BCEWithLogitsLoss on the logits (drop the sigmoid), or compute the loss after the autocast block on input.float()",
}

_WHAT = {"softmax": "softmax output", "log_softmax": "log_softmax output", "sigmoid": "sigmoid output",
         "raw": "raw scores", "one_hot": "an integer one-hot tensor"}

# loss -> {kind of input -> (code, what it should be)}
_INPUT = {
    "CrossEntropyLoss": {"softmax": ("LL301", "raw logits: CrossEntropyLoss applies log_softmax itself"),
                         "log_softmax": ("LL307", "raw logits: CrossEntropyLoss applies log_softmax itself")},
    "NLLLoss": {"softmax": ("LL303", "log-probabilities (log_softmax)"),
                "raw": ("LL302", "log-probabilities: NLLLoss does not normalize")},
    "KLDivLoss": {"softmax": ("LL303", "log-probabilities (log_softmax)")},
    "BCEWithLogitsLoss": {"sigmoid": ("LL305", "raw logits: BCEWithLogitsLoss applies the sigmoid itself")},
    "BCELoss": {"raw": ("LL308", "probabilities in [0, 1] (sigmoid output)")},
}
_DEPRECATED = ("size_average", "reduce")


def called(loss: str, node: ast.Call, args: dict[str, Value], where: Where, functional: bool) -> list[Hit]:
    hits: list[Hit] = []
    given = args.get("input")
    if isinstance(given, Tensor) and not where.negated:
        rule = _INPUT.get(loss, {}).get(given.kind)
        if rule is not None:
            code, expected = rule
            hits.append(Hit(code, node, loss, "input",
                            f"static: `input` is {_WHAT[given.kind]} ({given.origin}), expected {expected}", _FIXES[code]))
    target = args.get("target")
    if loss in ("CrossEntropyLoss", "NLLLoss") and isinstance(target, Tensor) and target.kind == "one_hot":
        hits.append(Hit("LL202", node, loss, "target",
                        f"static: `target` is an integer one-hot tensor ({target.origin}), expected class indices",
                        _FIXES["LL202"]))
    if loss == "BCELoss" and where.autocast is not None:
        hits.append(Hit("LL107", node, loss, "input",
                        f"static: `{ast.unparse(node.func)}` is called inside CUDA autocast (the block at line "
                        f"{where.autocast}), where torch raises: binary_cross_entropy is unsafe to autocast",
                        _FIXES["LL107"]))
    if functional:
        hits += constructed(loss, node, functional=True)
    return hits


def constructed(loss: str, node: ast.Call, functional: bool = False) -> list[Hit]:
    """Arguments judged where a loss is configured: a module's constructor, or a functional call."""
    hits = []
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    for name in _DEPRECATED:
        if name in keywords:
            hits.append(Hit("LL504", node, loss, name,
                            f"static: `{name}=` is deprecated, expected `reduction=`",
                            "write the reduction it means: reduction='sum' for size_average=False, 'none' for reduce=False"))
    reduction = keywords.get("reduction")
    if isinstance(reduction, ast.Constant) and reduction.value == "elementwise_mean":
        hits.append(Hit("LL504", node, loss, "reduction", "static: `reduction='elementwise_mean'` is deprecated, expected 'mean'",
                        "reduction='mean'"))
    if loss == "KLDivLoss" and not any(name in keywords for name in _DEPRECATED) and not _has_star(node, functional):
        if reduction is None or (isinstance(reduction, ast.Constant) and reduction.value == "mean"):
            said = "'mean' (the default)" if reduction is None else "'mean'"
            hits.append(Hit("LL501", node, loss, "reduction",
                            f"static: `reduction` is {said}, expected 'batchmean': 'mean' divides by every element, not the batch size",
                            _FIXES["LL501"]))
    return hits


def _has_star(node: ast.Call, functional: bool) -> bool:
    """The reduction may come from `**kwargs`, `*args` or a positional argument: not certain.
    (`nn.KLDivLoss(size_average, reduce, reduction, ...)`, `F.kl_div(input, target, size_average, ...)`.)"""
    positional = len(node.args) - (2 if functional else 0)
    return any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args) or positional > 0
