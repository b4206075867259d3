"""losslint.lightning.LossLint with a real Lightning Trainer on the CPU.

The `integration` extra installs Lightning; without it these tests skip, except in CI
(LOSSLINT_REQUIRE_INTEGRATION=1), where a missing Lightning is a failure.
"""

from __future__ import annotations

import logging
import os
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

if os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):
    import lightning as L
else:
    L = pytest.importorskip("lightning")

import losslint
from losslint.lightning import LossLint


class Classifier(L.LightningModule):
    def __init__(self, softmax: bool = True, shift_labels: int = 0):
        super().__init__()
        layers = [nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5)]
        self.net = nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))
        self.shift_labels = shift_labels

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.net(x), y + self.shift_labels)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loaders():
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(128, 20, generator=gen), torch.randint(0, 5, (128,), generator=gen))
    return DataLoader(data, batch_size=32), DataLoader(data, batch_size=64)


def trainer(callback, epochs=2):
    return L.Trainer(
        max_epochs=epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0,
    )


@pytest.fixture
def lightning_log():
    """What the callback logs through Lightning's logger hierarchy."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("lightning.pytorch.callbacks.losslint")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_findings_are_reported_once_at_the_end_of_the_epoch(lightning_log, recwarn):
    callback = LossLint()
    train, val = loaders()
    trainer(callback).fit(Classifier(), train, val)
    # Two epochs, the same mistake every step: reported once, at the first epoch's end, as a warning.
    [record] = lightning_log
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert text.startswith("losslint, epoch 0: 2 warnings at 2 call sites\n\n")
    assert "test_lightning.py:37: CrossEntropyLoss (4 calls with these findings)\nwarning[LL301]" in text
    assert "`input` was produced by `nn.Softmax` over dim 1" in text
    # No immediate LossLintWarning from the steps: the epoch report is the one place it is said.
    assert not [w for w in recwarn if issubclass(w.category, losslint.LossLintWarning)]
    assert {tuple(r.codes) for r in callback.reports} == {("LL301",)}
    assert torch._C._len_torch_function_stack() == 0  # nothing left on the mode stack
    from losslint.hooks import intercept

    assert not intercept.installed()  # the wrappers kept for the run's steps went at teardown


def test_metrics_are_logged_with_the_epoch():
    callback = LossLint()
    train, val = loaders()
    t = trainer(callback, epochs=1)
    t.fit(Classifier(), train, val)
    assert t.callback_metrics["losslint/warnings"].item() == 2.0
    assert t.callback_metrics["losslint/errors"].item() == 0.0


def test_a_correct_model_logs_nothing(lightning_log):
    train, val = loaders()
    trainer(LossLint()).fit(Classifier(softmax=False), train, val)
    assert lightning_log == []


def test_a_call_torch_would_reject_stops_the_run_with_the_report(lightning_log):
    train, val = loaders()
    with pytest.raises(losslint.LossLintError) as info:
        trainer(LossLint()).fit(Classifier(softmax=False, shift_labels=1), train, val)
    assert info.value.report.codes[0] == "LL401"
    assert info.value.report.location.endswith("test_lightning.py:37")
    assert "losslint stopped this CrossEntropyLoss call before it ran" in "".join(info.value.__notes__)
    assert torch._C._len_torch_function_stack() == 0  # on_exception left the watch
    from losslint.hooks import intercept

    assert not intercept.installed()  # and restored the wrappers


def test_lightning_is_imported_only_by_the_integration():
    code = "import sys, losslint, torch; losslint.check('CrossEntropyLoss', torch.randn(2, 3), torch.tensor([0, 1])); print('lightning' in sys.modules, 'transformers' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
