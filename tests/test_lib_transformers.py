"""transformers' own loss logic at the model boundary: `losslint.libraries.transformers.judge_model_call`.

A transformers model decides its loss from its config and the `labels=` it is given, before any torch
loss runs: these tests build tiny models from configs (random weights, no download), judge forward calls
directly, then train a few steps under `losslint.watch()` (which calls the judge from
`PreTrainedModel.__call__`): correct setups stay quiet and train bit-identically, each classic mistake is
reported as the model (`transformers.BertForSequenceClassification`) at this file's line, with a fix in
transformers' terms, and `torch_raises` exactly where the model's own loss raises.

The classic mistakes, from transformers' issue tracker (and its neighbours'):
- float class ids / one-hot labels switch problem_type: huggingface/transformers#4337 (multi-label
  labels to a single-label head: wrong dimensions), #11012 (problem_type and its inference from the
  labels' dtype), #12014 and #14557 (problem_type and the loss it selects, misread), #10232.
- num_labels=1 with 0/1 integer labels is a regression (MSELoss): huggingface/transformers#27707 (integer
  labels to a num_labels=1 head, crashing on MPS in MSE's square_i64; pytorch/pytorch#114532).
- class ids beyond num_labels: huggingface/transformers#10051 (run_ner: Target 3 is out of bounds), #976
  (labels documented as 0..num_labels-1).
- labels shifted by the caller, shifted again inside: huggingface/transformers#2033, #35066, PR #44642
  ("pre-shift their labels and end up training next-next-token prediction"), PR #562.
- padding not set to -100, and pad == eos: huggingface/transformers#23530 (DataCollatorForLanguageModeling
  with pad_token = eos_token), huggingface/trl#976, huggingface/transformers#9909 (why labels are padded
  with -100 in seq2seq), deepspeedai/DeepSpeedExamples#819 (padding labels trained on).
- one label per sequence to a token classifier, or word-level labels not aligned with the subword tokens:
  huggingface/transformers#14323 (what ForTokenClassification expects per token), #9906 (the WNUT NER
  example: "Expected input batch_size (16) to match target batch_size (1440)"), PR #14055.
- a GPT-2 / Llama classifier without pad_token_id: the ValueError "Cannot handle batch sizes > 1 if no
  padding token is defined" raised by modeling_gpt2.py and modeling_layers.py.
"""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
import torch.nn.functional as F

import losslint
from conftest import need
from losslint.libraries.transformers import judge_model_call, task_of

transformers = need("transformers")
transformers.logging.set_verbosity_error()

VOCAB, SEQ, BATCH, STEPS = 100, 10, 8, 3
THIS = "tests/test_lib_transformers.py"


