"""The words that rule files use for what a loss is for: tasks, prediction kinds and target kinds.

A rule file's `[usage]` table (see `spec.Usage`) names the task a loss serves and the kinds of values it
takes; `losslint.evidence.describe` recognizes the same kinds in real tensors, `losslint.suggest` matches the two,
and docs/targets.md prints them. Importing this module imports no torch, so that the rule-file models
and the docs can use it.
"""

from __future__ import annotations

# task -> how it reads in a sentence ("for multi-class classification").
TASKS = {
    "binary": "binary classification (one yes/no per sample)",
    "multiclass": "multi-class classification (one class per sample)",
    "multilabel": "multi-label classification (any number of classes per sample)",
    "regression": "regression (real-valued targets)",
    "ranking": "ranking (which of two scores should be higher)",
    "distillation": "distillation (matching a teacher's distribution)",
    "metric": "metric learning (distances or embeddings of similar and dissimilar samples)",
    "sequence": "sequence labelling without alignment (speech, handwriting)",
}

# What a model's output holds.
PREDICTION_KINDS = {
    "logits": "raw scores (logits)",
    "probabilities": "probabilities",
    "log_probabilities": "log-probabilities",
    "distances": "distances (non-negative)",
    "embeddings": "embeddings",
}

# A regression head's output is no score of a class: where the task is regression, "logits" reads so.
REGRESSION_PREDICTION = "real-valued predictions"


def prediction_words(kind: str, task: str | None = None) -> str:
    """How a prediction kind reads for a task: a regression loss takes real-valued predictions, not logits."""
    if kind == "logits" and task == "regression":
        return REGRESSION_PREDICTION
    return PREDICTION_KINDS.get(kind, kind)


# What a target holds.
TARGET_KINDS = {
    "class_indices": "class indices",
    "one_hot": "one-hot rows",
    "multi_hot": "multi-hot rows (any number of 1s per row)",
    "soft_labels": "soft labels in [0, 1]",
    "binary": "{0, 1} labels",
    "signed": "±1 labels",
    "real_values": "real values",
    "counts": "counts (non-negative integers)",
    "distribution": "distributions (rows that sum to 1)",
    "index_lists": "class-index lists padded with -1",
}

# The tasks a target kind points to, most likely first, when `suggest(task=None)` has to guess.
TARGET_TASKS = {
    "class_indices": ("multiclass",),
    "one_hot": ("multiclass",),
    "multi_hot": ("multilabel",),
    "soft_labels": ("multilabel", "binary"),
    "binary": ("binary",),
    "signed": ("binary", "metric"),
    "real_values": ("regression",),
    "counts": ("regression",),
    "distribution": ("distillation", "multiclass"),
    "index_lists": ("multilabel",),
}

# Prediction kinds that say the task on their own: a distance or an embedding is no classifier's output.
PREDICTION_TASKS = {
    "distances": ("metric",),
    "embeddings": ("metric",),
}

# Placeholders a conversion in a rule file may use, filled from the tensors suggest() was given.
PLACEHOLDERS = {
    "C": "the number of classes: the prediction's size along dim 1",
}


def unknown(name: str, known: dict[str, str], what: str) -> str:
    return f"unknown {what} {name!r}; known: {', '.join(known)}"
