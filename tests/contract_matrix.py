"""A producer x target x loss matrix whose verdicts come from each loss's documented contract.

Every cell is one call: a head's output made by a *producer* (raw Linear logits, a softmax, a ReLU, a
softmax over the wrong dim, token logits ...), a target made the way a dataset makes it (0-based or
1-based class indices, one-hot, {0, 255} masks ...), and one torch loss configuration. The verdict is
derived here, from the torch documentation of what the loss's input and target must be, written as
data (`CONTRACTS`), never from what losslint says:

- "raise": torch rejects the call (found by running it, forward only);
- "misuse": torch computes a value, but the call breaks the documented contract (silent nonsense);
- "ok": the call is what the documentation describes.

`measure()` runs losslint's check() on every cell and counts: misuse cells flagged (a finding of
severity warning or error), false alarms (such a finding on an "ok" cell) and raise predictions
(`torch_raises` on some finding exactly when torch raised). Run it as a script for the figures:

    PYTHONPATH=$PWD python tests/contract_matrix.py
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

N, C = 64, 5  # rows and classes of the plain (N, C) heads

# ---- producers: the kinds of values a head's output holds, and where its classes lie ----------------


@dataclass(frozen=True)
class Producer:
    name: str
    kind: str  # the documented kind of the values (see KIND_WORDS)
    make: Callable[[torch.Generator], torch.Tensor]
    # Shape of one sample of labels (the batch dims) and the class count; classes are the LAST dim
    # of what `make` returns (a Linear's output features), except where `class_dim` says otherwise.
    batch: tuple[int, ...] = (N,)
    classes: int = C


def _logits(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * 2


def _linear(g: torch.Generator, *lead: int, features: int = 16, classes: int = 8) -> torch.Tensor:
    head = nn.Linear(features, classes)
    with torch.no_grad():
        head.weight.copy_(torch.randn(classes, features, generator=g) * 0.5)
    return head(torch.randn(*lead, features, generator=g))


def _conv_channels_last(g: torch.Generator) -> torch.Tensor:
    conv = nn.Conv2d(4, 8, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(8, 4, 1, 1, generator=g))
    return conv(torch.randn(2, 4, 8, 8, generator=g)).permute(0, 2, 3, 1)


KIND_WORDS = {
    "logits": "raw scores, any real values",
    "probabilities": "each row a distribution over the classes (softmax)",
    "log_probabilities": "each row a log-distribution (log_softmax)",
    "element_probabilities": "each value a probability on its own (sigmoid)",
    "element_log_probabilities": "each value a log-probability on its own (logsigmoid)",
    "rectified": "non-negative with exact zeros (ReLU)",
    "positive": "strictly positive (softplus, exp)",
    "bounded": "confined to [-1, 1] (tanh)",
    "twice": "an activation applied twice",
    "twice_log": "log_softmax applied to probabilities",
    "wrong_dim": "normalized over the batch, not the classes",
}

PRODUCERS = [
    Producer("linear logits", "logits", lambda g: _logits(g, N, C)),
    Producer("softmax", "probabilities", lambda g: _logits(g, N, C).softmax(1)),
    Producer("log_softmax", "log_probabilities", lambda g: _logits(g, N, C).log_softmax(1)),
    Producer("sigmoid", "element_probabilities", lambda g: _logits(g, N, C).sigmoid()),
    Producer("logsigmoid", "element_log_probabilities", lambda g: F.logsigmoid(_logits(g, N, C))),
    Producer("relu", "rectified", lambda g: _logits(g, N, C).relu()),
    Producer("softplus", "positive", lambda g: F.softplus(_logits(g, N, C))),
    Producer("exp", "positive", lambda g: _logits(g, N, C).exp()),
    Producer("tanh", "bounded", lambda g: _logits(g, N, C).tanh()),
    Producer("softmax of softmax", "twice", lambda g: _logits(g, N, C).softmax(1).softmax(1)),
    Producer("sigmoid of sigmoid", "twice", lambda g: _logits(g, N, C).sigmoid().sigmoid()),
    Producer("log_softmax of probabilities", "twice_log", lambda g: _logits(g, N, C).softmax(1).log_softmax(1)),
    Producer("softmax over dim 0", "wrong_dim", lambda g: _logits(g, N, C).softmax(0)),
    # Layouts with the classes last. Square where torch would otherwise refuse the shapes, so that the
    # silent misreading (the sequence or the batch taken for the classes) is what is measured.
    # Made by the layers that make them in a model (a Linear over the features; a 1x1 convolution then
    # permuted to channels-last), with their autograd history, as a training step hands them to the loss.
    Producer("(N, L, C) token logits", "logits", lambda g: _linear(g, 16, 8), batch=(16, 8), classes=8),
    Producer("channels-last logits", "logits", lambda g: _conv_channels_last(g), batch=(2, 8, 8), classes=8),
    Producer("(T, N, V) sequence logits", "logits", lambda g: _linear(g, 8, 8), batch=(8, 8), classes=8),
]


def classes_last(producer: Producer) -> bool:
    """Whether the producer's classes sit where a loss that reads classes at dim 1 would not find them."""
    return len(producer.batch) >= 2


