"""What depends on the torch release: the probes in losslint/language/releases.py, and what they switch.

Each test states the fact both ways, so that it holds (and can fail) on every release of the matrix
(tests/versions.sh): the probe's answer is compared with what torch does with a realistic call, and
losslint's verdict with the probe.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import losslint
from losslint.language import releases
from losslint.cli import main
from losslint.language.registry import builtin_registry, registry_with

ROOT = Path(__file__).resolve().parent.parent


def _raises(call) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except Exception:  # noqa: BLE001
            return True
    return False


@pytest.mark.parametrize("name", sorted(releases.BEHAVIOURS))
def test_every_behaviour_answers_and_documents_itself(name):
    behaviour = releases.BEHAVIOURS[name]
    assert isinstance(releases.holds(name), bool)
    assert behaviour.question.endswith("?") and behaviour.history


def test_only_releases_py_names_a_torch_release():
    """Nothing else in losslint/ names a torch release: what differs is recorded in one place."""
    pattern = re.compile(r"torch 2\.\d|2\.\d+ → 2\.|in 2\.(?:[4-9]|1[0-9])\b|from 2\.(?:[4-9]|1[0-9])\b|up to 2\.")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "losslint").rglob("*.py"))
        if path.name != "releases.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "torch" in line.lower() and pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_unbatched_1_target_follows_the_installed_torch():
    logp = torch.randn(5).log_softmax(0)
    target = torch.tensor([1])
    torch_raised = _raises(lambda: F.nll_loss(logp, target))
    assert releases.holds("unbatched_target_1") == (not torch_raised)
    assert losslint.check(F.nll_loss, logp, target).torch_raises == torch_raised
    assert losslint.check(F.cross_entropy, torch.randn(5), target).torch_raises == _raises(lambda: F.cross_entropy(torch.randn(5), target))


def test_weight_keyword_of_regression_functionals():
    x, y, w = torch.randn(4, 3), torch.randn(4, 3), torch.rand(4, 3)
    for fn, name in ((F.mse_loss, "mse_loss_weight"), (F.l1_loss, "l1_loss_weight"), (F.huber_loss, "huber_loss_weight")):
        torch_raised = _raises(lambda: fn(x, y, weight=w))
        assert releases.holds(name) == (not torch_raised)
        report = losslint.check(fn, x, y, weight=w)
        assert report.torch_raises == torch_raised, str(report)


def test_gaussian_var_rules():
    x = torch.randn(4, 3)
    for var in (0.5, torch.ones(1, 3), torch.ones(4, 1), torch.ones(4)):
        torch_raised = _raises(lambda: F.gaussian_nll_loss(x, x, var))
        report = losslint.check(F.gaussian_nll_loss, x, x, var)
        assert report.torch_raises == torch_raised, f"var {var if isinstance(var, float) else tuple(var.shape)}\n{report}"


def test_bfloat16_mse_on_the_cpu():
    x = torch.randn(8).bfloat16()
    torch_raised = _raises(lambda: F.mse_loss(x, x))
    assert releases.cpu_kernel_accepts("mse_loss", torch.bfloat16) == (not torch_raised)
    assert losslint.check(F.mse_loss, x, x).torch_raises == torch_raised


def test_adaptive_softmax_int32_targets():
    module = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])
    x, t = torch.randn(6, 8), torch.randint(0, 10, (6,), dtype=torch.int32)
    torch_raised = _raises(lambda: module(x, t))
    assert releases.holds("adaptive_int32_target") == (not torch_raised)
    assert losslint.check(module, x, t).torch_raises == torch_raised


def test_a_loss_this_torch_lacks_is_unknown_and_says_which_release_adds_it(tmp_path):
    (tmp_path / "future.toml").write_text(
        '[loss]\nname = "FutureLoss"\nmodule = "torch.nn.FutureLoss"\nfunctional = "torch.nn.functional.future_loss"\n'
        'added_in = "9.1"\nsummary = "a loss of a later torch"\n\n[signature]\narguments = ["input", "target"]\n\n'
        '[[formats]]\nname = "any"\ndescription = "anything"\n[formats.arguments.input]\n[formats.arguments.target]\n'
    )
    registry = registry_with([tmp_path])
    with pytest.raises(losslint.UnknownLossError, match=rf"FutureLoss is not in torch {re.escape(releases.version())} \(added in 9\.1\)"):
        losslint.Checker(registry=registry).check("FutureLoss", torch.randn(2), torch.randn(2))


def test_linear_cross_entropy_is_offered_exactly_where_torch_has_it(capsys):
    has_it = hasattr(torch.nn, "LinearCrossEntropyLoss")
    assert builtin_registry().losses["LinearCrossEntropyLoss"].installed == has_it
    main(["rules"])
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("LinearCrossEntropyLoss"))
    assert ("not in torch" in line) == (not has_it), line
    if has_it:
        assert losslint.check("linear_cross_entropy", torch.randn(4, 8), torch.randn(5, 8), torch.randint(0, 5, (4,))).ok
    else:
        with pytest.raises(losslint.UnknownLossError, match=r"not in torch .* \(added in 2\.13\)"):
            losslint.check("linear_cross_entropy", torch.randn(4, 8), torch.randn(5, 8), torch.randint(0, 5, (4,)))


def test_each_probe_runs_once_per_process():
    name = sorted(releases.BEHAVIOURS)[0]
    releases.holds(name)
    before = releases.holds.cache_info()
    releases.holds(name)
    after = releases.holds.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_unbatched_1_target_in_training_follows_the_installed_torch():
    """A (1,) target for a (C,) input that requires grad: the forward takes it from 2.9, the backward
    raises on the releases measured; torch_raises covers the training step (forward and backward)."""
    for fn, prepare in ((F.nll_loss, lambda x: x.log_softmax(0)), (F.cross_entropy, lambda x: x)):
        x = torch.randn(5, requires_grad=True)
        target = torch.tensor([1])
        torch_raised = _raises(lambda: fn(prepare(x), target).backward())
        assert losslint.check(fn, prepare(x), target).torch_raises == torch_raised
        # Without a gradient only the forward runs.
        with torch.no_grad():
            assert losslint.check(fn, prepare(x), target).torch_raises == _raises(lambda: fn(prepare(x), target))
    assert releases.holds("unbatched_target_1_backward") == (
        not releases.holds("unbatched_target_1") or not _raises(lambda: F.nll_loss(torch.zeros(2, requires_grad=True), torch.tensor([1])).backward())
    )
