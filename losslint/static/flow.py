"""The data flow of one file, as a reader follows it: what each name holds where a loss is called.

An abstract interpretation over the syntax tree, statement by statement. A value is known only when the
source makes it certain: `probs = F.softmax(out, 1)`, `self.criterion = nn.CrossEntropyLoss()` in
`__init__`, an `nn.Sequential` whose last layer is `nn.Softmax`, a `forward` whose every return is a
sigmoid, a model passed to a `train(model, ...)` defined in the same file (known when every call of
`train` in the file passes the same kind of thing). Anything else is unknown, and an unknown value never
produces a finding: a name assigned on two branches with different values, a loop variable, a function
called from elsewhere, a subscript, arithmetic.

The interpreter reports what it sees to an `Observer`: each loss constructed and each loss called, with
the values of its arguments and whether the call sits inside a CUDA autocast block or is negated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterable, Protocol

from ..language.catalog import torch_losses

# ---- values -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    """A tensor whose kind the source makes certain: softmax, log_softmax, sigmoid, raw (a linear
    layer's output, no activation), one_hot (an integer one-hot target)."""

    kind: str
    origin: str  # the evidence, in words: "`F.softmax` at line 12"


@dataclass(frozen=True)
class Loss:
    """An instance of a torch loss module: `nn.CrossEntropyLoss(...)`."""

    name: str
    line: int


@dataclass(frozen=True)
class Layer:
    """An instance of a torch.nn layer; `output` is what calling it gives (given its input kind)."""

    name: str
    line: int
    layers: tuple = ()  # for nn.Sequential: its layers' values (None where unknown)


@dataclass(frozen=True)
class Instance:
    """An instance of a class defined in this file. `exact` is False for `self` inside the class's
    methods: the object may be an instance of a subclass that overrides what the class defines."""

    cls: str
    exact: bool = True


@dataclass(frozen=True)
class Pack:
    """A tuple of values: `return F.log_softmax(out, 1), hidden`, unpacked by `output, hidden = model(x, h)`."""

    items: tuple


@dataclass(frozen=True)
class FunctionRef:
    key: str


@dataclass(frozen=True)
class ClassRef:
    cls: str


Value = Tensor | Loss | Layer | Instance | Pack | FunctionRef | ClassRef | None


def join(a: Value, b: Value) -> Value:
    """What a name holds after two paths meet: the value when both agree, else unknown."""
    if a == b:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.kind == b.kind:
        return a  # the same kind from two places: the first evidence is enough to name
    if isinstance(a, Loss) and isinstance(b, Loss) and a.name == b.name:
        return a
    if isinstance(a, Pack) and isinstance(b, Pack) and len(a.items) == len(b.items):
        return Pack(tuple(join(x, y) for x, y in zip(a.items, b.items)))
    return None


# ---- what torch names mean ----------------------------------------------------------------------------

F = "torch.nn.functional."
SOFTMAX = {"torch.softmax", F + "softmax", "torch.special.softmax"}
LOG_SOFTMAX = {"torch.log_softmax", F + "log_softmax", "torch.special.log_softmax"}
SIGMOID = {"torch.sigmoid", F + "sigmoid", "torch.special.expit"}
ONE_HOT = {F + "one_hot"}
AUTOCAST = {"torch.autocast", "torch.amp.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast_mode.autocast"}

# Losses the patterns judge by their arguments; every other torch.nn.*Loss and F.*loss is only checked
# for deprecated arguments.
LOSS_FUNCTIONALS = {
    F + "cross_entropy": "CrossEntropyLoss",
    F + "nll_loss": "NLLLoss",
    F + "binary_cross_entropy": "BCELoss",
    F + "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "torch.binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    F + "kl_div": "KLDivLoss",
}
# Layers whose output is raw scores whatever their input; activations; layers that pass their input's kind.
RAW_LAYERS = {"Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "LazyConv1d", "LazyConv2d",
              "LazyConv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}
ACTIVATION_LAYERS = {"Softmax": "softmax", "LogSoftmax": "log_softmax", "Sigmoid": "sigmoid"}
PASS_LAYERS = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "Identity", "Flatten", "Unflatten", "AlphaDropout"}
# Tensor methods that change neither the values' kind nor the dtype class; module methods that return the module.
KEEP_METHODS = {"to", "cuda", "cpu", "contiguous", "view", "reshape", "squeeze", "unsqueeze", "flatten",
                "permute", "transpose", "clone", "detach", "view_as", "reshape_as", "train", "eval",
                "requires_grad_", "share_memory", "movedim", "float", "double", "half", "bfloat16", "type_as"}
# Wrappers whose call is the wrapped module's call, on several devices.
WRAPPERS = {"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.DistributedDataParallel",
            "torch.nn.parallel.distributed.DistributedDataParallel"}
MODULE_BASES = {"torch.nn.Module", "torch.nn.modules.module.Module", "lightning.LightningModule",
                "pytorch_lightning.LightningModule", "lightning.pytorch.LightningModule"}


class Observer(Protocol):
    def constructed(self, name: str, call: ast.Call) -> None: ...

    def called(self, loss: str, call: ast.Call, args: dict[str, Value], where: "Where", functional: bool) -> None: ...


@dataclass(frozen=True)
class Where:
    """The context of a loss call: the CUDA autocast block around it (its line), whether it is negated."""

    autocast: int | None = None
    negated: bool = False


def describe(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


# ---- the file --------------------------------------------------------------------------------------


@dataclass
class _Function:
    key: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: str | None  # the class of a method
    params: list[str] = field(default_factory=list)  # without self


@dataclass
class _Class:
    name: str
    node: ast.ClassDef
    bases: list[str]  # qualified names of bases (local class names as they are)
    methods: dict[str, _Function] = field(default_factory=dict)


class FileFlow:
    """One file's flow. `run(observer)` interprets it: a few silent rounds until what functions receive
    and return is settled, then one round that reports to the observer."""

    ROUNDS = 6

    def __init__(self, tree: ast.Module):
        self.tree = tree
        # One walk over the whole tree for what the setup needs: imports, `global` names, callees.
        nodes = list(ast.walk(tree))
        self.imports = _imports(nodes)
        self._callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
        self._nodes = nodes
        self.functions: dict[str, _Function] = {}
        self.classes: dict[str, _Class] = {}
        self._assigned: dict[int, set[str]] = {}  # id(statement) -> names it binds; the tree keeps ids alive
        self._collect(tree)
        self.module_names = _assigned_once(tree.body)  # module-level names assigned exactly once
        self.global_decls = {n for node in nodes if isinstance(node, ast.Global) for n in node.names}
        self.external_attrs = _external_attrs(nodes)
        self.escaped = self._escaped_functions()
        del self._nodes  # only the setup needs every node
        self.self_attr_counts = self._self_attr_counts()
        self.overridden = self._overridden()
        # per round: what each function's parameters hold, what it returns, what `self.x` holds
        self.params: dict[str, dict[str, Value]] = {}
        self.returns: dict[str, Value] = {}
        self.self_attrs: dict[str, dict[str, Value]] = {}
        self.globals: dict[str, Value] = {}
        self.observer: Observer | None = None
        self.mutated: set[str] = set()  # names whose object was changed after it was built (`model[-1] = ...`)

    # -- setup --

    def _collect(self, tree: ast.Module) -> None:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = _Function(node.name, node, None, _params(node, method=False))
            elif isinstance(node, ast.ClassDef):
                bases = [self.qualname(b) or (b.id if isinstance(b, ast.Name) else "?") for b in node.bases]
                info = _Class(node.name, node, bases)
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in item.decorator_list)
                        key = f"{node.name}.{item.name}"
                        info.methods[item.name] = _Function(key, item, node.name, _params(item, method=not static))
                        self.functions[key] = info.methods[item.name]
                self.classes[node.name] = info

    def _escaped_functions(self) -> set[str]:
        """Module-level functions and classes named anywhere but as the callee of a call: passed as a
        callback, stored, decorated. Their parameters may receive anything. A parameter or local
        variable of the same name (`def __init__(self, train)`) is another name, not an escape."""
        called = self._callees
        escaped: set[str] = set()
        known = set(self.functions) | set(self.classes)
        if not any(isinstance(n, ast.Name) and n.id in known and id(n) not in called for n in self._nodes):
            return escaped  # every mention is a call: no scopes to look at

        def visit(node: ast.AST, local: set[str]) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    body = child.body if isinstance(child.body, list) else [child.body]
                    inner = local | set(_all_params(child)) | self.assigned([b for b in body if isinstance(b, ast.stmt)])
                    for part in (*child.args.defaults, *child.args.kw_defaults, *getattr(child, "decorator_list", [])):
                        if part is not None:
                            visit_expr(part, local)
                    for b in body:
                        visit(b, inner) if isinstance(b, ast.stmt) else visit_expr(b, inner)
                else:
                    visit_expr(child, local) if isinstance(child, ast.Name) else visit(child, local)

        def visit_expr(node: ast.AST, local: set[str]) -> None:
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load) and id(node) not in called and node.id in known and node.id not in local:
                    escaped.add(node.id)
                return
            visit(node, local)

        visit(self.tree, set())
        return escaped

    def _self_attr_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for cls in self.classes.values():
            mine = counts.setdefault(cls.name, {})
            for method in cls.methods.values():
                for node in ast.walk(method.node):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
                    for target in targets:
                        for t in _flat_targets(target):
                            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                                mine[t.attr] = mine.get(t.attr, 0) + 1
                    # setattr(self, ...) makes every attribute uncertain
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                        mine["*"] = 2
        return counts

    def _overridden(self) -> dict[str, set[str]]:
        """Class -> the attributes and methods its local subclasses (at any depth) set or define."""
        out: dict[str, set[str]] = {name: set() for name in self.classes}
        for name, info in self.classes.items():
            names = set(self.self_attr_counts.get(name, {})) | set(info.methods)
            todo, seen = list(info.bases), {name}
            while todo:
                base = todo.pop()
                if base in self.classes and base not in seen:
                    seen.add(base)
                    out[base] |= names
                    todo.extend(self.classes[base].bases)
        return out

    def lookup_attr(self, instance: Instance, attr: str) -> Value:
        if not instance.exact and attr in self.overridden.get(instance.cls, ()):
            return None  # `self` may be a subclass's instance, where `attr` is another thing
        return self.attr(instance.cls, attr)

    def lookup_method(self, instance: Instance, name: str) -> _Function | None:
        if not instance.exact and name in self.overridden.get(instance.cls, ()):
            return None
        return self.method(instance.cls, name)

    def assigned(self, body: list[ast.stmt]) -> set[str]:
        """Names bound anywhere in these statements (nested blocks included); each statement is read
        once per file, since loops nest and each level asks about the statements inside it."""
        names: set[str] = set()
        for statement in body:
            found = self._assigned.get(id(statement))
            if found is None:
                found = self._assigned[id(statement)] = _assigned_one(statement)
            names |= found
        return names

    def qualname(self, node: ast.AST) -> str | None:
        """`F.softmax` -> "torch.nn.functional.softmax" through the file's imports; None for anything else."""
        if isinstance(node, ast.Name):
            return self.imports.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    # -- rounds --

    def run(self, observer: Observer) -> None:
        for _ in range(self.ROUNDS):
            before = (dict(self.returns), {k: dict(v) for k, v in self.params.items()}, {k: dict(v) for k, v in self.self_attrs.items()}, dict(self.globals))
            self._round(None)
            after = (self.returns, self.params, self.self_attrs, self.globals)
            if before == after:
                break
        else:
            # Not settled (a long chain of calls): a value known now might still become unknown, so
            # nothing that crossed a function boundary is trusted; each function is judged on its own.
            self.params, self.returns, self.self_attrs, self.globals = {}, {}, {}, {}
        self._round(observer)

    def _round(self, observer: Observer | None) -> None:
        self.observer = observer
        self._bindings: dict[str, list[dict[str, Value]]] = {}
        self._returns_next: dict[str, list[Value]] = {}
        self._attrs_next: dict[str, dict[str, Value]] = {}
        self._globals_next: dict[str, Value] = {}
        _Interpreter(self, None).block(self.tree.body, {}, Where())
        for function in self.functions.values():
            _Interpreter(self, function).block(function.node.body, self._param_env(function), Where())
        if observer is not None:
            return  # the reporting round uses what the silent rounds settled, and changes nothing
        self.globals = self._globals_next
        self.self_attrs = self._attrs_next
        self.returns = {key: _join_all(values) for key, values in self._returns_next.items()}
        params: dict[str, dict[str, Value]] = {}
        for key, function in self.functions.items():
            owner = function.cls or key
            calls = self._bindings.get(key, [])
            if not calls or owner in self.escaped:
                continue
            params[key] = {name: _join_all([call.get(name) for call in calls]) for name in function.params}
        self.params = params

    def _param_env(self, function: _Function) -> dict[str, Value]:
        env: dict[str, Value] = {name: None for name in _all_params(function.node)}
        env.update(self.params.get(function.key, {}))
        if function.cls is not None and not _is_static(function.node) and function.node.args.args:
            env[function.node.args.args[0].arg] = Instance(function.cls, exact=False)
        return env

    # -- what the interpreter asks --

    def bind(self, key: str, call: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> None:
        function = self.functions.get(key)
        if function is None:
            return
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            binding = {name: None for name in function.params}  # *args/**kwargs: anything may arrive
        else:
            binding = dict(zip(function.params, args))
            binding.update({k: v for k, v in kwargs.items() if k in function.params})
            for name in function.params:
                binding.setdefault(name, None)  # a default we do not evaluate
        self._bindings.setdefault(key, []).append(binding)

    def record_return(self, key: str, value: Value) -> None:
        self._returns_next.setdefault(key, []).append(value)

    def record_attr(self, cls: str, attr: str, value: Value, in_init: bool) -> None:
        counts = self.self_attr_counts.get(cls, {})
        if in_init and counts.get(attr) == 1 and "*" not in counts:
            self._attrs_next.setdefault(cls, {})[attr] = value

    def attr(self, cls: str, attr: str, seen: frozenset = frozenset()) -> Value:
        """`self.attr` of a local class, looked up through its local bases."""
        if cls in seen or cls not in self.classes or attr in self.external_attrs or "*" in self.external_attrs:
            return None  # `model.attr = ...` somewhere outside the class: which object holds what is unknown
        if attr in self.self_attr_counts.get(cls, {}):
            return self.self_attrs.get(cls, {}).get(attr)
        info = self.classes[cls]
        if attr in info.methods:
            return FunctionRef(info.methods[attr].key)
        for base in info.bases:
            value = self.attr(base, attr, seen | {cls})
            if value is not None:
                return value
        return None

    def method(self, cls: str, name: str, seen: frozenset = frozenset()) -> _Function | None:
        if cls in seen or cls not in self.classes:
            return None
        info = self.classes[cls]
        if name in info.methods:
            return info.methods[name]
        for base in info.bases:
            found = self.method(base, name, seen | {cls})
            if found is not None:
                return found
        return None

    def is_module(self, cls: str, seen: frozenset = frozenset()) -> bool:
        if cls in seen or cls not in self.classes:
            return False
        return any(b in MODULE_BASES or self.is_module(b, seen | {cls}) for b in self.classes[cls].bases)


class _Interpreter:
    def __init__(self, flow: FileFlow, function: _Function | None):
        self.flow = flow
        self.function = function
        self.module_level = function is None

    # -- names --

    def lookup(self, name: str, env: dict[str, Value]) -> Value:
        if name in env:
            return env[name]
        flow = self.flow
        if name in flow.functions and "." not in name:
            return FunctionRef(name)
        if name in flow.classes:
            return ClassRef(name)
        if not self.module_level and name in flow.module_names and name not in flow.global_decls and name not in flow.mutated:
            return flow.globals.get(name)
        return None

    def assign(self, target: ast.AST, value: Value, env: dict[str, Value]) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
            if self.module_level and target.id in self.flow.module_names:
                self.flow._globals_next[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            if isinstance(value, Pack) and not starred and len(value.items) == len(target.elts):
                for element, item in zip(target.elts, value.items):
                    self.assign(element, item, env)
                return
            for element in target.elts:
                self.assign(element.value if isinstance(element, ast.Starred) else element, None, env)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            if self.function is not None and self.function.cls is not None:
                self.flow.record_attr(self.function.cls, target.attr, value, self.function.node.name == "__init__")
        else:
            # `model.fc = nn.Linear(...)`, `model[-1] = nn.Softmax()`: the object changed after it was built.
            self.expr(target, env, Where())
            self.forget(target, env)

    def forget(self, node: ast.AST, env: dict[str, Value]) -> None:
        """The name at the root of `a.b[c].d`: what it held is no longer known."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        if isinstance(node, ast.Name) and node.id != "self":
            env[node.id] = None
            self.flow.mutated.add(node.id)  # functions that read it as a module-level name: unknown too

    # -- statements --

    def block(self, body: Iterable[ast.stmt], env: dict[str, Value], where: Where) -> None:
        for statement in body:
            self.statement(statement, env, where)

    def statement(self, node: ast.stmt, env: dict[str, Value], where: Where) -> None:
        if isinstance(node, ast.Assign):
            value = self.expr(node.value, env, where)
            for target in node.targets:
                self.assign(target, value, env)
        elif isinstance(node, ast.AnnAssign):
            value = self.expr(node.value, env, where) if node.value is not None else None
            if node.value is not None:
                self.assign(node.target, value, env)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value, env, where)
            self.assign(node.target, None, env)
        elif isinstance(node, ast.Expr):
            self.expr(node.value, env, where)
        elif isinstance(node, ast.Return):
            value = self.expr(node.value, env, where) if node.value is not None else None
            if self.function is not None:
                self.flow.record_return(self.function.key, value)
        elif isinstance(node, ast.If):
            self.expr(node.test, env, where)
            if _is_main_guard(node):
                self.block(node.body, env, where)  # a script's entry point: it runs
                return
            left, right = dict(env), dict(env)
            self.block(node.body, left, where)
            self.block(node.orelse, right, where)
            _merge(env, left, right)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(node, ast.While):
                self.expr(node.test, env, where)
            else:
                self.expr(node.iter, env, where)
            changed = self.flow.assigned(node.body) | self.flow.assigned(node.orelse)
            if not isinstance(node, ast.While):
                changed |= _names_in_target(node.target)
            # A name set in the body may come back from the previous iteration: unknown at its top.
            for name in changed:
                env[name] = None
            self.block(node.body, env, where)
            self.block(node.orelse, env, where)
            for name in changed:
                env[name] = None  # the body may have run zero times, or stopped half-way
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            inner = where
            for item in node.items:
                self.expr(item.context_expr, env, where)
                if self._cuda_autocast(item.context_expr):
                    inner = Where(autocast=node.lineno, negated=where.negated)
                elif isinstance(item.context_expr, ast.Call) and self.flow.qualname(item.context_expr.func) in AUTOCAST:
                    # another device, or `enabled=` that may be False: inside it CUDA autocast may be off
                    inner = Where(autocast=None, negated=where.negated)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, None, env)
            self.block(node.body, env, inner)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            self.block(node.body, env, where)
            for handler in node.handlers:
                self.block(handler.body, env, where)
            self.block(node.orelse, env, where)
            self.block(node.finalbody, env, where)
            for name in self.flow.assigned(node.body) | {h.name for h in node.handlers if h.name}:
                env[name] = None  # an exception may have cut the body short
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if self.module_level:
                return  # module-level functions are interpreted on their own
            # A nested function (a closure, an optimizer step): it sees the enclosing names.
            inner = dict(env)
            for name in _all_params(node):
                inner[name] = None
            nested = _Interpreter(self.flow, None)
            nested.module_level = False  # its returns are its own, and it reads module names as a function does
            nested.block(node.body, inner, Where())  # it runs where it is called, not inside this block
            env[node.name] = None
        elif isinstance(node, ast.ClassDef):
            if not self.module_level:
                env[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    env[target.id] = None
                else:
                    self.forget(target, env)
        elif isinstance(node, ast.Match):
            self.expr(node.subject, env, where)
            branches = []
            for case in node.cases:
                branch = dict(env)
                self.block(case.body, branch, where)
                branches.append(branch)
            for branch in branches:
                _merge(env, dict(env), branch)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, env, where)

    def _cuda_autocast(self, node: ast.expr) -> bool:
        """`torch.autocast("cuda")`, `torch.autocast(device_type="cuda")`, `torch.cuda.amp.autocast()`,
        with `enabled` absent or literally True. A device from a variable is not certain."""
        if not isinstance(node, ast.Call):
            return False
        name = self.flow.qualname(node.func)
        if name not in AUTOCAST:
            return False
        keywords = {k.arg: k.value for k in node.keywords}
        enabled = keywords.get("enabled")
        if enabled is not None and not (isinstance(enabled, ast.Constant) and enabled.value is True):
            return False
        if name == "torch.cuda.amp.autocast":
            return True
        device = node.args[0] if node.args else keywords.get("device_type")
        return isinstance(device, ast.Constant) and device.value == "cuda"

    # -- expressions --

    def expr(self, node: ast.expr | None, env: dict[str, Value], where: Where) -> Value:
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return self.lookup(node.id, env)
        if isinstance(node, ast.Attribute):
            receiver = self.expr(node.value, env, where)
            if isinstance(receiver, Instance):
                return self.flow.lookup_attr(receiver, node.attr)
            return None
        if isinstance(node, ast.Call):
            return self.call(node, env, where)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            # `-F.nll_loss(probs, y)` picks probabilities on purpose: the call is told it is negated.
            self.expr(node.operand, env, Where(where.autocast, negated=True))
            return None
        if isinstance(node, ast.BinOp) and (isinstance(node.op, ast.Sub) or isinstance(node.op, ast.Mult)):
            plain, negated = Where(where.autocast), Where(where.autocast, negated=True)
            if isinstance(node.op, ast.Sub):
                self.expr(node.left, env, plain)
                self.expr(node.right, env, negated)
            else:
                left_negative, right_negative = _negative(node.left), _negative(node.right)
                self.expr(node.left, env, negated if right_negative else plain)
                self.expr(node.right, env, negated if left_negative else plain)
            return None
        if isinstance(node, ast.IfExp):
            self.expr(node.test, env, where)
            return join(self.expr(node.body, env, where), self.expr(node.orelse, env, where))
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, env, where)
            self.assign(node.target, value, env)
            return value
        if isinstance(node, ast.Lambda):
            return None
        if isinstance(node, ast.Tuple) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return Pack(tuple(self.expr(e, env, Where(where.autocast)) for e in node.elts))
        if isinstance(node, ast.Subscript):
            value = self.expr(node.value, env, Where(where.autocast))
            self.expr(node.slice, env, Where(where.autocast))
            index = node.slice
            if isinstance(value, Pack) and isinstance(index, ast.Constant) and isinstance(index.value, int):
                return value.items[index.value] if -len(value.items) <= index.value < len(value.items) else None
            # Rows picked by a mask or an index tensor, or a slice of the batch, keep what each row is;
            # `x[:, 0]` or `x[0]` pick something else (a column, one sample).
            if isinstance(value, Tensor) and (isinstance(index, (ast.Name, ast.Attribute)) or
                                              isinstance(index, ast.Slice) and index.step is None):
                return value
            return None
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = dict(env)
            for generator in node.generators:
                self.expr(generator.iter, inner, where)
                for name in _names_in_target(generator.target):
                    inner[name] = None
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, inner, where)
            return None
        # Arithmetic, subscripts, containers: look inside for loss calls; the result is unknown.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, env, Where(where.autocast))
        return None

    def call(self, node: ast.Call, env: dict[str, Value], where: Where) -> Value:
        flow = self.flow
        name = flow.qualname(node.func)
        inner = Where(where.autocast)  # a minus sign applies to this call, not to its arguments' calls
        args = [self.expr(a.value if isinstance(a, ast.Starred) else a, env, inner) for a in node.args]
        kwargs = {k.arg: self.expr(k.value, env, inner) for k in node.keywords if k.arg is not None}
        for k in node.keywords:
            if k.arg is None:
                self.expr(k.value, env, inner)
        line = node.lineno
        if name is not None:
            for kind, names in (("softmax", SOFTMAX), ("log_softmax", LOG_SOFTMAX), ("sigmoid", SIGMOID), ("one_hot", ONE_HOT)):
                if name in names:
                    return Tensor(kind, f"`{describe(node.func)}` at line {line}")
            if name == "torch.log" and args and isinstance(args[0], Tensor) and args[0].kind == "softmax":
                return Tensor("log_softmax", f"`{describe(node.func)}` of {args[0].origin}")
            if name in WRAPPERS and args and isinstance(args[0], (Layer, Instance)):
                return args[0]  # calling the wrapper calls the module it wraps
            if name == "torch.nn.parallel.data_parallel" and len(args) > 1 and isinstance(args[0], Layer):
                return _layer_output(args[0], args[1])  # the module applied to the input, on several GPUs
            if name in LOSS_FUNCTIONALS:
                self._loss_call(LOSS_FUNCTIONALS[name], node, args, kwargs, where, functional=True)
                return None
            loss = torch_losses().get(name)
            if loss is not None:  # a torch loss the rule files know: its module built, or a functional called
                if flow.observer is not None:
                    flow.observer.constructed(loss, node)
                return None if name.startswith(F) else Loss(loss, line)
            if name.startswith("torch.nn.") and name.count(".") == 2:
                layer = name.rsplit(".", 1)[1]
                return Layer(layer, line, tuple(args) if layer == "Sequential" and not kwargs else ())
            return None
        callee = self.expr(node.func.value, env, inner) if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in ("add_module", "append", "extend", "insert", "register_module", "pop") and not (
                    isinstance(callee, Instance) and flow.lookup_method(callee, method) is not None):
                self.forget(node.func.value, env)  # a Sequential or model changed after it was built
                return None
            if isinstance(callee, Instance):
                function = flow.lookup_method(callee, method)
                if function is not None:
                    flow.bind(function.key, node, args, kwargs)
                    return flow.returns.get(function.key)
                if not callee.exact and method in flow.overridden.get(callee.cls, ()):
                    return None
                value = flow.attr(callee.cls, method)
                if value is None and method in KEEP_METHODS:
                    return callee  # model.to(device), model.train()
                return self._apply(value, node, args, kwargs, where)
            if method in ("softmax", "log_softmax", "sigmoid") and _dim_only(node):
                return Tensor(method, f"`.{method}()` at line {line}")
            if method == "log" and isinstance(callee, Tensor) and callee.kind == "softmax" and not node.args:
                return Tensor("log_softmax", f"`.log()` of {callee.origin}")
            if isinstance(callee, Tensor) and callee.kind == "one_hot":
                # .float() converts: float one-hot targets are class probabilities, which torch takes.
                keeps = method in ("long", "int", "cuda", "cpu", "contiguous", "view", "reshape", "squeeze",
                                   "flatten", "clone", "detach") or method == "to" and self._device_only(node)
                return callee if keeps else None
            if method in KEEP_METHODS and not isinstance(callee, (FunctionRef, ClassRef)):
                return callee
            return None
        return self._apply(self.expr(node.func, env, inner), node, args, kwargs, where)

    def _device_only(self, node: ast.Call) -> bool:
        """`.to(device)`, `.to("cuda")`, `.to(x.device)`: a move that keeps the dtype (a dtype could hide
        in any other argument)."""
        if node.keywords and any(k.arg != "non_blocking" for k in node.keywords) or len(node.args) != 1:
            return False
        arg = node.args[0]
        if isinstance(arg, ast.Constant):
            return isinstance(arg.value, str) and arg.value.split(":")[0] in ("cpu", "cuda", "mps", "xpu")
        if isinstance(arg, ast.Call):
            return self.flow.qualname(arg.func) == "torch.device"
        name = arg.attr if isinstance(arg, ast.Attribute) else arg.id if isinstance(arg, ast.Name) else ""
        return "device" in name.lower()

    def _apply(self, callee: Value, node: ast.Call, args: list[Value], kwargs: dict[str, Value], where: Where) -> Value:
        """The value of calling something the flow knows: a loss, a layer, a local model or function."""
        flow = self.flow
        first = args[0] if args else None
        if isinstance(callee, Loss):
            self._loss_call(callee.name, node, args, kwargs, where, functional=False)
            return None
        if isinstance(callee, Layer):
            return _layer_output(callee, first)
        if isinstance(callee, Instance):
            forward = flow.lookup_method(callee, "forward") if flow.is_module(callee.cls) else None
            if forward is None:
                return None
            flow.bind(forward.key, node, args, kwargs)
            return _through(flow.returns.get(forward.key), f"`{callee.cls}.forward`")
        if isinstance(callee, FunctionRef):
            flow.bind(callee.key, node, args, kwargs)
            returned = flow.returns.get(callee.key)
            return returned if isinstance(returned, (Loss, Layer, Instance)) else _through(returned, f"`{callee.key}()`")
        if isinstance(callee, ClassRef):
            init = flow.method(callee.cls, "__init__")
            if init is not None:
                flow.bind(init.key, node, args, kwargs)
            return Instance(callee.cls)
        return None

    def _loss_call(self, loss: str, node: ast.Call, args: list[Value], kwargs: dict[str, Value], where: Where, functional: bool) -> None:
        observer = self.flow.observer
        if observer is None:
            return
        named = {"input": args[0] if len(args) > 0 else kwargs.get("input"),
                 "target": args[1] if len(args) > 1 else kwargs.get("target")}
        observer.called(loss, node, named, where, functional)


def _negative(node: ast.expr) -> bool:
    """A literal negative number: `-1`, `-0.5`."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0


def _dim_only(node: ast.Call) -> bool:
    """`x.softmax(1)`, `x.softmax(dim=-1)`, `x.sigmoid()`: the arguments of Tensor's method, not of some
    object's `softmax(tensor)` method."""
    return (all(isinstance(a, ast.Constant) and isinstance(a.value, int) or _negative(a) for a in node.args)
            and all(k.arg in ("dim", "dtype") for k in node.keywords) and len(node.args) <= 1)


def _through(value: Value, function: str) -> Value:
    """What a call of a local function or model gives: its return value, with the evidence named."""
    if isinstance(value, Tensor):
        return Tensor(value.kind, f"{function}, which returns {value.origin}")
    if isinstance(value, Pack):
        return Pack(tuple(_through(item, function) if isinstance(item, Tensor) else None for item in value.items))
    return None


def _layer_output(layer: Layer, given: Value) -> Value:
    if layer.name in RAW_LAYERS:
        return Tensor("raw", f"the `nn.{layer.name}` layer made at line {layer.line}")
    if layer.name in ACTIVATION_LAYERS:
        return Tensor(ACTIVATION_LAYERS[layer.name], f"the `nn.{layer.name}` layer made at line {layer.line}")
    if layer.name in PASS_LAYERS:
        return given
    if layer.name == "Sequential" and layer.layers:
        value = given
        for inner in layer.layers:
            if isinstance(inner, Layer):
                value = _layer_output(inner, value)
            else:
                return None  # a layer we cannot see into
        if isinstance(value, Tensor):
            last = layer.layers[-1]
            return Tensor(value.kind, f"the `nn.Sequential` made at line {layer.line}, whose last layer is `nn.{last.name}`"
                          if last.name in ACTIVATION_LAYERS or last.name in RAW_LAYERS else value.origin)
        return None
    return None


# ---- helpers ----------------------------------------------------------------------------------------


def _imports(nodes: list[ast.AST]) -> dict[str, str]:
    """Local name -> qualified name for every import in the file; a name imported as two things is dropped."""
    found: dict[str, str | None] = {}

    def put(name: str, qualified: str) -> None:
        found[name] = qualified if found.get(name, qualified) == qualified else None

    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    put(alias.asname, alias.name)
                else:
                    put(alias.name.split(".")[0], alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    put(alias.asname or alias.name, f"{node.module}.{alias.name}")
    return {k: _canonical(v) for k, v in found.items() if v is not None}


def _external_attrs(nodes: list[ast.AST]) -> set[str]:
    """Attribute names set on objects other than `self` (`model.fc = ...`; "*" for setattr on one)."""
    names: set[str] = set()
    for node in nodes:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            for t in _flat_targets(target):
                if isinstance(t, ast.Attribute) and not (isinstance(t.value, ast.Name) and t.value.id == "self"):
                    names.add(t.attr)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args
                and not (isinstance(node.args[0], ast.Name) and node.args[0].id == "self")):
            names.add("*")
    return names


def _canonical(name: str) -> str:
    # torch.nn.modules.loss.CrossEntropyLoss and torch.nn.modules.activation.Softmax are torch.nn's names.
    for prefix in ("torch.nn.modules.loss.", "torch.nn.modules.activation.", "torch.nn.modules.linear.",
                   "torch.nn.modules.container.", "torch.nn.modules.conv."):
        if name.startswith(prefix):
            return "torch.nn." + name[len(prefix):]
    return name


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    names = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
    if method and names:
        names = names[1:]
    return names + [a.arg for a in node.args.kwonlyargs]


def _all_params(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    a = node.args
    names = [x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return names


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in node.decorator_list)


def _flat_targets(target: ast.AST) -> list[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in _flat_targets(element)]
    if isinstance(target, ast.Starred):
        return _flat_targets(target.value)
    return [target]


def _names_in_target(target: ast.AST) -> set[str]:
    return {t.id for t in _flat_targets(target) if isinstance(t, ast.Name)}


def _assigned_one(statement: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names |= _names_in_target(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            names |= _names_in_target(node.target)
        elif isinstance(node, ast.NamedExpr):
            names |= _names_in_target(node.target)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    names |= _names_in_target(item.optional_vars)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _assigned_once(body: list[ast.stmt]) -> set[str]:
    """Module-level names bound by exactly one assignment (functions see their final value)."""
    counts: dict[str, int] = {}
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[statement.name] = counts.get(statement.name, 0) + 2  # not a value the flow tracks
            continue
        for node in ast.walk(statement):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
                targets = [node.target]
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    n = alias.asname or alias.name.split(".")[0]
                    counts[n] = counts.get(n, 0) + 2
            weight = 1 if isinstance(node, (ast.Assign, ast.AnnAssign)) else 2
            for target in targets:
                for name in _names_in_target(target):
                    counts[name] = counts.get(name, 0) + weight
    return {name for name, count in counts.items() if count == 1}


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _merge(env: dict[str, Value], left: dict[str, Value], right: dict[str, Value]) -> None:
    for name in set(left) | set(right):
        if name in left and name in right:
            env[name] = join(left[name], right[name])
        else:
            env[name] = None  # bound on one path only


def _join_all(values: list[Value]) -> Value:
    if not values:
        return None
    result = values[0]
    for value in values[1:]:
        result = join(result, value)
    return result
