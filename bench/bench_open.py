"""Key → first visible content (issue 27, item 4): opening a lesson from the list (enter) and its
first Derive step (d) from the warm disk cache, at idle.

The real app in `App.run_test` (100×30), on a progress file of its own and a derivation cache
filled beforehand (a headless run of each lesson, `--no-train`). It waits until the background
warm-up (torch, scikit-learn, sympy) has finished: "at idle". Then, for each lesson, a key event
is handed to the app's driver (as a terminal's key arrives) and the time is taken until the first
frame written to the terminal (App._display, wrapped) that shows the content: the lesson's Explain
text (its Markdown blocks mounted), then step 1's text (d). Escape goes back to the list.

    .venv/bin/python bench/bench_open.py      # each lesson's two times; the worst and the median (target ≤ 100 ms)
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

LESSONS = ("single-neuron", "linear-1d", "two-layer-relu", "fan-out", "vanishing-gradients", "batchnorm-backward")
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
        seen.append((time.perf_counter(), screen, shows(screen)))

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


async def first_frame(seen: list, since: float, what: str) -> float:
    await until(lambda: any(t > since and what in s for t, _, s in seen))
    return next(t for t, _, s in seen if t > since and what in s) - since


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
            t0 = time.perf_counter()
            send_key(app, "enter", None)
            opened = await first_frame(seen, t0, "explain")
            await app.workers.wait_for_complete()          # idle again: the equations typeset
            await pilot.pause()
            t0 = time.perf_counter()
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
        for lesson in LESSONS:                    # the warm cache: each derivation on disk
            subprocess.run([sys.executable, "-m", "tutor", lesson, "--headless", "--no-train"], cwd=ROOT,
                           capture_output=True, check=True)
        rows = asyncio.run(measure(home))
    print(f"{'lesson':<22}{'enter → Explain':>18}{'d → step 1':>14}")
    for lesson, opened, derived in rows:
        print(f"{lesson:<22}{opened * 1000:>15.0f} ms{derived * 1000:>11.0f} ms")
    for name, values in (("open a lesson", [r[1] for r in rows]), ("first Derive step", [r[2] for r in rows])):
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms "
              f"(target ≤ {TARGET * 1000:.0f} ms: {'ok' if max(values) <= TARGET else 'over'})")


if __name__ == "__main__":
    main()
