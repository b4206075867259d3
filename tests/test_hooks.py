"""attach(), pre_hook and watch() in real training loops: actions, call sites, counts, the sampling
policy, provenance, nesting, threads, and transparency (bit-identical training, no graph, nothing kept
alive, torch.compile without graph breaks, meta and fake tensors)."""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from contextlib import nullcontext
import warnings
import weakref

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

import losslint
from counting_checker import Counting
from losslint.language import releases
from losslint.hooks.hook import PRE_HOOK
from losslint.hooks.monitor import state

from examples_runner import all_examples, build_call

HERE = os.path.abspath(__file__)


@pytest.fixture(autouse=True)
def _quiet_torch_warnings():
    """Overrides conftest's fixture of the same name: that one ignores every UserWarning, and
    LossLintWarning is one. Torch's own warnings are silenced per test where they occur."""
    yield


def line() -> int:
    """The line number of the caller's next line: `at = line()` right above the call under test."""
    return sys._getframe(1).f_lineno + 1


def at(lineno: int) -> str:
    """The location losslint gives to a line of this file."""
    return f"{os.path.relpath(HERE)}:{lineno}" if HERE.startswith(os.getcwd() + os.sep) else f"{HERE}:{lineno}"


def lossl_warnings(caught) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, losslint.LossLintWarning)]


def classifier(seed: int = 0, softmax: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers = [nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 5)]
    return nn.Sequential(*layers, nn.Softmax(dim=1)) if softmax else nn.Sequential(*layers)


def batches(steps: int, n: int = 32, classes: int = 5, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 6, generator=gen), torch.randint(0, classes, (n,), generator=gen)) for _ in range(steps)]


# ---- attach() ---------------------------------------------------------------------------------------


def test_attach_collects_one_report_per_call_site_with_a_count():
    model, criterion = classifier(softmax=True), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with losslint.attach(criterion, action="collect") as hook:
        for x, y in batches(6):
            opt.zero_grad()
            site = line()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
    assert hook.calls == 6
    [report] = hook.reports
    assert report.codes == ["LL301"] and report.count == 6
    assert report.location == at(site)
    assert report.to_dict()["location"] == at(site) and report.to_dict()["count"] == 6