@pytest.fixture(autouse=True)
def _quiet_torch_warnings():
    """Overrides conftest's fixture, which would hide LossLintWarning (a UserWarning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="transformers")
        yield


# ---- tiny models from configs ---------------------------------------------------------------------

BERT = dict(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)


def bert(cls_name="BertForSequenceClassification", **config):
    torch.manual_seed(0)
    return getattr(transformers, cls_name)(transformers.BertConfig(**BERT, **config))


def gpt2(**config):
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=VOCAB, n_positions=32, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1, **config)
    )


def t5():
    torch.manual_seed(0)
    return transformers.T5ForConditionalGeneration(
        transformers.T5Config(vocab_size=VOCAB, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, decoder_start_token_id=0)
    )


def gpt2_classifier(**config):
    torch.manual_seed(0)
    return transformers.GPT2ForSequenceClassification(
        transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=VOCAB, n_positions=32, num_labels=3, bos_token_id=EOS, eos_token_id=EOS, **config)
    )


def llama():
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(
        transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32, bos_token_id=1, eos_token_id=2)
    )


def vit(**config):
    torch.manual_seed(0)
    return transformers.ViTForImageClassification(
        transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, **config)
    )


MODELS = {
    "single": lambda: bert(num_labels=3),
    "two": lambda: bert(num_labels=2),
    "multi": lambda: bert(num_labels=3, problem_type="multi_label_classification"),
    "single-set": lambda: bert(num_labels=3, problem_type="single_label_classification"),
    "regression": lambda: bert(num_labels=1),
    "token": lambda: bert("BertForTokenClassification", num_labels=5),
    "mlm": lambda: bert("BertForMaskedLM"),
    "gpt2": gpt2,
    "gpt2-pad-eos": lambda: gpt2(pad_token_id=VOCAB - 1),
    "t5": t5,
    "gpt2-cls": gpt2_classifier,  # no pad_token_id, as GPT2Config has none
    "gpt2-cls-pad": lambda: gpt2_classifier(pad_token_id=EOS),
    "llama": llama,  # its loss is model.loss_function (ForCausalLMLoss), which shifts
    "vit": vit,  # num_labels left at its default, 2; its loss is model.loss_function (ForSequenceClassificationLoss)
}

EOS = VOCAB - 1


def ids(gen, batch=BATCH, seq=SEQ):
    return torch.randint(1, VOCAB - 1, (batch, seq), generator=gen)  # no pad (0) nor eos (99) inside texts


def right_padded_mask(batch=BATCH, seq=SEQ):
    mask = torch.ones(batch, seq, dtype=torch.long)
    for row in range(batch):
        mask[row, seq - 1 - row % 4:] = 0  # 1..4 pad positions, rows of unequal lengths
    return mask


def class_ids(gen, classes=3, batch=BATCH):
    return torch.randint(0, classes, (batch,), generator=gen)


def padded(x, mask, value):
    return x.masked_fill(mask == 0, value)


def mlm_batch(gen):
    """What DataCollatorForLanguageModeling makes: ~15% masked with [MASK] (id 3 here), labels -100 elsewhere."""
    x = ids(gen)
    chosen = torch.rand(x.shape, generator=gen) < 0.15
    chosen[:, 0] = True
    labels = torch.where(chosen, x, -100)
    return {"input_ids": x.masked_fill(chosen, 3), "labels": labels}


def images(gen, batch=BATCH):
    return torch.randn(batch, 3, 32, 32, generator=gen)


def gpt2_eos_texts_and_mask(gen):
    """Texts ending in their own eos (attention 1), right-padded with eos (attention 0)."""
    x = gpt2_eos_texts(gen)
    mask = torch.ones_like(x)
    lengths = right_padded_mask().sum(1)
    for row in range(BATCH):
        mask[row, lengths[row]:] = 0
    return x, mask


def gpt2_eos_texts(gen):
    """Texts ending in their own eos, right-padded with eos (pad_token_id == eos_token_id), no mask."""
    x = ids(gen)
    mask = right_padded_mask()
    lengths = mask.sum(1)
    for row in range(BATCH):
        x[row, lengths[row] - 1:] = EOS  # the text's own eos, then padding eos
    return x


# batch(gen) -> the forward's keyword arguments
GOOD = {
    "single-label class ids": ("single", lambda g: {"input_ids": ids(g), "labels": class_ids(g)}),
    "single-label, class ids of shape (N, 1)": ("two", lambda g: {"input_ids": ids(g), "labels": class_ids(g, 2).view(-1, 1)}),
    "multi-label, problem_type set, one-hot rows": ("multi", lambda g: {"input_ids": ids(g), "labels": F.one_hot(class_ids(g), 3).float()}),
    "multi-label inferred, multi-hot rows": ("single", lambda g: {"input_ids": ids(g), "labels": torch.tensor([[1.0, 1, 0], [0, 1, 1]] * (BATCH // 2))}),
    "multi-label inferred, soft labels": ("single", lambda g: {"input_ids": ids(g), "labels": torch.rand(BATCH, 3, generator=g)}),
    "regression, float targets": ("regression", lambda g: {"input_ids": ids(g), "labels": torch.randn(BATCH, generator=g)}),
    "regression, float 0/1 targets": ("regression", lambda g: {"input_ids": ids(g), "labels": class_ids(g, 2).float()}),
    "token, -100 at padding and subwords": (
        "token",
        lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(torch.where(torch.rand(x.shape, generator=g) < 0.3, -100, x % 5), m, -100)})(ids(g), right_padded_mask()),
    ),
    "mlm, masked by the collator": ("mlm", mlm_batch),
    "gpt2, labels=input_ids": ("gpt2", lambda g: (lambda x: {"input_ids": x, "labels": x})(ids(g))),
    "gpt2, padding -100": ("gpt2", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(x, m, -100)})(ids(g), right_padded_mask())),
    "gpt2, pad == eos, each text's own eos kept": ("gpt2-pad-eos", lambda g: (lambda x: {"input_ids": x, "labels": x.masked_fill(torch.cumsum(x == EOS, 1) > 1, -100)})(gpt2_eos_texts(g))),
    "gpt2, pad == eos, -100 at attention 0 only": ("gpt2-pad-eos", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(x, m, -100)})(*gpt2_eos_texts_and_mask(g))),
    "gpt2 classifier with pad_token_id set": ("gpt2-cls-pad", lambda g: {"input_ids": ids(g), "labels": class_ids(g)}),
    "llama, padding -100": ("llama", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(x, m, -100)})(ids(g), right_padded_mask())),
    "vit, class ids within num_labels": ("vit", lambda g: {"pixel_values": images(g), "labels": class_ids(g, 2)}),
    "t5, labels padded with -100": ("t5", lambda g: (lambda x, m: {"input_ids": x, "labels": padded(x, m, -100)})(ids(g), right_padded_mask())),
}

# (model, batch, codes, a phrase of the message, a phrase of the fix)
BAD = {
    "float class ids, problem_type unset": (
        "single", lambda g: {"input_ids": ids(g), "labels": class_ids(g).float()}, ["LL741"], "infers problem_type = \"multi_label_classification\"", "labels.long()",
    ),
    "uint8 class ids, problem_type unset": (
        "single", lambda g: {"input_ids": ids(g), "labels": class_ids(g).to(torch.uint8)}, ["LL741"], "not int64/int32", "labels.long()",
    ),
    "float one-hot labels, problem_type unset": (
        "single", lambda g: {"input_ids": ids(g), "labels": F.one_hot(class_ids(g), 3).float()}, ["LL743"], "independent sigmoids", "labels.argmax(-1)",
    ),
    "int64 one-hot labels": (
        "single", lambda g: {"input_ids": ids(g), "labels": F.one_hot(class_ids(g), 3)}, ["LL202"], "one-hot rows", "labels.argmax(-1)",
    ),
    "int64 multi-label labels, problem_type multi-label": (
        "multi", lambda g: {"input_ids": ids(g), "labels": torch.randint(0, 2, (BATCH, 3), generator=g)}, ["LL103"], "rejects int64 targets", "labels.float()",
    ),
    "float class ids, problem_type single-label": (
        "single-set", lambda g: {"input_ids": ids(g), "labels": class_ids(g).float()}, ["LL102"], "takes int64 class ids", "labels.long()",
    ),
    "class ids, problem_type multi-label": (
        "multi", lambda g: {"input_ids": ids(g), "labels": class_ids(g)}, ["LL201"], "needs labels of the logits' shape (8, 3)", "F.one_hot(labels, num_labels).float()",
    ),
    "class ids beyond num_labels": (
        "single", lambda g: {"input_ids": ids(g), "labels": torch.tensor([0, 1, 2, 5, 0, 1, 2, 4])}, ["LL401"], "config.num_labels = 3", "num_labels=6 at from_pretrained",
    ),
    "1-based class ids": (
        "single", lambda g: {"input_ids": ids(g), "labels": class_ids(g) + 1}, ["LL401"], "look 1-based", "labels - 1",
    ),
    "0/1 integer labels to num_labels=1": (
        "regression", lambda g: {"input_ids": ids(g), "labels": class_ids(g, 2)}, ["LL742"], "regression", "num_labels=2 at from_pretrained",
    ),
    "token labels padded with 0": (
        "token", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(x % 5, m, 0)})(ids(g), right_padded_mask()), ["LL409"], "where `attention_mask` is 0", "DataCollatorForTokenClassification",
    ),
    "token labels -1 at padding": (
        "token", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": padded(x % 5, m, -1)})(ids(g), right_padded_mask()), ["LL401"], "-1 looks like padding", "-100",
    ),
    "token classes beyond num_labels": (
        "token", lambda g: (lambda x: {"input_ids": x, "labels": x % 7})(ids(g)), ["LL401"], "config.num_labels = 5 token classes", "num_labels=len(label_list)",
    ),
    "one label per sequence to a token classifier": (
        "token", lambda g: {"input_ids": ids(g), "labels": class_ids(g, 5)}, ["LL746"], "one label per sequence", "AutoModelForSequenceClassification",
    ),
    "word-level labels to a token classifier": (
        "token", lambda g: {"input_ids": ids(g), "labels": torch.randint(0, 5, (BATCH, SEQ - 3), generator=g)}, ["LL749"], "not aligned with the tokens", "is_split_into_words=True",
    ),
    "mlm labels = input_ids, nothing masked": (
        "mlm", lambda g: (lambda x: {"input_ids": x, "labels": x})(ids(g)), ["LL745"], "nothing was masked", "DataCollatorForLanguageModeling",
    ),
    "gpt2 labels shifted by the caller": (
        "gpt2", lambda g: (lambda x: {"input_ids": x[:, :-1], "labels": x[:, 1:]})(ids(g, seq=SEQ + 1)), ["LL744"], "already shifted", "labels=input_ids",
    ),
    "gpt2 classifier without pad_token_id": (
        "gpt2-cls", lambda g: {"input_ids": ids(g), "labels": class_ids(g)}, ["LL748"], "no padding token is defined", "model.config.pad_token_id = tokenizer.pad_token_id",
    ),
    "gpt2 labels shifted by the caller, input_ids whole": (
        "gpt2", lambda g: (lambda x: {"input_ids": x, "labels": x[:, 1:]})(ids(g)), ["LL744"], "one token shorter than input_ids", "labels=input_ids",
    ),
    "llama labels shifted by the caller": (
        "llama", lambda g: (lambda x: {"input_ids": x[:, :-1], "labels": x[:, 1:]})(ids(g, seq=SEQ + 1)), ["LL744"], "already shifted", "labels=input_ids",
    ),
    "gpt2 labels copied from padded input_ids": (
        "gpt2", lambda g: (lambda x, m: {"input_ids": padded(x, m, EOS), "attention_mask": m, "labels": padded(x, m, EOS)})(ids(g), right_padded_mask()), ["LL409"], "trains the model on padding", "labels[attention_mask == 0] = -100",
    ),
    "gpt2, pad == eos, no mask, padding labeled": (
        "gpt2-pad-eos", lambda g: (lambda x: {"input_ids": x, "labels": x})(gpt2_eos_texts(g)), ["LL409"], "also the eos token", "DataCollatorForLanguageModeling(tokenizer, mlm=False)",
    ),
    "gpt2 pad token unset, padded with eos, padding labeled": (
        "gpt2", lambda g: (lambda x: {"input_ids": x, "labels": x})(gpt2_eos_texts(g)), ["LL409"], "eos_token_id = 99", "DataCollatorForLanguageModeling(tokenizer, mlm=False)",
    ),
    "gpt2, pad == eos, every eos label -100 (the collator's way)": (
        "gpt2-pad-eos", lambda g: (lambda x, m: {"input_ids": x, "attention_mask": m, "labels": x.masked_fill(x == EOS, -100)})(*gpt2_eos_texts_and_mask(g)), ["LL747"], "never trained to emit eos", "pad token distinct from eos",
    ),
    "vit, class ids beyond the default num_labels=2": (
        "vit", lambda g: {"pixel_values": images(g), "labels": torch.arange(BATCH) % 10}, ["LL401"], "config.num_labels = 2", "num_labels=8 at from_pretrained",
    ),
    "gpt2 labels beyond the vocabulary": (
        "gpt2", lambda g: (lambda x: {"input_ids": x, "labels": x + VOCAB})(ids(g)), ["LL401"], f"vocabulary has {VOCAB} tokens", "resize_token_embeddings",
    ),
    "t5 labels padded with pad_token_id": (
        "t5", lambda g: (lambda x, m: {"input_ids": x, "labels": padded(x, m, 0)})(ids(g), right_padded_mask()), ["LL409"], "pad_token_id = 0", "DataCollatorForSeq2Seq",
    ),
}


def model_raises(kind: str, batch: dict):
    """What transformers and torch alone do with this batch: the exception, or None."""
    model = MODELS[kind]()
    try:
        model(**batch)
    except Exception as error:  # noqa: BLE001 - the oracle
        return error
    return None


def batch_of(make) -> dict:
    return make(torch.Generator().manual_seed(1))


# ---- judge_model_call, directly -------------------------------------------------------------------


@pytest.mark.parametrize("case", list(GOOD))
def test_correct_labels_say_nothing(case):
    kind, make = GOOD[case]
    batch = batch_of(make)
    assert model_raises(kind, batch) is None
    assert judge_model_call(MODELS[kind](), (), batch, "values") is None


@pytest.mark.parametrize("case", list(BAD))
def test_each_mistake_is_named_with_a_fix_in_transformers_terms(case):
    kind, make, codes, phrase, fix = BAD[case]
    batch = batch_of(make)
    model = MODELS[kind]()
    report = judge_model_call(model, (), batch, "values")
    assert report is not None, case
    assert report.loss == f"transformers.{type(model).__name__}"
    assert report.codes == codes, str(report)
    (finding,) = report.findings
    assert finding.argument == ("pad_token_id" if codes == ["LL748"] else "labels") and phrase in finding.message, finding.message
    assert fix in finding.fix, finding.fix
    assert "nn." not in finding.fix  # the fix is in transformers' terms, not torch's
    raised = model_raises(kind, batch)
    assert report.torch_raises == (raised is not None), raised


def test_metadata_depth_reads_no_values():
    """Shape and dtype mistakes are seen at metadata depth; value mistakes wait for a values call."""
    by_shape = ["float class ids, problem_type unset", "gpt2 classifier without pad_token_id",
                "float class ids, problem_type single-label", "class ids, problem_type multi-label", "int64 one-hot labels", "one label per sequence to a token classifier",
                "word-level labels to a token classifier", "int64 multi-label labels, problem_type multi-label", "uint8 class ids, problem_type unset"]
    for case, (kind, make, codes, _, _) in BAD.items():
        report = judge_model_call(MODELS[kind](), (), batch_of(make), "metadata")
        if case in by_shape:
            assert report is not None and report.codes == codes, case
        else:
            assert report is None, (case, report)
    meta = {"input_ids": torch.empty(BATCH, SEQ, dtype=torch.long, device="meta"), "labels": torch.empty(BATCH, dtype=torch.long, device="meta")}
    assert judge_model_call(MODELS["single"](), (), meta, "values") is None


def test_inputs_are_unchanged_and_no_graph_is_built():
    kind, make, *_ = BAD["gpt2 labels copied from padded input_ids"]
    batch = batch_of(make)
    before = {k: (v.clone(), v._version) for k, v in batch.items()}
    emb = torch.randn(BATCH, SEQ, 16, requires_grad=True)
    report = judge_model_call(MODELS[kind](), (), {**batch, "inputs_embeds": emb}, "values")
    assert report is not None
    for k, (value, version) in before.items():
        assert torch.equal(batch[k], value) and batch[k]._version == version
    assert emb.grad is None and emb.grad_fn is None


def test_positional_arguments_are_bound_by_the_forward_signature():
    kind, make, codes, *_ = BAD["gpt2 labels copied from padded input_ids"]
    batch = batch_of(make)
    model = MODELS[kind]()
    # GPT2LMHeadModel.forward(input_ids, past_key_values, ..., attention_mask, ...): by keyword here,
    # input_ids positionally.
    report = judge_model_call(model, (batch["input_ids"],), {"attention_mask": batch["attention_mask"], "labels": batch["labels"]}, "values")
    assert report is not None and report.codes == codes


def test_the_inferred_problem_type_is_remembered_after_transformers_stores_it():
    """transformers writes its guess into config.problem_type on the first batch: later batches are
    judged the same way, while a problem_type the user set stays quiet."""
    model = MODELS["single"]()
    batch = batch_of(BAD["float one-hot labels, problem_type unset"][1])
    for _ in range(3):
        report = judge_model_call(model, (), batch, "values")
        assert report is not None and report.codes == ["LL743"]
        model(**batch)
        assert model.config.problem_type == "multi_label_classification"
    explicit = MODELS["multi"]()
    assert judge_model_call(explicit, (), batch, "values") is None


def test_a_shift_is_claimed_only_on_exact_non_trivial_evidence():
    model = MODELS["gpt2"]()
    same = torch.full((BATCH, SEQ), 7)  # one repeated token: shifted and unshifted labels agree
    assert judge_model_call(model, (), {"input_ids": same, "labels": same}, "values") is None
    x = ids(torch.Generator().manual_seed(3), seq=SEQ + 1)
    shifted = x[:, 1:].clone()
    shifted[0, 2] = (shifted[0, 2] + 1) % VOCAB  # one position off: not a shift
    assert judge_model_call(model, (), {"input_ids": x[:, :-1], "labels": shifted}, "values") is None
    short = {"input_ids": x[:1, :3], "labels": x[:1, 1:4]}  # 2 positions compared: too few to tell
    assert judge_model_call(model, (), short, "values") is None
    ignored = x[:, 1:].clone()
    ignored[:, 3:] = -100  # -100 is not compared; the rest still shows the shift
    assert judge_model_call(model, (), {"input_ids": x[:, :-1], "labels": ignored}, "values").codes == ["LL744"]


def test_an_ignored_eos_without_an_attention_mask_is_only_an_info():
    x = gpt2_eos_texts(torch.Generator().manual_seed(1))
    report = judge_model_call(MODELS["gpt2-pad-eos"](), (), {"input_ids": x, "labels": x.masked_fill(x == EOS, -100)}, "values")
    assert report is not None and report.codes == ["LL747"] and report.findings[0].severity == "info"


def test_one_hot_rows_in_a_tiny_batch_are_only_an_info():
    model = MODELS["single"]()
    report = judge_model_call(model, (), {"input_ids": torch.randint(1, 50, (2, SEQ)), "labels": torch.eye(3)[:2]}, "values")
    assert report is not None and report.codes == ["LL743"]
    assert report.findings[0].severity == "info" and not report.errors and not report.warnings


def test_models_whose_loss_logic_is_not_judged_return_none():
    torch.manual_seed(0)
    base = transformers.BertModel(transformers.BertConfig(**BERT))
    assert task_of(base) is None
    assert judge_model_call(base, (), {"input_ids": torch.randint(0, VOCAB, (2, SEQ)), "labels": torch.tensor([0, 1])}, "values") is None
    assert task_of(MODELS["single"]()) == "sequence" and task_of(MODELS["gpt2"]()) == "causal"
    assert task_of(MODELS["t5"]()) == "seq2seq" and task_of(MODELS["mlm"]()) == "masked"


# ---- training loops under watch() -----------------------------------------------------------------


def train(kind: str, make, context, *, steps: int = STEPS):
    """`steps` AdamW steps of a fresh model; (losses, parameters, the model call's line, what was raised)."""
    model = MODELS[kind]()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    losses, raised = [], None
    line = None
    with context:
        for _ in range(steps):
            batch = make(gen)
            opt.zero_grad()
            try:
                line = inspect.currentframe().f_lineno + 1
                out = model(**batch)
            except losslint.LossLintError:
                raise
            except Exception as error:  # noqa: BLE001 - what the model does with these labels
                raised = error
                break
            out.loss.backward()
            opt.step()
            losses.append(out.loss.detach())
    return losses, [p.detach().clone() for p in model.parameters()], f"{THIS}:{line}", raised


def ours(reports) -> list:
    return [r for r in reports if r.loss.startswith("transformers.")]


@pytest.mark.parametrize("case", list(GOOD))
def test_correct_training_is_quiet_and_bit_identical_under_watch(case):
    kind, make = GOOD[case]
    plain_losses, plain_params, _, _ = train(kind, make, warnings.catch_warnings())
    with warnings.catch_warnings():
        warnings.simplefilter("error", losslint.LossLintWarning)
        w = losslint.watch(policy=losslint.Policy.always())
        losses, params, _, raised = train(kind, make, w)
    assert raised is None
    assert [r for r in w.reports if r.errors or r.warnings] == [], [str(r) for r in w.reports]
    assert ours(w.reports) == []
    assert len(losses) == STEPS and all(torch.equal(a, b) for a, b in zip(plain_losses, losses))
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))


