"""The user's line: the first frame outside torch and losslint.

A loss reached through a hook or `watch()` is called from deep inside torch (`Module.__call__`,
`handle_torch_function`); findings, warnings and errors name the line that called it instead, so that
`-W error::losslint.LossLintWarning`, pytest's warning filters and a reader of the log all land on code
the user can change. Code of other libraries counts as the user's: a HuggingFace model computes its
cross entropy in `modeling_bert.py`, and that line is where the call came from.
"""

from __future__ import annotations

import os
import sys
from types import FrameType

import torch

# Directories whose frames are never the user's. Comparing path prefixes is the cheapest test there is
# (no module lookups), which matters because the hooks walk the stack on every loss call.
TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
# This package's folder (callsite.py lives one level below it, in evidence/).
LOSSLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_SKIPPED = (TORCH_DIR, LOSSLINT_DIR)
_NOT_USERS = (TORCH_DIR, LOSSLINT_DIR, "<frozen")  # one startswith per frame on the hooks' hot path


def _skipped(filename: str) -> bool:
    return filename.startswith(_NOT_USERS)


def user_frame(start: FrameType | None = None) -> FrameType | None:
    """The innermost frame, from `start` (default: the caller) outward, outside torch and losslint."""
    return user_frame_and_steps(start if start is not None else sys._getframe(1))[0]


def user_frame_and_steps(start: FrameType) -> tuple[FrameType | None, int]:
    """`user_frame(start)`, and how many frames outward from `start` it is (attach() looks for the
    user's frame at that depth first on the next call: see hook.Hook._before)."""
    frame, steps = start, 0
    while frame is not None and frame.f_code.co_filename.startswith(_NOT_USERS):
        frame = frame.f_back
        steps += 1
    return frame, steps


_DESCRIBED: dict[tuple[str, int, str], str] = {}


def describe(frame: FrameType | None) -> str | None:
    """`"path/to/file.py:57"`: relative to the working directory when below it, else absolute."""
    if frame is None:
        return None
    # The hooks ask on every loss call, from the same few lines: remember the answer per line and
    # working directory (a bounded cache of strings).
    key = (frame.f_code.co_filename, frame.f_lineno, os.getcwd())
    found = _DESCRIBED.get(key)
    if found is None:
        filename = key[0]
        if os.path.isabs(filename):
            cwd = key[2] + os.sep
            if filename.startswith(cwd):
                filename = filename[len(cwd):]
        found = f"{filename}:{key[1]}"
        if len(_DESCRIBED) > 4096:
            _DESCRIBED.clear()
        _DESCRIBED[key] = found
    return found


def location(start: FrameType | None = None) -> str | None:
    """The user's line as `"path/to/file.py:57"`, or None when every frame is torch's or losslint's."""
    return describe(user_frame(start if start is not None else sys._getframe(1)))


_LIBRARY_DIRS: tuple[str, ...] | None = None


def _library_dirs() -> tuple[str, ...]:
    """Installed packages (site-packages) and the standard library: code that is not the user's own."""
    global _LIBRARY_DIRS
    if _LIBRARY_DIRS is None:
        import site
        import sysconfig

        paths = sysconfig.get_paths()
        found = {paths.get(key) for key in ("purelib", "platlib", "stdlib", "platstdlib")}
        found.update(getattr(site, "getsitepackages", list)())
        found.add(getattr(site, "getusersitepackages", lambda: None)())
        _LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for p in found if p}))
    return _LIBRARY_DIRS


_OUTSIDE: tuple[str, ...] = ()
_OUTSIDE_OF: tuple[str, ...] | None = None


def outside_libraries(frame: FrameType | None) -> FrameType | None:
    """From the calling line outward, the first frame that is neither an installed library's nor the
    standard library's: the user's own line when a library (a HuggingFace model, smp, Lightning)
    called the loss. One prefix test when the user called the loss directly."""
    global _OUTSIDE, _OUTSIDE_OF
    dirs = _library_dirs()
    if _OUTSIDE_OF is not dirs:  # computed once, and again if the library folders were replaced
        _OUTSIDE, _OUTSIDE_OF = _SKIPPED + dirs, dirs
    while frame is not None and frame.f_code.co_filename.startswith(_OUTSIDE):
        frame = frame.f_back
    return frame


def sites(start: FrameType | None) -> tuple[FrameType | None, str | None, str | None]:
    """(the frame to attribute warnings to, the user's line, the library's line that made the call).

    A loss a library computes (`F.cross_entropy` in `modeling_bert.py`) is reported at the user's
    line, the first frame outside torch, losslint and the installed libraries (`train.py:40`), with
    the library's line as context; a loss the user called directly has no context. Where every frame
    is a library's (a script run by a launcher), the library's line is the location."""
    frame = user_frame(start)
    user = outside_libraries(frame)
    if user is None or user is frame:
        return frame, describe(frame), None
    return user, describe(user), describe(frame)
