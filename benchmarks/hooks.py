"""What leaving losslint on in a training loop costs: `python benchmarks/hooks.py` (CPU, one thread).

1. One loss call (CrossEntropyLoss on 256 x 1000 logits), plain and with the hooks, in steady state:
   the default Policy reads values on the first 10 calls of a call site and on one call in 1000 after
   that, and checks metadata on every call; Policy.always() reads values on every call.
2. A forward and backward pass of a small transformer classifier under watch(), which sees every
   torch function call the model makes (most pass straight through).

Timings are medians of repeated runs; the figures in docs/how-it-works/cost.md come from this script.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint


def timed(fn, calls: int, repeats: int = 7) -> float:
    """Median seconds per call."""
    for _ in range(min(calls, 20)):
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls)
    return statistics.median(runs)


def loss_call() -> list[tuple[str, float]]:
    torch.manual_seed(0)
    logits, target = torch.randn(256, 1000), torch.randint(0, 1000, (256,))
    criterion = nn.CrossEntropyLoss()
    rows = [("plain", timed(lambda: criterion(logits, target), 300))]
    for name, policy in (("attach, default policy", None), ("attach, Policy.always()", losslint.Policy.always())):
        with losslint.attach(criterion, policy=policy):
            rows.append((name, timed(lambda: criterion(logits, target), 300)))
    for name, policy in (("watch, default policy", None), ("watch, Policy.always()", losslint.Policy.always())):
        with losslint.watch(policy=policy):
            rows.append((name, timed(lambda: criterion(logits, target), 300)))
    with losslint.watch(policy=losslint.Policy(first=0, every=0, metadata=False)):
        rows.append(("watch, loss not checked", timed(lambda: criterion(logits, target), 300)))
    return rows


def training_step() -> list[tuple[str, float]]:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    model = nn.Sequential(nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False))
    head = nn.Linear(64, 10)
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01)
    x, y = torch.randn(16, 32, 64), torch.randint(0, 10, (16,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(head(model(x).mean(dim=1)), y)
        loss.backward()
        opt.step()

    rows = [("plain", timed(step, 30))]
    with losslint.watch():
        rows.append(("watch, default policy", timed(step, 30)))
    return rows


def main() -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread\n")
    for title, rows in (
        ("CrossEntropyLoss(256 x 1000) call", loss_call()),
        ("transformer training step (2 layers, 16 x 32 x 64, forward + backward + SGD)", training_step()),
    ):
        print(title)
        base = rows[0][1]
        for name, seconds in rows:
            extra = "" if name == "plain" else f"  (+{(seconds - base) * 1e6:,.0f} µs, x{seconds / base:.2f})"
            print(f"  {name:<26} {seconds * 1e6:>9,.0f} µs{extra}")
        print()


if __name__ == "__main__":
    main()