@pytest.mark.parametrize("case", list(BAD))
def test_each_mistake_is_reported_as_the_model_at_the_users_line(case):
    kind, make, codes, phrase, fix = BAD[case]
    _, _, _, alone = train(kind, make, warnings.catch_warnings())  # what transformers and torch alone do
    w = losslint.watch(action="collect", policy=losslint.Policy.always())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, line, raised = train(kind, make, w)
    assert type(raised) is type(alone)
    [report] = ours(w.reports)
    assert report.codes == codes and report.location == line, (str(report), report.location, line)
    assert report.loss == f"transformers.{type(MODELS[kind]()).__name__}"
    assert phrase in report.findings[0].message and fix in report.findings[0].fix
    assert report.torch_raises == (alone is not None)
    assert report.count == (1 if alone is not None else STEPS)


@pytest.mark.parametrize("case", [c for c, v in BAD.items() if v[2] in (["LL741"], ["LL202"], ["LL746"], ["LL749"], ["LL401"], ["LL748"], ["LL102"], ["LL201"]) and "gpt2 labels shifted" not in c])
def test_auto_stops_before_the_model_runs_where_its_loss_would_raise(case):
    kind, make, codes, _, _ = BAD[case]
    with pytest.raises(losslint.LossLintError) as info:
        train(kind, make, losslint.watch())
    assert info.value.report.loss.startswith("transformers.") and info.value.report.codes == codes
    assert info.value.report.torch_raises


