"""The producer x target x loss matrix for library losses whose own switches decide what the input is.

The same discipline as tests/contract_matrix.py (torch's losses): every cell is one call, a segmentation
head's output made by a *producer* (raw logits, a softmax over the classes, a sigmoid, a softmax over
the wrong dim, a ReLU, a log_softmax), a target in a layout the loss documents, and one loss
configuration. The verdict comes from the library's documented contract, written here as data
(`CONTRACTS`, each entry with the docstring sentence of the installed release it comes from: MONAI
1.6.1, kornia 0.9), never from what losslint says:

- "raise": the library rejects the call (found by running it, forward only);
- "misuse": the library computes a value, but the call breaks the documented contract;
- "ok": the call is what the documentation describes.

The targets are the layouts the loss documents (MONAI: a label map (N, 1, H, W) with to_onehot_y=True,
or one channel per class (N, C, H, W); kornia: int64 class indices (N, H, W)), where the verdict is
decided by the prediction's kind against the kind the configuration's switches (sigmoid=, softmax=,
use_softmax, mode, from_logits) make the loss expect, and a few it does not document (a label map
without its channel dim, float labels), which the library rejects or computes silently on (misuse). `measure()` counts as contract_matrix.measure() does. Run it as a script:

    PYTHONPATH=$PWD python tests/library_contract_matrix.py [-v]
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn

from contract_matrix import Figures, figures, judged, print_figures

N, C, H, W = 4, 3, 8, 8  # a small batch of 8x8 maps over three classes

# ---- producers: what a segmentation head's output holds -------------------------------------------


@dataclass(frozen=True)
class Producer:
    name: str
    kind: str  # the kind of the values, in contract_matrix.KIND_WORDS' words
    make: Callable[[torch.Generator], torch.Tensor]


def _logits(g: torch.Generator) -> torch.Tensor:
    return torch.randn(N, C, H, W, generator=g) * 2


PRODUCERS = [
    Producer("raw logits", "logits", _logits),
    Producer("softmax over the classes", "probabilities", lambda g: _logits(g).softmax(1)),
    Producer("sigmoid", "element_probabilities", lambda g: _logits(g).sigmoid()),
    Producer("softmax over the batch dim", "wrong_dim", lambda g: _logits(g).softmax(0)),
    Producer("softmax over the width", "wrong_dim", lambda g: _logits(g).softmax(-1)),
    Producer("relu", "rectified", lambda g: _logits(g).relu()),
    Producer("log_softmax", "log_probabilities", lambda g: _logits(g).log_softmax(1)),
    Producer("tanh", "bounded", lambda g: _logits(g).tanh()),
    Producer("softplus", "positive", lambda g: nn.functional.softplus(_logits(g))),
    Producer("softmax of softmax", "twice", lambda g: _logits(g).softmax(1).softmax(1)),
    Producer("sigmoid of sigmoid", "twice", lambda g: _logits(g).sigmoid().sigmoid()),
]

# ---- targets: the layouts each library documents, with the option that layout needs ---------------


@dataclass(frozen=True)
class Target:
    name: str
    make: Callable[[torch.Generator], torch.Tensor]
    options: dict  # what the loss must be told for this layout (MONAI's to_onehot_y)
    documented: bool = True  # a layout the loss documents; one it does not is misuse where it runs


def _labels(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randint(0, C, shape, generator=g)


def _ignored(g: torch.Generator) -> torch.Tensor:
    t = _labels(g, N, H, W)
    return torch.where(torch.rand(N, H, W, generator=g) < 0.2, torch.full_like(t, -100), t)


MONAI_TARGETS = [
    # "target: the shape should be BNH[WD] or B1H[WD]"; to_onehot_y: "whether to convert the `target`
    # into the one-hot format, using the number of classes inferred from `input`".
    Target("label map (N, 1, H, W) int64, to_onehot_y=True", lambda g: _labels(g, N, 1, H, W), {"to_onehot_y": True}),
    Target("label map (N, 1, H, W) float, to_onehot_y=True", lambda g: _labels(g, N, 1, H, W).float(), {"to_onehot_y": True}),
    Target("one-hot (N, C, H, W) float", lambda g: nn.functional.one_hot(_labels(g, N, H, W), C).permute(0, 3, 1, 2).float(), {}),
    # Layouts the docstrings do not allow: a label map without its channel dim, and one whose loss is
    # not told to one-hot it (its single channel neither 1-with-to_onehot_y nor C).
    Target("label map (N, H, W) without its channel dim, to_onehot_y=True", lambda g: _labels(g, N, H, W), {"to_onehot_y": True}, False),
    Target("label map (N, 1, H, W) int64, to_onehot_y=False", lambda g: _labels(g, N, 1, H, W), {}, False),
]
KORNIA_TARGETS = [
    # "target: labels torch.Tensor with shape (N, H, W) where each value is 0 <= targets[i] <= C-1";
    # ignore_index: entries with this value (default -100) are left out.
    Target("class indices (N, H, W) int64", lambda g: _labels(g, N, H, W), {}),
    Target("class indices (N, H, W) int64, -100 ignored", _ignored, {}),
    # Not int64 class indices: float labels, a one-hot map.
    Target("class indices (N, H, W) float", lambda g: _labels(g, N, H, W).float(), {}, False),
    Target("one-hot (N, C, H, W) int64", lambda g: nn.functional.one_hot(_labels(g, N, H, W), C).permute(0, 3, 1, 2), {}, False),
]

SMP_MULTICLASS_TARGETS = [
    # "y_true - torch.Tensor of shape (N, H, W) or (N, C, H, W)": (N, H, W) class indices in multiclass mode.
    Target("class map (N, H, W) int64", lambda g: _labels(g, N, H, W), {}),
    # A multilabel mask in multiclass mode.
    Target("one-hot (N, C, H, W) float", lambda g: nn.functional.one_hot(_labels(g, N, H, W), C).permute(0, 3, 1, 2).float(), {}, False),
]
SMP_MULTILABEL_TARGETS = [
    # multilabel mode: a {0, 1} mask per channel, (N, C, H, W).
    Target("one-hot (N, C, H, W) float", lambda g: nn.functional.one_hot(_labels(g, N, H, W), C).permute(0, 3, 1, 2).float(), {}),
    Target("multi-hot (N, C, H, W) float", lambda g: (torch.rand(N, C, H, W, generator=g) < 0.4).float(), {}),
    # A multiclass class map in multilabel mode.
    Target("class map (N, H, W) int64", lambda g: _labels(g, N, H, W), {}, False),
]

# ---- contracts: what each configuration's documentation says its input is --------------------------

# Kinds a loss that takes the softmax (or log_softmax) over the classes itself computes the same value
# on: a log_softmax is the logits shifted per pixel, and softmax(x - c) = softmax(x).
LOGITS_UP_TO_SHIFT = frozenset({"logits", "log_probabilities"})
# A loss that applies a sigmoid element by element: nothing but the raw logits gives the intended value.
LOGITS = frozenset({"logits"})
# A loss that scores the values as they are: probabilities for each class, a softmax's or a sigmoid's.
PROBABILITIES = frozenset({"probabilities", "element_probabilities"})
# Two terms that want different things of one input (a Dice term with no activation scores
# probabilities, a cross-entropy or focal term applies its own): no input meets both.
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Contract:
    library: str  # which targets it documents: "monai", "kornia", "smp-multiclass", "smp-multilabel"
    make: Callable[..., nn.Module]  # called with the target's options
    inputs: frozenset[str]  # producer kinds the documented input admits


def _monai(name: str, **config) -> Callable[..., nn.Module]:
    def make(**options) -> nn.Module:
        import monai.losses

        return getattr(monai.losses, name)(**config, **options)

    return make


def _kornia(name: str, **config) -> Callable[..., nn.Module]:
    def make(**options) -> nn.Module:
        import kornia.losses

        return getattr(kornia.losses, name)(**config, **options)

    return make


def _smp(name: str, *args, **config) -> Callable[..., nn.Module]:
    def make(**options) -> nn.Module:
        import segmentation_models_pytorch.losses

        return getattr(segmentation_models_pytorch.losses, name)(*args, **config, **options)

    return make


# MONAI DiceLoss: "Note that axis N of `input` is expected to be logits or probabilities for each class,
# if passing logits as input, must set `sigmoid=True` or `softmax=True`, or specifying `other_act`."
# sigmoid: "if True, apply a sigmoid function to the prediction"; softmax: "if True, apply a softmax
# function to the prediction". GeneralizedDiceLoss documents the same three options in the same words.
#
# DiceCELoss: sigmoid / softmax are "only used by the `DiceLoss`, don't need to specify activation
# function for `CrossEntropyLoss` and `BCEWithLogitsLoss`" (its ce() "Compute CrossEntropy loss for the
# input logits"): the input is logits whatever the Dice options; with C > 1 the cross-entropy is
# CrossEntropyLoss, which a per-pixel shift leaves unchanged, and so does softmax=True's Dice term;
# sigmoid=True's Dice term is not.
#
# DiceFocalLoss.forward: "input: ... The input should be the original logits due to the restriction of
# ``monai.losses.FocalLoss``", and its FocalLoss is built without use_softmax: a sigmoid focal term,
# which only raw logits feed as intended, whatever sigmoid= / softmax= do for the Dice term.
#
# FocalLoss.forward: "The input should be the original logits since it will be transformed by a
# sigmoid/softmax in the forward function"; use_softmax: "If True, softmax is used. If False, sigmoid is
# used." (softmax_focal_loss takes input.log_softmax(1): a per-pixel shift leaves it unchanged.)
#
# kornia focal_loss: "``pred`` holds logits ``(B, C, *)`` and the softmax over dim 1 is taken inside";
# dice_loss: "``pred`` and ``target`` are those of focal_loss (logits with the softmax taken inside, int64
# class indices ...)"; tversky_loss: "logits ``(B, C, H, W)`` with the softmax taken inside". Each takes a
# softmax or log_softmax over dim 1, which a per-pixel shift leaves unchanged.
#
# segmentation_models_pytorch 0.6 (only in the libraries venv), DiceLoss / JaccardLoss / FocalLoss:
# "from_logits: If True, assumes input is raw logits"; in forward, DiceLoss and JaccardLoss take
# `y_pred.log_softmax(dim=1).exp()` in multiclass mode (a per-pixel shift leaves it unchanged) and
# `F.logsigmoid(y_pred).exp()` otherwise; with from_logits=False they score the values as they are
# (probabilities). FocalLoss applies `focal_loss_with_logits` (a sigmoid) to each class in every mode;
# with from_logits=False in multilabel mode it takes the "inverse sigmoid" of the probabilities first.
# (FocalLoss(multiclass, from_logits=False) is left out: it passes log(p) of "softmax probabilities" to
# a sigmoid focal term, which scores p / (1 + p), not p, so no input computes what its words promise.)
CONTRACTS: dict[str, Contract] = {
    "monai DiceLoss(sigmoid=True)": Contract("monai", _monai("DiceLoss", sigmoid=True), LOGITS),
    "monai DiceLoss(softmax=True)": Contract("monai", _monai("DiceLoss", softmax=True), LOGITS_UP_TO_SHIFT),
    "monai DiceLoss()": Contract("monai", _monai("DiceLoss"), PROBABILITIES),
    "monai GeneralizedDiceLoss(softmax=True)": Contract("monai", _monai("GeneralizedDiceLoss", softmax=True), LOGITS_UP_TO_SHIFT),
    "monai GeneralizedDiceLoss(sigmoid=True)": Contract("monai", _monai("GeneralizedDiceLoss", sigmoid=True), LOGITS),
    "monai GeneralizedDiceLoss()": Contract("monai", _monai("GeneralizedDiceLoss"), PROBABILITIES),
    "monai DiceCELoss(softmax=True)": Contract("monai", _monai("DiceCELoss", softmax=True), LOGITS_UP_TO_SHIFT),
    "monai DiceCELoss(sigmoid=True)": Contract("monai", _monai("DiceCELoss", sigmoid=True), LOGITS),
    "monai DiceCELoss()": Contract("monai", _monai("DiceCELoss"), NOTHING),
    "monai DiceFocalLoss(softmax=True)": Contract("monai", _monai("DiceFocalLoss", softmax=True), LOGITS),
    "monai DiceFocalLoss(sigmoid=True)": Contract("monai", _monai("DiceFocalLoss", sigmoid=True), LOGITS),
    "monai DiceFocalLoss()": Contract("monai", _monai("DiceFocalLoss"), NOTHING),
    "monai FocalLoss()": Contract("monai", _monai("FocalLoss"), LOGITS),
    "monai FocalLoss(use_softmax=True)": Contract("monai", _monai("FocalLoss", use_softmax=True), LOGITS_UP_TO_SHIFT),
    "kornia FocalLoss(alpha=0.5, reduction='mean')": Contract("kornia", _kornia("FocalLoss", alpha=0.5, reduction="mean"), LOGITS_UP_TO_SHIFT),
    "kornia DiceLoss()": Contract("kornia", _kornia("DiceLoss"), LOGITS_UP_TO_SHIFT),
    "kornia TverskyLoss(alpha=0.5, beta=0.5)": Contract("kornia", _kornia("TverskyLoss", alpha=0.5, beta=0.5), LOGITS_UP_TO_SHIFT),
    "smp DiceLoss('multiclass')": Contract("smp-multiclass", _smp("DiceLoss", "multiclass"), LOGITS_UP_TO_SHIFT),
    "smp DiceLoss('multiclass', from_logits=False)": Contract("smp-multiclass", _smp("DiceLoss", "multiclass", from_logits=False), PROBABILITIES),
    "smp DiceLoss('multilabel')": Contract("smp-multilabel", _smp("DiceLoss", "multilabel"), LOGITS),
    "smp DiceLoss('multilabel', from_logits=False)": Contract("smp-multilabel", _smp("DiceLoss", "multilabel", from_logits=False), PROBABILITIES),
    "smp JaccardLoss('multiclass')": Contract("smp-multiclass", _smp("JaccardLoss", "multiclass"), LOGITS_UP_TO_SHIFT),
    "smp JaccardLoss('multilabel')": Contract("smp-multilabel", _smp("JaccardLoss", "multilabel"), LOGITS),
    "smp FocalLoss('multiclass')": Contract("smp-multiclass", _smp("FocalLoss", "multiclass"), LOGITS),
    "smp FocalLoss('multilabel')": Contract("smp-multilabel", _smp("FocalLoss", "multilabel"), LOGITS),
    "smp FocalLoss('multilabel', from_logits=False)": Contract("smp-multilabel", _smp("FocalLoss", "multilabel", from_logits=False), PROBABILITIES),
}

TARGETS = {
    "monai": MONAI_TARGETS, "kornia": KORNIA_TARGETS,
    "smp-multiclass": SMP_MULTICLASS_TARGETS, "smp-multilabel": SMP_MULTILABEL_TARGETS,
}
# The package each library's cells import: a venv without one measures the others.
PACKAGES = {"monai": "monai", "kornia": "kornia", "smp-multiclass": "segmentation_models_pytorch",
            "smp-multilabel": "segmentation_models_pytorch"}

KIND_WORDS = {
    "logits": "raw logits",
    "probabilities": "a softmax over the classes",
    "element_probabilities": "a sigmoid's probabilities",
    "wrong_dim": "a softmax over a dim that is not the classes",
    "rectified": "a ReLU's output",
    "log_probabilities": "log-probabilities (log_softmax)",
    "bounded": "a tanh's output, confined to [-1, 1]",
    "positive": "a softplus's output, strictly positive",
    "twice": "an activation applied twice",
}


def contract_verdict(loss: str, producer: Producer, target: Target | None = None) -> tuple[str, str]:
    """'ok' or 'misuse' from the documented contract, with the reason (the first clause broken)."""
    c = CONTRACTS[loss]
    if target is not None and not target.documented:
        return "misuse", f"target {target.name!r} is not a layout {loss} documents"
    if producer.kind in c.inputs:
        return "ok", ""
    if not c.inputs:
        return "misuse", "no input meets both terms: the Dice term scores probabilities, the other applies its own activation"
    return "misuse", f"input is {KIND_WORDS[producer.kind]}; {loss} documents otherwise"


# ---- running ----------------------------------------------------------------------------------------


def cells(losses=None, producers=None, packages=None):
    g = torch.Generator()
    for loss_name, contract in CONTRACTS.items():
        if losses and loss_name not in losses:
            continue
        if packages and PACKAGES[contract.library] not in packages:
            continue
        for producer in PRODUCERS:
            if producers and producer.name not in producers:
                continue
            for target in TARGETS[contract.library]:
                g.manual_seed(zlib.crc32(f"{producer.name}/{target.name}".encode()))
                x = producer.make(g)
                t = target.make(g)
                module = contract.make(**target.options)
                yield judged(
                    loss_name, producer.name, target.name, module, x, t,
                    lambda: contract_verdict(loss_name, producer, target),
                )


def measure(**selection) -> Figures:
    return figures(cells(**selection))


if __name__ == "__main__":
    import importlib.util
    import sys

    # Every library this interpreter has (smp lives in another venv than kornia).
    print_figures(measure(packages={p for p in PACKAGES.values() if importlib.util.find_spec(p) is not None}), "-v" in sys.argv)
