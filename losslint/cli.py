"""The `losslint` command: rules, explain, check, run, lint, suggest, demo.

Exit status: 0 clean, 1 findings at or above `--fail-on` (or a `run` whose script failed), 2 a usage
error, reported on one line. `[tool.losslint]` in the nearest pyproject.toml sets the defaults; flags
override it.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import IO, Any, Sequence

from .language.config import Settings, load_settings

from .errors import ConfigError
from .errors import LossLintError, RuleFileError
from .language.selection import FAIL_ON, Selection, SelectionError, fails, split_codes


class UsageError(Exception):
    """A mistake in the command line or its inputs; printed on one line, exit status 2."""


class _Exit(Exception):
    def __init__(self, status: int):
        self.status = status


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage and calls sys.exit; a usage error here is one line, and
    # main(argv) returns its status instead of exiting (tests call it in-process).
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                        help="text (default), json (stable keys), github (Actions annotations) or sarif (SARIF 2.1.0)")
    common.add_argument("--fail-on", choices=FAIL_ON, default=None,
                        help="exit 1 on findings at or above this severity (default: warning, or [tool.losslint])")
    common.add_argument("--select", action="append", metavar="CODES",
                        help="only these codes or prefixes, comma-separated (LL3,LL401)")
    common.add_argument("--ignore", action="append", metavar="CODES", help="drop these codes or prefixes")
    common.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="auto: on a terminal unless NO_COLOR is set")
    common.add_argument("-o", "--output", type=Path, default=None, help="write the report to this file")

    parser = _Parser(prog="losslint", description="Explains PyTorch loss-function mismatches before the loss runs.")
    parser.add_argument("--version", action="version", version=f"losslint {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    rules = sub.add_parser("rules", help="every covered loss and its accepted formats, one line each")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    explain = sub.add_parser("explain", help="the documentation of a code, or the contract of a loss")
    explain.add_argument("name", metavar="CODE|LOSS", help="LL301, probabilities-passed-as-logits, CrossEntropyLoss, nll_loss")

    check = sub.add_parser(
        "check", parents=[common], help="check a call on tensors saved with torch.save",
        description="Tensors are given in the loss's argument order (see `losslint explain LOSS`), one per file, "
        "or as one file holding a dict of named arguments. They are loaded on the CPU.",
    )
    check.add_argument("loss", metavar="LOSS", help="CrossEntropyLoss, cross_entropy, nn.NLLLoss, ...")
    check.add_argument("files", nargs="+", metavar="FILE", type=Path)
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                       help="the loss's configuration: reduction=sum, ignore_index=-1, weight=w.pt")

    run = sub.add_parser(
        "run", parents=[common], help="run a script under losslint.watch() and report every loss call",
        description="Runs SCRIPT like `python SCRIPT ARGS…` with every functional loss call checked, then "
        "prints the findings grouped by call site. Exits 1 on findings at or above --fail-on, or when the "
        "script fails. A `# losslint: ignore[CODE]` comment on the calling line suppresses a finding.",
    )
    run.add_argument("script", type=Path, metavar="SCRIPT")
    run.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS")

    lint = sub.add_parser(
        "lint", parents=[common], help="find loss mistakes in Python files and notebooks, without running them",
        description="Reads .py files and the code cells of .ipynb notebooks (folders recursively) without importing "
        "them or torch, and reports the loss mistakes the source makes certain, with the codes of the runtime "
        "checks. A `# losslint: ignore[CODE]` comment on the line suppresses a finding. Exits 1 on findings at or "
        "above --fail-on.",
    )
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    suggest = sub.add_parser(
        "suggest", help="which losses take a prediction and a target, and how to convert them for the others",
        description="Describes the two tensors (saved with torch.save), lists the losses that take them as they "
        "are, and for the others the exact conversion as code, checked on these tensors. Exits 0 when some loss "
        "takes them (as they are or converted), 1 when none does.",
    )
    suggest.add_argument("prediction", type=Path, metavar="PRED", help="the model's output, e.g. logits.pt")
    suggest.add_argument("target", type=Path, metavar="TARGET", help="the labels or targets, e.g. labels.pt")
    suggest.add_argument("--task", choices=_tasks(), default=None,
                         help="narrow the answer when the tensors are ambiguous (raw embeddings look like logits)")
    suggest.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json (stable keys)")
    suggest.add_argument("-o", "--output", type=Path, default=None, help="write the answer to this file")

    demo = sub.add_parser("demo", help="a short tour on generated tensors")
    demo.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _tasks() -> tuple[str, ...]:
    from .language.vocabulary import TASKS

    return tuple(TASKS)


def _version() -> str:
    from .version import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(f"losslint: error: {exc}", file=sys.stderr)
        return 2
    except _Exit as exc:
        return exc.status
    except BrokenPipeError:
        # `losslint rules | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _import_torch_quietly() -> None:
    """Import torch with its "Failed to initialize NumPy" warning silenced.

    torch works without NumPy (losslint never needs it) but warns on import when NumPy is missing;
    in a fresh venv that warning would be the first line of every command's output. It is torch's,
    about an optional package, and says nothing about the user's losses.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
        import torch  # noqa: F401


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command != "lint":  # lint reads source only: it must run where torch is not installed
        _import_torch_quietly()
    try:
        settings = load_settings()
        if hasattr(args, "fail_on"):
            settings = settings.override(
                select=split_codes(args.select) if args.select else None,
                ignore=split_codes(args.ignore) if args.ignore else None,
                fail_on=args.fail_on,
            )
        return _COMMANDS[args.command](args, settings)
    except (ConfigError, SelectionError) as exc:
        raise UsageError(str(exc)) from None
    except RuleFileError as exc:
        raise UsageError("invalid rule files: " + "; ".join(exc.problems)) from None


