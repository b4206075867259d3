"""One configuration for every entry point: `[tool.losslint]` applies to check(), the hooks and watch()
as it does to the CLI and the plugin; arguments override it; a broken file is one clear error.

Also here: silencing a loss that a library calls (watch(ignore=...), a comment on the user's line),
attach() twice, action="stop", and fail_on for action="raise".
"""

from __future__ import annotations

import sys
import textwrap
import traceback
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.evidence import callsite
from losslint.language import sources


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory whose pyproject.toml the test writes; the default registry rereads it."""
    monkeypatch.chdir(tmp_path)
    sources.reset()

    def configure(text: str) -> Path:
        path = tmp_path / "pyproject.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        sources.reset()
        return path

    yield configure
    sources.reset()


def one_hot_call():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=gen)
    return logits, F.one_hot(torch.randint(0, 5, (8,), generator=gen), 5).float()  # LL203 info


def softmax_call():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(32, 5, generator=gen) * 3
    return logits.softmax(dim=1), torch.randint(0, 5, (32,), generator=gen)  # LL301 warning


def test_check_honours_ignore_select_and_severity(project):
    probs, labels = softmax_call()
    assert losslint.check(nn.CrossEntropyLoss(), probs, labels).codes == ["LL301"]
    project('[tool.losslint]\nignore = ["LL3"]\n')
    assert losslint.check(nn.CrossEntropyLoss(), probs, labels).findings == ()
    project('[tool.losslint]\nselect = ["LL4"]\n')
    assert losslint.check(nn.CrossEntropyLoss(), probs, labels).findings == ()
    project('[tool.losslint.severity]\nLL301 = "error"\n')
    [finding] = losslint.check(nn.CrossEntropyLoss(), probs, labels).findings
    assert finding.severity == "error"
    # The Checker's arguments replace the file's values, key by key.
    assert losslint.Checker(severity={}).check(nn.CrossEntropyLoss(), probs, labels).findings[0].severity == "warning"
    project('[tool.losslint]\nignore = ["LL3"]\n')
    assert losslint.Checker(ignore=[]).check(nn.CrossEntropyLoss(), probs, labels).codes == ["LL301"]
    assert losslint.Checker(ignore="LL30").check(nn.CrossEntropyLoss(), probs, labels).codes == []


def test_the_hooks_and_watch_honour_the_file_and_their_arguments(project):
    probs, labels = softmax_call()
    project('[tool.losslint]\nignore = ["LL301"]\n')
    criterion = nn.CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error", losslint.LossLintWarning)  # any finding would fail the test
        with losslint.attach(criterion) as hook:
            criterion(probs, labels)
        with losslint.watch() as w:
            F.cross_entropy(probs, labels)
        other = nn.CrossEntropyLoss()
        handle = other.register_forward_pre_hook(losslint.pre_hook)
        other(probs, labels)
        handle.remove()
    assert hook.reports == [] and hook.calls == 1 and w.reports == [] and w.calls == 1
    # An argument replaces the file's key: ignore=[] brings LL301 back.
    with losslint.attach(nn.CrossEntropyLoss(), action="collect", ignore=[]) as hook:
        hook.module(probs, labels)
    with losslint.watch(action="collect", ignore=[]) as w:
        F.cross_entropy(probs, labels)
    assert [r.codes for r in hook.reports] == [["LL301"]] == [r.codes for r in w.reports]
    with losslint.watch(action="collect", severity={"LL301": "error"}, ignore=[]) as w:
        F.cross_entropy(probs, labels)
    assert w.reports[0].findings[0].severity == "error"


def test_an_unknown_code_in_an_argument_is_a_value_error_at_once():
    with pytest.raises(ValueError, match=r"ignore: 'LL9' is neither a losslint code nor a prefix"):
        losslint.watch(ignore=["LL9"])
    with pytest.raises(ValueError, match=r"fail_on must be 'error' or 'warning'"):
        losslint.attach(nn.CrossEntropyLoss(), fail_on="info")


def _losslint_frames(exc: BaseException) -> list[str]:
    root = str(Path(losslint.__file__).parent)
    return [f.filename for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[tool.losslint\n", r"pyproject.toml: not valid TOML: .*\(at line 1, column 15\)"),
        ('[tool.losslint]\nignore = ["LL9"]\n', r"pyproject.toml → tool.losslint: ignore: 'LL9' is neither"),
        ('[tool.losslint]\nfail-on = "sometimes"\n', r"pyproject.toml → tool.losslint → fail-on: expected 'error' or 'warning'"),
        ('[tool.losslint]\nfail_on = "error"\n', r"→ fail_on: unknown key \(did you mean fail-on\?\)"),
    ],
)
def test_a_broken_file_is_one_clear_error_from_every_entry_point(project, text, message):
    project(text)
    logits, labels = torch.randn(4, 3), torch.randint(0, 3, (4,))
    for enter in (
        lambda: losslint.check(nn.CrossEntropyLoss(), logits, labels),
        lambda: losslint.attach(nn.CrossEntropyLoss()),
        lambda: losslint.watch(),
    ):
        with pytest.raises(losslint.ConfigError, match=message) as info:
            enter()
        assert "\n" not in str(info.value)
        # Raised from the function the user called, not from seven frames inside losslint.
        assert len(_losslint_frames(info.value)) == 1, traceback.format_exception(info.value)
        assert issubclass(losslint.ConfigError, ValueError) and type(info.value).__module__ == "losslint"


LIBRARY = '''\
import torch.nn.functional as F


def train_step(logits, labels):
    # A library computes the loss: a comment here is out of the user's reach.
    return F.cross_entropy(logits, labels)
'''


@pytest.fixture
def library(tmp_path, monkeypatch):
    """A module that counts as an installed library (its folder is one of the library folders)."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "fakelib_losslint.py").write_text(LIBRARY)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(callsite, "_LIBRARY_DIRS", (*callsite._library_dirs(), str(folder) + "/"))
    import fakelib_losslint

    yield fakelib_losslint
    sys.modules.pop("fakelib_losslint", None)