def test_auto_stops_before_the_model_has_stored_its_guess():
    """Stopped before the forward: transformers has not yet written problem_type into the config."""
    model = MODELS["single"]()
    batch = batch_of(BAD["float class ids, problem_type unset"][1])
    with pytest.raises(losslint.LossLintError) as info:
        with losslint.watch():
            model(**batch)
    assert info.value.report.codes == ["LL741"] and model.config.problem_type is None
    assert f"at {THIS}:" in str(info.value)


def test_selection_and_inline_suppression_apply_to_the_models_report():
    kind, make, *_ = BAD["gpt2 labels shifted by the caller"]
    batch = batch_of(make)
    with losslint.watch(action="collect", ignore=["LL744"]) as w:
        MODELS[kind]()(**batch)
    assert ours(w.reports) == []
    with losslint.watch(action="collect") as w:
        MODELS[kind]()(**batch)  # losslint: ignore[LL744]
    assert ours(w.reports) == []
    with losslint.watch(action="collect", severity={"LL744": "error"}) as w:
        MODELS[kind]()(**batch)
    [report] = ours(w.reports)
    assert report.errors and not report.torch_raises  # promoted by configuration; torch still accepts it


def test_a_model_under_the_trainer_callback_is_judged_at_its_boundary(tmp_path):
    need("accelerate")
    from losslint.hf import LossLintCallback

    class Rows(torch.utils.data.Dataset):
        def __init__(self):
            gen = torch.Generator().manual_seed(0)
            self.items = [{"input_ids": torch.randint(1, VOCAB, (SEQ,), generator=gen), "labels": torch.tensor(float(i % 3))} for i in range(16)]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    args = transformers.TrainingArguments(
        str(tmp_path / "out"), num_train_epochs=1, per_device_train_batch_size=8, report_to=[], use_cpu=True,
        save_strategy="no", logging_strategy="no", disable_tqdm=True,
    )
    trainer = transformers.Trainer(model=MODELS["single"](), args=args, train_dataset=Rows(), callbacks=[LossLintCallback()])
    with pytest.raises(losslint.LossLintError) as info:
        trainer.train()
    assert info.value.report.loss == "transformers.BertForSequenceClassification"
    assert info.value.report.codes == ["LL741"]


