"""losslint.hf.LossLintCallback with a real HuggingFace Trainer on the CPU (tiny models from a config).

The `integration` extra installs transformers and accelerate (which the Trainer needs); without them
these tests skip, except in CI (LOSSLINT_REQUIRE_INTEGRATION=1), where that is a failure.
"""

from __future__ import annotations

import logging
import os

import pytest
import torch

import losslint
from losslint.hooks import intercept

if os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):
    import accelerate  # noqa: F401 - the Trainer needs it
    import transformers
else:
    pytest.importorskip("accelerate")
    transformers = pytest.importorskip("transformers")

from losslint.hf import LossLintCallback


@pytest.fixture(autouse=True)
def _quiet_torch_warnings():
    """Overrides conftest's fixture, which would hide LossLintWarning (a UserWarning)."""
    yield


@pytest.fixture
def hf_log():
    """What the callback logs through transformers' logger, at transformers' default verbosity."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("transformers.losslint")
    logger.addHandler(handler)
    before = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_warning()
    yield records
    transformers.logging.set_verbosity(before)
    logger.removeHandler(handler)


def bert(cls, **config):
    torch.manual_seed(0)
    return cls(transformers.BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=32, attn_implementation="eager", **config,
    ))


class Rows(torch.utils.data.Dataset):
    def __init__(self, make_labels):
        gen = torch.Generator().manual_seed(0)
        self.items = [{"input_ids": torch.randint(1, 64, (10,), generator=gen), "labels": make_labels(gen)} for _ in range(16)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def trainer(model, dataset, tmp_path, epochs=1, **options):
    args = transformers.TrainingArguments(
        str(tmp_path / "out"), num_train_epochs=epochs, per_device_train_batch_size=8, per_device_eval_batch_size=8,
        report_to=[], use_cpu=True, save_strategy="no", logging_strategy="no", disable_tqdm=True,
    )
    return transformers.Trainer(model=model, args=args, train_dataset=dataset, eval_dataset=dataset, callbacks=[LossLintCallback(**options)])


def signed_multi_label(gen):
    return (torch.randint(0, 2, (3,), generator=gen) * 2 - 1).float()  # {-1, 1}: BCE wants [0, 1]


def test_signed_multi_labels_are_reported_once_per_epoch_and_evaluation(tmp_path, hf_log, recwarn):
    model = bert(transformers.BertForSequenceClassification, num_labels=3, problem_type="multi_label_classification")
    t = trainer(model, Rows(signed_multi_label), tmp_path, epochs=2)
    t.train()
    texts = [r.getMessage() for r in hf_log]
    # Reported at the first epoch's end only (the second epoch repeats it), as a warning.
    assert len(texts) == 1 and hf_log[0].levelno == logging.WARNING, texts
    assert texts[0].startswith("losslint, epoch 0: 1 error at 1 call site\n\n")
    assert "error[LL402] BCEWithLogitsLoss: `target` has" in texts[0] and "-1" in texts[0]
    # At the user's line (the Trainer, in site-packages, is not the user's), with the line that
    # computes the loss, in transformers, as context.
    assert texts[0].split("\n\n")[1].startswith("tests/test_hf_trainer.py:")  # the t.train() line
    # (Which file inside transformers is transformers' own layout: only the package is pinned.)
    assert "(computed inside " in texts[0] and "/transformers/" in texts[0]
    assert not [w for w in recwarn if issubclass(w.category, losslint.LossLintWarning)]
    assert not intercept.installed()  # the wrappers kept for the run's steps went at its end
    t.evaluate()
    assert len(hf_log) == 1  # evaluation found nothing new
    assert torch._C._len_torch_function_stack() == 0
    assert not intercept.installed()


def test_padding_with_minus_one_is_stopped_before_torch_sees_it(tmp_path):
    def padded(gen):
        labels = torch.randint(0, 5, (10,), generator=gen)
        labels[7:] = -1  # the collator pads with -1; only -100 is ignored
        return labels

    t = trainer(bert(transformers.BertForTokenClassification, num_labels=5), Rows(padded), tmp_path)
    with pytest.raises(losslint.LossLintError) as info:
        t.train()
    assert info.value.report.codes[0] == "LL401"
    assert "-1 looks like padding" in str(info.value) and info.value.report.loss == "transformers.BertForTokenClassification"
    assert torch._C._len_torch_function_stack() == 0  # the forward hook left the watch


def test_correct_labels_log_nothing_and_train_as_without_losslint(tmp_path, hf_log):
    def labels(gen):
        out = torch.randint(0, 5, (10,), generator=gen)
        out[7:] = -100
        return out

    plain = trainer(bert(transformers.BertForTokenClassification, num_labels=5), Rows(labels), tmp_path)
    plain.callback_handler.remove_callback(LossLintCallback)
    plain.train()
    watched = trainer(bert(transformers.BertForTokenClassification, num_labels=5), Rows(labels), tmp_path)
    watched.train()
    assert [r.getMessage() for r in hf_log] == []
    for a, b in zip(plain.model.parameters(), watched.model.parameters()):
        assert torch.equal(a, b)
    [callback] = [c for c in watched.callback_handler.callbacks if isinstance(c, LossLintCallback)]
    assert callback.session.watch.calls == 2  # two steps, one loss call each
