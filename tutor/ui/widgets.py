"""Small widgets of our own: the computation graph drawing and the loss plot."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from tutor.fmt import asciify, number


class GraphView(Static):
    """The graph as boxes and arrows, micrograd-style: each box shows a node's value and, once
    the backward pass has reached it, its gradient. The current node is highlighted."""

    DEFAULT_CSS = "GraphView { height: auto; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.ascii = False
        self.current = ""

    def draw(self, graph, values: dict, grads: dict, shown_values, shown_grads, current: str, backward: bool,
             width: int, compact: bool = False) -> None:
        """Parameters in a row of their own; then the nodes in forward order, joined by arrows that
        point forward during the forward pass and backward (gradients flowing) after it."""
        self.current = current
        arrow = " ◀── " if backward else " ──▶ "

        def box(name: str, kind: str) -> tuple[str, str, str, str, str]:
            v = number(values[name]) if name in shown_values and name in values else "·"
            g = number(grads[name]) if name in shown_grads and name in grads else "·"
            expr = "" if kind == "param" else graph.node(name).text.strip()
            return name, kind, f"v {v}", f"g {g}", expr

        params = [box(p, "param") for p in graph.params]
        nodes = [box(n.name, "node") for n in graph.nodes]
        text = Text()
        text.append("inputs: " + ", ".join(f"{n} = {number(values.get(n))}" for n in graph.inputs) + "\n", style="dim")
        if compact:
            self._compact(text, params, "   ", width, "parameters: ")
            self._compact(text, nodes, arrow, width, "graph: ")
        else:
            inner = min(16, max(9, *(max(len(b[0]), len(b[2]), len(b[3]), len(b[4])) + 2 for b in params + nodes)))
            self._boxes(text, params, "  ", width, inner)
            self._boxes(text, nodes, arrow, width, inner)
        if self.ascii:
            text = Text(asciify(text.plain))
        self.update(text)

    def _style(self, name: str, kind: str) -> str:
        return "reverse bold" if name == self.current else ("cyan" if kind == "param" else "")

    def _compact(self, text: Text, boxes, joint: str, width: int, label: str) -> None:
        text.append(label, style="dim")
        used = len(label)
        for i, (name, kind, v, g, _) in enumerate(boxes):
            cell = f"[{name} {v} {g}]"
            if i and used + len(joint) + len(cell) > width:
                text.append("\n" + " " * len(label))
                used = len(label)
            elif i:
                text.append(joint)
                used += len(joint)
            text.append(cell, style=self._style(name, kind))
            used += len(cell)
        text.append("\n")

    def _boxes(self, text: Text, boxes, joint: str, width: int, inner: int) -> None:
        per_row = max(1, (max(width, inner + 2) + len(joint)) // (inner + 2 + len(joint)))
        for start in range(0, len(boxes), per_row):
            row = boxes[start:start + per_row]
            has_expr = any(b[4] for b in row)
            for line in range(6 if has_expr else 5):
                for i, (name, kind, v, g, expr) in enumerate(row):
                    if len(expr) > inner:
                        expr = expr[: inner - 1] + "…"
                    cells = ["┌" + "─" * inner + "┐", "│" + name.center(inner) + "│"]
                    if has_expr:
                        cells.append("│" + expr.center(inner) + "│")
                    cells += ["│" + v.center(inner) + "│", "│" + g.center(inner) + "│", "└" + "─" * inner + "┘"]
                    text.append(cells[line], style=self._style(name, kind))
                    if i < len(row) - 1:
                        text.append(joint if line == (3 if has_expr else 2) else " " * len(joint))
                text.append("\n")


def thin(points: list, n: int) -> list:
    """At most n evenly spaced points, the first and last kept: a line plot needs no more points
    than it has columns, and plotext's cost grows with the points it is given."""
    if len(points) <= n or n < 2:
        return points
    last = len(points) - 1
    return [points[round(i * last / (n - 1))] for i in range(n)]


# Each run's (train, validation) marks: plotext's marker and what the legend shows for it. The
# first run draws in high resolution; the runs kept beside it in marks of their own.
MARKS = ((("hd", "▞▞"), ("braille", "⢕⢕")), (("●", "●"), ("○", "○")), (("■", "■"), ("□", "□")),
         (("▲", "▲"), ("△", "△")), (("◆", "◆"), ("◇", "◇")), (("★", "★"), ("☆", "☆")))
ASCII_MARKS = ((("*", "*"), (".", ".")), (("#", "#"), ("=", "=")), (("+", "+"), (":", ":")),
               (("x", "x"), ("~", "~")), (("@", "@"), ("o", "o")), (("%", "%"), (",", ",")))
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
        self.ascii = False            # --ascii: plain markers and a +-| frame
        self.placeholder = "Press space to train."      # what an empty plot says
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
        tf = (lambda v: math.log10(v) if v > 0 else float("nan")) if self.log_scale else (lambda v: v)
        curves, legend = [], []
        for i, (label, steps, loss, val) in enumerate(series):
            (train_mark, train_sample), (val_mark, val_sample) = marks[i % len(marks)]
            colour = COLOURS[i % len(COLOURS)]
            shown = []
            for values, mark, sample in ((loss, train_mark, train_sample), (val, val_mark, val_sample)):
                pts = thin([(s, tf(v)) for s, v in zip(steps, values) if v is not None and v == v], w)
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
        for sample, label, colour in legend:
            entry = len(sample) + 1 + len(label)
            if used > 11 and used + 3 + entry > w:
                key.append("\n")
                used = 0
            elif used > 11:
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
        drawn = Text.from_ansi(plt.build())
        if self.ascii:
            key, drawn = Text(asciify(key.plain)), Text(asciify(drawn.plain))
        self.update(Text("\n").join([key, drawn]))
