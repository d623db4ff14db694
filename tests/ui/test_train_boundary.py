"""Issue 27, item 6: xor, a classifier of two inputs, draws its decision boundary beside its
confusion matrix where the Train view has room (the playground's heatmap), from the final weights."""

from __future__ import annotations

from collections import Counter

from tests.ui.conftest import make_app, settle, text_of, until
from tutor.ui.panes.train import TrainPane


async def run_to_end(pilot, app) -> TrainPane:
    await settle(pilot)
    await pilot.press("t")
    pane = app.screen.query_one(TrainPane)
    await until(pilot, lambda: pane.session is not None, "the data loaded")
    await pilot.press("space")
    await until(
        pilot,
        lambda: (
            pane.latest is not None
            and pane.latest.done
            and pane.shown is pane.latest
            and not pane.running
        ),
        "the run's end drawn",
    )
    await pilot.pause()
    return pane


def most(rows: list[str]) -> str:
    return Counter("".join(rows)).most_common(1)[0][0]


async def test_xor_draws_its_four_quadrants_beside_the_confusion_matrix(tmp_path):
    app = make_app(tmp_path, lesson="xor-needs-a-hidden-layer", ascii=True)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await run_to_end(pilot, app)
        await until(
            pilot, lambda: len(pane.query_one("#boundary").rows_text()) > 8, "the boundary drawn"
        )
        boundary = pane.query_one("#boundary")
        assert boundary.display and text_of(app, "#fit").startswith("val confusion: 250/250 right")
        title, *rows = boundary.rows_text()
        assert title == "decision boundary: @ class 1, blank 0"
        assert len(rows) == boundary.size.height - 1 and all(
            len(r) == boundary.size.width for r in rows
        )
        h, w = len(rows) // 2, len(rows[0]) // 2
        # xor: class 1 where x1 and x2 share a sign (upper right, lower left), ASCII's "@"; else blank
        quadrants = {
            "upper left": [r[: w - 3] for r in rows[: h - 3]],
            "upper right": [r[w + 3 :] for r in rows[: h - 3]],
            "lower left": [r[: w - 3] for r in rows[h + 3 :]],
            "lower right": [r[w + 3 :] for r in rows[h + 3 :]],
        }
        assert {name: most(q) for name, q in quadrants.items()} == {
            "upper left": " ",
            "upper right": "@",
            "lower left": "@",
            "lower right": " ",
        }
        assert {"X", "x", "O", "o"} <= set(
            "".join(rows)
        )  # the points over it, train and validation


async def test_no_boundary_where_the_view_has_no_room(tmp_path):
    app = make_app(tmp_path, lesson="xor-needs-a-hidden-layer")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await run_to_end(pilot, app)
        assert not pane.query_one("#boundary").display
        assert text_of(app, "#fit").startswith("val confusion: 250/250 right")
