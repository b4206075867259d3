"""Realistic tensors of every prediction kind and target kind the rule files' [usage] tables know.

Shared by tests/test_suggest.py (suggest() on every pair) and tests/test_targets.py (every conversion
of docs/targets.md applied where suggest() proposes it). A batch of N = 32 samples and C = 10 classes;
a target that holds one value per sample (binary, ±1, real values, counts) comes with a
one-score-per-sample prediction of shape (N, 1), as a binary or regression head has; real values also
come per class (multi-output regression, a teacher's logits), and class indices also per pixel
(segmentation: (4, C, 8, 8) scores against a (4, 8, 8) mask).
"""

from __future__ import annotations

import warnings
import zlib
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from losslint.language.vocabulary import PREDICTION_KINDS, TARGET_KINDS

N, C = 32, 10
PER_SAMPLE_TARGETS = {"binary", "signed", "real_values", "counts"}


def generator(name: str) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


SPATIAL = (4, 8, 8)  # a small segmentation batch: (N, H, W)


def prediction_of(kind: str, layout: str, g: torch.Generator) -> torch.Tensor:
    """A model output of this kind: one score per class (N, C) or per class and pixel (N, C, H, W), or one
    per sample (N, 1)."""
    if layout == "spatial":
        shape = (SPATIAL[0], C, *SPATIAL[1:])
    else:
        shape = (N, C if layout == "per_class" else 1)
    per_class = layout != "per_sample"
    scores = torch.randn(*shape, generator=g) * 2
    if kind == "logits":
        return scores
    if kind == "probabilities":
        return scores.softmax(dim=1) if per_class else scores.sigmoid()
    if kind == "log_probabilities":
        return scores.log_softmax(dim=1) if per_class else F.logsigmoid(scores)
    if kind == "distances":
        return F.pairwise_distance(torch.randn(N, 16, generator=g), torch.randn(N, 16, generator=g))
    if kind == "embeddings":
        return F.normalize(torch.randn(N, 128, generator=g), dim=1)
    raise AssertionError(kind)


def target_of(kind: str, layout: str, g: torch.Generator) -> torch.Tensor:
    per_class = layout != "per_sample"
    labels = torch.randint(0, C, SPATIAL if layout == "spatial" else (N,), generator=g)
    if kind == "class_indices":
        return labels
    if kind == "one_hot":
        return F.one_hot(labels, C)
    if kind == "multi_hot":
        return (torch.rand(N, C, generator=g) > 0.7).float()
    if kind == "soft_labels":
        return torch.sigmoid(torch.randn(N, C, generator=g))
    if kind == "binary":
        return (torch.rand(N, generator=g) > 0.5).long()
    if kind == "signed":
        return torch.where(torch.rand(N, generator=g) > 0.5, 1.0, -1.0)
    if kind == "real_values":
        return torch.randn(*((N, C) if per_class else (N,)), generator=g) * 3 + 1
    if kind == "counts":
        return torch.poisson(torch.full((N,), 4.0), generator=g).long()
    if kind == "distribution":
        return torch.softmax(torch.randn(N, C, generator=g) / 2, dim=1)
    if kind == "log_distribution":
        return torch.log_softmax(torch.randn(N, C, generator=g) / 2, dim=1)
    if kind == "index_lists":
        multi_hot = torch.rand(N, C, generator=g) > 0.7
        return torch.where(multi_hot, torch.arange(C), -1).sort(dim=1, descending=True).values
    raise AssertionError(kind)


def layouts(target_kind: str) -> list[str]:
    """The layouts a target kind comes in: "per_sample", "per_class", "spatial"."""
    if target_kind == "real_values":
        return ["per_sample", "per_class"]
    if target_kind == "class_indices":
        return ["per_class", "spatial"]
    return ["per_sample" if target_kind in PER_SAMPLE_TARGETS else "per_class"]


PAIRS = [(p, t, layout) for p in PREDICTION_KINDS for t in TARGET_KINDS for layout in layouts(t)]


def expected_target_kind(prediction_kind: str, target_kind: str) -> str:
    """Counts read as counts only against one raw score per sample; elsewhere they are class labels."""
    if target_kind == "counts" and prediction_kind != "logits":
        return "class_indices"
    return target_kind


def pair_id(prediction_kind: str, target_kind: str, layout: str) -> str:
    shown = "" if layouts(target_kind) == [layout] else "-" + layout.replace("_", "-")
    return f"{prediction_kind}-{target_kind}{shown}"


def build_pair(prediction_kind: str, target_kind: str, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = generator(pair_id(prediction_kind, target_kind, layout))
    return prediction_of(prediction_kind, layout, g), target_of(target_kind, layout, g)


def pairs() -> Iterator[tuple[str, str, str, torch.Tensor, torch.Tensor]]:
    for p, t, layout in PAIRS:
        yield (p, t, layout, *build_pair(p, t, layout))


# ---- running a suggestion as written --------------------------------------------------------------


def argument_codes(option) -> list[str]:
    """The expressions inside the suggested call's parentheses, split at top-level commas."""
    inside = option.call[len(option.module) + 1 : -1]
    depth, parts, current = 0, [], ""
    for ch in inside:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def run_as_written(option, names: dict):
    """Evaluate a suggested call as the user would paste it: (check()'s report, torch's error or None)."""
    import losslint

    names = {"torch": torch, "nn": nn, "F": F, **names}
    module = eval(option.module, names)  # noqa: S307 - the point is to run the text as written
    args = [eval(code, names) for code in argument_codes(option)]  # noqa: S307
    report = losslint.check(module, *args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            eval(option.call, names)  # noqa: S307
            error = None
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
    return report, error
