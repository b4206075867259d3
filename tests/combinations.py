"""Every dtype and every plausible shape over every tensor argument of a valid call, torch run for the truth.

The differential fuzzer (test_differential.py) mutates one thing at a time, so it never combines, say, a
float16 input, a float32 probability target and a float64 class weight — the family where losslint once
predicted a raise that torch does not make. This module enumerates those combinations instead:

- seeds: every rule-file example of torch's own losses that torch accepts as written (functional form
  where the loss has one, else the module);
- dtypes: the product of DTYPES over the call's tensor arguments (positional ones and tensor
  configuration such as `weight` and `pos_weight`);
- shapes: the product of shape_vocabulary() over the same arguments, each tensor rebuilt in its own
  dtype from its own values (cycled), so class indices stay in range and labels stay ±1.

Nothing here is random: the same cases come out on every torch release, which is what lets the version
matrix compare releases. `python tests/combinations.py [--limit N] [LOSS ...]` prints the disagreements.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from examples_runner import build_call, runnable_examples, torch_outcome
from losslint.language.registry import CompiledLoss, builtin_registry

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool]

# Losses with more tensor arguments than this get pairs of arguments varied at a time, not the full
# product (CTC's four tensors would give 20,736 shape combinations).
FULL_PRODUCT_ARGUMENTS = 3

# Examples with large tensors exist for value heuristics (float16 overflow of a mean); their shape
# combinations would broadcast to tens of GB, so they are not seeds here.
MAX_SEED_ELEMENTS = 20_000


@dataclass
class Case:
    loss: CompiledLoss
    example: str
    axis: str  # "dtype" or "shape"
    fn: Any
    args: list[Any]
    kwargs: dict[str, Any]
    steps: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        def summary(v):
            if isinstance(v, torch.Tensor):
                return f"{str(v.dtype).removeprefix('torch.')}{list(v.shape)}"
            return repr(v)

        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        parts = [summary(a) for a in self.args] + [f"{k}={summary(v)}" for k, v in self.kwargs.items()]
        return f"{self.loss.name} ({self.example!r}, {self.axis}): {name}({', '.join(parts)})"


def torch_losses(registry=None) -> list[CompiledLoss]:
    """torch's own losses that the installed release has."""
    registry = registry or builtin_registry()
    return [loss for loss in registry.losses.values() if loss.library == "torch" and loss.installed]


def seeds(limit_losses: set[str] | None = None, registry=None) -> Iterator[tuple[CompiledLoss, Any, Any, list[Any], dict[str, Any]]]:
    """(loss, example, fn, positional args, keyword config) of every valid example of torch's losses."""
    for loss in torch_losses(registry):
        if limit_losses and loss.name not in limit_losses:
            continue
        for example in runnable_examples(loss):
            if example.expect or example.form == "module" and loss.module is None:
                continue
            args, config = build_call(loss, example)
            if loss.functional is not None and example.form in ("both", "functional"):
                fn = loss.functional
                positional = [args[a] for a in loss.arguments if a in args]
                kwargs = dict(config)
            elif loss.module is not None and example.form in ("both", "module"):
                try:
                    fn = loss.module(**config)
                except Exception:  # noqa: BLE001
                    continue
                canonical = [a for a in loss.arguments if a not in loss.from_module]
                positional = [args[f] if f in args else args[c] for f, c in zip(loss.forward, canonical) if f in args or c in args]
                kwargs = {}
            else:
                continue
            raised, _ = torch_outcome(fn, positional, kwargs)
            if not raised:
                yield loss, example, fn, positional, kwargs
                if fn is loss.functional:
                    yield from _with_tensor_config(loss, example, fn, positional, kwargs)


