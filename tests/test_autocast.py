"""Mixed precision: losslint judges a call with the dtypes its kernel sees under torch.autocast, and the
numerics from the dtype torch computes the loss in. torch is the oracle: every CPU case runs the real
loss (forward and backward) in the same autocast context as `check()`.

The matrix (tests/autocast_matrix.py) runs one test per loss, listing every disagreement; the tests
after it pin the policy table, the messages, and the cases the matrix does not reach.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import autocast_matrix
import losslint
from losslint.language import autocast_policy

LOSSES = sorted({loss.name for loss, *_ in autocast_matrix._seeds(None)})


@pytest.mark.parametrize("loss_name", LOSSES)
def test_mixed_precision_matches_torch(loss_name):
    problems = [p[1] for case in autocast_matrix.cases({loss_name}) if (p := autocast_matrix.judge(case))]
    assert not problems, f"{len(problems)} disagreements with torch:\n\n" + "\n\n".join(problems[:10])


def test_matrix_covers_every_torch_loss_with_a_functional_and_overflow():
    import combinations

    functional = {loss.name for loss in combinations.torch_losses() if loss.functional is not None}
    assert set(LOSSES) == functional
    large = {case.loss.name for case in autocast_matrix.cases() if case.size == "large"}
    # The losses whose float16 sum can pass 65504 at a bounded size (not CosineEmbeddingLoss: its terms
    # are at most 2, so it would take 50,000 rows of 128 features).
    assert {"CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss", "MarginRankingLoss", "GaussianNLLLoss",
            "MultiLabelSoftMarginLoss", "TripletMarginLoss"} <= large


# ---- the policy table ------------------------------------------------------------------------------


def _f16(*shape):
    return torch.rand(*shape).half()


CPU_RESULT_CALLS = {
    "BCELoss": lambda: F.binary_cross_entropy(_f16(4), _f16(4)),
    "CTCLoss": lambda: F.ctc_loss(_f16(6, 2, 4).log_softmax(2), torch.tensor([[1, 2], [1, 1]]), [6, 6], [2, 2]),
    "MultiMarginLoss": lambda: F.multi_margin_loss(_f16(4, 3), torch.tensor([0, 1, 2, 0])),
    "CrossEntropyLoss": lambda: F.cross_entropy(_f16(4, 3), torch.tensor([0, 1, 2, 0])),
    "MSELoss": lambda: F.mse_loss(_f16(4), _f16(4)),
    "GaussianNLLLoss": lambda: F.gaussian_nll_loss(_f16(4), _f16(4), _f16(4) + 0.5),
    "MultiLabelSoftMarginLoss": lambda: F.multilabel_soft_margin_loss(_f16(4, 3), _f16(4, 3).round()),
}


@pytest.mark.parametrize("loss_name", sorted(CPU_RESULT_CALLS))
def test_cpu_policy_is_what_cpu_autocast_does(loss_name):
    """The policy's "fp32" means float32 out of float16 arguments under CPU autocast; "as-is" float16."""
    expected = {"fp32": torch.float32, "as-is": torch.float16}[autocast_policy.policy(loss_name, "cpu")]
    with torch.autocast("cpu", dtype=torch.bfloat16), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert CPU_RESULT_CALLS[loss_name]().dtype == expected


def test_policy_table_per_device():
    """CPU from torch (the test above and the matrix); CUDA from torch's source (autocast_mode.cpp), with
    the dispatcher of this build confirming which ops have an AutocastCUDA kernel at all."""
    assert autocast_policy.policy("BCELoss", "cpu") == "fp32"
    assert autocast_policy.policy("BCELoss", "cuda") == "banned"
    assert autocast_policy.policy("BCELoss", "xpu") == "banned"
    assert autocast_policy.policy("CTCLoss", "cpu") == "fp32"
    assert autocast_policy.policy("CTCLoss", "cuda") == "as-is"  # not wrapped on CUDA
    assert autocast_policy.policy("CrossEntropyLoss", "cuda") == "fp32"  # log_softmax and nll_loss are
    for name in ("GaussianNLLLoss", "MultiLabelSoftMarginLoss", "TripletMarginWithDistanceLoss"):
        assert autocast_policy.policy(name, "cpu") == "as-is"
    assert autocast_policy.policy("MSELoss", "cpu", {"weight": torch.ones(2)}) == "as-is"
    assert autocast_policy.policy("HuberLoss", "cpu", {"weight": torch.ones(2)}) == "fp32"
    for name in ("MSELoss", "NLLLoss", "BCEWithLogitsLoss", "KLDivLoss", "MultiMarginLoss", "TripletMarginLoss"):
        assert autocast_policy.policy(name, "cuda") == "fp32", name
        assert autocast_policy.policy(name, "cpu") == "fp32", name
    # Not every device is wrapped: meta tensors get no autocast.
    assert autocast_policy.policy("MSELoss", "meta") == "as-is"


