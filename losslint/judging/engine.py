"""check(): resolve the spec, bind the arguments, match a format, and run the checks.

The order is fixed and cheap-first: the call's arguments, configuration values, tensor metadata
(devices, shapes, dtypes), then exact value checks that torch itself makes, then value heuristics on a
bounded sample, then the loss's named checks. Everything runs under `torch.no_grad()` on detached
views; the report keeps summaries only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import numbers
from collections import OrderedDict
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal

import torch

from ..errors import ConfigError
from ..language.config import default_settings
from .context import CallContext
from ..language.domains import parse_domain
from ..language import checkbook as check_library
from ..evidence.facts import TensorFacts, describe_value, dtype_name
from .findings import Finding, Report
from ..language.registry import CompiledFormat, CompiledLoss, Registry
from ..language.selection import Selection
from ..language import autocast_policy, sources
from ..language.sources import default_registry
from .origin import judge_origin
from ..language.shapes import bind, describe_binding, render, render_shape

if TYPE_CHECKING:
    from ..evidence.provenance import Origin

Depth = Literal["metadata", "values"]

# What torch's argument parser takes: an int argument takes NumPy integers but not bool;
# a float argument takes bool and any real number.
_TYPE_CHECKS = {
    "int": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, numbers.Real),
    "bool": lambda v: isinstance(v, (bool, int)),
    "str": lambda v: isinstance(v, str),
    "tensor": lambda v: isinstance(v, torch.Tensor),
    "callable": callable,
    "any": lambda v: True,
}


def _codes(values: Iterable[str] | str | None, name: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]  # ignore="LL301" means the one code, not its characters
    try:
        return tuple(str(v) for v in values)
    except TypeError:
        raise TypeError(f"{name} must be a list of codes or prefixes, got {type(values).__name__}") from None


def _selection_from(select, ignore, severity, *, file) -> Selection:
    """`file`'s selection (a config.Settings, or None) with each given argument replacing its key."""
    from ..language.spec import load_builtin

    codes, _ = load_builtin()
    if severity is not None and not isinstance(severity, dict):
        raise TypeError(f"severity must be a dict of code -> severity, got {type(severity).__name__}")
    return Selection.build(
        select if select is not None else (file.select if file else None),
        ignore if ignore is not None else (file.ignore if file else None),
        severity if severity is not None else (file.severity if file else None),
        known=codes,
    )


