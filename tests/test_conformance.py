"""Conformance: losslint agrees with torch on torch's own test inputs for its losses.

torch tests each `torch.nn.functional` loss through an OpInfo
(`common_methods_invocations.op_db`: sample inputs it must accept, error inputs it must reject) and
most loss modules through a ModuleInfo (`common_modules.module_db`: module inputs, module error
inputs). `torch_samples.py` turns them into
calls; this file hands each to `losslint.check` and proves, call by call:

- valid sample (torch accepts it, checked by running it here): no finding has `torch_raises=True`
  — losslint never predicts an error that torch would not raise;
- error input (torch rejects it, checked by running it here): at least one finding has
  `torch_raises=True` — losslint predicts torch's own error cases;
- in both cases `check` returns a Report and raises nothing.

Torch is the oracle: a sample torch does not treat as the test says (a "valid" sample it rejects, an
error input it accepts) is skipped with the reason, as is a module error raised by the
constructor (no instance exists to check). Samples are deduplicated and capped per loss and dtype
to keep the run short; `LOSSLINT_CONFORMANCE_FULL=1` lifts the caps.
`python tests/conformance_inventory.py` lists every sample and the exception torch raises for every
error input.
"""

from __future__ import annotations

import os

import pytest

losslint = pytest.importorskip("losslint")
if not hasattr(losslint, "check"):
    pytest.skip("losslint.check does not exist yet", allow_module_level=True)
pytest.importorskip("expecttest", reason="torch.testing._internal needs expecttest")

import torch_samples as ts  # noqa: E402

_FULL = os.environ.get("LOSSLINT_CONFORMANCE_FULL", "") not in ("", "0")
CALLS = ts.all_calls(cap=not _FULL)
VALID = [c for c in CALLS if c.kind == "valid"]
ERRORS = [c for c in CALLS if c.kind == "error"]
UnknownLossError = getattr(losslint, "UnknownLossError", LookupError)


def _findings_text(report) -> str:
    return "\n".join(
        f"    {f.code} {f.severity} torch_raises={f.torch_raises} `{f.argument}`: {f.message}"
        for f in report.findings
    ) or "    (no findings)"


def _context(call: ts.Call, outcome: ts.TorchOutcome | None = None) -> str:
    lines = [f"  call:   {call.describe()}", f"  origin: {call.origin}"]
    if outcome is not None and outcome.raised:
        lines.append(f"  torch:  {type(outcome.error).__name__}: {outcome.error}")
    return "\n".join(lines)


def _check(call: ts.Call, outcome: ts.TorchOutcome):
    """losslint.check on the call; a crash fails the test, an unknown loss skips it (reported once
    per loss by test_every_loss_is_known)."""
    loss = call.make_loss()
    try:
        report = losslint.check(loss, *call.args, **call.kwargs)
    except UnknownLossError:
        pytest.skip(f"losslint does not know {call.loss_name}; see test_every_loss_is_known")
    except Exception as exc:
        pytest.fail(
            f"losslint.check raised {type(exc).__name__}: {exc}\n{_context(call, outcome)}"
        )
    assert report is not None and hasattr(report, "findings"), (
        f"losslint.check returned {report!r}, not a Report\n{_context(call, outcome)}"
    )
    return report


def _torch_outcome(call: ts.Call) -> ts.TorchOutcome:
    outcome = ts.torch_outcome(call)
    if outcome.not_expressible:
        pytest.skip(outcome.not_expressible)
    return outcome


@pytest.mark.parametrize("call", VALID, ids=[c.id for c in VALID])
def test_valid_sample_is_not_predicted_to_raise(call: ts.Call) -> None:
    outcome = _torch_outcome(call)
    if outcome.raised:
        pytest.skip(
            f"torch rejects this sample itself ({type(outcome.error).__name__}: {outcome.error}); "
            "it is not valid here"
        )
    report = _check(call, outcome)
    raising = [f for f in report.findings if f.torch_raises]
    assert not raising, (
        f"torch accepts this call, but losslint says torch would raise:\n"
        f"{_context(call)}\n  findings:\n{_findings_text(report)}"
    )


@pytest.mark.parametrize("call", ERRORS, ids=[c.id for c in ERRORS])
def test_error_input_is_predicted_to_raise(call: ts.Call) -> None:
    outcome = _torch_outcome(call)
    if not outcome.raised:
        pytest.skip("torch accepts this error input here; nothing to predict")
    report = _check(call, outcome)
    assert any(f.torch_raises for f in report.findings), (
        f"torch raises on this call, but losslint predicts no error:\n"
        f"{_context(call, outcome)}\n  findings:\n{_findings_text(report)}"
    )


_FIRST_CALL_PER_LOSS = {c.loss_name: c for c in reversed(CALLS) if c.kind == "valid"}


@pytest.mark.parametrize("loss_name", sorted(_FIRST_CALL_PER_LOSS))
def test_every_loss_is_known(loss_name: str) -> None:
    """Every loss torch tests is one losslint knows (no UnknownLossError)."""
    call = _FIRST_CALL_PER_LOSS[loss_name]
    try:
        losslint.check(call.make_loss(), *call.args, **call.kwargs)
    except UnknownLossError as exc:
        pytest.fail(f"losslint does not know {call.loss_repr}: {exc}")


def test_torch_test_inputs_were_found() -> None:
    """Guards against torch moving its internal test databases: an empty suite would pass."""
    functional = {c.loss_name for c in CALLS if c.loss_repr.startswith("F.")}
    modules = {c.loss_name for c in CALLS if not c.loss_repr.startswith("F.")}
    assert {"cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "ctc_loss"} <= (
        functional
    )
    assert {"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "CTCLoss"} <= modules
    assert len(ERRORS) >= 30