def test_attach_auto_raises_before_the_loss_runs_and_points_at_the_users_line():
    model, criterion = classifier(), nn.CrossEntropyLoss()
    ran = []
    criterion.register_forward_hook(lambda *a: ran.append(1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hook = losslint.attach(criterion)
    for step, (x, y) in enumerate(batches(3)):
        opt.zero_grad()
        labels = y + 1 if step == 2 else y  # the third batch comes 1-based
        if step < 2:
            criterion(model(x), labels).backward()
            opt.step()
            continue
        with pytest.raises(losslint.LossLintError) as info:
            site = line()
            criterion(model(x), labels)
    assert len(ran) == 2, "the bad call reached the loss"
    report = info.value.report
    assert report.torch_raises and report.codes[0] == "LL401" and report.location == at(site)
    assert "1-based" in str(info.value) and str(info.value).endswith(f"torch will reject this call\n  at {at(site)}")
    assert any("stopped this CrossEntropyLoss call before it ran" in note for note in info.value.__notes__)
    assert info.traceback[-1].frame.code.path != HERE  # raised from losslint, reached through torch
    # It crosses processes whole (a DataLoader worker, a spawned rank): rebuilt from its report.
    assert pickle.loads(pickle.dumps(info.value)).report == report
    hook.remove()
    with pytest.raises(IndexError, match="out of bounds"):  # removed: torch's own error again
        criterion(model(x), labels)


def test_attach_auto_warns_once_at_the_users_line():
    model, criterion = classifier(softmax=True), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion) as hook:
        warnings.simplefilter("always")
        for x, y in batches(5):
            opt.zero_grad()
            site = line()
            criterion(model(x), y).backward()
            opt.step()
    [warning] = lossl_warnings(caught)
    assert (warning.filename, warning.lineno) == (HERE, site)
    assert str(warning.message).startswith("warning[LL301] CrossEntropyLoss: `input` holds probabilities")
    assert hook.reports[0].count == 5


def _call(action: str, case: str):
    """One training step's loss call with a torch-rejected target ("raises") or a target torch
    accepts but that makes the loss meaningless ("silent": ±1 labels for BCE)."""
    torch.manual_seed(0)
    logits = torch.randn(8, 3, requires_grad=True)
    if case == "raises":
        criterion, target = nn.CrossEntropyLoss(), torch.tensor([0, 1, 2, 3, 0, 1, 2, 0])
    else:
        criterion, target = nn.BCEWithLogitsLoss(), torch.randint(0, 2, (8, 3)).float() * 2 - 1
    with losslint.attach(criterion, action=action) as hook, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            criterion(logits, target).backward()
            outcome = "ran"
        except losslint.LossLintError:
            outcome = "LossLintError"
        except IndexError:
            outcome = "torch raised"
    return outcome, len(lossl_warnings(caught)), [r.codes for r in hook.reports]


@pytest.mark.parametrize(
    "action,case,expected",
    [
        ("auto", "raises", ("LossLintError", 0, [["LL401"]])),
        ("auto", "silent", ("ran", 1, [["LL402"]])),
        ("raise", "raises", ("LossLintError", 0, [["LL401"]])),
        ("raise", "silent", ("LossLintError", 0, [["LL402"]])),
        ("warn", "raises", ("torch raised", 1, [["LL401"]])),
        ("warn", "silent", ("ran", 1, [["LL402"]])),
        ("collect", "raises", ("torch raised", 0, [["LL401"]])),
        ("collect", "silent", ("ran", 0, [["LL402"]])),
    ],
)
def test_actions(action, case, expected):
    assert _call(action, case) == expected


def test_attach_reads_the_modules_configuration():
    model = classifier()
    x, y = batches(1)[0]
    padded = y.clone()
    padded[:4] = -1
    with losslint.attach(nn.CrossEntropyLoss(ignore_index=-1), action="collect") as hook:
        hook.module(model(x), padded)
    assert hook.calls == 1 and hook.reports == []
    with pytest.raises(losslint.LossLintError, match="-1"), losslint.attach(nn.CrossEntropyLoss()) as hook:
        hook.module(model(x), padded)


def test_attach_rejects_what_it_cannot_judge():
    with pytest.raises(losslint.UnknownLossError):
        losslint.attach(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="action"):
        losslint.attach(nn.MSELoss(), action="explode")
    with pytest.raises(TypeError, match="Policy"):
        losslint.attach(nn.MSELoss(), policy={"first": 1})


# ---- pre_hook ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_kwargs", [False, True])
def test_pre_hook(with_kwargs):
    model, criterion = classifier(), nn.CrossEntropyLoss()
    criterion.register_forward_pre_hook(losslint.pre_hook, with_kwargs=with_kwargs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in batches(3):  # correct targets: silent, and training proceeds
        opt.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error", losslint.LossLintWarning)
            (criterion(model(x), target=y) if with_kwargs else criterion(model(x), y)).backward()
        opt.step()
    with pytest.raises(losslint.LossLintError) as info:
        site = line()
        criterion(input=model(x), target=y + 1) if with_kwargs else criterion(model(x), y + 1)
    assert info.value.report.location == at(site)
    assert info.value.report in PRE_HOOK.reports


def test_pre_hook_warns_once_per_call_site():
    model, criterion = classifier(softmax=True), nn.CrossEntropyLoss()
    criterion.register_forward_pre_hook(losslint.pre_hook)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, y in batches(4):
            site = line()
            criterion(model(x), y)
    [warning] = lossl_warnings(caught)
    assert warning.lineno == site
    assert [r.count for r in PRE_HOOK.reports if r.location == at(site)] == [4]


# ---- warnings as errors, the way users turn them on ------------------------------------------------------


def test_python_W_error_turns_the_warning_into_an_exception_at_the_users_line(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch, torch.nn as nn, losslint
            criterion = nn.CrossEntropyLoss()
            losslint.attach(criterion)
            logits = torch.randn(16, 4)
            criterion(logits.softmax(dim=1), torch.randint(0, 4, (16,)))
            """
        )
    )
    root = os.path.dirname(os.path.dirname(HERE))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-W", "error::losslint.LossLintWarning", str(script)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 1
    assert "losslint.LossLintWarning: warning[LL301]" in done.stderr
    assert 'train.py", line 6' in done.stderr


@pytest.mark.filterwarnings("error::losslint.LossLintWarning")
def test_pytest_filterwarnings_mark_applies():
    criterion = nn.CrossEntropyLoss()
    with losslint.attach(criterion), pytest.raises(losslint.LossLintWarning):
        criterion(torch.randn(16, 4).softmax(dim=1), torch.randint(0, 4, (16,)))


# ---- watch() ----------------------------------------------------------------------------------------


class LitClassifier(nn.Module):
    """Stands for code the user does not own: the loss is computed deep inside `training_step`."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Linear(6, 3)

    def training_step(self, batch):
        x, y = batch
        return self._loss(torch.sigmoid(self.net(x)), y)

    def _loss(self, scores, y):
        self.site = line()
        return F.binary_cross_entropy_with_logits(scores, y)


def test_watch_sees_functional_losses_deep_inside_library_code():
    module = LitClassifier()
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    with losslint.watch(action="collect") as w:
        for _ in range(5):
            batch = torch.randn(32, 6, generator=gen), torch.randint(0, 2, (32, 3), generator=gen).float()
            opt.zero_grad()
            module.training_step(batch).backward()
            opt.step()
    assert w.calls == 5
    [report] = w.reports
    assert report.location == at(module.site) and report.count == 5
    [finding] = report.findings
    assert finding.code == "LL305" and finding.confidence == "certain"
    assert finding.message.startswith("`input` was produced by `torch.sigmoid` at ")


def test_watch_sees_module_losses_through_their_functional_with_their_configuration():
    model = classifier()
    x, y = batches(1)[0]
    with losslint.watch(action="collect") as w:
        nn.NLLLoss()(model(x), y)  # raw scores, not log-probabilities
    assert w.calls == 1 and w.reports[0].codes == ["LL302"]
    with losslint.watch(), pytest.raises(losslint.LossLintError) as info:
        nn.CrossEntropyLoss(weight=torch.ones(4))(model(x), y)  # 4 class weights for 5 classes
    assert info.value.report.torch_raises


def test_watch_auto_warns_once_at_the_users_line_over_a_training_run():
    model = classifier()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught, losslint.watch() as w:
        warnings.simplefilter("always")
        for x, y in batches(8):
            opt.zero_grad()
            site = line()
            loss = F.nll_loss(model(x).softmax(dim=1), y)
            loss.backward()
            opt.step()
    [warning] = lossl_warnings(caught)
    assert (warning.filename, warning.lineno) == (HERE, site)
    assert w.reports[0].count == 8 and w.reports[0].codes == ["LL303"]


def test_a_10000_step_run_warns_once():
    pred, target = torch.zeros(4, 1), torch.zeros(4)  # (N, 1) against (N,): broadcasts to (N, N)
    with warnings.catch_warnings(record=True) as caught, losslint.watch() as w:
        warnings.simplefilter("always", losslint.LossLintWarning)
        warnings.filterwarnings("ignore", message="Using a target size", category=UserWarning)  # torch's own
        for _ in range(10_000):
            F.mse_loss(pred, target)
    assert len(lossl_warnings(caught)) == 1
    [report] = w.reports
    assert report.count == 10_000 and report.codes == ["LL205"]


def test_distinct_call_sites_and_distinct_findings_are_reported_apart():
    logits, y = torch.randn(16, 5), torch.randint(0, 5, (16,))
    with losslint.watch(action="collect") as w:
        for step in range(4):
            F.cross_entropy(logits.softmax(1), y)
            F.cross_entropy(logits.softmax(1) if step % 2 else logits.log_softmax(1), y)
    sites = [(r.location, r.count, tuple(r.codes)) for r in w.reports]
    assert len({s[0] for s in sites}) == 2
    assert sorted(s[1] for s in sites) == [2, 2, 4]


@pytest.mark.parametrize("form", ["module", "functional"])
def test_every_rule_file_example_is_judged_through_the_hooks_as_check_judges_it(form):
    """The hooks are check() at a call site: each example's codes come out the same, torch runs or raises
    as it would, and exactly one judgment happens per call."""
    for loss, example, example_form in all_examples():
        # torch's losses: watch() sees torch's functionals only, and a library's loss module may call
        # torch losses inside (pml's ArcFace calls F.cross_entropy); tests/test_user_rules.py hooks those.
        if example_form != form or loss.library != "torch":
            continue
        args, config = build_call(loss, example)
        if form == "module":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # size_average/reduce are deprecated, and examples use them
                    target = loss.module(**config)
            except Exception:  # noqa: BLE001 - torch rejects the configuration itself
                continue
            canonical = [a for a in loss.arguments if a not in loss.from_module]
            call_args, call_kwargs = [args[f] if f in args else args[c] for f, c in zip(loss.forward, canonical) if f in args or c in args], {}
        else:
            target, call_args, call_kwargs = loss.functional, [args[a] for a in loss.arguments if a in args], config
        expected = losslint.check(target, *call_args, **call_kwargs)
        checker = Counting()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hook = losslint.attach(target, action="collect", checker=checker) if form == "module" else None
            with losslint.watch(action="collect", policy=losslint.Policy.always(), checker=checker) as w:
                # As users call a functional: through the module attribute (`F.l1_loss`), looked up
                # inside the block; a function object taken before it is what the default watch
                # cannot see (tests/test_intercept.py).
                called = getattr(torch.nn.functional, target.__name__) if form == "functional" else target
                try:
                    called(*call_args, **call_kwargs)
                except Exception:  # noqa: BLE001
                    pass
            if hook is not None:
                hook.remove()
        name = f"{loss.name} {example.name} ({form})"
        assert len(checker.depths) == 1, f"{name}: judged {len(checker.depths)} times"
        seen = (hook or w).reports
        codes = seen[0].codes if seen else []
        assert codes == expected.codes, f"{name}: {codes} != {expected.codes}"
        assert [r.codes for r in w.reports] == [r.codes for r in seen], f"{name}: the watch missed the hook's report"


# ---- nesting, threads, re-entrancy ----------------------------------------------------------------------


def test_nested_watches_judge_each_call_once_and_both_record_it():
    inner_checker, outer_checker = Counting(), Counting()
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    with losslint.watch(action="collect", checker=outer_checker) as outer:
        F.cross_entropy(logits.softmax(1), y)
        with losslint.watch(action="collect", checker=inner_checker) as inner:
            for _ in range(3):
                F.cross_entropy(logits.softmax(1), y)
        F.cross_entropy(logits, y)
    assert len(inner_checker.depths) == 3 and len(outer_checker.depths) == 2
    assert inner.calls == 3 and outer.calls == 5
    assert [r.count for r in inner.reports] == [3]
    assert sorted(r.count for r in outer.reports) == [1, 3]
    assert state.watches == [] and state.claims == []


def test_a_watch_entered_again_inside_itself_judges_once():
    checker = Counting()
    w = losslint.watch(action="collect", checker=checker)
    with w:
        with w:
            F.cross_entropy(torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,)))
        F.cross_entropy(torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,)))
    assert len(checker.depths) == 2 and w.calls == 2
    assert state.watches == []


