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
    "log_distribution": "log-distributions (rows whose logsumexp is 0)",
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
    "log_distribution": ("distillation", "multiclass"),
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


# ---- value kinds: what the values of a tensor a loss receives are, inferred by `evidence.kinds.infer` ----

# The closed vocabulary of inferred kinds, with how each reads in a message.
VALUE_KINDS = {
    "raw_scores": "raw scores (both signs, unbounded)",
    "probabilities": "probabilities (rows that sum to 1: softmax outputs)",
    "element_probabilities": "probabilities per element (all strictly inside (0, 1): sigmoid outputs)",
    "log_probabilities": "log-probabilities (rows whose logsumexp is 0: log_softmax outputs)",
    "element_log_probabilities": "log-probabilities per element (never positive, crowding 0: logsigmoid outputs)",
    "rectified": "non-negative values with exact zeros (a ReLU output)",
    "positive": "strictly positive values crowding 0 (softplus or exp outputs)",
    "bounded": "values confined to [-1, 1] that reach its bound (tanh outputs or cosines)",
    "twice_activated": "an activation applied twice",
    "wrong_dim": "distributions over a dim that is not the classes (a softmax or log_softmax over the batch or a spatial dim)",
}


class DeclaredKind:
    """What a rule file's `kind = "..."` on an argument accepts, and which code each other inferred kind gets.

    `accepts`: inferred kinds that are exactly what the loss takes. `harmless`: kinds that compute the
    same value (a rule file may add its own with `kind_harmless`), never a warning. `codes`: the finding
    for every other inferred kind; a kind in none of the three is left alone (thin or ambiguous evidence).
    """

    def __init__(self, words: str, accepts: set[str], harmless: set[str], codes: dict[str, str]):
        self.words, self.accepts, self.harmless, self.codes = words, accepts, harmless, codes


# Codes shared by every declared kind that takes raw scores.
_SCORE_MISMATCH = {
    "probabilities": "LL301",
    "element_probabilities": "LL305",
    "rectified": "LL312",
    "positive": "LL320",
    "bounded": "LL311",
    "log_probabilities": "LL318",
    "element_log_probabilities": "LL318",
    "twice_activated": "LL319",
    "wrong_dim": "LL304",
}

DECLARED_KINDS = {
    # A loss that applies log_softmax itself (CrossEntropyLoss): a log_softmax first is redundant (LL307,
    # an info, said by the logits reading in checks/value_kinds.py), and any per-row shift of the logits gives the same value.
    "logits": DeclaredKind("raw logits (any real values)", {"raw_scores"}, {"log_probabilities"}, _SCORE_MISMATCH),
    # A loss that applies the sigmoid itself, element by element: nothing but raw scores computes the
    # intended value.
    "binary_logits": DeclaredKind("raw logits (any real values, both signs)", {"raw_scores"}, set(), _SCORE_MISMATCH),
    # A margin over scores (MultiMarginLoss): raw scores; a per-row shift (log_softmax) changes no difference.
    "scores": DeclaredKind("raw scores (any real values)", {"raw_scores"}, {"log_probabilities"}, _SCORE_MISMATCH),
    # log_softmax outputs (NLLLoss, CTCLoss): probabilities, raw scores and a wrong dim are said by
    # the log_probabilities reading in checks/value_kinds.py; what is left is log_softmax of what already was a distribution.
    "log_probabilities": DeclaredKind(
        "log-probabilities (log_softmax over the class dim)", {"log_probabilities"}, set(),
        {"twice_activated": "LL319", "element_log_probabilities": "LL302", "wrong_dim": "LL304"},
    ),
    # Probabilities per element (BCELoss): a sigmoid's or a softmax's outputs; twice applied they never
    # leave a narrow band.
    "probabilities": DeclaredKind(
        "probabilities (a single sigmoid or softmax)", {"probabilities", "element_probabilities"}, set(),
        {"twice_activated": "LL319", "wrong_dim": "LL304"},
    ),
    # PoissonNLLLoss(log_input=True) exponentiates its input: a log-rate takes any value. A ReLU's exact
    # zeros and rows that sum to 1 are an activation's doing, not a log-rate. Positive or (0, 1) values,
    # and an activation applied twice, can be the log-rates of counts above 1: the reading of this kind
    # (checks/value_kinds.py log_rates_kind) flags them where exp(input) cannot meet the counts' mean
    # (LL310, LL319), and LL310's scale heuristic where it is far above it.
    "log_rates": DeclaredKind(
        "log-rates (any real values: log_input=True exponentiates them)",
        {"raw_scores", "log_probabilities", "element_log_probabilities", "bounded", "positive", "element_probabilities"},
        set(), {"probabilities": "LL310", "rectified": "LL310", "wrong_dim": "LL304"},
    ),
    # PoissonNLLLoss(log_input=False) takes the rate itself; a negative one is LL309 (numerics).
    "rates": DeclaredKind(
        "rates (non-negative: log_input=False takes their log)",
        {"probabilities", "element_probabilities", "rectified", "positive", "twice_activated"}, set(), {},
    ),
    # Whatever an activation of the user's choice makes of it (MONAI's other_act=torch.tanh): nothing to
    # compare, so a switch can declare that no kind is due.
    "any": DeclaredKind("any values (the loss's own activation decides)", set(VALUE_KINDS), set(), {}),
}

# How to undo each inferred kind, for a finding's help line.
KIND_FIXES = {
    "raw_scores": "apply the activation first (torch.sigmoid / torch.softmax), or let the loss apply it: loss(probabilities, target)",
    "probabilities": "pass the logits from before the softmax: loss(logits, target)",
    "element_probabilities": "pass the logits from before the sigmoid: loss(logits, target)",
    "rectified": "drop the ReLU (or clamp(min=0)) after the last layer: loss(logits, target)",
    "positive": "drop the softplus/exp after the last layer: loss(logits, target)",
    "bounded": "pass the scores from before the tanh; for cosine similarities divide by a temperature: loss(cos / 0.07, target)",
    "log_probabilities": "pass the logits from before the log_softmax: loss(logits, target)",
    "element_log_probabilities": "pass the logits from before the logsigmoid: loss(logits, target)",
    "wrong_dim": "normalize over the class dim: F.softmax(x, dim=1) / F.log_softmax(x, dim=1), or pass the logits",
    "twice_activated": "apply the activation once: drop the first softmax/sigmoid (F.log_softmax(logits, dim) for log-probabilities)",
}
