"""When losslint itself fails inside a hook, the training step still runs, bit-identical, and the
failure is reported as a warning naming losslint: never swallowed, never raised in place of the loss."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

import losslint
from losslint import checks


def train(criterion, steps=4, hook=None):
    torch.manual_seed(0)
    model = nn.Linear(8, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().clone() for p in model.parameters()]


class BrokenChecker(losslint.Checker):
    def check_call(self, *args, **kwargs):
        raise RuntimeError("a bug in losslint")


def _boom(ctx, **params):
    raise RuntimeError("a check that fails")


@pytest.mark.parametrize("how", ["check-fails", "checker-fails"])
@pytest.mark.parametrize("way", ["attach", "watch"])
def test_training_runs_unchanged_and_the_failure_is_a_warning(monkeypatch, how, way):
    plain = train(nn.CrossEntropyLoss())
    checker = BrokenChecker() if how == "checker-fails" else None
    if how == "check-fails":
        monkeypatch.setitem(checks.REGISTRY, "kind_contract", _boom)
    criterion = nn.CrossEntropyLoss()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Findings as errors must not turn losslint's own failure into an exception.
        warnings.filterwarnings("error", category=losslint.LossLintWarning)
        if way == "attach":
            with losslint.attach(criterion, action="auto", checker=checker, policy=losslint.Policy.always()):
                hooked = train(criterion)
        else:
            with losslint.watch(action="auto", checker=checker, policy=losslint.Policy.always()):
                hooked = train(criterion)
    assert hooked[0] == plain[0]
    assert all(torch.equal(a, b) for a, b in zip(hooked[1], plain[1]))
    internal = [w for w in caught if issubclass(w.category, losslint.LossLintInternalWarning)]
    assert internal, [str(w.message) for w in caught]
    assert "losslint" in str(internal[0].message) and "bug in losslint" in str(internal[0].message)
    assert internal[0].filename == __file__  # attributed to the user's line


def _line_of(text: str) -> int:
    """The line number of the last line of this file that ends with `text` (without a comment)."""
    lines = open(__file__).read().splitlines(keepends=True)
    return max(i for i, line in enumerate(lines, 1) if line.endswith(text) and "#" not in line)


def test_inline_suppression_holds_for_the_hooks():
    criterion = nn.CrossEntropyLoss()
    probs, y = torch.softmax(torch.randn(8, 3), 1), torch.randint(0, 3, (8,))
    with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion, action="warn") as hook:
        warnings.simplefilter("always")
        criterion(probs, y)  # losslint: ignore[LL301]
        criterion(probs, y)
    (report,) = hook.reports  # the suppressed line leaves nothing to report
    line = _line_of("criterion(probs, y)\n")
    assert report.codes == ["LL301"] and report.location.endswith(f":{line}")
    assert len([w for w in caught if issubclass(w.category, losslint.LossLintWarning)]) == 1
