"""`losslint lint`: each pattern in the shapes real training code takes, its one-line mutations, the
code it must leave alone, and the command's contract (exit status, formats, suppression, configuration).

Every script here is written for these tests in the style of tutorials and examples (a `Net` with a
`forward`, `train(model, loader, criterion, optimizer)`, `nn.Sequential`, notebooks). An expected
finding is marked on its line with `# <- LLxxx`; a case passes when the findings are exactly the marks.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from losslint.cli import main
from losslint.static import lint_paths

MARK = re.compile(r"#\s*<-\s*((?:LL\d{3}[ ,]*)+)")


def marks(source: str) -> set[tuple[str, int]]:
    found = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = MARK.search(line)
        if match:
            found |= {(code, number) for code in re.findall(r"LL\d{3}", match.group(1))}
    return found


def lint(tmp_path: Path, source: str, name: str = "train.py") -> set[tuple[str, int]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return {(f.code, f.line) for f in lint_paths([path]).findings}


def check(tmp_path: Path, source: str) -> None:
    source = textwrap.dedent(source)
    assert lint(tmp_path, source) == marks(source)


def unmarked(source: str) -> str:
    return MARK.sub("", textwrap.dedent(source))


# ---- the shapes of real code ---------------------------------------------------------------------

NET = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return self.softmax(x)

    def predict(self, x):
        return F.softmax(self.forward(x), dim=1).argmax(1)


def train(model, device, train_loader, criterion, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)  # <- LL301
        loss.backward()
        optimizer.step()


def test(model, device, test_loader, criterion):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data.to(device))
            test_loss = criterion(output, target).item()  # <- LL301
            pred = output.argmax(dim=1, keepdim=True)


def main():
    device = torch.device("cpu")
    model = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(1, 3):
        train(model, device, [], criterion, optimizer, epoch)
        test(model, device, [], criterion)


if __name__ == "__main__":
    main()
"""


def test_softmax_forward_into_cross_entropy_through_train_and_test(tmp_path):
    check(tmp_path, NET)


def test_a_model_wrapped_for_several_devices_is_the_same_model(tmp_path):
    source = unmarked(NET).replace("    model = Net().to(device)", "    model = nn.DataParallel(Net()).to(device)")
    assert {code for code, _ in lint(tmp_path, source)} == {"LL301"}
    source = unmarked(NET).replace("    model = Net().to(device)",
                                   "    model = torch.nn.parallel.DistributedDataParallel(Net().to(device), device_ids=[0])")
    assert {code for code, _ in lint(tmp_path, source)} == {"LL301"}


def test_forward_returning_logits_is_quiet(tmp_path):
    assert lint(tmp_path, unmarked(NET).replace("return self.softmax(x)", "return x")) == set()


def test_forward_returning_log_softmax_into_nll_is_quiet_and_softmax_is_not(tmp_path):
    source = unmarked(NET).replace("criterion = nn.CrossEntropyLoss()", "criterion = nn.NLLLoss()")
    assert lint(tmp_path, source.replace("return self.softmax(x)", "return F.log_softmax(x, dim=1)")) == set()
    assert {code for code, _ in lint(tmp_path, source)} == {"LL303"}
    assert {code for code, _ in lint(tmp_path, source.replace("return self.softmax(x)", "return x"))} == {"LL302"}


def test_a_function_called_with_two_kinds_of_model_is_not_judged(tmp_path):
    source = unmarked(NET).replace(
        "        test(model, device, [], criterion)",
        "        test(model, device, [], criterion)\n        test(other, device, [], criterion)",
    ).replace("    model = Net().to(device)", "    model = Net().to(device)\n    other = make_model()")
    found = lint(tmp_path, source)
    assert {code for code, _ in found} == {"LL301"} and len(found) == 1  # train() still; test() no longer


def test_a_function_passed_as_a_callback_is_not_judged(tmp_path):
    source = unmarked(NET).replace("    main()", "    main()\n    run(train)")
    lines = {line for _, line in lint(tmp_path, source)}
    assert len(lines) == 1  # only test(): train may be called elsewhere with anything


