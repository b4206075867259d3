"""suggest() on the task layouts people meet: the right loss is proposed, nothing that means something else.

Each situation is a prediction and a target as a model and a data loader produce them (a binary head of
one column, 1-based labels, a channels-last segmentation map, token logits padded with -100, a teacher's
log-probabilities, ...), given to `suggest()` the way a user would: without a task where the tensors say
it, with one where only the user knows it (distillation, ranking pairs, CTC). For each:

- right: every loss the documentation names for that layout is among the proposals (as it is or converted);
- wrong: no proposal whose use would compute something else for that task. What is wrong is written per
  situation from the losses' documented contracts (a regression loss on class labels, class indices
  drawn from a distribution by argmax, a distribution loss that reads log-probabilities as
  probabilities, a multi-class loss on multi-hot rows, a call that leaves the void label 255 in, ...),
  not from what losslint says;
- every proposal runs as written on the user's tensors, torch accepts it and check() finds it clean;
  where the documentation fixes the value (the token loss is the loss over the flattened tokens), the
  proposal computes it;
- where check() on the raw tensors writes a conversion on its help line, suggest() proposes that same
  conversion for that loss (one conversion model behind both).

`python tests/test_suggest_layouts.py` prints the tally (situations, right loss proposed, wrong
proposals, proposals that run and are clean).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.advice.suggestion import suggest
from losslint.evidence.conversion import expressions_in

N, C = 16, 5

# The losses by what they compute, from their documentation.
REGRESSION = ("MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "PoissonNLLLoss", "GaussianNLLLoss")
ONE_CLASS = ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss")  # one class per sample (or a distribution: CE)
INDEPENDENT = ("BCELoss", "BCEWithLogitsLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiLabelMarginLoss")
DISTRIBUTION = ("KLDivLoss",)
METRIC = ("CosineEmbeddingLoss", "HingeEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "MarginRankingLoss")


# ---- what makes a proposal wrong ------------------------------------------------------------------

Wrong = Callable[[object], "str | None"]


def losses(*names: str, why: str) -> Wrong:
    """Any proposal of these losses."""
    return lambda o: why if o.loss in names else None


def lacking(names: tuple[str, ...] | str | None, *needed: str, why: str) -> Wrong:
    """A proposal of these losses (None: any) whose call has none of `needed`."""
    names = (names,) if isinstance(names, str) else names
    return lambda o: why if (names is None or o.loss in names) and not any(n in o.call for n in needed) else None


def containing(text: str, why: str) -> Wrong:
    return lambda o: why if text in o.call else None


NOT_REGRESSION = losses(*REGRESSION, why="a regression loss reads labels or distributions as real numbers")
NOT_METRIC = losses(*METRIC, why="a metric-learning loss compares pairs, not a prediction with its label")
NOT_DISTRIBUTION = losses(*DISTRIBUTION, why="KL divergence to a label is distillation, not this task")
NOT_ONE_CLASS = losses(*ONE_CLASS, why="a one-class-per-sample loss on a per-sample yes/no (C = 1) or on several positives")
NOT_INDEPENDENT = losses(*INDEPENDENT, why="independent yes/no per class does not match a distribution over classes")
NO_ARGMAX = containing("argmax", "argmax throws away the soft target's distribution")
CLASSIFICATION = (NOT_REGRESSION, NOT_METRIC)
BINARY_WRONG = (*CLASSIFICATION, NOT_ONE_CLASS, NOT_DISTRIBUTION)
MULTICLASS_WRONG = (*CLASSIFICATION, NOT_DISTRIBUTION)
MULTILABEL_WRONG = (*CLASSIFICATION, NOT_DISTRIBUTION, NO_ARGMAX, losses(*ONE_CLASS, why="a multi-hot row is not one class nor a distribution"))
REGRESSION_WRONG = (
    losses(*ONE_CLASS, *INDEPENDENT, *DISTRIBUTION, *METRIC, why="a classification or distribution loss on real-valued targets"),
)
DISTILLATION_WRONG = (
    NOT_REGRESSION,
    NOT_METRIC,
    NOT_INDEPENDENT,
    losses("NLLLoss", "MultiMarginLoss", why="class indices of the teacher lose its distribution"),
    NO_ARGMAX,
)
# A student's raw logits: KLDivLoss takes log-probabilities.
STUDENT_LOGITS = lacking("KLDivLoss", "log_softmax", why="KLDivLoss's input must be log-probabilities")


# ---- the situations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    name: str
    make: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]
    right: tuple[str, ...]  # losses that must be proposed
    wrong: tuple[Wrong, ...]
    task: str | None = None
    # (loss module, argument, expression): check(module, prediction, target) writes it on a help line,
    # and suggest()'s proposal of that loss converts the argument with it.
    agree: tuple[tuple[str, str, str], ...] = ()
    # (loss, the documented value of the intended computation): the proposal of that loss computes it.
    intended: tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] | None = None
    guided: tuple[str, ...] = ()  # losses of more than two tensors that must come with a checked call


def labels(g, *shape, low=0, high=C):
    return torch.randint(low, high, shape, generator=g)


def bits(g, *shape):
    return (torch.rand(*shape, generator=g) > 0.5).float()


def one_based(g):
    return torch.arange(1, C + 1).repeat(N // C + 1)[:N][torch.randperm(N, generator=g)]


def padded(g, n, length, classes=C):
    target = labels(g, n, length, high=classes)
    target[:, length - 3 :] = -100  # the padding of the shorter sequences, as a collator writes it
    target[0, :] = labels(g, length, high=classes)
    return target


def voided(g, *shape):
    target = labels(g, *shape)
    target[..., :2, :] = 255  # the void border of a segmentation mask (its first rows)
    return target


def soft_rows(g):
    """Label-smoothed (0.1) one-hot rows mixed by mixup: class probabilities."""
    a = F.one_hot(labels(g, N), C).float() * 0.9 + 0.1 / C
    b = F.one_hot(labels(g, N), C).float() * 0.9 + 0.1 / C
    lam = torch.rand(N, 1, generator=g)
    return lam * a + (1 - lam) * b


def ctc_padded(g):
    target = labels(g, 4, 8, low=1, high=12)
    target[1:, 5:] = 0  # shorter transcripts padded with the blank
    return target


def tokens_flat(p, t):
    return F.cross_entropy(p.reshape(-1, p.shape[-1]), t.reshape(-1))


def pixels_last_flat(p, t, **kw):
    return F.cross_entropy(p.reshape(-1, p.shape[-1]), t.reshape(-1), **kw)


def kl(student_logits, teacher_probs):
    return (teacher_probs * (teacher_probs.log() - student_logits.log_softmax(1))).sum() / student_logits.shape[0]


SITUATIONS = [
    # binary: one yes/no per sample or pixel
    Situation("binary (N,) logits, float {0,1}", lambda g: (torch.randn(N, generator=g), bits(g, N)), ("BCEWithLogitsLoss",), BINARY_WRONG),
    Situation("binary (N,) logits, int64 {0,1}", lambda g: (torch.randn(N, generator=g), bits(g, N).long()), ("BCEWithLogitsLoss",), BINARY_WRONG),
    Situation(
        "binary (N,1) logits, (N,) int64",
        lambda g: (torch.randn(N, 1, generator=g), bits(g, N).long()),
        ("BCEWithLogitsLoss",),
        (*BINARY_WRONG, lacking(None, "squeeze(1)", "unsqueeze(1)", why="(N, 1) against (N,) broadcasts to (N, N)")),
        intended=("BCEWithLogitsLoss", lambda p, t: F.binary_cross_entropy_with_logits(p[:, 0], t.float())),
    ),
    Situation(
        "binary (N,1) logits, (N,) float",
        lambda g: (torch.randn(N, 1, generator=g), bits(g, N)),
        ("BCEWithLogitsLoss",),
        (*BINARY_WRONG, lacking(None, "squeeze(1)", "unsqueeze(1)", why="(N, 1) against (N,) broadcasts to (N, N)")),
    ),
    Situation("binary (N,) sigmoid probabilities", lambda g: (torch.randn(N, generator=g).sigmoid(), bits(g, N)), ("BCELoss",), (*BINARY_WRONG, lacking("BCEWithLogitsLoss", "logit", why="probabilities read as logits"))),
    Situation("binary (N,1) sigmoid probabilities, (N,1) float", lambda g: (torch.randn(N, 1, generator=g).sigmoid(), bits(g, N, 1)), ("BCELoss",), BINARY_WRONG),
    Situation("binary (N,) logits, bool labels", lambda g: (torch.randn(N, generator=g), bits(g, N).bool()), ("BCEWithLogitsLoss",), BINARY_WRONG),
    Situation("binary (N,1) logits, (N,1) int64", lambda g: (torch.randn(N, 1, generator=g), bits(g, N, 1).long()), ("BCEWithLogitsLoss",), BINARY_WRONG),
    Situation("binary (N,2) logits, int64 labels", lambda g: (torch.randn(N, 2, generator=g), labels(g, N, high=2)), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation("binary (N,) logits, ±1 labels", lambda g: (torch.randn(N, generator=g), bits(g, N) * 2 - 1), ("SoftMarginLoss", "BCEWithLogitsLoss"), (*BINARY_WRONG, lacking(("BCEWithLogitsLoss", "BCELoss"), "(target + 1) / 2", why="-1 is no probability"))),
    # multi-class: one class per sample
    Situation("multiclass (N,C) logits, int64 labels", lambda g: (torch.randn(N, C, generator=g), labels(g, N)), ("CrossEntropyLoss", "NLLLoss"), (*MULTICLASS_WRONG, lacking("NLLLoss", "log_softmax", why="NLLLoss on raw logits"))),
    Situation("multiclass (N,C) logits, float class indices", lambda g: (torch.randn(N, C, generator=g), labels(g, N).float()), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "multiclass labels with -1 for unlabeled",
        lambda g: (torch.randn(N, C, generator=g), torch.where(torch.arange(N) % 4 == 0, -1, labels(g, N))),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "ignore_index=-1", why="-1 is no class: it must be ignored")),
        intended=("CrossEntropyLoss", lambda p, t: F.cross_entropy(p[t >= 0], t[t >= 0])),
    ),
    Situation("multiclass (N,C) logits, int32 labels", lambda g: (torch.randn(N, C, generator=g), labels(g, N).int()), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "multiclass 1-based labels",
        lambda g: (torch.randn(N, C, generator=g), one_based(g)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "target - 1", why="label C is out of range, and every other label names the wrong class")),
        agree=(("nn.CrossEntropyLoss()", "target", "target - 1"),),
        intended=("CrossEntropyLoss", lambda p, t: F.cross_entropy(p, t - 1)),
    ),
    Situation("multiclass float one-hot", lambda g: (torch.randn(N, C, generator=g), F.one_hot(labels(g, N), C).float()), ("CrossEntropyLoss", "NLLLoss"), MULTICLASS_WRONG, agree=(("nn.NLLLoss()", "target", "target.argmax(dim=1)"),)),
    Situation(
        "multiclass int64 one-hot",
        lambda g: (torch.randn(N, C, generator=g), F.one_hot(labels(g, N), C)),
        ("CrossEntropyLoss", "NLLLoss"),
        MULTICLASS_WRONG,
        agree=(("nn.CrossEntropyLoss()", "target", "target.argmax(dim=1)"), ("nn.NLLLoss()", "target", "target.argmax(dim=1)")),
    ),
    Situation("multiclass soft labels (smoothing, mixup)", lambda g: (torch.randn(N, C, generator=g), soft_rows(g)), ("CrossEntropyLoss",), (*CLASSIFICATION, NO_ARGMAX, losses("NLLLoss", "MultiMarginLoss", why="class indices lose the soft labels"))),
    Situation("multiclass log_softmax outputs", lambda g: (torch.randn(N, C, generator=g).log_softmax(1), labels(g, N)), ("NLLLoss",), MULTICLASS_WRONG),
    Situation(
        "multiclass softmax outputs",
        lambda g: (torch.randn(N, C, generator=g).softmax(1), labels(g, N)),
        ("NLLLoss",),
        (*MULTICLASS_WRONG, lacking(("CrossEntropyLoss", "NLLLoss"), "log", why="probabilities read as logits or log-probabilities (double softmax)")),
    ),
    Situation("multiclass (N,1) label column", lambda g: (torch.randn(N, C, generator=g), labels(g, N, 1)), ("CrossEntropyLoss",), (*MULTICLASS_WRONG, lacking(None, "squeeze(1)", why="a (N, 1) target is no class index per sample"))),
    Situation(
        "multiclass labels with -100",
        lambda g: (torch.randn(N, C, generator=g), torch.where(torch.arange(N) % 5 == 0, -100, labels(g, N))),
        ("CrossEntropyLoss",),
        MULTICLASS_WRONG,
    ),
    # multi-label: any number of classes per sample
    Situation("multilabel float multi-hot", lambda g: (torch.randn(N, C, generator=g), bits(g, N, C)), ("BCEWithLogitsLoss", "MultiLabelSoftMarginLoss"), MULTILABEL_WRONG),
    Situation("multilabel soft labels (label smoothing)", lambda g: (torch.randn(N, C, generator=g), bits(g, N, C) * 0.9 + 0.05), ("BCEWithLogitsLoss",), MULTILABEL_WRONG),
    Situation("multilabel two labels (N,2)", lambda g: (torch.randn(N, 2, generator=g), bits(g, N, 2)), ("BCEWithLogitsLoss",), MULTILABEL_WRONG),
    Situation("multilabel int64 multi-hot", lambda g: (torch.randn(N, C, generator=g), bits(g, N, C).long()), ("BCEWithLogitsLoss",), MULTILABEL_WRONG),
    Situation("multilabel sigmoid outputs, int64 multi-hot", lambda g: (torch.randn(N, C, generator=g).sigmoid(), bits(g, N, C).long()), ("BCELoss",), MULTILABEL_WRONG),
    Situation(
        "multilabel class-index lists padded with -1",
        lambda g: (torch.randn(N, C, generator=g), torch.where(bits(g, N, C).bool(), torch.arange(C), -1).sort(dim=1, descending=True).values),
        ("MultiLabelMarginLoss",),
        MULTILABEL_WRONG,
    ),
    Situation("multilabel sigmoid outputs", lambda g: (torch.randn(N, C, generator=g).sigmoid(), bits(g, N, C)), ("BCELoss",), MULTILABEL_WRONG),
    # segmentation
    Situation("segmentation (N,C,H,W) logits, (N,H,W) labels", lambda g: (torch.randn(2, C, 8, 8, generator=g), labels(g, 2, 8, 8)), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "segmentation void label 255",
        lambda g: (torch.randn(2, C, 8, 8, generator=g), voided(g, 2, 8, 8)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "ignore_index=255", why="255 is no class: it must be ignored")),
        intended=("CrossEntropyLoss", lambda p, t: F.cross_entropy(p, t, ignore_index=255)),
    ),
    Situation(
        "segmentation channels-last (N,H,W,C)",
        lambda g: (torch.randn(2, 8, 8, C, generator=g), labels(g, 2, 8, 8)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "movedim(-1, 1)", "permute(0, 3, 1, 2)", why="the classes are the last dim")),
        agree=(("nn.CrossEntropyLoss()", "input", "input.movedim(-1, 1)"),),
        intended=("CrossEntropyLoss", pixels_last_flat),
    ),
    Situation(
        "segmentation channels-last with void 255",
        lambda g: (torch.randn(2, 8, 8, C, generator=g), voided(g, 2, 8, 8)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "ignore_index=255", why="255 is no class: it must be ignored"), lacking(None, "movedim(-1, 1)", why="the classes are the last dim")),
        intended=("CrossEntropyLoss", lambda p, t: pixels_last_flat(p, t, ignore_index=255)),
    ),
    Situation("segmentation uint8 labels (as PNG files hold them)", lambda g: (torch.randn(2, C, 8, 8, generator=g), labels(g, 2, 8, 8).to(torch.uint8)), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation("segmentation float one-hot (N,C,H,W)", lambda g: (torch.randn(2, C, 8, 8, generator=g), F.one_hot(labels(g, 2, 8, 8), C).movedim(-1, 1).float()), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "binary segmentation, 2-class head, {0,255} uint8 mask",
        lambda g: (torch.randn(2, 2, 8, 8, generator=g), (bits(g, 2, 8, 8) * 255).to(torch.uint8)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "/ 255", "> 127", why="255 is the foreground here; ignoring it drops every foreground pixel")),
        intended=("CrossEntropyLoss", lambda p, t: F.cross_entropy(p, (t > 0).long())),
    ),
    Situation("binary segmentation (N,H,W) logits, float {0,1} mask", lambda g: (torch.randn(2, 8, 8, generator=g), bits(g, 2, 8, 8)), ("BCEWithLogitsLoss",), (*CLASSIFICATION, NOT_DISTRIBUTION, NOT_ONE_CLASS)),
    Situation("segmentation (N,1,H,W) label column", lambda g: (torch.randn(2, C, 8, 8, generator=g), labels(g, 2, 1, 8, 8)), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "binary mask {0,255} float (N,1,H,W)",
        lambda g: (torch.randn(2, 1, 8, 8, generator=g), bits(g, 2, 1, 8, 8) * 255),
        ("BCEWithLogitsLoss",),
        (*BINARY_WRONG, lacking(None, "/ 255", "> 127", why="a 255 is no probability")),
        agree=(("nn.BCEWithLogitsLoss()", "target", "target / 255"),),
    ),
    Situation(
        "binary mask {0,255} uint8 (N,H,W) against (N,1,H,W)",
        lambda g: (torch.randn(2, 1, 8, 8, generator=g), (bits(g, 2, 8, 8) * 255).to(torch.uint8)),
        ("BCEWithLogitsLoss",),
        (*BINARY_WRONG, lacking(None, "/ 255", "> 127", why="a 255 is no probability")),
        intended=("BCEWithLogitsLoss", lambda p, t: F.binary_cross_entropy_with_logits(p[:, 0], t.float() / 255)),
    ),
    Situation("binary mask {0,1} int64 (N,1,H,W)", lambda g: (torch.randn(2, 1, 8, 8, generator=g), bits(g, 2, 1, 8, 8).long()), ("BCEWithLogitsLoss",), BINARY_WRONG),
    Situation(
        "binary segmentation channels-last (N,H,W,1) logits, (N,H,W) mask",
        lambda g: (torch.randn(2, 8, 8, 1, generator=g), bits(g, 2, 8, 8)),
        ("BCEWithLogitsLoss",),
        (*BINARY_WRONG, lacking(None, "squeeze(3)", "squeeze(-1)", why="(N, H, W, 1) against (N, H, W) broadcasts")),
        agree=(("nn.BCEWithLogitsLoss()", "input", "input.squeeze(3)"),),
    ),
    Situation("segmentation 3-D volumes (N,C,D,H,W)", lambda g: (torch.randn(2, C, 4, 6, 6, generator=g), labels(g, 2, 4, 6, 6)), ("CrossEntropyLoss",), MULTICLASS_WRONG),
    Situation(
        "segmentation (N,1,H,W) label column with void 255",
        lambda g: (torch.randn(2, C, 8, 8, generator=g), voided(g, 2, 1, 8, 8)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "ignore_index=255", why="255 is no class: it must be ignored")),
        intended=("CrossEntropyLoss", lambda p, t: F.cross_entropy(p, t[:, 0], ignore_index=255)),
    ),
    # token classification
    Situation(
        "tokens (N,L,C) logits, -100 padding",
        lambda g: (torch.randn(4, 12, C, generator=g), padded(g, 4, 12)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "transpose(1, 2)", "movedim(-1, 1)", "flatten", why="the classes are the last dim")),
        agree=(("nn.CrossEntropyLoss()", "input", "input.transpose(1, 2)"),),
        intended=("CrossEntropyLoss", tokens_flat),
    ),
    Situation(
        "tokens (N,L,V) vocabulary logits, -100 padding",
        lambda g: (torch.randn(2, 9, 50, generator=g), padded(g, 2, 9, 50)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "transpose(1, 2)", "movedim(-1, 1)", "flatten", why="the classes are the last dim")),
        agree=(("nn.CrossEntropyLoss()", "input", "input.transpose(1, 2)"),),
        intended=("CrossEntropyLoss", tokens_flat),
    ),
    Situation(
        "sequence (T,N,V) time-first logits, (T,N) labels",
        lambda g: (torch.randn(7, 3, 11, generator=g), labels(g, 7, 3, high=11)),
        ("CrossEntropyLoss",),
        (*MULTICLASS_WRONG, lacking(None, "transpose(1, 2)", "movedim(-1, 1)", "flatten", why="the classes are the last dim")),
        intended=("CrossEntropyLoss", tokens_flat),
    ),
    Situation(
        "tokens (N,L,C) softmax outputs",
        lambda g: (torch.randn(4, 12, C, generator=g).softmax(-1), labels(g, 4, 12)),
        ("NLLLoss",),
        (*MULTICLASS_WRONG, lacking(("CrossEntropyLoss", "NLLLoss"), "log", why="probabilities read as logits (double softmax)")),
        intended=("NLLLoss", lambda p, t: F.nll_loss(p.log().flatten(0, 1), t.flatten())),
    ),
    Situation(
        "tokens (N,L,C) logits, (N,L,C) float one-hot labels",
        lambda g: (torch.randn(4, 12, C, generator=g), F.one_hot(labels(g, 4, 12), C).float()),
        ("CrossEntropyLoss", "NLLLoss"),
        (*MULTICLASS_WRONG, lacking(None, "flatten(0, -2)", "transpose(1, 2)", "movedim(-1, 1)", why="the classes are the last dim")),
        intended=("NLLLoss", lambda p, t: tokens_flat(p, t.argmax(-1))),
    ),
    Situation(
        "segmentation softmax outputs (N,C,H,W)",
        lambda g: (torch.randn(2, C, 8, 8, generator=g).softmax(1), labels(g, 2, 8, 8)),
        ("NLLLoss",),
        (*MULTICLASS_WRONG, lacking(("CrossEntropyLoss", "NLLLoss"), "log", why="probabilities read as logits (double softmax)")),
    ),
    Situation("tokens (N,L,C) logits, no padding", lambda g: (torch.randn(4, 12, C, generator=g), labels(g, 4, 12)), ("CrossEntropyLoss",), MULTICLASS_WRONG, intended=("CrossEntropyLoss", tokens_flat)),
    # regression
    Situation("regression (N,) vs (N,)", lambda g: (torch.randn(N, generator=g), torch.randn(N, generator=g) * 3 + 1), ("MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"), REGRESSION_WRONG),
    Situation(
        "regression (N,1) vs (N,)",
        lambda g: (torch.randn(N, 1, generator=g), torch.randn(N, generator=g) * 3 + 1),
        ("MSELoss", "L1Loss"),
        (*REGRESSION_WRONG, lacking(None, "squeeze(1)", "unsqueeze(1)", why="(N, 1) against (N,) broadcasts to (N, N)")),
        intended=("MSELoss", lambda p, t: F.mse_loss(p[:, 0], t)),
    ),
    Situation(
        "regression (N,) vs (N,1)",
        lambda g: (torch.randn(N, generator=g), torch.randn(N, 1, generator=g) * 3 + 1),
        ("MSELoss", "L1Loss"),
        (*REGRESSION_WRONG, lacking(None, "squeeze(1)", "unsqueeze(1)", why="(N,) against (N, 1) broadcasts to (N, N)")),
        intended=("MSELoss", lambda p, t: F.mse_loss(p, t[:, 0])),
    ),
    Situation("regression (N,1) vs (N,1)", lambda g: (torch.randn(N, 1, generator=g), torch.randn(N, 1, generator=g) * 3 + 1), ("MSELoss", "L1Loss"), REGRESSION_WRONG),
    Situation("regression (N,D) vs (N,D)", lambda g: (torch.randn(N, 3, generator=g), torch.randn(N, 3, generator=g) * 3), ("MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"), REGRESSION_WRONG),
    Situation("regression int64 targets (ratings, ages)", lambda g: (torch.randn(N, generator=g), labels(g, N, low=1, high=9)), ("MSELoss", "L1Loss"), REGRESSION_WRONG),
    Situation("regression targets in [0, 1], task given", lambda g: (torch.randn(N, generator=g), torch.rand(N, generator=g)), ("MSELoss", "L1Loss"), REGRESSION_WRONG, task="regression"),
    # distillation
    Situation(
        "distillation: student logits, teacher probabilities",
        lambda g: (torch.randn(N, C, generator=g), (torch.randn(N, C, generator=g) * 2).softmax(1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (*DISTILLATION_WRONG, STUDENT_LOGITS),
        task="distillation",
        intended=("KLDivLoss", kl),
    ),
    Situation(
        "distillation: student logits, teacher log-probabilities",
        lambda g: (torch.randn(N, C, generator=g), (torch.randn(N, C, generator=g) * 2).log_softmax(1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (
            *DISTILLATION_WRONG,
            STUDENT_LOGITS,
            lacking("KLDivLoss", "log_target=True", "target.exp()", "softmax(target", why="log-probabilities read as probabilities"),
            lacking("CrossEntropyLoss", "target.exp()", "softmax(target", why="log-probabilities read as probabilities"),
        ),
        task="distillation",
        agree=(("nn.CrossEntropyLoss()", "target", "target.exp()"),),
        intended=("KLDivLoss", lambda p, t: kl(p, t.exp())),
    ),
    Situation(
        "distillation: teacher probabilities, no task",
        lambda g: (torch.randn(N, C, generator=g), (torch.randn(N, C, generator=g) * 2).softmax(1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (*DISTILLATION_WRONG, STUDENT_LOGITS),
    ),
    Situation(
        "distillation: teacher log-probabilities, no task",
        lambda g: (torch.randn(N, C, generator=g), (torch.randn(N, C, generator=g) * 2).log_softmax(1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (*DISTILLATION_WRONG, STUDENT_LOGITS, lacking("KLDivLoss", "log_target=True", "target.exp()", "softmax(target", why="log-probabilities read as probabilities")),
    ),
    Situation(
        "distillation: student log_softmax, teacher probabilities",
        lambda g: (torch.randn(N, C, generator=g).log_softmax(1), (torch.randn(N, C, generator=g) * 2).softmax(1)),
        ("KLDivLoss",),
        DISTILLATION_WRONG,
        task="distillation",
    ),
    Situation(
        "distillation: student and teacher log-probabilities",
        lambda g: (torch.randn(N, C, generator=g).log_softmax(1), (torch.randn(N, C, generator=g) * 2).log_softmax(1)),
        ("KLDivLoss",),
        (*DISTILLATION_WRONG, lacking("KLDivLoss", "log_target=True", "target.exp()", "softmax(target", why="log-probabilities read as probabilities")),
        task="distillation",
        intended=("KLDivLoss", lambda p, t: F.kl_div(p, t, reduction="batchmean", log_target=True)),
    ),
    Situation(
        "distillation: (N,L,V) token logits, teacher probabilities over V",
        lambda g: (torch.randn(2, 6, 9, generator=g), (torch.randn(2, 6, 9, generator=g) * 2).softmax(-1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (*DISTILLATION_WRONG, lacking(None, "flatten(0, -2)", "transpose(1, 2)", "movedim(-1, 1)", why="the vocabulary is the last dim")),
        task="distillation",
        intended=("KLDivLoss", lambda p, t: kl(p.flatten(0, 1), t.flatten(0, 1))),
    ),
    Situation(
        "distillation: (N,L,V) token logits, teacher log-probabilities, no task",
        lambda g: (torch.randn(2, 6, 9, generator=g), (torch.randn(2, 6, 9, generator=g) * 2).log_softmax(-1)),
        ("KLDivLoss", "CrossEntropyLoss"),
        (
            *DISTILLATION_WRONG,
            lacking(None, "flatten(0, -2)", "transpose(1, 2)", "movedim(-1, 1)", why="the vocabulary is the last dim"),
            lacking("KLDivLoss", "log_target=True", "exp()", why="log-probabilities read as probabilities"),
        ),
        intended=("KLDivLoss", lambda p, t: kl(p.flatten(0, 1), t.flatten(0, 1).exp())),
    ),
    Situation(
        "distillation: teacher logits",
        lambda g: (torch.randn(N, C, generator=g), torch.randn(N, C, generator=g) * 3),
        ("KLDivLoss", "CrossEntropyLoss"),
        (*DISTILLATION_WRONG, STUDENT_LOGITS, lacking(None, "softmax(target", why="raw teacher logits are no distribution")),
        task="distillation",
    ),
    # losses of more than two tensors, given the task
    Situation("ranking: scores and {0,1} labels", lambda g: (torch.randn(N, generator=g), bits(g, N)), (), (losses(*REGRESSION, *ONE_CLASS, *INDEPENDENT, *DISTRIBUTION, why="no ranking loss"),), task="ranking", guided=("MarginRankingLoss",)),
    Situation("ranking: scores and ±1 labels", lambda g: (torch.randn(N, generator=g), bits(g, N) * 2 - 1), (), (losses(*REGRESSION, *ONE_CLASS, *INDEPENDENT, *DISTRIBUTION, why="no ranking loss"),), task="ranking", guided=("MarginRankingLoss",)),
    Situation("CTC: (T,N,C) log-probabilities", lambda g: (torch.randn(30, 4, 12, generator=g).log_softmax(2), labels(g, 4, 8, low=1, high=12)), (), (losses(*ONE_CLASS, *REGRESSION, *INDEPENDENT, why="frame-wise classification needs an alignment"),), task="sequence", guided=("CTCLoss",)),
    Situation("CTC: targets padded with 0 after each row's labels", lambda g: (torch.randn(30, 4, 12, generator=g).log_softmax(2), ctc_padded(g)), (), (losses(*ONE_CLASS, *REGRESSION, *INDEPENDENT, why="frame-wise classification needs an alignment"),), task="sequence", guided=("CTCLoss",)),
    Situation("CTC: (N,T,C) batch-first logits", lambda g: (torch.randn(4, 30, 12, generator=g), labels(g, 4, 8, low=1, high=12)), (), (losses(*ONE_CLASS, *REGRESSION, *INDEPENDENT, why="frame-wise classification needs an alignment"),), task="sequence", guided=("CTCLoss",)),
]


# ---- running what suggest() shows -----------------------------------------------------------------


def tensors(situation: Situation) -> tuple[torch.Tensor, torch.Tensor]:
    import zlib

    return situation.make(torch.Generator().manual_seed(zlib.crc32(situation.name.encode())))


def _namespace(prediction, target) -> dict:
    return {"torch": torch, "nn": nn, "F": F, "input": prediction, "target": target}


def run_option(option, prediction, target) -> tuple[list, str | None, torch.Tensor | None]:
    """(check()'s warnings and errors, torch's error or None, the loss value) for the call as written."""
    from tensor_kinds import argument_codes

    names = _namespace(prediction, target)
    module = eval(option.module, names)  # noqa: S307 - the text the user would paste
    args = [eval(code, names) for code in argument_codes(option)]  # noqa: S307
    blocking = [f for f in losslint.check(module, *args).findings if f.severity != "info"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return blocking, None, eval(option.call, names)  # noqa: S307
        except Exception as exc:  # noqa: BLE001
            return blocking, f"{type(exc).__name__}: {exc}", None


def run_guidance(guide, prediction, target, g) -> tuple[bool, torch.Tensor | None]:
    """The guidance call as written, with the tensor it asks for (a second score tensor) made up here."""
    names = {"torch": torch, "nn": nn, "F": F, "input1": prediction, "input2": torch.randn(prediction.shape, generator=g), "target": target, "log_probs": prediction, "targets": target}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = eval(guide.call, names)  # noqa: S307
    return bool(torch.isfinite(value).all()), value


@dataclass
class Outcome:
    situation: Situation
    proposed: list = field(default_factory=list)
    missing: list = field(default_factory=list)  # right losses not proposed
    wrong: list = field(default_factory=list)  # (call, why)
    unclean: list = field(default_factory=list)  # (call, why)
    clean: int = 0


def judge(situation: Situation) -> Outcome:
    prediction, target = tensors(situation)
    answer = suggest(prediction, target, task=situation.task)
    out = Outcome(situation, [*answer.fits, *answer.converted])
    proposed = {o.loss for o in out.proposed} | {g.loss for g in answer.guidance if g.checked}
    out.missing = [loss for loss in (*situation.right, *situation.guided) if loss not in proposed]
    for option in out.proposed:
        reasons = [why for rule in situation.wrong if (why := rule(option))]
        if reasons:
            out.wrong.append((option.call, reasons[0]))
        blocking, error, value = run_option(option, prediction, target)
        if error or blocking:
            out.unclean.append((option.call, error or blocking[0].message))
        elif situation.intended and option.loss == situation.intended[0] and not torch.allclose(value, situation.intended[1](prediction, target), atol=1e-5):
            out.unclean.append((option.call, "runs, but computes something else than the documented loss"))
        else:
            out.clean += 1
    for guide in answer.guidance:
        if guide.loss in situation.guided:
            ok, _ = run_guidance(guide, prediction, target, torch.Generator().manual_seed(1))
            if not ok:
                out.unclean.append((guide.call, "not finite"))
    return out


@pytest.mark.parametrize("situation", SITUATIONS, ids=[s.name for s in SITUATIONS])
def test_the_right_loss_is_proposed_and_nothing_wrong(situation):
    out = judge(situation)
    shown = "\n".join(o.call for o in out.proposed)
    assert not out.missing, f"not proposed: {out.missing}; proposed:\n{shown}"
    assert not out.wrong, out.wrong
    assert not out.unclean, out.unclean
    assert out.proposed or situation.guided


@pytest.mark.parametrize("situation", [s for s in SITUATIONS if s.agree], ids=[s.name for s in SITUATIONS if s.agree])
def test_suggest_proposes_what_the_help_line_writes(situation):
    prediction, target = tensors(situation)
    answer = suggest(prediction, target, task=situation.task)
    names = {"torch": torch, "nn": nn}
    for module_code, argument, expression in situation.agree:
        module = eval(module_code, names)  # noqa: S307
        report = losslint.check(module, prediction, target)
        written = [e for f in report.findings for e in expressions_in(f.fix, argument)]
        assert expression in written, f"check() writes {written}:\n{report}"
        option = next(o for o in (*answer.fits, *answer.converted) if o.loss == type(module).__name__)
        assert expression in option.conversions.get(argument, ""), option.call


@pytest.mark.parametrize(
    ("name", "module", "prepare", "key", "value"),
    [
        ("distillation: student logits, teacher log-probabilities", "nn.KLDivLoss(reduction='batchmean')", lambda p: p.log_softmax(1), "log_target", True),
        ("multiclass labels with -1 for unlabeled", "nn.CrossEntropyLoss()", lambda p: p, "ignore_index", -1),
        ("segmentation void label 255", "nn.CrossEntropyLoss()", lambda p: p, "ignore_index", 255),
    ],
)
def test_the_configuration_suggest_sets_is_the_one_the_help_line_names(name, module, prepare, key, value):
    situation = next(s for s in SITUATIONS if s.name == name)
    prediction, target = tensors(situation)
    loss = eval(module, {"nn": nn})  # noqa: S307
    fixes = " ".join(f.fix for f in losslint.check(loss, prepare(prediction), target).findings)
    assert f"{key}={value}" in fixes, fixes
    answer = suggest(prediction, target, task=situation.task)
    option = next(o for o in (*answer.fits, *answer.converted) if o.loss == type(loss).__name__)
    assert option.config.get(key) == value, option.call


def test_ranking_and_ctc_say_what_else_they_need():
    for situation in SITUATIONS:
        if not situation.guided:
            continue
        prediction, target = tensors(situation)
        guide = next(g for g in suggest(prediction, target, task=situation.task).guidance if g.loss in situation.guided)
        needs = {"MarginRankingLoss": ("input1", "input2", "-1"), "CTCLoss": ("input_lengths", "target_lengths", "time first")}[guide.loss]
        assert all(word in guide.needs for word in needs), guide.needs
        assert guide.checked, guide.notes


def test_padded_ctc_targets_get_their_own_lengths():
    situation = next(s for s in SITUATIONS if s.name.startswith("CTC: targets padded"))
    prediction, target = tensors(situation)
    (guide,) = suggest(prediction, target, task="sequence").guidance
    assert guide.checked and guide.call.endswith("(targets > 0).sum(1))"), guide.call
    _, value = run_guidance(guide, prediction, target, torch.Generator().manual_seed(1))
    want = F.ctc_loss(prediction, target, torch.full((4,), 30), torch.tensor([8, 5, 5, 5]))
    assert torch.allclose(value, want)


def test_the_ctc_call_computes_ctc_on_time_first_log_probabilities():
    situation = next(s for s in SITUATIONS if s.name == "CTC: (N,T,C) batch-first logits")
    prediction, target = tensors(situation)
    (guide,) = suggest(prediction, target, task="sequence").guidance
    _, value = run_guidance(guide, prediction, target, torch.Generator().manual_seed(1))
    n, s = target.shape
    want = F.ctc_loss(prediction.transpose(0, 1).log_softmax(2), target, torch.full((n,), prediction.shape[1]), torch.full((n,), s))
    assert torch.allclose(value, want)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("binary mask {0,255} uint8 (N,H,W) against (N,1,H,W)", "nn.BCEWithLogitsLoss()(input.squeeze(1), target / 255)"),
        ("segmentation channels-last with void 255", "nn.CrossEntropyLoss(ignore_index=255)(input.movedim(-1, 1), target)"),
        ("distillation: student logits, teacher log-probabilities", "nn.KLDivLoss(reduction='batchmean', log_target=True)(F.log_softmax(input, dim=1), target)"),
        ("distillation: teacher log-probabilities, no task", "nn.KLDivLoss(reduction='batchmean', log_target=True)(F.log_softmax(input, dim=1), target)"),
        ("tokens (N,L,C) logits, -100 padding", "nn.CrossEntropyLoss()(input.transpose(1, 2), target)"),
    ],
)
def test_the_call_shown(name, call):
    situation = next(s for s in SITUATIONS if s.name == name)
    prediction, target = tensors(situation)
    answer = suggest(prediction, target, task=situation.task)
    assert call in [o.call for o in (*answer.fits, *answer.converted)], str(answer)


def test_a_teacher_log_softmax_is_read_as_log_distributions():
    g = torch.Generator().manual_seed(0)
    answer = suggest(torch.randn(N, C, generator=g), torch.randn(N, C, generator=g).log_softmax(1))
    assert answer.target.kind == "log_distribution" and "logsumexp over dim 1 is 0" in answer.target.evidence
    assert answer.tasks[0] == "distillation"
    # Raw teacher logits of both signs stay real values (softmax(target) for distillation).
    assert suggest(torch.randn(N, C, generator=g), torch.randn(N, C, generator=g)).target.kind == "real_values"


def test_a_take_config_must_name_a_configuration_argument(tmp_path):
    from pathlib import Path

    from losslint.language.spec import load_loss_files

    text = (Path(__file__).resolve().parent.parent / "rules" / "kl_div.toml").read_text(encoding="utf-8")
    path = tmp_path / "kl_div.toml"
    path.write_text(text.replace("config = { log_target = true }", "config = { log_targets = true }", 1), encoding="utf-8")
    problems: list[str] = []
    load_loss_files([path], problems)
    assert "'log_targets' is not a configuration argument of the loss" in "\n".join(problems)


def tally() -> dict:
    outcomes = [judge(s) for s in SITUATIONS]
    return {
        "situations": len(outcomes),
        "right loss proposed": sum(not o.missing for o in outcomes),
        "wrong proposals": sum(len(o.wrong) for o in outcomes),
        "proposals": sum(len(o.proposed) for o in outcomes),
        "proposals that run and are clean": sum(o.clean for o in outcomes),
        "failing": {o.situation.name: {"missing": o.missing, "wrong": o.wrong, "unclean": o.unclean} for o in outcomes if o.missing or o.wrong or o.unclean},
    }


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    print(json.dumps(tally(), indent=1, default=str))


def test_check_help_line_for_token_distributions_moves_both_tensors_and_the_result_is_clean():
    """(N, L, V) logits against (N, L, V) teacher probabilities: check()'s LL404 help line moves the classes
    of both tensors to dim 1 (renormalizing along dim 1 would make a distribution over the sequence), and
    the call it writes is clean and computes the per-token cross entropy."""
    torch.manual_seed(0)
    logits, teacher = torch.randn(4, 12, 20), torch.randn(4, 12, 20).softmax(-1)
    report = losslint.check(nn.CrossEntropyLoss(), logits, teacher)
    [finding] = report.findings
    assert finding.code == "LL404" and "last dim" in finding.message
    assert "input.transpose(1, 2), target.transpose(1, 2)" in finding.fix
    moved = (logits.transpose(1, 2), teacher.transpose(1, 2))
    assert not losslint.check(nn.CrossEntropyLoss(), *moved).findings
    expected = -(teacher * logits.log_softmax(-1)).sum(-1).mean()
    torch.testing.assert_close(nn.CrossEntropyLoss()(*moved), expected)
