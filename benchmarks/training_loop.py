"""What the hooks cost in a loop as training runs it: `python benchmarks/training_loop.py` (CPU, one thread).

Every call brings fresh tensors, as in training: a Linear head's output made with autograd on from a
new input batch, new labels, CrossEntropyLoss, and a backward pass; the default policy (values read on
the first 10 calls of the call site, then 1 in 1000; metadata on every call), in steady state (past a
warm-up of 300 steps). Variants, one step each:

- plain: the loss module with no hook at all;
- empty pre-hook: torch's own empty forward pre-hook on the loss module;
- attach(): `losslint.attach(criterion)`;
- watch(): the same step inside `losslint.watch()` (the watch is entered around each round's steps,
  the same watch object every round, as the Lightning and Trainer callbacks do around steps);
- the callbacks' sessions: the Lightning and Trainer callbacks' `TrainingSession` (one watch, entered
  and left around every step; `integrations/training.py`), entered and left around each step here:
  Lightning's keeps the wrappers installed for the run, the Trainer's installs them at every step;
- and each hook again with `Policy(every=0)` (values on the first 10 calls only): its steady state is
  the counted call alone, the hot path every step takes. The default policy's figure minus this one
  is the values sample (1 call in 1000), spread over the calls;
- and with `Policy(every=100)`, the denser sample (the default until 1 in 1000 replaced it), for
  comparison.

A round runs 1000 steps of each variant, so that every round of a hook holds exactly one values
sample at the default policy: the median over rounds then prices the sample, spread over its 1000
calls, instead of leaving it out of most rounds. The steps run in blocks of 200, the variants taking
turns block by block in an order that rotates (this machine is shared, its speed drifts by tens of
percent within a minute): a watch (and a callbacks' session) is entered and left around each block,
which adds its entry and exit, spread over 200 calls, to its figure.

Last, the loss call alone with its line at line 300 of a long function (`measure_far_line`): the
steady state tells a call's line without asking Python for the frame's line number, which is worked
out from the function's line table on every read.

The unit is E, what torch's own empty forward pre-hook costs over no hook, measured in the same
rounds: a ratio that does not depend on the machine's speed. Each figure is the median over rounds of
a difference taken within the round, in the thread's CPU time. The spread printed beside each figure
is the interquartile range of the per-round differences, in E.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn as nn

import losslint
from losslint import Policy

BATCH, FEATURES, CLASSES, POOL = 32, 64, 10, 64


def _batches(seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A pool of distinct input and label tensors, cycled: a new tensor object on every call."""
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(BATCH, FEATURES, generator=gen), torch.randint(0, CLASSES, (BATCH,), generator=gen)) for _ in range(POOL)]


class _Session:
    """The callbacks' `TrainingSession` as a context manager: entered and left around a step."""

    def __init__(self, keep_installed: bool) -> None:
        from losslint.integrations.training import TrainingSession

        self.session = TrainingSession(action="collect", keep_installed=keep_installed)

    def __enter__(self) -> None:
        self.session.enter()

    def __exit__(self, *exc: object) -> None:
        self.session.leave()


def _loop(head: nn.Module, criterion: nn.Module, batches: list, around=None) -> object:
    """`steps(n)`: n training steps, forward and backward, each on the next batch of the pool, each
    inside `around` (the callbacks' session) or inside a context that does nothing: every variant runs
    the same loop, so their differences are the hooks' alone."""
    position = [0]
    around = around if around is not None else contextlib.nullcontext()

    def steps(n: int) -> None:
        at = position[0]
        for _ in range(n):
            x, y = batches[at % POOL]
            at += 1
            with around:
                loss = criterion(head(x), y)  # the call site: one line, as in a training loop
                loss.backward()
        position[0] = at
        head.zero_grad(set_to_none=True)

    return steps


