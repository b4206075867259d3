"""The steady state's two questions, asked on every call a hook only counts: are the arguments' metadata
those of the line's last clean call (`hooks/arguments_match.py`), and is the call at that line (told by
the instruction offset, `f_lasti`, before the line number). And what a watch's counted call skips: the
`inside` flag, for a torch loss whose code reaches no wrapped function (`hooks/python_calls.py`)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from counting_checker import Counting
from losslint.hooks import intercept, python_calls
from losslint.hooks.arguments_match import Arguments, facts
from losslint.language.registry import builtin_registry


class _Sub(torch.Tensor):
    pass


def _variants(t: torch.Tensor) -> list[object]:
    """Arguments that differ from `t` in one piece of metadata each, and some that are not tensors."""
    out = [
        t.clone(),  # the same metadata
        t.double() if t.is_floating_point() else t.float(),
        t[:-1] if t.ndim and t.shape[0] > 1 else t.reshape(1, *t.shape),
        t.detach().requires_grad_(not t.requires_grad) if t.is_floating_point() else t.clone(),
        t.to("meta"),
        t.as_subclass(_Sub),
        t.to_sparse() if t.ndim else t.clone(),
        None,
        3,
        [t],
    ]
    return out


import pytest

from losslint.hooks import arguments_match
from losslint.language import releases


@pytest.fixture(params=["guard", "written out"])
def comparison(request, monkeypatch):
    """Plain tensors are compared by torch's C++ tensor check where the installed torch has one
    (`releases.tensor_guard`), else by the comparisons written out in Python: both are tested."""
    if request.param == "guard":
        if not releases.holds("tensor_guards"):
            pytest.skip("this torch has no tensor check losslint can use")
    else:
        monkeypatch.setattr(arguments_match, "tensor_guard", lambda tensors: None)
    return request.param


def test_the_comparison_of_plain_tensors_agrees_with_the_facts_of_every_argument(comparison):
    """For calls of one, two and three plain tensors the comparison is torch's tensor check, or one
    written out; its answer is the comparison of each argument's facts, for any argument in any
    position, a call of another length included."""
    pool = [torch.randn(4, 3, requires_grad=True), torch.randint(0, 3, (4,)), torch.rand(4, 3), torch.tensor(1.5)]
    for n in (1, 2, 3):
        recorded = tuple(pool[:n])
        known = Arguments(recorded)
        assert known.matches is not Arguments((None,) * n).matches  # not the generic one
        assert (known.matches is arguments_match._guarded) is (comparison == "guard")
        for position in range(n):
            for other in _variants(recorded[position]):
                call = recorded[:position] + (other,) + recorded[position + 1:]
                expected = tuple(map(facts, call)) == known.facts
                assert known.matches(call, known.compared) is expected, (n, position, other if not isinstance(other, torch.Tensor) else facts(other))
                assert known.check(*call) is expected
        assert not known.matches(recorded[:-1], known.compared)
        assert not known.matches(recorded + (recorded[0],), known.compared)
        with pytest.raises(TypeError):
            known.check(*recorded[:-1])


def test_the_tensor_check_also_tells_the_autocast_state_and_the_lazy_bits_apart():
    """Where torch's check is used it is stricter than the facts, never looser: a call under another
    autocast state (whose verdict can differ: the contract's dtypes are those under the active autocast)
    and a tensor with its conjugate or negative bit set are not the recorded call."""
    if not releases.holds("tensor_guards"):
        pytest.skip("this torch has no tensor check losslint can use")
    x, y = torch.randn(4, 3, requires_grad=True), torch.randint(0, 3, (4,))
    outside = Arguments((x, y))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = Arguments((x, y))
        assert inside.check(x.detach().requires_grad_(), y.clone()) and not outside.check(x, y)
    assert outside.check(x.detach().requires_grad_(), y.clone()) and not inside.check(x, y)
    z = torch.randn(4, 3, dtype=torch.cfloat)
    assert Arguments((z,)).check(z.clone()) and not Arguments((z,)).check(z.conj())
    assert not Arguments((z,)).check(z._neg_view()) if hasattr(z, "_neg_view") else True
    # The record keeps no batch alive.
    import gc
    import weakref

    batch = torch.randn(4, 3)
    alive = weakref.ref(batch)
    record = Arguments((batch,))
    del batch
    gc.collect()
    assert alive() is None and record.check(torch.zeros(4, 3))


@pytest.mark.parametrize("hook", ["attach", "watch"])
def test_under_autocast_the_steady_state_counts_and_a_change_of_autocast_is_judged(hook):
    """A loop under CPU autocast is counted as any other; the same line once autocast is entered or
    left is judged again (at metadata depth), then counted."""
    if not releases.holds("tensor_guards"):
        pytest.skip("this torch has no tensor check losslint can use")
    checker = Counting()
    criterion = nn.CrossEntropyLoss()
    policy = losslint.Policy(first=1, every=0)

    def run(n: int) -> None:
        for _ in range(n):
            criterion(torch.randn(8, 5, requires_grad=True), torch.randint(0, 5, (8,)))  # one line

    if hook == "attach":
        context = losslint.attach(criterion, action="collect", checker=checker, policy=policy)
    else:
        context = losslint.watch(action="collect", checker=checker, policy=policy)
    with context as h:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            run(30)
        run(30)
    assert checker.depths == ["values", "metadata", "metadata"]
    assert h.calls == 60 and not any(r.errors or r.warnings for r in h.reports)


def test_calls_of_other_arguments_are_compared_by_their_facts():
    target = [1, 2, 3]
    known = Arguments((torch.randn(2, 3), target, 0.5))
    assert known.matches((torch.randn(2, 3), [1, 2, 3], 0.5), known.compared)
    assert not known.matches((torch.randn(2, 3), [1, 2, 4], 0.5), known.compared)
    assert not known.matches((torch.randn(2, 3), [1, 2, 3], 0.25), known.compared)
    assert not known.matches((torch.randn(2, 3).as_subclass(_Sub), [1, 2, 3], 0.5), known.compared)


def _wrapped_names() -> frozenset[str]:
    losses = intercept._losses(builtin_registry())
    return frozenset([name for _, name, _ in intercept._producers()] + [f.__name__ for _, f in losses])


def test_which_torch_losses_reach_a_wrapped_function_is_read_from_their_code():
    names = _wrapped_names()
    # Straight to their kernels (F.cross_entropy names itself only to hand itself to
    # handle_torch_function, for tensor subclasses).
    for function in (F.cross_entropy, F.nll_loss, F.mse_loss, F.binary_cross_entropy_with_logits, F.kl_div):
        assert not python_calls.reaches(function, names, itself=function), function.__name__

    assert python_calls.reaches(_through_softmax, names)
    assert python_calls.reaches(_through_a_helper, names)  # a Python function of torch's, followed
    assert not python_calls.reaches(_through_a_helper, names, depth=0)
    assert python_calls.reaches(len, names)  # no code to read: assumed to reach one


def _through_softmax(input, target):
    return F.nll_loss(input.softmax(dim=1).log(), target)


def _through_a_helper(input, target):
    return _through_softmax(input, target)


_through_softmax.__module__ = "torch.nn.functional"  # followed as torch's own are


def test_a_counted_call_of_a_loss_that_calls_another_is_judged_once():
    """A torch loss whose Python code calls a wrapped loss (linear_cross_entropy calls cross_entropy,
    where torch has it) keeps the `inside` flag on its counted calls: the inner call is never judged as
    a call of its own."""
    function = getattr(F, "linear_cross_entropy", None)
    names = _wrapped_names()
    if function is None or not python_calls.reaches(function, names, itself=function):
        function = F.smooth_l1_loss if python_calls.reaches(F.smooth_l1_loss, names, itself=F.smooth_l1_loss) else None
    if function is None:
        import pytest

        pytest.skip("no torch loss of this release calls a wrapped function from Python")
    checker = Counting()
    if function is F.smooth_l1_loss:
        args = (torch.randn(8, 3), torch.randn(8, 3))
    else:
        args = (torch.randn(8, 4), torch.randn(5, 4), torch.randint(0, 5, (8,)))
    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy(first=1, every=0)) as w:
        for _ in range(30):
            getattr(F, function.__name__)(*args)
    assert w.calls == 30 and len(checker.depths) == 2  # the first (values), one at metadata depth: then counted


def test_two_calls_on_one_line_and_a_line_far_down_a_long_function_are_counted_at_their_line():
    """The steady state tells a line by the offset of the call's instruction; two calls on one line
    have two offsets and are both counted at that line, and a line at the end of a long function
    (where reading the line number walks the whole line table) is counted like any other."""
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    source = "def far(criterion, x, y, n):\n    z = 0\n" + "".join(f"    z += {i}\n" for i in range(300))
    source += "    for _ in range(n):\n        criterion(x, y)\n"
    scope: dict = {}
    exec(compile(source, "far_function.py", "exec"), scope)
    with losslint.attach(criterion, action="collect") as hook:
        for _ in range(120):
            criterion(x, y) + criterion(x, y)
        scope["far"](criterion, x, y, 120)
    counts = {location.rsplit(":", 1)[-1] if location else None: n for location, (n, _) in hook.sites.items()}
    assert sorted(counts.values()) == [120, 240] and hook.calls == 360
    assert "304" in counts and counts["304"] == 120  # the loop's line in the generated function
    with losslint.watch(action="collect") as w:
        for _ in range(120):
            F.cross_entropy(x, y) + F.cross_entropy(x, y)
        scope["far"](F.cross_entropy, x, y, 120)
    assert sorted(n for n, _ in w.sites.values()) == [120, 240] and w.calls == 360


# ---- the functional's own parameters (hooks/functional_wrapper.py) -----------------------------------


def _generic_counts(monkeypatch) -> list:
    """Every call the generic path's steady state compares with its line's record (`steady._same`,
    which `Steady.counted` asks once it has found the line: a spy there adds no frame between
    `counted` and the user's line, which it finds by counting frames)."""
    from losslint.hooks import steady

    asked: list = []
    same = steady._same

    def spy(*args):
        asked.append(args[1])
        return same(*args)

    monkeypatch.setattr(steady, "_same", spy)
    return asked


def test_the_watched_functional_keeps_its_signature_and_counts_its_calls_the_short_way(monkeypatch):
    import inspect

    asked = _generic_counts(monkeypatch)
    plain_signature = inspect.signature(F.cross_entropy)
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with losslint.watch(action="collect", policy=losslint.Policy(first=1, every=0)) as w:
        assert inspect.signature(F.cross_entropy) == plain_signature
        assert F.cross_entropy.__name__ == "cross_entropy" and F.cross_entropy.__losslint_original__ is not F.cross_entropy
        for _ in range(40):
            criterion(torch.randn(8, 5), torch.randint(0, 5, (8,)))  # the module: keywords from its forward
        for _ in range(40):
            F.cross_entropy(x, y, label_smoothing=0.1)  # the user's own keywords
    # Two lines, each: the first call (values), the second (metadata, then recorded), then the short way:
    # the generic path never compares a call with a line's record.
    assert w.calls == 80 and sorted(n for n, _ in w.sites.values()) == [40, 40]
    assert asked == []


def test_options_that_change_are_judged_and_tensor_options_go_the_generic_way(monkeypatch):
    checker = Counting()
    asked = _generic_counts(monkeypatch)
    x, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    weight = torch.ones(5)

    def call(**options):
        return F.cross_entropy(x, y, **options)  # one line

    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy(first=1, every=0)) as w:
        for _ in range(5):
            call(reduction="sum")
        call(reduction="mean")  # another option: judged
        call(ignore_index=3)  # another: judged
        for _ in range(5):
            call(weight=weight)  # a tensor option: counted, by the generic path's facts
    assert checker.depths == ["values", "metadata", "metadata", "metadata", "metadata"]
    assert w.calls == 12
    # Compared by the generic path: the two changed options (then judged), and every call with a
    # tensor option (the first judged, the rest counted there).
    assert len(asked) == 1 + 1 + 5


def test_a_written_wrapper_takes_what_the_functional_takes():
    """Keyword-only options, a parameter named like the function, defaults that are objects: the
    written wrapper binds them as the function does and hands them on."""
    from losslint.hooks import functional_wrapper

    sentinel = object()

    def loss(loss, target, scale=2.0, *, weight=sentinel, reduction="mean"):
        return (loss, target, scale, weight, reduction)

    wrapper = functional_wrapper.matched_wrapper(loss, loss, lambda *a, **k: ("generic", a, k), None)
    import inspect

    assert inspect.signature(wrapper) == inspect.signature(loss) and wrapper.__name__ == "loss"
    # No watch is active in this thread: every call goes the generic way, with the options given.
    assert wrapper(1, 2) == ("generic", (1, 2), {})
    assert wrapper(1, 2, 3.0, reduction="sum") == ("generic", (1, 2), {"scale": 3.0, "reduction": "sum"})
    assert wrapper(1, target=2, weight=None) == ("generic", (1, 2), {"weight": None})


def test_torch_raises_on_a_call_counted_the_short_way_and_is_explained():
    criterion = nn.CrossEntropyLoss()
    with losslint.watch(action="collect", policy=losslint.Policy(first=1, every=0)) as w:
        for step in range(30):
            target = torch.randint(0, 5, (8,))
            if step == 25:
                target[3] = 7  # a corrupt label on a call only counted
            try:
                criterion(torch.randn(8, 5), target)
            except IndexError as error:
                raised = error
    assert step == 29 and "losslint" in "".join(getattr(raised, "__notes__", [])) + str(raised)
    assert any(r.errors for r in w.reports)


def test_a_signature_python_cannot_write_keeps_the_generic_wrapper():
    from losslint.hooks import functional_wrapper

    def varargs(input, *rest):
        return input

    def positional_only(input, target, /, weight=None):
        return input

    def optional_only(input=None):
        return input

    def keywords_after_keyword_only(input, target, *, weight=None, **more):
        return input

    for function in (varargs, positional_only, optional_only, keywords_after_keyword_only, len):
        assert functional_wrapper.matched_wrapper(function, function, function, None) is None
