"""Pilot tests of this branch's modern lessons (issue 29): each opens from the lesson list's
"Modern networks" group, shows its Explain text, walks Derive to a named step and reads it, takes
an exercise's answers, and trains a short run to its status line."""

from __future__ import annotations

from tests.ui.conftest import make_app, settle, text_of, until
from tutor.lesson import GROUPS
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen


def current(pane: DerivePane):
    return pane.derivation.steps[pane.index]


async def walk_to(pilot, pane: DerivePane, phase: str, node: str) -> None:
    """Press n until the step shown is `phase` for `node` (at most every step once)."""
    for _ in range(len(pane.derivation.steps)):
        if current(pane).phase == phase and current(pane).node == node:
            return
        await pilot.press("n")
    raise AssertionError(f"no {phase} step for {node}")


async def open_from_the_list(app, pilot, lesson_id: str) -> None:
    """The lesson list has the "Modern networks" heading; highlight `lesson_id` there and press enter."""
    await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
    options = app.screen.query_one("#lessons")
    await until(pilot, lambda: options.option_count > 2, "the lessons listed")
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    heading = ids.index(f"group-{GROUPS.index('Modern networks')}")
    assert str(options.get_option_at_index(heading).prompt).startswith("Modern networks: ")
    assert lesson_id in ids[heading:]
    options.highlighted = ids.index(lesson_id)
    await pilot.press("enter")
    await until(
        pilot,
        lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
        "the lesson screen",
    )
    assert app.screen.lesson.id == lesson_id


async def run_train(app, pilot, epochs: str) -> str:
    await pilot.press("t")
    await settle(pilot)
    train = app.screen.query_one(TrainPane)
    train.query_one("#field-epochs").value = epochs
    train.restart()
    await pilot.press("space")
    await until(pilot, lambda: "done" in text_of(app, "#status"), "the run to finish")
    return text_of(app, "#status")


async def test_layernorm_backward_from_the_list_to_derive_an_exercise_and_training(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_from_the_list(app, pilot, "layernorm-backward")
        source = app.screen.query_one("#explain-text").source
        assert "dx = (1/D) · inv · (D·dxhat − Σ dxhat − xhat · Σ(dxhat ⊙ xhat))" in source
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot,
            lambda: pane.derivation is not None and pane.derivation.matrix_checks,
            "the derivation",
        )
        await walk_to(pilot, pane, "chain", "x")
        await until(
            pilot, lambda: "Exercise scalar-dx" in text_of(app, "#exercise-prompt"), "the exercise"
        )
        await pilot.press("a", *"237.17082", "enter")
        await until(
            pilot,
            lambda: "the path through xc alone" in text_of(app, "#exercise-feedback"),
            "the known mistake's response",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press("0", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved("layernorm-backward") == ["scalar-dx"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "matrix", "mu")
        await until(
            pilot,
            lambda: "shape = N×1 (the shape of mu)" in text_of(app, "#step-text"),
            "mu's matrix step",
        )
        assert "Matrix form: ∂L/∂mu  [N×1]" in text_of(app, "#step-title")
        await walk_to(pilot, pane, "matrix", "x")
        await until(
            pilot,
            lambda: "rowsum(gamma ⊙ g ⊙ xhat)" in text_of(app, "#step-text"),
            "the fused formula",
        )
        status = await run_train(app, pilot, "1")
        assert "step 20/20" in status, status  # one epoch: 20 batches of 64


async def test_adam_from_scratch_from_the_list_to_derive_an_exercise_and_training(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_from_the_list(app, pilot, "adam-from-scratch")
        source = app.screen.query_one("#explain-text").source
        assert (
            "Adam, uncorrected:  m = −0.16, v = 0.00256, w = 0.3 + 0.1·0.16/0.0505964 = 0.616228"
            in source
        )
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot,
            lambda: pane.derivation is not None and pane.derivation.matrix_checks,
            "the derivation",
        )
        await walk_to(pilot, pane, "chain", "w")
        await until(
            pilot,
            lambda: "∂L/∂w = -0.8 × 2.0 = -1.6" in text_of(app, "#step-text"),
            "w's chain step",
        )
        await until(
            pilot, lambda: "Exercise grad-w" in text_of(app, "#exercise-prompt"), "the exercise"
        )
        await pilot.press("a", *"-0.8", "enter")
        await until(
            pilot,
            lambda: "That is 2·(z − y), the gradient of z." in text_of(app, "#exercise-feedback"),
            "the known mistake's response",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"-1.6", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved("adam-from-scratch") == ["grad-w"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "matrix", "w")
        await until(
            pilot,
            lambda: "∂L/∂w, fused = 2·xᵀ·(z − y) ⊘ (N ⊙ K)" in text_of(app, "#step-text"),
            "the fused gradient",
        )
        status = await run_train(app, pilot, "5")
        assert "step 5/5" in status, status  # full batches: one step an epoch
