"""When torch raises inside a hooked loss call: losslint's explanation on torch's own exception.

The sampling policy reads values on a site's first calls and then on a sample, so a mistake that only
values show (a corrupt class label at step 37) can reach torch on a call losslint did not read, and
torch raises its own error (`IndexError: Target 5 is out of bounds`; on a GPU, a device-side assert).
The hook or watch that saw the call still has its arguments in hand while the exception passes: it
judges them fully then, and adds its report to the exception as a note (`BaseException.add_note`,
shown under torch's message in the traceback) and as the attribute `losslint_report`.

A note, not a `LossLintError` raised from torch's error: the exception keeps its type, message and
traceback, so `except IndexError:` (or a framework's handling of a CUDA error) catches it as before;
losslint only adds words. Where the exception is caught:
- `watch()`: in the wrapper that runs the loss (`intercept._judged`, `Watch._loss_call`), a `try`
  around the call (free in Python 3.11 while nothing raises);
- `attach()` and `pre_hook`: in a forward hook registered with `always_call=True`, which torch runs
  from its `except` block in `Module.__call__` while the exception is in flight (`sys.exc_info()`).
Calls that do not raise pay for none of the judging.
"""

from __future__ import annotations

import dataclasses
import sys
from types import FrameType

import torch

from ..errors import LossLintError
from ..evidence import callsite
from ..judging.findings import Report
from ..judging.suppress import apply_suppressions
from .monitor import state


def in_flight() -> BaseException | None:
    """The exception torch's `Module.__call__` is handling while it runs the always-called forward
    hooks; None when the call returned."""
    exc = sys.exc_info()[1]
    return exc if isinstance(exc, Exception) else None


def explain(monitor, loss: object, args: tuple, kwargs: dict, exc: BaseException, start: FrameType | None) -> Report | None:
    """Judge the call that raised `exc` at values depth, record the report in `monitor`, and add it
    to `exc` as a note. Never raises, and leaves `exc` as it was when there is nothing to say."""
    if isinstance(exc, LossLintError) or state.busy or getattr(exc, "losslint_report", None) is not None:
        return None  # losslint's own stop, or a note already added (a watch inside a hook's call)
    if state.predicted is not None and state.predicted == id(args):
        return None  # judged before it ran, and the report said what is wrong (the action let it run)
    state.busy = True
    try:
        with torch._C.DisableTorchFunction():
            report = monitor.checker.check_call(loss, args, kwargs, depth="values")
        if not report.findings:
            return None
        frame, location, context = callsite.sites(start)
        report = apply_suppressions(dataclasses.replace(report, location=location, context=context), also=context)
        if not report.findings:
            return None
        monitor._record(report, counted=False)  # the call was counted when it was seen
        exc.add_note(
            f"losslint: torch raised on a {report.loss} call whose values the sampling policy did not "
            f"read; judged in full after the error:\n{report}"
        )
        exc.losslint_report = report
        return report
    except Exception:  # noqa: BLE001 - torch's error is what the user must see, whatever happens here
        return None
    finally:
        state.busy = False
