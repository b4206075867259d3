"""losslint in the HuggingFace Trainer: a callback that judges the loss the model computes from `labels=`.

    from transformers import Trainer
    from losslint.hf import LossLintCallback

    trainer = Trainer(model=model, args=args, train_dataset=train, callbacks=[LossLintCallback()])
    trainer.train()

A transformers model computes its own loss inside `forward` (`F.cross_entropy` on the logits and the
labels the collator built), so the callback runs every forward pass of the model, in training and
in evaluation, under `losslint.watch(action="stop")`: it enters the watch from a forward pre-hook and
leaves it from a forward hook that runs even when the forward raises. A call torch would reject (a
label outside [0, num_labels), padding marked -1 instead of -100) is stopped before it runs, with
losslint's report; the rest is reported once, at the end of each epoch and of each evaluation,
through transformers' logger (`transformers.losslint`, so `transformers.logging.set_verbosity_*` and
the Trainer's `log_level` apply), on the main process, merged over the ranks of a distributed run.

A loss computed outside the model's forward (a `compute_loss_func`, label smoothing in
`Trainer.compute_loss`) is not seen: wrap it in `losslint.watch()` yourself. `[tool.losslint]`
applies; the arguments (`select`, `ignore`, `severity`, `policy`, `action`) override it. Importing
`losslint` never imports transformers.
"""

from __future__ import annotations

import sys
from typing import Any

from transformers import TrainerCallback
from transformers.utils import logging as hf_logging

from ..hooks import intercept
from ..libraries import boundary_targets, carried
from ..hooks.monitor import state
from .training import TrainingSession

log = hf_logging.get_logger("transformers.losslint")


class LossLintCallback(TrainerCallback):
    """Judge the loss calls of the model's forward passes; report at each epoch's and evaluation's end.

    action: "stop" (default) stops calls torch would reject and collects the rest; "raise" also stops
    on any error (or at `fail_on`); "collect" stops nothing. Other keywords (`select`, `ignore`,
    `severity`, `fail_on`, `policy`) go to `losslint.watch()`.
    """

    def __init__(self, *, action: str = "stop", **options: Any):
        self.session = TrainingSession(action=action, **options)
        self._handles: list = []
        self._model = None
        self._inside: list[bool] = []  # per forward entered: whether its boundary check set state.inside

    @property
    def reports(self) -> list:
        """What this process saw, one report per call site and findings."""
        return self.session.watch.reports

    # ---- around the model's forward --------------------------------------------------------------

    def _install(self, model: Any) -> None:
        if model is None or model is self._model:
            return
        self._remove()
        self._model = model
        self._handles = [
            model.register_forward_pre_hook(self._before, with_kwargs=True),
            model.register_forward_hook(self._after, with_kwargs=True, always_call=True),
        ]

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._model = [], None
        self.session.leave_all()

    def _before(self, module: Any, args: tuple, kwargs: dict) -> None:
        self.session.enter()
        # The watch starts here, inside Module.__call__, after the model-boundary wrapper of
        # PreTrainedModel.__call__ (libraries.BOUNDARIES) was passed: judge the `labels=` now.
        self._inside.append(self._judge_boundary(module, args, kwargs, sys._getframe(1)))

    def _after(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        if self._inside and self._inside.pop():
            state.inside = False
        self.session.leave()

    def _judge_boundary(self, model: Any, args: tuple, kwargs: dict, frame: Any) -> bool:
        """The boundary check of this forward; when it found something, the loss the model computes
        inside is not judged again (as intercept._boundary_call does), until _after."""
        if not state.watches or state.busy or state.inside:
            return False
        for cls, judge, where in boundary_targets():
            if isinstance(model, cls):
                if carried(args, kwargs, where) is None:
                    return False  # no labels: nothing to judge before the model runs
                if intercept.judge_boundary(state.watches[-1], judge, model, args, kwargs, frame):
                    state.inside = True
                    return True
                return False
        return False

    # Trainer passes `model=` to every event; on_init_end is missed by a callback added later.
    def on_init_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._install(model)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._install(model)

    # ---- reports ---------------------------------------------------------------------------------

    def _report(self, title: str) -> None:
        text, _ = self.session.epoch_report(title)
        if text is not None:
            log.warning(text)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._report(f"epoch {int(round(state.epoch or 0)) - 1}")

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._report("evaluation")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._report("end of training")
