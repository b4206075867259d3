"""watch() around HuggingFace transformers models, which compute their loss themselves from `labels=`.

Tiny models built from a config (no download): BertForSequenceClassification in its single-label,
multi-label and regression modes, BertForTokenClassification and a GPT-2 LM, each trained a few
steps with an optimizer. Wrong labels are reported, with `torch_raises` exactly where torch itself
rejects the call; correct labels (including -100 padding) stay quiet and train bit-identically.
CI installs transformers (the `integration` extra) and sets LOSSLINT_REQUIRE_INTEGRATION=1; elsewhere,
without transformers, this module is skipped.
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch

import losslint

if os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):
    import transformers  # CI installs the `integration` extra: a missing package must fail, not skip
else:
    transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

VOCAB, SEQ, BATCH, STEPS = 64, 10, 4, 3


@pytest.fixture(autouse=True)
def _quiet_torch_warnings():
    """Overrides conftest's fixture, which would hide LossLintWarning (a UserWarning)."""
    yield


def bert(cls, **config):
    torch.manual_seed(0)
    return cls(
        transformers.BertConfig(
            vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, attn_implementation="eager", **config,
        )
    )


def gpt2():
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(
        transformers.GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=16, n_layer=1, n_head=2, attn_implementation="eager")
    )


MODELS = {
    "single-label": lambda: bert(transformers.BertForSequenceClassification, num_labels=3),
    "multi-label": lambda: bert(transformers.BertForSequenceClassification, num_labels=3, problem_type="multi_label_classification"),
    "regression": lambda: bert(transformers.BertForSequenceClassification, num_labels=1),
    "token": lambda: bert(transformers.BertForTokenClassification, num_labels=5),
    "gpt2": gpt2,
}


def _ids(gen):
    return torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)


def _padded(labels, value):
    labels = labels.clone()
    labels[:, -3:] = value
    return labels


# labels(gen, ids) for one step; each model's loss is computed from these by the model itself.
GOOD = {
    "single-label": ("single-label", lambda gen, ids: torch.randint(0, 3, (BATCH,), generator=gen)),
    "multi-label": ("multi-label", lambda gen, ids: torch.randint(0, 2, (BATCH, 3), generator=gen).float()),
    "regression": ("regression", lambda gen, ids: torch.randn(BATCH, generator=gen)),
    "token, -100 padding": ("token", lambda gen, ids: _padded(torch.randint(0, 5, (BATCH, SEQ), generator=gen), -100)),
    "gpt2, -100 padding": ("gpt2", lambda gen, ids: _padded(ids, -100)),
}

# (model, labels, the codes losslint reports, a phrase of its message)
BAD = {
    "labels out of range": ("single-label", lambda gen, ids: torch.tensor([0, 1, 3, 2]), ["LL401"], "valid class indices run from 0 to C-1 = 2"),
    "one-based labels": ("single-label", lambda gen, ids: torch.tensor([1, 2, 3, 3]), ["LL401"], "look 1-based"),
    "integer multi-label targets": ("multi-label", lambda gen, ids: torch.randint(0, 2, (BATCH, 3), generator=gen), ["LL103"], "`labels` is int64"),
    "±1 multi-label targets": ("multi-label", lambda gen, ids: torch.randint(0, 2, (BATCH, 3), generator=gen).float() * 2 - 1, ["LL402"], "{-1, 1} signs"),
    "token, -1 padding": ("token", lambda gen, ids: _padded(torch.randint(0, 5, (BATCH, SEQ), generator=gen), -1), ["LL401"], "-1 looks like padding"),
    "gpt2, -1 padding": ("gpt2", lambda gen, ids: _padded(ids, -1), ["LL401"], "-1 looks like padding"),
    "gpt2, labels beyond the vocabulary": ("gpt2", lambda gen, ids: torch.full_like(ids, VOCAB), ["LL401"], f"C-1 = {VOCAB - 1}"),
}


def train(kind: str, labels, context):
    """STEPS optimizer steps of a fresh model; (losses, parameters, what torch raised or None)."""
    model = MODELS[kind]()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    losses, raised = [], None
    with context:
        for _ in range(STEPS):
            ids = _ids(gen)
            opt.zero_grad()
            try:
                out = model(input_ids=ids, labels=labels(gen, ids))
            except losslint.LossLintError:
                raise
            except Exception as error:  # noqa: BLE001 - what torch does with these labels
                raised = error
                break
            out.loss.backward()
            opt.step()
            losses.append(out.loss.detach())
    return losses, [p.detach().clone() for p in model.parameters()], raised


@pytest.mark.parametrize("case", list(GOOD))
def test_correct_labels_stay_quiet_and_train_unchanged(case):
    kind, labels = GOOD[case]
    plain_losses, plain_params, _ = train(kind, labels, warnings.catch_warnings())
    with warnings.catch_warnings():
        warnings.simplefilter("error", losslint.LossLintWarning)
        w = losslint.watch(policy=losslint.Policy.always())
        losses, params, raised = train(kind, labels, w)
    assert raised is None and w.calls == STEPS and w.reports == []
    assert all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


@pytest.mark.parametrize("case", list(BAD))
def test_wrong_labels_are_reported_with_torch_raises_exactly_where_torch_raises(case):
    kind, labels, codes, phrase = BAD[case]
    _, _, torch_error = train(kind, labels, warnings.catch_warnings())  # what torch alone does
    w = losslint.watch(action="collect")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, raised = train(kind, labels, w)
    assert type(raised) is type(torch_error)
    [report] = w.reports
    assert report.codes == codes and phrase in str(report)
    assert report.torch_raises == (torch_error is not None), torch_error
    assert report.count == (1 if torch_error is not None else STEPS)
    # Reported at the user's line (the model call); where torch's loss judged it, the line in
    # transformers that computed the loss is the context. Labels the model itself can judge (class ids
    # beyond num_labels, the vocabulary) are reported as the model's, once.
    assert report.location.startswith("tests/test_transformers.py:")
    if report.loss.startswith("transformers."):
        assert report.context is None
    else:
        assert "transformers" in report.context and report.context.split(":")[-1].isdigit()


@pytest.mark.parametrize("case", list(BAD))
def test_auto_raises_instead_of_torch_or_warns_where_torch_goes_on(case):
    kind, labels, codes, _ = BAD[case]
    _, _, torch_error = train(kind, labels, warnings.catch_warnings())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if torch_error is not None:
            with pytest.raises(losslint.LossLintError) as info:
                train(kind, labels, losslint.watch())
            assert info.value.report.codes == codes and info.value.report.torch_raises
        else:
            losses, _, raised = train(kind, labels, losslint.watch())
            assert raised is None and len(losses) == STEPS
    ours = [w for w in caught if issubclass(w.category, losslint.LossLintWarning)]
    assert len(ours) == (0 if torch_error is not None else 1)
