"""`--format sarif` for `losslint lint`, `check` and `run`: one writer, SARIF 2.1.0 logs.

The OASIS schema (sarif-schema-2.1.0.json) is not shipped by any Python package and its license is
OASIS's IPR policy, so it is not copied here. `STRUCTURE` below is written from the standard's
required properties and enumerations (sections 3.13 sarifLog, 3.14 run, 3.18 tool, 3.19
toolComponent, 3.27 result, 3.11 message, 3.28 location, 3.29 physicalLocation, 3.4 artifactLocation,
3.30 region, 3.49 reportingDescriptor, 3.27.10 level) and always runs; with LOSSLINT_SARIF_SCHEMA set to
a copy of the official schema, the same logs are validated against it as well.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

from losslint.cli import main  # noqa: E402

_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
STRUCTURE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "rules": {"type": "array", "items": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "shortDescription": _TEXT,
                                "fullDescription": _TEXT,
                                "help": _TEXT,
                                "defaultConfiguration": {"type": "object", "properties": {"level": _LEVEL}},
                            },
                        }},
                    },
                }}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "level": _LEVEL,
                        "message": _TEXT,
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "properties": {
                                "artifactLocation": {"type": "object", "properties": {
                                    "uri": {"type": "string", "format": "uri-reference"},
                                    "uriBaseId": {"type": "string"},
                                }},
                                "region": {"type": "object", "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1},
                                }},
                            }},
                        }}},
                        "properties": {"type": "object"},
                    },
                }},
            },
        }},
    },
}


def validate(log: dict) -> None:
    jsonschema.Draft7Validator(STRUCTURE).validate(log)
    official = os.environ.get("LOSSLINT_SARIF_SCHEMA")
    if official:
        schema = json.loads(Path(official).read_text(encoding="utf-8"))
        jsonschema.Draft4Validator(schema).validate(log)
    # What GitHub code scanning relies on beyond the schema: each result's rule is found by its index.
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_the_structure_rejects_what_sarif_forbids():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(STRUCTURE).validate({"version": "2.1.0", "runs": [{"results": []}]})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(STRUCTURE).validate(
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "info"}]}]})


BAD = """import torch.nn as nn
import torch.nn.functional as F

criterion = nn.BCEWithLogitsLoss()


def step(model, x, y):
    return criterion(torch.sigmoid(model(x)), y) + F.nll_loss(F.softmax(model(x), 1), y)
"""


def test_lint_sarif(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "train.py").write_text(BAD.replace("import torch.nn as nn", "import torch\nimport torch.nn as nn"), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    assert main(["lint", "--format", "sarif", "."]) == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["LL008", "LL305", "LL303"]
    results = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]]
    assert results == [("LL008", "error", "broken.py", 1), ("LL305", "warning", "pkg/train.py", 9),
                       ("LL303", "warning", "pkg/train.py", 9)]
    assert run["results"][1]["message"]["text"].startswith("static: `input` is sigmoid output")
    assert "\nhelp: " in run["results"][1]["message"]["text"]


def test_lint_sarif_without_findings_is_a_valid_empty_log(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    assert main(["lint", "--format", "sarif", "ok.py"]) == 0
    log = json.loads(capsys.readouterr().out)
    validate(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_check_and_run_sarif(tmp_path, monkeypatch, capsys):
    import torch
    import torch.nn.functional as F

    monkeypatch.chdir(tmp_path)
    labels = torch.randint(0, 5, (8,), generator=torch.Generator().manual_seed(0))
    torch.save(torch.randn(8, 5), "logits.pt")
    torch.save(F.one_hot(labels, 5), "onehot.pt")
    assert main(["check", "--format", "sarif", "CrossEntropyLoss", "logits.pt", "onehot.pt"]) == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "LL202"]
    # Tensors in files: no source line; the result points at the first file, as code scanning needs a location.
    location = result["locations"][0]["physicalLocation"]
    assert result["level"] == "error" and location == {"artifactLocation": {"uri": "logits.pt", "uriBaseId": "%SRCROOT%"}}

    (tmp_path / "train.py").write_text(
        "import torch\nimport torch.nn.functional as F\n\nx, y = torch.randn(16, 4), torch.randint(0, 4, (16,))\n"
        "loss = F.nll_loss(torch.randn(16, 4) * 3, y)\n", encoding="utf-8")
    assert main(["run", "--format", "sarif", "train.py"]) == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    (result,) = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert (result["ruleId"], location["artifactLocation"]["uri"], location["region"]["startLine"]) == ("LL302", "train.py", 5)


def test_notebook_findings_name_the_cell_not_a_line_of_the_json(tmp_path, monkeypatch, capsys):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch.nn as nn\nimport torch.nn.functional as F"),
                nbformat.v4.new_code_cell("loss = nn.NLLLoss()(F.softmax(x, 1), y)")]
    nbformat.write(nb, str(tmp_path / "nb.ipynb"))
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--format", "sarif", "nb.ipynb"]) == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["message"]["text"].startswith("cell 2, line 1: static: `input` is softmax output")
    assert "region" not in result["locations"][0]["physicalLocation"]
    assert result["properties"] == {"cell": 2, "line_in_cell": 1}
    assert main(["lint", "--format", "github", "nb.ipynb"]) == 1
    assert capsys.readouterr().out.startswith("::warning file=nb.ipynb,title=LL303 ")
