"""How reports look where people read them: a REPL (repr), IPython (pretty text), Jupyter (HTML).

The notebook test runs a real kernel (ipykernel, driven by nbclient) on a notebook built here, so what
is checked is what Jupyter receives, not what our functions return. The `integration` extra installs
ipykernel, nbclient and nbformat; without them those tests skip (CI sets LOSSLINT_REQUIRE_INTEGRATION).
"""

from __future__ import annotations

import os
from html.parser import HTMLParser

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint


def _need(module: str):
    try:
        return pytest.importorskip(module)
    except pytest.skip.Exception:
        if os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):
            pytest.fail(f"{module} is required here (LOSSLINT_REQUIRE_INTEGRATION is set)")
        raise


def one_hot_report():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=gen)
    return losslint.check(nn.CrossEntropyLoss(), logits, F.one_hot(torch.randint(0, 5, (8,), generator=gen), 5))


def test_repr_is_one_line_that_names_the_problem():
    report = one_hot_report()
    assert repr(report) == (
        "<Report CrossEntropyLoss: 1 error [LL202], torch will reject this call; print() it for the details>"
    )
    assert repr(report.findings[0]).startswith("<Finding error[LL202] CrossEntropyLoss: `target` looks one-hot")
    assert "\n" not in repr(report.findings[0])
    clean = losslint.check(nn.CrossEntropyLoss(), torch.randn(8, 5), torch.randint(0, 5, (8,)))
    assert repr(clean) == "<Report CrossEntropyLoss: no problems found>"
    # print() still gives the full rendering, for reports and findings alike.
    fix = report.findings[0].fix
    assert str(report).startswith("error[LL202] CrossEntropyLoss:") and f"help: {fix}" in str(report)
    assert f"help: {fix}" in str(report.findings[0])


def test_a_report_has_no_truth_value():
    # `if losslint.check(...):` means "found something" to some readers and "all fine" to others.
    report = one_hot_report()
    with pytest.raises(TypeError, match=r"report\.ok \(no errors\), report\.findings"):
        bool(report)
    with pytest.raises(TypeError):
        if losslint.check(nn.CrossEntropyLoss(), torch.randn(8, 5), torch.randint(0, 5, (8,))):
            pass
    assert report.ok is False and report.findings


class _Tags(HTMLParser):
    """Whether the HTML is well formed (every tag closed in order), and its text."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.code: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        self.text.append(data)
        if self.stack and self.stack[-1] == "code":
            self.code.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    return parser


def test_html_is_well_formed_escaped_and_carries_the_fix_as_code():
    report = one_hot_report()
    html = report._repr_html_()
    parsed = _parse(html)
    assert parsed.code == [report.findings[0].fix]  # the help line, as code
    assert "background: #c62828" in html  # errors in red
    text = "".join(parsed.text)
    assert "error[LL202]" in text and "CrossEntropyLoss: 1 error — torch will reject this call" in text
    # Text from the report is escaped: a message with markup shows as text, it does not become markup.
    finding = losslint.Finding("LL999", "x", "warning", False, "Loss", "input", "<b>bold</b> & co", "why", "a < b")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in finding._repr_html_() and "<b>bold</b>" not in finding._repr_html_()
    assert "background: #b26a00" in finding._repr_html_()  # warnings in amber


def test_ipython_display_formatter_gives_text_and_html():
    _need("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    report = one_hot_report()
    data, _ = shell.display_formatter.format(report)
    assert data["text/plain"] == str(report)  # IPython's plain display is the full text, not the repr
    assert data["text/html"] == report._repr_html_()
    data, _ = shell.display_formatter.format(report.findings[0])
    assert data["text/plain"] == str(report.findings[0])


NOTEBOOK_CELLS = [
    "import torch, torch.nn as nn, torch.nn.functional as F\nimport losslint\n"
    "gen = torch.Generator().manual_seed(0)\nlogits = torch.randn(8, 5, generator=gen)\n"
    "labels = torch.randint(0, 5, (8,), generator=gen)",
    "losslint.check(nn.NLLLoss(), F.softmax(logits, dim=1), labels)",
    "losslint.check(nn.CrossEntropyLoss(), logits, labels)",
]


def test_a_notebook_kernel_renders_reports_as_html(tmp_path):
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    # The kernel is this interpreter, with the checkout importable (as the tests see it).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    os.environ["PYTHONPATH"], saved = env_path, os.environ.get("PYTHONPATH")
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    outputs = [cell.outputs for cell in notebook.cells]
    [warned] = [o for o in outputs[1] if o.output_type == "execute_result"]
    html, text = warned.data["text/html"], warned.data["text/plain"]
    parsed = _parse(html)
    assert "warning[LL303]" in "".join(parsed.text) and "background: #b26a00" in html
    assert len(parsed.code) == 1 and "F.log_softmax(logits, dim=1)" in parsed.code[0]
    assert text.startswith("warning[LL303] NLLLoss: `input` holds probabilities")
    [clean] = [o for o in outputs[2] if o.output_type == "execute_result"]
    assert clean.data["text/plain"] == "CrossEntropyLoss: no problems found"
    assert "no problems found" in clean.data["text/html"]
    # Nothing else came out of the kernel: no warnings on stderr, no errors.
    assert not [o for cell in outputs for o in cell if o.output_type in ("stream", "error")], outputs
