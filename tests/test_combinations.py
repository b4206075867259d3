"""Every dtype and every plausible shape over every tensor argument of every valid rule-file call:
losslint's `torch_raises` must equal what the installed torch does (see combinations.py).

One test per loss and axis, listing every disagreement, so that a run on another torch release
(tests/versions.sh) gives the whole picture at once.
"""

from __future__ import annotations

import pytest

import combinations

GROUPS = [(loss.name, axis) for loss in sorted(combinations.torch_losses(), key=lambda l: l.name) for axis in ("dtype", "shape")]


@pytest.mark.parametrize("loss_name, axis", GROUPS)
def test_torch_raises_is_exact(loss_name, axis):
    problems = [p for case in combinations.cases({loss_name}, axes={axis}) if (p := combinations.judge(case))]
    assert not problems, f"{len(problems)} disagreements with torch:\n\n" + "\n\n".join(problems[:10])