SEQUENTIAL = """
import torch
from torch import nn

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(28 * 28, 512),
    nn.ReLU(),
    nn.Linear(512, 10),
    nn.Softmax(dim=1),
)
loss_fn = nn.CrossEntropyLoss()


def train_loop(dataloader, model, loss_fn, optimizer):
    for X, y in dataloader:
        pred = model(X)
        loss = loss_fn(pred, y)  # <- LL301
        loss.backward()


train_loop([], model, loss_fn, None)
"""


def test_sequential_with_softmax_last_into_cross_entropy(tmp_path):
    check(tmp_path, SEQUENTIAL)


def test_sequential_without_softmax_is_quiet(tmp_path):
    assert lint(tmp_path, unmarked(SEQUENTIAL).replace("    nn.Softmax(dim=1),\n", "")) == set()


TRAINER = """
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.head = nn.Linear(n, 5)

    def forward(self, x):
        return F.softmax(self.head(x), dim=-1)


class Trainer:
    def __init__(self, model):
        self.model = model
        self.criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

    def training_step(self, batch):
        x, y = batch
        logits = self.model(x)
        return self.criterion(logits, y)  # <- LL301


trainer = Trainer(Classifier(16))
"""


def test_self_criterion_set_in_init_used_in_the_training_step(tmp_path):
    check(tmp_path, TRAINER)


def test_self_criterion_reassigned_elsewhere_is_not_judged(tmp_path):
    source = unmarked(TRAINER).replace(
        "        return self.criterion(logits, y)",
        "        return self.criterion(logits, y)\n\n    def swap(self):\n        self.criterion = make()",
    )
    assert lint(tmp_path, source) == set()


def test_softmax_written_every_way_into_cross_entropy(tmp_path):
    check(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.nn.functional import softmax

        def step(model, x, y):
            logits = model(x)
            a = F.cross_entropy(F.softmax(logits, dim=1), y)  # <- LL301
            probs = torch.softmax(logits, 1)
            b = F.cross_entropy(probs, y)  # <- LL301
            c = nn.CrossEntropyLoss()(logits.softmax(dim=-1), y)  # <- LL301
            d = torch.nn.functional.cross_entropy(softmax(logits, 1), y)  # <- LL301
            e = F.cross_entropy(nn.Softmax(dim=1)(logits), y)  # <- LL301
            f = F.cross_entropy(F.log_softmax(logits, dim=1), y)  # <- LL307
            return a + b + c + d + e + f
    """)


def test_quiet_softmax_for_attention_metrics_and_predictions(tmp_path):
    assert lint(tmp_path, """
        import torch
        import torch.nn.functional as F

        def attention(q, k, v):
            weights = F.softmax(q @ k.transpose(-2, -1) / 8.0, dim=-1)
            return weights @ v

        def step(model, x, y):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            probs = F.softmax(logits, dim=1)
            accuracy = (probs.argmax(1) == y).float().mean()
            confidence = probs.max(1).values
            return loss

        def evaluate(model, x, y):
            out = model(x)
            out = F.softmax(out, 1)
            return out.argmax(1)

        def branches(model, x, y, calibrated):
            out = model(x)
            if calibrated:
                out = F.softmax(out, 1)
            return F.cross_entropy(out, y)

        def loop(model, batches):
            out = None
            for x, y in batches:
                loss = F.cross_entropy(out, y) if out is not None else 0
                out = F.softmax(model(x), 1)
    """) == set()


def test_nll_loss_patterns(tmp_path):
    check(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        def step(model, x, y):
            scores = model(x)
            good = F.nll_loss(F.log_softmax(scores, dim=1), y)
            also_good = F.nll_loss(torch.log(F.softmax(scores, dim=1)), y)
            bad = F.nll_loss(F.softmax(scores, dim=1), y)  # <- LL303
            picked = -F.nll_loss(F.softmax(scores, dim=1), y)
            raw = nn.NLLLoss()(nn.Linear(8, 3)(x), y)  # <- LL302
            return good + also_good + bad + picked + raw
    """)


