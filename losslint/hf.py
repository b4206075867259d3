"""`from losslint.hf import LossLintCallback`: the HuggingFace Trainer callback, defined in
`losslint.integrations.hf`. Importing `losslint` never imports transformers; importing this does."""

from .integrations.hf import LossLintCallback

__all__ = ["LossLintCallback"]
