"""A short tour of losslint on generated tensors: the README's Quickstart (`losslint demo`)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .judging.engine import check
from .judging.render import render_text


def cases() -> list[tuple[str, object, tuple]]:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=gen)
    labels = torch.randint(0, 5, (8,), generator=gen)
    return [
        ("a one-hot target for CrossEntropyLoss", nn.CrossEntropyLoss(), (logits, F.one_hot(labels, 5))),
        ("softmax outputs fed to CrossEntropyLoss", nn.CrossEntropyLoss(), (logits.softmax(dim=1), labels)),
        ("1-based labels", nn.CrossEntropyLoss(), (logits, labels.clamp(min=1) + (labels == 4).long())),
        ("{0, 1} labels for HingeEmbeddingLoss", nn.HingeEmbeddingLoss(), (torch.rand(8, generator=gen), (labels > 2).float())),
        ("an (N, 1) prediction against an (N,) target", nn.MSELoss(), (torch.randn(8, 1, generator=gen), torch.randn(8, generator=gen))),
        ("a correct call", nn.CrossEntropyLoss(), (logits, labels)),
    ]


def run(*, color: bool = False) -> int:
    for title, loss, args in cases():
        print(f"── {title}: {type(loss).__name__}{tuple(tuple(a.shape) for a in args)}")
        print(render_text(check(loss, *args), color=color))
        print()
    return 0
