"""Issue 27, item 6: a classifier's fit is its confusion matrix, decided by the loss and the labels
(not by the lesson): xor, one logit trained with bce, shows a 2×2 matrix, not a regression's
predicted-vs-target scatter; a regression still gets its scatter."""

from __future__ import annotations

import re

from textual.widgets import Input

from tests.ui.conftest import make_app, open_train, run_drawn, status_text, text_of


async def test_xor_shows_its_confusion_matrix(tmp_path):
    app = make_app(tmp_path, "xor-needs-a-hidden-layer")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        pane.query_one("#field-epochs", Input).value = "200"
        pane.restart()
        await pilot.press("space")
        await run_drawn(pilot, pane)
        fit = text_of(app, "#fit")
        status = status_text(app)
        acc = re.search(r"acc ([0-9.]+)/([0-9.]+)", status)
        assert acc, status
        right, total = map(int, re.match(r"val confusion: (\d+)/(\d+) right", fit).groups())
        assert (
            abs(right / total - float(acc.group(2))) <= 0.0005
        )  # the status line prints 3 decimals
        lines = fit.splitlines()
        assert lines[1].split()[:2] == ["0", "1"]  # two classes: the columns 0 and 1
        assert [line.split()[0] for line in lines[2:4]] == ["0", "1"]
        assert "predicted ↑ vs target" not in fit


async def test_a_regression_keeps_its_scatter(tmp_path):
    app = make_app(tmp_path, "linear-regression")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        await pilot.press("space")
        await run_drawn(pilot, pane)
        fit = text_of(app, "#fit")
        assert "val: predicted ↑ vs target →" in fit and "confusion" not in fit
