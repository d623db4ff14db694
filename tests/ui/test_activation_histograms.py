"""Issue 28, item 12 (initialisation): per-layer activation histograms in the Train part. At 80×24
the `a` key puts one hidden layer's histogram in the depth view's place (then the next, then the
depth view back): its bars, its name, and its figures at the start and at the current step, the
saturated fraction checked against a forward pass written here."""

from __future__ import annotations

import numpy as np

from tests.cli.test_activation_text import percent, tanh_outputs
from tests.support import ROOT
from tests.ui.conftest import make_app, open_train, settle, text_of, until


def plot_text(app) -> str:
    return str(app.screen.query_one("#activations").render())


async def test_the_a_key_draws_each_layers_histogram_at_80x24(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "initialisation.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        explained = " ".join(app.screen.query_one("#explain-text").source.split())
        assert (
            "press a there for the first tanh layer's histogram in the depth view's place"
            in explained
        )
        pane = await open_train(pilot)
        await until(pilot, lambda: pane.session is not None, "the session")
        assert pane.query_one("#activations").display is False  # the depth view first
        await pilot.press("a")
        await until(pilot, lambda: "tanh1" in plot_text(app), "the first layer's histogram")
        assert (
            pane.query_one("#activations").display is True
            and pane.query_one("#depth").display is False
        )
        shown = plot_text(app)
        assert "tanh1 (layer 1 of 2)" in shown and "█" in shown  # its name, its bars
        saturated = [float(np.mean(np.abs(h) > 0.99)) for h in tanh_outputs(None)]
        assert f"saturated {percent(saturated[0])}" in " ".join(shown.split())
        assert percent(saturated[0]) == "2%"  # the lesson's table: Xavier, tanh1
        await pilot.press("a")
        await until(
            pilot, lambda: "tanh2 (layer 2 of 2)" in plot_text(app), "the second layer's histogram"
        )
        assert f"saturated {percent(saturated[1])}" in " ".join(plot_text(app).split())
        # a run: the histogram now and at the start, both on screen once it ends
        await pilot.press("space")
        await until(pilot, lambda: "done" in text_of(app, "#status"), "the run's end")
        await until(
            pilot, lambda: "step 200:" in " ".join(plot_text(app).split()), "the histogram now"
        )
        joined = " ".join(plot_text(app).split())
        assert "start: spread" in joined and "○" in plot_text(
            app
        )  # the start's markers over the bars
        await pilot.press("a")
        await until(pilot, lambda: pane.query_one("#depth").display, "the depth view back")
        assert pane.query_one("#activations").display is False


async def test_the_standard_normal_starts_saturated_histogram(tmp_path):
    app = make_app(tmp_path, start=ROOT / "lessons" / "initialisation.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = await open_train(pilot)
        await until(pilot, lambda: pane.session is not None, "the session")
        await pilot.press("a")
        await until(
            pilot, lambda: "saturated 2%" in " ".join(plot_text(app).split()), "Xavier's histogram"
        )
        saturated = [float(np.mean(np.abs(h) > 0.99)) for h in tanh_outputs("standard-normal")]
        assert percent(saturated[0]) == "70%"  # the lesson's table
        app.screen.query_one("#variant").value = "standard-normal"  # the histogram follows the run
        await until(
            pilot,
            lambda: f"saturated {percent(saturated[0])}" in " ".join(plot_text(app).split()),
            "the standard-normal start's histogram",
        )
        assert "tanh1 (layer 1 of 2)" in plot_text(app)
