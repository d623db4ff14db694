"""The Train part's decision boundary, for a two-class model of two inputs (xor): the model's
output over the input plane, drawn as the playground draws its own (tutor/playground/heatmap.py),
with the training and validation points over it. Shown beside the confusion matrix where the
view has room; drawn from the run's final (or paused) weights only, never while a thread trains."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style

from tutor.playground import heatmap
from tutor.ui.widgets.heatmap import Heatmap

ROOM = 120  # the Train view's columns from which the boundary joins the loss and the fit
PAD = 0.1  # the plane reaches this share of the points' range past them


class DecisionBoundary(Heatmap):
    DEFAULT_CSS = "DecisionBoundary { width: 2fr; min-width: 20; height: 1fr; margin-left: 1; }"
    TITLE = {
        "colour": "decision boundary: blue class 1, orange 0",
        "shade": "decision boundary: █ class 1, blank 0",
        "ascii": "decision boundary: @ class 1, blank 0",
    }

    def draw_model(self, predict, data, logit: bool, look: str) -> None:
        """`predict(x)` → the model's one output for rows x; `logit`: that output is a logit (bce),
        else a probability. Fills the widget's present size below a title row."""
        width, height = self.size.width, self.size.height - 1
        if width < 4 or height < 2:
            return
        points = np.concatenate([data.x_train] + ([data.x_val] if data.x_val is not None else []))
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        (x0, y0), (x1, y1) = lo - PAD * span, hi + PAD * span
        rows = heatmap.grid_rows(height, look)
        # cell centres, row 0 at the top (the largest x2)
        xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
        ys = y1 - (np.arange(rows) + 0.5) * (y1 - y0) / rows
        gx, gy = np.meshgrid(xs, ys)
        out = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()])), dtype=np.float64)[:, 0]
        with np.errstate(over="ignore"):
            prob = 1.0 / (1.0 + np.exp(-out)) if logit else out
        marks = [
            (x, y, float(label), False)
            for (x, y), label in zip(data.x_train, np.ravel(data.y_train), strict=False)
        ]
        if data.x_val is not None:
            marks += [
                (x, y, float(label), True)
                for (x, y), label in zip(data.x_val, np.ravel(data.y_val), strict=False)
            ]
        lines = heatmap.draw(prob.reshape(rows, width), look, True, marks, (x0, x1), (y0, y1))
        self.show([[Segment(self.TITLE[look][:width], Style(bold=True))], *lines])
