"""Pilot tests of the further topics fan-out, backprop-through-time and gradient-checking: each
lesson opened in the real app, its Explain and Derive parts walked with keys, an exercise answered
with a missing branch, and gradient-checking's sweep drawn as a log-log plot on its sweep steps."""

from __future__ import annotations

import io

from rich.console import Console

from tests.support import lesson_path
from tests.ui.conftest import until
from tutor.progress import Progress
from tutor.ui.app import TutorApp
from tutor.ui.panes.derive import DerivePane
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.widgets.sweep_plot import SweepPlot


def screen_text(app) -> str:
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def open_derive(tmp_path, pilot, app, lesson_id: str) -> DerivePane:
    await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
    assert app.screen.lesson.id == lesson_id
    await pilot.press("d")
    pane = app.screen.query_one(DerivePane)
    await until(
        pilot, lambda: pane.derivation is not None and pane.complete, "the whole derivation"
    )
    return pane


async def go_to(pilot, pane: DerivePane, phase: str, node: str) -> None:
    """Step with n until the step of `phase` at `node` is on screen."""
    await pilot.press("home")
    for _ in range(len(pane.derivation.steps)):
        step = pane.derivation.steps[pane.index]
        if (step.phase, step.node) == (phase, node):
            return
        await pilot.press("n")
    raise AssertionError(f"no {phase} step at {node}")


def make_app(tmp_path, lesson_id: str) -> TutorApp:
    return TutorApp(start=lesson_path(lesson_id), progress=Progress(tmp_path / "progress.json"))


async def answer(app, pilot, pane: DerivePane, exercise_id: str, typed: str) -> str:
    panel = pane.query_one("#exercise")
    for _ in range(len(panel.exercises)):
        if panel.current.id == exercise_id:
            break
        await pilot.press("x")
    assert panel.current.id == exercise_id
    await pilot.press("a", *typed, "enter")
    await until(pilot, lambda: text_of(app, "#exercise-feedback")[:1] in ("✓", "✗"), "the verdict")
    return " ".join(text_of(app, "#exercise-feedback").split())


