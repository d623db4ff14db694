"""Small widgets of our own: the computation graph drawing and the loss plot."""

from __future__ import annotations

import math
import re

from rich.text import Text
from textual.widgets import Static

from tutor.fmt import asciify, number


class GraphView(Static):
    """The graph, micrograd's draw_dot in text: one row per node in forward order, its operands
    wired into it, the parameters among them boxed with their value and gradient. Each box shows
    a value and, once the backward pass has reached it, its gradient; the current one is
    highlighted. A row is at most one line at 80 columns, so the picture never wraps apart."""

    DEFAULT_CSS = "GraphView { height: auto; }"
    EXPR = 28  # characters of a node's expression before it is cut with "…"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.ascii = False
        self.current = ""

    def draw(
        self,
        graph,
        values: dict,
        grads: dict,
        shown_values,
        shown_grads,
        current: str,
        backward: bool,
        width: int,
        compact: bool = False,
    ) -> None:
        """Arrows point forward during the forward pass and backward (gradients flowing) after it.
        `compact` drops the expressions (a short terminal)."""
        from tutor.expr import symbols

        self.current = current
        arrow = " ◀── " if backward else " ──▶ "
        params = set(graph.params)

        def figures(name: str) -> str:
            v = number(values[name]) if name in shown_values and name in values else "·"
            g = number(grads[name]) if name in shown_grads and name in grads else "·"
            return f"v {v} g {g}"

        rows = []
        for node in graph.nodes:
            operands = list(dict.fromkeys(symbols(node.expr)))
            left = [(f"[{n} {figures(n)}]", n) if n in params else (n, "") for n in operands]
            expr = node.text.strip()
            if len(expr) > self.EXPR:
                expr = expr[: self.EXPR - 1] + "…"
            cell = (
                f"[{node.name} = {expr}  {figures(node.name)}]"
                if not compact
                else f"[{node.name} {figures(node.name)}]"
            )
            rows.append((left, cell, node.name))
        pad = max(
            (sum(len(t) for t, _ in left) + 2 * (len(left) - 1) for left, _, _ in rows), default=0
        )
        text = Text()
        if graph.inputs:  # a graph of parameters only has no inputs line
            text.append(
                "inputs: " + ", ".join(f"{n} = {number(values.get(n))}" for n in graph.inputs),
                style="dim",
            )
        for i, (left, cell, name) in enumerate(rows):
            text.append("\n" if i or graph.inputs else "")
            used = sum(len(t) for t, _ in left) + 2 * (len(left) - 1)
            text.append(" " * (pad - used))
            for i, (t, param) in enumerate(left):
                text.append(", " if i else "")
                text.append(t, style=self._style(param, "param") if param else "dim")
            text.append(arrow)
            text.append(cell, style=self._style(name, "node"))
        if self.ascii:
            text = Text(asciify(text.plain))
        self.update(text)

    def _style(self, name: str, kind: str) -> str:
        return "reverse bold" if name == self.current else ("cyan" if kind == "param" else "")


def thin(points: list, n: int) -> list:
    """At most n evenly spaced points, the first and last kept: a line plot needs no more points
    than it has columns, and plotext's cost grows with the points it is given."""
    if len(points) <= n or n < 2:
        return points
    last = len(points) - 1
    return [points[round(i * last / (n - 1))] for i in range(n)]


# plotext labels a tick just below zero "-0.00": the axis says 0 there (the sign of a rounding)
NEGATIVE_ZERO = re.compile(r"-(0(?:\.0+)?)(?=(?:\x1b\[[0-9;]*m)*[┤│])")

# Each run's (train, validation) marks: plotext's marker and what the legend shows for it. The
# first run draws in high resolution; the runs kept beside it in marks of their own.
MARKS = (
    (("hd", "▞▞"), ("braille", "⢕⢕")),
    (("●", "●"), ("○", "○")),
    (("■", "■"), ("□", "□")),
    (("▲", "▲"), ("△", "△")),
    (("◆", "◆"), ("◇", "◇")),
    (("★", "★"), ("☆", "☆")),
)
ASCII_MARKS = (
    (("*", "*"), (".", ".")),
    (("#", "#"), ("=", "=")),
    (("+", "+"), (":", ":")),
    (("x", "x"), ("~", "~")),
    (("@", "@"), ("o", "o")),
    (("%", "%"), (",", ",")),
)
COLOURS = ("cyan", "magenta", "yellow", "green", "red", "blue")


