"""What losslint costs, side by side with what it guards: `python benchmarks/overhead.py`.

Every measure is a ratio taken within one run (absolute times drift on shared machines), with one
torch thread:

1. check() of CrossEntropyLoss on a 32 x 10 batch, per call, against the per-call overhead of a
   jaxtyping + beartype shape/dtype annotation of the same call (which checks no values).
2. check() of CrossEntropyLoss at language-model size, 2048 x 32000 float32, against the loss itself.
3. A small MLP's training step (batch 128) with attach(criterion) at its default policy, against none.
4. The same loop inside watch() (default policy), against the loop inside an empty TorchFunctionMode,
   the floor of that mechanism.
5. The extra peak memory of check() on the language-model batch, against the input's size.
6. How check() scales with the batch size N and the class count C.

Timings are the minimum over repeats of the mean per call: the least disturbed estimate on a busy
machine. Needs the `bench` extra (jaxtyping, beartype).
"""

import argparse
import gc
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

import losslint

TARGETS = {
    "check_vs_annotation": 2.0,
    "lm_check_vs_loss": 0.05,
    "attach_step": 0.03,
    "watch_vs_mode": 0.03,
    "lm_peak_memory": 0.10,
}


def per_call(fn, calls: int, repeats: int = 9) -> float:
    for _ in range(min(calls, 50)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def interleaved(fns: dict[str, object], calls: int, repeats: int = 9) -> dict[str, float]:
    """Per-call times of several variants, measured in alternation so that drift hits all alike."""
    for fn in fns.values():
        for _ in range(min(calls, 20)):
            fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


# ---- 1. check() against a shape annotation ----------------------------------------------------------


def check_vs_annotation() -> tuple[float, str]:
    # No `from __future__ import annotations` in this file: with postponed (string) annotations
    # beartype has to resolve jaxtyping's types from strings, and here it silently checked nothing.
    from beartype import beartype
    from jaxtyping import Float, Int, jaxtyped

    # The same loss call, bare and behind a jaxtyping + beartype annotation: the difference is what a
    # shape/dtype annotation costs per call. losslint's cost is check() itself (the call is separate).
    def plain(logits, target):
        return F.cross_entropy(logits, target)

    @jaxtyped(typechecker=beartype)
    def annotated(logits: Float[torch.Tensor, "N C"], target: Int[torch.Tensor, " N"]) -> Float[torch.Tensor, ""]:
        return F.cross_entropy(logits, target)

    logits, target = torch.randn(32, 10), torch.randint(0, 10, (32,))
    try:  # the annotation must really check: a wrong batch size is rejected
        annotated(logits, target[:-1])
    except Exception:  # noqa: BLE001 - jaxtyping's TypeCheckError
        pass
    else:
        raise AssertionError("the jaxtyping annotation checked nothing")
    criterion = nn.CrossEntropyLoss()
    t = interleaved(
        {
            "plain": lambda: plain(logits, target),
            "annotated": lambda: annotated(logits, target),
            "check": lambda: losslint.check(criterion, logits, target),
        },
        calls=2000,
    )
    annotation = t["annotated"] - t["plain"]
    return t["check"] / annotation, f"check {t['check'] * 1e6:.1f} us, annotation overhead {annotation * 1e6:.1f} us"


# ---- 2 and 5. language-model size ---------------------------------------------------------------------


def lm_size() -> tuple[float, str, float, str]:
    logits = torch.randn(2048, 32000)
    target = torch.randint(0, 32000, (2048,))
    target[::9] = -100
    criterion = nn.CrossEntropyLoss()
    t = interleaved({"loss": lambda: criterion(logits, target), "check": lambda: losslint.check(criterion, logits, target)}, calls=3, repeats=5)
    peak = peak_extra_bytes(lambda: losslint.check(criterion, logits, target))
    size = logits.numel() * logits.element_size()
    return (
        t["check"] / t["loss"],
        f"check {t['check'] * 1e3:.2f} ms, loss {t['loss'] * 1e3:.1f} ms",
        peak / size,
        f"peak extra {peak / 2**20:.2f} MiB for an input of {size / 2**20:.0f} MiB",
    )


def peak_extra_bytes(fn) -> int:
    """Peak bytes allocated by torch's CPU allocator during fn, from the profiler's memory events."""
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    live = peak = 0
    events = sorted(
        (e for e in prof.profiler.function_events if e.cpu_memory_usage and not e.cpu_children),
        key=lambda e: e.time_range.start,
    )
    # Leaf events carry the allocation (+) or release (-) made inside them, in order.
    for event in events:
        live += event.cpu_memory_usage
        peak = max(peak, live)
    return peak


# ---- 3 and 4. a training loop ---------------------------------------------------------------------------


def mlp_loop(criterion: nn.Module, steps: int = 60):
    torch.manual_seed(0)
    # Sized so that a bare step takes about 1.8 ms on this machine, the step the targets quote.
    model = nn.Sequential(nn.Linear(64, 448), nn.ReLU(), nn.Linear(448, 448), nn.ReLU(), nn.Linear(448, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(128, 64), torch.randint(0, 10, (128,))

    def run():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            criterion(model(x), y).backward()
            opt.step()

    return run, steps


class EmptyMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def training_overheads() -> tuple[float, str, float, str]:
    """Steady state, as in a long run: the hook and the watch are set up once and keep their sampling
    state across the timed repeats (the default policy reads values on a call site's first 10 calls)."""
    bare, steps = mlp_loop(nn.CrossEntropyLoss())
    hooked_criterion = nn.CrossEntropyLoss()
    losslint.attach(hooked_criterion, action="collect")
    attached, _ = mlp_loop(hooked_criterion)
    watch = losslint.watch(action="collect")
    mode = EmptyMode()

    def empty_mode():
        with mode:
            bare()

    def watched():
        with watch:
            bare()

    t = interleaved({"bare": bare, "attach": attached, "mode": empty_mode, "watch": watched}, calls=1, repeats=25)
    return (
        t["attach"] / t["bare"] - 1,
        f"step {t['bare'] / steps * 1e3:.3f} ms bare, {t['attach'] / steps * 1e3:.3f} ms attached",
        t["watch"] / t["mode"] - 1,
        f"step {t['mode'] / steps * 1e3:.3f} ms in an empty mode, {t['watch'] / steps * 1e3:.3f} ms under watch()",
    )


# ---- 6. scaling ---------------------------------------------------------------------------------------


def scaling() -> list[str]:
    criterion = nn.CrossEntropyLoss()
    rows = ["      N \\ C " + "".join(f"{c:>10}" for c in (2, 100, 1000, 32000))]
    for n in (8, 128, 2048, 8192):
        cells = []
        for c in (2, 100, 1000, 32000):
            if n * c > 8192 * 4096:  # keep the run to a couple of minutes and ~2 GB
                cells.append(f"{'-':>10}")
                continue
            logits, target = torch.randn(n, c), torch.randint(0, c, (n,))
            cells.append(f"{per_call(lambda: losslint.check(criterion, logits, target), calls=20, repeats=3) * 1e6:>8.0f}us")
            del logits, target
        rows.append(f"{n:>11} " + "".join(cells))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = []
    ratio, detail = check_vs_annotation()
    results.append(("check() 32x10 / jaxtyping+beartype overhead", ratio, TARGETS["check_vs_annotation"], "x", detail))
    lm_ratio, lm_detail, mem_ratio, mem_detail = lm_size()
    results.append(("check() 2048x32000 / the loss itself", lm_ratio, TARGETS["lm_check_vs_loss"], "%", lm_detail))
    attach_ratio, attach_detail, watch_ratio, watch_detail = training_overheads()
    results.append(("MLP step with attach() / without", attach_ratio, TARGETS["attach_step"], "%", attach_detail))
    results.append(("MLP step under watch() / empty TorchFunctionMode", watch_ratio, TARGETS["watch_vs_mode"], "%", watch_detail))
    results.append(("check() 2048x32000 extra peak memory / input size", mem_ratio, TARGETS["lm_peak_memory"], "%", mem_detail))
    width = max(len(r[0]) for r in results)
    print(f"losslint {losslint.__version__}, torch {torch.__version__}, 1 thread\n")
    for name, value, target, unit, detail in results:
        shown = f"{value:.2f}x" if unit == "x" else f"{value * 100:+.1f}%"
        limit = f"{target:.0f}x" if unit == "x" else f"{target * 100:.0f}%"
        verdict = "ok" if value <= target else "OVER"
        print(f"{name:<{width}}  {shown:>8}  (target <= {limit:>4}, {verdict})  {detail}")
    if not args.skip_scaling:
        print("\ncheck() of CrossEntropyLoss per call, by batch size N and class count C:")
        print("\n".join(scaling()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
