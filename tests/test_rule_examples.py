"""Every example in every rule file, run through losslint and through torch.

Add an example to a rule file and it is tested here with no new test code: losslint must report
exactly the expected codes at warning level or above, and `torch_raises` must agree with what torch
actually did with the same call.

Rules for other libraries (rules/kornia/, rules/pytorch_metric_learning/) are run against the real
library the same way; they skip where it is not installed, and fail instead under
LOSSLINT_REQUIRE_INTEGRATION=1 (CI installs the `integration` extra).
"""


import pytest

from conftest import required
from examples_runner import all_examples, run_example

CASES = list(all_examples())


@pytest.mark.parametrize(
    "loss,example,form", CASES, ids=[f"{l.name}-{e.name}-{f}".replace(" ", "_") for l, e, f in CASES]
)
def test_example(loss, example, form):
    if form is None and loss.library == "torch":
        pytest.skip(f"{loss.name} is {loss.missing_text}")
    if form is None:
        if required(loss.library):
            pytest.fail(f"{loss.library} is not installed; CI installs it (the `integration` or `libraries` extra)")
        pytest.skip(f"{loss.library} is not installed")
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
