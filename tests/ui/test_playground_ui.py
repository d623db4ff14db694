"""Pilot tests of the playground screen: opened from the lesson list, trained, a knob changed
mid-run, the heatmap's rows read, a neuron selected. Every wait is for a state."""

from __future__ import annotations

import numpy as np

from tests.ui.conftest import make_app, text_of, until
from tutor.playground.model import Config
from tutor.ui.screens.lesson_list import LessonListScreen
from tutor.ui.screens.playground import PlaygroundScreen
from tutor.ui.widgets.heatmap import Heatmap, NeuronView


def filled(plane: Heatmap) -> bool:
    """The plane is drawn at its present size: the layout has settled."""
    rows = plane.rows_text()
    return len(rows) == plane.size.height > 0 and all(len(r) == plane.size.width for r in rows)


async def open_playground(pilot, app) -> PlaygroundScreen:
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, PlaygroundScreen)
            and app.screen.pg is not None
            and app.screen.query(Heatmap)
            and filled(app.screen.query_one(Heatmap))
        ),
        "the playground drawn",
    )
    return app.screen


async def test_open_from_the_list_train_change_a_knob_mid_run_and_read_the_heatmap(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        options = app.screen.query_one("#lessons")
        assert options.get_option_at_index(1).id == "playground"
        await pilot.press("up", "enter")  # from the first lesson, one up
        screen = await open_playground(pilot, app)
        rows = screen.query_one(Heatmap).rows_text()
        # every training and test point of the circle is drawn over the boundary's half-blocks
        assert set("".join(rows)) <= {"▀", "●", "○", "◆", "◇"} and {"●", "○", "◆", "◇"} <= set(
            "".join(rows)
        )
        assert text_of(screen, "#pg-legend").startswith("●○ train ◆◇ test: class 1/class 0")
        await pilot.press("space")
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.step >= 200,
            "200 steps on screen",
        )
        weights = screen.pg.linears[0].W.copy()
        # the learning rate, mid-run: the weights are kept and training goes on
        field = screen.query_one("#field-lr")
        field.focus()
        field.value = "0.1"
        await pilot.press("enter")
        await until(pilot, lambda: screen.pg.config.lr == 0.1, "the new learning rate")
        step = screen.pg.step
        assert step > 0 and screen.playing and screen.pg.opt.lr == 0.1
        assert (
            text_of(screen, "#pg-message") == "lr is now 0.1; training goes on from these weights."
        )
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.step > step,
            "training on with lr 0.1",
        )
        assert not np.array_equal(screen.pg.linears[0].W, weights)
        # the activation restarts the run from the seed's weights, and it keeps playing
        await pilot.click("#select-activation")
        await pilot.press("down", "enter")  # tanh → sigmoid
        await until(pilot, lambda: screen.pg.config.activation == "sigmoid", "the new activation")
        assert screen.pg.config.lr == 0.1
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.step > 0 and screen.playing,
            "the new run training",
        )
        await until(
            pilot, lambda: text_of(screen, "#pg-status").startswith("step "), "the status line"
        )
        assert "accuracy" in text_of(screen, "#pg-status") and "test confusion: 0→0" in text_of(
            screen, "#pg-status"
        )
        await pilot.press("space")
        await until(pilot, lambda: not screen.playing, "paused")


async def test_select_a_neuron_to_see_its_equation(tmp_path):
    app = make_app(tmp_path, playground=Config(dataset="xor", hidden=(3,), activation="relu"))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_playground(pilot, app)
        views = list(screen.query(NeuronView))
        assert [v.neuron for v in views] == [(1, 0), (1, 1), (1, 2), (2, 0)]
        await until(
            pilot,
            lambda: screen.query_one("#neuron-1-2").region.height == 5,
            "the neurons laid out",
        )
        await pilot.click("#neuron-1-2")
        await until(pilot, lambda: screen.selected == (1, 1), "the neuron selected")
        W, b = screen.pg.linears[0].W, screen.pg.linears[0].b
        equation = text_of(screen, "#pg-equation")
        assert equation.startswith("h1_2 = relu(") and f"{abs(W[0, 1]):.3g}·x1" in equation
        assert f"{abs(W[1, 1]):.3g}·x2" in equation and f"+ {b[1]:.3g})" in equation
        assert equation.endswith("(the last term is the bias)")
        await until(
            pilot, lambda: screen.query_one("#neuron-1-2").has_class("-selected"), "its mark"
        )
        await pilot.press("n", "n")  # past h1_3, to the output unit
        await until(
            pilot,
            lambda: text_of(screen, "#pg-equation").startswith("ŷ = sigmoid("),
            "the output's equation",
        )
        # a neuron's thumbnail is its own output over the plane: three rows of half-blocks
        assert len(screen.query_one("#neuron-1-1").lines) == 3


