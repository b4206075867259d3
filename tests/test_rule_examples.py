"""Every example in every rule file, run through losslint and through torch.

Add an example to a rule file and it is tested here with no new test code: losslint must report
exactly the expected codes at warning level or above, and `torch_raises` must agree with what torch
actually did with the same call.
"""

import pytest

from examples_runner import all_examples, run_example

CASES = list(all_examples())


@pytest.mark.parametrize(
    "loss,example,form", CASES, ids=[f"{l.name}-{e.name}-{f}".replace(" ", "_") for l, e, f in CASES]
)
def test_example(loss, example, form):
    outcome = run_example(loss, example, form)
    if outcome is None:
        pytest.skip("torch rejects this configuration when the module is constructed")
    report = outcome.report
    loud = sorted({f.code for f in report.findings if f.severity in ("error", "warning")})
    infos = {f.code for f in report.findings if f.severity == "info"}
    assert "LL000" not in infos, str(report)
    assert loud == sorted(set(example.expect)), f"{example.name}:\n{report}"
    assert set(example.expect_info) <= infos, f"{example.name}:\n{report}"
    assert report.torch_raises == outcome.torch_raised, (
        f"losslint says torch_raises={report.torch_raises}, torch: {outcome.torch_error or 'accepted'}\n{report}"
    )
    str(report)  # renders