# ---- helpers ---------------------------------------------------------------------------------------


def use_color(stream: IO[str], mode: str = "auto") -> bool:
    """Color on a terminal; never when NO_COLOR is set (no-color.org) or TERM is dumb."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _emit(text: str, args: argparse.Namespace) -> None:
    if not text:
        return
    output = getattr(args, "output", None)
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            reason = "it is a directory; give a file name" if output.is_dir() else (
                _not_a_file(output) if not output.parent.is_dir() else _os_error(exc)
            )
            raise UsageError(f"cannot write {output}: {reason}") from None
    else:
        print(text)


def _selection(settings: Settings) -> Selection:
    try:
        return settings.selection()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _resolve(registry: Any, name: str) -> Any:
    from .errors import UnknownLossError

    try:
        spec, _, _ = registry.resolve(name)
    except UnknownLossError as exc:
        raise UsageError(_first_line(exc)) from None
    return spec


# ---- rules -----------------------------------------------------------------------------------------


# The distribution to install for a library's import name, where they differ.
_DISTRIBUTIONS = {"pytorch_metric_learning": "pytorch-metric-learning"}


def _library_text(loss: Any) -> str:
    """kornia 0.9.0, or pytorch-metric-learning (not installed); found without importing the library."""
    from importlib.metadata import PackageNotFoundError, version

    library = loss.library or "-"
    dist = _DISTRIBUTIONS.get(library, library)
    if library == "torch" and not loss.installed:
        return loss.missing_text
    if not loss.installed:
        return f"{dist} (not installed)"
    try:
        return f"{dist} {version(dist)}"
    except (PackageNotFoundError, ValueError):
        return dist


def _where(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def origin_text(loss: Any) -> str:
    """Where a loss's rule came from: its library for a built-in rule, else the file and how it was registered."""
    if loss.layer == 0:
        return _library_text(loss)
    return f"{_where(loss.source)} ({loss.origin})"


def _callee(loss: Any) -> str:
    ref = loss.functional_ref or loss.module_ref
    if ref is None:
        return "-"
    if ref.name.startswith("torch.nn.functional."):
        return "F." + ref.attr
    if loss.library == "torch":
        return "-"  # a torch module without a functional (AdaptiveLogSoftmaxWithLoss)
    return ref.name