@pytest.mark.parametrize("how", ["attach", "pre_hook"])
def test_an_attached_loss_inside_watch_is_judged_once_per_call(how):
    model, criterion = classifier(softmax=True), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hook_checker, watch_checker = Counting(), Counting()
    hook = losslint.attach(criterion, action="collect", checker=hook_checker) if how == "attach" else None
    if how == "pre_hook":
        criterion.register_forward_pre_hook(losslint.pre_hook)
    with warnings.catch_warnings(record=True) as caught, losslint.watch(action="collect", checker=watch_checker) as w:
        warnings.simplefilter("always")
        for x, y in batches(4):
            opt.zero_grad()
            criterion(model(x), y).backward()
            opt.step()
    assert watch_checker.depths == [] and w.calls == 4
    if hook is not None:
        assert len(hook_checker.depths) == 4 and hook.reports[0].count == 4
    else:
        assert len(lossl_warnings(caught)) == 1  # pre_hook's own action, "auto"
    # The watch records what the hook judged, with the certainty only the watch could add.
    [report] = w.reports
    assert report.count == 4 and "was produced by `nn.Softmax` over dim 1" in report.findings[0].message
    assert state.claims == []


def test_a_watch_sees_only_its_own_thread():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    barrier = threading.Barrier(2)
    seen: dict[str, int] = {}

    def worker(name: str, calls: int):
        with losslint.watch(action="collect") as w:
            barrier.wait()
            for _ in range(calls):
                F.cross_entropy(logits.softmax(1), y)
            barrier.wait()
        seen[name] = w.calls

    threads = [threading.Thread(target=worker, args=(f"t{i}", 3 + i)) for i in range(2)]
    with losslint.watch(action="collect") as main:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen == {"t0": 3, "t1": 4} and main.calls == 0


