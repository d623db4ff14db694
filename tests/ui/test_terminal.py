"""The terminal around the tutor: resized to almost nothing and back while a run trains, quit
mid-run, and the real program in a pseudo-terminal ended by SIGTERM (kill) or SIGHUP (an SSH
session dropped): it exits at once with status 0, progress saved, terminal restored."""

from __future__ import annotations

import asyncio
import json
import threading

from tests.support import HANG_BOUND
from tests.ui.conftest import make_app, run_drawn, settle, status_text, until
from tutor.ui.app import TooSmall
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen


async def start_long_run(app, pilot, epochs: int) -> TrainPane:
    await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson on screen")
    await pilot.press("t")
    await settle(pilot)
    pane = app.screen.query_one(TrainPane)
    pane.query_one("#field-epochs").value = str(epochs)
    pane.restart()
    assert pane.session.total == epochs
    await pilot.press("space")
    await until(pilot, lambda: pane.session.step > 0, "the training thread under way")
    assert pane.running and 0 < pane.session.step < epochs, (
        f"the run is under way: {pane.session.step} {status_text(app)}"
    )
    return pane


async def test_resize_to_tiny_and_back_mid_run(tmp_path):
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await start_long_run(app, pilot, 100_000)
        lesson_screen = app.screen
        for _ in range(2):
            before = pane.session.step
            await pilot.resize_terminal(40, 10)
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, TooSmall)
                    and "The window is 40×10" in str(app.screen.query_one("#too-small").render())
                ),
                "the too-small screen, saying the window's size",
            )
            await pilot.resize_terminal(120, 40)
            await until(pilot, lambda: app.screen is lesson_screen, "the lesson back at 120×40")
            # the run goes on while hidden (or has already finished, on a fast machine)
            assert pane.session.step > before or not pane.running, "the run stopped while hidden"
        if pane.running:  # a fast machine may have finished the run already
            await pilot.press("space")  # pause, then redraw at another size
        await run_drawn(pilot, pane)
        stopped = pane.session.step
        assert not pane.running and 0 < stopped <= 100_000
        shown = status_text(app)
        if stopped < 100_000:
            assert shown.startswith(f"Paused at step {stopped}."), shown
        else:
            assert shown.endswith(" · done"), shown
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: app.screen.size == (80, 24), "the screen at 80×24")
        await pilot.pause()
        assert status_text(app) == shown and pane.session.step == stopped
        assert app.screen.query_one("#plot").series_count == 2
    assert app.return_code in (None, 0)


async def test_ctrl_q_mid_run_exits_and_stops_the_training_thread(tmp_path, monkeypatch):
    """After ctrl+q the app is gone and so is every thread it started: the training loop has
    returned (the default executor, which runs thread workers, shuts down promptly)."""
    from tutor.train import session as session_module

    loops = {"entered": 0, "left": 0, "threads": set()}
    original_run = session_module.Session.run

    def tracked_run(self, *args, **kwargs):
        loops["entered"] += 1
        loops["threads"].add(threading.current_thread())
        try:
            return original_run(self, *args, **kwargs)
        finally:
            loops["left"] += 1

    monkeypatch.setattr(session_module.Session, "run", tracked_run)
    before = set(threading.enumerate())
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await start_long_run(app, pilot, 100000)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0
    # the default executor runs thread workers: its shutdown joins them, so it returns once the
    # training loop has (HANG_BOUND is a bound for a hang, not a figure: bench/bench_exit.py times it)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.shutdown_default_executor(), timeout=HANG_BOUND)
    assert loops["entered"] >= 1 and loops["left"] == loops["entered"], (
        f"the training loop is still running: {loops}"
    )
    stopped_at = pane.session.step
    assert 0 < stopped_at < 100000
    started = [t for t in threading.enumerate() if t not in before]
    for t in started:
        t.join(timeout=HANG_BOUND)
    alive = [t.name for t in started if t.is_alive()]
    assert alive == [], f"threads still alive after quitting: {alive}"
    assert not any(t.is_alive() for t in loops["threads"])
    assert pane.session.step == stopped_at
    data = json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))
    assert data["last_lesson"] == "two-layer-relu"
    assert "train" in data["lessons"]["two-layer-relu"]["parts"]
