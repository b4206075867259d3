"""Differential fuzzing: losslint's `torch_raises` must equal whether torch raised, on mutated calls.

Seeds are every example of every rule file (valid and invalid calls alike); hypothesis applies one to
three mutations — dtypes, shapes (drop, add, transpose, flatten, empty, 0-d), values (one-hot,
shifts, -1, out of range, NaN, inf, softmax/sigmoid/log_softmax) and configuration (every keyword the
loss takes, valid and invalid values, weights of the wrong size) — then runs torch and losslint on
the very same call. A short profile runs in CI; the long one runs by hand:

    LOSSLINT_FUZZ_EXAMPLES=20000 python -m pytest tests/test_differential.py -q
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losslint
from examples_runner import build_call, runnable_examples, torch_outcome
from losslint.language.registry import builtin_registry

EXAMPLES = int(os.environ.get("LOSSLINT_FUZZ_EXAMPLES", "400"))

REGISTRY = builtin_registry()
SEEDS = [
    (loss, example)
    for loss in REGISTRY.losses.values()
    for example in runnable_examples(loss)
    if loss.functional is not None and example.form in ("both", "functional")
]

# CTC on CPU does not range-check labels: out-of-range targets read out of bounds and can crash the
# process (torch 2.13), so value mutations that create out-of-range labels skip it.
NO_RANGE_MUTATIONS = {"CTCLoss"}

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool]


def _mutate_tensor(t: torch.Tensor, how: str, param: int, range_ok: bool) -> torch.Tensor:
    if how == "dtype":
        return t.to(DTYPES[param % len(DTYPES)])
    if how == "unsqueeze":
        return t.unsqueeze(param % (t.ndim + 1))
    if how == "squeeze":
        return t.squeeze()
    if how == "transpose" and t.ndim >= 2:
        return t.transpose(-1, -2)
    if how == "flatten":
        return t.flatten()
    if how == "empty" and t.ndim >= 1:
        return t[:0]
    if how == "zero-d":
        return t.reshape(-1)[0] if t.numel() else t.sum()
    if how == "drop-row" and t.ndim >= 1 and t.shape[0] > 1:
        return t[1:]
    if how == "non-contiguous" and t.ndim >= 1:
        return torch.stack([t, t], dim=-1)[..., 0]
    if how == "one-hot" and not t.is_floating_point() and t.dtype != torch.bool and t.numel() and range_ok:
        if int(t.min()) >= 0 and int(t.max()) < 64:
            return torch.nn.functional.one_hot(t.long(), int(t.max()) + 1)
    if how == "plus-one":
        return t + 1 if range_ok and t.dtype != torch.bool else t
    if how == "minus-one" and t.numel() and t.dtype not in (torch.bool, torch.uint8) and range_ok:
        t = t.contiguous().clone()
        t.view(-1)[param % t.numel()] = -1
        return t
    if how == "set-255" and t.numel() and t.dtype != torch.bool and range_ok:
        t = t.contiguous().clone()
        t.view(-1)[param % t.numel()] = 255
        return t
    if how in ("nan", "inf") and t.is_floating_point() and t.numel():
        t = t.contiguous().clone()
        t.view(-1)[param % t.numel()] = float(how)
        return t
    if how in ("softmax", "sigmoid", "log_softmax") and t.is_floating_point() and t.ndim >= 1:
        if how == "sigmoid":
            return torch.sigmoid(t)
        dim = 1 if t.ndim >= 2 else 0
        return getattr(torch, how)(t, dim)
    if how == "scale" and t.is_floating_point():
        return t * (10.0 ** ((param % 5) - 2))
    return t


TENSOR_MUTATIONS = [
    "dtype", "unsqueeze", "squeeze", "transpose", "flatten", "empty", "zero-d", "drop-row", "non-contiguous",
    "one-hot", "plus-one", "minus-one", "set-255", "nan", "inf", "softmax", "sigmoid", "log_softmax", "scale",
]

CONFIG_VALUES = [
    "none", "mean", "sum", "batchmean", "avg", None, -1, 0, 1, 2, 3, 255, -100, 0.5, 1.5, -0.5, 1e-8, True, False,
    "wrong-size-tensor", "right-size-tensor",
]


def _config_value(loss, name, choice, args):
    rule = loss.config[name]
    if choice in ("wrong-size-tensor", "right-size-tensor") and rule.type != "tensor":
        return 0.5  # tensors stand in for weights; a tensor eps or margin is another program
    if choice == "wrong-size-tensor":
        return torch.ones(7)
    if choice == "right-size-tensor":
        inp = next((a for a in args.values() if isinstance(a, torch.Tensor)), None)
        size = inp.shape[1] if inp is not None and inp.ndim >= 2 else (inp.shape[0] if inp is not None and inp.ndim == 1 else 1)
        return torch.ones(size)
    if rule.type == "tensor" and choice not in (None,):
        return torch.ones(3) if isinstance(choice, (int, float)) else None
    return choice


class Call:
    """One mutated call; its repr is what hypothesis prints for a counterexample."""

    def __init__(self, loss, example, args, config, steps):
        self.loss, self.example, self.args, self.config, self.steps = loss, example, args, config, steps

    def __repr__(self) -> str:
        return f"<{self.loss.name} from {self.example.name!r}, mutations {self.steps}>"


SKIPPED_CONFIG = ("size_average", "reduce", "options", "distance_function")


def apply_plan(loss, example, seed: int, plan: list[list]) -> Call:
    """Build the example and apply a mutation plan: ["config", name, choice index] or
    ["tensor", name, mutation, param] steps. Plans are plain data, so that a saved set replays the
    very same calls on every torch release (random draws would not)."""
    args, config = build_call(loss, example, seed=seed)
    steps = []
    for step in plan:
        if step[0] == "config":
            _, name, choice = step
            if name not in loss.config or name in SKIPPED_CONFIG:
                continue
            config[name] = _config_value(loss, name, CONFIG_VALUES[choice], args)
            steps.append(f"config {name}={config[name]!r}")
        else:
            _, name, how, param = step
            if isinstance(args.get(name), torch.Tensor):
                args[name] = _mutate_tensor(args[name], how, param, loss.name not in NO_RANGE_MUTATIONS)
                steps.append(f"{name} {how}({param})")
    return Call(loss, example, args, config, steps)


def random_plan(loss, args_names: list[str], pick) -> list[list]:
    """A plan of one to three mutations; `pick(seq)` chooses (hypothesis's draw, or random.choice)."""
    plan: list[list] = []
    for _ in range(pick([1, 2, 3])):
        if loss.config and pick([0, 1, 2, 3]) == 0:
            plan.append(["config", pick(sorted(loss.config)), pick(range(len(CONFIG_VALUES)))])
        elif args_names:
            plan.append(["tensor", pick(args_names), pick(TENSOR_MUTATIONS), pick(range(51))])
    return plan


@st.composite
def mutated_calls(draw):
    loss, example = draw(st.sampled_from(SEEDS))
    seed = draw(st.integers(0, 3))
    names = [n for n in loss.arguments if n in example.args]
    plan = random_plan(loss, names, lambda seq: draw(st.sampled_from(list(seq))))
    return apply_plan(loss, example, seed, plan)


def _summary(value):
    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')}{list(value.shape)}"
    return repr(value)


def _judge(call: Call) -> None:
    loss, example, args, config, steps = call.loss, call.example, call.args, call.config, call.steps
    positional = [args[n] for n in loss.arguments if n in args]
    report = losslint.check(loss.functional, *positional, **config)
    assert "LL000" not in report.codes, str(report)
    raised, error = torch_outcome(loss.functional, positional, config)
    assert report.torch_raises == raised, (
        f"{loss.name} seeded from {example.name!r}, mutations {steps}\n"
        f"call: F.{loss.functional.__name__}({', '.join(map(_summary, positional))}, "
        f"{', '.join(f'{k}={_summary(v)}' for k, v in config.items())})\n"
        f"torch: {error or 'accepted'}\n{report}"
    )


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 400, database=None, suppress_health_check=list(HealthCheck))
@given(mutated_calls())
def test_torch_raises_agrees_with_torch(call):
    _judge(call)