def test_an_attached_loss_shared_by_threads_counts_every_call():
    criterion = nn.CrossEntropyLoss()
    logits, y = torch.randn(8, 5).softmax(1), torch.randint(0, 5, (8,))

    def worker():
        for _ in range(25):
            criterion(logits, y)

    with losslint.attach(criterion, action="collect", policy=losslint.Policy.always()) as hook:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert hook.calls == 100 and [r.count for r in hook.reports] == [100]


def test_a_loss_called_while_losslint_warns_is_not_judged_again():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    inner_losses = []

    def showwarning(message, category, filename, lineno, file=None, line=None):
        # A logging handler that itself computes a loss (a metric) while the warning is shown.
        inner_losses.append(F.cross_entropy(logits.softmax(1), y))

    checker = Counting()
    with warnings.catch_warnings(), losslint.watch(checker=checker) as w:
        warnings.simplefilter("always")
        warnings.showwarning = showwarning
        F.cross_entropy(logits.softmax(1), y)
    assert len(inner_losses) == 1 and len(checker.depths) == 1 and w.calls == 1


class Recorder(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.funcs: list = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.funcs.append(func)
        return func(*args, **(kwargs or {}))


def test_other_torch_function_modes_do_not_see_losslints_own_ops():
    def step():
        model = classifier()
        x, y = batches(1)[0]
        F.cross_entropy(model(x).softmax(1), y).backward()

    with Recorder() as plain:
        step()
    with Recorder() as watched, losslint.watch(action="collect") as w:
        step()
    assert w.reports and watched.funcs == plain.funcs


# ---- the sampling policy ------------------------------------------------------------------------------


def test_policy_default():
    assert losslint.Policy() == losslint.Policy(first=10, every=1000, metadata=True)
    depths = [losslint.Policy().depth(i) for i in range(3500)]
    assert [i for i, d in enumerate(depths) if d == "values"] == list(range(10)) + [1009, 2009, 3009]
    assert set(depths[10:1009]) == {"metadata"}
    sparse = [i for i in range(1000) if losslint.Policy(every=100).depth(i) == "values"]
    assert sparse == list(range(10)) + [109, 209, 309, 409, 509, 609, 709, 809, 909]
    assert {losslint.Policy.always().depth(i) for i in range(50)} == {"values"}
    assert {losslint.Policy(first=0, every=0).depth(i) for i in range(50)} == {"metadata"}
    for bad in ({"first": -1}, {"every": 1.5}, {"first": True}):
        with pytest.raises(ValueError):
            losslint.Policy(**bad)


def test_policy_counts_per_call_site_in_a_training_loop():
    checker = Counting()
    model = classifier()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with losslint.watch(action="collect", policy=losslint.Policy(first=3, every=5), checker=checker) as w:
        for step, (x, y) in enumerate(batches(12, n=8)):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            if step == 0:
                F.nll_loss(model(x).log_softmax(1), y)  # a second call site: its own first calls
            loss.backward()
            opt.step()
    v, m = "values", "metadata"
    # cross_entropy: values on calls 0-2 and 7; metadata on 3, after which the calls like it are only
    # counted (losslint/hooks/steady.py: 4-6, and 8-11 after the values sample); nll_loss: its first call.
    assert checker.depths == [v, v, v, v, m, v]
    assert w.calls == 13 and sorted(w.sites.values()) == [(1, 1), (12, 4)]


def test_policy_can_skip_the_calls_between_samples():
    checker = Counting()
    with losslint.watch(action="collect", policy=losslint.Policy(first=1, every=4, metadata=False), checker=checker) as w:
        for _ in range(9):
            F.mse_loss(torch.zeros(3), torch.ones(3))
    assert checker.depths == ["values", "values", "values"] and w.calls == 9


# ---- provenance ----------------------------------------------------------------------------------------


def test_provenance_names_the_op_in_the_form_the_user_wrote():
    x, y = torch.randn(8, 4), torch.randint(0, 5, (8,))
    lin = nn.Linear(4, 5)
    softmax_model = nn.Sequential(lin, nn.Softmax(dim=1))
    cases = {
        "nn.Softmax": lambda: softmax_model(x),
        "F.softmax": lambda: F.softmax(lin(x), dim=1),
        "torch.softmax": lambda: torch.softmax(lin(x), 1),
        "Tensor.softmax": lambda: lin(x).softmax(-1),
        "torch.special.softmax": lambda: torch.special.softmax(lin(x), 1),
    }
    for op, make in cases.items():
        with losslint.watch(action="collect") as w:
            F.cross_entropy(make(), y)
        [finding] = w.reports[0].findings
        made_at = at(make.__code__.co_firstlineno)  # each lambda is the user's line that made `input`
        assert finding.message == f"`input` was produced by `{op}` over dim 1 at {made_at}: these are probabilities; expected raw logits", op
        assert finding.code == "LL301" and finding.confidence == "certain"
    sigmoid_cases = {
        "nn.Sigmoid": lambda: nn.Sigmoid()(lin(x)),
        "F.sigmoid": lambda: F.sigmoid(lin(x)),
        "torch.sigmoid": lambda: torch.sigmoid(lin(x)),
        "Tensor.sigmoid": lambda: lin(x).sigmoid(),
        "torch.special.expit": lambda: torch.special.expit(lin(x)),
    }
    for op, make in sigmoid_cases.items():
        with losslint.watch(action="collect") as w:
            F.binary_cross_entropy_with_logits(make(), torch.ones(8, 5))
        assert w.reports[0].codes == ["LL305"] and f"produced by `{op}` at" in w.reports[0].findings[0].message, op


def test_provenance_is_certain_where_values_are_ambiguous():
    logits = torch.tensor([[0.3, -0.2]])  # two values: too few to call them sigmoid outputs from values
    target = torch.tensor([[1.0, 0.0]])
    by_value = losslint.check(F.binary_cross_entropy_with_logits, torch.sigmoid(logits), target)
    assert [(f.code, f.severity, f.confidence) for f in by_value.findings] == [("LL305", "info", "weak")]
    with losslint.watch(action="collect") as w:
        F.binary_cross_entropy_with_logits(torch.sigmoid(logits), target)
    [finding] = w.reports[0].findings
    assert (finding.code, finding.severity, finding.confidence) == ("LL305", "warning", "certain")


def test_provenance_needs_no_values():
    checker = Counting()
    policy = losslint.Policy(first=0, every=0)  # metadata only: never reads the data
    with losslint.watch(action="collect", policy=policy, checker=checker) as w:
        F.nll_loss(torch.randn(8, 5).softmax(dim=1), torch.randint(0, 5, (8,)))
        F.cross_entropy(torch.randn(8, 5).softmax(dim=0), torch.randint(0, 5, (8,)))
        F.nll_loss(torch.randn(8, 5).log_softmax(dim=1), torch.randint(0, 5, (8,)))
    assert set(checker.depths) == {"metadata"}
    assert [r.codes for r in w.reports] == [["LL303"], ["LL304"]]
    assert w.reports[1].findings[0].message.startswith("`input` was produced by `Tensor.softmax` over dim 0 at ")


def test_provenance_follows_value_preserving_ops_only():
    logits = torch.randn(2, 3, 5)
    y = torch.randint(0, 5, (6,))
    with losslint.watch(action="collect", policy=losslint.Policy(first=0, every=0)) as w:
        probs = logits.softmax(dim=-1)
        F.cross_entropy(probs.view(-1, 5).float().contiguous(), y)  # still rows of softmax
        F.cross_entropy(probs[..., :4].reshape(-1, 4), y.clamp(max=3))  # the class dim was cut: unknown
        F.cross_entropy(logits.softmax(dim=1).reshape(-1, 5), y)  # dim 1 merged away: unknown
    assert [r.codes for r in w.reports] == [["LL301"]]


def test_value_evidence_remains_the_fallback():
    logits, y = torch.randn(16, 5), torch.randint(0, 5, (16,))
    with losslint.watch(action="collect") as w:
        probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)  # a softmax losslint did not see
        F.cross_entropy(probs, y)
    [finding] = w.reports[0].findings
    assert finding.code == "LL301" and finding.confidence == "strong" and "holds probabilities" in finding.message