def _with_tensor_config(loss, example, fn, positional, kwargs):
    """The same call with each optional tensor (class `weight`, `pos_weight`, `linear_bias`) it lacks,
    in the first plausible shape that torch accepts: weights are where dtype mixes bite."""
    first = next((a for a in positional if isinstance(a, torch.Tensor)), None)
    if first is None:
        return
    shape = tuple(first.shape)
    candidates = [shape[1:2] or shape[:1], shape[-1:], shape, shape[:1]]
    dtype = first.dtype if first.is_floating_point() else torch.float32
    for name, rule in loss.config.items():
        if rule.type != "tensor" or isinstance(kwargs.get(name), torch.Tensor):
            continue
        for candidate in dict.fromkeys(candidates):
            trial = dict(kwargs, **{name: torch.linspace(0.5, 2.0, max(1, _numel(candidate)), dtype=dtype).reshape(candidate)})
            if not torch_outcome(fn, positional, trial)[0]:
                yield loss, example, fn, positional, trial
                break


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def _tensor_slots(args: list[Any], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
    """(position or keyword, tensor) for every tensor argument; a module's own tensors are not varied."""
    slots = [(i, a) for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
    slots += [(k, v) for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
    return slots


def _replace(args: list[Any], kwargs: dict[str, Any], slot, value) -> None:
    if isinstance(slot, int):
        args[slot] = value
    else:
        kwargs[slot] = value


def shape_vocabulary(args: list[Any]) -> list[tuple[int, ...]]:
    """The shapes people pass by mistake, in the sizes of this call: N from the first tensor's batch,
    C from its class dimension."""
    first = next((a for a in args if isinstance(a, torch.Tensor)), None)
    shape = tuple(first.shape) if first is not None else ()
    n = shape[0] if len(shape) >= 2 else 4
    c = shape[1] if len(shape) >= 2 else (shape[0] if len(shape) == 1 else 3)
    if c == n:
        c = n + 1
    shapes = [(n,), (n, 1), (1, n), (n, c), (c, n), (c,), (), (1,), (n, c, 1), (0,), (0, c), (n, c, 2)]
    return list(dict.fromkeys(shapes))


def reshaped(t: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A tensor of `shape` in t's dtype, holding t's values cycled (so their kind is kept)."""
    flat = t.detach().reshape(-1)
    count = 1
    for d in shape:
        count *= d
    if flat.numel() == 0:
        return torch.zeros(shape, dtype=t.dtype)
    return flat[torch.arange(count) % flat.numel()].reshape(shape).clone()


def _structure(fn, args: list[Any], kwargs: dict[str, Any], axis: str) -> tuple:
    """What the enumeration of one axis starts from: the callee, where the tensors are (and, for the
    dtype axis, their ndim), and the other configuration. The axis replaces each tensor's dtype (or
    shape), so seeds that differ only there, or in their values, give the same cases."""
    def part(v):
        if isinstance(v, torch.Tensor):
            return ("tensor", v.ndim) if axis == "dtype" else "tensor"
        return repr(v)

    callee = type(fn) if isinstance(fn, torch.nn.Module) else id(fn)
    return (axis, callee, tuple(part(a) for a in args), tuple(sorted((k, part(v)) for k, v in kwargs.items())))


def cases(limit_losses: set[str] | None = None, registry=None, axes: set[str] = frozenset({"dtype", "shape"})) -> Iterator[Case]:
    seen: set[tuple] = set()
    for loss, example, fn, args, kwargs in seeds(limit_losses, registry):
        slots = _tensor_slots(args, kwargs)
        if not slots or any(t.numel() > MAX_SEED_ELEMENTS for _, t in slots):
            continue
        axes_here = {a for a in axes if _structure(fn, args, kwargs, a) not in seen}
        seen.update(_structure(fn, args, kwargs, a) for a in axes_here)
        # dtypes: the full product over every tensor argument (over every three of them for losses with
        # four or more: a half input, a float target and a double weight is the widest mix that matters).
        dtype_groups = [slots] if len(slots) <= FULL_PRODUCT_ARGUMENTS else list(itertools.combinations(slots, 3))
        for group in dtype_groups if "dtype" in axes_here else []:
            for dtypes in itertools.product(DTYPES, repeat=len(group)):
                a, k = list(args), dict(kwargs)
                for (slot, t), dt in zip(group, dtypes):
                    _replace(a, k, slot, t.to(dt))
                yield Case(loss, example.name, "dtype", fn, a, k, tuple(str(d).removeprefix("torch.") for d in dtypes))
        # shapes: the full product, or pairs of arguments at a time for losses with many tensors.
        vocabulary = shape_vocabulary(args)
        groups = [slots] if len(slots) <= FULL_PRODUCT_ARGUMENTS else list(itertools.combinations(slots, 2))
        if "shape" not in axes_here:
            groups = []
        for group in groups:
            for shapes in itertools.product(vocabulary, repeat=len(group)):
                a, k = list(args), dict(kwargs)
                for (slot, t), shape in zip(group, shapes):
                    _replace(a, k, slot, reshaped(t, shape))
                yield Case(loss, example.name, "shape", fn, a, k, tuple(str(list(s)) for s in shapes))


def judge(case: Case) -> str | None:
    """None when losslint's torch_raises equals torch's behaviour (and losslint did not crash), else why."""
    import losslint

    report = losslint.check(case.fn, *case.args, **case.kwargs)
    if "LL000" in report.codes:
        return f"losslint crashed on {case.describe()}\n{report}"
    raised, error = torch_outcome(case.fn, case.args, case.kwargs)
    if report.torch_raises == raised:
        return None
    verdict = "missed raise" if raised else "false raise"
    return f"{verdict}: {case.describe()}\n  torch: {error or 'accepted'}\n" + "\n".join(
        f"  {f.code} torch_raises={f.torch_raises}: {f.message}" for f in report.findings
    )


def main(argv: list[str]) -> int:
    import warnings

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    losses = {a for a in argv if not a.startswith("-")}
    total = bad = 0
    seen: set[str] = set()
    for case in cases(losses or None):
        total += 1
        problem = judge(case)
        if problem:
            bad += 1
            key = problem.splitlines()[0][:160]
            if key not in seen:
                seen.add(key)
                print(problem, flush=True)
    print(f"{total} calls, {bad} disagreements (torch {torch.__version__})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    sys.exit(main(sys.argv[1:]))
