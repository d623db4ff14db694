"""The Train screen's frame cost after 100 and after 1,000,000 steps, and the latency of pausing a
run with the space key (issue 5).

Frame: the real app in `App.run_test` (120×40), two-layer-relu's Train tab with a numpy Session.
Its History is fed 100 or 10⁶ (step, loss, val) points through History.add (what the training
thread calls), and the view is redrawn the way the 10 Hz timer does: `refresh_view(force=True)`
(status line, gradient table, plot), then the frame drawn (awaiting `call_after_refresh`). Timed: the
synchronous refresh_view, draw_plot alone, and refresh_view plus the frame drawn; the mean of many
calls, the two history lengths alternated, the best round of each kept.

Pause: a numpy run of 100,000 epochs is started with space; after it has trained a while, a space
key event is handed to the app's driver (as a terminal's key arrives; the pilot's own press waits
for the CPU to go idle, which never happens while training) and the time until the button reads
"▶ Play" again and the next frame has been drawn (call_after_refresh) is measured; whether the
status line says "Paused" then, and 0.3 s later, is reported too. Repeated; worst and median.

    .venv/bin/python bench/bench_frame.py   # frame times, the ratio 10⁶/100 (target ≤ 1.5), pause latency (≤ 100 ms)
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = (100, 10**6)
ROUNDS = 3
CALLS = 20  # per measurement
PAUSES = 6
FRAME_TARGET = 1.5
PAUSE_TARGET = 0.100


def history(n: int):
    from tutor.train.snapshot import History

    h = History()
    for k in range(1, n + 1):
        loss = 50.0 + 5000.0 * math.exp(-k / (n / 8)) + math.sin(k) * 0.5
        h.add(k, loss, loss * 1.6)
    return h


async def until(condition, timeout: float = 60.0, step: float = 0.005) -> None:
    """Poll with plain sleeps (the pilot's pause waits for the CPU to go idle: never, while training)."""
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(step)


def send_key(app, key: str, char: str | None) -> None:
    """Hand a key event to the app's driver, as a terminal's key arrives."""
    from textual import events

    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


async def next_frame(app) -> None:
    """Until the app has refreshed the screen (layout, compositor) after what was just changed."""
    drawn = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
    await drawn


async def train_tab(app, pilot):
    from tutor.lesson import lessons_dir
    from tutor.ui.panes.train import TrainPane

    await pilot.pause()
    app.open_lesson(lessons_dir() / "two-layer-relu.toml")
    await pilot.pause()
    await pilot.press("t")
    pane = app.screen.query_one(TrainPane)
    await until(lambda: pane.session is not None)
    await pilot.pause()
    return pane


async def frames(app, pilot, pane) -> tuple[dict, dict, float]:
    """{n: (refresh_view s, draw_plot s, refresh_view + frame s)} for each history length, the plot's
    rows for each, and the time to await a frame with nothing changed."""
    session = pane.session
    session.run(until=5)  # a real snapshot, so the status line and table are filled too
    pane.latest = session.last
    histories = {n: history(n) for n in SIZES}
    rows = {n: len(h) for n, h in histories.items()}
    best = {n: [math.inf, math.inf, math.inf] for n in SIZES}
    idle = math.inf
    for _ in range(ROUNDS):
        for n in SIZES:
            session.history = histories[n]
            pane.refresh_view(force=True)
            await pilot.pause()
            t = time.perf_counter()
            for _ in range(CALLS):
                pane.refresh_view(force=True)
            sync = (time.perf_counter() - t) / CALLS
            await pilot.pause()
            t = time.perf_counter()
            for _ in range(CALLS):
                pane.draw_plot()
            plot = (time.perf_counter() - t) / CALLS
            await pilot.pause()
            t = time.perf_counter()
            for _ in range(CALLS):
                pane.refresh_view(force=True)
                await next_frame(app)
            full = (time.perf_counter() - t) / CALLS
            b = best[n]
            best[n] = [min(b[0], sync), min(b[1], plot), min(b[2], full)]
        t = time.perf_counter()
        for _ in range(CALLS):
            await next_frame(app)
        idle = min(idle, (time.perf_counter() - t) / CALLS)
    return best, rows, idle


async def pause_latency(app, pilot, pane) -> list[tuple[float, float, bool, bool]]:
    """Per press: (seconds to the button's state, seconds to the frame that shows it, whether the
    status line said "Paused" then, and whether it still says so 0.3 s later)."""
    from textual.widgets import Button

    pane.query_one("#field-epochs").value = "100000"
    play = pane.query_one("#play", Button)
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(PAUSES):
        pane.restart()  # a fresh run each time: it never finishes
        send_key(app, "space", " ")
        await until(lambda: pane.running and pane.session.step > 0)
        await asyncio.sleep(0.5)  # let it train: the thread is busy
        assert pane.running and not pane.session.finished
        drawn = loop.create_future()
        t = time.perf_counter()
        send_key(app, "space", " ")
        end = t + 10
        while str(play.label) != "▶ Play" and time.perf_counter() < end:
            await asyncio.sleep(0.001)
        state = time.perf_counter() - t
        said = pane.message.startswith("Paused")
        app.call_after_refresh(lambda: drawn.done() or drawn.set_result(time.perf_counter()))
        shown = await asyncio.wait_for(drawn, 10) - t
        await asyncio.sleep(0.3)
        out.append((state, shown, said, pane.message.startswith("Paused")))
    return out


async def main_async() -> None:
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp

    with tempfile.TemporaryDirectory(prefix="bench-frame-") as home:
        app = TutorApp(progress=Progress(Path(home) / "progress.json"))
        async with app.run_test(size=(120, 40)) as pilot:
            t0 = time.perf_counter()
            pane = await train_tab(app, pilot)
            t1 = time.perf_counter()
            best, rows, idle = await frames(app, pilot, pane)
            t2 = time.perf_counter()
            latencies = await pause_latency(app, pilot, pane)
            t3 = time.perf_counter()
            pane.cancel_run()
            await pilot.pause()
    print(
        f"(phases: Train tab ready {t1 - t0:.1f} s, frames {t2 - t1:.1f} s, pauses {t3 - t2:.1f} s)"
    )
    for n in SIZES:
        sync, plot, full = best[n]
        print(
            f"after {n:>9,} steps ({rows[n]:3d} plot rows): refresh_view {sync * 1e3:7.2f} ms   "
            f"draw_plot {plot * 1e3:7.2f} ms   refresh_view + frame {full * 1e3:7.2f} ms"
        )
    print(f"(for reference, awaiting a refresh with nothing changed: {idle * 1e3:.2f} ms)")
    a, b = best[SIZES[0]], best[SIZES[1]]
    print(
        f"ratio 10⁶/100: refresh_view {b[0] / a[0]:5.2f}   draw_plot {b[1] / a[1]:5.2f}   "
        f"with the frame {b[2] / a[2]:5.2f}  (target ≤ {FRAME_TARGET})"
    )
    shown = [x[1] for x in latencies]
    lat = ", ".join(f"{x * 1e3:.0f}" for x in shown)
    print(
        f"pause latency (space → ▶ Play drawn): worst {max(shown) * 1e3:6.1f} ms   median "
        f"{statistics.median(shown) * 1e3:6.1f} ms   (runs: {lat} ms; target ≤ {PAUSE_TARGET * 1e3:.0f} ms)"
    )
    print(
        f"  (to the button's new state, before drawing: worst {max(x[0] for x in latencies) * 1e3:.1f} ms)"
    )
    said = sum(x[2] for x in latencies)
    kept = sum(x[3] for x in latencies)
    print(
        f"  status line said 'Paused' when the button changed: {said}/{len(latencies)}; "
        f"still said so 0.3 s later: {kept}/{len(latencies)}"
    )


def main() -> None:
    os.environ.setdefault("BACKPROP_TUTOR_HOME", tempfile.mkdtemp(prefix="bench-frame-home-"))
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