def test_provenance_keeps_no_tensor_alive():
    with losslint.watch(action="collect") as w:
        probs = torch.randn(8, 5).softmax(1)
        ref = weakref.ref(probs)
        F.cross_entropy(probs, torch.randint(0, 5, (8,)))
        assert len(w.provenance) == 1
        del probs
        gc.collect()
        assert ref() is None and len(w.provenance) == 0


# ---- transparency -------------------------------------------------------------------------------------


def _train(steps: int, wrap, *, softmax: bool = False):
    """(losses, parameters, gradients) of a few SGD steps; `wrap(criterion)` returns the context."""
    model, criterion = classifier(softmax=softmax), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses, grads = [], []
    with wrap(criterion):
        for x, y in batches(steps):
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            losses.append(loss.detach().clone())
            grads.append([p.grad.clone() for p in model.parameters()])
            opt.step()
    return losses, [p.detach().clone() for p in model.parameters()], grads


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))


class _Both:
    def __init__(self, criterion):
        self.hook = losslint.attach(criterion, action="collect", policy=losslint.Policy.always())
        self.watch = losslint.watch(action="collect", policy=losslint.Policy.always())

    def __enter__(self):
        self.watch.__enter__()

    def __exit__(self, *exc):
        self.watch.__exit__(*exc)
        self.hook.remove()


