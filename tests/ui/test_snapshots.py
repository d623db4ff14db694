"""Snapshot tests of three screens at 100×30, with deterministic data (fixed seeds, a fresh
progress file). Update them with `pytest tests/ui/test_snapshots.py --snapshot-update` after a
deliberate change of the layout, and look at the new SVGs before committing them."""

from __future__ import annotations

from tests.ui.conftest import make_app, run_drawn, settle, until
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane

SIZE = (100, 30)


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
        await until(pilot, lambda: pane.session is not None, "the data loaded")
        await pilot.press("space")
        await run_drawn(pilot, pane)
        await until(pilot, lambda: pane.session.finished, "the run finished")
        await settle(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)
