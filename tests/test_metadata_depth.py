"""Metadata depth reads no tensor values (so it never syncs a GPU): every rule-file example, with its
tensors moved to the meta device, is judged without touching data, and its shape/dtype verdict is the
same as on the real tensors."""

from __future__ import annotations

import pytest
import torch

import losslint
from examples_runner import all_examples, build_call

CASES = [(l, e) for l, e, f in all_examples() if f == "functional"]


def _meta(value):
    return value.to("meta") if isinstance(value, torch.Tensor) and value.layout == torch.strided else value


@pytest.mark.parametrize("loss,example", CASES, ids=[f"{l.name}-{e.name}".replace(" ", "_") for l, e in CASES])
def test_meta_tensors_at_metadata_depth(loss, example):
    args, config = build_call(loss, example)
    checker = losslint.Checker(depth="metadata")
    positional = [args[n] for n in loss.arguments if n in args]
    real = checker.check(loss.functional, *positional, **config)
    meta_args = [_meta(a) for a in positional]
    meta_config = {k: _meta(v) for k, v in config.items()}
    # A value read on a meta tensor raises; inside check() it would surface as LL000.
    meta = checker.check(loss.functional, *meta_args, **meta_config)
    assert "LL000" not in meta.codes, str(meta)
    # The same metadata verdict, apart from what depends on the device: meta mixes with cpu tensors in
    # the configuration (LL005), and some kernels exist for some dtypes on the CPU only.
    def strip(report):
        return sorted(
            (f.code, f.argument, f.torch_raises)
            for f in report.findings
            if f.code != "LL005" and "on the CPU" not in f.explanation
        )

    assert strip(meta) == strip(real), f"meta:\n{meta}\nreal:\n{real}"
    # At values depth, meta tensors fall back to metadata: nothing to read, nothing fails.
    assert "LL000" not in losslint.check(loss.functional, *meta_args, **meta_config).codes


@pytest.mark.parametrize("depth", ["values", "metadata"])
def test_a_repeated_call_gets_the_same_report(depth):
    """The second identical call is judged from the remembered metadata steps (or verdict): it must say
    exactly what the first said, for every rule-file example."""
    checker = losslint.Checker(depth=depth)
    for loss, example in CASES:
        args, config = build_call(loss, example)
        positional = [args[n] for n in loss.arguments if n in args]
        first = checker.check(loss.functional, *positional, **config)
        again = checker.check(loss.functional, *positional, **config)
        assert again.to_dict() == first.to_dict(), f"{loss.name} {example.name}"


def test_a_replaced_submodule_is_a_new_call_signature():
    """LinearCrossEntropyLoss supplies its own weight: replacing its linear layer must not reuse the
    verdict remembered for the old one."""
    import torch.nn as nn

    loss = nn.LinearCrossEntropyLoss(16, 10)
    x, y = torch.randn(8, 16), torch.randint(0, 10, (8,))
    checker = losslint.Checker()
    assert checker.check(loss, x, y).ok
    loss.linear = nn.Linear(12, 10)
    report = checker.check(loss, x, y)
    assert report.torch_raises and report.codes == ["LL201"]
