"""Print what torch's own tests offer as a conformance suite for its losses.

    python tests/conformance_inventory.py > conformance_inventory.txt

For every loss OpInfo (op_db) and loss ModuleInfo (module_db): how many valid samples exist per
dtype (raw, after deduplication, and how many test_conformance.py keeps), how many of them torch
itself rejects, and for every error input the exception torch actually raises, its message, and the
call.
Needs torch and expecttest, not losslint.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import torch_samples as ts  # noqa: E402


def _oneline(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _valid_section(g: dict[str, list], out: list[str]) -> None:
    raw, unique, kept = g.get("raw-valid", []), g.get("unique-valid", []), g.get("kept-valid", [])
    by_dtype_raw = Counter(c.dtype for c in raw)
    by_dtype_unique = Counter(c.dtype for c in unique)
    by_dtype_kept = Counter(c.dtype for c in kept)
    refs = sum(1 for c in raw if "reference_inputs" in c.origin)
    line = ", ".join(
        f"{d} {by_dtype_raw[d]}/{by_dtype_unique[d]}/{by_dtype_kept[d]}"
        for d in sorted(by_dtype_raw)
    )
    out.append(f"  valid samples (raw/unique/kept per dtype): {line or 'none'}")
    out.append(
        f"  totals: raw {len(raw)} (of which reference_inputs {refs}), unique {len(unique)}, "
        f"kept by test_conformance {len(kept)}"
    )
    rejected = []
    for c in raw:
        outcome = ts.torch_outcome(c)
        if outcome.not_expressible:
            rejected.append(f"    NOT EXPRESSIBLE {c.id}: {outcome.not_expressible}")
        elif outcome.raised:
            rejected.append(
                f"    TORCH REJECTS {c.id}: {type(outcome.error).__name__}: "
                f"{_oneline(outcome.error)}\n      call: {c.describe()}"
            )
    out.append(f"  valid samples torch itself rejects or that are not expressible: {len(rejected)}")
    out.extend(rejected)


def _error_section(errors: list, out: list[str]) -> None:
    out.append(f"  error inputs: {len(errors)}")
    for c in errors:
        outcome = ts.torch_outcome(c)
        declared_type, declared_regex = c.expected_error
        where = f" [{c.error_on} error]" if c.error_on else ""
        out.append(f"    {c.id}{where}")
        out.append(f"      call:     {c.describe()}")
        out.append(f"      declared: {declared_type.__name__} /{declared_regex}/")
        if outcome.raised:
            matches = isinstance(outcome.error, declared_type)
            out.append(
                f"      torch:    {type(outcome.error).__name__}: {_oneline(outcome.error)}"
                + ("" if matches else "   <-- differs from the declared type")
            )
        else:
            out.append("      torch:    DOES NOT RAISE (the conformance test skips it)")
        if outcome.not_expressible:
            out.append(f"      note:     {outcome.not_expressible}")


def main() -> None:
    out: list[str] = []
    out.append(f"torch {torch.__version__}; device cpu; seed {ts.SEED}")
    out.append(
        f"caps: {ts.CAP_MAIN_DTYPE} distinct samples per OpInfo/ModuleInfo and dtype for "
        f"{', '.join(ts._dtype_name(d) for d in ts.MAIN_DTYPES)}, {ts.CAP_OTHER_DTYPE} for "
        "other dtypes; error inputs all kept"
    )
    out.append("")

    raw = ts.all_calls(cap=False, dedupe=False)
    unique = ts.all_calls(cap=False, dedupe=True)
    kept = ts.all_calls()
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    order: list[str] = []
    for label, calls in (("raw", raw), ("unique", unique), ("kept", kept)):
        for c in calls:
            if c.group not in groups:
                order.append(c.group)
            groups[c.group][f"{label}-{c.kind}"].append(c)

    opinfos = {
        (f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name): op
        for op in ts.loss_opinfos()
    }
    out.append("=" * 100)
    out.append("torch.nn.functional losses (op_db OpInfos)")
    out.append("=" * 100)
    for group in sorted(opinfos):
        g = groups.get(group, {})
        out.append(f"\n{group}")
        _valid_section(g, out)
        errors = g.get("kept-error", [])
        if not errors:
            out.append(
                "  error inputs: the same as another variant of this functional, listed there"
                if opinfos[group].error_inputs_func is not None
                else "  error inputs: none (no error_inputs_func)"
            )
        else:
            _error_section(errors, out)

    out.append("")
    out.append("=" * 100)
    out.append("loss modules (module_db ModuleInfos)")
    out.append("=" * 100)
    for m in ts.loss_moduleinfos():
        g = groups.get(m.name, {})
        out.append(f"\n{m.name}  (dtypes {', '.join(ts._dtype_name(d) for d in m.dtypes)})")
        _valid_section(g, out)
        errors = g.get("kept-error", [])
        if errors:
            _error_section(errors, out)
        else:
            out.append("  error inputs: none (no module_error_inputs_func)")

    out.append("")
    out.append("=" * 100)
    out.append("coverage")
    out.append("=" * 100)
    tested_f = {op.name.removeprefix("nn.functional.") for op in ts.loss_opinfos()}
    tested_m = {m.module_cls.__name__ for m in ts.loss_moduleinfos()}
    missing_f = [n for n in ts.functional_loss_names() if n not in tested_f]
    missing_m = [n for n in ts.module_loss_names() if n not in tested_m]
    out.append(
        f"functional losses: {len(ts.functional_loss_names())}, with an OpInfo: {len(tested_f)}"
    )
    out.append(f"  without an OpInfo: {', '.join(missing_f) or 'none'}")
    out.append(f"loss modules: {len(ts.module_loss_names())}, with a ModuleInfo: {len(tested_m)}")
    out.append(f"  without a ModuleInfo: {', '.join(missing_m) or 'none'}")
    n_valid = sum(1 for c in kept if c.kind == "valid")
    n_error = sum(1 for c in kept if c.kind == "error")
    out.append(
        f"test_conformance parameters: {n_valid} valid samples, {n_error} error inputs "
        f"(raw valid samples before dedupe/cap: {sum(1 for c in raw if c.kind == 'valid')})"
    )
    print("\n".join(out))


if __name__ == "__main__":
    main()
