"""What losslint costs, side by side with what it guards: `python benchmarks/overhead.py`.

Every measure is a ratio taken within one run (absolute times drift on shared machines), with one
torch thread:

1. check() of CrossEntropyLoss on a 32 x 10 batch, per call, against the per-call overhead of a
   jaxtyping + beartype shape/dtype annotation of the same call (which checks no values).
2. check() of CrossEntropyLoss at language-model size, 2048 x 32000 float32, against the loss itself.
3. The extra peak memory of check() on the language-model batch, against the input's size.
4. Training steps of three models with realistic op counts (a small ViT, a ResNet, a U-Net, in plain
   torch), each against the plain step: under watch() at the default policy, with attach() on the
   loss module, and the mechanism's share alone (watch() with every check off); for comparison,
   watch(thorough=True) and an empty TorchFunctionMode. Ratios are medians over interleaved rounds
   of the thread's CPU time. The mechanism's share is also computed: the step's calls of wrapped
   functions times what a wrapper adds to one call, over the plain step (a difference of medians
   is noisy at the 1% level on a shared machine).
5. How check() scales with the batch size N and the class count C.
6. The hooks in a training loop as training runs it (`training_loop.py`): fresh tensors every call, a
   Linear head, CrossEntropyLoss, forward and backward, the default policy, steady state; attach()
   over torch's own empty forward pre-hook and watch() per loss call over no hook, in units of E (that
   empty pre-hook's cost over no hook). These are the figures that price the hooks; the attach()
   steady-state figure of 2. calls the loss again and again on the same tensor objects, which no
   training loop does, and is kept, labelled so, to compare with earlier runs.

Timings of single calls are the minimum over repeats of the mean per call: the least disturbed
estimate on a busy machine. `--models-only` runs 4 alone. Needs the `bench` extra (jaxtyping,
beartype).
"""

import argparse
import gc
import statistics
import time
from contextlib import nullcontext

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

import losslint

