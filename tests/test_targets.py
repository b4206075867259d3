"""docs/targets.md: every example on the page runs as written, through torch and through check().

The page is generated (losslint/advice/targets.py) and stale-checked with the rest of docs/ (test_docs.py);
here its code is executed: each loss's minimal example, then each conversion from the usual starting
points, applied to a starting tensor of that kind next to the example's other tensors.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.cli import main
from losslint.advice.docs import build_pages
from losslint.language.spec import load_builtin
from losslint.advice.suggestion import suggest
from losslint.advice.targets import conversion_code, example_code, example_text

from tensor_kinds import pairs

ROOT = Path(__file__).resolve().parent.parent
RULES = [rule for _, rule in load_builtin()[1] if rule.usage is not None]
CONVERSIONS = [(rule, conv) for rule in RULES for conv in rule.usage.conversions]


def _clean(report) -> list:
    return [f for f in report.findings if f.severity != "info"]


def _torch_accepts(module, args) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module(*args)
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"
    return None


def _namespace() -> dict:
    torch.manual_seed(0)
    return {"torch": torch, "nn": nn, "F": F}


def test_every_torch_loss_has_a_row_and_an_example():
    page = build_pages()["targets.md"]
    torch_losses = [rule for _, rule in load_builtin()[1] if (rule.loss.module or "").startswith("torch.nn.")]
    for rule in torch_losses:
        assert rule.usage is not None, f"{rule.loss.name} has no [usage] table"
        assert f"| [{rule.loss.name}](#{rule.loss.name.lower()}) |" in page
        assert example_code(rule).text in page


def test_the_page_blocks_run_as_written():
    page = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == len(RULES)
    for block in blocks:
        exec(block, _namespace())  # noqa: S102 - the page's code, as a reader would run it


@pytest.mark.parametrize("rule", RULES, ids=[r.loss.name for r in RULES])
def test_the_example_is_clean(rule):
    code = example_code(rule)
    names = _namespace()
    for line in code.setup:
        exec(line, names)  # noqa: S102
    module = eval(code.module, names)  # noqa: S307
    args = [names[a] for a in code.arguments]
    assert not _clean(losslint.check(module, *args)), code.text
    assert _torch_accepts(module, args) is None


def _offered_by_suggest(rule) -> bool:
    usage = rule.usage
    others = [a for a in rule.signature.arguments if a not in (usage.prediction, usage.target) and a not in rule.signature.optional]
    return bool(usage.target) and not others and not rule.signature.from_module


_SUGGESTED: dict = {}


def _suggested(pair, task):
    key = (pair[:3], task)
    if key not in _SUGGESTED:
        _SUGGESTED[key] = suggest(pair[3], pair[4], task=task)
    return _SUGGESTED[key]


def _where_suggest_uses(rule, conv):
    """A realistic pair on which suggest() proposes this loss with exactly this conversion: (pair, option)."""
    usage = rule.usage
    for pair in PAIR_TENSORS:
        p_kind, t_kind, _, prediction, _ = pair
        if (p_kind if conv.argument == usage.prediction else t_kind) not in conv.start:
            continue
        filled = conv.code.format(C=prediction.shape[1] if prediction.ndim >= 2 else "C")
        for task in (None, *usage.tasks):
            for option in _suggested(pair, task).converted:
                # Exactly this conversion, or it followed by the squeeze of a (N, 1) head or a dtype change.
                if option.loss == rule.loss.name and option.conversions.get(conv.argument, "").startswith(filled):
                    return pair, option, filled
    return None


def _sigmoid_rows():
    """A multi-label head's sigmoid outputs (rows that do not sum to 1): the probabilities torch.logit undoes.
    The shared pairs' per-class probabilities are softmax rows, which suggest() never sends through torch.logit."""
    from tensor_kinds import C, N, generator

    g = generator("probabilities-multi_hot-sigmoid")
    return ("probabilities", "multi_hot", "sigmoid", torch.sigmoid(torch.randn(N, C, generator=g) * 2), (torch.rand(N, C, generator=g) > 0.7).float())


PAIR_TENSORS = [*pairs(), _sigmoid_rows()]


