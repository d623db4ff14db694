"""Issue 20: the TUI as a learner meets it. Each test presses the keys a learner would and reads
the screen as drawn (every character of it), not the widgets' state alone."""

from __future__ import annotations

import io
import json

from rich.console import Console

from tests.ui.conftest import make_app, status_text, until
from tutor.present.derivation import render
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen


def screen_text(app) -> str:
    """The terminal's characters, as a learner sees them."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def derivation_ready(app, pilot) -> DerivePane:
    pane = app.screen.query_one(DerivePane)
    await until(pilot, lambda: pane.derivation is not None, "the derivation")
    await pilot.pause()
    return pane


async def train_ready(app, pilot) -> TrainPane:
    pane = app.screen.query_one(TrainPane)
    await until(pilot, lambda: pane.session is not None, "the training data and first session")
    await pilot.pause()  # and drawn: screen_text reads the last frame
    return pane


async def run_to_end(app, pilot, pane: TrainPane) -> None:
    await pilot.press("space")
    await until(
        pilot,
        lambda: pane.session.finished and not pane.running and pane.shown is pane.latest,
        "the end of the run",
    )
    await pilot.pause()


async def test_every_line_of_a_long_step_is_reached_by_keys_at_80x24(tmp_path):
    """two-layer-relu step 11 (the chain rule for w1) is taller than the room at 80×24: Down,
    PageDown and ctrl+End scroll it to its last line, and f folds the exercise panel away."""
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        pane = await derivation_ready(app, pilot)
        await pilot.press(*["n"] * 10)
        assert "Step 11/21 · Chain rule for w1" in screen_text(app)
        body = render(pane.derivation, 10, pane.text_width(), False).rstrip().splitlines()
        last = body[-1].strip()
        assert last == "∂L/∂w1 at the point = 6.984"
        assert last not in screen_text(app)  # below the fold at first
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert last in screen_text(app)
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert last not in screen_text(app) and body[0].strip() in screen_text(app)
        for _ in range(len(body)):  # PageDown alone gets there too
            await pilot.press("pagedown")
            await pilot.pause()
            if last in screen_text(app):
                break
        assert last in screen_text(app)
        await pilot.press("ctrl+home", "down")
        await pilot.pause()
        assert pane.query_one("#step-scroll").scroll_y == 1
        # the exercise panel folds to one line and gives its rows to the step
        scroll = pane.query_one("#step-scroll")
        rows = scroll.size.height
        assert "Exercise grad-w1" in screen_text(app)
        await pilot.press("f")
        await pilot.pause()
        text = screen_text(app)
        assert "Exercise grad-w1" not in text and "2 exercises here, folded: f shows them." in text
        assert scroll.size.height >= rows + 3
        await pilot.press("n")  # stays folded on the next step
        await pilot.pause()
        assert "Exercise grad-w1" not in screen_text(app)
        await pilot.press("p", "f")
        await pilot.pause()
        assert "Exercise grad-w1" in screen_text(app)
        # home and end still go to the first and last step
        await pilot.press("end")
        await pilot.pause()
        assert "Step 21/21" in screen_text(app)
        await pilot.press("home")
        await pilot.pause()
        assert "Step 1/21" in screen_text(app)


async def test_escape_from_a_button_keeps_the_lesson_and_its_run(tmp_path):
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        lesson_screen = app.screen
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        await run_to_end(app, pilot, pane)
        await pilot.press("o")  # numpy kept; torch-manual ready
        await pilot.pause()
        while not isinstance(app.focused, type(pane.query_one("#play"))):
            await pilot.press("tab")
        assert app.focused.id in ("play", "step", "reset", "overlay")
        await pilot.press("escape")  # leaves the button, not the lesson
        await pilot.pause()
        assert app.screen is lesson_screen and app.focused is pane  # Train's keys are live again
        app.screen.query_one("#backend").focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is lesson_screen
        assert "▞▞ numpy" in screen_text(app) and "torch-manual is ready" in screen_text(app)
        await pilot.press("escape")  # now to the list; the lesson is kept
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson again")
        assert app.screen is lesson_screen
        assert len(pane.overlays) == 1 and str(pane.query_one("#backend").value) == "torch-manual"
        text = screen_text(app)
        assert "▞▞ numpy" in text and "Kept numpy on the plot; torch-manual is ready." in text


async def test_a_restart_opens_the_same_part_step_and_fields(tmp_path):
    """ctrl+q, then a fresh tutor: the same lesson, on the part, step and fields that were left."""
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        ids = [item.id for item in app.listing]
        await pilot.press(*["down"] * ids.index("two-layer-relu"), "enter")
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        await train_ready(app, pilot)
        await pilot.click("#field-epochs")
        await pilot.press("end", *["backspace"] * 5, *"7", "enter")
        await pilot.press("d")
        await derivation_ready(app, pilot)
        await pilot.press("n", "n", "n", "n")
        await pilot.pause()
        assert "Step 5/21" in screen_text(app)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    saved = json.loads((tmp_path / "progress.json").read_text())
    assert saved["lessons"]["two-layer-relu"]["place"] == {
        "part": "derive",
        "step": 4,
        "train": {"epochs": "7", "hidden": "100", "lr": "0.0001", "momentum": "0", "seed": "0"},
        "backend": "numpy",
        "variant": "",
        "kept": [],
    }  # and the Train drop-downs (issue 27, item 5)

    again = make_app(tmp_path)
    async with again.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(again.screen, LessonScreen), "the lesson, resumed")
        assert again.screen.lesson.id == "two-layer-relu" and again.screen.part == "derive"
        await derivation_ready(again, pilot)
        assert "Step 5/21" in screen_text(again)
        await pilot.press("t")
        await pilot.pause()
        assert again.screen.query_one("#field-epochs").value == "7"
        await pilot.press("escape")  # the list is underneath
        await pilot.pause()
        assert isinstance(again.screen, LessonListScreen)


async def test_enter_in_a_field_then_space_plays_and_x_moves_to_the_next_exercise(tmp_path):
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        await pilot.click("#field-lr")
        field = pane.query_one("#field-lr")
        assert (
            field.has_focus and field.rich_style.underline and field.rich_style.bold
        )  # focus is seen
        await pilot.press("enter")
        assert app.focused is pane  # the field let go: space plays
        await run_to_end(app, pilot, pane)  # space played (it did not type a space)
        assert field.value == "0.1" and "step 1/1" in screen_text(app)
        pane.query_one("#play").focus()
        await pilot.pause()
        assert pane.query_one("#play").rich_style.reverse  # a focused button is reversed
        # the exercises: three sit on w's backward step; x shows the other
        await pilot.press("escape", "d")
        deriv = await derivation_ready(app, pilot)
        assert "Exercise" not in screen_text(app)  # the forward steps ask nothing yet
        while "Exercise" not in screen_text(app):
            await pilot.press("n")
            await pilot.pause()
        assert deriv.derivation.steps[deriv.index].phase != "forward"
        text = screen_text(app)
        assert "Exercise grad-w:" in text and "(1 of 3 here; x for the next)" in text
        await pilot.press("x")
        await pilot.pause()
        assert "Exercise w-after-step:" in screen_text(
            app
        ) and "(2 of 3 here; x for the next)" in screen_text(app)


async def test_a_finished_lesson_names_the_next_one(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(
            "enter"
        )  # single-neuron: the first lesson (the sandbox above it) is highlighted
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        pane = await derivation_ready(app, pilot)
        while "Exercise grad-w:" not in screen_text(app):
            await pilot.press("n")
            await pilot.pause()
        panel = pane.query_one("#exercise")
        for answer in ("2*(y_pred - y)*x", "1.2", "d"):
            await pilot.press("a", *answer, "enter")
            await until(
                pilot,
                lambda: "✓" in str(panel.query_one("#exercise-feedback").render()),
                "the verdict",
            )
            if answer != "d":
                await pilot.press("escape", "x")
                await pilot.pause()
        feedback = str(panel.query_one("#exercise-feedback").render())
        assert feedback.endswith(
            f"(3/3 exercises solved) Lesson done: next lesson → {app.listing[1].title} "
            "(escape, escape, enter)."
        )
        assert "Lesson done: next lesson →" in screen_text(app)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        assert app.screen.query_one("#lessons").highlighted_option.id == "linear-1d"
        assert (
            f"One weight, one step: done. Next lesson → {app.listing[1].title} (enter opens it)."
            in screen_text(app)
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the next lesson")
        assert app.screen.lesson.id == "linear-1d"


async def test_a_converged_loss_is_not_printed_as_zero_and_the_value_column_says_it_is_cut(
    tmp_path,
):
    app = make_app(tmp_path, "linear-1d")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        await run_to_end(app, pilot, pane)
        final = pane.session.last.loss
        assert 0 < final < 1e-9  # the run converges far below 1e-9
        status = str(app.screen.query_one("#status").render())
        assert f"loss {final:.6g}" in status and "loss 0.0 " not in status
    app = make_app(tmp_path, "multivariate-regression")
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        await run_to_end(app, pilot, pane)
        cell = str(app.screen.query_one("#grads").get_row("w")[6])
        assert cell.endswith(", …") and len(cell) <= 20
        assert cell in screen_text(app)


async def test_a_variant_shows_its_own_line_in_place_of_the_lessons_note(tmp_path):
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        await train_ready(app, pilot)
        assert (
            "Note: One sample, one step: the loss was 1.0 before the step and is 0.64 after it."
            in screen_text(app)
        )
        app.screen.query_one("#variant").focus()
        await pilot.press("enter", "down", "enter")  # the drop-down: forget-zero-grad
        await until(
            pilot,
            lambda: str(app.screen.query_one("#variant").value) == "forget-zero-grad",
            "the variant",
        )
        await pilot.pause()
        text = screen_text(app)
        assert "0.64 after it" not in text
        assert "Note: Without zero_grad, w.grad keeps every old gradient" in text


def legend_and_plot(app) -> tuple[str, list[str]]:
    """The legend (its lines joined as one: it wraps under its first entry where the plot is
    narrow) and the plot's lines below it."""
    lines = str(app.screen.query_one("#plot").render()).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("train/val"))
    end = first + 1
    while (
        end < len(lines)
        and lines[end].startswith(" " * 11)
        and lines[end].strip()
        and "loss" not in lines[end]
    ):
        end += 1
    legend = "   ".join(
        line.rstrip() if i == first else line.strip()
        for i, line in enumerate(lines[first:end], first)
    )
    return legend, lines[end:]


