"""The vanishing-gradients and initialisation lessons in the app (issue 15): Explain, Derive and
Train walked with the keys; the Train part's by-depth plot (‖∂W‖ per layer, log scale) replaces
the fit view for a deep model and lists the saturated fractions and the copied units."""

from __future__ import annotations

from tests.support import ROOT
from tests.ui.conftest import make_app, open_train, settle, text_of, until
from tutor.ui.panes.derive import DerivePane


def depth_text(app) -> str:
    return str(app.screen.query_one("#depth").render())


async def test_vanishing_gradients_walks_its_parts_and_plots_the_gradient_by_depth(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "vanishing-gradients.toml")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        explained = app.screen.query_one("#explain-text").source
        assert (
            "Deep, and stuck" in explained
            and "W1 1.2e-05" in explained
            and "about 29,000" in explained
        )
        await pilot.press("d")
        await settle(pilot)
        derive = app.screen.query_one(DerivePane)
        assert derive.derivation is not None and all(c.ok for c in derive.derivation.checks)
        pane = await open_train(pilot)
        assert "shows here during a run" in depth_text(app)
        await pilot.press("space")
        await until(pilot, lambda: "done" in text_of(app, "#status"), "the run's end")
        await until(pilot, lambda: "W7" in depth_text(app), "the depth plot")
        shown = depth_text(app)
        assert "log10 ‖∂W‖" in shown and "step 1" in shown and "now" in shown
        assert "saturated by depth: 0% 0%" in " ".join(shown.split())
        assert pane.query_one("#fit").display is False  # the depth view took its place
        assert "final loss 2.30248" in text_of(app, "#status") and "acc 0.102/0.102" in text_of(
            app, "#status"
        )
        assert "vanishing gradients" in text_of(app, "#status")  # the doctor's verdict
        # the variant relu-he: dead fractions instead of saturated ones
        app.screen.query_one("#variant").value = "relu-he"
        await settle(pilot)
        await pilot.press("space")
        await until(pilot, lambda: "done" in text_of(app, "#status"), "the relu-he run's end")
        await until(pilot, lambda: "dead by depth:" in depth_text(app), "the dead fractions")
        assert "acc 0.996/0.922" in text_of(app, "#status")


async def test_initialisation_zeros_variant_shows_copied_units_on_screen(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "initialisation.toml")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        explained = app.screen.query_one("#explain-text").source
        assert "Where the weights start" in explained and "ln 10 ≈ 2.3026" in explained
        await pilot.press("d")
        await settle(pilot)
        derive = app.screen.query_one(DerivePane)
        grads = {c.param: c.symbolic for c in derive.derivation.checks}
        assert (
            grads["a1"] == grads["a2"] and abs(grads["a1"] + 0.42302) < 1e-5
        )  # the twins' equal gradients
        pane = await open_train(pilot)
        app.screen.query_one("#variant").value = "zeros"
        await settle(pilot)
        await pilot.press("space")
        await until(pilot, lambda: "done" in text_of(app, "#status"), "the zeros run's end")
        await until(
            pilot,
            lambda: "W1: 1 of 32 distinct" in " ".join(depth_text(app).split()),
            "the copied units",
        )
        assert "W2: 1 of 32 distinct" in " ".join(depth_text(app).split())
        assert "copy of the others" in text_of(app, "#status")  # the doctor: symmetric units
        assert abs(pane.session.first_row.loss - 2.302585) < 1e-5  # every score 0: ln 10


async def test_initialisation_zero_output_layer_learns_with_distinct_units(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "initialisation.toml")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        explained = " ".join(app.screen.query_one("#explain-text").source.split())
        assert "Xavier tanh1 0.637 8% 2%" in explained and "The check is one-sided." in explained
        assert "the start is sane" not in explained
        pane = await open_train(pilot)
        app.screen.query_one("#variant").value = "zero-output"
        await settle(pilot)
        await pilot.press("space")
        await until(pilot, lambda: "done" in text_of(app, "#status"), "the zero-output run's end")
        await until(pilot, lambda: "W1" in depth_text(app), "the depth plot")
        assert "distinct" not in depth_text(app)  # every layer's units differ: no copies counted
        assert "/0.933" in text_of(app, "#status")
        assert abs(pane.session.first_row.loss - 2.302585) < 1e-5  # W3 = 0: every score 0, ln 10


async def test_vanishing_gradients_names_both_halves_and_the_other_fixes(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "vanishing-gradients.toml")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        explained = " ".join(app.screen.query_one("#explain-text").source.split())
        for seen in (
            "it falls from 0.12 after the first sigmoid to 6.7e-06 after the sixth",
            "**Residual connections**",
            "**Normalisation**",
            "The batchnorm-backward lesson",
        ):
            assert seen in explained, seen