def test_binary_losses(tmp_path):
    check(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class Discriminator(nn.Module):
            def __init__(self):
                super().__init__()
                self.main = nn.Sequential(nn.Linear(64, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid())

            def forward(self, x):
                return self.main(x).view(-1)

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(64, 1)

            def forward(self, x):
                return self.fc(x).squeeze(1)

        netD = Discriminator()
        head = Head()
        bce = nn.BCELoss()
        bce_logits = nn.BCEWithLogitsLoss()

        def step(x, label):
            a = bce(netD(x), label)
            b = bce_logits(head(x), label)
            c = bce_logits(netD(x), label)  # <- LL305
            d = bce(head(x), label)  # <- LL308
            e = F.binary_cross_entropy_with_logits(torch.sigmoid(head(x)), label)  # <- LL305
            f = F.binary_cross_entropy(torch.sigmoid(head(x)), label)
            return a + b + c + d + e + f
    """)


def test_kl_div(tmp_path):
    check(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F

        kd = nn.KLDivLoss()  # <- LL501
        kd_ok = nn.KLDivLoss(reduction="batchmean")
        kd_sum = nn.KLDivLoss(reduction="sum")

        def distill(student, teacher, T):
            a = kd_ok(F.log_softmax(student / T, dim=1), F.softmax(teacher / T, dim=1))
            b = F.kl_div(F.softmax(student, dim=1), F.softmax(teacher, dim=1), reduction="batchmean")  # <- LL303
            c = F.kl_div(F.log_softmax(student, dim=1), F.softmax(teacher, dim=1))  # <- LL501
            d = F.kl_div(F.log_softmax(student, dim=1), F.softmax(teacher, dim=1), reduction="mean")  # <- LL501
            return a + b + c + d
    """)


def test_one_hot_targets(tmp_path):
    check(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F

        criterion = nn.CrossEntropyLoss()

        def step(model, x, labels, device, target_dtype):
            logits = model(x)
            onehot = F.one_hot(labels, num_classes=10)
            a = criterion(logits, onehot)  # <- LL202
            b = F.nll_loss(F.log_softmax(logits, 1), F.one_hot(labels, 10).long())  # <- LL202
            c = criterion(logits, onehot.float())
            d = criterion(logits, F.one_hot(labels, 10).to(logits.dtype))
            e = criterion(logits, F.one_hot(labels, 10).to(device))  # <- LL202
            f = criterion(logits, F.one_hot(labels, 10).to(x.device, non_blocking=True))  # <- LL202
            g = criterion(logits, F.one_hot(labels, 10).to(target_dtype))
            return a + b + c + d + e + f + g
    """)


def test_deprecated_arguments(tmp_path):
    check(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F

        mse = nn.MSELoss(size_average=False)  # <- LL504
        ce = nn.CrossEntropyLoss(reduce=False)  # <- LL504
        ok = nn.CrossEntropyLoss(reduction="none")

        def step(pred, target):
            return F.binary_cross_entropy(pred, target, size_average=False) + F.l1_loss(pred, target, reduction="elementwise_mean")  # <- LL504
    """)


def test_bce_under_cuda_autocast(tmp_path):
    check(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        criterion = nn.BCELoss()
        logits_loss = nn.BCEWithLogitsLoss()

        def step(model, x, y, device, use_amp):
            with torch.autocast("cuda", dtype=torch.float16):
                out = torch.sigmoid(model(x))
                a = criterion(out, y)  # <- LL107
                b = logits_loss(model(x), y)
            with torch.cuda.amp.autocast():
                c = F.binary_cross_entropy(out, y)  # <- LL107
            with torch.autocast(device_type="cuda"):
                d = criterion(out, y)  # <- LL107
            with torch.autocast("cpu"):
                e = criterion(out, y)
            with torch.autocast(device.type):
                f = criterion(out, y)
            with torch.autocast("cuda", enabled=use_amp):
                g = criterion(out, y)
            with torch.autocast("cuda"):
                with torch.autocast("cuda", enabled=False):
                    i = criterion(out.float(), y)
            h = criterion(out, y)
            return a + b + c + d + e + f + g + h
    """)


def test_tuples_returned_and_unpacked(tmp_path):
    check(tmp_path, """
        import torch.nn as nn
        import torch.nn.functional as F

        class RNNModel(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(8, 16)
                self.decoder = nn.Linear(16, 100)

            def forward(self, x, hidden):
                output, hidden = self.rnn(x, hidden)
                decoded = self.decoder(output)
                return F.softmax(decoded, dim=1), hidden

        model = RNNModel()
        criterion = nn.NLLLoss()

        def train(data, targets, hidden):
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)  # <- LL303
            return loss
    """)


# ---- suppression and selection -------------------------------------------------------------------


def test_ignore_comments(tmp_path):
    source = """
        import torch.nn.functional as F

        def step(logits, y):
            a = F.cross_entropy(F.softmax(logits, 1), y)  # losslint: ignore[LL301]
            b = F.cross_entropy(F.softmax(logits, 1), y)  # losslint: ignore
            c = F.cross_entropy(F.softmax(logits, 1), y)  # losslint: ignore[LL3]
            d = F.cross_entropy(F.softmax(logits, 1), y)  # losslint: ignore[LL202]  <- LL301
            return a + b + c + d
    """
    found = lint(tmp_path, source)
    assert found == {("LL301", 8)}


def test_pyproject_selection_and_severity(tmp_path, monkeypatch, capsys):
    (tmp_path / "train.py").write_text(unmarked(SEQUENTIAL), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.losslint]\nignore = ["LL3"]\n', encoding="utf-8")
    assert main(["lint", "train.py"]) == 0
    (tmp_path / "pyproject.toml").write_text('[tool.losslint]\n[tool.losslint.severity]\nLL301 = "error"\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["lint", "--format", "json", "--fail-on", "error", "train.py"]) == 1
    assert [f["severity"] for f in json.loads(capsys.readouterr().out)] == ["error"]
    assert main(["lint", "--select", "LL5", "train.py"]) == 0
    (tmp_path / "pyproject.toml").write_text('[tool.losslint]\nignore = ["LL9"]\n', encoding="utf-8")
    assert main(["lint", "train.py"]) == 2
    assert "LL9" in capsys.readouterr().err


# ---- notebooks and unreadable files --------------------------------------------------------------


def _notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    for kind, text in cells:
        nb.cells.append(nbformat.v4.new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, str(path))


def test_notebook_cells_are_followed_across_cells(tmp_path):
    path = tmp_path / "nb.ipynb"
    _notebook(path, [
        ("markdown", "# Training"),
        ("code", "%matplotlib inline\nimport torch\nimport torch.nn as nn\n!pip list"),
        ("code", "model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))\ncriterion = nn.CrossEntropyLoss()"),
        ("code", "%%bash\necho not python"),
        ("code", "if colab:\n    %pip install torch\n    gpu_info = !nvidia-smi\nnn.Linear?\n"),
        ("code", "  # indented as a whole, as IPython allows\n  x = 1"),
        ("code", "for x, y in []:\n    loss = criterion(model(x), y)"),
        ("code", "def broken(:\n    pass"),
    ])
    findings = lint_paths([path]).findings
    assert [(f.code, f.cell, f.line) for f in findings] == [("LL301", 7, 2), ("LL008", 8, 1)]
    assert findings[0].to_dict()["cell"] == 7


def test_unreadable_files_are_reported_and_the_rest_linted(tmp_path, capsys):
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\nx = 1\n".encode("latin-1"))
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "bad.py").write_text(unmarked(SEQUENTIAL), encoding="utf-8")
    (tmp_path / "fine.py").write_text("x = 1\n", encoding="utf-8")
    assert main(["lint", "--format", "json", str(tmp_path)]) == 1
    found = {(Path(f["path"]).name, f["code"], f["line"]) for f in json.loads(capsys.readouterr().out)}
    assert found == {("latin1.py", "LL008", 1), ("broken.py", "LL008", 1), ("bad.py", "LL301", 18)}


# ---- the command ---------------------------------------------------------------------------------


def test_exit_statuses(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.py").write_text("import torch.nn as nn\nloss = nn.CrossEntropyLoss()\n", encoding="utf-8")
    (tmp_path / "bad.py").write_text(unmarked(SEQUENTIAL), encoding="utf-8")
    assert main(["lint", "clean.py"]) == 0
    assert "no problems found in 1 file (2 lines)" in capsys.readouterr().out
    assert main(["lint", "bad.py"]) == 1
    assert main(["lint", "--fail-on", "error", "bad.py"]) == 0  # LL301 is a warning
    assert main(["lint", "missing.py"]) == 2
    assert capsys.readouterr().err.strip() == "losslint: error: cannot lint missing.py: no such file or directory"
    assert main(["lint", "--format", "xml", "bad.py"]) == 2
    assert main(["lint"]) == 2


def test_json_fields(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(unmarked(SEQUENTIAL), encoding="utf-8")
    assert main(["lint", "--format", "json", "bad.py"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)
    assert finding == {
        "path": "bad.py", "line": 18, "column": 16, "code": "LL301", "name": "probabilities-passed-as-logits",
        "severity": "warning", "loss": "CrossEntropyLoss", "argument": "input", "torch_raises": False,
        "message": "static: `input` is softmax output (the `nn.Sequential` made at line 5, whose last layer is "
                   "`nn.Softmax`), expected raw logits: CrossEntropyLoss applies log_softmax itself",
        "fix": "drop the softmax and pass the logits; apply softmax only where probabilities are needed (inference, metrics)",
    }


def test_text_and_github_formats(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(unmarked(SEQUENTIAL), encoding="utf-8")
    main(["lint", "bad.py"])
    out = capsys.readouterr().out
    assert out.startswith("bad.py:18:16: warning[LL301] CrossEntropyLoss: static: `input` is softmax output")
    assert "\n  help: drop the softmax" in out and out.rstrip().endswith("losslint: 1 warning in 1 file (22 lines)")
    main(["lint", "--format", "github", "bad.py"])
    assert capsys.readouterr().out.startswith(
        "::warning file=bad.py,line=18,col=16,title=LL301 probabilities-passed-as-logits (CrossEntropyLoss)::static: ")


def test_lint_never_imports_torch(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad.py").write_text(unmarked(NET), encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['pydantic'] = None\n"
        "from losslint.cli import main\n"
        f"status = main(['lint', '--format', 'json', {str(tmp_path)!r}])\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1, result.stderr
    assert {f["code"] for f in json.loads(result.stdout)} == {"LL301"}


def test_code_pages_say_how_the_code_is_found():
    from losslint.advice.docs import build_pages

    pages = build_pages()
    assert "- In the source, by [`losslint lint`](../guides/lint.md)" in pages["codes/LL301.md"]
    assert "- At run time" in pages["codes/LL301.md"]
    assert "Not in the source" in pages["codes/LL401.md"]
    assert "- At run time" not in pages["codes/LL008.md"]


def test_quiet_when_the_source_does_not_make_it_certain(tmp_path):
    assert lint(tmp_path, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
        model[-1] = nn.Identity()
        head = nn.Sequential(nn.Linear(4, 3))
        head.add_module("act", nn.Softmax(dim=1))
        criterion = nn.CrossEntropyLoss()

        class Scorer:
            def softmax(self, x):
                return x

        def step(x, y, scorer, graph_utils, T):
            a = criterion(model(x), y)
            b = criterion(head(x), y)
            c = criterion(scorer.softmax(x), y)
            d = criterion(graph_utils.softmax(x, y), y)
            e = criterion(F.softmax(x, dim=1)[:, 0], y)
            f = criterion(F.softmax(x, dim=1) * T, y)
            g = -1 * F.nll_loss(F.softmax(x, dim=1), y)
            h = 1.0 - F.nll_loss(F.softmax(x, dim=1), y)
            with torch.autocast("cuda"):
                def later(p, t):
                    return nn.BCELoss()(p, t)
            return a + b + c + d + e + f + g + h
    """) == set()


def test_the_documented_example_is_what_the_command_prints(tmp_path, monkeypatch, capsys):
    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "guides" / "lint.md").read_text(encoding="utf-8")
    script = page.split("```python\n", 1)[1].split("```", 1)[0]
    shown = page.split("```text\n$ losslint lint train.py\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(script, encoding="utf-8")
    assert main(["lint", "train.py"]) == 1
    assert capsys.readouterr().out == shown
    assert shown in (root / "README.md").read_text(encoding="utf-8")


def test_lightning_module_calling_itself(tmp_path):
    check(tmp_path, """
        import lightning as L
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class LitClassifier(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.backbone = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(dim=-1))

            def forward(self, x):
                return self.backbone(x)

            def training_step(self, batch, batch_idx):
                x, y = batch
                logits = self(x)
                loss = F.cross_entropy(logits, y)  # <- LL301
                self.log("train_loss", loss)
                return loss

            def configure_optimizers(self):
                return torch.optim.Adam(self.parameters(), lr=1e-3)
    """)


def test_a_long_chain_of_calls_that_does_not_settle_is_judged_function_by_function(tmp_path):
    # Each hop needs one more round to be known; beyond the rounds the flow runs, nothing crossing a
    # function boundary is trusted (a later round could still find another caller and make it unknown).
    hops = "\n".join(f"def f{i}(m, x, y):\n    return f{i + 1}(m, x, y)\n" for i in range(10))
    source = (
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n"
        + hops
        + "def f10(m, x, y):\n    return F.cross_entropy(m(x), y)\n\n"
        + "def local(x, y):\n    return F.cross_entropy(F.softmax(x, 1), y)  # <- LL301\n\n"
        + "f0(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1)), 1, 2)\n"
    )
    assert lint(tmp_path, source) == marks(source)
    short = "import torch.nn as nn\nimport torch.nn.functional as F\n\n" + "\n".join(
        f"def f{i}(m, x, y):\n    return f{i + 1}(m, x, y)\n" for i in range(2)) + (
        "def f2(m, x, y):\n    return F.cross_entropy(m(x), y)\n\n"
        "f0(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1)), 1, 2)\n")
    assert {code for code, _ in lint(tmp_path, short)} == {"LL301"}


def test_folders_skip_environments_caches_and_hidden_folders(tmp_path):
    bad = unmarked(SEQUENTIAL)
    for folder in ("src", "env", ".venv", "myenv", "build", ".ipynb_checkpoints", "__pycache__"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train.py").write_text(bad, encoding="utf-8")
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text(bad, encoding="utf-8")
    found = {Path(f.path).parent.name for f in lint_paths([tmp_path]).findings}
    assert found == {"src", "env"}
    # A file named on the command line is read whatever its folder or suffix.
    assert len(lint_paths([tmp_path / "build" / "train.py", tmp_path / "notes.txt"]).findings) == 2


def test_self_in_a_base_class_may_be_a_subclass(tmp_path):
    # Base.forward is read once, for every instance: its subclass sets `head` to something else, so
    # what `self.head(x)` gives is not certain, even for a plain Base (a miss, never a false alarm).
    source = """
        import torch.nn as nn
        import torch.nn.functional as F

        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(8, 4)

            def forward(self, x):
                return self.head(x)

            def step(self, x, y):
                return F.nll_loss(self(x), y)

        class WithLogSoftmax(Base):
            def __init__(self):
                super().__init__()
                self.head = nn.Sequential(nn.Linear(8, 4), nn.LogSoftmax(dim=1))

        plain = Base()
        model = WithLogSoftmax()

        def train(x, y):
            a = F.nll_loss(plain(x), y)
            b = F.nll_loss(model(x), y)
            return a + b + model.step(x, y)
    """
    check(tmp_path, source)


def test_an_attribute_set_from_outside_the_class_is_unknown(tmp_path):
    source = unmarked(TRAINER).replace("trainer = Trainer(Classifier(16))",
                                       "trainer = Trainer(Classifier(16))\ntrainer.criterion = nn.BCEWithLogitsLoss()")
    assert lint(tmp_path, source) == set()
    source = unmarked(TRAINER).replace("trainer = Trainer(Classifier(16))",
                                       "trainer = Trainer(Classifier(16))\nsetattr(trainer, 'criterion', make())")
    assert lint(tmp_path, source) == set()