def test_dispatcher_probe_knows_the_autocast_kernels():
    assert autocast_policy.wrapped("aten::mse_loss", "cpu")
    assert autocast_policy.wrapped("aten::binary_cross_entropy", "cuda")  # the banning kernel
    assert not autocast_policy.wrapped("aten::ctc_loss.IntList", "cuda")
    assert not autocast_policy.wrapped("aten::no_such_loss", "cpu")


def test_autocast_state_is_read_per_device():
    assert autocast_policy.active("MSELoss", [torch.zeros(1)]) is None
    with torch.autocast("cpu", dtype=torch.float16):
        found = autocast_policy.active("MSELoss", [torch.zeros(1)])
        assert found == autocast_policy.Autocast("cpu", torch.float16, "fp32")
        assert autocast_policy.active("MSELoss", [torch.zeros(1, device="meta")]) is None
        assert autocast_policy.kernel_dtype("MSELoss", "input", torch.zeros(1, dtype=torch.float64), found) == torch.float64


# ---- messages ----------------------------------------------------------------------------------------


def test_cpu_autocast_accepts_what_the_half_kernels_reject():
    x, t = torch.rand(8, 5).half(), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    assert losslint.check(F.multi_margin_loss, x, t).torch_raises  # no float16 CPU kernel
    with torch.autocast("cpu", dtype=torch.bfloat16):
        F.multi_margin_loss(x, t)
        assert not losslint.check(F.multi_margin_loss, x, t).torch_raises
        # A class weight of another dtype: both become float32.
        F.cross_entropy(x.float(), t, weight=torch.ones(5).half())
        assert losslint.check(nn.CrossEntropyLoss(weight=torch.ones(5).half()), x.float(), t).ok


def test_huber_backward_raise_is_predicted():
    x = torch.randn(16, requires_grad=True)
    y = torch.randn(16).half()
    out = F.huber_loss(x, y)  # the forward runs
    with pytest.raises(RuntimeError, match="Found dtype Half but expected Float"):
        out.backward()
    report = losslint.check(nn.HuberLoss(), x, y)
    assert report.torch_raises
    f = next(f for f in report.findings if f.torch_raises)
    assert f.message == "`input` is float32 and `target` is float16: HuberLoss's forward runs, and its backward raises"
    assert f.fix == "target.to(input.dtype)"
    # Without a gradient there is no backward: torch accepts the call.
    assert not losslint.check(nn.HuberLoss(), x.detach(), y).torch_raises
    with torch.no_grad():
        assert not losslint.check(nn.HuberLoss(), x, y).torch_raises
    # Under CPU autocast both are float32: the backward runs.
    with torch.autocast("cpu", dtype=torch.bfloat16):
        F.huber_loss(x, y).backward()
        assert not losslint.check(nn.HuberLoss(), x, y).torch_raises


def test_float16_cross_entropy_mean_of_a_segmentation_batch_is_flagged():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, 128, 128, generator=g).half()
    target = torch.randint(0, 5, (8, 128, 128), generator=g)
    assert not torch.isfinite(F.cross_entropy(logits, target))
    report = losslint.check(nn.CrossEntropyLoss(), logits, target)
    f = next(f for f in report.findings if f.code == "LL607")
    assert f.severity == "error" and not f.torch_raises
    assert "'mean' divides a float16 sum" in f.message
    assert "reduction='mean'" not in f.fix and "input.float()" in f.fix
    # Computed in float32, as the fix says, it is finite and not flagged.
    assert torch.isfinite(F.cross_entropy(logits.float(), target))
    assert "LL607" not in losslint.check(nn.CrossEntropyLoss(), logits.float(), target).codes
    # Under CPU autocast (float16 too) cross_entropy is on the float32 list: finite, not flagged.
    with torch.autocast("cpu", dtype=torch.float16):
        assert torch.isfinite(F.cross_entropy(logits, target))
        assert "LL607" not in losslint.check(nn.CrossEntropyLoss(), logits, target).codes


def test_no_overflow_claimed_where_torch_promotes_to_float32():
    x = torch.full((100_000,), 2.0).half()
    y = torch.zeros(100_000)  # float32: mse_loss computes in float32
    assert torch.isfinite(F.mse_loss(x, y, reduction="sum"))
    assert "LL607" not in losslint.check(F.mse_loss, x, y, reduction="sum").codes
    # The same sum in float16 is inf, and a 'mean' is the fix for the fused kernel.
    assert not torch.isfinite(F.mse_loss(x, y.half(), reduction="sum"))
    f = next(f for f in losslint.check(F.mse_loss, x, y.half(), reduction="sum").findings if f.code == "LL607")
    assert "reduction='mean'" in f.fix


