"""Every message that quotes torch quotes the installed torch.

A finding's explanation often says what torch will raise, in torch's own words ("torch raises 'weight
tensor should be defined either for all 5 classes or no classes'"). Torch's messages change between
releases, so a quote copied from one release is wrong on another. For every rule-file example that torch
rejects and that losslint reports with exactly one raising finding (so that it is certain which error the
finding describes), each quoted fragment must appear in the message the installed torch actually raised.
Runs on every release of the matrix (tests/versions.sh).
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from examples_runner import all_examples, build_call

QUOTE = re.compile(r"raises (?:\w+ )?(?:'([^']{12,})'|\"([^\"]{12,})\")")


def _torch_message(fn, args, kwargs) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            return " ".join(str(exc).split())
    return None


def _call(loss, example, form):
    args, config = build_call(loss, example)
    if form == "module":
        try:
            fn = loss.module(**config)
        except Exception:  # noqa: BLE001
            return None
        canonical = [a for a in loss.arguments if a not in loss.from_module]
        return fn, [args[f] if f in args else args[c] for f, c in zip(loss.forward, canonical) if f in args or c in args], {}
    return loss.functional, [args[a] for a in loss.arguments if a in args], config


def _cases():
    for loss, example, form in all_examples():
        if form is not None and example.expect and loss.library == "torch":
            yield pytest.param(loss, example, form, id=f"{loss.name}-{example.name}-{form}".replace(" ", "_"))


def fragments(text: str) -> list[str]:
    """The quoted pieces of torch's words in an explanation ('...' elides, so each side is one piece)."""
    pieces = []
    for match in QUOTE.finditer(text):
        quote = " ".join((match.group(1) or match.group(2)).split())
        pieces += [p.strip(" .") for p in re.split(r"\.\.\.|…", quote) if len(p.strip(" .")) >= 8]
    return pieces


@pytest.mark.parametrize("loss, example, form", list(_cases()))
def test_quotes_are_the_installed_torchs_words(loss, example, form):
    call = _call(loss, example, form)
    if call is None:
        pytest.skip("the module rejects this configuration when it is built")
    fn, args, kwargs = call
    said = _torch_message(fn, args, kwargs)
    if said is None:
        pytest.skip("torch accepts this call")
    report = losslint.check(fn, *args, **kwargs)
    raising = [f for f in report.findings if f.torch_raises]
    if len(raising) != 1:
        pytest.skip(f"{len(raising)} raising findings: which error each one describes is not certain")
    finding = raising[0]
    wrong = [q for q in fragments(f"{finding.explanation} {finding.message}") if q not in said]
    assert not wrong, f"{finding.code} quotes {wrong}, but torch said: {said!r}"


def test_fragments_reads_quotes():
    assert fragments("torch raises 'weight tensor should be defined'.") == ["weight tensor should be defined"]
    assert fragments("torch raises \"argument #2 'target' is out of range\" on the CPU") == ["argument #2 'target' is out of range"]
    assert fragments("raises 'expected scalar type ... but found Float'") == ["expected scalar type", "but found Float"]


ONE_HOT_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint16, torch.uint32, torch.uint64]


@pytest.mark.parametrize("form", ["module", "functional"])
@pytest.mark.parametrize("dtype", ONE_HOT_DTYPES, ids=str)
def test_one_hot_integer_target_quotes_torchs_dtype(dtype, form):
    """LL202 on an integer one-hot target quotes torch's error for that dtype ("got Bool", "got Byte"),
    not the int64 one ("got Long") for all of them."""
    fn = nn.CrossEntropyLoss() if form == "module" else F.cross_entropy
    args = (torch.randn(4, 3), F.one_hot(torch.tensor([0, 1, 2, 0]), 3).to(dtype))
    said = _torch_message(fn, args, {})
    assert said is not None, f"torch accepts a {dtype} one-hot target"
    (finding,) = [f for f in losslint.check(fn, *args).findings if f.torch_raises]
    assert finding.code == "LL202"
    quoted = fragments(finding.explanation)
    assert quoted, finding.explanation
    assert all(q in said for q in quoted), f"LL202 quotes {quoted}, but torch said: {said!r}"
