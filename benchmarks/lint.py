"""How fast `losslint lint` reads source: `python benchmarks/lint.py PATH...` (one process, one thread).

Lints the folders three times and prints the best run: files, lines, findings, wall and CPU seconds,
and lines per CPU second (CPU time, because on a shared machine the wall time measures the other jobs
too). The figures in docs/lint.md come from this script, run over local copies of public repositories.
"""

from __future__ import annotations

import sys
import time

from losslint.static import lint_paths


def main(paths: list[str]) -> None:
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        result = lint_paths(paths)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert result is not None
    print(f"{result.files} files, {result.lines} lines, {len(result.findings)} findings; best of 3: "
          f"{best_wall:.2f} s wall, {best_cpu:.2f} s CPU; {result.lines / best_cpu:,.0f} lines per CPU second")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/lint.py PATH...")
    main(sys.argv[1:])
