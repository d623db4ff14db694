"""The tree's types and style, checked: mypy ([tool.mypy] in pyproject.toml: strict on the core,
mypy's default mode elsewhere), `ruff check` and `ruff format --check` report nothing. Each tool
is also shown to fail on a small broken sample (a wrong type passed to a core function, an unused
import, a badly formatted line), so that a silent tool cannot pass for a clean tree.

mypy on the whole package is the slow part (about a minute from a cold cache): it runs once, in
one test, with its cache in `.mypy_cache` (ignored by git), and the sample after it reuses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

TIMEOUT = 540  # seconds; a bound for a hang (mypy cold on a loaded 2-core machine takes ~1 min)


def tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m <tool> ARGS`, from `cwd`, with the tree's configuration."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={
            "PATH": "/usr/bin:/bin",
            "NO_COLOR": "1",
            "MYPYPATH": str(ROOT),
            "PYTHONPATH": str(ROOT),
        },
    )


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return tool(
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(ROOT / ".mypy_cache"),
        *args,
    )


WRONG_TYPE = """\
from tutor.expr.parser import normalise

normalise(42)                   # a number where the expression's text belongs
"""


@pytest.mark.timeout(600)
def test_mypy_finds_nothing_in_the_tree_and_a_wrong_type_in_a_sample(tmp_path: Path) -> None:
    tree = mypy()
    assert tree.returncode == 0, tree.stdout[-4000:] + tree.stderr[-2000:]
    last = tree.stdout.splitlines()[-1]
    assert last.startswith("Success: no issues found in "), tree.stdout[-2000:]

    sample = tmp_path / "sample.py"
    sample.write_text(WRONG_TYPE)
    broken = mypy(str(sample))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert (
        f'{sample}:3: error: Argument 1 to "normalise" has incompatible type "int"; expected "str"  '
        "[arg-type]" in broken.stdout
    ), broken.stdout


def test_ruff_finds_nothing_in_the_tree() -> None:
    check = tool("ruff", "check", "--no-cache", ".")
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert check.stdout.strip() == "All checks passed!"
    fmt = tool("ruff", "format", "--check", "--no-cache", ".")
    assert fmt.returncode == 0, fmt.stdout[-4000:] + fmt.stderr[-2000:]
    assert fmt.stdout.strip().endswith("files already formatted")


def test_ruff_finds_an_unused_import_and_a_badly_formatted_line(tmp_path: Path) -> None:
    """The samples are checked with the tree's configuration (its rules, its line length)."""
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\nx = [1,2,  3]\n")
    config = ("--config", str(ROOT / "pyproject.toml"))
    check = tool(
        "ruff",
        "check",
        "--no-cache",
        "--output-format",
        "concise",
        *config,
        str(sample),
        cwd=tmp_path,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert "sample.py:1:8: F401 [*] `os` imported but unused" in check.stdout, check.stdout
    fmt = tool("ruff", "format", "--check", "--no-cache", *config, str(sample), cwd=tmp_path)
    assert fmt.returncode == 1, fmt.stdout + fmt.stderr
    assert "sample.py:3:" in fmt.stdout and "+ x = [1, 2, 3]" in fmt.stdout, fmt.stdout
    assert fmt.stdout.strip().endswith("1 file would be reformatted"), fmt.stdout

    # the configured line length, not ruff's default 88: 93 characters stay on one line
    long = tmp_path / "long.py"
    long.write_text("x = " + " + ".join(["1"] * 23) + "\n")
    fits = tool("ruff", "format", "--check", "--no-cache", *config, str(long), cwd=tmp_path)
    assert fits.returncode == 0, fits.stdout + fits.stderr
