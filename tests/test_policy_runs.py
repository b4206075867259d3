"""The run of metadata-only calls a steady state may count, counted out from a policy's numbers, is the
run `Policy.depth` gives call by call."""

import pytest

from losslint.hooks.policy import Policy, metadata_calls_ahead


class _AskedCallByCall(Policy):
    """A subclass: `metadata_calls_ahead` asks its `depth` for each call."""


@pytest.mark.parametrize(
    "policy",
    [Policy(), Policy.always(), Policy(every=0), Policy(first=0, every=0), Policy(metadata=False), Policy(first=3, every=7), Policy(first=0, every=2)],
    ids=repr,
)
def test_the_counted_run_is_the_run_depth_gives(policy):
    for index in range(0, 450):
        expected = 0
        while expected < 1000 and policy.depth(index + expected) == "metadata":
            expected += 1
        assert metadata_calls_ahead(policy, index) == expected, index
        assert metadata_calls_ahead(_AskedCallByCall(policy.first, policy.every, policy.metadata), index) == expected, index


def test_the_run_stops_at_the_limit():
    assert metadata_calls_ahead(Policy(every=0), 50, limit=7) == 7
    assert metadata_calls_ahead(Policy(first=0, every=500), 0, limit=20) == 20
    assert metadata_calls_ahead(Policy(), 10) == 999  # calls 10..1008; call 1009 is the 1000th after the first 10
    assert Policy().depth(1009) == "values"
    assert metadata_calls_ahead(Policy(every=100), 10) == 99
