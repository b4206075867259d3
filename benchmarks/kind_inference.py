"""What the value-kind model adds to check(): `python benchmarks/kind_inference.py` (CPU, one thread).

Every declared kind is judged by one check (`checks/kind_contract.py`: the declared kind's reading, then
`evidence.kinds.infer` on a bounded sample). This prices it: check() with that check registered as it
ships, against check() with it replaced by a no-op, in alternating rounds, on

- a tiny call: CrossEntropyLoss on 32 x 10 logits (raw scores: one reduction decides the kind);
- the same call on softmax outputs (a misuse: the inference runs in full and reports LL301);
- BCEWithLogitsLoss on 32 x 10 sigmoid outputs (the element-wise reading);
- a language-model-size call: CrossEntropyLoss on 2048 x 32000 float32 logits (the sample is bounded,
  so the cost must not grow with the batch).

Each figure is the median over rounds of the per-call mean (thread CPU time), the two variants
interleaved within each round.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn

import losslint
from losslint.language.checkbook import REGISTRY, load_builtin_checks


def _cases() -> dict[str, tuple]:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 10, generator=gen) * 3
    labels = torch.randint(0, 10, (32,), generator=gen)
    binary = (torch.rand(32, 10, generator=gen) > 0.5).float()
    lm_logits = torch.randn(2048, 32000, generator=gen)
    lm_labels = torch.randint(0, 32000, (2048,), generator=gen)
    return {
        "CrossEntropyLoss, 32 x 10 logits": (nn.CrossEntropyLoss(), logits, labels, 200),
        "CrossEntropyLoss, 32 x 10 softmax outputs (LL301)": (nn.CrossEntropyLoss(), logits.softmax(1), labels, 200),
        "BCEWithLogitsLoss, 32 x 10 sigmoid outputs": (nn.BCEWithLogitsLoss(), logits.sigmoid(), binary, 200),
        "CrossEntropyLoss, 2048 x 32000 logits": (nn.CrossEntropyLoss(), lm_logits, lm_labels, 5),
    }


def _timed(loss, inp, tgt, calls: int) -> float:
    start = time.thread_time()
    for _ in range(calls):
        losslint.check(loss, inp, tgt)
    return (time.thread_time() - start) / calls


def measure(rounds: int) -> list[tuple[str, float, float]]:
    load_builtin_checks()
    shipped = REGISTRY["kind_contract"]

    def off(ctx, **_):
        return None

    out = []
    for name, (loss, inp, tgt, calls) in _cases().items():
        with_kinds, without = [], []
        for index in range(rounds + 1):
            for variant in ((shipped, with_kinds), (off, without))[:: 1 if index % 2 else -1]:
                REGISTRY["kind_contract"] = variant[0]
                try:
                    took = _timed(loss, inp, tgt, calls)
                finally:
                    REGISTRY["kind_contract"] = shipped
                if index:  # the first round warms both up
                    variant[1].append(took)
        base = statistics.median(without)
        out.append((name, base, statistics.median(with_kinds) - base))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"losslint {losslint.__version__}, torch {torch.__version__}, 1 thread, median of {args.rounds} rounds")
    print(f"{'call':52s} {'check() without':>16s} {'kind model adds':>16s}")
    for name, base, added in measure(args.rounds):
        print(f"{name:52s} {base * 1e6:13.1f} us {added * 1e6:+13.1f} us  ({added / base:+.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
