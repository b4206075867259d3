"""Named checks for torch's losses, one module per family of losses; each registers its checks in
the rule language's table (`losslint.language.checkbook`) when imported.

Layer: checks. May import judging, evidence and the rule language; never hooks, advice or integrations.
Other libraries' checks live beside this package, in `losslint.libraries`.
"""

from __future__ import annotations

# The checks' own vocabulary, re-exported so that a check module writes `from . import check`.
from ..language.checkbook import (  # noqa: F401
    ADAPTERS,
    DOMAIN_HINTS,
    METADATA_ONLY,
    REGISTRY,
    adapter,
    check,
    domain_hint,
    raiser,
)

# Importing the modules registers their checks.
from . import binary, bounded_predictions, classification, distribution, elementwise, margin, metric  # noqa: E402,F401
from . import deprecated, numerics, regression, sequence, value_kinds  # noqa: E402,F401
from . import backward, kind_contract, prediction_range  # noqa: E402,F401
