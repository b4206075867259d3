"""torch's own warnings keep pointing at the user's line while `watch()` wraps torch's functions.

torch warns with a `stacklevel` that counts the frames above its function: `F.mse_loss` warns about a
broadcast target size with `stacklevel=2`, the line that called it. A wrapper of `F.mse_loss`
(`intercept`) is then that caller, and the warning would point at losslint's file instead of the
user's line, which breaks per-line warning filters and the once-per-line deduplication.

While a watch has torch's functions wrapped, `warnings.warn` is wrapped too (restored with them): a
call whose `stacklevel` lands on one of losslint's frames is passed on with the level raised past
them, so the warning gets the filename, line and module it gets without losslint. Any other call
keeps its level, raised by one for this function's own frame. A thorough watch's mode sits between
torch's function and its re-entry (`handle_torch_function`); those frames are passed over as well.

Not covered: warnings raised in C++ (`TORCH_WARN`) from an op a wrapper calls directly, which point
at the innermost Python frame.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

_HERE = os.path.dirname(os.path.abspath(__file__))
# The files of losslint's frames between a torch function and the user's call, and the names under
# which `functional_wrapper` compiles the wrappers it writes for torch's functionals.
_OWN = {os.path.join(_HERE, name) for name in ("intercept.py", "watcher.py", "functional_wrapper.py")}
_WRITTEN = os.path.join(_HERE, "<losslint wrapper of ")


def _overrides_file() -> str:
    import torch.overrides

    return os.path.abspath(torch.overrides.__file__)


_TORCH_OVERRIDES = _overrides_file()


def _beyond_losslint(caller, stacklevel: int) -> int:
    """How many frames past `stacklevel` (counted from `caller`, the frame that called warn) the
    frame without losslint is: 0 when the level does not land on a frame of losslint's."""
    target = caller
    for _ in range(stacklevel - 1):
        if target is None:
            return 0
        target = target.f_back
    extra, handed_over = 0, False
    while target is not None:
        filename = target.f_code.co_filename
        if filename in _OWN or filename.startswith(_WRITTEN):
            pass
        elif extra and filename == _TORCH_OVERRIDES:
            # A thorough watch's mode: torch's function handed the call over (handle_torch_function)
            # and the watch called it again.
            handed_over = True
        elif handed_over and target.f_code is caller.f_code:
            handed_over = False  # the outer call of the same function, which the user made
        else:
            break
        target, extra = target.f_back, extra + 1
    return extra


def keeping_place(current: Callable) -> Callable:
    """`warnings.warn`, as `current` does it, with a level that skips losslint's frames."""

    def warn(message: Any, category: Any = None, stacklevel: int = 1, source: Any = None, **kwargs: Any):
        level = max(int(stacklevel), 1)
        try:
            extra = _beyond_losslint(sys._getframe(1), level)
        except Exception:  # noqa: BLE001 - a warning must be warned whatever happens here
            extra = 0
        return current(message, category, level + 1 + extra, source, **kwargs)

    warn.__losslint_original__ = getattr(current, "__losslint_original__", current)
    warn.__doc__ = current.__doc__
    warn.__name__ = getattr(current, "__name__", "warn")
    return warn
