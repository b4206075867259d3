"""docs/targets.md: every loss's input and target on one page, and the example `losslint explain LOSS` shows.

Generated from the rule files' `[usage]` tables (what a loss is for, the kinds it takes, the conversions
from the usual starting points) and their `[[formats]]` (the target's dtype, shape and values), so the
page cannot drift from what `check()` and `suggest()` use. The minimal example of each loss is one of its
tested `[[examples]]`, written out as plain torch code: the rule files' constructor language
(`randn(8, 5)`) becomes the call a user would type (`torch.randn(8, 5)`). tests/test_targets.py runs
every example and every conversion on the page through torch and through `check()`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..evidence import conversion as conversions
from ..language.spec import Conversion, Example, LossRule, Usage
from ..language.vocabulary import PREDICTION_KINDS, TARGET_KINDS, TASKS, prediction_words

# The constructor language's functions (losslint.language.examples) as torch spells them.
_TORCH_NAMES = {
    "one_hot": "F.one_hot",
    "softplus": "F.softplus",
}
_TORCH_MODULE_FUNCTIONS = {
    "randn", "rand", "randint", "zeros", "ones", "empty", "full", "tensor", "arange", "linspace", "eye",
    "softmax", "log_softmax", "sigmoid", "cat", "stack", "where",
}
_CONSTANTS = {"inf": "float('inf')", "nan": "float('nan')"}
_DTYPES = {"float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"}

IMPORTS = "import torch, torch.nn as nn, torch.nn.functional as F"


def python_source(expression: str) -> str:
    """A rule-file tensor expression as plain torch code: `one_hot(randint(0, 5, (8,)), 5)` ->
    `F.one_hot(torch.randint(0, 5, (8,)), 5)`."""

    class Spell(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in _TORCH_NAMES:
                return ast.parse(_TORCH_NAMES[node.id], mode="eval").body
            if node.id in _TORCH_MODULE_FUNCTIONS or node.id in _DTYPES:
                return ast.parse(f"torch.{node.id}", mode="eval").body
            if node.id in _CONSTANTS:
                return ast.parse(_CONSTANTS[node.id], mode="eval").body
            return node

    return ast.unparse(Spell().visit(ast.parse(expression, mode="eval")))


def _module_name(rule: LossRule) -> str:
    qualified = rule.loss.module or rule.loss.name
    return "nn." + qualified.removeprefix("torch.nn.") if qualified.startswith("torch.nn.") else qualified


@dataclass(frozen=True)
class ExampleCode:
    """A loss's minimal example as code: the tensors, the loss module as built, and the call's arguments."""

    setup: tuple[str, ...]  # "input = torch.randn(8, 5)", ...
    module: str  # nn.CrossEntropyLoss()
    arguments: tuple[str, ...]  # the argument names, in the module's forward order

    @property
    def call(self) -> str:
        return f"loss = {self.module}({', '.join(self.arguments)})"

    @property
    def text(self) -> str:
        return "\n".join((IMPORTS, "", *self.setup, self.call))


def usage_example(rule: LossRule) -> Example | None:
    usage = rule.usage
    if usage is None:
        return None
    return next((e for e in rule.examples if e.name == usage.example), None)


def example_code(rule: LossRule) -> ExampleCode | None:
    """The minimal correct call of a loss with a `[usage]` table, as a module call with plain torch code."""
    example = usage_example(rule)
    if example is None:
        return None
    sig = rule.signature
    forward = list(sig.forward) if sig.forward else [sig.names.get(a, a) for a in sig.arguments if a not in sig.from_module]
    canonical = [a for a in sig.arguments if a not in sig.from_module]
    own_to_example = {}
    for own, name in zip(forward, canonical):
        key = own if own in example.args else name
        if key in example.args:
            own_to_example[own] = key
    setup = tuple(f"{own} = {python_source(example.args[key])}" for own, key in own_to_example.items())
    config = []
    for key, value in example.config.items():
        conf = rule.config.get(key)
        config.append(f"{key}={python_source(value) if conf is not None and conf.type == 'tensor' and isinstance(value, str) else repr(value)}")
    return ExampleCode(setup, f"{_module_name(rule)}({', '.join(config)})", tuple(own_to_example))


def conversion_code(usage: Usage, conversion: Conversion) -> str:
    """A conversion as code that runs next to the example: `{C}` is read from the prediction."""
    return conversions.fill(conversion.code, {"C": f"{usage.prediction}.shape[1]"})


# ---- words ---------------------------------------------------------------------------------------


def _kinds(names: list[str], table: dict[str, str]) -> str:
    return " or ".join(table.get(n, n) for n in names)


def _shape(pattern: str | None) -> str:
    from .docs import shape_words

    return shape_words(pattern)


def _format(rule: LossRule, name: str | None):
    return next((f for f in rule.formats if f.name == name), None)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def take_rows(rule: LossRule) -> list[tuple[str, str, str, str]]:
    """(input, target dtype, target shape, target values) for each way the loss is fed."""
    from .docs import dtype_words

    usage = rule.usage
    rows = []
    for take in usage.takes:  # type: ignore[union-attr]
        fmt = _format(rule, take.format)
        pred = fmt.arguments.get(usage.prediction) if fmt is not None else None  # type: ignore[union-attr]
        tgt = fmt.arguments.get(usage.target) if fmt is not None and usage.target else None  # type: ignore[union-attr]
        inputs = " or ".join(prediction_words(k, usage.tasks[0]) for k in take.input)  # type: ignore[union-attr]
        if pred is not None and pred.shape is not None:
            inputs += f", `{_shape(pred.shape)}`"
        if not usage.target:  # type: ignore[union-attr]
            rows.append((inputs, "–", "–", "no target"))
            continue
        dtype = dtype_words(tgt.dtype) if tgt is not None else "any dtype"
        shape = f"`{_shape(tgt.shape)}`" if tgt is not None and tgt.shape is not None else (take.shape or "any shape")
        values = _kinds(take.target, TARGET_KINDS)
        if tgt is not None and tgt.domain:
            values += f", `{tgt.domain}`"
        if take.config:
            values += ", with " + ", ".join(f"`{key}={value!r}`" for key, value in take.config.items())
        rows.append((inputs, dtype, shape, values))
    return rows


def _ordered(rules: list[LossRule]) -> list[LossRule]:
    tasks = list(TASKS)
    with_usage = [r for r in rules if r.usage is not None]
    return sorted(with_usage, key=lambda r: (tasks.index(r.usage.tasks[0]), r.usage.rank_for(r.usage.tasks[0]), r.loss.name))  # type: ignore[union-attr]


# ---- the conversions check() writes ---------------------------------------------------------------


@dataclass(frozen=True)
class HelpLineConversion:
    """A situation of `conversion.SITUATIONS` as check() sees it: its finding, and the conversion its help
    line writes, which suggest() applies on the same tensors."""

    situation: conversions.Situation
    code: str
    argument: str
    expression: str


def help_line_conversions() -> list[HelpLineConversion]:
    """Computed, not written: each situation's call is checked, and the first meaning-preserving
    conversion its finding writes (`conversion.meaning_preserving`, as suggest() reads it) is the row."""
    import torch
    import torch.nn as nn

    from ..judging.engine import check

    rows = []
    for situation in conversions.SITUATIONS:
        names = {"torch": torch, "nn": nn}
        torch.manual_seed(0)
        inp, tgt = eval(situation.input, names), eval(situation.target, names)  # noqa: S307 - the table's own code
        report = check(eval(situation.loss, names), inp, tgt)  # noqa: S307
        for finding in report.findings:
            found = conversions.meaning_preserving(finding.code, finding.argument, finding.message, finding.fix)
            if found:
                rows.append(HelpLineConversion(situation, finding.code, finding.argument, found[0]))
                break
    return rows


def _help_line_section() -> list[str]:
    out = [
        "## Conversions check() writes",
        "",
        "Where the tensors fit a loss after a conversion that keeps their meaning, `check()`'s help line writes it",
        "and `suggest()` applies it to the same tensors, before a conversion of the table above (the rows below are",
        "computed by running `check()` on each call, from `losslint/evidence/conversion.py`):",
        "",
        "| you have | loss | input | target | check() | pass instead |",
        "|---|---|---|---|---|---|",
    ]
    for row in help_line_conversions():
        s = row.situation
        out.append(
            f"| {_md(s.you_have)} | `{s.loss}` | `{_md(s.input)}` | `{_md(s.target)}` | [{row.code}](codes/{row.code}.md) | `{_md(row.expression)}` |"
        )
    out.append("")
    return out


# ---- the page --------------------------------------------------------------------------------------


def targets_page(rules: list[LossRule], header: str) -> str:
    ordered = _ordered(rules)
    out = [header, "# Every loss's input and target, side by side", ""]
    out += [
        "What each loss takes, for switching from one to another (a binary classifier that becomes multi-class,",
        "a regression head that becomes a classifier). Generated from the `[usage]` tables and `[[formats]]` of",
        "`rules/` by `python -m losslint.advice.docs`; `losslint.suggest(prediction, target)` reads the same",
        "tables for your own tensors and proposes the conversions below, checked on them. Every example and every",
        "conversion on this page runs in the test suite through torch and through `check()`, which finds it clean.",
        "",
        "| loss | for | input | target dtype | target shape | target values | the reduction (`'mean'` unless said) |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in ordered:
        usage = rule.usage
        tasks = ", ".join(usage.tasks)  # type: ignore[union-attr]
        for i, (inputs, dtype, shape, values) in enumerate(take_rows(rule)):
            name = f"[{rule.loss.name}](#{rule.loss.name.lower()})" if i == 0 else "″"
            reduction = _md(usage.reduction) if i == 0 else ""  # type: ignore[union-attr]
            out.append(f"| {name} | {tasks if i == 0 else ''} | {_md(inputs)} | {_md(dtype)} | {_md(shape)} | {_md(values)} | {reduction} |")
    out.append("")
    out += _help_line_section()
    for rule in ordered:
        out += loss_section(rule)
    return "\n".join(out)


def loss_section(rule: LossRule) -> list[str]:
    usage = rule.usage
    code = example_code(rule)
    out = [f"## {rule.loss.name}", ""]
    purposes = ", ".join(TASKS[t] for t in usage.tasks)  # type: ignore[union-attr]
    out += [f"{rule.loss.summary} For {purposes}. Contract: [{rule.loss.name}](losses/{rule.loss.name}.md).", ""]
    if usage.note:  # type: ignore[union-attr]
        out += [usage.note[0].upper() + usage.note[1:] + ".", ""]  # type: ignore[union-attr]
    if code is not None:
        out += ["```python", code.text, "```", ""]
    if usage.conversions:  # type: ignore[union-attr]
        out += ["From the usual starting points:", "", "| you have | pass instead |", "|---|---|"]
        for conv in usage.conversions:  # type: ignore[union-attr]
            table = PREDICTION_KINDS if conv.argument == usage.prediction else TARGET_KINDS  # type: ignore[union-attr]
            note = f" — {conv.note}" if conv.note else ""
            out.append(f"| `{conv.argument}` as {_md(_kinds(conv.start, table))} | `{_md(conversion_code(usage, conv))}`{_md(note)} |")  # type: ignore[arg-type]
        out.append("")
    return out


def example_text(rule: LossRule) -> str | None:
    """The same example for `losslint explain LOSS`, with the conversions; None without a [usage] table."""
    code = example_code(rule)
    if code is None:
        return None
    usage = rule.usage
    lines = [
        "used for:",
        *(f"  {TASKS[t]}" for t in usage.tasks),  # type: ignore[union-attr]
        "reduction:",
        f"  {usage.reduction}",  # type: ignore[union-attr]
        "",
        "example (runs as written; docs/targets.md has every loss side by side):",
    ]
    lines += [f"    {line}" if line else "" for line in code.text.splitlines()]
    if usage.conversions:  # type: ignore[union-attr]
        lines += ["", "from the usual starting points:"]
        for conv in usage.conversions:  # type: ignore[union-attr]
            table = PREDICTION_KINDS if conv.argument == usage.prediction else TARGET_KINDS  # type: ignore[union-attr]
            lines.append(f"  {conv.argument} as {_kinds(conv.start, table)}: {conversion_code(usage, conv)}")  # type: ignore[arg-type]
    return "\n".join(lines)
