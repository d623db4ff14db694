"""Pilot tests of the two batch lessons: Explain shows their numbers, Derive reaches the fused
matrix form and takes an exercise's wrong and right answers, Train runs to the end."""

from __future__ import annotations

from tests.support import lesson_path
from tests.ui.conftest import make_app, settle, text_of, until
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen


def current(pane: DerivePane):
    return pane.derivation.steps[pane.index]


async def walk_to(pilot, pane: DerivePane, phase: str, node: str) -> None:
    """Press n until the step shown is `phase` for `node` (at most every step once)."""
    for _ in range(len(pane.derivation.steps)):
        if current(pane).phase == phase and current(pane).node == node:
            return
        await pilot.press("n")
    raise AssertionError(f"no {phase} step for {node}")


async def run_train(app, pilot, epochs: str) -> str:
    await pilot.press("t")
    await settle(pilot)
    train = app.screen.query_one(TrainPane)
    train.query_one("#field-epochs").value = epochs
    train.restart()
    await pilot.press("space")
    await until(pilot, lambda: "done" in text_of(app, "#status"), "the run to finish")
    return text_of(app, "#status")


async def test_softmax_cross_entropy_walks_explain_derive_and_train(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_lesson(lesson_path("softmax-cross-entropy"))
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
            "the lesson screen",
        )
        markdown = app.screen.query_one("#explain-text")
        assert "softmax(z) = (0.875601, 0.1185, 0.0058998)" in markdown.source
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot,
            lambda: pane.derivation is not None and pane.derivation.matrix_checks,
            "the derivation",
        )
        await walk_to(pilot, pane, "matrix", "z")
        await until(
            pilot,
            lambda: "∂L/∂z, fused = (e ⊘ s − onehot(y, z)) ⊘ N" in text_of(app, "#step-text"),
            "the fused form on screen",
        )
        assert "Matrix form: ∂L/∂z  [N×K]" in text_of(app, "#step-title")
        status = await run_train(app, pilot, "1")
        assert "step 20/20" in status, status  # 1,280 digits in batches of 64


async def test_batchnorm_backward_exercise_and_training(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_lesson(lesson_path("batchnorm-backward"))
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
            "the lesson screen",
        )
        assert (
            "dx = (1/N) · inv · (N·dxhat − Σ dxhat − xhat · Σ(dxhat ⊙ xhat))"
            in app.screen.query_one("#explain-text").source
        )
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
        answer = app.screen.query_one("#answer")
        answer.value = ""
        await pilot.press(*"0", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved("batchnorm-backward") == ["scalar-dx"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "matrix", "x")
        await until(
            pilot, lambda: "∂L/∂x, fused" in text_of(app, "#step-text"), "the fused formula"
        )
        status = await run_train(app, pilot, "1")
        assert "step 20/20" in status, status


async def test_softmax_shows_the_jacobian_before_the_fused_form_and_ends_derive_with_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_lesson(lesson_path("softmax-cross-entropy"))
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
            "the lesson screen",
        )
        source = app.screen.query_one("#explain-text").source
        assert source.index("First, softmax's Jacobian: diag(p) − ppᵀ") < source.index(
            "The fused backward"
        )
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot, lambda: pane.derivation is not None and pane.complete, "the whole derivation"
        )
        await walk_to(pilot, pane, "jacobian", "vjp")
        await until(
            pilot,
            lambda: "[-0.340999, 0.242433, 0.0985659]" in text_of(app, "#step-text"),
            "the vector–Jacobian product p − onehot(y) on screen",
        )


async def test_batchnorm_explains_its_two_modes_and_the_redundant_bias(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_lesson(lesson_path("batchnorm-backward"))
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
            "the lesson screen",
        )
        source = app.screen.query_one("#explain-text").source
        assert "Training and evaluation, and the bias before it" in source
        assert (
            "∂L/∂b1 = 0 exactly" in source
            and "matrix use the running ones, as after `model.eval()`" in source
        )


async def test_xor_derives_the_hidden_layer_and_takes_an_answer(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_lesson(lesson_path("xor-needs-a-hidden-layer"))
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query("#explain-text"),
            "the lesson screen",
        )
        assert (
            "The backward pass through the hidden layer"
            in app.screen.query_one("#explain-text").source
        )
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot, lambda: pane.derivation is not None and pane.complete, "the whole derivation"
        )
        assert all(c.ok for c in pane.derivation.checks) and len(pane.derivation.matrix_checks) == 4
        await walk_to(pilot, pane, "chain", "W1")
        panel = pane.query_one("#exercise")
        for _ in range(len(panel.exercises)):
            if panel.current.id == "grad-w1":
                break
            await pilot.press("x")
        assert panel.current.id == "grad-w1"
        await pilot.press("a", *"(sigmoid(z2) - y)*W2*x", "enter")
        await until(
            pilot,
            lambda: (
                "Your answer is missing ∂h1/∂z1 = step(z1)." in text_of(app, "#exercise-feedback")
            ),
            "the missing ReLU gate named",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"(sigmoid(z2) - y)*W2*step(z1)*x", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert "grad-w1" in app.progress.solved("xor-needs-a-hidden-layer")
