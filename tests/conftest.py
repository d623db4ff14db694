"""Shared helpers for the core tests: run the CLI in a subprocess, read its JSON lines, and find
the lessons and the broken-lesson fixtures."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = ROOT / "lessons"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

# The eight lessons of CURRICULUM.md, in curriculum order.
CURRICULUM_IDS = (
    "single-neuron",
    "linear-1d",
    "linear-regression",
    "multivariate-regression",
    "logistic-regression",
    "two-layer-relu",
    "vector-derivatives",
    "mlp-digits",
)
# Every shipped lesson in --list order: the curriculum, then the playground's (no Derive part).
LISTED_IDS = CURRICULUM_IDS + ("xor-needs-a-hidden-layer",)

CLI_TIMEOUT = 300          # seconds; a CLI call that takes longer is a hang, not a slow test


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PYTHONWARNINGS", None)
    return env


def run_cli(*args: str, timeout: float = CLI_TIMEOUT, cwd: str | os.PathLike | None = None) -> tuple[int, str, str]:
    """`python -m tutor ARGS` in a subprocess → (exit status, stdout, stderr).

    A run that outlives `timeout` raises `subprocess.TimeoutExpired`, which fails the test."""
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", *map(str, args)],
        capture_output=True, text=True, encoding="utf-8", errors="replace",
        timeout=timeout, cwd=cwd or ROOT, env=_env(), stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


@functools.lru_cache(maxsize=64)
def _cached_cli(args: tuple[str, ...]) -> tuple[int, str, str]:
    return run_cli(*args)


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json_lines(stdout: str) -> list[dict]:
    """Every stdout line must be one strict JSON object (no NaN or Infinity) with an "event"."""
    events = []
    for number, line in enumerate(stdout.splitlines(), 1):
        try:
            obj = json.loads(line, parse_constant=_no_constants)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise AssertionError(f"stdout line {number} is not JSON ({exc}): {line[:200]!r}") from None
        assert isinstance(obj, dict), f"stdout line {number} is not a JSON object: {line[:200]!r}"
        assert "event" in obj, f"stdout line {number} has no 'event': {line[:200]!r}"
        events.append(obj)
    return events


def headless_run(lesson: str, *args: str, expect_rc: int | None = 0) -> tuple[int, list[dict], str]:
    """`--headless --json` for a lesson → (exit status, events, stderr); cached per argument list,
    since each run pays for importing torch. `expect_rc` (unless None) is asserted."""
    rc, out, err = _cached_cli((lesson, "--headless", "--json", *map(str, args)))
    if expect_rc is not None:
        assert rc == expect_rc, f"exit status {rc}, expected {expect_rc}\nstderr:\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    return rc, parse_json_lines(out), err


def headless_json(lesson: str, *args: str) -> list[dict]:
    """The events of a successful (exit 0) headless JSON run."""
    return headless_run(lesson, *args)[1]


def events_of(events: list[dict], kind: str, **match) -> list[dict]:
    return [e for e in events if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]


def lesson_path(lesson_id: str) -> Path:
    return LESSONS_DIR / f"{lesson_id}.toml"


def flat(value) -> list[float]:
    """Nested lists of numbers → one flat list."""
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in flat(v)]
    return [value]


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES_DIR


# The two-layer-relu lesson of CURRICULUM.md §6, written inline so that the derivation and
# session tests run before (or without) lessons/two-layer-relu.toml.
TWO_LAYER_RELU_TOML = '''
schema = 1
id = "two-layer-relu"
title = "The chain rule through a hidden layer"
summary = "Y = max(X W1, 0) W2, derived node by node."
order = 6

[[explain]]
title = "The model"
text = "A hidden layer of ReLU units between the inputs and the outputs."

[graph]
inputs = ["x", "y"]
params = ["w1", "w2"]

[[graph.nodes]]
name = "z1"
expr = "x @ w1"

[[graph.nodes]]
name = "h1"
expr = "max(z1, 0)"

[[graph.nodes]]
name = "z2"
expr = "h1 @ w2"

[[graph.nodes]]
name = "L"
expr = "sum((z2 - y)**2)"

[graph.point]
x = 1.5
y = 0.5
w1 = 0.8
w2 = -0.6

[graph.shapes]
x = ["N", "D"]
w1 = ["D", "H"]
w2 = ["H", "O"]
y = ["N", "O"]

[graph.dims]
N = 50
D = 2
H = 100
O = 2

[train]
backends = ["numpy", "torch-manual", "autograd", "nn", "optim"]
loss = "sse"
optimizer = "gd"
lr = 1e-4
epochs = 50
hidden = 100
dtype = "float64"
init = "randn"
seed = 0

[train.dataset]
kind = "iris"

[[train.layers]]
type = "linear"
out = "hidden"
bias = false
name = "W1"

[[train.layers]]
type = "relu"

[[train.layers]]
type = "linear"
out = "outputs"
bias = false
name = "W2"

[train.overrides.nn]
bias = true

[train.overrides.optim]
bias = true
optimizer = "adam"
lr = 1e-3
'''


def two_layer_relu_lesson():
    """lessons/two-layer-relu.toml where it exists, else the same lesson written inline."""
    from tutor.lesson import load, loads

    path = lesson_path("two-layer-relu")
    if path.exists():
        return load(path)
    return loads(TWO_LAYER_RELU_TOML, "two-layer-relu (inline)")


@pytest.fixture(autouse=True, scope="session")
def _own_derivation_cache(tmp_path_factory):
    """Derivations are cached on disk; the suite keeps its own cache (subprocesses inherit it),
    so it neither reads nor fills the user's."""
    os.environ["BACKPROP_TUTOR_CACHE"] = str(tmp_path_factory.mktemp("derive-cache"))
    yield


STATE_WAIT = 120.0         # seconds: a generous deadline for a state, on a loaded 2-core machine
POLL = 0.05                # how often a pilot test looks again (a poll, not a wait for a time)


async def until(pilot, condition, what: str, timeout: float = STATE_WAIT) -> None:
    """The one way pilot tests wait: for a state (`condition()` true), never for a time; fail
    naming `what` after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(POLL)