async def test_ascii_shades_and_a_diverging_run_is_diagnosed(tmp_path):
    app = make_app(tmp_path, ascii=True, playground=Config(dataset="plane", lr=3.0))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_playground(pilot, app)
        rows = screen.query_one(Heatmap).rows_text()
        assert (
            "".join(rows).isascii()
            and set("".join(rows)) & set("XOxo")
            and set("".join(rows)) & set(".:-=+*#%@")
        )
        await pilot.press("space")
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.diverged and not screen.playing,
            "the divergence",
        )
        await until(
            pilot, lambda: "exploding gradients" in text_of(screen, "#pg-doctor"), "the doctor"
        )
        assert text_of(screen, "#pg-status").startswith("diverged at step ")
        assert "lr x largest gradient = 3 x" in text_of(screen, "#pg-doctor")
        # still usable: a lower rate starts again
        field = screen.query_one("#field-lr")
        field.focus()
        field.value = "0.01"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: screen.pg.config.lr == 0.01 and screen.pg.step == 0 and not screen.pg.diverged,
            "a fresh run",
        )


async def test_a_lesson_run_that_diverges_gets_the_doctor_in_its_status_line(tmp_path):
    from tutor.lesson import resolve
    from tutor.ui.panes.train import TrainPane

    app = make_app(tmp_path, start=resolve("linear-1d"))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.screen.query(TrainPane), "the lesson")
        await pilot.press("t")
        pane = app.screen.query_one(TrainPane)
        await until(
            pilot,
            lambda: pane.query("#field-lr") and pane.session is not None,
            "the Train part ready",
        )
        pane.query_one("#field-lr").value = "5"
        pane.restart()
        await pilot.press("space")
        await until(
            pilot,
            lambda: (
                "Doctor: the run diverged: exploding gradients"
                in str(pane.query_one("#status").render())
            ),
            "the doctor's verdict",
        )
        status = str(pane.query_one("#status").render())
        assert (
            "diverged at step 11" in status
            and "Fix: lower the learning rate about tenfold (try lr 0.5)" in status
        )


async def test_no_color_shades_and_a_csv_of_ones_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    rows = "".join(
        f"{a},{b},{int(a * b > 0)}\n" for a, b in np.random.RandomState(2).uniform(-3, 3, (120, 2))
    )
    (tmp_path / "mine.csv").write_text("x1,x2,label\n" + rows)
    app = make_app(
        tmp_path, playground=Config(csv=str(tmp_path / "mine.csv"), hidden=(4,), activation="relu")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_playground(pilot, app)
        assert str(screen.query_one("#select-dataset").selection) == "csv"
        assert text_of(screen, "#pg-message").startswith(
            "mine.csv: 60 training and 60 test points (classification)."
        )
        rows = screen.query_one(Heatmap).rows_text()
        assert set("".join(rows)) <= set(" ░▒▓█●○◆◇") and set("".join(rows)) & set("●○◆◇")
        await pilot.press("space")
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.step >= 100,
            "100 steps drawn",
        )
        await pilot.press("space")
        await until(pilot, lambda: not screen.playing, "paused")
        assert screen.query_one(
            "#neuron-1-1"
        ).lines  # the thumbnails drew under the NO_COLOR filter


async def test_paused_status_and_message_name_the_same_step(tmp_path):
    """The status line and "Paused at step N" come from one state: the run as it stopped."""
    app = make_app(tmp_path, playground=Config(dataset="circle"))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_playground(pilot, app)
        await pilot.press("space")
        await until(
            pilot,
            lambda: screen.shown is not None and screen.shown.stats.step >= 300,
            "300 steps on screen",
        )
        await pilot.press("space")
        await until(pilot, lambda: not screen.playing, "paused")
        step = screen.pg.step
        assert step >= 300
        assert text_of(screen, "#pg-message") == f"Paused at step {step:,}. Space goes on."
        assert text_of(screen, "#pg-status").startswith(f"step {step:,} · epoch ")