async def test_five_overlaid_runs_have_their_own_marks_and_a_one_line_legend(tmp_path):
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        for backend in ("numpy", "torch-manual", "autograd", "nn", "optim"):
            assert str(pane.query_one("#backend").value) == backend
            await run_to_end(app, pilot, pane)
            if backend == "nn":  # nn's layers have biases, autograd's do not: no percentage
                assert status_text(app).endswith(
                    "· nn vs autograd: not comparable, autograd ran with no biases"
                )
            if backend != "optim":
                await pilot.press("o")
                await pilot.pause()
        legend, plot = legend_and_plot(app)
        assert (
            legend
            == "train/val  ▞▞/⢕⢕ numpy   ●/○ torch-manual   ■/□ autograd   ▲/△ nn   ◆/◇ optim"
        )
        assert all(part.strip() in screen_text(app) for part in legend.split("   ") if part.strip())
        assert "log10(loss)" in plot[0] and not any(
            "numpy" in line for line in plot
        )  # nothing over the curves
        drawn = "".join(plot)
        # identical runs overdraw each other (numpy, torch-manual and autograd agree); optim's differs
        assert "◆" in drawn and "◇" in drawn and any(mark in drawn for mark in "●■▲")


async def test_overlays_stay_when_the_variant_changes(tmp_path):
    """zeroed against accumulated gradients, side by side"""
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        variant = app.screen.query_one("#variant")
        variant.value = "forget-zero-grad"
        await until(
            pilot,
            lambda: pane.session is not None and pane.variant is not None,
            "the variant's run",
        )
        await run_to_end(app, pilot, pane)
        await pilot.press("o")
        await pilot.pause()
        variant.value = "two-steps"
        await until(
            pilot,
            lambda: pane.variant is not None and pane.variant.name == "two-steps",
            "the other variant",
        )
        await run_to_end(app, pilot, pane)
        assert [k.label for k in pane.overlays] == ["autograd (forget-zero-grad)"]
        legend, _ = legend_and_plot(app)
        assert legend == "train/val  ▞▞ autograd (forget-zero-grad)   ● autograd (two-steps)"
        assert status_text(app).endswith(
            "· autograd (two-steps) vs autograd (forget-zero-grad): not comparable, autograd (forget-zero-grad) "
            "ran with epochs 30, zero_grad False"
        )


