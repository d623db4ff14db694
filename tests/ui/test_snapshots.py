"""Snapshot tests of three screens at 100×30, with deterministic data (fixed seeds, a fresh
progress file). Update them with `pytest tests/test_snapshots.py --snapshot-update` after a
deliberate change of the layout, and look at the new SVGs before committing them."""

from __future__ import annotations

from tutor.progress import Progress
from tutor.ui.app import TutorApp
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane

SIZE = (100, 30)


def make_app(tmp_path) -> TutorApp:
    return TutorApp(progress=Progress(tmp_path / "progress.json"))


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, timeout: float = 60.0) -> None:
    """Wait for a state, not for a time: a slow machine must give the same picture."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never reached the state this snapshot needs")


def test_lesson_list(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE)


def test_derivation_step(snap_compare, tmp_path):
    async def run_before(pilot):
        app = pilot.app
        app.open_lesson(app.listing[5].path)          # two-layer-relu
        await pilot.pause()
        await pilot.press("d")
        await settle(pilot)
        pane = app.screen.query_one(DerivePane)
        while pane.derivation.steps[pane.index].phase != "chain":
            await pilot.press("n")

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_finished_training_run(snap_compare, tmp_path):
    async def run_before(pilot):
        app = pilot.app
        app.open_lesson(app.listing[5].path)
        await pilot.pause()
        await pilot.press("t")
        pane = app.screen.query_one(TrainPane)
        await until(pilot, lambda: pane.session is not None)
        await pilot.press("space")
        await until(pilot, lambda: pane.session.finished and not pane.running and pane.shown is pane.latest)
        await settle(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)
