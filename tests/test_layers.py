"""The rules of the test layers, read from the test files' syntax trees (ast, not grep):

- tests/unit never imports subprocess or pty, nor runs the CLI, a headless run or an app
  (run_cli, headless_run, headless_json, run_test): no child process, no terminal;
- tests/cli never drives the app with a pilot;
- no test file waits for a time: no pilot.pause(<seconds>), time.sleep(…), asyncio.sleep(…).
  The one poll of each kind is allowed where it is defined: `until` in tests/ui/conftest.py
  (pilot tests) and `wait_for` in tests/support.py (the rest);
- no test asserts a wall-clock figure: nothing computed from time.monotonic, time.perf_counter
  or time.time is compared in an assert (bench/ measures times; a deadline for a hang is fine).

Each rule is also run on a small sample that breaks it, so that the checks themselves can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
POLLS = {
    ("ui/conftest.py", "until"),
    ("support.py", "wait_for"),
}  # (file, function) allowed to poll
NO_PROCESS = {"subprocess", "pty"}
NO_RUN = {"run_cli", "headless_run", "headless_json", "run_test"}
CLOCKS = {"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "time", "time_ns"}
ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
DURATIONS = {
    "took",
    "elapsed",
    "duration",
    "latency",
    "stopped_after",
}  # names that hold a measured time


def files(layer: str | None = None) -> list[Path]:
    root = TESTS / layer if layer else TESTS
    return sorted(p for p in root.rglob("*.py") if "__snapshots__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def called(node: ast.Call) -> str:
    """`f(…)` → 'f', `a.b.f(…)` → 'f'."""
    func = node.func
    return (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else ""
    )


def dotted(node) -> str:
    """`time.sleep` → 'time.sleep', `pilot.pause` → 'pilot.pause', `self.pilot.pause` → 'pilot.pause'."""
    if isinstance(node, ast.Attribute):
        inner = node.value
        name = (
            inner.attr
            if isinstance(inner, ast.Attribute)
            else inner.id
            if isinstance(inner, ast.Name)
            else ""
        )
        return f"{name}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def functions_of(tree: ast.AST):
    """Each node with the name of the innermost function around it (or '')."""

    def walk(node, where):
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else where
            )
            yield child, inner
            yield from walk(child, inner)

    yield from walk(tree, "")


def unit_problems(source: str, name: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [
                f"{name}:{node.lineno}: imports {a.name}"
                for a in node.names
                if a.name.split(".")[0] in NO_PROCESS
            ]
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in NO_PROCESS:
                out.append(f"{name}:{node.lineno}: imports from {node.module}")
            out += [
                f"{name}:{node.lineno}: imports {a.name}" for a in node.names if a.name in NO_RUN
            ]
        elif isinstance(node, ast.Call) and called(node) in NO_RUN:
            out.append(f"{name}:{node.lineno}: calls {called(node)}")
    return out


def cli_problems(source: str, name: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and called(node) == "run_test":
            out.append(f"{name}:{node.lineno}: runs the app with a pilot (run_test)")
        elif (
            isinstance(node, (ast.Name, ast.arg))
            and (getattr(node, "id", None) or getattr(node, "arg", None)) == "pilot"
        ):
            out.append(f"{name}:{node.lineno}: uses a pilot")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.ui"):
            out.append(f"{name}:{node.lineno}: imports the pilot helpers ({node.module})")
    return out


def wait_problems(source: str, name: str) -> list[str]:
    out = []
    for node, function in functions_of(ast.parse(source)):
        if not isinstance(node, ast.Call) or (name, function) in POLLS:
            continue
        what = dotted(node.func)
        if what.endswith("pilot.pause") and (node.args or node.keywords):
            out.append(
                f"{name}:{node.lineno}: pilot.pause(<seconds>): wait for a state (until) instead"
            )
        elif what in ("time.sleep", "asyncio.sleep", "sleep"):
            out.append(
                f"{name}:{node.lineno}: {what}(…): wait for a state (wait_for / until) instead"
            )
    return out


def _reads_clock(node) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in CLOCKS
        and dotted(n.func).split(".")[0] == "time"
        for n in ast.walk(node)
    )


def clock_problems(source: str, name: str) -> list[str]:
    """In each function: names assigned from a wall clock (directly or through other such names),
    then compared in an assert."""
    tree = ast.parse(source)
    out = []
    for scope in [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
    ]:
        body = scope.body if isinstance(scope, ast.Module) else [scope]
        nodes = [
            n
            for top in body
            for n in ast.walk(top)
            if not (
                isinstance(scope, ast.Module)
                and isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            )
        ]
        timed: set[str] = set(DURATIONS)
        changed = True
        while changed:  # the taint spreads through assignments until nothing changes
            changed = False
            for node in nodes:
                if (
                    isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                    and node.value is not None
                ):
                    value = node.value
                    if _reads_clock(value) or any(
                        isinstance(n, ast.Name) and n.id in timed for n in ast.walk(value)
                    ):
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        for n in (n for t in targets for n in ast.walk(t)):
                            if isinstance(n, ast.Name) and n.id not in timed:
                                timed.add(n.id)
                                changed = True
        for node in nodes:
            if isinstance(node, ast.Assert) and any(
                _reads_clock(cmp)
                or any(isinstance(n, ast.Name) and n.id in timed for n in ast.walk(cmp))
                for cmp in ast.walk(node.test)
                if isinstance(cmp, ast.Compare) and any(isinstance(op, ORDER) for op in cmp.ops)
            ):
                out.append(
                    f"{name}:{node.lineno}: asserts a wall-clock figure: measure it in bench/"
                )
    return sorted(set(out), key=lambda p: int(p.split(":")[1]))


def _check(rule, paths) -> list[str]:
    return [p for path in paths for p in rule(path.read_text(encoding="utf-8"), rel(path))]


def test_unit_tests_start_no_process_and_no_terminal():
    assert files("unit"), "no unit tests found"
    assert _check(unit_problems, files("unit")) == []


def test_cli_tests_use_no_pilot():
    assert files("cli"), "no cli tests found"
    assert _check(cli_problems, files("cli")) == []


def test_no_test_waits_for_a_time():
    assert _check(wait_problems, files()) == []


def test_no_test_asserts_a_wall_clock_figure():
    assert _check(clock_problems, files()) == []


@pytest.mark.parametrize(
    "rule,source,found",
    [
        (unit_problems, "import subprocess\n", ["u.py:1: imports subprocess"]),
        (unit_problems, "from pty import openpty\n", ["u.py:1: imports from pty"]),
        (unit_problems, "from tests.support import run_cli\n", ["u.py:1: imports run_cli"]),
        (
            unit_problems,
            "def t():\n    support.headless_run('x')\n",
            ["u.py:2: calls headless_run"],
        ),
        (unit_problems, "import json\nfrom tutor import headless\nheadless.run(1, 2)\n", []),
        (
            cli_problems,
            "async def t(app):\n    async with app.run_test() as p:\n        pass\n",
            ["u.py:2: runs the app with a pilot (run_test)"],
        ),
        (
            cli_problems,
            "from tests.ui.conftest import until\n",
            ["u.py:1: imports the pilot helpers (tests.ui.conftest)"],
        ),
        (
            wait_problems,
            "async def t(pilot):\n    await pilot.pause(0.2)\n",
            ["u.py:2: pilot.pause(<seconds>): wait for a state (until) instead"],
        ),
        (wait_problems, "async def t(pilot):\n    await pilot.pause()\n", []),
        (
            wait_problems,
            "import time\ndef t():\n    time.sleep(0.1)\n",
            ["u.py:3: time.sleep(…): wait for a state (wait_for / until) instead"],
        ),
        (
            wait_problems,
            "async def t():\n    await asyncio.sleep(0)\n",
            ["u.py:2: asyncio.sleep(…): wait for a state (wait_for / until) instead"],
        ),
        (
            clock_problems,
            "def t():\n    s = time.monotonic()\n    f()\n    took = time.monotonic() - s\n"
            "    assert took < 3.0\n",
            ["u.py:5: asserts a wall-clock figure: measure it in bench/"],
        ),
        (
            clock_problems,
            "def t():\n    t0 = time.perf_counter()\n    assert time.perf_counter() - t0 < 0.2\n",
            ["u.py:3: asserts a wall-clock figure: measure it in bench/"],
        ),
        (
            clock_problems,
            "def t():\n    deadline = time.monotonic() + 60\n    while time.monotonic() < deadline:\n"
            "        pass\n    assert done()\n",
            [],
        ),
        (
            clock_problems,
            "def t(tutor):\n    took = tutor.wait_exit(10)\n    assert took < EXIT_WITHIN\n",
            ["u.py:3: asserts a wall-clock figure: measure it in bench/"],
        ),
        (
            clock_problems,
            "def t():\n    t0 = time.thread_time()\n    assert time.thread_time() - t0 < 0.1\n",
            [],
        ),
    ],
)
def test_each_rule_catches_what_it_forbids(rule, source, found):
    assert rule(source, "u.py") == found