def _cmd_rules(args: argparse.Namespace, settings: Settings) -> int:
    registry = settings.registry()
    losses = sorted(registry.losses.values(), key=lambda loss: (loss.layer > 0, loss.library != "torch", loss.library or "", loss.name))
    if args.format == "json":
        print(json.dumps([
            {
                "name": loss.name,
                "module": loss.rule.loss.module,
                "functional": loss.rule.loss.functional,
                "aliases": list(loss.aliases),
                "formats": [f.name for f in loss.formats],
                "format_descriptions": [f.description for f in loss.formats],
                "library": loss.library,
                "installed": loss.installed,
                "origin": loss.origin,
                "source": loss.source,
                "extends": loss.rule.extends,
                "shadows": [f"{s.shadowed.name} ({s.shadowed.source})" for s in registry.shadows if s.rule is loss],
            }
            for loss in losses
        ], indent=2))
        return 0
    # Columns sized to their contents, under a header; formats in words (the rule files' descriptions),
    # not their kebab-case names, which are identifiers for JSON and rule files.
    rows = [("LOSS", "FUNCTIONAL", "FROM", "TAKES")]
    rows += [
        (loss.name, _callee(loss), origin_text(loss), " | ".join(f.description.split(":")[0] for f in loss.formats))
        for loss in losses
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    for shadow in registry.shadows:
        print(f"losslint: note: {shadow}", file=sys.stderr)
    return 0


# ---- explain ---------------------------------------------------------------------------------------


def _cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    import re

    from .advice.docs import code_text, code_uses, loss_text
    from .language.spec import load_builtin

    codes, _ = load_builtin()
    registry = settings.registry()
    rules = [loss.rule for loss in registry.losses.values()]
    name = args.name.strip()
    by_name = {doc.name: code for code, doc in codes.items()}
    code = name.upper() if name.upper() in codes else by_name.get(name.lower())
    if code is not None:
        print(code_text(code, codes[code], code_uses(rules).get(code, [])))
        return 0
    if re.fullmatch(r"LL\d+", name, re.IGNORECASE):
        first, last = min(codes), max(codes)
        raise UsageError(f"unknown code {name!r}; codes run {first}…{last} (see `losslint explain LL301`)")
    spec = _resolve(registry, name)
    print(loss_text(spec.rule, origin=f"{_where(spec.source)} ({origin_text(spec) if spec.layer == 0 else spec.origin})"))
    return 0


# ---- check -----------------------------------------------------------------------------------------

_TENSOR_SUFFIXES = (".pt", ".pth", ".pkl", ".bin")


def _not_a_file(path: Path, wanted: str = "a file saved with torch.save") -> str:
    """Why `path` is not a file to read, in words: a directory is not a missing file."""
    if path.is_dir():
        return f"it is a directory; give {wanted}"
    if path.is_symlink() and not path.exists():
        return f"it is a broken symbolic link (to {os.readlink(path)})"
    if not path.exists():
        parent = path.parent
        if str(parent) not in ("", ".") and not parent.is_dir():
            return f"no such directory {parent}" if not parent.exists() else f"{parent} is not a directory"
        return "no such file"
    return f"it is not a regular file; give {wanted}"


def _os_error(exc: OSError) -> str:
    """An OSError's reason, lowercase as losslint's messages are (`permission denied`)."""
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def _load(path: Path) -> Any:
    import torch

    if not path.is_file():
        raise UsageError(f"cannot read {path}: {_not_a_file(path)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's problem
            # weights_only: a tensor file from elsewhere must not run code when it is read.
            return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:  # the file itself (permissions, a read error), not what it holds
        raise UsageError(f"cannot read {path}: {_os_error(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to read is the user's input, not a crash
        raise UsageError(f"cannot load {path}: {_load_failure(path, exc)}") from None


def _load_failure(path: Path, exc: Exception) -> str:
    """Why torch.load failed, in words: torch's own message is often a bare pickle opcode (`101`)."""
    import pickle
    import zipfile

    if path.stat().st_size == 0:
        return "the file is empty"
    if zipfile.is_zipfile(path) and "Weights only load failed" in str(exc):
        return (
            "it holds Python objects besides tensors, and losslint loads only tensors, numbers and "
            "containers of them (torch.load(weights_only=True)); save the tensors themselves"
        )
    with path.open("rb") as handle:
        first = handle.read(1)
    # torch.save writes a zip archive (a legacy file: a pickle, whose first byte is the PROTO opcode).
    if not zipfile.is_zipfile(path) and (first != b"\x80" or isinstance(exc, (KeyError, EOFError, pickle.UnpicklingError))):
        return (
            "it is not a file written by torch.save (expected tensors saved with "
            f"torch.save(tensor, {path.name!r}); torch.load said {type(exc).__name__}: {_first_line(exc)})"
        )
    return f"torch.load raised {type(exc).__name__}: {_first_line(exc)}"


def _parse_value(key: str, text: str, spec: Any) -> Any:
    """A `--set` value, read by the type the rule file declares for `key`."""
    import torch

    rule = spec.config.get(key)
    kind = rule.type if rule is not None else ("tensor" if key in spec.arguments else "any")
    # (a directory or a broken link named for a tensor is read, to say what it is)
    if text.endswith(_TENSOR_SUFFIXES) or (kind == "tensor" and (Path(text).exists() or Path(text).is_symlink())):
        return _load(Path(text))
    if text.lower() in ("none", "null") and (rule is None or rule.nullable or rule.type == "any"):
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError
            return lowered in ("true", "1")
        if kind == "str":
            return text
        if kind == "tensor":
            values = ast.literal_eval(text)
            if not isinstance(values, (list, tuple, int, float)):
                raise ValueError
            return torch.tensor(values)
    except (ValueError, SyntaxError, TypeError):
        article = "an" if kind == "int" else "a"
        wanted = f"{article} {kind}" if kind != "tensor" else "a tensor file (.pt) or a list of numbers"
        raise UsageError(f"--set {key}={text}: expected {wanted}") from None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_settings(items: list[str], spec: Any) -> dict[str, Any]:
    allowed = list(dict.fromkeys([*spec.config, *spec.arguments, *spec.functional_params, *spec.keyword_only]))
    config: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item}: expected KEY=VALUE, e.g. --set reduction=sum")
        if key not in allowed:
            raise UsageError(f"--set {key}: {spec.name} has no `{key}`; it takes {', '.join(allowed)}")
        config[key] = _parse_value(key, text.strip(), spec)
    return config


# Accepted by torch for old code, never worth suggesting: `reduction` replaces both.
_DEPRECATED = ("size_average", "reduce")


def _check_keys(spec: Any, keys: list[str], path: Path | None) -> None:
    """A dict file's keys must be the loss's argument names: `logits`/`labels` is a naming mistake in
    the file (exit 2), not four findings about the call."""
    names = [n for n in dict.fromkeys([*spec.arguments, *spec.functional_params, *spec.keyword_only, *spec.config]) if n not in _DEPRECATED]
    unknown = [k for k in keys if k not in names and k not in _DEPRECATED]
    if not unknown:
        return
    required = [n for n in spec.arguments if n not in spec.optional and n not in spec.from_module]
    optional = [n for n in names if n not in required]
    where = str(path) if path is not None else "the file"
    raise UsageError(
        f"{where} holds a dict with {'key' if len(unknown) == 1 else 'keys'} {', '.join(map(repr, unknown))}, "
        f"which {spec.name} does not take; name the tensors {', '.join(required)}"
        + (f" (optional: {', '.join(optional)})" if optional else "")
        + ", or save each tensor to its own file and give the files in that order"
    )


def _call(spec: Any, values: list[Any], config: dict[str, Any], path: Path | None = None) -> tuple[object, list[Any], dict[str, Any]]:
    """What to hand to check(): the functional with keywords, or a module built from the configuration."""
    positional, keywords = list(values), {}
    if len(values) == 1 and isinstance(values[0], dict) and all(isinstance(k, str) for k in values[0]):
        _check_keys(spec, list(values[0]), path)
        positional, keywords = [], dict(values[0])
    elif len(values) == 1 and isinstance(values[0], (list, tuple)):
        positional = list(values[0])
    keywords.update(config)
    if spec.functional is not None:
        return spec.functional, positional, keywords
    init = {k: v for k, v in keywords.items() if k in spec.config}
    keywords = {k: v for k, v in keywords.items() if k not in init}
    if spec.module is None:
        return spec.name, positional, keywords
    if not init:
        return spec.module, positional, keywords
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's construction warnings are not findings
            module = spec.module(**init)
    except Exception as exc:  # noqa: BLE001 - torch validates the configuration when the module is built
        shown = ", ".join(f"{k}={v!r}" for k, v in init.items())
        raise UsageError(f"cannot build {spec.name}({shown}): {_first_line(exc)}") from None
    return module, positional, keywords


def _render_one(report: Any, args: argparse.Namespace) -> str:
    from .judging.render import render_github, render_json, render_text

    if args.format == "sarif":
        return _sarif([report], str(args.files[0]))
    if args.format == "json":
        return render_json(report)
    if args.format == "github":
        return render_github(report)
    return render_text(report, color=args.output is None and use_color(sys.stdout, args.color))


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from .judging.engine import Checker

    selection = _selection(settings)
    registry = settings.registry()
    spec = _resolve(registry, args.loss).load()  # asked for by name: import its library, if installed
    config = _parse_settings(args.settings, spec)
    values = [_load(path) for path in args.files]
    target, positional, keywords = _call(spec, values, config, args.files[0] if len(args.files) == 1 else None)
    report = selection.apply(Checker(registry=registry).check(target, *positional, **keywords))
    _emit(_render_one(report, args), args)
    return 1 if fails(report, settings.fail_on) else 0


# ---- run -------------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import runpy
    import traceback

    from .judging.engine import Checker
    from .judging.render import reports_to_dict, render_github_reports, render_reports
    from .judging.suppress import apply_suppressions
    from .hooks.watcher import watch

    selection = _selection(settings)
    script = args.script
    if not script.is_file():
        raise UsageError(f"cannot run {script}: {_not_a_file(script, 'the Python script to run')}")
    if not os.access(script, os.R_OK):
        raise UsageError(f"cannot run {script}: permission denied")
    path = str(script.resolve())
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *args.script_args]
    sys.path.insert(0, str(script.resolve().parent))  # as `python script.py` does
    failure = ""
    # action="stop": a call torch would reject is stopped before it runs (on a GPU, before the
    # device-side assert); everything else is recorded and reported once, at the end.
    checker = Checker(registry=settings.registry(), select=settings.select, ignore=settings.ignore, severity=settings.severity)
    # JSON and annotations are read by programs: the script's own prints go to stderr.
    machine = args.format != "text" and args.output is None
    try:
        with _stdout_to_stderr(machine), watch(action="stop", checker=checker) as watcher:
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    failure = f"{script} exited with status {exc.code}"
            except LossLintError as exc:
                # The findings below say what and why; a traceback through torch would only repeat it.
                failure = f"stopped {script} before a {exc.report.loss} call that torch would reject, at {exc.report.location}"
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - report it, then the findings
                tb = exc.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename != path:
                    tb = tb.tb_next  # start the traceback at the script, not in runpy or here
                traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
                failure = f"{script} raised {type(exc).__name__}"
    finally:
        sys.argv[:], sys.path[:] = saved_argv, saved_path
    reports = [selection.apply(apply_suppressions(r)) for r in watcher.reports]
    sites = watcher.sites
    if args.format == "json":
        data = reports_to_dict(reports, sites)
        data["calls"] = watcher.calls
        data["script"] = str(script)
        data["script_failed"] = bool(failure)
        text = json.dumps(data, indent=2)
    elif args.format == "github":
        text = render_github_reports(reports)
    elif args.format == "sarif":
        text = _sarif(reports)
    else:
        color = args.output is None and use_color(sys.stdout, args.color)
        text = render_reports(reports, color=color, calls=watcher.calls, sites=sites)
    sys.stdout.flush()
    _emit(text, args)
    if failure:
        print(f"losslint: {failure}", file=sys.stderr)
    return 1 if failure or any(fails(r, settings.fail_on) for r in reports) else 0


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """While a script runs: its stdout, Python's and the C level's (fd 1), goes to stderr."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved_fd = None
    try:
        if sys.stdout.fileno() == 1:  # a real stdout (not pytest's capture): move fd 1 as well
            saved_fd = os.dup(1)
            os.dup2(2, 1)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        saved_fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def _sarif(reports: list[Any], fallback: str | None = None) -> str:
    from .judging.sarif import reports_results, sarif_log

    return json.dumps(sarif_log(reports_results(reports, fallback)), indent=2)


# ---- lint ------------------------------------------------------------------------------------------


def _cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    from .static import lint_paths
    from .static.formats import render
    from .static.sources import MissingPath

    try:
        result = lint_paths(args.paths, _selection(settings))
    except MissingPath as exc:
        raise UsageError(f"cannot lint {exc}") from None
    _emit(render(result, args.format, color=args.output is None and use_color(sys.stdout, args.color)), args)
    return 1 if result.fails(settings.fail_on) else 0


# ---- suggest ---------------------------------------------------------------------------------------


def _one_tensor(path: Path) -> Any:
    """The one tensor a file for `suggest` must hold; a dict, a list or a tuple is a usage error naming what it has."""
    import torch

    value = _load(path)
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:8]) + (", ..." if len(value) > 8 else "")
        has = f"a dict with keys {keys}" if value else "an empty dict"
        pick = f"; save one of them, e.g. torch.save(d[{next(iter(value))!r}], {path.name!r})" if value else ""
    elif isinstance(value, (list, tuple)):
        has = f"a {type(value).__name__} of {len(value)}"
        pick = f"; save one of them, e.g. torch.save(t[0], {path.name!r})" if value else ""
    else:
        has, pick = f"a {type(value).__name__}", ""
    raise UsageError(f"{path} must hold one tensor; it holds {has}{pick}")


def _cmd_suggest(args: argparse.Namespace, settings: Settings) -> int:
    from .advice.suggestion import suggest

    prediction, target = _one_tensor(args.prediction), _one_tensor(args.target)
    answer = suggest(prediction, target, task=args.task, registry=settings.registry())
    _emit(json.dumps(answer.to_dict(), indent=2) if args.format == "json" else str(answer), args)
    return 0 if answer.fits or answer.converted else 1


# ---- demo ------------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import run

    return run(color=use_color(sys.stdout, args.color))


_COMMANDS = {"rules": _cmd_rules, "explain": _cmd_explain, "check": _cmd_check, "run": _cmd_run, "lint": _cmd_lint, "suggest": _cmd_suggest, "demo": _cmd_demo}


if __name__ == "__main__":
    sys.exit(main())