async def test_fan_out_walk(tmp_path):
    app = make_app(tmp_path, "fan-out")
    async with app.run_test(size=(110, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        assert "Fan-out: gradients add where paths meet" in screen_text(app)
        assert "f      = num · invden       1.54564" in app.screen.query_one("#explain-text").source
        pane = await open_derive(tmp_path, pilot, app, "fan-out")
        await go_to(pilot, pane, "backward", "x")
        assert pane.query_one("#graph").current == "x"
        body = text_of(app, "#step-text")
        assert "∂f/∂x = 0.512144 − 0.0357615 + 1.58319 = 2.05957" in body
        assert "x reaches the loss through 3 uses (num, sigx, xpy)" in " ".join(body.split())
        assert "Exercise grad-x:" in screen_text(app)
        said = await answer(app, pilot, pane, "grad-x", "invden - 2*num*xpy/den**2")
        assert said.startswith(
            "✗ You have the paths through num and xpy; the path through sigx is missing: x is used "
            "by num, sigx and xpy, and its gradient is the sum over all three."
        )
        await pilot.press("escape")
        said = await answer(app, pilot, pane, "grad-x-value", "2.05957")
        assert said.startswith("✓ Correct.")
        await pilot.press("escape")  # out of the answer box: n steps again
        await go_to(pilot, pane, "chain", "y")
        assert "∂f/∂y at the point = 1.59223" in text_of(app, "#step-text")
        await pilot.press("end")
        assert "Check ∂f/∂y: all three agree" in text_of(app, "#step-title")
        assert not app.screen.query_one(SweepPlot).display  # no sweep in this lesson


async def test_backprop_through_time_walk(tmp_path):
    app = make_app(tmp_path, "backprop-through-time")
    async with app.run_test(size=(110, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        assert (
            "h3 = tanh(w·h2 + u·x3)      0.916397" in app.screen.query_one("#explain-text").source
        )
        assert app.screen.lesson.parts == ("explain", "derive")  # derivation only: no Train
        pane = await open_derive(tmp_path, pilot, app, "backprop-through-time")
        await go_to(pilot, pane, "backward", "w")
        body = text_of(app, "#step-text")
        for line in (
            "upstream × local = 0.049151 × 0.0 = 0.0",
            "upstream × local = 0.098757 × 0.660977 = 0.0652761",
            "upstream × local = 1.23279 × -0.010875 = -0.0134067",
            "∂L/∂w = 0.0 + 0.0652761 − 0.0134067 = 0.0518695",
        ):
            assert line in body, line
        said = await answer(app, pilot, pane, "grad-w", "2*(h3 - y)*(1 - h3**2)*h2")
        assert said.startswith(
            "✗ You have the path through h3; the paths through h1 and h2 are missing: w is used by "
            "h1, h2 and h3, and its gradient is the sum over all three."
        )
        await pilot.press("escape")
        said = await answer(app, pilot, pane, "grad-w-value", "-0.0134067")
        assert said.startswith("✗ That is the last time step's term alone.")


async def test_gradient_checking_sweep_plot(tmp_path):
    app = make_app(tmp_path, "gradient-checking")
    async with app.run_test(size=(110, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        source = app.screen.query_one("#explain-text").source
        assert (
            "1.1e-02 at h = 1e-1, 1.1e-04 at 1e-2, 1.1e-06 at 1e-3 and 1.1e-08 at 1e-4"
            in " ".join(source.split())
        )
        pane = await open_derive(tmp_path, pilot, app, "gradient-checking")
        plot = app.screen.query_one(SweepPlot)
        assert not plot.display
        await go_to(pilot, pane, "check", "v")
        title = text_of(app, "#step-title")
        assert (
            "Check ∂L/∂v: autograd agrees; a kink (relu, max or abs at 0) lies within the finite-difference step"
            in title
            and "✓" in title
        )
        assert "finite differences = 0.929338" in text_of(app, "#step-text")
        await go_to(pilot, pane, "sweep", "w")
        assert plot.display and plot.sweep.param == "w"
        await until(pilot, lambda: "central f64" in text_of(app, "#sweep-plot"), "the plot")
        drawn = text_of(app, "#sweep-plot")
        for label in (
            "∂L/∂w: relative error against h (log-log)",
            "forward f64",
            "central f32",
            "1e-12",
            "1e-2",
            "bands: 1e-7 good, 1e-4 only near a kink, 1e-2 wrong above",
        ):
            assert label in drawn, label
        assert len(drawn.splitlines()) >= 12
        body = text_of(app, "#step-text")
        assert "1e-01      1.1e-02      4.6e-02      1.1e-02" in body
        assert "1e-03      1.1e-06      3.7e-04" in body
        await pilot.press("n")
        assert plot.sweep.param == "v" and pane.derivation.steps[pane.index].node == "v"
        await until(
            pilot, lambda: "∂L/∂v: relative error" in text_of(app, "#sweep-plot"), "the plot of v"
        )
        assert "kink within ±h" in text_of(app, "#step-text")
        await pilot.press("home")
        assert not plot.display


async def test_fan_out_names_the_path_a_slip_is_in(tmp_path):
    app = make_app(tmp_path, "fan-out")
    async with app.run_test(size=(110, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        assert "the first factor is the total gradient at f (1" in " ".join(
            app.screen.query_one("#explain-text").source.split()
        )
        pane = await open_derive(tmp_path, pilot, app, "fan-out")
        await go_to(pilot, pane, "backward", "x")
        said = await answer(
            app, pilot, pane, "grad-x", "invden - num*sigx*(1 - sigx)/den - 2*num*xpy/den**2"
        )
        assert said.startswith(
            "✗ The path through sigx has one power of den too few in its denominator "
            "(∂invden/∂den = -(1/den**2)); the other paths are right."
        )
        await pilot.press("escape")
        said = await answer(
            app, pilot, pane, "grad-x", "invden - num*sigx*(1 - sigx)/den**2 - num*xpy/den**2"
        )
        assert said.startswith(
            "✗ The path through xpy is missing a constant factor 2; the other paths are right."
        )


async def test_backprop_through_time_explains_the_matrix_form_truncation_and_clipping(tmp_path):
    app = make_app(tmp_path, "backprop-through-time")
    async with app.run_test(size=(110, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        source = " ".join(app.screen.query_one("#explain-text").source.split())
        for seen in (
            "∂L/∂h_(t−1) = Wᵀ · diag(1 − h_t²) · ∂L/∂h_t",
            "A loss at every step",
            "k = 2: 0.0652761 + (−0.0134067) = 0.0518695",
            "(0.0137606, 0.0990487)",
            "∂L/∂w = ∂L/∂h1 · ∂⁰h1/∂w + ∂L/∂h2 · ∂⁰h2/∂w + ∂L/∂h3 · ∂⁰h3/∂w",
        ):
            assert seen in source, seen
        pane = await open_derive(tmp_path, pilot, app, "backprop-through-time")
        await go_to(pilot, pane, "backward", "w")
        said = await answer(
            app,
            pilot,
            pane,
            "grad-w",
            "2*(h3 - y)*(1 - h3**2)*(-h2 + w*(1 - h2**2)*(h1 + w*(1 - h1**2)*h0))",
        )
        assert said.startswith(
            "✗ The path through h3 has the wrong sign; the other paths are right."
        )


async def test_gradient_checking_gives_the_practical_advice(tmp_path):
    app = make_app(tmp_path, "gradient-checking")
    async with app.run_test(size=(110, 44)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        source = " ".join(app.screen.query_one("#explain-text").source.split())
        for seen in (
            "Checking a real network: practical advice",
            "**Turn off the randomness.**",
            "It gets 0.929338, about 0.6 × 1.54889",
            "Forward differences, (L(v + h) − L(v)) / h, pass here",
        ):
            assert seen in source, seen
