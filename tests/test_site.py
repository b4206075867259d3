"""The docs site builds with `mkdocs build --strict`: a broken link or anchor, or a page left out of the
navigation, is a warning there (mkdocs.yml `validation:`) and so a failure here. The README's links
into docs/ are relative file links that resolve (they work on GitHub), and the runnable examples of
the README and the site's home page print what they show.

mkdocs and Material for MkDocs are in the `test` extra (and the `docs` extra), so the build runs in CI;
it skips only where they are not installed, and fails there too when LOSSLINT_REQUIRE_INTEGRATION is set.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import textwrap
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Python blocks shown with their output, on the pages a reader copies them from.
# Every page a person writes (the generated reference is tested by test_docs.py and test_targets.py).
WRITTEN = [ROOT / "README.md", ROOT / "docs" / "index.md", *sorted((ROOT / "docs").glob("guides/*.md")), *sorted((ROOT / "docs").glob("how-it-works/*.md"))]
SHOWN_WITH_OUTPUT = [path for path in WRITTEN if "import losslint" in path.read_text(encoding="utf-8")]
_EXAMPLE = re.compile(r"```python\n(.*?)```\s*```text\n(.*?)```", re.S)


def _need_mkdocs() -> None:
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed: pip install -e \".[docs]\" (the `test` extra has them too)"
    if os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):
        pytest.fail(message)
    pytest.skip(message)


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True, text=True, timeout=600, env=env,
    )


def _warnings(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith(("WARNING", "ERROR"))]


def test_the_site_builds_strict_without_a_warning(tmp_path):
    _need_mkdocs()
    done = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0 and not _warnings(done), done.stdout[-3000:] + done.stderr[-5000:]
    # Every generated page is in the navigation (the globs in mkdocs.yml are expanded by its hook).
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for page in ("codes/LL301/", "losses/CrossEntropyLoss/", "losses/monai.DiceLoss/", "guides/training-hooks/"):
        assert f'href="{page}"' in home, f"{page} is not in the navigation"


def test_a_broken_link_or_a_page_outside_the_navigation_fails_the_build(tmp_path):
    """The same configuration on a copy of docs/ with one broken link, one bad anchor and one page the
    navigation does not list: each is named, and the build fails."""
    _need_mkdocs()
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "maintainer", tmp_path / "maintainer")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    guide = tmp_path / "docs" / "guides" / "configuration.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\n[gone](no-such-page.md), [nowhere](ci-and-pytest.md#no-such-heading)\n")
    (tmp_path / "docs" / "orphan.md").write_text("# Not in the navigation\n")
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    found = "\n".join(_warnings(done))
    assert done.returncode != 0
    assert "no-such-page.md" in found and "no-such-heading" in found
    assert "not included in the \"nav\"" in found and "orphan.md" in done.stdout + done.stderr


def test_readme_links_into_the_docs_are_relative_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    for link in local:
        assert not link.startswith("/"), f"README links {link}: use a path relative to the repository root"
        assert (ROOT / link).is_file(), f"README links {link}, which does not exist"


def _examples(path: Path) -> list[tuple[str, str]]:
    """The self-contained examples (they import losslint) followed by the output they show."""
    return [(code, shown) for code, shown in _EXAMPLE.findall(path.read_text(encoding="utf-8")) if "import losslint" in code]


@pytest.mark.parametrize("path", SHOWN_WITH_OUTPUT, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_examples_print_what_the_page_shows(path):
    examples = _examples(path)
    if not examples:
        pytest.skip(f"{path.name}: no self-contained example shown with its output")
    for code, shown in examples:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, {})  # noqa: S102 - the page's code, as a reader would run it
        assert out.getvalue().strip() == shown.strip(), f"{path.name}:\n{code}"


_PYTHON = re.compile(r"^(?P<indent>[ ]*)```python\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_python_block_on_a_page_is_valid_python(path):
    """A fragment that depends on the reader's own model or loader cannot run here, but it must parse."""
    for match in _PYTHON.finditer(path.read_text(encoding="utf-8")):
        body = textwrap.dedent(match["body"])
        try:
            compile(body, f"{path.name} block", "exec")
        except SyntaxError as exc:
            pytest.fail(f"{path.relative_to(ROOT)}: a python block does not parse: {exc}\n{body}")
