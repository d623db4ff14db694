"""Issue 27, item 5: a restart resumes the Train part as it was left, its backend, variant and the
runs kept on the plot included (as it already resumes the part, the step and the fields); r asks
before it throws kept runs away."""

from __future__ import annotations

from textual.widgets import Select

from tests.ui.conftest import make_app, open_train, run_drawn, settle, status_text, text_of, until
from tutor.ui.screens.confirm import Confirm


async def test_quit_mid_run_and_restart_restores_backend_variant_and_kept_runs(tmp_path):
    app = make_app(tmp_path, "linear-1d")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_train(pilot)
        pane.query_one("#variant", Select).value = "seed004"
        await settle(pilot)
        assert pane.variant.name == "seed004"
        await pilot.press("space")
        await run_drawn(pilot, pane)
        await pilot.press("o")  # numpy (seed004) kept; autograd ready
        await settle(pilot)
        kept_rows = [list(r) for r in pane.overlays[0].history.rows]
        pane.query_one("#backend", Select).value = "nn"
        await settle(pilot)
        await pilot.press("s")  # mid-run: one step of 40
        await run_drawn(pilot, pane)
        assert "step 1/40" in status_text(app)
        await pilot.press("ctrl+q")

    app = make_app(tmp_path, "linear-1d")  # the same progress file
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_train(pilot)
        await until(pilot, lambda: pane.session is not None, "a session ready")
        assert pane.query_one("#variant", Select).value == "seed004"
        assert pane.variant is not None and pane.variant.name == "seed004"
        assert text_of(app, "#variant-title") == pane.variant.title
        assert pane.query_one("#backend", Select).value == "nn"
        assert (
            pane.session.spec.backend == "nn" and pane.session.spec.epochs == 40
        )  # the variant's run
        assert [k.label for k in pane.overlays] == ["numpy (seed004)"]
        kept = pane.overlays[0]
        assert (kept.step, kept.total, kept.spec.backend, kept.spec.epochs) == (40, 40, "numpy", 40)
        rows = kept.history.rows
        assert len(rows) == len(kept_rows)
        assert all(a[:5] == b[:5] for a, b in zip(rows, kept_rows, strict=False))
        assert "numpy (seed004)" in str(pane.query_one("#plot").render())  # its curve on the plot

        # r asks first; n keeps the kept run
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        assert "Reset throws away the 1 run kept on the plot (numpy (seed004))." in text_of(
            app, "#confirm-text"
        )
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, Confirm), "the question answered")
        assert [k.label for k in pane.overlays] == ["numpy (seed004)"]
        assert status_text(app) == "Kept runs stay on the plot; nothing was reset."
        # y throws it away, in the record too
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("y")
        await settle(pilot)
        assert pane.overlays == []
        assert app.progress.place("linear-1d")["kept"] == []


async def test_no_redraw_timer_while_the_train_part_rests(tmp_path):
    """Issue 27, item 9: the 10 Hz redraw runs while a training thread does, and stops at rest."""
    app = make_app(tmp_path, "linear-1d")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_train(pilot)
        assert not pane.ticker._active.is_set()  # ready, nothing running: no timer
        await pilot.press("space")
        await until(
            pilot,
            lambda: pane.ticker._active.is_set() or pane.session.finished,
            "the ticker running",
        )
        await run_drawn(pilot, pane)
        await until(pilot, lambda: not pane.ticker._active.is_set(), "the ticker paused at rest")
        assert status_text(app).endswith(" · done")
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("s")  # one step wakes it, and it sleeps again
        await run_drawn(pilot, pane)
        assert "step 1/100" in status_text(app)
        await until(
            pilot, lambda: not pane.ticker._active.is_set(), "the ticker paused after the step"
        )
