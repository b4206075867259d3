"""Hostile inputs, for every loss: check() returns a report, renders it, never raises, never fails
internally, never changes or keeps an input — and where it says torch raises, torch does.

Each loss's first clean rule-file example is the starting call; one argument at a time is replaced by
something hostile: odd dtypes, 0-d, empty, 6-d, expanded, non-contiguous, sparse, nested, subclass,
meta, NaN/inf, requires_grad, and non-tensors.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import losslint
from examples_runner import build_call, runnable_examples, torch_outcome
from losslint.language.registry import builtin_registry

REGISTRY = builtin_registry()


def _clean_seed(loss):
    for example in runnable_examples(loss):
        if not example.expect and example.form in ("both", "functional"):
            return example
    return None


SEEDS = [(loss, _clean_seed(loss)) for loss in REGISTRY.losses.values() if loss.functional is not None and _clean_seed(loss)]


class Tagged(torch.Tensor):
    """A tensor subclass, as libraries make them."""


def _hostile(t: torch.Tensor) -> dict[str, object]:
    out: dict[str, object] = {
        "None": None,
        "int": 3,
        "float": 0.5,
        "str": "target",
        "list": t.tolist() if t.numel() < 50 else [1, 2],
        "dict": {"input": t},
        "numpy": t.detach().numpy() if t.dtype not in (torch.bfloat16,) else np.zeros(3),
        "0-d": t.reshape(-1)[0] if t.numel() else torch.tensor(0.0),
        "empty": t[:0] if t.ndim else t.reshape(1)[:0],
        "6-d": t.reshape(*t.shape, *([1] * (6 - t.ndim))) if t.ndim <= 6 else t,
        "expanded": t.reshape(-1)[:1].expand(t.shape) if t.numel() else t,
        "non-contiguous": torch.stack([t, t], dim=-1)[..., 0] if t.ndim else t,
        "meta": t.to("meta"),
        "subclass": t.as_subclass(Tagged),
        "complex": t.to(torch.complex64),
        "bool": t.to(torch.bool),
        "int8": t.to(torch.int8),
        "uint8": t.to(torch.uint8),
        "int32": t.to(torch.int32),
        "half": t.to(torch.float16),
        "bfloat16": t.to(torch.bfloat16),
        "requires_grad": t.detach().double().requires_grad_() if t.is_floating_point() else t.double().requires_grad_(),
    }
    if t.is_floating_point() and t.numel():
        nan = t.clone()
        nan.view(-1)[0] = float("nan")
        inf = t.clone()
        inf.view(-1)[-1] = float("inf")
        out["nan"], out["inf"] = nan, inf
    if t.ndim >= 1 and t.layout == torch.strided:
        out["sparse"] = t.to_sparse()
    if t.ndim >= 1 and t.numel() and t.is_floating_point():
        out["nested"] = torch.nested.nested_tensor([t[0].clone(), t[0].clone()])
    return out


CASES = []
for loss, example in SEEDS:
    args, config = build_call(loss, example)
    for name, value in args.items():
        if isinstance(value, torch.Tensor):
            for kind in _hostile(value):
                CASES.append((loss, example, name, kind))


@pytest.mark.parametrize("loss,example,name,kind", CASES, ids=[f"{l.name}-{n}-{k}" for l, e, n, k in CASES])
def test_hostile_argument(loss, example, name, kind):
    args, config = build_call(loss, example)
    args[name] = _hostile(args[name])[kind]
    positional = [args[n] for n in loss.arguments if n in args]
    snapshot = [a.clone() if isinstance(a, torch.Tensor) and a.layout == torch.strided and a.device.type != "meta" and not a.is_nested else None for a in positional]
    report = losslint.check(loss.functional, *positional, **config)
    assert isinstance(report, losslint.Report)
    assert "LL000" not in report.codes, str(report)
    str(report)
    report.to_dict()
    for before, after in zip(snapshot, positional):
        if before is not None:
            assert torch.equal(before, after) or torch.allclose(before.double(), after.double(), equal_nan=True)
    if kind == "meta":
        return  # torch raises on meta data for value-dependent kernels; nothing to compare
    raised, error = torch_outcome(loss.functional, positional, config)
    assert report.torch_raises == raised, f"{loss.name} `{name}` {kind}: torch {error or 'accepted'}\n{report}"


@pytest.mark.parametrize("loss,example", SEEDS, ids=[l.name for l, e in SEEDS])
def test_nothing_kept_and_no_graph(loss, example):
    args, config = build_call(loss, example)
    for name, value in args.items():
        # Predictions require grad in training; targets come from data (SoftMarginLoss rejects one that does).
        if isinstance(value, torch.Tensor) and value.is_floating_point() and name not in ("target", "targets"):
            args[name] = value.detach().requires_grad_()
    positional = [args[n] for n in loss.arguments if n in args]
    report = losslint.check(loss.functional, *positional, **config)
    assert report.ok, str(report)
    for value in positional:
        if isinstance(value, torch.Tensor):
            assert value.grad is None and value.grad_fn is None
    refs = [weakref.ref(v) for v in positional if isinstance(v, torch.Tensor)]
    del positional, args, value
    gc.collect()
    assert all(r() is None for r in refs), "check() kept an argument alive"


@pytest.mark.parametrize("loss,example", SEEDS, ids=[l.name for l, e in SEEDS])
def test_wrong_argument_counts_and_keywords(loss, example):
    args, config = build_call(loss, example)
    positional = [args[n] for n in loss.arguments if n in args]
    for call_args, call_kwargs in [
        ((), {}),
        (positional[:1], {}),
        (positional + [None] * (len(loss.functional_params) - len(positional)) + [None], {}),
        (positional, {**config, "not_an_argument": 1}),
    ]:
        report = losslint.check(loss.functional, *call_args, **call_kwargs)
        raised, error = torch_outcome(loss.functional, call_args, call_kwargs)
        assert "LL000" not in report.codes, str(report)
        assert report.torch_raises == raised, f"{error}\n{report}"