# ---- the saved case set: the same calls on every torch release (tests/versions.sh) ---------------------

SAVED = Path(__file__).parent / "data" / "differential_cases.json"


def _saved_groups() -> list[tuple[str, list[dict]]]:
    cases = json.loads(SAVED.read_text()) if SAVED.exists() else []
    groups: dict[str, list[dict]] = {}
    for case in cases:
        groups.setdefault(case["loss"], []).append(case)
    return sorted(groups.items())


@pytest.mark.parametrize("loss_name, cases", _saved_groups(), ids=lambda v: v if isinstance(v, str) else "")
def test_saved_cases_agree_with_torch(loss_name, cases):
    """Replays tests/data/differential_cases.json (one test per loss; every case, every failure listed).
    Cases whose loss or example the installed torch does not offer are skipped."""
    loss = REGISTRY.losses.get(loss_name)
    if loss is None or loss.functional is None:
        pytest.skip(f"{loss_name} is not in this torch")
    examples = {e.name: e for e in runnable_examples(loss)}
    failures = []
    for case in cases:
        example = examples.get(case["example"])
        if example is None:
            continue
        try:
            _judge(apply_plan(loss, example, case["seed"], case["plan"]))
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} of {len(cases)} saved cases disagree with torch:\n\n" + "\n\n".join(failures[:10])


def save_cases(count: int, seed: int = 0) -> None:
    """Write a fresh case set: `python tests/test_differential.py --save 4000`."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        loss, example = rng.choice(SEEDS)
        names = [n for n in loss.arguments if n in example.args]
        plan = random_plan(loss, names, lambda seq: rng.choice(list(seq)))
        cases.append({"loss": loss.name, "example": example.name, "seed": rng.randrange(4), "plan": plan})
    SAVED.parent.mkdir(exist_ok=True)
    SAVED.write_text("[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases) + "\n]\n")


if __name__ == "__main__":
    import sys

    save_cases(int(sys.argv[sys.argv.index("--save") + 1]))
