"""Snapshot tests of three screens at 100×30, with deterministic data (fixed seeds, a fresh
progress file, and figures that do not depend on the machine's BLAS: see test_finished_training_run). Update them with `pytest tests/ui/test_snapshots.py --snapshot-update` after a
deliberate change of the layout, and look at the new SVGs before committing them."""

from __future__ import annotations

from tests.support import lesson_path
from tests.ui.conftest import make_app, run_drawn, settle, until
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane

SIZE = (100, 30)


def test_lesson_list(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE)


def test_derivation_step(snap_compare, tmp_path):
    async def run_before(pilot):
        app = pilot.app
        app.open_lesson(app.listing[5].path)  # two-layer-relu
        await pilot.pause()
        await pilot.press("d")
        await settle(pilot)
        pane = app.screen.query_one(DerivePane)
        while pane.derivation.steps[pane.index].phase != "chain":
            await pilot.press("n")

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def float64_lesson(directory, lesson_id: str):
    """The shipped lesson with the documented setting `dtype = "float64"` (lessons/README.md): in
    float32 another BLAS (another CPU, another summation order or FMA) moves the sixth digit the
    screen shows (9.84908 here, 9.84909 elsewhere); in float64 such differences are about 1e-14,
    eight orders below that digit. The file keeps its name, as a lesson's id must."""
    text = lesson_path(lesson_id).read_text(encoding="utf-8")
    assert text.count('\ndtype = "float32"\n') == 1
    path = directory / f"{lesson_id}.toml"
    path.write_text(
        text.replace('\ndtype = "float32"\n', '\ndtype = "float64"\n'), encoding="utf-8"
    )
    return path


def test_finished_training_run(snap_compare, tmp_path):
    lesson = float64_lesson(tmp_path, "two-layer-relu")

    async def run_before(pilot):
        app = pilot.app
        app.open_lesson(lesson)
        await pilot.pause()
        await pilot.press("t")
        pane = app.screen.query_one(TrainPane)
        await until(pilot, lambda: pane.session is not None, "the data loaded")
        assert pane.session.spec.dtype == "float64"
        await pilot.press("space")
        await run_drawn(pilot, pane)
        await until(pilot, lambda: pane.session.finished, "the run finished")
        await settle(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)
