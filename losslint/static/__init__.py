"""The static layer: `losslint lint` reads Python files and notebook code cells and reports the loss
mistakes visible in the source, with the same codes as the runtime findings.

It never imports or runs the code under lint, and imports no torch (nor pydantic): it must work in a
pre-commit environment where neither is installed. Its modules, one job each:

- `sources`: which files, and their text (`.py`, the code cells of `.ipynb`), or why they could not be read;
- `flow`: the data flow a reader follows within one file (variables, `self.x` set in `__init__`, an
  `nn.Sequential`'s last layer, what `forward` returns, arguments of the file's own functions);
- `patterns`: what a loss call's arguments must not be, each mapped to a code of rules/codes.toml;
- `linter`: one file or many, suppression comments and the code selection applied;
- `formats`: text, JSON, GitHub annotations and SARIF.

Layer: above judging, whose torch-free parts it uses (renderers, SARIF, suppression comments), and the
rule language (the code catalog, selection); never evidence, checks or anything that imports torch.
"""

from .linter import LintResult, StaticFinding, lint_paths, lint_source

__all__ = ["LintResult", "StaticFinding", "lint_paths", "lint_source"]