@pytest.mark.parametrize("softmax", [False, True])
def test_training_is_bit_identical_with_and_without_losslint(softmax):
    plain = _train(5, lambda c: nullcontext(), softmax=softmax)
    assert _same(plain, _train(5, lambda c: losslint.attach(c, action="collect"), softmax=softmax))
    assert _same(plain, _train(5, lambda c: losslint.watch(action="collect"), softmax=softmax))
    assert _same(plain, _train(5, _Both, softmax=softmax))


@pytest.mark.skipif(not releases.holds("l1_loss_weight"), reason="this torch's F.l1_loss takes no weight=")
def test_a_weighted_l1_loss_stays_weighted_under_watch():
    # torch 2.13's F.l1_loss leaves `weight` out of what it hands a TorchFunctionMode.
    gen = torch.Generator().manual_seed(0)
    x, y, weight = torch.randn(8, 3, generator=gen), torch.randn(8, 3, generator=gen), torch.rand(8, 3, generator=gen)
    plain = F.l1_loss(x, y, weight=weight)
    with losslint.watch(action="collect") as w:
        watched = F.l1_loss(x, y, weight=weight)
        with pytest.raises(ValueError, match="same size"):  # judged with the weight it was given
            F.l1_loss(x, y, weight=weight[:2])
    assert torch.equal(plain, watched) and not torch.equal(plain, F.l1_loss(x, y))
    assert w.calls == 2 and [r.codes for r in w.reports] == [["LL206"]]


