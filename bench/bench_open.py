"""Key → first visible content (issue 27, item 4): opening a lesson from the list (enter) and its
first Derive step (d) from the warm disk cache, at idle.

The real app in `App.run_test` (100×30), on a progress file of its own and a derivation cache
filled beforehand (a headless run of each lesson, `--no-train`). It waits until the background
warm-up (torch, scikit-learn, sympy) has finished: "at idle". Then, for each lesson, a key event
is handed to the app's driver (as a terminal's key arrives) and the time is taken until the first
frame written to the terminal (App._display, wrapped) that shows the content: the lesson's Explain
text (its Markdown blocks mounted), then step 1's text (d). Escape goes back to the list.

    .venv/bin/python bench/bench_open.py      # each lesson's two times; the worst and the median (target ≤ 100 ms)

Each time is printed twice: the wall time, and the UI thread's CPU time over the same interval (on a
machine loaded past its cores the wall time measures the load; the CPU time is what the app spent).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LESSONS = (
    "single-neuron",
    "linear-1d",
    "two-layer-relu",
    "fan-out",
    "vanishing-gradients",
    "batchnorm-backward",
)
TARGET = 0.100


def send_key(app, key: str, char: str | None) -> None:
    from textual import events

    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


async def until(condition, timeout: float = 60.0, step: float = 0.002) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(step)


def frames(app) -> list:
    """(time, screen) of each frame the app writes, from now on."""
    seen: list = []
    display = app._display

    def wrapped(screen, renderable):
        display(screen, renderable)
        seen.append((time.perf_counter(), screen, shows(screen), time.thread_time()))

    app._display = wrapped
    return seen


def shows(screen) -> str:
    """What of interest the screen holds as it is drawn: 'explain' (its Markdown blocks), 'step'."""
    from textual.widgets import Markdown

    out = ""
    for md in screen.query("#explain-text").results(Markdown):
        if md.children:
            out += "explain"
    for step in screen.query("#step-text"):
        if str(step.render()).strip():
            out += "step"
    return out


async def first_frame(seen: list, since: tuple[float, float], what: str) -> tuple[float, float]:
    """Wall seconds from the key to the first frame showing `what`, and the UI thread's CPU
    seconds in between (what the wall time comes to on an idle machine, where nothing else
    takes the cores: the app's own threads wait at idle)."""
    wall, cpu = since
    await until(lambda: any(t > wall and what in s for t, _, s, _ in seen))
    t, _, _, c = next(f for f in seen if f[0] > wall and what in f[2])
    return t - wall, c - cpu


async def measure(home: Path) -> list[tuple[str, float, float]]:
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.lesson import LessonScreen  # noqa: F401 - loaded before the clock starts
    from tutor.ui.screens.lesson_list import LessonListScreen

    app = TutorApp(progress=Progress(home / "progress.json"))
    out = []
    async with app.run_test(size=(100, 30)) as pilot:
        seen = frames(app)
        await until(lambda: isinstance(app.screen, LessonListScreen))
        await until(lambda: any(w.group == "warm-up" for w in app.workers))
        await app.workers.wait_for_complete()
        await pilot.pause()
        ids = [item.id for item in app.listing]
        for lesson in LESSONS:
            listing = app.screen.query_one("#lessons")
            listing.highlighted = next(i for i, o in enumerate(listing._options) if o.id == lesson)
            await pilot.pause()
            t0 = time.perf_counter(), time.thread_time()
            send_key(app, "enter", None)
            opened = await first_frame(seen, t0, "explain")
            await app.workers.wait_for_complete()  # idle again: the equations typeset
            await pilot.pause()
            t0 = time.perf_counter(), time.thread_time()
            send_key(app, "d", "d")
            derived = await first_frame(seen, t0, "step")
            out.append((lesson, opened, derived))
            await app.workers.wait_for_complete()
            await pilot.pause()
            send_key(app, "escape", None)
            await until(lambda: isinstance(app.screen, LessonListScreen))
            await pilot.pause()
        assert ids
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["BACKPROP_TUTOR_CACHE"] = str(home / "cache")
        for lesson in LESSONS:  # the warm cache: each derivation on disk
            subprocess.run(
                [sys.executable, "-m", "tutor", lesson, "--headless", "--no-train"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
        rows = asyncio.run(measure(home))
    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} cores (wall times are for an idle machine only "
        "where the load is under the core count; the UI thread's CPU time is what they come to there)"
    )
    print(f"{'lesson':<22}{'enter → Explain':>22}{'d → step 1':>22}   (wall / UI-thread CPU)")
    for lesson, opened, derived in rows:
        print(
            f"{lesson:<22}{opened[0] * 1000:>10.0f} / {opened[1] * 1000:4.0f} ms"
            f"{derived[0] * 1000:>10.0f} / {derived[1] * 1000:4.0f} ms"
        )
    for name, pairs in (
        ("open a lesson", [r[1] for r in rows]),
        ("first Derive step", [r[2] for r in rows]),
    ):
        for kind, values in (
            ("wall", [p[0] for p in pairs]),
            ("UI-thread CPU", [p[1] for p in pairs]),
        ):
            print(
                f"{name}, {kind}: median {statistics.median(values) * 1000:.0f} ms, worst "
                f"{max(values) * 1000:.0f} ms (target ≤ {TARGET * 1000:.0f} ms: "
                f"{'ok' if max(values) <= TARGET else 'over'})"
            )


if __name__ == "__main__":
    main()
