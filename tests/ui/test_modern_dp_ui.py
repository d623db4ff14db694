"""Pilot test of the data-parallel lesson (issue 29): from the lesson list's "Modern networks" group
to its Explain text, Derive's chain rule for w with an exercise answered, a short training run, and
Train's w: the workers' table (each worker's ‖g‖, their average, one process's, max |Δ|)."""

from __future__ import annotations

from tests.ui.conftest import make_app, text_of, until
from tests.ui.test_modern_lessonsB_ui import open_from_the_list, run_train, walk_to
from tutor.train.parallel import live_groups
from tutor.ui.panes.derive import DerivePane
from tutor.ui.panes.train_workers import WorkersView

WORKERS_WAIT = 300.0  # two processes importing torch on a loaded machine: a bound for a hang


async def test_data_parallel_from_the_list_to_derive_an_exercise_training_and_the_workers(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_from_the_list(app, pilot, "data-parallel")
        source = app.screen.query_one("#explain-text").source
        assert "∂L/∂w = (1/W)·Σ_r ∂L_r/∂w = all_reduce(g_r)/W" in source
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
            lambda: (
                "∂L/∂w = (0.5 × -3.0 × 1.0)  +  (0.5 × 1.0 × 2.0) = -0.5"
                in text_of(app, "#step-text")
            ),
            "w's chain step",
        )
        await until(
            pilot, lambda: "Exercise grad-w" in text_of(app, "#exercise-prompt"), "the exercise"
        )
        await pilot.press("a", *"2*(z1 - y1)*x1 + 2*(z2 - y2)*x2", "enter")
        await until(
            pilot,
            lambda: "missing ∂L/∂L1 = 1/2" in text_of(app, "#exercise-feedback"),
            "the missing average's response",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"(2*(z1 - y1)*x1 + 2*(z2 - y2)*x2)/2", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved("data-parallel") == ["grad-w"]
        await pilot.press("escape")
        status = await run_train(app, pilot, "1")
        assert "step 2/2" in status, status  # one epoch: 128 samples in batches of 64
        await pilot.press("w")
        view = app.screen.query_one(WorkersView)
        await until(
            pilot,
            lambda: "the weights equal one process's" in text_of(app, "#workers-table"),
            "the workers' run to end",
            timeout=WORKERS_WAIT,
        )
        assert "2 workers joined (gloo)" in text_of(app, "#workers-status")
        head, *rows = view.rows[: view.rows.index("")]
        assert head.split() == [
            "step",
            "loss",
            "‖g‖",
            "w1",
            "‖g‖",
            "w2",
            "average",
            "1",
            "proc",
            "max",
            "|Δ|",
            "acc",
            "|Δ|",
        ]
        assert [r.split()[0] for r in rows] == ["1", "8", "16", "24", "32", "40"]
        for row in rows:
            cells = row.split()
            assert cells[4] == cells[5]  # the average is one process's gradient norm
            assert float(cells[6]) <= 1e-12 and float(cells[7]) <= 1e-12
        await until(pilot, lambda: live_groups() == [], "the ended run's workers gone")
        await pilot.press("w")
        assert app.screen.query_one("#train-switch").current == "run-view"
