"""What the Lightning and HuggingFace callbacks share: one `watch()` entered around each step, and a
report of what is new at the end of each epoch, gathered over the ranks of a distributed run.

The watch is entered and left around each batch, not once for the whole run, so that only the
framework's step (the model, its loss) is judged, not the data loading or logging in between.

With `keep_installed=True` (Lightning), the wrappers of the loss functionals that a watch needs
(`hooks.intercept`) are installed at the first step and kept until the run ends (`close()`, from
Lightning's teardown and exception hooks, which run however the run ends): between steps they pass
straight through, since no watch is active, and a step costs the watch's entry and exit alone, not a
reinstall of every wrapper (`benchmarks/training_loop.py`). The Trainer has no hook for a run that
raises (in a backward, an optimizer step), so its callback leaves them at every step's end, as a
watch does: a raise never leaves losslint's wrappers installed.
"""

from __future__ import annotations

from typing import Any

from ..hooks import intercept
from ..hooks.distributed import RankedReport, gather_reports, process_group, render_ranked


class TrainingSession:
    """One `watch(action=...)` for a whole run, entered around the steps, reported per epoch."""

    def __init__(self, *, action: str = "stop", keep_installed: bool = False, **options: Any):
        from ..hooks.watcher import watch  # builds the checker now: a broken configuration fails at setup

        self.watch = watch(action=action, **options)
        self._inside = 0
        self._keep_installed = keep_installed
        self._held = False  # the wrappers are installed for the run (see the module's docstring)
        self._reported: dict[tuple, int] = {}  # (call site, findings) -> count already reported
        self.seen: list[RankedReport] = []  # every report so far, merged over ranks, as last gathered

    def enter(self) -> None:
        if self._inside == 0:
            if self._keep_installed and not self._held:
                intercept.enter(self.watch.checker.registry)
                self._held = True
            self.watch.__enter__()
        self._inside += 1

    def leave(self) -> None:
        if self._inside == 0:
            return
        self._inside -= 1
        if self._inside == 0:
            self.watch.__exit__(None, None, None)

    def leave_all(self) -> None:
        """After an exception or at teardown: whatever was entered is left, and the wrappers go."""
        if self._inside:
            self._inside = 1
            self.leave()
        self.close()

    def close(self) -> None:
        """The run is over: the wrappers the steps kept installed are restored (when no other watch
        of the process still needs them)."""
        if self._held:
            self._held = False
            intercept.leave()

    def new_reports(self) -> list[RankedReport]:
        """Reports whose findings were not reported before, merged over the ranks (a collective in a
        distributed run: every rank must call it at the same point, as epoch ends are)."""
        ranked = gather_reports(self.watch.reports)
        self.seen = ranked
        fresh = []
        for item in ranked:
            # The line that computed the loss: evaluation reaches the model's loss from another line
            # of the user's (trainer.evaluate()) with the same problem, which is not news.
            where = item.report.context or item.report.location
            key = (where, frozenset((f.code, f.argument) for f in item.report.findings))
            if key not in self._reported:
                fresh.append(item)
            self._reported[key] = item.report.count
        return fresh

    def epoch_report(self, title: str) -> tuple[str | None, list[RankedReport]]:
        """(text to print on rank 0, or None when nothing is new; the new reports)."""
        # Infos are not worth a log line in every run (like the hooks, which warn only at warning and
        # above); they stay in `.reports`.
        fresh = [item for item in self.new_reports() if item.report.errors or item.report.warnings]
        group = process_group()
        if not fresh or (group is not None and group[0] != 0):
            return None, fresh
        return render_ranked(fresh, title=title, world=group[1] if group else None), fresh