def test_inputs_are_not_touched_and_the_checks_build_no_graph():
    saved = []

    class NoGraph(losslint.Checker):
        def check_call(self, *args, **kwargs):
            with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(1) or t, lambda t: t):
                return super().check_call(*args, **kwargs)

    logits = torch.randn(16, 5, requires_grad=True)
    probs = logits.softmax(1)
    target = torch.randint(0, 5, (16,))
    versions, values = (probs._version, target._version), (probs.detach().clone(), target.clone())
    with losslint.watch(action="collect", checker=NoGraph()) as w:
        loss = F.cross_entropy(probs, target)
        F.nll_loss(logits.log_softmax(1), target)  # read by value checks too
    assert w.calls == 2 and saved == []
    assert (probs._version, target._version) == versions
    assert torch.equal(probs, values[0]) and torch.equal(target, values[1])
    assert loss.grad_fn.name() == "NllLossBackward0"


def test_no_tensor_is_kept_alive_by_a_training_run():
    refs = []
    model, criterion = classifier(softmax=True), nn.CrossEntropyLoss()
    with losslint.attach(criterion, action="collect") as hook, losslint.watch(action="collect") as w:
        for x, y in batches(3):
            out = model(x)
            refs += [weakref.ref(x), weakref.ref(y), weakref.ref(out)]
            criterion(out, y).backward()
        del x, y, out
        gc.collect()
        assert all(r() is None for r in refs)
    assert hook.reports and w.reports and len(w.provenance) == 0


