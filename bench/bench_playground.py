"""Playground (issue 17): what the live boundary costs the training loop, and what a frame costs.

1. The trainer: steps/s of the playground's loop (circle, the default 2-4-2-1 tanh network, batch
   10) with the live boundary on (every 1/FRAMES_PER_SECOND s: the 64×64 grid, every neuron's grid,
   the figures and the doctor, as the screen's worker does) against the same loop with it off.
   Rounds alternate; each side keeps its best. Target: ratio ≥ 0.8.
2. The same in the real app (`App.run_test`, 120×40): steps/s while playing, with the screen
   drawing each new frame, against the screen with its boundary frames switched off.
3. The frame: in the app at 80×24 and 200×50, `redraw()` of a new frame (the heatmap, the neuron
   thumbnails, the lines) and then the screen composed and written (`pilot.pause()`), median of 20.

    .venv/bin/python bench/bench_playground.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECONDS = 2.0
ROUNDS = 3
FRAMES = 20


def core_round(live: bool) -> float:
    from tutor.playground.model import Config, Playground
    from tutor.playground.runner import CHUNK, FRAMES_PER_SECOND

    pg = Playground(Config())
    gap, next_frame = 1.0 / FRAMES_PER_SECOND, 0.0
    start = time.perf_counter()
    end = start + SECONDS
    while time.perf_counter() < end:
        pg.run(CHUNK)
        if live and time.perf_counter() >= next_frame:
            pg.boundary(64, 64), pg.stats(), pg.diagnosis()
            next_frame = time.perf_counter() + gap
    return pg.step / (time.perf_counter() - start)


async def app_round(live: bool) -> float:
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens import playground as ps

    ps.FRAMES_PER_SECOND = 5 if live else 1e-9  # off: no frame after the first
    with tempfile.TemporaryDirectory() as home:
        app = TutorApp(progress=Progress(Path(home) / "p.json"), playground=ps.Config())
        async with app.run_test(size=(120, 40)) as pilot:
            while not (isinstance(app.screen, ps.PlaygroundScreen) and app.screen.pg is not None):
                await pilot.pause(0.02)
            screen = app.screen
            await pilot.press("space")
            while screen.pg.step == 0:
                await pilot.pause(0.01)
            s0, t0 = screen.pg.step, time.perf_counter()
            await asyncio.sleep(SECONDS)  # the app runs meanwhile: this is the measurement
            s1, t1 = screen.pg.step, time.perf_counter()
            await pilot.press("space")
    ps.FRAMES_PER_SECOND = 5
    return (s1 - s0) / (t1 - t0)


async def frame_cost(size: tuple[int, int]) -> tuple[float, float]:
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens import playground as ps

    with tempfile.TemporaryDirectory() as home:
        app = TutorApp(
            progress=Progress(Path(home) / "p.json"), playground=ps.Config(hidden=(8, 8, 8))
        )
        async with app.run_test(size=size) as pilot:
            while not (
                isinstance(app.screen, ps.PlaygroundScreen) and app.screen.frame is not None
            ):
                await pilot.pause(0.02)
            screen = app.screen
            await pilot.pause()
            redraws, frames = [], []
            for _ in range(FRAMES):
                screen.pg.run(10)
                screen.capture()
                t0 = time.perf_counter()
                screen.redraw()
                t1 = time.perf_counter()
                await pilot.pause()
                t2 = time.perf_counter()
                redraws.append(t1 - t0)
                frames.append(t2 - t0)
    return statistics.median(redraws), statistics.median(frames)


def main() -> None:
    best = {True: 0.0, False: 0.0}
    for _ in range(ROUNDS):
        for live in (False, True):
            best[live] = max(best[live], core_round(live))
    print(
        f"trainer loop: boundary off {best[False]:,.0f} steps/s, on {best[True]:,.0f} steps/s, "
        f"ratio {best[True] / best[False]:.2f} (target ≥ 0.8)"
    )
    app_best = {True: 0.0, False: 0.0}
    for _ in range(2):
        for live in (False, True):
            app_best[live] = max(app_best[live], asyncio.run(app_round(live)))
    print(
        f"in the app (120×40): frames off {app_best[False]:,.0f} steps/s, on {app_best[True]:,.0f} steps/s, "
        f"ratio {app_best[True] / app_best[False]:.2f} (target ≥ 0.8)"
    )
    for size in ((80, 24), (200, 50)):
        redraw, frame = asyncio.run(frame_cost(size))
        print(
            f"frame at {size[0]}×{size[1]}: redraw() {redraw * 1000:.1f} ms, with the screen composed "
            f"{frame * 1000:.1f} ms (median of {FRAMES})"
        )


if __name__ == "__main__":
    main()