# ---- targets ---------------------------------------------------------------------------------------

TargetMaker = Callable[[torch.Generator, tuple[int, ...], int], torch.Tensor]


def _indices(g, batch, k):
    return torch.randint(0, k, batch, generator=g)


def _padded(g, batch, k):
    t = _indices(g, batch, k)
    return torch.where(torch.rand(batch, generator=g) < 0.2, torch.full_like(t, -100), t)


def _multi_hot(g, batch, k):
    t = (torch.rand(*batch, k, generator=g) < 0.4).float()
    t.view(-1, k)[0, :2] = 1  # at least one row with two labels
    return t


TARGETS: dict[str, TargetMaker] = {
    "class indices 0-based": _indices,
    "class indices 1-based": lambda g, b, k: _indices(g, b, k) + 1,
    "class indices with -100 padding": _padded,
    "one-hot int64": lambda g, b, k: F.one_hot(_indices(g, b, k), k),
    "one-hot float": lambda g, b, k: F.one_hot(_indices(g, b, k), k).float(),
    "multi-hot float": _multi_hot,
    "soft labels": lambda g, b, k: _logits(g, *b, k).softmax(-1),
    "{0,1} float": lambda g, b, k: (torch.rand(*b, k, generator=g) < 0.5).float(),
    "{-1,1} float": lambda g, b, k: (torch.rand(*b, k, generator=g) < 0.5).float() * 2 - 1,
    "{0,255} mask": lambda g, b, k: (torch.rand(*b, k, generator=g) < 0.5).float() * 255,
    "counts": lambda g, b, k: torch.poisson(torch.full((*b, k), 3.0), generator=g),
    "real values": lambda g, b, k: _logits(g, *b, k),
    "probabilities per element": lambda g, b, k: torch.rand(*b, k, generator=g),
    "log-probabilities": lambda g, b, k: _logits(g, *b, k).log_softmax(-1),
}

# Target groups the contracts speak of.
INDICES = {"class indices 0-based"}
DISTRIBUTIONS = {"one-hot float", "soft labels"}  # rows that sum to 1
BINARY = {"one-hot float", "multi-hot float", "{0,1} float"}
UNIT_INTERVAL = BINARY | {"soft labels", "probabilities per element"}
NONNEGATIVE = UNIT_INTERVAL | {"counts", "{0,255} mask"}
ALL_TARGETS = set(TARGETS)

# ---- contracts: what the torch documentation says each loss takes ----------------------------------

SCORE_KINDS = {"logits"}
# Kinds that are logits up to a per-row shift: a loss that is invariant to such a shift computes the
# same value (CrossEntropyLoss applies log_softmax itself; a multi-class margin compares differences).
SHIFT_OF_LOGITS = {"logits", "log_probabilities"}