@pytest.mark.parametrize("how", ["attach", "pre_hook", "watch"])
def test_torch_compile_sees_no_graph_break_and_matches_eager(how):
    torch._dynamo.reset()

    def run(compiled: bool, hooked: bool):
        model, criterion = classifier(), nn.CrossEntropyLoss()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            return criterion(model(x), y)

        fn = torch.compile(step, backend="aot_eager") if compiled else step
        if hooked and how == "attach":
            losslint.attach(criterion)
        elif hooked and how == "pre_hook":
            criterion.register_forward_pre_hook(losslint.pre_hook)
        losses = []
        with losslint.watch() if hooked and how == "watch" else nullcontext():
            explanation = torch._dynamo.explain(step)(*batches(1)[0]) if hooked else None
            for x, y in batches(3):
                opt.zero_grad()
                loss = fn(x, y)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
        return explanation, losses, [p.detach() for p in model.parameters()]

    explanation, hooked_losses, hooked_params = run(compiled=True, hooked=True)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1
    _, compiled_losses, compiled_params = run(compiled=True, hooked=False)
    _, eager_losses, eager_params = run(compiled=False, hooked=False)
    assert _same(hooked_losses, compiled_losses) and _same(hooked_params, compiled_params)
    torch.testing.assert_close(hooked_losses, eager_losses)
    torch.testing.assert_close(hooked_params, eager_params)


def test_meta_tensors_get_metadata_checks_only():
    checker = Counting()
    with torch.device("meta"):
        model = classifier()
        data = [(torch.randn(32, 6), torch.randint(0, 5, (32,))) for _ in range(3)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with losslint.watch(checker=checker, policy=losslint.Policy.always()) as w:
        for x, y in data:  # a shape-only dry run of the training loop
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        assert loss.is_meta
        with pytest.raises(losslint.LossLintError, match="torch will reject this call"):
            F.cross_entropy(model(x), y[:16])  # a shape error is metadata: still caught
    assert checker.depths == ["metadata"] * 4
    assert all(f.code != "LL003" for r in w.reports for f in r.findings)


def test_a_metadata_only_checker_is_never_asked_for_values():
    checker = Counting(depth="metadata")
    with losslint.watch(action="collect", checker=checker, policy=losslint.Policy.always()) as w:
        for _ in range(3):
            F.cross_entropy(torch.randn(8, 5), torch.randint(0, 5, (8,)))
    assert set(checker.depths) == {"metadata"} and w.calls == 3


def test_fake_tensors_get_metadata_checks_only():
    from torch._subclasses.fake_tensor import FakeTensorMode

    checker = Counting()
    with FakeTensorMode(), losslint.watch(checker=checker, policy=losslint.Policy.always()) as w:
        logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        F.cross_entropy(logits, y)
    assert checker.depths == ["metadata"] and w.reports == []


def test_attach_says_at_once_when_the_class_overrides_call():
    """A loss class whose own __call__ computes the loss without forward() (timm's JsdCrossEntropy)
    never runs the forward attach() wraps: attach() would be silent for the whole run, so it says so at
    the user's line. A __call__ that delegates to nn.Module.__call__ or to forward() is seen."""

    class OwnCall(nn.CrossEntropyLoss):
        def __call__(self, input, target):
            return F.cross_entropy(input, target)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hook = losslint.attach(OwnCall())
    hook.remove()
    said = [w for w in caught if "overrides __call__" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__ and "losslint.watch()" in str(said[0].message)
    class Delegating(nn.CrossEntropyLoss):
        def __call__(self, input, target):
            return super().__call__(input, target)  # reaches nn.Module.__call__, then forward

    class CallsForward(nn.CrossEntropyLoss):
        def __call__(self, input, target):
            return self.forward(input, target)

    for quiet in (nn.CrossEntropyLoss(), Delegating(), CallsForward()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with losslint.attach(quiet, action="collect") as hook:
                quiet(torch.randn(4, 3), torch.randint(0, 3, (4,)))
        assert not [w for w in caught if "overrides __call__" in str(w.message)] and hook.calls == 1
