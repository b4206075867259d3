"""losslint in Lightning: a callback that judges every loss call of training and validation steps.

    import lightning as L
    from losslint.lightning import LossLint

    trainer = L.Trainer(callbacks=[LossLint()])
    trainer.fit(model, train_loader, val_loader)

Each training and validation batch runs under `losslint.watch(action="stop")`: a loss call torch would
reject is stopped before it runs (with losslint's report instead of torch's message, or of a CUDA
device-side assert), and the rest is reported once, at the end of the epoch, through Lightning's own
logger (`lightning.pytorch.callbacks.losslint`, so Lightning's logging settings apply) and as the
metrics `losslint/errors` and `losslint/warnings` (distinct findings so far). In a distributed run the ranks'
findings are merged and printed once, on rank 0, with the ranks that saw them.

`[tool.losslint]` applies; the arguments (`select`, `ignore`, `severity`, `policy`, `action`) override
it. Works with `lightning` (`lightning.pytorch`) or the older `pytorch_lightning` package, whichever
is installed; importing `losslint` never imports either.
"""

from __future__ import annotations

import logging
from typing import Any

try:  # the unified package first, as Lightning's docs do
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - only the older package installed
    from pytorch_lightning.callbacks import Callback

from .training import TrainingSession

# A child of Lightning's logger: shown, silenced and formatted like Lightning's own messages.
log = logging.getLogger("lightning.pytorch.callbacks.losslint")


class LossLint(Callback):
    """Judge the loss calls of `fit` and `validate` and report at the end of each epoch.

    action: "stop" (default) stops calls torch would reject and collects the rest; "raise" also stops
    on any error (or at `fail_on`); "collect" stops nothing. log_metrics: log `losslint/errors` and
    `losslint/warnings` (distinct findings so far, over all ranks) with `LightningModule.log`. Other keywords
    (`select`, `ignore`, `severity`, `fail_on`, `policy`) go to `losslint.watch()`.
    """

    def __init__(self, *, action: str = "stop", log_metrics: bool = True, **options: Any):
        super().__init__()
        self._action, self._options = action, options
        self.log_metrics = log_metrics
        self.session: TrainingSession | None = None

    @property
    def reports(self) -> list:
        """What this process saw in the whole run, one report per call site and findings."""
        return self.session.watch.reports if self.session is not None else []

    # ---- around the steps ------------------------------------------------------------------------

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.session is None:
            # Lightning calls teardown however the run ends: the wrappers can stay for the run.
            self.session = TrainingSession(action=self._action, keep_installed=True, **self._options)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.session.enter()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.session.leave()

    def on_validation_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.session.enter()

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.session.leave()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        # A stopped call (LossLintError) or any other failure inside a step: leave the watch.
        if self.session is not None:
            self.session.leave_all()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.session is not None:
            self.session.leave_all()

    # ---- at the end of each epoch ----------------------------------------------------------------

    # Lightning ends the epoch's validation before the training epoch, so either may be first to see
    # a training step's findings: the title names the epoch, the report names the line.
    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer, pl_module, f"epoch {trainer.current_epoch}")

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        title = "sanity check" if trainer.sanity_checking else f"epoch {trainer.current_epoch}"
        self._report(trainer, pl_module, title, metrics=False)

    def _report(self, trainer: Any, pl_module: Any, title: str, metrics: bool = True) -> None:
        text, fresh = self.session.epoch_report(title)
        if text is not None:
            log.warning(text)
        if metrics and self.log_metrics:
            seen = self.session.seen
            errors = sum(1 for item in seen for f in item.report.findings if f.severity == "error")
            warnings = sum(1 for item in seen for f in item.report.findings if f.severity == "warning")
            # The same numbers on every rank (merged above): no reduction across ranks needed.
            pl_module.log_dict(
                {"losslint/errors": float(errors), "losslint/warnings": float(warnings)},
                on_step=False, on_epoch=True, rank_zero_only=True,
            )