class Checker:
    """Holds losslint's own options, apart from the loss's arguments (a loss may take any keyword).

    depth: "values" (default) also reads tensor values; "metadata" reads only dtypes, shapes and
    devices, which never syncs a GPU and works on meta tensors.
    select, ignore, severity: which codes to report and at which severity, as in `[tool.losslint]`
    (codes or prefixes: `ignore=["LL301", "LL5"]`, `severity={"LL305": "error"}`). Each one given
    replaces the file's; those left out come from the nearest pyproject.toml's `[tool.losslint]`.
    """

    def __init__(
        self,
        *,
        depth: Depth = "values",
        registry: Registry | None = None,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        severity: dict[str, str] | None = None,
    ):
        if depth not in ("metadata", "values"):
            raise ValueError(f"depth must be 'metadata' or 'values', got {depth!r}")
        self.depth = depth
        self._registry = registry
        self._overrides = (_codes(select, "select"), _codes(ignore, "ignore"), severity)
        if any(value is not None for value in self._overrides):
            _selection_from(*self._overrides, file=None)  # an unknown code is a ValueError now, not at a call
        # The selection in force (None: keep every finding as it is), resolved on first use and again
        # only when the default settings are reread (register_rules(), sources.reset()).
        self._selection: Selection | None = None
        self._selection_stamp: int | None = None  # sources.generation it was read at; -1: needs no file
        # Metadata-only verdicts by call signature (see _metadata_key); holds no tensors.
        self._metadata_reports: OrderedDict[tuple, Report] = OrderedDict()
        self._plans: OrderedDict[tuple, _Plan] = OrderedDict()

    @property
    def registry(self) -> Registry:
        """The checker's own registry, else the default: built-in rules, packages', pyproject.toml's and
        those of `register_rules()`. The default comes with the `[tool.losslint]` it was built beside:
        a broken table is one clear ConfigError wherever the default rules are first used."""
        if self._registry is not None:
            return self._registry
        default_settings()  # cached per build of the default registry: one comparison once read
        return default_registry()

    def with_selection(
        self,
        *,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        severity: dict[str, str] | None = None,
    ) -> "Checker":
        """A checker with the same depth and registry, and these codes overriding its own."""
        own = self._overrides
        return Checker(
            depth=self.depth,
            registry=self._registry,
            select=own[0] if select is None else select,
            ignore=own[1] if ignore is None else ignore,
            severity=own[2] if severity is None else severity,
        )

    @property
    def selection(self) -> Selection:
        """The codes this checker reports and their severities: its arguments over `[tool.losslint]`."""
        return self._current_selection() or Selection()

    def _current_selection(self) -> Selection | None:
        stamp = self._selection_stamp
        if stamp == -1 or stamp == sources.generation:
            return self._selection
        select, ignore, severity = self._overrides
        if select is not None and ignore is not None and severity is not None:
            file, stamp = None, -1  # everything given (the CLI, the plugin): the file has nothing to add
        else:
            file, stamp = default_settings(), sources.generation
        selection = _selection_from(select, ignore, severity, file=file)
        # The selection that keeps everything as it is costs nothing per call: it is not applied.
        self._selection = None if selection == Selection() else selection
        self._selection_stamp = stamp
        return self._selection

    def check(self, loss: object, /, *args: Any, **kwargs: Any) -> Report:
        try:
            return self.check_call(loss, args, kwargs)
        except ConfigError as exc:
            raise exc.with_traceback(None) from None  # one clear error at the user's line

    def check_call(
        self,
        loss: object,
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
        *,
        depth: Depth | None = None,
        origin: Callable[[torch.Tensor], Origin | None] | None = None,
        slot: Any = None,
    ) -> Report:
        """`check()` with the call's arguments as a tuple and a dict, and the options of the hooks.

        depth: for this call only, instead of the checker's own. origin: what produced a tensor, for
        the tensors `watch()` saw made (`softmax`, `sigmoid`, ...); it is certain evidence about the
        value kind, and the value heuristics remain the fallback where it says nothing.
        slot: `attach()`'s record of a call's metadata (`hook._Record`: the arguments' shapes,
        dtypes and devices, the module's configuration and buffers, the grad mode), passed only for
        a call with exactly that metadata, as the hook compared it. Its `plan` and `plan_spec` hold
        the plan of that metadata: a values call uses it without computing the metadata key, and a
        plan looked up or made is kept there.
        """
        registry = self.registry
        spec, form, instance = registry.resolve(loss)
        stamp = self._selection_stamp
        selection = self._selection if stamp == -1 or stamp == sources.generation else self._current_selection()
        read_values = (depth or self.depth) == "values"
        # Whether the loss would build a graph matters to torch (SoftMarginLoss rejects a target that
        # requires grad); the checks themselves never do.
        grad_enabled = torch.is_grad_enabled()
        # Without values, the verdict is a function of metadata alone: a training loop repeats the same
        # shapes, dtypes and configuration every step, so each combination is judged once. With values,
        # the metadata steps' conclusions (a plan) are reused and only the value checks run again.
        plan = None
        if slot is not None and read_values and slot.plan_spec is spec:
            key, plan = None, slot.plan  # the hook compared the metadata: no key to compute
        else:
            key = _metadata_key(spec, form, instance, args, kwargs, origin, grad_enabled)
            if key is not None and not read_values:
                cached = self._metadata_reports.get(key)
                if cached is not None:
                    self._metadata_reports.move_to_end(key)
                    return cached
            elif key is not None:
                plan = self._plans.get(key)
        # no_grad, without building a context manager on every call of a training loop's hook.
        if grad_enabled:
            torch._C._set_grad_enabled(False)
        try:
            ctx = _run(spec, form, instance, args, kwargs or {}, read_values=read_values, origin=origin, grad_enabled=grad_enabled, plan=plan)
        finally:
            if grad_enabled:
                torch._C._set_grad_enabled(True)
        if read_values and key is not None and plan is None and ctx.plan is not None:
            self._plans[key] = ctx.plan
            if len(self._plans) > _METADATA_CACHE_SIZE:
                self._plans.popitem(last=False)
        if slot is not None and read_values and key is not None and (plan or ctx.plan) is not None:
            # Only a plan the engine would cache by key: one whose arguments all freeze (an object
            # the key cannot describe is read again on every call).
            slot.plan, slot.plan_spec = plan or ctx.plan, spec
        if not ctx.findings:
            report = _clean_report(spec.name)  # the usual verdict: one frozen Report per loss
        else:
            findings = tuple(ctx.findings) if not spec.names else tuple(_own_names(f, spec.names) for f in ctx.findings)
            report = Report(loss=spec.name, findings=findings)
            if selection is not None:
                report = selection.apply(report)
        if key is not None and not read_values:
            self._metadata_reports[key] = report
            if len(self._metadata_reports) > _METADATA_CACHE_SIZE:
                self._metadata_reports.popitem(last=False)
        return report


_METADATA_CACHE_SIZE = 512

_CLEAN: dict[str, Report] = {}


def _clean_report(loss: str) -> Report:
    """The Report of a call with no findings (frozen, so one per loss serves every such call)."""
    report = _CLEAN.get(loss)
    if report is None:
        report = _CLEAN[loss] = Report(loss=loss)
    return report


_SCALARS = frozenset((bool, int, float, str, type(None)))


