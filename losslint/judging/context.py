"""The state of one check: the bound arguments, their facts, the configuration, and the findings.

Checks receive a `CallContext` and report through `emit`, which fills in what the code catalog knows
(name, default severity) so that a check only says what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..evidence.facts import TensorFacts, describe_value
from .findings import Finding

if TYPE_CHECKING:
    from ..evidence.provenance import Origin
    from ..language.registry import CompiledFormat, CompiledLoss


@dataclass
class CallContext:
    loss: "CompiledLoss"
    args: dict[str, Any]
    config: dict[str, Any]
    read_values: bool
    form: str  # "module" or "functional"
    facts: dict[str, TensorFacts] = field(default_factory=dict)
    format: "CompiledFormat | None" = None
    binding: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # What the metadata steps concluded (engine._Plan), for the next call with the same metadata.
    plan: Any = None
    # The plan of an earlier call with the same metadata that this call reuses (engine._run), or None.
    reused: Any = None
    # Whether autograd was on where the loss is called (the checks themselves run without it).
    grad_enabled: bool = True
    # What produced an argument, where `watch()` saw it made: argument name -> provenance.Origin.
    origins: dict[str, "Origin"] = field(default_factory=dict)
    # Whether `origins` was asked at all (inside watch()): then no origin means no squashing op was seen.
    tracked: bool = False
    # The autocast the call runs under (autocast_policy.Autocast), where one applies to its tensors; the
    # tensors in `args` are then the ones its kernel sees.
    autocast: Any = None

    # ---- reading -----------------------------------------------------------------------------

    def tensor(self, name: str) -> torch.Tensor | None:
        value = self.args.get(name)
        return value if isinstance(value, torch.Tensor) else None

    def fact(self, name: str) -> TensorFacts | None:
        return self.facts.get(name)

    def values(self, name: str) -> TensorFacts | None:
        """Facts of `name` when its values may be read, else None."""
        facts = self.facts.get(name)
        if facts is None or not self.read_values or not facts.values_readable:
            return None
        return facts

    def describe(self, name: str) -> str:
        return describe_value(self.args.get(name))

    @property
    def names(self) -> dict[str, Any]:
        """What a domain expression may refer to: shape dims and configuration values."""
        return {**self.config, **{k: v for k, v in self.binding.items() if not k.startswith("*")}}

    def has(self, code: str, argument: str | None = None) -> bool:
        return any(f.code == code and (argument is None or f.argument == argument) for f in self.findings)

    @property
    def torch_raises(self) -> bool:
        return any(f.torch_raises for f in self.findings)

    def _empty_batch_skips_dtype_checks(self) -> bool:
        skips = self.loss.empty_batch_skips_dtype_checks
        if not skips:
            return False
        if isinstance(skips, str):
            from ..language import releases

            if self.config.get("reduction", "mean") == "none" or not releases.condition_holds(skips):
                return False
            # Only the class-index path returns early: a target with the class dimension is class
            # probabilities, whose dtype is checked first.
            first, target = self.facts.get(self.loss.arguments[0]), self.facts.get("target")
            if first is None or target is None or target.ndim != first.ndim - 1:
                return False
        first = self.facts.get(self.loss.arguments[0])
        return first is not None and first.numel == 0

    # ---- reporting ---------------------------------------------------------------------------

    def emit(
        self,
        code: str,
        argument: str,
        message: str,
        *,
        explanation: str | None = None,
        fix: str | None = None,
        observed: str = "",
        expected: str = "",
        torch_raises: bool = False,
        confidence: str = "certain",
        severity: str | None = None,
        replaces: tuple[str, ...] = (),
    ) -> None:
        """Record a finding; `replaces` drops vaguer findings of the same argument (LL103 -> LL202)."""
        doc = self.loss.codes[code]
        if torch_raises and code.startswith("LL1") and self._empty_batch_skips_dtype_checks():
            torch_raises = False
            severity = "warning"
            explanation = (
                (explanation or doc.why)
                + " This batch is empty, so torch returns before checking dtypes and accepts the call;"
                " the first non-empty batch raises."
            )
        if replaces:
            self.findings = [f for f in self.findings if not (f.code in replaces and f.argument == argument)]
        if any(f.code == code and f.argument == argument for f in self.findings):
            return  # one finding per problem and argument, whichever check saw it first
        self.findings.append(
            Finding(
                code=code,
                name=doc.name,
                severity="error" if torch_raises else (severity or doc.severity),  # type: ignore[arg-type]
                torch_raises=torch_raises,
                loss=self.loss.name,
                argument=argument,
                message=message,
                explanation=explanation or doc.why,
                fix=self.loss.rule.fixes.get(code) or fix or doc.fix,
                observed=observed,
                expected=expected,
                confidence=confidence,
            )
        )
