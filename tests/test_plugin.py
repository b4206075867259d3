"""The pytest plugin, driven with pytest's own `pytester`: inert without --losslint, and with it a
test whose loss calls have findings fails with the rendered report."""

from __future__ import annotations


import pytest

pytest_plugins = ["pytester"]

SUITE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
LOGITS = torch.randn(16, 5)
LABELS = torch.randint(0, 5, (16,))


def test_double_softmax():
    loss = nn.CrossEntropyLoss()(LOGITS.softmax(dim=1), LABELS)
    assert loss.item() > 0


def test_clean():
    loss = nn.CrossEntropyLoss()(LOGITS, LABELS)
    assert loss.item() > 0
"""


@pytest.fixture
def suite(pytester, monkeypatch):
    # The plugin is named explicitly (-p below): an installed copy's entry point must not load it a
    # second time. tests/test_wheel.py runs the real entry point from the built wheel.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_losses=SUITE)
    return pytester


def run(pytester, *args):
    return pytester.runpytest_inprocess("-p", "losslint.integrations.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_plain_pytest_passes_both(suite):
    result = run(suite)
    result.assert_outcomes(passed=2)
    assert "losslint" not in result.stdout.str()


def test_losslint_fails_the_double_softmax_test(suite):
    result = run(suite, "--losslint")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "losslint: every test under watch(), fail-on warning" in out
    result.stdout.fnmatch_lines([
        "*_ test_double_softmax _*",
        "losslint: loss calls with findings at or above 'warning'",
        "test_losses.py:11: CrossEntropyLoss",
        "warning[[]LL301] CrossEntropyLoss: `input` *",
        "  help: *",
        "losslint: 1 warning at 1 call site",
        "FAILED test_losses.py::test_double_softmax*",
    ])
    assert "test_clean FAILED" not in out and "_ test_clean _" not in out


def test_fail_on_error_lets_a_warning_pass(suite):
    run(suite, "--losslint", "--losslint-fail-on=error").assert_outcomes(passed=2)


def test_marker_adjusts_one_test(suite):
    suite.makepyfile(test_marked=SUITE.replace(
        "def test_double_softmax", '@pytest.mark.losslint(ignore=["LL3"])\ndef test_double_softmax'
    ).replace("import torch\n", "import pytest\nimport torch\n", 1))
    suite.makepyfile(test_threshold=SUITE.replace(
        "def test_double_softmax", '@pytest.mark.losslint(fail_on="error")\ndef test_double_softmax'
    ).replace("import torch\n", "import pytest\nimport torch\n", 1))
    result = run(suite, "--losslint", "test_marked.py", "test_threshold.py", "test_losses.py")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_losses.py::test_double_softmax*"])


def test_a_bad_marker_fails_its_test(suite):
    suite.makepyfile(test_bad="""
        import pytest

        @pytest.mark.losslint(ignroe=["LL301"])
        def test_typo():
            pass
    """)
    result = run(suite, "--losslint", "test_bad.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*losslint marker: takes only the keywords ignore, select, fail_on; got ignroe*"])


def test_inline_suppression_on_the_calling_line(suite):
    suite.makepyfile(test_losses=SUITE.replace(
        "LOGITS.softmax(dim=1), LABELS)", "LOGITS.softmax(dim=1), LABELS)  # losslint: ignore[LL301]"
    ))
    run(suite, "--losslint").assert_outcomes(passed=2)


def test_pyproject_settings_and_the_command_line_over_them(suite):
    suite.makepyprojecttoml('[tool.losslint]\nfail-on = "error"\n')
    run(suite, "--losslint").assert_outcomes(passed=2)
    run(suite, "--losslint", "--losslint-fail-on=warning").assert_outcomes(passed=1, failed=1)
    suite.makepyprojecttoml('[tool.losslint]\n[tool.losslint.severity]\nLL301 = "error"\n')
    result = run(suite, "--losslint", "--losslint-fail-on=error")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["error[[]LL301] CrossEntropyLoss*"])


def test_a_bad_pyproject_is_a_usage_error(suite):
    suite.makepyprojecttoml('[tool.losslint]\nignore = ["LL9"]\n')
    result = run(suite, "--losslint")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*losslint: *ignore: 'LL9' is neither a losslint code nor a prefix*"])


def test_an_invalid_rule_file_is_a_usage_error(suite):
    suite.makepyprojecttoml('[tool.losslint]\nrules = ["bad.toml"]\n')
    (suite.path / "bad.toml").write_text("[loss]\nname = 'X'\n")
    result = run(suite, "--losslint")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*losslint: invalid rule files: *bad.toml*"])


def test_a_test_that_fails_anyway_gets_the_findings_as_a_section(suite):
    suite.makepyfile(test_crash="""
        import torch
        import torch.nn.functional as F

        def test_raw_logits():
            torch.manual_seed(0)
            loss = F.nll_loss(torch.randn(16, 5) * 3, torch.randint(0, 5, (16,)))
            assert loss.item() > 1e9, "the model's own check fails"
    """)
    result = run(suite, "--losslint", "test_crash.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E * AssertionError: the model's own check fails",
        "*- Captured losslint call -*",
        "test_crash.py:6: NLLLoss",
        "warning[[]LL302] NLLLoss: `input` has positive values*",
    ])


def test_a_call_torch_would_reject_is_stopped_before_it_runs(suite):
    # On a GPU torch's own failure is a device-side assert that poisons the process; losslint stops
    # the call first and fails the test with its report instead.
    suite.makepyfile(test_crash="""
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        def test_one_hot():
            labels = torch.randint(0, 5, (16,))
            nn.CrossEntropyLoss()(torch.randn(16, 5), F.one_hot(labels, 5))
    """)
    result = run(suite, "--losslint", "test_crash.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "losslint stopped a CrossEntropyLoss call that torch would reject, at test_crash.py:7",
        "",
        "test_crash.py:7: CrossEntropyLoss",
        "error[[]LL202] CrossEntropyLoss: `target` looks one-hot*",
    ])
    assert "RuntimeError" not in result.stdout.str()  # torch never ran the call
    # A test that checks torch's own error opts out with its marker.
    suite.makepyfile(test_torch_error="""
        import pytest
        import torch
        import torch.nn.functional as F

        @pytest.mark.losslint(ignore=["ALL"])
        def test_torch_rejects_one_hot_targets():
            with pytest.raises(RuntimeError, match="Expected floating point type"):
                F.cross_entropy(torch.randn(16, 5), F.one_hot(torch.randint(0, 5, (16,)), 5))
    """)
    run(suite, "--losslint", "test_torch_error.py").assert_outcomes(passed=1)


def test_fail_on_alone_implies_losslint(suite):
    suite.makepyfile(test_raw="""
        import torch
        import torch.nn.functional as F

        def test_raw_logits():
            torch.manual_seed(0)
            F.nll_loss(torch.randn(16, 5) * 3, torch.randint(0, 5, (16,)))
    """)
    run(suite, "test_raw.py").assert_outcomes(passed=1)
    result = run(suite, "--losslint-fail-on=warning", "test_raw.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["losslint: every test under watch(), fail-on warning*", "*warning[[]LL302]*"])
    run(suite, "--losslint-fail-on=error", "test_raw.py").assert_outcomes(passed=1)


def test_inert_without_the_flag(suite):
    suite.makepyfile(test_modes="""
        import torch

        def test_no_function_mode():
            assert torch._C._len_torch_function_stack() == 0
            assert not hasattr(torch.nn.functional.cross_entropy, "__wrapped__")
    """)
    run(suite, "test_modes.py").assert_outcomes(passed=1)
    # With the flag, the test body runs inside watch(), which wraps the loss functionals.
    run(suite, "--losslint", "test_modes.py").assert_outcomes(failed=1)


def test_options_in_help(suite):
    result = run(suite, "--help")
    result.stdout.fnmatch_lines(["losslint: PyTorch loss-call checks:", "*--losslint *", "*--losslint-fail-on*"])
    assert "losslint(ignore=" in run(suite, "--markers").stdout.str()


def test_inert_pytest_startup_imports_no_torch(pytester, monkeypatch):
    # A fresh interpreter: this one has torch already. The collected test imports nothing either.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")
    code = (
        "import sys, pytest; "
        "status = pytest.main(['-p', 'losslint.integrations.pytest_plugin', '-p', 'no:cacheprovider', '-q', 'test_plain.py']); "
        "print(sorted(m for m in ('torch', 'losslint.judging.engine') if m in sys.modules)); sys.exit(status)"
    )
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