class LossPlot(Static):
    """log10(loss) or loss against step, drawn with plotext into plain text. Each series is
    decimated (History) and thinned to the plot's width, so drawing costs the same at step 100
    and at step 10⁶."""

    DEFAULT_CSS = "LossPlot { height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.log_scale = True
        self.series_count = 0
        self.reference: tuple[str, float] | None = None
        self.ascii = False  # --ascii: plain markers and a +-| frame
        self.placeholder = "Press space to train."  # what an empty plot says
        self._series: list = []

    def say(self, placeholder: str) -> None:
        """What the plot says while it has no curve."""
        self.placeholder = placeholder
        if not self.series_count:
            self.update(Text(placeholder, style="dim"))

    def on_resize(self) -> None:
        # plotext draws for a fixed size: a new layout (first frame, a resized terminal) redraws it
        if self._series:
            self.plot(self._series)

    def plot(self, series: list[tuple[str, list, list, list]]) -> None:
        """series: (label, steps, losses, validation losses). Each run has its own pair of marks
        (train, validation) and colour, so runs differ without colour too (NO_COLOR); the legend
        is a line above the plot, not a box over the start of the curves."""
        import plotext as plt

        self._series = series

        w = max(20, self.size.width)
        plt.clf()
        plt.theme("clear")
        marks = ASCII_MARKS if self.ascii else MARKS
        tf = (
            (lambda v: math.log10(v) if v > 0 else float("nan"))
            if self.log_scale
            else (lambda v: v)
        )
        curves, legend = [], []
        for i, (label, steps, loss, val) in enumerate(series):
            (train_mark, train_sample), (val_mark, val_sample) = marks[i % len(marks)]
            colour = COLOURS[i % len(COLOURS)]
            shown = []
            for values, mark, sample in (
                (loss, train_mark, train_sample),
                (val, val_mark, val_sample),
            ):
                pairs = [
                    (s, v) for s, v in zip(steps, values, strict=False) if v is not None and v == v
                ]
                if values is val:
                    pairs = measured(pairs)
                pts = thin([(s, tf(v)) for s, v in pairs], w)
                pts = [p for p in pts if math.isfinite(p[1])]
                if pts:
                    curves.append((pts, mark, colour))
                    shown.append(sample)
            if shown:
                legend.append(("/".join(shown), label, colour))
        count = len(curves)
        if curves and self.reference:
            # the library's loss as a flat, labelled curve inside the y range
            label, value = self.reference
            ref = tf(value)
            if math.isfinite(ref):
                xs = [p[0] for pts, _, _ in curves for p in pts]
                mark = "-" if self.ascii else "dot"
                curves.append(([(min(xs), ref), (max(xs), ref)], mark, "default"))
                legend.append(("--" if self.ascii else "••", label, "default"))
        self.series_count = count
        if not count:
            self.update(Text(self.placeholder, style="dim"))
            return
        key = Text("train/val  ", style="dim")
        used = len(key)
        for i, (sample, label, colour) in enumerate(legend):
            entry = len(sample) + 1 + len(label)
            if i and used + 3 + entry > w:  # the next line, indented under the first entry
                key.append("\n" + " " * 11)
                used = 11
            elif i:
                key.append("   ")
                used += 3
            key.append(sample, style=colour)
            key.append(f" {label}")
            used += entry
        h = max(6, self.size.height - 1 - key.plain.count("\n"))
        plt.plotsize(w, h)
        for pts, mark, colour in curves:
            plt.plot([p[0] for p in pts], [p[1] for p in pts], marker=mark, color=colour)
        ys = [p[1] for pts, _, _ in curves for p in pts]
        if ys and max(ys) - min(ys) < 1e-12:
            # plotext turns a flat range upside down; give it one around the value
            pad = max(abs(ys[0]) * 0.1, 1e-3)
            plt.ylim(ys[0] - pad, ys[0] + pad)
        plt.title("log10(loss)" if self.log_scale else "loss")
        drawn = Text.from_ansi(NEGATIVE_ZERO.sub(lambda m: " " + m.group(1), plt.build()))
        if self.ascii:
            key, drawn = Text(asciify(key.plain)), Text(asciify(drawn.plain))
        self.update(Text("\n").join([key, drawn]))