@dataclass(frozen=True)
class Contract:
    loss: Callable[[], nn.Module]
    inputs: frozenset[str]  # producer kinds the documented input admits
    targets: frozenset[str]  # target names the documented target admits
    classes_at_dim_1: bool = False  # reads the class dim at 1: a classes-last layout is misread
    elementwise: bool = False  # input and target of one shape, judged value by value
    note: str = ""


def _c(loss, inputs, targets, **kw) -> Contract:
    return Contract(loss, frozenset(inputs), frozenset(targets), **kw)


CONTRACTS: dict[str, Contract] = {
    # "input: unnormalized logits; target: class indices in [0, C) or ignore_index, or class
    # probabilities of the input's shape". log_softmax first gives the same value (harmless).
    "CrossEntropyLoss()": _c(nn.CrossEntropyLoss, SHIFT_OF_LOGITS,
                             INDICES | {"class indices with -100 padding"} | DISTRIBUTIONS, classes_at_dim_1=True),
    "CrossEntropyLoss(label_smoothing=0.1)": _c(lambda: nn.CrossEntropyLoss(label_smoothing=0.1), SHIFT_OF_LOGITS,
                                                INDICES | {"class indices with -100 padding"} | DISTRIBUTIONS, classes_at_dim_1=True),
    # "input: log-probabilities of each class; target: class indices in [0, C) or ignore_index".
    "NLLLoss()": _c(nn.NLLLoss, {"log_probabilities"}, INDICES | {"class indices with -100 padding"}, classes_at_dim_1=True),
    # "input: probabilities in [0, 1]; target: same shape, values in [0, 1]".
    "BCELoss()": _c(nn.BCELoss, {"element_probabilities", "probabilities"}, UNIT_INTERVAL, elementwise=True),
    # "input: logits; target: same shape, values in [0, 1]".
    "BCEWithLogitsLoss()": _c(nn.BCEWithLogitsLoss, SCORE_KINDS, UNIT_INTERVAL, elementwise=True),
    "BCEWithLogitsLoss(pos_weight)": _c(lambda: nn.BCEWithLogitsLoss(pos_weight=torch.full((C,), 2.0)), SCORE_KINDS, UNIT_INTERVAL, elementwise=True),
    # "input: (N, C) scores; target: (N, C) with 1 for a present label, 0 for an absent one".
    "MultiLabelSoftMarginLoss()": _c(nn.MultiLabelSoftMarginLoss, SCORE_KINDS, UNIT_INTERVAL | {"one-hot int64"}, elementwise=True),
    # "input: (N, C) scores; target: class indices in [0, C)". The hinge compares score differences,
    # so a log_softmax (a per-row shift) leaves it unchanged.
    "MultiMarginLoss()": _c(nn.MultiMarginLoss, SHIFT_OF_LOGITS, INDICES, classes_at_dim_1=True),
    # "target: (N, C) class indices, padded with -1 after the last one": no target here has that form.
    "MultiLabelMarginLoss()": _c(nn.MultiLabelMarginLoss, SHIFT_OF_LOGITS, set(), classes_at_dim_1=True),
    # "input: scores; target: same shape, values 1 or -1".
    "SoftMarginLoss()": _c(nn.SoftMarginLoss, SCORE_KINDS, {"{-1,1} float"}, elementwise=True),
    # "input: log-probabilities; target: probabilities (log-probabilities with log_target=True)".
    "KLDivLoss(batchmean)": _c(lambda: nn.KLDivLoss(reduction="batchmean"), {"log_probabilities"}, DISTRIBUTIONS, elementwise=True),
    "KLDivLoss(batchmean, log_target)": _c(lambda: nn.KLDivLoss(reduction="batchmean", log_target=True), {"log_probabilities"},
                                           {"log-probabilities"}, elementwise=True),
    # "input: the log of the rate (log_input=True) or the rate (log_input=False); target: counts ~ Poisson".
    # A rate that an activation made non-negative and that is then exponentiated again is no log-rate.
    "PoissonNLLLoss()": _c(nn.PoissonNLLLoss, {"logits", "log_probabilities", "element_log_probabilities", "bounded"},
                           NONNEGATIVE | {"one-hot int64"}, elementwise=True),
    "PoissonNLLLoss(log_input=False)": _c(lambda: nn.PoissonNLLLoss(log_input=False),
                                          {"probabilities", "element_probabilities", "rectified", "positive", "twice", "wrong_dim"},
                                          NONNEGATIVE | {"one-hot int64"}, elementwise=True),
    # Regression: any real input, a target of the input's shape.
    "MSELoss()": _c(nn.MSELoss, set(KIND_WORDS), ALL_TARGETS, elementwise=True),
    "L1Loss()": _c(nn.L1Loss, set(KIND_WORDS), ALL_TARGETS, elementwise=True),
    "SmoothL1Loss()": _c(nn.SmoothL1Loss, set(KIND_WORDS), ALL_TARGETS, elementwise=True),
    "HuberLoss()": _c(nn.HuberLoss, set(KIND_WORDS), ALL_TARGETS, elementwise=True),
}

