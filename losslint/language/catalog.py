"""The code catalog (rules/codes.toml) read with the standard library alone: no pydantic, no torch.

`losslint lint` and `[tool.losslint]` validation need the codes' names, severities and texts where torch
may not be installed (a pre-commit environment). The validated models of the same file live in
`losslint.spec` (`CodeDoc`), which the runtime and the docs use; this reader only trusts what they check.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path


def rules_dir() -> Path:
    """rules/ of the source tree when running from a checkout, else losslint/rules in the wheel."""
    source_tree = Path(__file__).resolve().parents[2] / "rules"
    if (source_tree / "codes.toml").is_file():
        return source_tree
    return Path(str(resources.files("losslint") / "rules"))


@lru_cache(maxsize=1)
def codes() -> dict[str, dict]:
    """Code -> its table (name, severity, summary, why, example, fix, references)."""
    with (rules_dir() / "codes.toml").open("rb") as handle:
        return dict(tomllib.load(handle))


@lru_cache(maxsize=1)
def torch_losses() -> dict[str, str]:
    """Qualified name of each torch loss module and functional -> the loss's name, from the rule files
    at the top of rules/ (torch's own): "torch.nn.functional.mse_loss" -> "MSELoss"."""
    names: dict[str, str] = {}
    for path in sorted(rules_dir().glob("*.toml")):
        if path.name == "codes.toml":
            continue
        with path.open("rb") as handle:
            loss = tomllib.load(handle).get("loss", {})
        for key in ("module", "functional"):
            if isinstance(loss.get(key), str) and loss[key].startswith("torch."):
                names[loss[key]] = loss.get("name", loss[key].rsplit(".", 1)[1])
    return names
