"""Issue 27, item 8: text that was stale or wrong. Fan-out's sum of paths is written with each
term's own sign and its graph has no empty `inputs:` line; the last exercise of a step says that
x goes back to the first; a loss axis never labels a tick `-0.00`."""

from __future__ import annotations

import plotext as plt

from tests.ui.conftest import make_app, settle, text_of
from tests.ui.test_lessons_scalar_ui import go_to, open_derive
from tutor.ui.widgets.plots import NEGATIVE_ZERO


async def test_fan_out_signs_and_no_empty_inputs_line(tmp_path):
    app = make_app(tmp_path, "fan-out")
    async with app.run_test(size=(110, 44)) as pilot:
        pane = await open_derive(tmp_path, pilot, app, "fan-out")
        await go_to(pilot, pane, "backward", "x")
        assert "∂f/∂x = 0.512144 − 0.0357615 + 1.58319 = 2.05957" in text_of(app, "#step-text")
        assert "+ -" not in text_of(app, "#step-text")
        graph = text_of(app, "#graph").splitlines()
        assert graph and not any(line.strip() == "inputs:" for line in graph), graph
        assert all(line.strip() for line in graph)  # no blank line where inputs were


async def test_the_last_exercise_of_a_step_says_x_goes_back(tmp_path):
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        panel = app.screen.query_one("#exercise")
        assert "(1 of 4 here; x for the next)" in text_of(app, "#exercise-prompt")
        for _ in range(3):
            await pilot.press("x")
        assert panel.current.id == "backward"
        assert "(4 of 4 here; x goes back to the first)" in text_of(app, "#exercise-prompt")
        await pilot.press("x")
        assert "(1 of 4 here; x for the next)" in text_of(app, "#exercise-prompt")


def test_no_negative_zero_tick():
    plt.clf()
    plt.theme("clear")
    plt.plotsize(60, 20)
    plt.plot([0, 1, 2, 3], [0.39, 0.1, -0.2, -0.78])  # a log10 loss crossing 0 between ticks
    drawn = plt.build()
    assert "-0.00┤" in drawn  # what plotext writes there
    fixed = NEGATIVE_ZERO.sub(lambda m: " " + m.group(1), drawn)
    assert "-0.00" not in fixed and " 0.00┤" in fixed
    assert (
        fixed.replace(" 0.00┤", "-0.00┤") == drawn
    )  # nothing else changed: the negative ticks stay
