"""Issue 26, item 2, in the app: CS231n's toy net (a test fixture) at the teacher's own arrays. At
80×24 the Derive part's values steps show each array as a table that scrolls (the 4×10 gradient of
W1 is wider than the screen), the step text keeps its shape and the entries the teacher names, and
the table is gone on a step without an array."""

from __future__ import annotations

import numpy as np

from tests.cli.test_cs231n_toy import SIX_DIGITS, TOY_PATH, toy_reference
from tests.ui.conftest import make_app, settle, text_of, until
from tutor.ui.panes.derive import DerivePane
from tutor.ui.widgets.values_table import ValuesTable


def shown(table: ValuesTable) -> np.ndarray:
    """The numbers the table holds, row by row (its first column is the row number)."""
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return np.array([[float(str(cell)) for cell in row[1:]] for row in rows])


async def test_the_gradient_at_the_teachers_arrays_is_a_table_that_scrolls_at_80x24(tmp_path):
    _, grads = toy_reference()
    app = make_app(tmp_path, TOY_PATH)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(pilot, lambda: pane.complete, "the whole derivation")
        steps = pane.derivation.steps
        target = next(
            i
            for i, s in enumerate(steps)
            if s.phase == "values" and s.node == "W1" and s.title.startswith("Gradient")
        )
        await pilot.press("end")
        for _ in range(
            len(steps) - 1 - target
        ):  # back from the last step (b2's check), with the keys
            await pilot.press("p")
        await until(pilot, lambda: pane.index == target, "the gradient of W1")
        assert "Gradient at the lesson's arrays: ∂L/∂W1  [D×H]" in text_of(app, "#step-title")
        table = app.screen.query_one(ValuesTable)
        assert table.display and table.row_count == 4 and len(table.columns) == 11
        assert np.allclose(shown(table), grads["W1"], rtol=SIX_DIGITS, atol=0)
        body = text_of(app, "#step-text")
        assert "shape = D×H = 4×10" in body
        named = next(x for x in body.splitlines() if x.startswith("∂L/∂W1[0, 3] = "))
        assert abs(float(named.split(" = ")[1]) - grads["W1"][0, 3]) <= SIX_DIGITS * abs(
            grads["W1"][0, 3]
        )
        assert "\n  0 " not in body  # the array is the table's, not laid out again
        # ten columns do not fit in 80: the table scrolls to the last one
        await until(pilot, lambda: table.max_scroll_x > 0, "the table's horizontal scroll range")
        table.focus()
        await pilot.press("right", "right", "right")
        await until(pilot, lambda: table.scroll_x > 0, "the table scrolled right")
        await pilot.press("end")
        await until(
            pilot, lambda: table.scroll_x == table.max_scroll_x, "the table at its last column"
        )
        # n moves on from the table too; the check's step has no array, so no table
        await pilot.press("n", "n", "n", "n")
        await until(pilot, lambda: pane.index == target + 4, "W1's check")
        assert "Check at the lesson's arrays: ∂L/∂W1: all three agree" in text_of(
            app, "#step-title"
        )
        assert not table.display
        assert "central, h = 1e-06, at all 40 entries" in text_of(app, "#step-text")