def _freeze(value: object, origin: Callable | None) -> object:
    """A hashable stand-in for one argument that decides a metadata-only verdict, holding no tensor."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if isinstance(value, torch.Tensor):
        found = origin(value) if origin is not None else None
        return (
            "T", value.shape if not value.is_nested else ("nested", value.dim()), value.dtype,  # torch.Size hashes as a tuple
            value.device, value.layout, value.requires_grad, found,
        )
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        return (type(value), tuple(_freeze(v, None) for v in value))
    raise TypeError  # anything else: not cached


def _metadata_key(spec, form, instance, args, kwargs, origin, grad_enabled) -> tuple | None:
    try:
        config: tuple = ()
        if instance is not None:
            # The module's configuration, as stored (a changed attribute is a new key).
            state = vars(instance)
            buffers = state.get("_buffers") or {}
            config = tuple(
                # A dotted attribute (MONAI's DiceCELoss keeps `dice.softmax`) is read where it is.
                _freeze(state[name] if name in state else _attribute(instance, name) if "." in name else buffers.get(name), None)
                for name in spec.config_attributes
            )
            if spec.from_module:
                # Arguments the module supplies itself (LinearCrossEntropyLoss's weight) can change
                # shape if a submodule is replaced: their metadata is part of the signature too.
                config += tuple(_freeze(_attribute(instance, path), None) for path in spec.from_module.values())
        return (
            # Not the instance itself: two modules of one class with the same configuration share
            # their verdicts (a fresh module in every run of a notebook cell, a model per fold).
            id(spec), form, type(instance), config, grad_enabled, autocast_policy.state(),
            tuple(_freeze(a, origin) for a in args),
            tuple((k, _freeze(v, origin)) for k, v in (kwargs or {}).items()),
        )
    except (TypeError, ValueError):
        return None


_DEFAULT = Checker()


def check(loss: object, /, *args: Any, **kwargs: Any) -> Report:
    """Judge one loss call before it runs: `check(nn.CrossEntropyLoss(), logits, target)`.

    `loss` is a loss module, a loss class, a torch.nn.functional loss or a name; `args`/`kwargs` are
    exactly what the loss would receive. Returns a `Report`; raises only `UnknownLossError`, and
    `ConfigError` when `[tool.losslint]` in the nearest pyproject.toml is broken. The file's `select`,
    `ignore` and `severity` apply; `Checker(select=..., ignore=..., severity=...)` overrides them.
    """
    try:
        return _DEFAULT.check_call(loss, args, kwargs)
    except ConfigError as exc:
        raise exc.with_traceback(None) from None  # one clear error at the user's line




# ---- the steps ------------------------------------------------------------------------------------


def _run(
    spec: CompiledLoss,
    form: str,
    instance: object | None,
    args: tuple,
    kwargs: dict,
    read_values: bool,
    origin: Callable[[torch.Tensor], Origin | None] | None = None,
    grad_enabled: bool = True,
    plan: "_Plan | None" = None,
) -> CallContext:
    ctx = CallContext(loss=spec, args={}, config={}, read_values=read_values, form=form, grad_enabled=grad_enabled)
    try:
        if not _bind(ctx, spec, form, instance, args, kwargs):
            return ctx
        if origin is not None:
            ctx.tracked = True
            for name, value in ctx.args.items():
                found = origin(value) if isinstance(value, torch.Tensor) else None
                if found is not None:
                    ctx.origins[name] = found
        if plan is not None and plan.config is not None:
            # The metadata key holds the configuration's values: the plan's reading of it stands.
            ctx.config = dict(plan.config)
        else:
            _read_config(ctx, spec, form, instance)
        config = ctx.config
        if form == "module" and instance is not None and spec.module_adapter is not None:
            spec.module_adapter(ctx)
        if autocast_policy.any_enabled() and spec.library == "torch":
            # Under autocast the kernel sees other dtypes than the arguments': judge those.
            _autocast_view(ctx, spec)
        if plan is None:
            _check_config(ctx, spec)
            _observe(ctx, spec)
            _check_devices(ctx)
            _match_format(ctx, spec)
            _check_dtypes(ctx, spec)
            if ctx.autocast is not None and ctx.autocast.policy == "as-is":
                _autocast_leaves_dtypes(ctx, spec)
            # Scalars only: a plan holds no tensor and no object of the user's (a weight, a callable
            # is read again on every call).
            scalars = all(type(v) in _SCALARS for v in config.values())
            ctx.plan = _Plan(tuple(ctx.findings), ctx.format, dict(ctx.binding), {}, config=dict(config) if scalars else None)
        else:
            # The same metadata as a call judged before: its metadata findings and format stand.
            ctx.reused = plan
            ctx.findings = list(plan.findings)
            ctx.format, ctx.binding = plan.format, dict(plan.binding)
            _observe_facts(ctx, spec)
        if ctx.format is not None:
            _check_domains(ctx, ctx.format)
            _check_kinds(ctx, ctx.format)
            _run_checks(ctx, ctx.format.checks)
        _run_checks(ctx, spec.checks)
        if ctx.format is None and not any(f.code.startswith("LL2") for f in ctx.findings):
            _shape_mismatch(ctx, spec)
        if ctx.read_values and ctx.findings and spec.rule.usage is not None:
            for step in check_library.AFTER_FINDINGS:  # the advice layer's: say another loss's fix too
                step(ctx)
    except Exception as exc:  # noqa: BLE001 - a linter must never be what breaks the training run
        _internal_error(ctx, "engine", exc)
    return ctx


def _autocast_view(ctx: CallContext, spec: CompiledLoss) -> None:
    """Replace the call's tensors by what autocast hands the loss's kernel: float32 copies of the
    eligible ones for an op on the fp32 list; a banned op (BCE on CUDA) raises whatever the dtypes."""
    tensors = [v for v in ctx.args.values() if isinstance(v, torch.Tensor)]
    found = autocast_policy.active(spec.name, tensors, ctx.config)
    if found is None:
        return
    ctx.autocast = found
    if found.policy == "banned":
        name = spec.arguments[0]
        ctx.emit(
            "LL107",
            name,
            f"`{name}` goes to {spec.name} under {found.describe()}: autocast rejects this loss on "
            f"{found.device_type}, for every dtype",
            explanation=(
                f"torch raises 'torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to "
                f"autocast' under {found.device_type} autocast: their float16 backward overflows, so autocast "
                "bans them instead of casting (autocast_mode.cpp registers binary_cross_entropy_banned)."
            ),
            fix=(
                "feed the logits (the input before its sigmoid) to nn.BCEWithLogitsLoss / "
                "F.binary_cross_entropy_with_logits, which is safe to autocast; or compute the loss outside "
                f"autocast: with torch.autocast({found.device_type!r}, enabled=False): "
                "loss(input.float(), target.float())"
            ),
            observed=f"{found.describe()}, {spec.name}",
            expected="BCEWithLogitsLoss on logits, or the loss outside autocast",
            torch_raises=True,
        )
        return

    def cast(name: str, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            dtype = autocast_policy.kernel_dtype(spec.name, name, value, found)
            if dtype != value.dtype:
                return value.detach().to(dtype).requires_grad_(value.requires_grad)
        return value

    ctx.args = {k: cast(k, v) for k, v in ctx.args.items()}
    ctx.config = {k: cast(k, v) for k, v in ctx.config.items()}


def _autocast_leaves_dtypes(ctx: CallContext, spec: CompiledLoss) -> None:
    """A dtype raise under an autocast that does not cast this loss (CTC on CUDA) says so: people
    expect autocast to have made the dtypes right."""
    note = (
        f" {ctx.autocast.describe()} does not cast {spec.name} on {ctx.autocast.device_type}: "
        "its kernel sees the arguments' own dtypes."
    )
    ctx.findings = [
        dataclasses.replace(f, explanation=f.explanation + note) if f.code.startswith("LL1") and f.torch_raises else f
        for f in ctx.findings
    ]


def _own_names(finding: Finding, names: dict[str, str]) -> Finding:
    """A finding in the loss's own argument names (kornia's `pred`) instead of the checks' (`input`).

    LL001 (the call's arguments) already speaks of what the call named.
    """
    if finding.code == "LL001":
        return finding

    def sub(text: str, pattern: str) -> str:
        for canonical, own in names.items():
            text = re.sub(pattern.format(re.escape(canonical)), lambda m: m.group(0).replace(canonical, own), text)
        return text

    return dataclasses.replace(
        finding,
        argument=names.get(finding.argument, finding.argument),
        message=sub(finding.message, "`{}`"),
        explanation=sub(finding.explanation, "`{}`"),
        # A fix is code: there the argument is a bare identifier.
        fix=sub(finding.fix, r"(?<![\w.]){}(?!\w)"),
    )


def _internal_error(ctx: CallContext, where: str, exc: BaseException) -> None:
    ctx.emit(
        "LL000",
        "-",
        f"losslint failed in {where}: {type(exc).__name__}: {exc}",
        observed=type(exc).__name__,
    )


def _bind(ctx: CallContext, spec: CompiledLoss, form: str, instance: object | None, args: tuple, kwargs: dict) -> bool:
    """Map the call's arguments to the loss's argument and configuration names, like Python would."""
    own = spec.names  # canonical -> the loss's own name; the call uses its own names
    if form == "module" and not kwargs and len(args) == len(spec.forward) and not spec.from_module:
        # The common case, a module called with all of its forward's arguments by position.
        ctx.args = dict(zip(spec.arguments, args))
        ctx.config = {}
        return True
    if form == "module":
        names = spec.forward
        canonical = [a for a in spec.arguments if a not in spec.from_module]
        rename = dict(zip(names, canonical))
        allowed = list(names)
        keyword_only: tuple[str, ...] = ()
        callee = f"{spec.name}.forward"
    else:
        allowed = list(spec.functional_params)
        keyword_only = spec.keyword_only
        rename = {v: k for k, v in own.items()}
        callee = spec.functional.__name__ if spec.functional else spec.name
    problems: list[tuple[str, str, str]] = []  # (argument, message, fix)
    bound: dict[str, Any] = {}
    signature = f"{callee}({', '.join(allowed)}{', *, ' + ', '.join(keyword_only) if keyword_only else ''})"  # for messages
    if len(args) > len(allowed):
        problems.append(
            ("-", f"{len(args)} positional arguments given; {callee}() takes at most {len(allowed)}", f"call it as {signature}")
        )
    for name, value in zip(allowed, args):
        bound[name] = value
    for name, value in kwargs.items():
        if name not in allowed and name not in keyword_only:
            options = [n for n in list(allowed) + list(keyword_only) if n not in ("size_average", "reduce")]
            problems.append(
                (name, f"`{name}` is not an argument of {callee}()", f"drop `{name}`; {callee}() takes {', '.join(options)}")
            )
        elif name in bound:
            problems.append((name, f"`{name}` is given twice, by position and by keyword", f"call it as {signature}"))
        else:
            bound[name] = value
    if form == "module":
        required = [n for n in spec.forward if rename.get(n, n) not in spec.optional]
    else:
        required = [own.get(n, n) for n in spec.arguments if n not in spec.optional]
        # Configuration the functional has no default for (kornia's focal_loss(pred, target, alpha)).
        required += [n for n, rule in spec.config.items() if rule.required and n in allowed]
    for name in required:
        if name not in bound:
            problems.append((name, f"`{name}` is missing; {callee}() needs {', '.join(required)}", f"call it as {signature}"))
    for argument, message, fix in problems:
        ctx.emit(
            "LL001",
            argument,
            message,
            explanation=f"Python raises a TypeError before {spec.name} computes anything.",
            fix=fix,
            observed=f"{len(args)} positional, keywords: {', '.join(sorted(kwargs)) or 'none'}",
            expected=signature,
            torch_raises=True,
        )
    if problems:
        return False
    ctx.args = {rename.get(k, k): v for k, v in bound.items() if rename.get(k, k) in spec.arguments}
    ctx.config = {k: v for k, v in bound.items() if k in spec.config}
    if form == "module" and instance is not None:
        for name, attribute in spec.from_module.items():
            ctx.args[name] = _attribute(instance, attribute)
    return True


_ABSENT = object()


def _attribute(obj: object, path: str) -> Any:
    for part in path.split("."):
        obj = _one_attribute(obj, part)
        if obj is None or obj is _ABSENT:
            return None
    return obj


def _one_attribute(obj: object, name: str) -> Any:
    """getattr without the exception nn.Module.__getattr__ raises for a missing name (a loss module
    has no `size_average`): instance dict, then parameters/buffers/submodules, then the class."""
    state = getattr(obj, "__dict__", None)
    if state is not None:
        if name in state:
            return state[name]
        if isinstance(obj, torch.nn.Module):
            for store in ("_parameters", "_buffers", "_modules"):
                found = state.get(store)
                if found is not None and name in found:
                    return found[name]
            if not hasattr(type(obj), name):
                return _ABSENT
    return getattr(obj, name, _ABSENT)


def _read_config(ctx: CallContext, spec: CompiledLoss, form: str, instance: object | None) -> None:
    """Configuration from the module's attributes, the functional's arguments, or the defaults."""
    given = ctx.config
    config: dict[str, Any] = {}
    state = getattr(instance, "__dict__", None) if form == "module" else None
    for name, rule in spec.config.items():
        if form == "module":
            attribute = name if rule.attribute is None else rule.attribute
            if instance is not None and attribute:
                # Most configuration sits in the module's own __dict__: read it there first.
                value = state.get(attribute, _ABSENT) if state is not None else _ABSENT
                if value is _ABSENT:
                    if "." in attribute:
                        value = _attribute(instance, attribute)
                        if value is None and _one_attribute(instance, attribute.split(".")[0]) is _ABSENT:
                            value = rule.default
                    else:
                        value = _one_attribute(instance, attribute)
                        if value is _ABSENT:
                            value = rule.default
                config[name] = value
            else:
                config[name] = rule.default
        else:
            config[name] = given.get(name, rule.default)
    # torch folds the deprecated size_average/reduce into `reduction` (a module does it at __init__).
    if form == "functional" and (config.get("size_average") is not None or config.get("reduce") is not None):
        from torch.nn import _reduction

        try:
            config["reduction"] = _reduction.legacy_get_string(config.get("size_average"), config.get("reduce"), emit_warning=False)
        except Exception:  # noqa: BLE001 - torch validates these itself; we only mirror the result
            pass
    ctx.config = config


def _check_config(ctx: CallContext, spec: CompiledLoss) -> None:
    names = ctx.config
    for name, rule in spec.config.items():
        value = ctx.config.get(name)
        if value is None and (rule.nullable or rule.default is None):
            continue
        # torch's argument parser reads a 0-d tensor as a number, but not a (1,) tensor.
        if isinstance(value, torch.Tensor) and rule.type not in ("tensor", "any") and value.ndim == 0 and value.device.type != "meta":
            value = value.item()
        problem = None
        if not _TYPE_CHECKS[rule.type](value):
            problem = f"expected {rule.type}, got {describe_value(value)}"
        elif rule.choices is not None and value not in rule.choices:
            problem = f"expected one of {', '.join(map(repr, rule.choices))}"
        elif rule.range is not None and isinstance(value, numbers.Real):
            domain = parse_domain(rule.range)
            if not domain.contains_scalar(float(value), names):
                problem = f"expected a value in {domain.text(names)}"
        if problem is None:
            continue
        where = "the module's" if ctx.form == "module" else "the"
        ctx.emit(
            rule.code,
            name,
            f"`{name}` is {value!r}; {problem}",
            explanation=(
                f"{where} `{name}` is outside what {spec.name} accepts"
                + (f"; {check_library.raiser(ctx)} raises when the loss is built or called." if rule.raises else f"; {check_library.raiser(ctx)} accepts it but the result is meaningless.")
                + (f" {rule.description}" if rule.description else "")
            ),
            fix=f"{name}={rule.default!r}" if rule.default is not None else f"pass a valid `{name}`",
            observed=repr(value),
            expected=problem.removeprefix("expected "),
            torch_raises=rule.raises,
        )


def _observe(ctx: CallContext, spec: CompiledLoss) -> None:
    """Facts for every tensor argument; a finding for each argument that must be a tensor but is not."""
    # What any format allows for each argument (None, a number).
    optional = {n for f in spec.formats for n, a in f.arguments.items() if a.optional} | set(spec.optional)
    number_ok = {n for f in spec.formats for n, a in f.arguments.items() if a.number_ok}
    array_ok = {n for f in spec.formats for n, a in f.arguments.items() if a.array_ok}
    for name in spec.arguments:
        if name in spec.opaque:
            continue
        value = ctx.args.get(name)
        if isinstance(value, torch.Tensor) and (value.is_nested or (value.layout != torch.strided and name not in spec.sparse_ok)):
            _unsupported_layout(ctx, spec, name, value)
            continue
        if isinstance(value, torch.Tensor):
            facts = TensorFacts(value, read_values=ctx.read_values)
            ctx.facts[name] = facts
            if ctx.read_values and not facts.values_readable and facts.numel > 0:
                ctx.emit(
                    "LL003",
                    name,
                    f"`{name}` is {facts.summary}: its values cannot be inspected, only its metadata was checked",
                    observed=facts.summary,
                )
            continue
        if value is None and (name in optional or (ctx.form == "module" and name in spec.from_module)):
            continue  # a loss class or name has no module to take `from_module` arguments from
        if name in number_ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            continue
        if name in array_ok and type(value).__module__ == "numpy" and hasattr(value, "__array__"):
            continue
        ctx.emit(
            "LL002",
            name,
            f"`{name}` is {describe_value(value)}; expected a tensor",
            explanation=f"{spec.name} computes on tensors only; {check_library.raiser(ctx)} raises a TypeError or AttributeError for {describe_value(value)}.",
            fix=_as_tensor_fix(ctx, name),
            observed=describe_value(value),
            expected="a tensor" + (" or a float" if name in number_ok else ""),
            torch_raises=True,
        )


def _as_tensor_fix(ctx, name: str) -> str:
    """torch.as_tensor(target, device=input.device): on the device of another argument that is a tensor,
    never of the argument itself (a list has no device)."""
    other = next((n for n, v in ctx.args.items() if n != name and isinstance(v, torch.Tensor)), None)
    return f"torch.as_tensor({name}, device={other}.device)" if other else f"torch.as_tensor({name})"


@dataclass(frozen=True)
class _Plan:
    """What the metadata steps of a call concluded: their findings, the format and its binding.

    Remembered per call signature (see _metadata_key) so that a training loop's value checks do not
    redo the metadata work every step; it holds findings and ints, no tensor.
    """

    findings: tuple[Finding, ...]
    format: CompiledFormat | None
    binding: dict[str, Any]
    # What each metadata-only check found, by (id of its checks tuple, position): filled as the first
    # call runs them, read by the calls that reuse the plan.
    checked: dict[tuple[int, int], tuple[Finding, ...]]
    # By id of a checks tuple whose metadata-only checks all found nothing: the checks left to run.
    rest: dict[int, tuple] = field(default_factory=dict)
    # The configuration as read, when it is all scalars (None: read it on every call).
    config: dict[str, Any] | None = None


def _observe_facts(ctx: CallContext, spec: CompiledLoss) -> None:
    """The facts of _observe without its findings (a plan already holds them)."""
    for name in spec.arguments:
        value = ctx.args.get(name)
        if (
            name not in spec.opaque
            and isinstance(value, torch.Tensor)
            and not (value.is_nested or (value.layout != torch.strided and name not in spec.sparse_ok))
        ):
            ctx.facts[name] = TensorFacts(value, read_values=ctx.read_values)


def _unsupported_layout(ctx: CallContext, spec: CompiledLoss, name: str, value: torch.Tensor) -> None:
    """Nested tensors never reach a torch loss kernel; sparse ones only where spec.sparse_ok says."""
    layout = "nested" if value.is_nested else str(value.layout).removeprefix("torch.")
    ctx.emit(
        "LL006",
        name,
        f"`{name}` is a {layout} tensor; {spec.name} takes dense (strided) tensors",
        explanation=f"torch has no {layout} kernel for {spec.name} and raises (NotImplementedError or a size error).",
        fix=f"{name}.to_dense()" if not value.is_nested else f"{name}.to_padded_tensor(0.0), with a mask for the padding",
        observed=f"{layout} {str(value.dtype).removeprefix('torch.')}",
        expected="a dense tensor",
        torch_raises=True,
    )


def _check_devices(ctx: CallContext) -> None:
    devices = {}
    for name, facts in ctx.facts.items():
        tensor = ctx.args[name]
        # Meta tensors and CPU scalars mix with any device in torch's kernels.
        if facts.is_meta or (tensor.device.type == "cpu" and facts.ndim == 0):
            continue
        devices.setdefault(str(tensor.device), name)
    if len(devices) > 1:
        (first_dev, first), (other_dev, other) = list(devices.items())[:2]
        ctx.emit(
            "LL005",
            other,
            f"`{other}` is on {other_dev} while `{first}` is on {first_dev}",
            fix=f"{other}.to({first}.device)",
            observed=", ".join(f"{n} on {d}" for d, n in devices.items()),
            expected="one device",
            torch_raises=True,
        )


_FORMATS: dict[tuple, tuple[CompiledFormat, dict[str, Any]] | None] = {}


def _match_format(ctx: CallContext, spec: CompiledLoss) -> None:
    """The first format whose shape patterns all bind; torch, too, picks a format from the shapes.

    The answer depends on the shapes alone, and a training loop asks with the same shapes every
    step: it is remembered per loss and shapes (a bounded cache of ints).
    """
    key = (id(spec), *(ctx.facts[n].shape if n in ctx.facts else None for n in spec.arguments))
    if key in _FORMATS:
        found = _FORMATS[key]
        if found is None:
            return
        # Unless the id now belongs to another spec (a dropped registry's spec was collected).
        if any(f is found[0] for f in spec.formats):
            ctx.format, ctx.binding = found[0], dict(found[1])
            return
    found = None
    for fmt in spec.formats:
        binding: dict[str, Any] = {}
        if _bind_format(ctx, fmt, binding) is None:
            ctx.format = fmt
            ctx.binding = binding
            found = (fmt, dict(binding))
            break
    if len(_FORMATS) > 4096:
        _FORMATS.clear()
    _FORMATS[key] = found


def _bind_format(ctx: CallContext, fmt: CompiledFormat, binding: dict[str, Any]) -> tuple[str, str, int] | None:
    """Bind every shaped argument of `fmt`; on failure (argument, reason, how many bound before)."""
    bound = 0
    for name, arg in fmt.arguments.items():
        facts = ctx.facts.get(name)
        if arg.shape is None or facts is None:
            continue
        reason = bind(arg.shape, facts.shape, binding)
        if reason is not None:
            return name, reason, bound
        bound += 1
    return None


def _check_dtypes(ctx: CallContext, spec: CompiledLoss) -> None:
    if ctx.format is not None:
        rules = ctx.format.arguments
    else:
        # No format fits the shapes: judge only the dtype rules that every format shares.
        rules = {}
        for name in spec.arguments:
            per_format = [f.arguments.get(name) for f in spec.formats]
            if per_format and all(a is not None for a in per_format):
                keys = {(a.dtypes, a.dtype_raises, a.dtype_code) for a in per_format}  # type: ignore[union-attr]
                if len(keys) == 1:
                    rules[name] = per_format[0]
    for name, arg in rules.items():
        facts = ctx.facts.get(name)
        if facts is None or arg.dtypes is None or facts.dtype in arg.dtypes:
            continue
        fmt = f" ({ctx.format.description})" if ctx.format is not None else ""
        consequence = (
            f"{check_library.raiser(ctx)} raises a dtype error for {facts.summary}."
            if arg.dtype_raises
            else "torch accepts it silently, but the values mean something else than the loss assumes."
        )
        doc = spec.codes[arg.dtype_code]
        ctx.emit(
            arg.dtype_code,
            name,
            f"`{name}` is {dtype_name(facts.dtype)}; expected {arg.dtype_text}{fmt}",
            explanation=f"{doc.why} Here: {consequence}",
            fix=_dtype_fix(name, arg.dtype_code, arg.dtypes),
            observed=facts.summary,
            expected=arg.dtype_text,
            torch_raises=arg.dtype_raises,
        )


def _dtype_fix(name: str, code: str, dtypes: frozenset[torch.dtype]) -> str:
    if torch.int64 in dtypes:
        return f"{name}.long()"
    if torch.float32 in dtypes:
        return f"{name}.float()" if name != "input" else f"pass the model's float output as `{name}`"
    return f"{name}.to(torch.{dtype_name(sorted(dtypes, key=str)[0])})"


def _check_domains(ctx: CallContext, fmt: CompiledFormat) -> None:
    """Exact value-domain checks: torch makes most of them itself, and exactness is cheap here."""
    names = ctx.names
    for name, arg in fmt.arguments.items():
        facts = ctx.values(name)
        if arg.domain is None or facts is None or (arg.dtypes is not None and facts.dtype not in arg.dtypes):
            continue
        known = facts.value_range
        if known is not None and not (known.has_nan or known.has_inf) and arg.domain.covers_range(known.min, known.max, names):
            continue
        data = ctx.args[name].detach()
        outside = arg.domain.outside_mask(data, names)
        count = int(outside.sum())
        if count == 0:
            continue
        bad = torch.unique(data[outside])
        shown = ", ".join(_number(v) for v in bad[:5].tolist()) + (", ..." if bad.numel() > 5 else "")
        allowed = arg.domain.text(names)
        hint = check_library.DOMAIN_HINTS.get(arg.domain_code or "")
        extra = hint(ctx, name, bad) if hint else None
        code, message_tail, fix = extra if extra else (arg.domain_code, "", None)
        ctx.emit(
            code,  # type: ignore[arg-type]
            name,
            f"`{name}` has {count} value{'s' if count > 1 else ''} outside {allowed}: {shown}{message_tail}",
            fix=fix,
            observed=f"{facts.summary}, values outside the domain: {shown}",
            expected=f"values in {allowed}",
            torch_raises=arg.domain_raises,
        )


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)  # nan, inf: int() would raise
    return str(int(value)) if value == int(value) else f"{value:g}"


def _declared_kind(ctx: CallContext, declaration) -> tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The declared kind under this call's configuration, with the codes the rule file adds to it and
    the switches read to decide it, as `option=value` (`kind`, `kind_codes`, `kind_by` in the rule file;
    a switch is a configuration option, or a letter of the format's shapes, which switches on that
    dimension's size)."""
    codes: tuple[tuple[str, str], ...] = declaration.codes
    read: list[str] = []
    while True:
        for option, by_value in declaration.by:
            value = ctx.config.get(option) if option in ctx.config or option not in ctx.binding else ctx.binding[option]
            key = str(value).lower() if isinstance(value, bool) or value is None else str(value)
            shown = f"{option}={value!r}" if isinstance(value, (bool, str, int, float)) or value is None else f"{option}={type(value).__name__}"
            if shown not in read:
                read.append(shown)
            then = next((then for when, then in by_value if when == key), None)
            if then is not None:
                declaration, codes = then, codes + then.codes
                break
        else:
            return declaration.kind, codes, tuple(read)


def _check_kinds(ctx: CallContext, fmt: CompiledFormat) -> None:
    """Value-kind heuristics (logits, log-probabilities, probabilities, ...) on a bounded sample."""
    for name, arg in fmt.arguments.items():
        if arg.declaration is None:
            continue
        declared, codes, read = _declared_kind(ctx, arg.declaration)
        if declared == "any":
            continue
        before = len(ctx.findings)
        _judge_kind(ctx, name, arg, declared, codes)
        if read:
            # What the loss's own options made the argument's kind: the expected line says which.
            for i in range(before, len(ctx.findings)):
                finding = ctx.findings[i]
                if finding.argument == name and finding.expected:
                    ctx.findings[i] = dataclasses.replace(finding, expected=f"{finding.expected}, for {', '.join(read)}")


def _judge_kind(ctx: CallContext, name: str, arg, declared: str, codes) -> None:
    """The declared kind of one argument against its provenance, else its values."""
    class_dim = None
    if arg.shape is not None:
        if "C" in arg.shape.head:
            class_dim = arg.shape.head.index("C")
        elif "C" in arg.shape.tail:
            class_dim = arg.shape.tail.index("C") - len(arg.shape.tail)
    if declared == "logits" and ctx.binding.get("C") == 1:
        # A softmax over one class is the constant 1: no value of the input changes what it gives
        # (MONAI skips it and warns, LL714), so no kind is due.
        return
    # What made the tensor, when known, is certain and needs no data access; the value heuristics
    # only run where it says nothing.
    if name in ctx.origins:
        try:
            if judge_origin(ctx, declared, name, class_dim):
                return
        except Exception as exc:  # noqa: BLE001
            _internal_error(ctx, f"origin of `{name}`", exc)
    if ctx.values(name) is None:
        return
    # One check for every declared kind: what only that kind knows (a wrong dim, a redundant
    # log_softmax), then the inferred kind compared with the declaration.
    fn = check_library.REGISTRY.get("kind_contract")
    if fn is None:
        return
    try:
        fn(ctx, argument=name, class_dim=class_dim, declared=declared, harmless=arg.kind_harmless, codes=dict(codes) if codes else None)
    except Exception as exc:  # noqa: BLE001
        _internal_error(ctx, f"kind check {declared} on `{name}`", exc)


def _run_checks(ctx: CallContext, checks) -> None:
    reused, plan, metadata = ctx.reused, ctx.plan, check_library.METADATA_ONLY
    if reused is not None:
        rest = reused.rest.get(id(checks))
        if rest is not None:
            # The metadata-only checks found nothing with this metadata: only the others run.
            checks, reused = rest, None
    quiet = True  # no metadata-only check found anything (on a plan's first call)
    for i, (fn, params) in enumerate(checks):
        metadata_only = fn in metadata
        if metadata_only and reused is not None:
            found = reused.checked.get((id(checks), i))
            if found is not None:
                if found:  # what the check found on the first call with this metadata, in its place
                    have = {(f.code, f.argument) for f in ctx.findings}
                    ctx.findings.extend(f for f in found if (f.code, f.argument) not in have)
                continue
        before = len(ctx.findings)
        try:
            fn(ctx, **params)
        except Exception as exc:  # noqa: BLE001
            _internal_error(ctx, f"check {fn.__name__}", exc)
            quiet = False
            continue
        if metadata_only and plan is not None:
            if len(ctx.findings) >= before:
                plan.checked[(id(checks), i)] = tuple(ctx.findings[before:])
            quiet = quiet and len(ctx.findings) == before
    if plan is not None and quiet:
        plan.rest[id(checks)] = tuple(c for c in checks if c[0] not in metadata)


def _shape_mismatch(ctx: CallContext, spec: CompiledLoss) -> None:
    """No format fits and no check explained why: say which argument breaks the closest format."""
    best = None
    for fmt in spec.formats:
        binding: dict[str, Any] = {}
        failure = _bind_format(ctx, fmt, binding)
        if failure is not None and (best is None or failure[2] > best[1][2]):
            best = (fmt, failure, binding)
    if best is None:
        return
    fmt, (name, reason, _), binding = best
    facts = ctx.facts[name]
    # The shapes `name` could take: from the formats that the other arguments fit (an unbatched form
    # is no answer for a batched input), else from every format.
    def others_fit(f: CompiledFormat) -> bool:
        trial: dict[str, Any] = {}
        for n, a in f.arguments.items():
            if n != name and a.shape is not None and n in ctx.facts and bind(a.shape, ctx.facts[n].shape, trial) is not None:
                return False
        return True

    candidates = [f for f in spec.formats if others_fit(f)] or list(spec.formats)
    wanted = " or ".join(
        dict.fromkeys(
            render(a.shape, binding if f is fmt else {})
            for f in candidates
            for n, a in f.arguments.items()
            if n == name and a.shape is not None
        )
    )
    known = describe_binding({k: v for k, v in binding.items() if not k.startswith("*")})
    shapes = ", ".join(f"{n} {ctx.facts[n].summary}" for n in spec.arguments if n in ctx.facts)
    formats = "; ".join(
        f.description + " (" + ", ".join(f"{n}: {render(a.shape, {})}" for n, a in f.arguments.items() if a.shape is not None) + ")"
        for f in spec.formats
    )
    ctx.emit(
        "LL201",
        name,
        f"`{name}` has shape {render_shape(facts.shape)}; expected {wanted}" + (f" given {known}" if known else "") + f" ({reason})",
        explanation=f"{spec.name} accepts: {formats}. The call has {shapes}, which fits none of them, so {check_library.raiser(ctx)} raises a shape error.",
        fix=f"give `{name}` the shape {render(fmt.arguments[name].shape, binding)}",  # type: ignore[arg-type]
        observed=facts.summary,
        expected=wanted + (f" given {known}" if known else ""),
        torch_raises=True,
    )

