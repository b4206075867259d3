"""docs/ is generated from rules/ and must match it; `losslint explain` renders the same source."""

from __future__ import annotations

import re
from pathlib import Path

from losslint.advice.docs import build_pages, code_text, default_out, loss_text, stale
from losslint.language.spec import load_builtin

ROOT = Path(__file__).resolve().parent.parent


def test_docs_are_up_to_date():
    out = default_out()
    assert out == ROOT / "docs"
    problems = stale(out, build_pages())
    assert not problems, "docs/ is stale; run `python -m losslint.advice.docs`:\n" + "\n".join(problems)


def test_a_page_per_code_and_per_loss():
    codes, rules = load_builtin()
    pages = build_pages()
    assert {p for p in pages if p.startswith("codes/")} == {f"codes/{c}.md" for c in codes}
    assert {p for p in pages if p.startswith("losses/")} == {f"losses/{r.loss.name}.md" for _, r in rules}


def test_every_relative_link_resolves():
    pages = build_pages()
    for relative, content in pages.items():
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", content):
            if "://" in target:
                continue
            resolved = (ROOT / "docs" / relative).parent / target
            assert resolved.exists(), f"{relative} links to {target}, which does not exist"


def test_code_page_has_every_section():
    page = build_pages()["codes/LL301.md"]
    for heading in ("# LL301 `probabilities-passed-as-logits`", "## What it means", "## Why it matters", "## Example", "## Fix"):
        assert heading in page
    # The tested example that produces the code is shown as a call a user would write.
    assert "F.cross_entropy(softmax(" in page


def test_loss_page_states_the_contract():
    page = build_pages()["losses/NLLLoss.md"]
    assert "| `input` | `(N, C, *d)` | floating |  | log-probabilities" in page
    assert "`[0, C) \\| ignore_index`" in page
    assert "# raw logits: LL302\nF.nll_loss(randn(32, 4) * 3, randint(0, 4, (32,)))" in page


def test_explain_text_comes_from_the_same_source():
    codes, rules = load_builtin()
    doc = codes["LL202"]
    text = code_text("LL202", doc)
    for part in (doc.name, doc.example, doc.fix.split()[0]):
        assert part in text
    (nll,) = [r for _, r in rules if r.loss.name == "NLLLoss"]
    assert "input   shape (N, C, *d), floating, log-probabilities" in loss_text(nll)


def test_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/index.md" in readme