def test_composite_loss_under_cpu_autocast_says_autocast_leaves_it():
    g = torch.Generator().manual_seed(0)
    x, t = (torch.randn(70_000, 20, generator=g) * 4).half(), (torch.rand(70_000, 20, generator=g) > 0.5).half()
    with torch.autocast("cpu", dtype=torch.float16):
        assert not torch.isfinite(F.multilabel_soft_margin_loss(x, t, reduction="sum"))
        f = next(f for f in losslint.check(F.multilabel_soft_margin_loss, x, t, reduction="sum").findings if f.code == "LL607")
    assert "does not cast MultiLabelSoftMarginLoss" in f.explanation
    assert "outside autocast" in f.fix


def test_empty_batch_float_class_target_follows_the_installed_torch():
    """(0, C) input, float (0,) target: torch's nll_loss returns before its dtype check on some releases
    (under 'mean' and 'sum'), raises on others; losslint follows the installed one."""
    from losslint.language import releases

    for reduction in ("mean", "sum", "none"):
        for target in (torch.zeros(0), torch.zeros(0, dtype=torch.int32), torch.zeros(0, 3, dtype=torch.int64)):
            x = torch.zeros(0, 3)
            try:
                F.cross_entropy(x, target, reduction=reduction)
                raised = False
            except RuntimeError:
                raised = True
            assert losslint.check(F.cross_entropy, x, target, reduction=reduction).torch_raises == raised, (reduction, target.dtype, target.shape)
            if target.ndim == 1 and target.is_floating_point() and reduction != "none":
                assert raised == (not releases.holds("empty_batch_skips_class_target_dtype"))


def test_hooks_judge_each_call_in_its_own_autocast_context():
    """attach() in "auto" mode lets a valid autocast step run, and still stops the same call outside
    autocast, where torch rejects it (the record of a call includes the autocast state)."""
    crit = nn.MultiMarginLoss()
    x, t = torch.randn(8, 5).half(), torch.randint(0, 5, (8,))  # raw scores: the test is about dtypes
    with losslint.attach(crit, action="auto"):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            for _ in range(3):
                crit(x, t)
        with pytest.raises(losslint.LossLintError):
            crit(x, t)
    with losslint.watch(action="auto") as watch:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            F.multi_margin_loss(x, t)
    assert watch.calls == 1 and not watch.reports


def _fake_cuda(*shape, dtype=torch.float32):
    """A CUDA tensor's metadata without a GPU: a fake tensor (metadata-only checks judge it)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    try:
        with FakeTensorMode():
            return torch.empty(*shape, device="cuda", dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - a release whose fake tensors need a CUDA build
        pytest.skip(f"no fake CUDA tensors on this build: {exc}")


@pytest.fixture
def cuda_autocast():
    """The real CUDA autocast state switched on (torch.autocast("cuda") disables itself without a GPU;
    the flag it sets is what losslint reads)."""
    if not hasattr(torch, "get_autocast_dtype"):
        pytest.skip("this release has no per-device autocast state API")
    torch.set_autocast_enabled("cuda", True)
    try:
        yield
    finally:
        torch.set_autocast_enabled("cuda", False)


def test_bce_under_cuda_autocast_is_a_raise_with_its_reason(cuda_autocast):
    """Derived from torch's source (no GPU here): autocast_mode.cpp bans binary_cross_entropy on CUDA."""
    checker = losslint.Checker(depth="metadata")
    p, t = _fake_cuda(8, 3), _fake_cuda(8, 3)
    report = checker.check(nn.BCELoss(), p, t)
    assert report.torch_raises and report.codes == ["LL107"], str(report)
    f = report.findings[0]
    assert "unsafe to autocast" in f.explanation and "BCEWithLogitsLoss" in f.fix
    # BCEWithLogitsLoss is on the float32 list there: a float16 input against a float32 target is fine.
    assert not checker.check(nn.BCEWithLogitsLoss(), _fake_cuda(8, 3, dtype=torch.float16), t).torch_raises
    # CTC is not wrapped on CUDA: half-precision log-probs keep their dtype, and the dtype rule stands.
    lp = _fake_cuda(6, 2, 4, dtype=torch.float16)
    targets = _fake_cuda(2, 2, dtype=torch.long)
    ctc = checker.check(nn.CTCLoss(), lp, targets, [6, 6], [2, 2])
    assert autocast_policy.policy("CTCLoss", "cuda") == "as-is"
    assert ctc.codes == ["LL101"] and ctc.torch_raises, str(ctc)
    assert "does not cast CTCLoss on cuda" in ctc.findings[0].explanation
    assert checker.check(nn.CTCLoss(), _fake_cuda(6, 2, 4), targets, [6, 6], [2, 2]).ok