# Index-like targets: they have the batch shape, not the input's.
INDEX_TARGETS = {"class indices 0-based", "class indices 1-based", "class indices with -100 padding"}
BOUNDED_UNIT = {"probabilities", "element_probabilities", "twice", "wrong_dim"}


def contract_verdict(loss: str, producer: Producer, target: str) -> tuple[str, str]:
    """'ok' or 'misuse' from the documented contract, with the reason (the first clause broken)."""
    c = CONTRACTS[loss]
    if producer.kind not in c.inputs:
        return "misuse", f"input is {KIND_WORDS[producer.kind]}; {loss} documents otherwise"
    if c.classes_at_dim_1 and classes_last(producer):
        return "misuse", "classes are the last dim; the loss reads them at dim 1"
    if c.elementwise and target in INDEX_TARGETS:
        return "misuse", "class indices broadcast against a tensor of scores"
    if target not in c.targets:
        return "misuse", f"target {target!r} is not what {loss} documents"
    if loss.startswith("BCELoss") and producer.kind == "probabilities" and target not in DISTRIBUTIONS:
        # Rows that sum to 1 cannot fit targets whose rows are not distributions (several labels per row).
        return "misuse", "softmax rows against a multi-label target"
    if loss == "PoissonNLLLoss(log_input=False)" and producer.kind == "rectified":
        # A rate of exactly 0 where a count is positive has likelihood 0: the loss is -log(eps), not a likelihood.
        return "misuse", "zero rates where counts are positive"
    if c.elementwise and producer.kind in BOUNDED_UNIT and loss.startswith(("MSE", "L1", "SmoothL1", "Huber")):
        # A prediction confined to [0, 1] regressed onto values outside it.
        if target not in UNIT_INTERVAL | {"one-hot int64"}:
            return "misuse", "a [0, 1] prediction regressed onto values outside [0, 1]"
    return "ok", ""


# ---- running a cell --------------------------------------------------------------------------------


@dataclass
class Cell:
    loss: str
    producer: str
    target: str
    verdict: str  # ok | misuse | raise
    reason: str
    torch_error: str
    flagged: bool  # a warning or error finding
    predicted_raise: bool
    findings: list[str]

    def __str__(self) -> str:
        return (f"{self.loss} <- {self.producer} x {self.target}: {self.verdict}"
                f"{' (' + self.reason + ')' if self.reason else ''}{' torch: ' + self.torch_error if self.torch_error else ''}; "
                f"losslint: {', '.join(self.findings) or 'nothing'}")


