"""Runs one rule-file example through torch and through losslint (shared by the example tests)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch

import losslint
from losslint.language import releases
from losslint.language.examples import build
from losslint.language.registry import CompiledLoss, builtin_registry


@dataclass
class Outcome:
    report: losslint.Report
    torch_raised: bool
    torch_error: str


def example_calls(loss: CompiledLoss, example) -> list[str]:
    """The forms to run; a third-party rule's forms only where its library is installed (`loss.load()`)."""
    forms = ["module", "functional"] if example.form == "both" else [example.form]
    return [f for f in forms if (loss.module if f == "module" else loss.functional) is not None]


def build_call(loss: CompiledLoss, example, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    gen = torch.Generator().manual_seed(seed)
    args = {name: build(src, gen) for name, src in example.args.items()}
    config = {}
    for name, value in example.config.items():
        rule = loss.config.get(name)
        config[name] = build(value, gen) if rule is not None and rule.type == "tensor" and isinstance(value, str) else value
    return args, config


def run_example(loss: CompiledLoss, example, form: str, seed: int = 0, registry=None) -> Outcome | None:
    """None when the module cannot even be constructed with this configuration (see the caller)."""
    args, config = build_call(loss, example, seed)
    if form == "module":
        try:
            module = loss.module(**config)
        except Exception:  # noqa: BLE001
            return None
        # Examples may name the arguments as the functional does (`input`) or as forward does (`input_`).
        canonical = [a for a in loss.arguments if a not in loss.from_module]
        positional = [args[f] if f in args else args[c] for f, c in zip(loss.forward, canonical) if f in args or c in args]
        target, call_args, call_kwargs = module, positional, {}
    else:
        positional = [args[a] for a in loss.arguments if a in args]
        target, call_args, call_kwargs = loss.functional, positional, config
    snapshot = [a.clone() if isinstance(a, torch.Tensor) and a.layout == torch.strided else a for a in call_args]
    report = losslint.Checker(registry=registry).check(target, *call_args, **call_kwargs)
    for before, after in zip(snapshot, call_args):
        if isinstance(before, torch.Tensor) and before.layout == torch.strided:
            assert torch.equal(before, after) or (before.isnan().any() and torch.allclose(before, after, equal_nan=True)), "check() changed an input"
    raised, message = torch_outcome(target, call_args, call_kwargs)
    return Outcome(report, raised, message)


def torch_outcome(fn, args, kwargs) -> tuple[bool, str]:
    """Run the real loss: (whether it raised, "ExcType: message"). Its own warnings are not the point.

    Where the result requires grad, its backward runs too (torch.autograd.grad: no .grad is written): a
    training step calls it, and a loss whose backward rejects the arguments (HuberLoss on two floating
    dtypes) is a call torch rejects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            return True, f"{type(exc).__name__}: {str(exc)[:200]}"
        if isinstance(out, torch.Tensor) and out.requires_grad and out.is_floating_point():
            leaves = [v for v in [*args, *kwargs.values()] if isinstance(v, torch.Tensor) and v.requires_grad and v.is_leaf]
            if isinstance(fn, torch.nn.Module):
                leaves += [p for p in fn.parameters() if p.requires_grad]
            try:
                if leaves:
                    torch.autograd.grad(out, leaves, torch.ones_like(out), allow_unused=True)
            except Exception as exc:  # noqa: BLE001
                return True, f"backward: {type(exc).__name__}: {str(exc)[:200]}"
    return False, ""


def applies(example) -> bool:
    """Whether the installed torch behaves as the example assumes (its `when`, see losslint/language/releases.py)."""
    return all(releases.condition_holds(c) for c in example.when)


def runnable_examples(loss: CompiledLoss):
    """The loss's examples that apply to the installed torch release."""
    return [e for e in loss.rule.examples if applies(e)]


def all_examples(registry=None):
    """(loss, example, form) for every example of every rule, torch's and the other libraries'.

    A library's rules are loaded (its module imported) here, as a user who calls its loss has; a rule
    whose library is not installed yields (loss, example, None), for the test to skip.
    """
    registry = registry or builtin_registry()
    for loss in registry.losses.values():
        if loss.installed:
            loss.load()
        for example in runnable_examples(loss):
            forms = example_calls(loss, example) if loss.installed else [None]
            for form in forms:
                yield loss, example, form
