"""The producer x target x loss matrix for MONAI's and kornia's losses (tests/library_contract_matrix.py):
verdicts from each library's documented contract (its docstrings, as installed), the library's raises
from running it.

- `torch_raises` is exact on every cell;
- no warning or error on a cell the contract calls correct;
- the share of silent misuse flagged does not fall below what has been reached.
"""

from __future__ import annotations

import pytest

pytest.importorskip("monai")
pytest.importorskip("kornia")

import library_contract_matrix as matrix  # noqa: E402

# Raised as the checks cover more of the contract; never lowered.
MISUSE_FLAGGED_FLOOR = 1.0  # first measured: 261/270 (96.7%); DiceCELoss(sigmoid=True) declares binary_logits 264; a softmax over a spatial dim seen where the class dim is named (LL304) 270/270


@pytest.fixture(scope="module")
def figures():
    return matrix.measure()


def test_every_raise_is_predicted_exactly(figures):
    assert not figures.raise_mismatches, "\n".join(map(str, figures.raise_mismatches[:20]))


def test_no_false_alarm_on_a_documented_call(figures):
    assert figures.ok > 0
    assert not figures.false_alarms, f"{len(figures.false_alarms)} false alarms:\n" + "\n".join(map(str, figures.false_alarms[:20]))


def test_silent_misuse_is_flagged(figures):
    assert figures.misuse > 0
    share = figures.flagged / figures.misuse
    assert share >= MISUSE_FLAGGED_FLOOR, f"{figures}\nmissed, first 20:\n" + "\n".join(map(str, figures.missed[:20]))


def test_the_contract_is_not_losslint():
    # The verdicts are data about the libraries' documentation: the switch decides the input's kind,
    # whatever losslint says.
    p = {p.name: p for p in matrix.PRODUCERS}
    verdict = matrix.contract_verdict
    assert verdict("monai DiceLoss(softmax=True)", p["raw logits"])[0] == "ok"
    assert verdict("monai DiceLoss(softmax=True)", p["log_softmax"])[0] == "ok"  # softmax(log_softmax(x)) = softmax(x)
    assert verdict("monai DiceLoss(sigmoid=True)", p["log_softmax"])[0] == "misuse"
    assert verdict("monai DiceLoss()", p["softmax over the classes"])[0] == "ok"
    assert verdict("monai DiceLoss()", p["sigmoid"])[0] == "ok"
    assert verdict("monai DiceLoss()", p["raw logits"])[0] == "misuse"
    assert verdict("monai DiceLoss()", p["softmax over the width"])[0] == "misuse"
    assert verdict("monai DiceCELoss()", p["raw logits"])[0] == "misuse"  # its Dice term scores them as probabilities
    assert verdict("monai DiceCELoss()", p["softmax over the classes"])[0] == "misuse"  # its cross-entropy softmaxes again
    assert verdict("monai DiceFocalLoss(softmax=True)", p["log_softmax"])[0] == "misuse"  # a sigmoid focal term
    assert verdict("monai FocalLoss(use_softmax=True)", p["log_softmax"])[0] == "ok"
    assert verdict("monai FocalLoss()", p["log_softmax"])[0] == "misuse"
    assert verdict("kornia DiceLoss()", p["softmax over the classes"])[0] == "misuse"