async def test_smaller_things_a_learner_meets(tmp_path):
    """'1 step'; no Train tab without training; the jump lands on a parameter's backward step; an
    error is not sitting above 'Press space to train.'"""
    app = make_app(tmp_path, "vector-derivatives")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        header = screen_text(app).splitlines()[1]
        assert "Explain" in header and "Derive" in header and "Train" not in header
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.part == "explain" and not app.screen.query(TrainPane)
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        pane = await derivation_ready(app, pilot)
        await pilot.press("j")
        await pilot.pause()
        picker = app.screen.query_one("#node-picker")
        names = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        await pilot.press(*["down"] * names.index("w1"), "enter")
        await pilot.pause()
        assert "Step 9/21 · Backward: ∂L/∂w1 at parameter w1" in screen_text(
            app
        )  # not its check step
        assert pane.derivation.steps[pane.index].phase == "backward"
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        assert "numpy ready: 1 step on cpu. Press space." in screen_text(app)
        assert "Press space to train." in screen_text(app)
        pane.set_status(
            "Cannot train: " + "MNIST could not be fetched. " * 8 + "Use the digits.", error=True
        )
        await pilot.pause()
        text = screen_text(app)
        assert "Press space to train." not in text
        assert (
            text.count("Cannot train: MNIST") == 1 and "Use the digits." in text
        )  # 3+ lines, not cut


