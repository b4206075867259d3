"""Under watch(), torch's own warnings point where they point without losslint (the user's line, or the
line inside torch that torch's stacklevel names), not at losslint's wrappers (losslint/hooks/warning_place.py)."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint


def _torch_warnings(call, **watch) -> list[tuple[str, int, str]]:
    """(filename, line, message) of the UserWarnings torch raised during `call()`; under watch()
    when options are given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if watch:
            with losslint.watch(**watch):
                call()
        else:
            call()
    return [(w.filename, w.lineno, str(w.message)[:40]) for w in caught if w.category is UserWarning]


def _functional():
    F.mse_loss(torch.randn(8, 1), torch.randn(8)); _functional.line = sys._getframe().f_lineno  # noqa: E702


def _module():
    nn.MSELoss()(torch.randn(8, 1), torch.randn(8))


def _softmax_without_dim():
    F.softmax(torch.randn(8, 3)); _softmax_without_dim.line = sys._getframe().f_lineno  # noqa: E702


@pytest.mark.parametrize("thorough", [False, True], ids=["default", "thorough"])
@pytest.mark.parametrize("call", [_functional, _module, _softmax_without_dim], ids=lambda c: c.__name__.strip("_"))
def test_torch_warnings_keep_their_place_under_watch(call, thorough):
    plain = _torch_warnings(call)
    assert plain, "torch warned nothing to compare"
    watched = _torch_warnings(call, action="collect", thorough=thorough)
    assert watched == plain
    assert not any("losslint" in filename for filename, _, _ in watched)


def test_the_broadcast_warning_is_at_the_users_line_and_filters_by_line_work():
    _functional()
    [(filename, line, _)] = _torch_warnings(_functional, action="collect")
    assert (filename, line) == (__file__, _functional.line)
    # A filter by module, the way people silence one warning of one file, works inside the watch.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="Using a target size", module=__name__)
        with losslint.watch(action="collect"):
            _functional()
    assert not [w for w in caught if w.category is UserWarning]


def test_warnings_warn_is_restored_after_the_watch():
    before = warnings.warn
    with losslint.watch():
        assert warnings.warn is not before
    assert warnings.warn is before
