"""Mixed precision: every torch loss with a functional form, run in half precision and under CPU autocast.

Each case is a valid rule-file call of a loss (combinations.seeds) with
- every {float32, float16, bfloat16} combination of its floating tensor arguments (float64 is never
  cast by autocast, and combinations.py covers it outside autocast),
- each context: no autocast, `torch.autocast("cpu", dtype=torch.bfloat16)`, the same with float16,
- each reduction the loss takes,
- and, where float16 overflow is the point, a large batch (the call's rows repeated past 65504 terms).

Truth comes from running torch in that context: the forward, then the backward of the input (training
calls a loss on an input that requires grad; a raise in backward is a raise of the call). losslint's
`check()` runs inside the same context, as a hook sees the call in training. A case disagrees when
- `torch_raises` differs from what torch did (forward or backward),
- torch returned NaN or inf from finite arguments and losslint reported no numerical error (LL6xx),
- losslint claimed a float16 overflow (LL607) and torch's result is finite.

`python tests/autocast_matrix.py [LOSS ...]` prints the disagreements and the counts.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

import torch

import combinations
from losslint.language.registry import CompiledLoss

FLOATS = (torch.float32, torch.float16, torch.bfloat16)
CONTEXTS = (None, torch.bfloat16, torch.float16)  # the CPU autocast dtype, None: no autocast
REDUCTIONS = ("mean", "sum", "none")
OVERFLOW = 1.5 * 65504  # a large case's float32 sum passes this: float16's largest value, and a margin
# Bounded losses with wide rows (CosineEmbeddingLoss on 128 features) would need tens of millions of
# elements to pass 65504: they get no large case.
MAX_LARGE_ELEMENTS = 2_000_000
SEEDS_PER_LOSS = 2  # the first valid call, and the first with a tensor configuration (a weight)


@dataclass
class Case:
    loss: CompiledLoss
    fn: Any
    args: list[Any]
    kwargs: dict[str, Any]
    autocast: torch.dtype | None
    size: str  # "small" or "large"

    def context(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=self.autocast)

    def describe(self) -> str:
        def summary(v):
            if isinstance(v, torch.Tensor):
                return f"{str(v.dtype).removeprefix('torch.')}{list(v.shape)}"
            return repr(v)

        parts = [summary(a) for a in self.args] + [f"{k}={summary(v)}" for k, v in self.kwargs.items()]
        where = f"autocast(cpu, {str(self.autocast).removeprefix('torch.')})" if self.autocast else "no autocast"
        return f"{self.loss.name} [{where}, {self.size}]: {self.fn.__name__}({', '.join(parts)})"


def _seeds(limit: set[str] | None) -> Iterator[tuple[CompiledLoss, Any, list[Any], dict[str, Any]]]:
    taken: dict[tuple[str, bool], int] = {}
    for loss, _example, fn, args, kwargs in combinations.seeds(limit):
        if fn is not loss.functional:
            continue
        slots = combinations._tensor_slots(args, kwargs)
        if not any(t.is_floating_point() and t.dtype != torch.float64 for _, t in slots):
            continue
        if any(t.numel() > combinations.MAX_SEED_ELEMENTS for _, t in slots):
            continue
        weighted = any(isinstance(v, torch.Tensor) for v in kwargs.values())
        if taken.get((loss.name, weighted), 0) >= 1:
            continue
        taken[(loss.name, weighted)] = 1
        yield loss, fn, args, kwargs


def _float32(args, kwargs):
    def f(v):
        return v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v

    return [f(a) for a in args], {k: f(v) for k, v in kwargs.items()}


def _large(loss: CompiledLoss, fn, args, kwargs):
    """The call with its batch repeated until its float32 'sum' passes OVERFLOW (just past float16's
    range: the smallest batch where overflow is the point), or None where the rows cannot be repeated
    or the sum does not grow (a margin loss whose margins are all met)."""
    first = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if first is None or first.ndim == 0 or first.numel() == 0 or "reduction" not in loss.config:
        return None
    n = first.shape[0]

    def grow(v, times):
        if isinstance(v, torch.Tensor) and v.ndim and v.shape[0] == n:
            return v.repeat(times, *([1] * (v.ndim - 1)))
        return v

    # Rows first; a loss whose terms are small (TripletMarginLoss's distances on 128 features) gets
    # its floating arguments scaled too, which keeps them finite in float16.
    for scale in (1, 64):
        times = 2
        while times * first.numel() <= MAX_LARGE_ELEMENTS:
            # Targets keep their values (labels stay labels).
            big_args = [grow(a, times) if name == "target" else _scaled(grow(a, times), scale) for name, a in zip(loss.arguments, args)]
            big_kwargs = {k: grow(v, times) for k, v in kwargs.items()}
            a32, k32 = _float32(big_args, big_kwargs)
            raised, _, out = torch_result(fn, a32, dict(k32, reduction="sum"), None)
            if raised or out is None:
                return None
            if float(out.abs().sum()) > OVERFLOW:
                return big_args, big_kwargs
            times *= 2
    return None


def _scaled(v, scale):
    return v * scale if scale != 1 and isinstance(v, torch.Tensor) and v.is_floating_point() else v


def cases(limit: set[str] | None = None) -> Iterator[Case]:
    for loss, fn, args, kwargs in _seeds(limit):
        args, kwargs = _float32(args, kwargs)
        reductions = [r for r in REDUCTIONS if "reduction" in loss.config] or [None]
        large = _large(loss, fn, args, kwargs)
        for size, call in (("small", (args, kwargs)), ("large", large)):
            if call is None:
                continue
            a0, k0 = call
            slots = [(s, t) for s, t in combinations._tensor_slots(a0, k0) if t.is_floating_point()]
            for dtypes in itertools.product(FLOATS, repeat=len(slots)):
                # Large batches are about float16 overflow: only where some argument is float16 (and
                # none bfloat16: promotion to float32 is the other half of the question).
                if size == "large" and (torch.float16 not in dtypes or torch.bfloat16 in dtypes):
                    continue
                a, k = list(a0), dict(k0)
                for (slot, t), dt in zip(slots, dtypes):
                    combinations._replace(a, k, slot, t.to(dt))
                for reduction in reductions:
                    if size == "large" and reduction == "none":
                        continue
                    kw = dict(k) if reduction is None else dict(k, reduction=reduction)
                    for autocast in CONTEXTS:
                        if size == "large" and autocast is torch.bfloat16:
                            continue  # bfloat16 has float32's range: nothing to overflow
                        yield Case(loss, fn, a, kw, autocast, size)


def torch_result(fn, args, kwargs, autocast) -> tuple[bool, str, torch.Tensor | None]:
    """Run the loss as training does: (raised, why, the forward's result). The first floating
    positional argument requires grad and the backward runs; a raise there is the call's raise."""
    grad_slot = next((i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
    args = list(args)
    if grad_slot is not None:
        args[grad_slot] = args[grad_slot].detach().clone().requires_grad_(True)
    ctx = contextlib.nullcontext() if autocast is None else torch.autocast("cpu", dtype=autocast)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with ctx:
                out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            return True, f"forward: {type(exc).__name__}: {str(exc)[:160]}", None
        if isinstance(out, torch.Tensor) and out.requires_grad:
            try:
                out.backward(torch.ones_like(out))
            except Exception as exc:  # noqa: BLE001
                return True, f"backward: {type(exc).__name__}: {str(exc)[:160]}", out.detach()
    return False, "", out.detach() if isinstance(out, torch.Tensor) else None


def _finite_arguments(case: Case) -> bool:
    tensors = [v for v in [*case.args, *case.kwargs.values()] if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def judge(case: Case) -> tuple[str, str] | None:
    """None when losslint agrees with torch, else (kind of disagreement, details)."""
    import losslint

    raised, error, out = torch_result(case.fn, case.args, case.kwargs, case.autocast)
    grad_slot = next((i for i, a in enumerate(case.args) if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
    args = list(case.args)
    if grad_slot is not None:
        args[grad_slot] = args[grad_slot].detach().clone().requires_grad_(True)
    with case.context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = losslint.check(case.fn, *args, **case.kwargs)

    def details(kind):
        findings = "\n".join(f"  {f.code} torch_raises={f.torch_raises}: {f.message}" for f in report.findings)
        result = "raised " + error if raised else f"returned {'finite' if out is None or bool(torch.isfinite(out).all()) else 'non-finite'}"
        return kind, f"{kind}: {case.describe()}\n  torch: {result}\n{findings}"

    if "LL000" in report.codes:
        return details("losslint crashed")
    if report.torch_raises != raised:
        return details("missed raise" if raised else "false raise")
    if raised or out is None:
        return None
    finite = bool(torch.isfinite(out).all())
    numerics = [f for f in report.findings if f.code.startswith("LL6") and f.severity == "error"]
    if not finite and not numerics and _finite_arguments(case):
        return details("non-finite not flagged")
    if finite and "LL607" in report.codes:
        return details("false overflow")
    return None


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    limit = {a for a in argv if not a.startswith("-")} or None
    total = 0
    counts: dict[str, int] = {}
    shown: set[str] = set()
    for case in cases(limit):
        total += 1
        problem = judge(case)
        if problem:
            kind, text = problem
            counts[kind] = counts.get(kind, 0) + 1
            key = text.splitlines()[0][:120]
            if key not in shown and len(shown) < 400:
                shown.add(key)
                print(text, flush=True)
    print(f"{total} calls; " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no disagreements")
          + f" (torch {torch.__version__})")
    return 1 if counts else 0


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    sys.exit(main(sys.argv[1:]))