async def test_the_graph_wires_each_parameter_into_its_node_within_80_columns(tmp_path):
    app = make_app(tmp_path, "mlp-digits")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        await derivation_ready(app, pilot)
        lines = screen_text(app).splitlines()
        row = next(line for line in lines if "[w1 v 0.5 g ·]" in line)
        assert row.strip() == "x, [w1 v 0.5 g ·], [b1 v 0.1 g ·] ──▶ [z1 v 0.5 g ·]"
        row = next(line for line in lines if "[w2 " in line)
        assert row.strip().startswith("h1, [w2 v 1.5 g ·], [b2 v -0.2 g ·] ──▶ [z2 ")
        assert any(line.strip().startswith("z1 ──▶ [h1 ") for line in lines)
        assert all(len(line) <= 80 for line in lines)
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:  # room for the expressions
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        await derivation_ready(app, pilot)
        await pilot.press(*["n"] * 9)  # step 10: ∂L/∂w2
        await pilot.pause()
        graph = str(app.screen.query_one("#graph").render())
        assert "h1, [w2 v -1.2 g -4.656] ◀── [z2 = h1 @ w2  v -1.44 g -3.88]" in graph


async def test_the_fit_on_the_validation_set_is_drawn_beside_the_loss(tmp_path):
    """A regression: predictions against targets; a classifier: its confusion matrix, whose
    diagonal is the validation accuracy the status line gives."""
    app = make_app(tmp_path, "logistic-regression")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        fit = app.screen.query_one("#fit")
        await until(
            pilot, lambda: "The fit on the validation set" in screen_text(app), "the fit's place"
        )
        assert str(fit.render()) == "The fit on the validation set shows here during a run."
        await pilot.click("#field-epochs")
        await pilot.press("end", *["backspace"] * 5, "5", "enter")
        await run_to_end(app, pilot, pane)
        snap = pane.session.last
        right = round(snap.val_accuracy * len(pane.data.y_val))
        text = screen_text(app)
        assert f"val confusion: {right}/{len(pane.data.y_val)} right" in text
        assert "rows: the true class" in text
        rows = [line for line in str(app.screen.query_one("#fit").render()).splitlines()[2:12]]
        assert [row.split()[0] for row in rows] == [str(k) for k in range(10)]
        diagonal = sum(
            int(row.split()[1 + k]) for k, row in enumerate(rows) if row.split()[1 + k] != "·"
        )
        assert diagonal == right
    app = make_app(tmp_path, "linear-regression")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("t")
        pane = await train_ready(app, pilot)
        await run_to_end(app, pilot, pane)
        fit = app.screen.query_one("#fit")
        assert (
            fit.region.width >= 24 and fit.region.x > app.screen.query_one("#plot").region.x
        )  # beside it
        assert "val: predicted ↑ vs target →" in screen_text(app)
        assert "•" in str(fit.render())
