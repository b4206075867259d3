"""Whether a function reaches, from Python, a function of a given name: read from its code, once.

A watch wraps torch's loss functionals and the producer ops (softmax, log_softmax, sigmoid). While a
wrapped loss runs, what it calls must not be judged or recorded again, which costs a flag set and
reset around the call. Most torch losses hand their arguments straight to their kernel
(`F.cross_entropy` calls `torch._C._nn.cross_entropy_loss`), and a kernel never calls a Python
attribute; a few compute in Python with wrapped ops (`F.multilabel_soft_margin_loss` calls
`logsigmoid`, `F.poisson_nll_loss` may call `torch.exp`). The names a function's code uses
(`co_names`: globals and attributes alike, so `input.softmax(...)` counts), and those of the Python
functions of torch it calls, in turn, say which it is: a name in `names` anywhere means it may.
Conservative: a name used only on a path the counted call never takes still counts.
"""

from __future__ import annotations

from types import CodeType
from typing import Callable, Iterable


def _codes(code: CodeType) -> Iterable[CodeType]:
    """The code object and those nested in it (closures, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def reaches(function: Callable, names: frozenset[str], itself: Callable | None = None, depth: int = 4) -> bool:
    """Whether `function`, or a Python function of torch it calls (to `depth` levels), uses one of
    `names`. `itself`: the function the wrapper stands for, whose own name in its code (torch's
    functionals pass themselves to `handle_torch_function`, on the tensor-subclass path only) is
    not a call of another. Anything that is not plain Python (a builtin, a C function) counts as
    reaching nothing; a function without readable code counts as reaching something."""
    code = getattr(function, "__code__", None)
    if code is None:
        return True
    seen: set[int] = set()
    pending = [(function, depth)]
    while pending:
        current, left = pending.pop()
        code = getattr(current, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        scope = getattr(current, "__globals__", {})
        for part in _codes(code):
            for name in part.co_names:
                value = scope.get(name)
                original = getattr(value, "__losslint_original__", value)
                if itself is not None and original is itself:
                    continue
                if name in names:
                    return True
                if left > 0 and getattr(original, "__code__", None) is not None and str(getattr(original, "__module__", "")).startswith("torch"):
                    pending.append((original, left - 1))
    return False
