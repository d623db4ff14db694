"""Sandbox: keystroke to updated derivation, for a 5-node graph (issue 18).

The real app in `App.run_test` (120×40) with the sandbox open on a 5-node graph. Each round types
one digit into the point field (b = -0.5 → -0.51 → … for ten rounds, then w the same way, so
every round is a new point and no cache answers it) and measures from just before the key is sent to the moment the new
derivation has been put on screen (SandboxScreen.shown is that text, polled every 1 ms). That includes
the debounce (DEBOUNCE_SMALL), parsing, the derivation in its worker (sympy, the torch and
finite-difference check, every step rendered) and the widgets' update. Median of 20.

Baseline, in the same run: a bare sympy derivation of the same loss, written directly in sympy
(the graph substituted into one expression), differentiated with respect to both parameters and
evaluated at the point, with sympy's cache cleared each round. Also printed: the derivation core
alone (`tutor.sandbox.derivation` + rendering every step), uncached, to show where the time goes.

    .venv/bin/python bench/bench_sandbox.py     # median latency, ratio to the baseline, ratio to 100 ms
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 20
CORE_ROUNDS = 10  # the core alone, for the breakdown
TARGET = 0.100  # seconds from the last key to the updated derivation
GRAPH = "z = w*x + b\nh = tanh(z)\np = sigmoid(h)\ne = p - y\nL = e**2"
POINT = "x = 1.5, y = 1, w = 0.5, b = -0.5"
WRT = "w, b"
WAIT = 120  # seconds: a round that takes longer is a hang


def baseline_round(b: float) -> float:
    import sympy
    from sympy.core.cache import clear_cache

    clear_cache()
    t = time.perf_counter()
    x, y, w, bb = sympy.symbols("x y w b", real=True)
    z = w * x + bb
    h = sympy.tanh(z)
    p = 1 / (1 + sympy.exp(-h))
    loss = (p - y) ** 2
    at = {x: 1.5, y: 1.0, w: 0.5, bb: b}
    [float(sympy.diff(loss, v).subs(at).evalf()) for v in (w, bb)]
    return time.perf_counter() - t


def core_round(b: float) -> float:
    from tutor.present.derivation import render
    from tutor.sandbox import derivation, sketch

    lesson = sketch(GRAPH, POINT.replace("b = -0.5", f"b = {b!r}"), WRT).lesson()
    t = time.perf_counter()
    d = derivation(lesson)
    for i in range(len(d.steps)):
        render(d, i, 80)
    return time.perf_counter() - t


async def app_rounds() -> tuple[list[float], list[float]]:
    """(new points: the derivation is built; points seen before: derive()'s cache answers)."""
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.sandbox import SandboxScreen

    home = tempfile.mkdtemp()
    app = TutorApp(progress=Progress(Path(home) / "p.json"), sandbox=(GRAPH, POINT, WRT))
    done: dict[tuple, float] = {}
    latencies = []

    async def until(pilot, condition):
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("bench_sandbox: the sandbox never reached the awaited state")
            await pilot.pause(0.001)

    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-point"),
        )
        screen = app.screen

        def shown(texts) -> bool:
            # the derivation of `texts` on screen (SandboxScreen.derived sets `shown` and draws it
            # in one handler), timed at the first poll (every 1 ms) that sees it: the screen's @on
            # handler cannot be wrapped from outside (Textual dispatches to the class's method)
            if screen.shown == texts:
                done.setdefault(texts, time.perf_counter())
            return texts in done

        await until(pilot, lambda: screen.shown is not None)
        screen.query_one("#sandbox-point").focus()
        await pilot.press("end")
        for i in range(ROUNDS):
            if i == ROUNDS // 2:  # float precision: ten digits into b, then ten into w
                value = screen.current_texts()[1]
                await pilot.press(*["left"] * (len(value) - value.index(", b =")))
            digit = str(1 + i % 9)
            t = time.perf_counter()
            await pilot.press(digit)
            texts = screen.current_texts()
            await until(pilot, lambda: shown(texts))
            latencies.append(done[texts] - t)
        cached = []
        for i in range(ROUNDS):  # backspace, then the same digit again: both seen before
            key = "backspace" if i % 2 == 0 else str(1 + (ROUNDS - 1) % 9)  # the digit just typed
            done.clear()
            t = time.perf_counter()
            await pilot.press(key)
            texts = screen.current_texts()
            await until(pilot, lambda: shown(texts))
            cached.append(done[texts] - t)
    return latencies, cached


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["BACKPROP_TUTOR_CACHE"] = (
        tempfile.mkdtemp()
    )  # uncached means uncached: not the user's cache
    import torch  # noqa: F401 - imported before any timing, as the app's warm-up does

    from tutor.ui.screens.sandbox import DEBOUNCE_SMALL

    baseline_round(-0.4)
    core_round(-0.4)
    base = [baseline_round(-0.5 - i / 1000) for i in range(ROUNDS)]
    core = [core_round(0.25 + i / 1000) for i in range(CORE_ROUNDS)]  # points the app never types
    app, cached = asyncio.run(app_rounds())
    med = statistics.median(app)
    print(f"graph: 5 nodes ({GRAPH.replace(chr(10), '; ')}), parameters {WRT}; {ROUNDS} keystrokes")
    print(
        f"keystroke → derivation on screen   median {med * 1e3:8.1f} ms   (min {min(app) * 1e3:.1f}, "
        f"max {max(app) * 1e3:.1f}; debounce {DEBOUNCE_SMALL * 1e3:.0f} ms included)"
    )
    print(
        f"the same, derive() cache hit       median {statistics.median(cached) * 1e3:8.1f} ms   "
        "(a point typed before: the screen's own cost, debounce included)"
    )
    print(
        f"derivation core alone (uncached)   median {statistics.median(core) * 1e3:8.1f} ms   "
        f"(tutor.sandbox.derivation + rendering every step; {CORE_ROUNDS} rounds)"
    )
    print(f"baseline: bare sympy diff          median {statistics.median(base) * 1e3:8.1f} ms")
    print(f"ratio latency/baseline             {med / statistics.median(base):10.1f}×")
    print(f"ratio latency/target (100 ms)      {med / TARGET:10.2f}   (target ≤ 1)")


if __name__ == "__main__":
    main()
