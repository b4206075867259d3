"""How often a hook or `watch()` reads values, so that leaving it on in training costs little.

Metadata checks (argument binding, configuration, dtypes, shapes, devices) touch no data: no GPU sync,
a few tens of microseconds of Python. Value checks (class-index range, probabilities vs logits, one-hot
rows) read the tensors, and on a GPU every one of them waits for the device. A training loop calls
its loss with batches of the same kind thousands of times, so the value checks run on every call of a
call site at first, then on a sample:

    Policy()                       # default: values on the first 10 calls of each call site, then
                                   # on one call in 1000 (calls 1010, 2010, ...); metadata on every call
    Policy(first=0, every=1)       # values on every call (what `Policy.always()` returns)
    Policy(every=0)                # values on the first 10 calls only
    Policy(first=0, every=0)       # metadata only, never a data access
    Policy(metadata=False)         # calls between the samples are not checked at all

Counting is per call site (the user's line that calls the loss), so a rarely used loss (a validation
loss, an auxiliary head) gets its own first calls checked in full.

Why 1 in 1000 after the first 10. A mistake in how a head or a label is made (logits where
probabilities belong, labels from 1, a mask of 0 and 255) is in every batch: the first calls see it.
A mistake in a few batches that torch rejects (a corrupt label at step 37000) is explained whenever
torch raises, read or not (`raised`). What the sample is left to find is a rare batch that torch
accepts silently, and a sample of 1 in 100 finds little more of those than 1 in 1000 does in a run
of thousands of steps, while it costs ten times as much: a values check is about 100 to 300
microseconds of CPU in a loop (a GPU sync on a GPU), which at 1 in 100 was most of what a hook cost a
small model's step (docs/how-it-works/cost.md). `Policy(every=100)` is the denser sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Depth = Literal["metadata", "values"]


@dataclass(frozen=True)
class Policy:
    first: int = 10
    every: int = 1000
    metadata: bool = True

    def __post_init__(self) -> None:
        for name in ("first", "every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Policy.{name} must be an int >= 0, got {value!r}")

    @classmethod
    def always(cls) -> "Policy":
        """Values on every call: for tests and CI, where every batch is worth reading."""
        return cls(first=0, every=1)

    def depth(self, index: int) -> Depth | None:
        """How deep to check the call with this 0-based index at its call site; None: skip it."""
        if index < self.first:
            return "values"
        if self.every and (index - self.first + 1) % self.every == 0:
            return "values"
        return "metadata" if self.metadata else None


def metadata_calls_ahead(policy: Policy, index: int, limit: int = 1000) -> int:
    """How many calls in a row, from the call with this index on, `policy` checks at metadata depth
    (at most `limit`): the run of calls a hook's steady state may only count. The default policy's
    run is counted out from `first` and `every`, not by asking `depth` up to a hundred times after
    each values sample; a subclass's `depth` is asked call by call."""
    if type(policy) is Policy:
        if not policy.metadata or index < policy.first:
            return 0
        if not policy.every:
            return limit
        # The next values call is the first index at or after this one with (i - first + 1) % every == 0.
        return min((-(index - policy.first + 1)) % policy.every, limit)
    ahead = 0
    while ahead < limit and policy.depth(index + ahead) == "metadata":
        ahead += 1
    return ahead