def _torch_raises(module: nn.Module, x: torch.Tensor, t: torch.Tensor) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module(x, t)
    except Exception as e:  # noqa: BLE001 - any rejection counts
        return f"{type(e).__name__}: {str(e).splitlines()[0][:100]}"
    return ""


def cells(losses=None, producers=None, targets=None):
    g = torch.Generator().manual_seed(0)
    for loss_name, contract in CONTRACTS.items():
        if losses and loss_name not in losses:
            continue
        for producer in PRODUCERS:
            if producers and producer.name not in producers:
                continue
            for target_name, make_target in TARGETS.items():
                if targets and target_name not in targets:
                    continue
                g.manual_seed(zlib.crc32(f"{producer.name}/{target_name}".encode()))
                x = producer.make(g)
                t = make_target(g, producer.batch, producer.classes)
                module = contract.loss()
                if "pos_weight" in loss_name and producer.classes != C:
                    module = nn.BCEWithLogitsLoss(pos_weight=torch.full((producer.classes,), 2.0))
                yield judged(
                    loss_name, producer.name, target_name, module, x, t,
                    lambda: contract_verdict(loss_name, producer, target_name),
                )


def judged(loss: str, producer: str, target: str, module: nn.Module, x: torch.Tensor, t: torch.Tensor, verdict) -> Cell:
    """One cell: torch runs the call (a raise is the verdict), else `verdict()` gives the documented
    one; losslint's check() of the same call is recorded beside it."""
    import losslint

    error = _torch_raises(module, x, t)
    decided, reason = ("raise", "") if error else verdict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = losslint.check(module, x, t)
    serious = [f for f in report.findings if f.severity in ("warning", "error")]
    return Cell(
        loss, producer, target, decided, reason, error,
        flagged=bool(serious),
        predicted_raise=any(f.torch_raises for f in report.findings),
        findings=[f"{f.severity}[{f.code}]" for f in report.findings],
    )


@dataclass
class Figures:
    misuse: int
    flagged: int
    ok: int
    false_alarms: list[Cell]
    raises: int
    raise_mismatches: list[Cell]
    missed: list[Cell]

    def __str__(self) -> str:
        pct = 100.0 * self.flagged / max(self.misuse, 1)
        return (f"misuse flagged {self.flagged}/{self.misuse} ({pct:.1f}%); false alarms {len(self.false_alarms)} of {self.ok} ok cells; "
                f"raises {self.raises}, torch_raises wrong on {len(self.raise_mismatches)} cells")


def measure(**selection) -> Figures:
    return figures(cells(**selection))


def figures(judged_cells) -> Figures:
    all_cells = list(judged_cells)
    misuse = [c for c in all_cells if c.verdict == "misuse"]
    ok = [c for c in all_cells if c.verdict == "ok"]
    return Figures(
        misuse=len(misuse),
        flagged=sum(c.flagged for c in misuse),
        ok=len(ok),
        false_alarms=[c for c in ok if c.flagged],
        raises=sum(c.verdict == "raise" for c in all_cells),
        raise_mismatches=[c for c in all_cells if c.predicted_raise != (c.verdict == "raise")],
        missed=[c for c in misuse if not c.flagged],
    )


def print_figures(measured: Figures, verbose: bool) -> None:
    """The figures as the matrices print them when run as scripts (`-v`: every cell that is off)."""
    from collections import Counter

    print(measured)
    if verbose:
        for c in measured.false_alarms:
            print("FALSE ALARM", c)
        for c in measured.raise_mismatches:
            print("RAISE", c)
        for c in measured.missed:
            print("MISSED", c)
    print("missed by loss:", dict(Counter(c.loss for c in measured.missed)))
    print("missed by producer:", dict(Counter(c.producer for c in measured.missed)))
    print("missed by target:", dict(Counter(c.target for c in measured.missed)))


if __name__ == "__main__":
    import sys

    print_figures(measure(), "-v" in sys.argv)
