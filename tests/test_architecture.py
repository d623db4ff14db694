"""The dependency rules of the layout, enforced: the core never imports Textual, the headless runner
never imports the UI, reading a lesson imports neither torch nor sympy, and no module imports
itself back through others. Static contracts (import-linter, [tool.importlinter] in pyproject.toml)
and what an import really loads (a fresh interpreter's sys.modules) are both checked, and each
check is shown to fail on a tree that breaks it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

CORE = (
    "tutor.expr",
    "tutor.lesson",
    "tutor.derive",
    "tutor.exercises",
    "tutor.train",
    "tutor.present",
    "tutor.code",
    "tutor.playground",
    "tutor.sandbox",
    "tutor.headless",
    "tutor.progress",
    "tutor.log",
)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts, on the package under `root` (its pyproject.toml)."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def loaded(code: str, root: Path = ROOT) -> list[str]:
    """The modules a fresh interpreter holds after running `code` (run from `root`)."""
    probe = code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def heavy(modules: list[str], names=("textual", "torch", "sympy", "sklearn")) -> list[str]:
    return sorted(
        {m.split(".")[0] for m in modules if m.split(".")[0] in names}
        | {m for m in modules if m.startswith("tutor.ui")}
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory) -> Path:
    """A copy of the package with one forbidden import in each layer rule's way."""
    root = tmp_path_factory.mktemp("broken")
    shutil.copytree(ROOT / "tutor", root / "tutor", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(ROOT / "lessons", root / "lessons")
    records = root / "tutor" / "lesson" / "records.py"
    records.write_text(
        records.read_text() + "\nimport textual.widget  # noqa\nimport torch  # noqa\n"
    )
    headless = root / "tutor" / "headless.py"
    headless.write_text(headless.read_text() + "\nimport tutor.ui.app  # noqa\n")
    limits = root / "tutor" / "lesson" / "limits.py"  # loading imports limits: now a cycle
    limits.write_text(limits.read_text() + "\nimport tutor.lesson.loading  # noqa\n")
    fields = root / "tutor" / "sandbox" / "fields.py"  # the typed fields above the sketch
    fields.write_text(fields.read_text() + "\nimport tutor.sandbox.graph  # noqa\n")
    return root


def test_the_contracts_catch_a_broken_tree(broken_tree):
    out = lint_imports(broken_tree).stdout
    assert "Contracts: 0 kept, 4 broken." in out, out[-3000:]
    assert "tutor.sandbox.fields is not allowed to import tutor.sandbox.graph" in out
    assert "tutor.headless is not allowed to import tutor.ui" in out or "tutor.ui" in out
    assert "tutor.lesson is not allowed to import textual" in out


def test_reading_every_lesson_loads_no_ui_torch_or_sympy():
    modules = loaded(
        "import tutor.lesson as l\nfor p in l.lesson_paths(): l.load(p)\nl.catalogue()"
    )
    assert heavy(modules) == []
    assert "numpy" not in modules  # the format is the standard library and tutor.expr


def test_the_core_imports_no_textual():
    code = (
        "import importlib, pkgutil, tutor\n"
        f"for name in {CORE!r}:\n"
        "    mod = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(getattr(mod, '__path__', []), name + '.'):\n"
        "        importlib.import_module(info.name)"
    )
    modules = loaded(code)
    assert (
        "tutor.train.session" in modules and "tutor.derive.scalar" in modules
    )  # the walk reached them
    assert [m for m in modules if m == "textual" or m.startswith(("textual.", "tutor.ui"))] == []


def test_a_headless_run_never_imports_the_ui():
    modules = loaded(
        "from tutor.cli import main\nmain(['single-neuron', '--headless', '--epochs', '2'])"
    )
    assert (
        "tutor.headless" in modules
        and "tutor.derive" in modules
        and "tutor.train.session" in modules
    )
    assert [m for m in modules if m == "textual" or m.startswith(("textual.", "tutor.ui"))] == []


def test_the_probe_sees_a_forbidden_import(broken_tree):
    # through the package's lazy names (tutor/lesson/__init__.py): the records load with Lesson
    modules = loaded("from tutor.lesson import Lesson", root=broken_tree)
    assert heavy(modules) == ["textual", "torch"]


def cycles(root: Path) -> list[list[str]]:
    """Pairs of tutor modules each of which imports the other, directly or through others."""
    code = (
        "import grimp, json\n"
        "g = grimp.build_graph('tutor')\n"
        "print(json.dumps(sorted({tuple(sorted((m, i))) for m in g.modules\n"
        "    for i in g.find_modules_directly_imported_by(m)\n"
        "    if i.startswith('tutor') and g.find_shortest_chain(importer=i, imported=m)})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    return json.loads(out)


def test_no_module_imports_itself_back(broken_tree):
    assert cycles(ROOT) == []
    assert ["tutor.lesson.limits", "tutor.lesson.loading"] in cycles(broken_tree)


def test_lessons_readme_lists_every_limit_of_the_format():
    """Each limit is defined once (tutor/lesson/limits.py, tutor/expr/parser.py); the authors'
    documentation names every one with its value."""
    import tutor.expr.parser as parser
    import tutor.lesson.limits as limits

    readme = (ROOT / "lessons" / "README.md").read_text(encoding="utf-8")
    names = [n for n in dir(limits) if n.startswith("MAX_")] + [
        "MAX_LENGTH",
        "MAX_DEPTH",
        "MAX_EXPONENT",
    ]
    missing = [n for n in names if f"`{n}`" not in readme]
    assert missing == [], f"not in lessons/README.md: {missing}"
    assert parser.MAX_NODES == 400 and "| `MAX_NODES`    | 400   |" in readme