def test_a_comment_on_the_users_line_silences_a_loss_a_library_calls(library):
    probs, labels = softmax_call()
    with losslint.watch(action="collect") as w:
        library.train_step(probs, labels)
    assert [r.codes for r in w.reports] == [["LL301"]]
    # Reported at the user's line, with the library's line that calls the loss as context.
    assert w.reports[0].location == f"tests/test_config_everywhere.py:{test_a_comment_on_the_users_line_silences_a_loss_a_library_calls.__code__.co_firstlineno + 3}"
    assert w.reports[0].context.endswith("fakelib_losslint.py:6")
    with losslint.watch(action="collect") as w:
        library.train_step(probs, labels)  # losslint: ignore[LL301]
    assert w.reports == [] and w.calls == 1
    # Or, where no comment can go (a notebook cell, a callback), by argument.
    with losslint.watch(action="collect", ignore=["LL301"]) as w:
        library.train_step(probs, labels)
    assert w.reports == [] and w.calls == 1


def test_attach_twice_leaves_one_hook():
    probs, labels = softmax_call()
    criterion = nn.CrossEntropyLoss()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = losslint.attach(criterion)
        again = losslint.attach(criterion)
        criterion(probs, labels)
    assert again is first and first.calls == 1
    assert len([w for w in caught if issubclass(w.category, losslint.LossLintWarning)]) == 1
    assert "forward" in criterion.__dict__ and not criterion._forward_pre_hooks
    # Other options replace the earlier hook rather than adding a second one.
    collecting = losslint.attach(criterion, action="collect")
    assert collecting is not first and first._handles == [] and criterion.__dict__["forward"].hook is collecting
    criterion(probs, labels)
    assert (first.calls, collecting.calls) == (1, 1)
    collecting.remove()
    assert "forward" not in criterion.__dict__
    assert losslint.attach(criterion) is not first  # a removed hook is not handed back
    losslint.attach(criterion).remove()


def test_attach_and_the_plain_pre_hook_on_one_module_judge_a_call_once():
    probs, labels = softmax_call()
    for attach_first in (True, False):
        criterion = nn.CrossEntropyLoss()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if attach_first:
                hook = losslint.attach(criterion)
            handle = criterion.register_forward_pre_hook(losslint.pre_hook)
            if not attach_first:
                hook = losslint.attach(criterion)
            criterion(probs, labels)
        assert hook.calls == 1
        assert len([w for w in caught if issubclass(w.category, losslint.LossLintWarning)]) == 1
        hook.remove()
        handle.remove()


def test_stop_raises_where_torch_would_and_records_the_rest_silently():
    probs, labels = softmax_call()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with losslint.watch(action="stop") as w:
            F.cross_entropy(probs, labels)
            with pytest.raises(losslint.LossLintError, match=r"LL401") as info:
                F.cross_entropy(probs, labels + 1)
    assert "stopped this CrossEntropyLoss call before it ran (action='stop')" in "".join(info.value.__notes__)
    assert sorted(sorted(r.codes) for r in w.reports) == [["LL301"], ["LL301", "LL401"]]


def test_fail_on_sets_what_action_raise_stops(project):
    probs, labels = softmax_call()
    with losslint.watch(action="raise") as w:  # default: errors only
        F.cross_entropy(probs, labels)
    assert w.reports[0].codes == ["LL301"]
    with pytest.raises(losslint.LossLintError, match="LL301"):
        with losslint.watch(action="raise", fail_on="warning"):
            F.cross_entropy(probs, labels)
    project('[tool.losslint]\nfail-on = "warning"\n')
    with pytest.raises(losslint.LossLintError, match="LL301"):
        with losslint.watch(action="raise"):
            F.cross_entropy(probs, labels)
