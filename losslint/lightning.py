"""`from losslint.lightning import LossLint`: the Lightning callback, defined in
`losslint.integrations.lightning`. Importing `losslint` never imports Lightning; importing this does."""

from .integrations.lightning import LossLint

__all__ = ["LossLint"]