def measure(rounds: int = 25, calls: int = 1000, warmup: int = 300, block: int = 200) -> dict[str, object]:
    torch.manual_seed(0)
    batches = _batches()
    variants: dict[str, tuple] = {}
    for name in ("plain", "empty", "attach", "watch", "attach_hot", "watch_hot", "attach_dense", "watch_dense", "lightning", "trainer"):
        head, criterion = nn.Linear(FEATURES, CLASSES), nn.CrossEntropyLoss()
        context = None
        if name == "empty":
            criterion.register_forward_pre_hook(lambda module, args: None)
        elif name == "attach":
            losslint.attach(criterion, action="collect")
        elif name == "watch":
            context = losslint.watch(action="collect")
        elif name == "attach_hot":
            losslint.attach(criterion, action="collect", policy=Policy(every=0))
        elif name == "watch_hot":
            context = losslint.watch(action="collect", policy=Policy(every=0))
        elif name == "attach_dense":
            losslint.attach(criterion, action="collect", policy=Policy(every=100))
        elif name == "watch_dense":
            context = losslint.watch(action="collect", policy=Policy(every=100))
        if name in ("lightning", "trainer"):
            session = _Session(keep_installed=name == "lightning")
            # A round's steps are one run of the framework: the session is closed at its end, as
            # Lightning's teardown closes it (what the session kept installed goes).
            variants[name] = (_loop(head, criterion, batches, session), contextlib.closing(session.session))
            continue
        variants[name] = (_loop(head, criterion, batches), context)

    def run(name: str, n: int) -> float:
        steps, context = variants[name]
        # The thread's CPU time: time the machine gives to other processes is not counted.
        start = time.thread_time()
        if context is None:
            steps(n)
        else:
            with context:
                steps(n)
        return (time.thread_time() - start) / n

    for name in variants:
        run(name, warmup)
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    blocks = max(1, calls // block)
    for index in range(rounds):
        # A round's steps run in blocks, the variants taking turns block by block in an order that
        # rotates: the machine's drift within a round reaches every variant alike.
        spent = dict.fromkeys(names, 0.0)
        for part in range(blocks):
            turn = (index + part) % len(names)
            for name in names[turn:] + names[:turn]:
                spent[name] += run(name, block) * block
        for name in names:
            per_round[name].append(spent[name] / (blocks * block))
    median = statistics.median
    e_rounds = [e - p for e, p in zip(per_round["empty"], per_round["plain"])]
    unit = median(e_rounds)

    def in_e(values: list[float]) -> tuple[float, float]:
        q = statistics.quantiles(values, n=4)
        return median(values) / unit, (q[2] - q[0]) / unit

    attach = in_e([a - e for a, e in zip(per_round["attach"], per_round["empty"])])
    watch = in_e([w - p for w, p in zip(per_round["watch"], per_round["plain"])])
    attach_hot = in_e([a - e for a, e in zip(per_round["attach_hot"], per_round["empty"])])
    watch_hot = in_e([w - p for w, p in zip(per_round["watch_hot"], per_round["plain"])])
    attach_dense = in_e([a - e for a, e in zip(per_round["attach_dense"], per_round["empty"])])
    watch_dense = in_e([w - p for w, p in zip(per_round["watch_dense"], per_round["plain"])])
    lightning = in_e([w - p for w, p in zip(per_round["lightning"], per_round["plain"])])
    trainer = in_e([w - p for w, p in zip(per_round["trainer"], per_round["plain"])])
    return {
        "E_us": unit * 1e6,
        "E_spread_us": (lambda q: (q[2] - q[0]) * 1e6)(statistics.quantiles(e_rounds, n=4)),
        "plain_us": median(per_round["plain"]) * 1e6,
        "attach_E": attach[0],
        "attach_spread_E": attach[1],
        "watch_E": watch[0],
        "watch_spread_E": watch[1],
        "attach_hot_E": attach_hot[0],
        "watch_hot_E": watch_hot[0],
        "attach_dense_E": attach_dense[0],
        "watch_dense_E": watch_dense[0],
        "lightning_E": lightning[0],
        "trainer_E": trainer[0],
        "rounds": rounds,
        "calls": calls,
    }


TARGETS = {"attach_E": 1.5, "watch_E": 2.5}

# The loop of `_loop`, as the last lines of a long function: a training script's loss line is often
# far down a long `train()` or notebook cell, where Python works out a frame's line number by walking
# the function's line table from its start on every read of `f_lineno`.
_FAR_LINE = 300
_FAR_SOURCE = (
    "def far_loop(criterion, head, batches, n, clock, spent):\n"
    + "".join(f"    line_{i} = {i}\n" for i in range(_FAR_LINE))
    + "    for at in range(n):\n"
    + "        x, y = batches[at % len(batches)]\n"
    + "        output = head(x)\n"
    + "        start = clock()\n"
    + "        loss = criterion(output, y)\n"
    + "        spent.append(clock() - start)\n"
    + "        loss.backward()\n"
)


def measure_far_line(calls: int = 3000, repeats: int = 5) -> dict[str, float]:
    """The loss call alone (its median time, over plain), attach() and watch() at Policy(every=0), with
    the loss line at line ~300 of its function."""
    scope: dict = {}
    exec(compile(_FAR_SOURCE, "far_loop.py", "exec"), scope)
    batches = _batches()
    per: dict[str, list[float]] = {"plain": [], "attach": [], "watch": []}
    for _ in range(repeats):
        for name in per:
            head, criterion = nn.Linear(FEATURES, CLASSES), nn.CrossEntropyLoss()
            context = contextlib.nullcontext()
            hook = None
            if name == "attach":
                hook = losslint.attach(criterion, action="collect", policy=Policy(every=0))
            elif name == "watch":
                context = losslint.watch(action="collect", policy=Policy(every=0))
            spent: list[int] = []
            with context:
                scope["far_loop"](criterion, head, batches, calls, time.perf_counter_ns, spent)
            if hook is not None:
                hook.remove()
            per[name].append(statistics.median(spent[100:]) / 1000)
    plain = statistics.median(per["plain"])
    return {name: statistics.median(values) - plain for name, values in per.items() if name != "plain"}


def far_lines(result: dict[str, float]) -> list[str]:
    return [
        f"the loss line at line {_FAR_LINE} of its function (the loss call alone, median, over plain; Policy(every=0)): "
        f"attach() +{result['attach']:.1f} us, watch() +{result['watch']:.1f} us",
    ]


def lines(result: dict[str, object]) -> list[str]:
    r = result
    verdict = {k: "ok" if r[k] <= t else "OVER" for k, t in TARGETS.items()}
    return [
        f"training loop (Linear {FEATURES}->{CLASSES} head, CrossEntropyLoss, batch {BATCH}, fresh tensors, forward + backward, "
        f"default policy, steady state), median of {r['rounds']} rotating rounds of {r['calls']} steps, 1 thread:",
        f"  plain step                        {r['plain_us']:7.1f} us",
        f"  E = empty pre-hook over no hook   {r['E_us']:7.1f} us   (interquartile range {r['E_spread_us']:.1f} us)",
        f"  attach() over the empty pre-hook  {r['attach_E']:7.2f} E    (target <= {TARGETS['attach_E']} E, {verdict['attach_E']}; "
        f"IQR {r['attach_spread_E']:.2f} E; {r['attach_E'] * r['E_us']:.1f} us)",
        f"  watch() over no hook, a loss call {r['watch_E']:7.2f} E    (target <= {TARGETS['watch_E']} E, {verdict['watch_E']}; "
        f"IQR {r['watch_spread_E']:.2f} E; {r['watch_E'] * r['E_us']:.1f} us)",
        f"  of which the counted call (hot path, Policy(every=0)): attach() {r['attach_hot_E']:.2f} E "
        f"({r['attach_hot_E'] * r['E_us']:.1f} us), watch() {r['watch_hot_E']:.2f} E ({r['watch_hot_E'] * r['E_us']:.1f} us); "
        f"the values sample, spread: {(r['attach_E'] - r['attach_hot_E']) * r['E_us']:.1f} and "
        f"{(r['watch_E'] - r['watch_hot_E']) * r['E_us']:.1f} us a call",
        f"  with Policy(every=100), the denser sample: attach() {r['attach_dense_E']:.2f} E "
        f"({r['attach_dense_E'] * r['E_us']:.1f} us), watch() {r['watch_dense_E']:.2f} E ({r['watch_dense_E'] * r['E_us']:.1f} us)",
        f"  the callbacks' session around each step, over no hook: Lightning's {r['lightning_E']:.2f} E "
        f"({r['lightning_E'] * r['E_us']:.1f} us a step), the Trainer's {r['trainer_E']:.2f} E ({r['trainer_E'] * r['E_us']:.1f} us a step)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--calls", type=int, default=1000, help="steps per variant per round (a whole number of values-sample periods)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"losslint {losslint.__version__}, torch {torch.__version__}")
    print("\n".join(lines(measure(args.rounds, args.calls))))
    print("\n".join(far_lines(measure_far_line())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