ODD_LABELS = {
    "a list": [0, 1],
    "None": None,
    "a 0-d tensor": torch.tensor(1),
    "empty": torch.empty(0, dtype=torch.long),
    "empty rows": torch.empty(0, SEQ, dtype=torch.long),
    "bool": torch.ones(BATCH, SEQ, dtype=torch.bool),
    "float16": torch.zeros(BATCH, SEQ, dtype=torch.float16),
    "complex": torch.zeros(BATCH, 3, dtype=torch.complex64),
    "meta": torch.empty(BATCH, SEQ, dtype=torch.long, device="meta"),
    "all -100": torch.full((BATCH, SEQ), -100),
    "3-d": torch.zeros(BATCH, SEQ, 2, dtype=torch.long),
    "sparse": torch.zeros(BATCH, SEQ, dtype=torch.long).to_sparse(),
}


@pytest.mark.parametrize("kind", ["single", "multi", "regression", "token", "mlm", "gpt2", "gpt2-cls", "llama", "t5", "vit"])
def test_odd_arguments_never_raise(kind):
    model = MODELS[kind]()
    companions = [
        {},
        {"input_ids": torch.randint(1, VOCAB, (BATCH, SEQ))},
        {"input_ids": torch.randint(1, VOCAB, (BATCH, SEQ)), "attention_mask": torch.ones(BATCH, SEQ + 1, dtype=torch.long)},
        {"input_ids": torch.randint(1, VOCAB, (BATCH, SEQ)), "attention_mask": torch.zeros(BATCH, SEQ, dtype=torch.long)},
        {"input_ids": "text", "attention_mask": None},
    ]
    for labels in ODD_LABELS.values():
        for others in companions:
            for depth in ("metadata", "values"):
                report = judge_model_call(model, (), {**others, "labels": labels}, depth)
                assert report is None or isinstance(report, losslint.Report)
    many = judge_model_call(model, (torch.randint(1, VOCAB, (BATCH, SEQ)),) * 40, {}, "values")  # more positionals than parameters
    assert many is None or isinstance(many, losslint.Report)


