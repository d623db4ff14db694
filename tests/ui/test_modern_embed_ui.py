"""Pilot test of embeddings-char-model (issue 29, item 5): opened from the lesson list's "Modern
networks" group, its Explain text, Derive walked to the table's chain rule (two positions, one sum)
and its matrix step, the derivative exercise's path diagnosis and right answer, and a one-epoch run
whose status line ends with the sampled names and whose gradient table lists the table C."""

from __future__ import annotations

from tests.ui.conftest import make_app, text_of, until
from tests.ui.test_modern_lessonsB_ui import current, open_from_the_list, run_train, walk_to
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train import TrainPane
from tutor.ui.widgets.grad_table import GradTable

LESSON = "embeddings-char-model"


async def test_embeddings_from_the_list_to_derive_an_exercise_training_and_samples(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_from_the_list(app, pilot, LESSON)
        source = app.screen.query_one("#explain-text").source
        assert (
            "np.add.at(dC, ix, dEmb)        row ix[n] += dEmb[n], for every n, repeats included"
            in source
        )
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot,
            lambda: pane.derivation is not None and pane.derivation.matrix_checks,
            "the derivation",
        )
        await walk_to(pilot, pane, "chain", "C")
        await until(pilot, lambda: "= 0.089106" in text_of(app, "#step-text"), "C's chain step")
        assert (
            "∂L/∂C = (0.3 × 1.5 × 0.990066 × 0.8 × 1.0)  +  "
            "(0.3 × 1.5 × 0.990066 × -0.6 × 1.0) = 0.089106" in text_of(app, "#step-text")
        )
        await until(
            pilot, lambda: "Exercise grad-table" in text_of(app, "#exercise-prompt"), "the exercise"
        )
        await pilot.press("a", *"g*U*(1 - tanh(a)**2)*Wa*X1", "enter")
        await until(
            pilot,
            lambda: "the path through e2 is missing" in text_of(app, "#exercise-feedback"),
            "the missing path named",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"g*U*(1 - tanh(a)**2)*(Wa*X1 + Wb*X2)", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved(LESSON) == ["grad-table"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "matrix", "C")
        assert current(pane).node == "C"
        await until(
            pilot,
            lambda: "∂L/∂C = X2ᵀ·∂L/∂e2  +  X1ᵀ·∂L/∂e1" in text_of(app, "#step-text"),
            "the table's matrix step: one product per position",
        )
        status = await run_train(app, pilot, "1")
        assert "step 84/84" in status, status  # 2,687 contexts in batches of 32
        sampled = status.split("sampled: ", 1)[1].split(" · done")[0]  # the names, then done
        assert "\n" not in status, status  # the doctor finds nothing to say
        assert len(sampled.split(", ")) == 10 and "(new)" in sampled, status
        rows = app.screen.query_one(TrainPane).query_one("#grads", GradTable)
        await until(pilot, lambda: rows.row_count >= 5, "the gradient table")
        assert (
            rows.get_row("C")[1] == "32×10" and rows.get_row("W1")[1] == "30×64"
        )  # three rows of 10, side by side
        picked = str(rows.get_row("C")[6])
        assert picked.startswith("rows ") and picked.endswith("/32 picked"), picked
        assert 1 <= int(picked.split()[1].split("/")[0]) <= 32