TARGETS = {
    "check_vs_annotation": 2.0,
    "lm_check_vs_loss": 0.05,
    "attach_step": 0.01,
    "watch_step": 0.03,
    "attach_steady_us": 5.0,
    "attach_first": 1.0,
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


# ---- 3 and 4. model training steps ----------------------------------------------------------------------
#
# Steps with the op counts of real models, written in plain torch (timm, smp and torchvision are not
# installable beside every torch this runs on): a TorchFunctionMode costs per op, the hooks per loss
# call, and a small MLP has too few ops to show the difference.


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)  # a producer op, every layer
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """A ViT-tiny-like model: 2 layers, dim 64, 4 heads, 4x4 patches of 32x32 images, 10 classes."""

    def __init__(self, dim: int = 64, depth: int = 2, heads: int = 4, classes: int = 10):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 65, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    """A small ResNet: a 3x3 stem and three stages of two basic blocks (16, 32, 64 channels)."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def conv_block(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
    )


class UNet(nn.Module):
    """A small U-Net, depth 3 (16, 32, 64 channels), one output channel for binary segmentation."""

    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([conv_block(3, 16), conv_block(16, 32), conv_block(32, 64)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(64, 32, 2, 2), nn.ConvTranspose2d(32, 16, 2, 2)])
        self.dec = nn.ModuleList([conv_block(64, 32), conv_block(32, 16)])
        self.out = nn.Conv2d(16, 1, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.out(x)


class DiceFocal(nn.Module):
    """Dice + focal loss as segmentation libraries write them: sigmoid and sums, and a functional BCE."""

    def forward(self, logits, target):
        probs = logits.sigmoid()
        dice = 1 - (2 * (probs * target).sum() + 1) / (probs.sum() + target.sum() + 1)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        focal = ((1 - torch.exp(-bce)) ** 2 * bce).mean()
        return dice + focal


def model_step(name: str, criterion: nn.Module | None = None, shared: tuple | None = None):
    """(one training step, the loss module it uses): forward, loss, backward, SGD. `shared`: the
    (model, batch, optimizer) of another step, so that variants of one benchmark train the very same
    model (separate instances differ in memory placement, which shows as a few percent either way)."""
    torch.manual_seed(0)
    if name in LIBRARY_MODELS:
        model, batch, made = library_model(name)
        criterion = criterion or made
    elif name == "ViT":
        model, batch = ViT(), (torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,)))
        criterion = criterion or nn.CrossEntropyLoss()
    elif name == "ResNet":
        model = ResNet()
        batch = (torch.randn(16, 3, 32, 32), F.one_hot(torch.randint(0, 10, (16,)), 10).float())
        criterion = criterion or nn.BCEWithLogitsLoss()  # timm's BinaryCrossEntropy: one-hot targets
    else:
        model = UNet()
        batch = (torch.randn(2, 3, 64, 64), (torch.rand(2, 1, 64, 64) > 0.5).float())
        criterion = criterion or DiceFocal()
    if shared is not None:
        model, batch, opt = shared
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        criterion(model(batch[0]), batch[1]).backward()
        opt.step()

    step.parts = (model, batch, opt)
    return step, criterion


class EmptyMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


MODELS = {"ViT": "ViT (2 layers, dim 64) + CrossEntropyLoss, batch 32", "ResNet": "ResNet (6 blocks) + BCEWithLogitsLoss, batch 16", "UNet": "U-Net (depth 3) + Dice + focal, batch 2"}
# The libraries' own models and losses (`--libraries`: needs timm and segmentation_models_pytorch,
# which need torchvision; tests/libraries.sh's environment has them), tiny, from configs.
LIBRARY_MODELS = {
    "timm-ViT": "timm ViT-tiny (2 layers, dim 64) + CrossEntropyLoss, batch 32",
    "timm-ResNet": "timm test_resnet + timm BinaryCrossEntropy, batch 16",
    "smp-UNet": "smp Unet (resnet18, depth 3) + smp Dice + Focal, batch 2",
}


def library_model(name: str):
    """(model, batch, loss) of the libraries' own kind, random weights, no download."""
    if name == "timm-ViT":
        import timm

        model = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=2, embed_dim=64, num_heads=2, img_size=32, patch_size=4, num_classes=10)
        return model, (torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,))), nn.CrossEntropyLoss()
    if name == "timm-ResNet":
        import timm
        from timm.loss import BinaryCrossEntropy

        model = timm.create_model("test_resnet", pretrained=False, num_classes=10)
        return model, (torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))), BinaryCrossEntropy()
    import segmentation_models_pytorch as smp

    model = smp.Unet("resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(64, 32, 16), classes=1)
    dice, focal = smp.losses.DiceLoss("binary"), smp.losses.FocalLoss("binary")
    return model, (torch.randn(2, 3, 64, 64), (torch.rand(2, 1, 64, 64) > 0.5).float()), lambda y, t: dice(y, t) + focal(y, t)


class Counter(TorchFunctionMode):
    """Counts one step's calls of the functions the default watch() wraps."""

    def __init__(self, wrapped, losses):
        super().__init__()
        self.wrapped, self.losses, self.count, self.loss_calls = wrapped, losses, 0, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func in self.wrapped
        self.loss_calls += func in self.losses
        return func(*args, **(kwargs or {}))


def mechanism_share(name: str, plain_step_s: float) -> tuple[float, int, float]:
    """The default watch()'s cost, computed rather than read from a noisy difference: the calls of
    wrapped functions in one step times what a wrapper adds to a call (checks off), and the loss
    calls in one step times what judging one adds in steady state at the default policy (metadata
    on every call, values on one in 1000), over the plain step.
    (mechanism share, wrapped calls per step, whole watch() share)"""
    from losslint.evidence.provenance import ORIGIN_OPS

    losses = {spec.functional for spec in losslint.Checker().registry.losses.values() if spec.functional is not None}
    wrapped = set(ORIGIN_OPS) | losses
    step, _ = model_step(name)
    counter = Counter(wrapped, losses)
    with counter:
        step()
    x, y = torch.randn(4, 5), torch.randint(0, 5, (4,))
    off = losslint.watch(action="collect", policy=losslint.Policy(first=0, every=0, metadata=False))
    fns = {"softmax": lambda: x.softmax(-1), "loss": lambda: F.cross_entropy(x, y)}
    t_plain = interleaved(fns, calls=3000)
    with off:
        t_wrapped = interleaved(fns, calls=3000)
    with losslint.watch(action="collect"):  # one call site, past its first 10 calls (warm-up)
        t_judged = interleaved({"loss": fns["loss"]}, calls=3000)
    per_call = max(t_wrapped["softmax"] - t_plain["softmax"], t_wrapped["loss"] - t_plain["loss"])
    judged = t_judged["loss"] - t_plain["loss"]
    mechanism = counter.count * per_call / plain_step_s
    return mechanism, counter.count, mechanism + counter.loss_calls * max(judged - per_call, 0.0) / plain_step_s


def model_overheads(rounds: int, steps: int, models: dict[str, str] = MODELS) -> list[dict[str, float]]:
    """Per model, the median over interleaved rounds of each variant's step time over the plain step's
    run right beside it. Steady state, as in a long run: each hook and watch is set up once and keeps
    its sampling state (the default policy reads values on a call site's first 10 calls). Variants:
    plain; watch() with checks off (`Policy(first=0, every=0, metadata=False)`: the mechanism alone);
    watch() at the default policy; attach() on the loss module (the U-Net's loss is not a torch loss
    module: attach() does not apply); watch(thorough=True); an empty TorchFunctionMode. Every variant
    trains the same model on the same batch (attach() with a loss module of its own)."""
    off = losslint.Policy(first=0, every=0, metadata=False)
    results = []
    for name in models:
        plain, _ = model_step(name)
        variants = {"plain": (nullcontext(), plain)}
        mechanism = losslint.watch(action="collect", policy=off)
        default = losslint.watch(action="collect")
        thorough = losslint.watch(action="collect", thorough=True)
        mode = EmptyMode()
        for label, ctx in (("mechanism", mechanism), ("watch", default), ("thorough", thorough), ("mode", mode)):
            variants[label] = (ctx, plain)  # the same step: only the context around it differs
        fn, criterion = model_step(name, shared=plain.parts)  # its own loss module, the same model
        try:
            losslint.attach(criterion, action="collect")
            variants["attach"] = (nullcontext(), fn)
        except (TypeError, losslint.UnknownLossError):
            pass  # not one loss module losslint knows (a Dice + focal sum): attach() does not apply
        for ctx, fn in variants.values():  # warm-up, and the hooks' first (values-depth) calls
            with ctx:
                for _ in range(12):
                    fn()

        def timed(ctx, fn) -> float:
            gc.collect()
            # CPU time of this thread (torch runs one thread here): other processes on a shared
            # machine slow the wall clock of every variant, not the work each one does.
            start = time.thread_time()
            with ctx:  # entered once around the steps, as `with losslint.watch(): train()`
                for _ in range(steps):
                    fn()
            return (time.thread_time() - start) / steps

        plain_times: list[float] = []
        ratios: dict[str, list[float]] = {label: [] for label in variants if label != "plain"}
        order = [item for item in variants.items() if item[0] != "plain"]
        for index in range(rounds):
            # Each variant against a plain step run right beside it (before it in one round, after
            # it in the next): this machine's speed drifts within a round of all the variants.
            # Rotated every round: no variant always runs right after another (or first).
            for label, (ctx, fn) in order[index % len(order):] + order[: index % len(order)]:
                if index % 2:
                    plain_time, time_ = timed(*variants["plain"]), timed(ctx, fn)
                else:
                    time_, plain_time = timed(ctx, fn), timed(*variants["plain"])
                plain_times.append(plain_time)
                ratios[label].append(time_ / plain_time)
        row = {"name": name, "plain_ms": statistics.median(plain_times) * 1e3}
        row["computed"], row["wrapped_calls"], row["watch_computed"] = mechanism_share(name, row["plain_ms"] / 1e3)
        for label, values in ratios.items():
            row[label] = statistics.median(values)
        results.append(row)
    return results


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


def attach_per_call(rounds: int = 61, calls: int = 400) -> tuple[float, str, float, str, float, float]:
    """attach() per call, on CrossEntropyLoss at 32 x 10: steady state over a module with an empty
    forward pre-hook, and the first (values-depth) calls of a call site against check() of the same
    tensors.

    Steady state is measured twice: the repeated call itself (a call like the last clean one from its
    line, only counted: `Policy(every=0)` past the first 10 calls, so no values sample falls in the
    window), and at the default policy, whose one call in 1000 reads values again (a full check, about
    the cost of check(), spread over the 1000).

    Each figure is the median over `rounds` rounds of a difference or ratio taken within the round,
    the variants in an order that rotates every round: this machine's speed drifts by tens of percent
    within a minute, and a difference of two separately taken minima would carry that drift."""
    x, y = torch.randn(32, 10), torch.randint(0, 10, (32,))
    empty, repeated, sampled, plain, bare = (nn.CrossEntropyLoss() for _ in range(5))
    empty.register_forward_pre_hook(lambda module, args: None)
    losslint.attach(repeated, action="collect", policy=losslint.Policy(every=0))
    losslint.attach(sampled, action="collect")
    for _ in range(300):  # past the first 10 calls of the call site
        repeated(x, y)
        sampled(x, y)
    steady_fns = {"empty": lambda: empty(x, y), "repeated": lambda: repeated(x, y), "sampled": lambda: sampled(x, y), "bare": lambda: bare(x, y)}
    batches = [(torch.randn(32, 10), torch.randint(0, 10, (32,))) for _ in range(10)]

    def first_calls() -> float:
        fresh = nn.CrossEntropyLoss()
        hook = losslint.attach(fresh, action="collect")
        start = time.perf_counter()
        for a, b in batches:
            fresh(a, b)
        elapsed = (time.perf_counter() - start) / len(batches)
        hook.remove()
        return elapsed

    def check_calls() -> float:
        start = time.perf_counter()
        for a, b in batches:
            losslint.check(plain, a, b)
            plain(a, b)
        return (time.perf_counter() - start) / len(batches)

    for _ in range(20):
        first_calls(), check_calls()
    per_round: dict[str, list[float]] = {name: [] for name in (*steady_fns, "first", "check")}
    for index in range(rounds):
        names = list(steady_fns)
        names = names[index % len(names):] + names[: index % len(names)]
        for name in names:
            fn = steady_fns[name]
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            per_round[name].append((time.perf_counter() - start) / calls)
        # The first calls of a site, each on a fresh module, against check() of the same batches.
        pair = [("first", first_calls), ("check", check_calls)]
        for name, fn in pair if index % 2 else pair[::-1]:
            per_round[name].append(statistics.median(fn() for _ in range(3)))
    median = statistics.median
    steady = median(r - e for r, e in zip(per_round["repeated"], per_round["empty"]))
    sampled_over = median(s_ - e for s_, e in zip(per_round["sampled"], per_round["empty"]))
    first_ratio = median(f / c for f, c in zip(per_round["first"], per_round["check"]))
    # Against the plain program: a module with no hook at all skips torch's hook machinery too
    # (the last value: what the model steps' computed attach() share is made of, in seconds).
    over_no_hook = median(s_ - b for s_, b in zip(per_round["sampled"], per_round["bare"]))
    return (
        steady * 1e6,
        f"{median(per_round['repeated']) * 1e6:.1f} us attached, {median(per_round['empty']) * 1e6:.1f} us with an empty pre-hook",
        first_ratio,
        f"first 10 calls {median(per_round['first']) * 1e6:.0f} us each, check() + the loss {median(per_round['check']) * 1e6:.0f} us",
        sampled_over * 1e6,
        over_no_hook,
    )


def model_table(rows: list[dict[str, float]]) -> list[str]:
    lines = [
        "| training step | plain | mechanism, computed | mechanism only | watch() | attach() | watch(thorough=True) | empty mode |",
        "|---|---|---|---|---|---|---|---|",
    ]
    titles = {**MODELS, **LIBRARY_MODELS}
    for row in rows:
        cells = [f"{row[k]:.3f}" if k in row else "-" for k in ("mechanism", "watch", "attach", "thorough", "mode")]
        computed = f"+{row['computed'] * 100:.2f}% ({row['wrapped_calls']} calls)"
        lines.append(f"| {titles[row['name']]} | {row['plain_ms']:.1f} ms | {computed} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--models-only", action="store_true", help="only the model training steps (3 and 4)")
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds of the model steps")
    parser.add_argument("--steps", type=int, default=2, help="steps per variant per round")
    parser.add_argument("--libraries", action="store_true", help="the model steps with timm's and smp's own models and losses (needs both)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = []
    if not args.models_only:
        ratio, detail = check_vs_annotation()
        results.append(("check() 32x10 / jaxtyping+beartype overhead", ratio, TARGETS["check_vs_annotation"], "x", detail))
        lm_ratio, lm_detail, mem_ratio, mem_detail = lm_size()
        results.append(("check() 2048x32000 / the loss itself", lm_ratio, TARGETS["lm_check_vs_loss"], "%", lm_detail))
        results.append(("check() 2048x32000 extra peak memory / input size", mem_ratio, TARGETS["lm_peak_memory"], "%", mem_detail))
    steady, steady_detail, first, first_detail, sampled, attach_cost = attach_per_call()
    results.append(("attach() steady state, same tensors every call, us over an empty pre-hook", steady, TARGETS["attach_steady_us"], "us", steady_detail + f"; {sampled:.1f} us with the default policy's 1-in-1000 values sample spread over the calls"))
    results.append(("attach() first calls / check() + loss", first, TARGETS["attach_first"], "x", first_detail))
    rows = model_overheads(args.rounds, args.steps, LIBRARY_MODELS if args.libraries else MODELS)
    for row in rows:
        # As for attach() below: the verdict is the computed cost, since the measured ratios move by
        # several percent from run to run on this machine (the "mechanism only" column shows how
        # much, for a variant that does less than watch() does); both are shown.
        results.append((f"{row['name']} step under watch() / plain", row["watch_computed"], TARGETS["watch_step"], "%", f"computed (mechanism {row['computed'] * 100:+.2f}%); measured {(row['watch'] - 1) * 100:+.1f}%, mechanism alone {(row['mechanism'] - 1) * 100:+.1f}%"))
        if "attach" in row:
            # One loss call a step: what attach() adds to that call, over the plain step, is the
            # verdict; the measured ratio is shown beside it, since this machine's noise (the
            # "mechanism only" column) is larger than the cost.
            computed = attach_cost / (row["plain_ms"] / 1e3)
            results.append((f"{row['name']} step with attach() / plain", computed, TARGETS["attach_step"], "%", f"computed ({attach_cost * 1e6:.1f} us on one loss call a step); measured {(row['attach'] - 1) * 100:+.1f}%, as noisy as mechanism alone"))
    width = max(len(r[0]) for r in results)
    print(f"losslint {losslint.__version__}, torch {torch.__version__}, 1 thread\n")
    for name, value, target, unit, detail in results:
        shown = f"{value:.2f}x" if unit == "x" else f"{value:.1f}us" if unit == "us" else f"{value * 100:+.2f}%" if abs(value) < 0.001 else f"{value * 100:+.1f}%"
        limit = f"{target:.0f}x" if unit == "x" else f"{target:.0f}us" if unit == "us" else f"{target * 100:.0f}%"
        verdict = "ok" if value <= target else "OVER"
        print(f"{name:<{width}}  {shown:>8}  (target <= {limit:>4}, {verdict})  {detail}")
    print(f"\nModel training steps, each variant's step time / that of a plain step run beside it, median of {args.rounds} interleaved rounds of {args.steps} steps:\n")
    print("\n".join(model_table(rows)))
    if not args.skip_scaling and not args.models_only:
        print("\ncheck() of CrossEntropyLoss per call, by batch size N and class count C:")
        print("\n".join(scaling()))
    import training_loop  # beside this file: `python benchmarks/overhead.py` puts benchmarks/ on sys.path

    print()
    print("\n".join(training_loop.lines(training_loop.measure())))
    print("\n".join(training_loop.far_lines(training_loop.measure_far_line())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