def measured(pairs: list) -> list:
    """A validation series as measured: a history carries the last measured validation loss over
    the steps between rows (rows come at the screen's pace), so only where it changes, and the
    last point, is a measurement; the line joins those instead of drawing flat stretches."""
    return [
        p for i, p in enumerate(pairs) if i == 0 or i == len(pairs) - 1 or p[1] != pairs[i - 1][1]
    ]


class FitView(Static):
    """How the model fits the validation set, from the latest snapshot's predictions (computed by
    the training loop with the validation loss, drawn here at the screen's pace): predictions
    against targets for a regression, the confusion matrix for a classifier."""

    DEFAULT_CSS = "FitView { height: 1fr; min-height: 8; }"
    POINTS = 300  # a scatter needs no more points than this to show the fit

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.ascii = False
        self._shown: tuple | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, pred, targets, classes: int, cut: float | None = None) -> None:
        """`classes`: the data's classes (argmax of the outputs); `cut`: a two-class classifier's
        threshold on its one output (a logit's 0, a probability's 0.5), None for a regression."""
        self._shown = (pred, targets, classes, cut)
        if pred is None or targets is None:
            self.update(Text("The fit on the validation set shows here during a run.", style="dim"))
            return
        if classes or cut is not None:
            text = self._confusion(pred, targets, classes, cut)
        else:
            text = self._scatter(pred, targets)
        self.update(Text(asciify(text.plain)) if self.ascii else text)

    def _confusion(self, pred, targets, classes: int, cut: float | None) -> Text:
        import numpy as np

        if cut is not None:  # one output: class 1 above the cut
            classes = 2
            guess = (np.asarray(pred, dtype=float).ravel() > cut).astype(int)
            truth = (np.asarray(targets, dtype=float).ravel() > 0.5).astype(int)
        else:
            guess = np.asarray(pred).reshape(len(targets), -1).argmax(axis=1)
            truth = np.asarray(targets, dtype=int).ravel()
        counts = np.zeros((classes, classes), dtype=int)
        np.add.at(counts, (truth, guess), 1)
        cell = len(str(counts.max())) + 1
        label = len(str(classes - 1)) + 1
        text = Text(f"val confusion: {np.trace(counts)}/{counts.sum()} right\n", style="bold")
        if label + 1 + cell * classes > max(self.size.width, 1):
            text.append("(rows true, columns predicted: widen the window to see it)", style="dim")
            return text
        head = " " * (label + 1) + "".join(f"{k:>{cell}}" for k in range(classes))
        room = len(head) + 11 <= self.size.width
        text.append(head + ("  predicted" if room else "") + "\n", style="dim")
        for t in range(classes):
            text.append(f"{t:>{label}} ", style="dim")
            for g in range(classes):
                n = counts[t, g]
                text.append(
                    f"{n:>{cell}}" if n else " " * (cell - 1) + "·",
                    style="bold green" if t == g else ("red" if n else "dim"),
                )
            text.append("\n")
        text.append("rows: the true class" + ("" if room else "; columns: predicted"), style="dim")
        return text

    def _scatter(self, pred, targets) -> Text:
        import numpy as np
        import plotext as plt

        p = np.asarray(pred, dtype=float).ravel()
        y = np.asarray(targets, dtype=float).ravel()
        keep = np.isfinite(p) & np.isfinite(y)
        p, y = p[keep], y[keep]
        if not len(p):
            return Text("No finite predictions to show.", style="dim")
        step = max(1, len(p) // self.POINTS)
        p, y = p[::step], y[::step]
        lo, hi = float(min(p.min(), y.min())), float(max(p.max(), y.max()))
        plt.clf()
        plt.theme("clear")
        plt.plotsize(max(20, self.size.width), max(6, self.size.height))
        plt.plot([lo, hi], [lo, hi], marker="." if self.ascii else "braille", color="default")
        plt.scatter(y.tolist(), p.tolist(), marker="*" if self.ascii else "•", color="cyan")
        plt.title("val: predicted ↑ vs target →")
        return Text.from_ansi(plt.build())