@pytest.mark.parametrize(("rule", "conv"), CONVERSIONS, ids=[f"{r.loss.name}-{c.argument}-{'-'.join(c.start)}" for r, c in CONVERSIONS])
def test_every_conversion_on_the_page_runs_as_written_and_is_clean(rule, conv):
    """Applied as the page writes it (`input.shape[1]` for the class count) to realistic tensors."""
    usage = rule.usage
    code = example_code(rule)
    names = _namespace()
    if _offered_by_suggest(rule):
        found = _where_suggest_uses(rule, conv)
        assert found is not None, f"suggest() never proposes {conv.code} for {rule.loss.name}: a conversion no realistic tensors need"
        (_, _, _, prediction, target), option, filled = found
        names.update({usage.prediction: prediction, usage.target: target})
        module = eval(option.module, names)  # noqa: S307
        codes = {a: option.conversions.get(a, a) for a in code.arguments}
        codes[conv.argument] = codes[conv.argument].replace(filled, conversion_code(usage, conv), 1)  # as the page writes it
    else:
        # A loss of more than a prediction and a target (CTCLoss, the pair losses): the page's example
        # with the converted argument replaced by a starting point of that kind.
        for line in code.setup:
            exec(line, names)  # noqa: S102
        module = eval(code.module, names)  # noqa: S307
        like = names[conv.argument]
        start = {
            "logits": lambda: torch.randn(like.shape),
            "binary": lambda: (torch.rand(like.shape) > 0.5).long(),
        }[conv.start[0]]
        names[conv.argument] = start()
        codes = {a: a for a in code.arguments}
        codes[conv.argument] = conversion_code(usage, conv)  # as the page writes it
    args = [eval(codes[a], names) for a in code.arguments]  # noqa: S307
    report = losslint.check(module, *args)
    assert not _clean(report), f"{rule.loss.name}: {codes}\n{report}"
    assert _torch_accepts(module, args) is None


def test_explain_shows_the_same_example(capsys):
    (ce,) = [r for r in RULES if r.loss.name == "CrossEntropyLoss"]
    assert main(["explain", "CrossEntropyLoss"]) == 0
    out = capsys.readouterr().out
    assert example_text(ce) in out
    for line in example_code(ce).text.splitlines():
        assert line in out
    assert "target as one-hot rows: target.argmax(dim=1)" in out


def test_readme_links_the_page_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links and links[0] == "docs/targets.md"


def test_readme_opening_shows_real_suggest_output():
    """The README's first example is suggest() on the binary -> multi-class switch; its output is real."""
    import contextlib
    import io

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code, shown = re.search(r"```python\n(.*?)```\s*```text\n(.*?)```", readme, re.S).groups()
    assert "losslint.suggest(" in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102 - the README's code, as a reader would run it
    assert out.getvalue().strip() == shown.strip()


def test_every_conversion_check_writes_on_the_page_runs_is_clean_and_is_what_suggest_applies():
    from losslint.advice.targets import help_line_conversions
    from losslint.evidence.conversion import SITUATIONS

    rows = help_line_conversions()
    assert [r.situation for r in rows] == list(SITUATIONS), "a situation whose finding writes no conversion"
    page = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
    for row in rows:
        s = row.situation
        assert f"| `{row.expression}` |" in page
        names = {"torch": torch, "nn": nn}
        torch.manual_seed(0)
        tensors = {"input": eval(s.input, names), "target": eval(s.target, names)}  # noqa: S307
        module = eval(s.loss, names)  # noqa: S307
        assert row.code in {f.code for f in losslint.check(module, tensors["input"], tensors["target"]).findings}
        converted = dict(tensors)
        converted[row.argument] = eval(row.expression, {**names, **tensors})  # noqa: S307
        args = [converted["input"], converted["target"]]
        assert not _clean(losslint.check(module, *args)), f"{s.you_have}: {row.expression}"
        assert _torch_accepts(module, args) is None
        # suggest() applies the same conversion to the same tensors for that loss.
        calls = [o.call for o in (*suggest(tensors["input"], tensors["target"]).converted,) if o.loss == type(module).__name__]
        assert any(row.expression in call for call in calls), (row.expression, calls)
