"""Under watch(), no finding is weaker than check()'s on the same tensors: the provenance of a softmax or
sigmoid output survives the copies a training step makes before the loss (a bf16 forward cast to
float32, .to(), .clone(), .detach(), views, .contiguous())."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import losslint

RANK = {"info": 0, "warning": 1, "error": 2}

ACTIVATIONS = {
    "softmax": lambda x: x.softmax(1),
    "sigmoid": lambda x: x.sigmoid(),
    "log_softmax": lambda x: x.log_softmax(1),
}

COPIES = {
    "none": lambda f, x: f(x),
    "bf16 then .float()": lambda f, x: f(x.bfloat16()).float(),
    ".to(float32) of float64": lambda f, x: f(x.double()).to(torch.float32),
    ".clone()": lambda f, x: f(x).clone(),
    ".detach()": lambda f, x: f(x).detach(),
    "view": lambda f, x: f(x).view(8, 8, 5).view(64, 5),
    ".contiguous() of a transpose": lambda f, x: f(x).t().contiguous().t(),
    "detach then clone": lambda f, x: f(x).detach().clone(),
}

LOSSES = {
    "cross_entropy": lambda g: torch.randint(0, 5, (64,), generator=g),
    "nll_loss": lambda g: torch.randint(0, 5, (64,), generator=g),
    "binary_cross_entropy_with_logits": lambda g: (torch.rand(64, 5, generator=g) > 0.5).float(),
    "multilabel_soft_margin_loss": lambda g: (torch.rand(64, 5, generator=g) > 0.5).float(),
    "multi_margin_loss": lambda g: torch.randint(0, 5, (64,), generator=g),
    "binary_cross_entropy": lambda g: (torch.rand(64, 5, generator=g) > 0.5).float(),
    "poisson_nll_loss": lambda g: torch.poisson(torch.full((64, 5), 3.0), generator=g),
    "kl_div": lambda g: torch.randn(64, 5, generator=g).softmax(1),
}


def strongest(findings) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.argument] = max(out.get(f.argument, -1), RANK[f.severity])
    return out


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("copy", COPIES)
def test_watch_says_no_less_than_check(loss, activation, copy):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(64, 5, generator=g) * 2).requires_grad_()
    target = LOSSES[loss](g)
    with losslint.watch(action="collect") as watch:
        prediction = COPIES[copy](ACTIVATIONS[activation], x)
        try:
            getattr(F, loss)(prediction, target)  # looked up inside the block, as a training step does
        except (RuntimeError, ValueError):
            pass  # torch's own rejection (a log_softmax into binary_cross_entropy); watch() judged it first
    assert watch.calls == 1
    watched = strongest(f for r in watch.reports for f in r.findings)
    checked = strongest(losslint.check(getattr(F, loss), prediction.detach(), target).findings)
    weaker = {arg: (watched.get(arg, -1), level) for arg, level in checked.items() if watched.get(arg, -1) < level}
    assert not weaker, f"watch() weaker than check() (watch, check) by argument: {weaker}"


def test_a_copy_without_autograd_is_not_followed_but_says_no_less_than_the_values():
    # Under no_grad a cast leaves no trace of the sigmoid: the values still speak, as in check().
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=g) * 2
    target = (torch.rand(64, 5, generator=g) > 0.5).float()
    with torch.no_grad(), losslint.watch(action="collect") as watch:
        prediction = x.sigmoid().double().float()
        F.binary_cross_entropy_with_logits(prediction, target)
    watched = strongest(f for r in watch.reports for f in r.findings)
    assert watched.get("input", -1) >= RANK["info"]


def test_a_sigmoid_written_out_is_judged_by_its_values_and_a_linear_output_by_its_layer():
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(64, 5, generator=g) * 2).requires_grad_()
    target = torch.randint(0, 5, (64,), generator=g)
    with losslint.watch(action="collect") as watch:
        F.cross_entropy(1 / (1 + torch.exp(-x)), target)  # a sigmoid watch() does not record
    assert strongest(f for r in watch.reports for f in r.findings) == {"input": RANK["warning"]}
    # A Linear whose outputs happen to lie in (0, 1) (a prior bias): the layer says raw scores, an info.
    head = torch.nn.Linear(8, 5)
    with torch.no_grad():
        head.weight.copy_(torch.randn(5, 8, generator=g) * 0.03)
        head.bias.fill_(0.5)
    with losslint.watch(action="collect") as watch:
        F.cross_entropy(head(torch.randn(64, 8, generator=g)), target)
    assert strongest(f for r in watch.reports for f in r.findings) == {"input": RANK["info"]}
