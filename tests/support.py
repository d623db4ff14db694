"""Helpers every layer of tests shares: where the lessons and fixtures are, the CLI run in a subprocess
and its JSON lines read strictly. Fixtures live in conftest.py; pilot helpers in tests/ui/conftest.py."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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
# The further topics (group "Further topics", orders 10 to 16), in --list order.
FURTHER_IDS = (
    "fan-out",
    "backprop-through-time",
    "gradient-checking",
    "initialisation",
    "vanishing-gradients",
    "softmax-cross-entropy",
    "batchnorm-backward",
)
# The modern networks (group "Modern networks", orders 17 to 23 as issue 29 numbers them), in --list order.
MODERN_IDS = (
    "residual-connections",
    "layernorm-backward",
    "activations",
    "attention-backward",
    "embeddings-char-model",
    "adam-from-scratch",
    "data-parallel",
)
# Every shipped lesson in --list order: the curriculum, the further topics, then the playground's
# xor lesson (order 30), then the modern networks.
LISTED_IDS = CURRICULUM_IDS + FURTHER_IDS + ("xor-needs-a-hidden-layer",) + MODERN_IDS
# What `--check` adds after "ok" for a lesson whose check fails on purpose ([graph] expect_kink).
CHECK_NOTES = {
    "gradient-checking": " (the finite-difference check of v fails near a kink, as the lesson expects: relative "
    "error 4.0e-01 (wrong); autograd agrees with the derivation)",
}

CLI_TIMEOUT = 300  # seconds; a CLI call that takes longer is a hang, not a slow test
HANG_BOUND = 60.0  # seconds for something that should happen at once (an exit, a stop): a
# bound for a hang, never a figure (bench/ measures how long it takes)
POLL = 0.02  # how often wait_for looks again


def wait_for(condition, seconds: float = HANG_BOUND, every: float = POLL, poll=None) -> bool:
    """The one way a test outside the pilot waits: for a state (`condition()` true), never for a
    time. Looks again every `every` seconds (`poll(every)` instead of sleeping, when given: say,
    reading a terminal's output meanwhile) until `seconds` have passed → whether the state came."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        (poll or time.sleep)(every)
    return True


def examples(scale: float = 1.0) -> int:
    """How many examples a property or fuzz test tries: the hypothesis profile's max_examples
    (tests/conftest.py: small by default, larger where CI=true) times the test's own `scale`."""
    from hypothesis import settings

    return max(1, round(settings.default.max_examples * scale))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PYTHONWARNINGS", None)
    return env


# Modes of `python -m tutor` that are plain functions writing to stdout and stderr: a test runs
# them in-process (cli.main), which saves each call a Python start and torch's import. The TUI,
# the subcommands and anything about the process itself (encodings, signals, pipes) run in a child.
IN_PROCESS = (
    "--headless",
    "--answer",
    "--check",
    "--list",
    "--export-code",
    "--code",
    "--template",
)


def run_cli(
    *args: str,
    timeout: float = CLI_TIMEOUT,
    cwd: str | os.PathLike | None = None,
    process: bool | None = None,
) -> tuple[int, str, str]:
    """`python -m tutor ARGS` → (exit status, stdout, stderr): in a subprocess when `process` (or
    when the mode is not one of IN_PROCESS), else `tutor.cli.main(ARGS)` in this process.

    A subprocess that outlives `timeout` raises `subprocess.TimeoutExpired`, which fails the test;
    in-process, pytest-timeout (pyproject.toml) is the bound for a hang."""
    args = tuple(map(str, args))
    if process is None:
        process = not any(a in IN_PROCESS or a.startswith("--answer=") for a in args) or bool(
            args[:1] and args[0] in ("derive", "sandbox", "playground")
        )
    if not process:
        return _in_process(args, cwd)
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        cwd=cwd or ROOT,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _in_process(args: tuple[str, ...], cwd) -> tuple[int, str, str]:
    """`tutor.cli.main(args)` with stdout and stderr captured, in `cwd` (the repository root by
    default, as the subprocess runs); argparse's exit is the exit status."""
    import contextlib
    import io

    from tutor import cli

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(list(args))
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(here)
    return rc, out.getvalue(), err.getvalue()


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
            raise AssertionError(
                f"stdout line {number} is not JSON ({exc}): {line[:200]!r}"
            ) from None
        assert isinstance(obj, dict), f"stdout line {number} is not a JSON object: {line[:200]!r}"
        assert "event" in obj, f"stdout line {number} has no 'event': {line[:200]!r}"
        events.append(obj)
    return events


def headless_run(lesson: str, *args: str, expect_rc: int | None = 0) -> tuple[int, list[dict], str]:
    """`--headless --json` for a lesson → (exit status, events, stderr), run in-process (cli.main)
    and cached per argument list: tests that read the same run share it. `expect_rc` (unless
    None) is asserted."""
    rc, out, err = _cached_cli((lesson, "--headless", "--json", *map(str, args)))
    if expect_rc is not None:
        assert rc == expect_rc, f"exit status {rc}, expected {expect_rc}\nstderr:\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    return rc, parse_json_lines(out), err


def headless_json(lesson: str, *args: str) -> list[dict]:
    """The events of a successful (exit 0) headless JSON run."""
    return headless_run(lesson, *args)[1]


def events_of(events: list[dict], kind: str, **match) -> list[dict]:
    return [
        e for e in events if e["event"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def lesson_path(lesson_id: str) -> Path:
    return LESSONS_DIR / f"{lesson_id}.toml"


def flat(value) -> list[float]:
    """Nested lists of numbers → one flat list."""
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in flat(v)]
    return [value]


def two_layer_relu_lesson():
    """The shipped lessons/two-layer-relu.toml."""
    from tutor.lesson import load

    return load(lesson_path("two-layer-relu"))
