"""Pilot tests of lessonsA's modern lessons (issue 29): each opens from the lesson list in its
group, walks Derive to a named step and reads its text, and trains a short run to its status line."""

from __future__ import annotations

from tests.ui.conftest import make_app, open_lesson, settle, status_text, text_of, until
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson_list import LessonListScreen


async def walk_to(pilot, pane: DerivePane, phase: str, node: str) -> None:
    """Press n until the step shown is `phase` for `node` (at most every step once)."""
    for _ in range(len(pane.derivation.steps)):
        step = pane.derivation.steps[pane.index]
        if step.phase == phase and step.node == node:
            return
        await pilot.press("n")
    raise AssertionError(f"no {phase} step for {node}")


async def test_residual_connections_derives_both_paths_and_trains_with_skips(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        item = next(i for i in app.listing if i.id == "residual-connections")
        assert item.group == "Modern networks"
        await open_lesson(pilot, "residual-connections")
        await until(pilot, lambda: app.screen.query("#explain-text"), "the explain page")
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot, lambda: pane.derivation is not None and pane.complete, "the whole derivation"
        )
        await walk_to(pilot, pane, "backward", "h1")
        await until(
            pilot,
            lambda: "∂L/∂h1 = 0.46497 − 1.0118 = -0.546831" in text_of(app, "#step-text"),
            "the two paths' sum on screen",
        )
        await walk_to(pilot, pane, "matrix", "h1")
        await until(pilot, lambda: "∂L/∂h1, fused" in text_of(app, "#step-text"), "the fused form")
        await pilot.press("t")
        await settle(pilot)
        train = app.screen.query_one(TrainPane)
        train.query_one("#field-epochs").value = "3"
        train.restart()
        await pilot.press("space")
        await until(pilot, lambda: "done" in status_text(app), "the run to finish")
        assert "step 3/3" in status_text(app), status_text(app)


async def test_activations_derives_silus_slope_and_the_jacobian_and_trains(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        assert next(i for i in app.listing if i.id == "activations").group == "Modern networks"
        await open_lesson(pilot, "activations")
        await until(pilot, lambda: app.screen.query("#explain-text"), "the explain page")
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot, lambda: pane.derivation is not None and pane.complete, "the whole derivation"
        )
        await walk_to(pilot, pane, "backward", "z")
        await until(
            pilot,
            lambda: "∂L/∂z = 0.218357 + 0.8804 = 1.09876" in text_of(app, "#step-text"),
            "silu's two paths on screen",
        )
        await walk_to(pilot, pane, "jacobian", "vjp")
        await until(
            pilot,
            lambda: "[1.0, 0.01, 0.622459, 0.0265922, 0.0176627]" in text_of(app, "#step-text"),
            "each activation's slope in the vector–Jacobian product",
        )
        await pilot.press("t")
        await settle(pilot)
        train = app.screen.query_one(TrainPane)
        train.query_one("#field-epochs").value = "3"
        train.restart()
        await pilot.press("space")
        await until(pilot, lambda: "done" in status_text(app), "the run to finish")
        assert "step 3/3" in status_text(app), status_text(app)