def test_what_was_inferred_is_forgotten_with_the_model():
    import gc

    from losslint.libraries import transformers as transformers_labels

    batch = batch_of(BAD["float one-hot labels, problem_type unset"][1])
    model = MODELS["single"]()
    judge_model_call(model, (), batch, "values")
    key = id(model.config)
    assert transformers_labels._recalled(model.config) == "multi_label_classification"
    del model
    gc.collect()
    assert key not in transformers_labels._INFERRED


def test_a_loss_function_of_the_callers_own_is_not_judged_as_transformers():
    kind, make, *_ = BAD["llama labels shifted by the caller"]
    batch = batch_of(make)
    model = MODELS[kind]()
    assert judge_model_call(model, (), batch, "values") is not None
    model.loss_function = lambda logits, labels, vocab_size, **kwargs: F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten())
    assert judge_model_call(model, (), batch, "values") is None
    model(**batch)  # the caller's loss takes the labels as they are


def test_a_thorough_watch_judges_the_model_the_same_way():
    kind, make, codes, *_ = BAD["float one-hot labels, problem_type unset"]
    w = losslint.watch(action="collect", thorough=True, policy=losslint.Policy.always())
    _, _, line, raised = train(kind, make, w)
    [report] = ours(w.reports)
    assert raised is None and report.codes == codes and report.location == line and report.count == STEPS
