"""Which files `losslint lint` reads, and their source text: a `.py` file, or the code cells of a
notebook joined into one module (so that a criterion made in one cell is followed into another).

A file that is not UTF-8, is not valid notebook JSON, or does not parse is returned as a problem with
its line, not skipped in silence: the caller reports it and lints the rest.
"""

from __future__ import annotations

import ast
import json
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
# Folders that hold no code of the user's own (ruff's default exclusions): environments, caches,
# version control, build outputs. Hidden folders and virtual environments (a pyvenv.cfg) too.
_SKIP_DIRS = {"venv", "__pycache__", "__pypackages__", "node_modules", "site-packages", "build", "dist",
              "_build", "buck-out"}


class MissingPath(Exception):
    """A path given on the command line does not exist (a usage error)."""


def collect(paths: list[str | Path]) -> list[Path]:
    """The .py and .ipynb files under `paths` (a file is taken whatever its suffix), sorted, once each."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")
                                 and not os.path.isfile(os.path.join(root, d, "pyvenv.cfg")))
                for name in sorted(files):
                    if name.endswith(SUFFIXES):
                        found[Path(root) / name] = None
        else:
            raise MissingPath(f"{given}: no such file or directory")
    return list(found)


@dataclass
class Cell:
    """Where a notebook cell's lines sit in the joined module: lines `start`..`start + length - 1`."""

    number: int  # 1-based, counting every cell of the notebook (as editors number them)
    start: int
    length: int


@dataclass
class Source:
    path: Path
    text: str = ""
    tree: ast.Module | None = None
    lines: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)  # empty for a .py file
    # (message, line, cell number or None) for what could not be read or parsed
    problems: list[tuple[str, int, int | None]] = field(default_factory=list)

    def place(self, line: int) -> tuple[int, int | None]:
        """A line of the joined module -> (line within its cell, cell number); a .py line is itself."""
        for cell in self.cells:
            if cell.start <= line < cell.start + cell.length:
                return line - cell.start + 1, cell.number
        return line, None


def _decode(path: Path, data: bytes) -> tuple[str | None, str | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, f"not UTF-8 text: byte {data[exc.start]:#04x} at line {line} cannot be decoded"


def _parse(text: str, name: str) -> tuple[ast.Module | None, tuple[str, int] | None]:
    try:
        return ast.parse(text, filename=name), None
    except SyntaxError as exc:
        return None, (f"does not parse as Python: {exc.msg}", exc.lineno or 1)
    except ValueError as exc:  # source with NUL bytes
        return None, (f"does not parse as Python: {exc}", 1)


# `torch.*Tensor?`, `model.forward??`: IPython's help and search syntax.
_HELP = re.compile(r"^\s*[\w.*\[\]]+\?\??\s*$")
# `files = !ls`, `t = %timeit -o f()`: a name bound to a shell's or a magic's output.
_ASSIGNED_MAGIC = re.compile(r"^(\s*[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*)[!%]")


def _cell_code(source: str | list[str]) -> list[str] | None:
    """A code cell's lines with IPython syntax blanked (keeping line numbers); None for a cell magic."""
    text = "".join(source) if isinstance(source, list) else str(source)
    # IPython runs a cell whose lines all share a leading indentation (its `leading_indent` transform).
    lines = textwrap.dedent(text).split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return None  # %%bash, %%time: the cell is not (only) Python
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!", "?")) or _HELP.match(line):
            # A line magic, a shell escape or help: not Python. `pass` at its indentation keeps a block
            # that holds only magics (`if colab:\n    %pip install x`) a block.
            out.append(line[: len(line) - len(stripped)] + "pass")
        elif (match := _ASSIGNED_MAGIC.match(line)) is not None:
            out.append(match.group(1) + "None")
        else:
            out.append(line)
    return out


def read(path: Path) -> Source:
    source = Source(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        source.problems.append((f"cannot be read: {exc.strerror or exc}", 1, None))
        return source
    text, problem = _decode(path, data)
    if text is None:
        source.problems.append((problem or "not UTF-8 text", 1, None))
        return source
    if path.suffix != ".ipynb":
        tree, error = _parse(text, str(path))
        if error is not None:
            source.problems.append((error[0], error[1], None))
            return source
        source.text, source.tree, source.lines = text, tree, text.splitlines()
        return source
    return _read_notebook(source, text)


def _read_notebook(source: Source, text: str) -> Source:
    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError) as exc:
        source.problems.append((f"is not a notebook (JSON with cells): {exc}", 1, None))
        return source
    lines: list[str] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code = _cell_code(cell.get("source", ""))
        if code is None:
            continue
        _, error = _parse("\n".join(code), f"{source.path} cell {number}")
        if error is not None:
            # One broken cell is reported; the others are still linted together.
            source.problems.append((error[0], error[1], number))
            continue
        source.cells.append(Cell(number, len(lines) + 1, len(code)))
        lines.extend(code)
    source.lines = lines
    source.text = "\n".join(lines)
    source.tree, error = _parse(source.text, str(source.path))
    if error is not None:  # cells that parse alone but not together (an unclosed block across cells)
        line, cell = source.place(error[1])
        source.problems.append((error[0], line, cell))
        source.tree = None
    return source
