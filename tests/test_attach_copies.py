"""A model that holds its attached criterion is copied and saved as training does it: an EMA or SWA copy
(`copy.deepcopy`, torch's own `AveragedModel`) and `torch.save` of the whole model. attach() must not
make either fail, and a copy's calls are still judged."""

from __future__ import annotations

import copy
import io
import warnings

import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel

import losslint


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 1)
        self.criterion = nn.MSELoss()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(self.head(x), y)


def _codes(hook) -> list[str]:
    return [f.code for report in hook.reports for f in report.findings]


def test_a_deep_copy_of_the_model_is_made_and_its_calls_are_judged_by_the_same_hook():
    model = Regressor()
    hook = losslint.attach(model.criterion, action="collect")
    ema = copy.deepcopy(model)
    assert ema.criterion is not model.criterion
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own broadcast warning
        ema(torch.randn(8, 4), torch.randn(8))  # (8, 1) against (8,): a silent broadcast
    assert "LL205" in _codes(hook)


def test_torch_averaged_model_builds_around_an_attached_criterion():
    model = Regressor()
    losslint.attach(model.criterion, action="collect")
    averaged = AveragedModel(model)
    averaged.update_parameters(model)
    assert torch.equal(averaged.module.head.weight, model.head.weight)


def test_the_whole_model_saves_and_loads_and_the_loaded_one_runs_unhooked():
    model = Regressor()
    hook = losslint.attach(model.criterion, action="collect")
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    assert torch.equal(loaded(x, y), model(x, y))
    calls = hook.calls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded(x, y.squeeze(1))  # judged by nothing: the loaded model was never attached
    assert hook.calls == calls
    assert "LL205" not in _codes(hook)
