"""`device_asserts=True`: the class-index range asserted inside the computation (`torch._assert_async`),
where losslint cannot read values: compiled code (fake tensors while tracing) and, on a GPU, the calls
between the policy's samples. Compiled here with the aot_eager backend, which runs the graph as
traced; the CUDA tests run where a GPU is present."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import losslint
from losslint.hooks.device_asserts import assert_class_range

GOOD, BAD = torch.tensor([0, 1, 2, 4]), torch.tensor([0, 1, 2, 5])


# Each test compiles anew, and leaves no compiled code behind (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def _model():
    torch.manual_seed(0)
    return nn.Linear(8, 5), torch.randn(4, 8)


def test_a_compiled_call_with_a_label_out_of_range_stops_with_losslint_words():
    model, x = _model()
    criterion = nn.CrossEntropyLoss()
    step = torch.compile(lambda x, y: criterion(model(x), y), backend="aot_eager")
    with losslint.watch(device_asserts=True, action="collect"):
        step(x, GOOD)
        with pytest.raises(RuntimeError, match=r"CrossEntropyLoss: a class index in target is outside \[0, 5\)"):
            step(x, BAD)


def test_the_assert_adds_no_graph_break_and_changes_no_result():
    model, x = _model()
    criterion = nn.CrossEntropyLoss()

    def step(x, y):
        return criterion(model(x), y)

    plain = torch.compile(step, backend="aot_eager")(x, GOOD)
    torch._dynamo.reset()
    with losslint.watch(device_asserts=True, action="collect"):
        asserted = torch.compile(step, backend="aot_eager")(x, GOOD)
        explained = torch._dynamo.explain(step)(x, GOOD)
    assert torch.equal(plain, asserted)
    assert explained.graph_break_count == 0


def test_ignore_index_is_honoured():
    model, x = _model()
    step = torch.compile(lambda x, y: F.cross_entropy(model(x), y, ignore_index=-1), backend="aot_eager")
    with losslint.watch(device_asserts=True, action="collect"):
        step(x, torch.tensor([0, -1, 2, 4]))  # -1 is padding here: no assert
        with pytest.raises(RuntimeError, match=r"not ignore_index \(-1\)"):
            step(x, torch.tensor([0, -100, 2, 4]))


def test_off_by_default():
    model, x = _model()
    step = torch.compile(lambda x, y: F.nll_loss(F.log_softmax(model(x), dim=1), y), backend="aot_eager")
    with losslint.watch(action="collect"):
        with pytest.raises(Exception) as raised:
            step(x, BAD)
    assert "class index in target is outside" not in str(raised.value)  # torch's own error


def test_attach_asserts_in_compiled_code_too():
    model, x = _model()
    criterion = nn.NLLLoss()
    step = torch.compile(lambda x, y: criterion(F.log_softmax(model(x), dim=1), y), backend="aot_eager")
    with losslint.attach(criterion, device_asserts=True, action="collect"):
        step(x, GOOD)
        with pytest.raises(RuntimeError, match=r"NLLLoss: a class index in target is outside \[0, 5\)"):
            step(x, BAD)


def test_eagerly_on_the_cpu_nothing_is_added():
    """torch's CPU kernels raise a clear error of their own, and losslint reads a sample of values;
    on the CPU an assert would be a synchronous raise, so its absence shows as no error here."""
    logits = torch.randn(4, 5)
    assert_class_range("cross_entropy", (logits, BAD), {}, compiling=False)
    with pytest.raises(RuntimeError, match="outside"):
        assert_class_range("cross_entropy", (logits, BAD), {}, compiling=True)


def test_probabilities_and_other_losses_are_left_alone():
    probabilities = torch.softmax(torch.randn(4, 5), dim=1)
    assert_class_range("cross_entropy", (torch.randn(4, 5), probabilities), {}, compiling=True)
    assert_class_range("mse_loss", (torch.randn(4), torch.randn(4)), {}, compiling=True)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
def test_on_a_gpu_valid_labels_never_sync():
    model, x = nn.Linear(8, 5).cuda(), torch.randn(4, 8, device="cuda")
    criterion = nn.CrossEntropyLoss()
    y = GOOD.cuda()
    with losslint.watch(device_asserts=True, action="collect", policy=losslint.Policy(first=0, every=0)):
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(3):
                criterion(model(x), y).backward()
        finally:
            torch.cuda.set_sync_debug_mode("default")


@needs_cuda
def test_on_a_gpu_the_device_assert_says_what_is_wrong():
    # A device-side assert ends the CUDA context: in a process of its own.
    script = textwrap.dedent(
        """
        import torch, torch.nn as nn, losslint
        y = torch.tensor([0, 1, 2, 5], device="cuda")
        with losslint.watch(device_asserts=True, action="collect", policy=losslint.Policy(first=0, every=0)):
            loss = nn.CrossEntropyLoss()(torch.randn(4, 5, device="cuda"), y)
        torch.cuda.synchronize()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "a class index in target is outside [0, 5)" in done.stderr
