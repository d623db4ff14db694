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
             width: int) -> None:
        self.current = current
        names = list(graph.params) + [n.name for n in graph.nodes]
        arrow = " ◀── " if backward else " ──▶ "
        boxes = []
        for name in names:
            v = number(values[name]) if name in shown_values and name in values else ""
            g = number(grads[name]) if name in shown_grads and name in grads else ""
            kind = "param" if name in graph.params else "node"
            boxes.append((name, kind, f"v {v}" if v else "v ·", f"g {g}" if g else "g ·"))
        box_w = max(9, *(max(len(b[0]), len(b[2]), len(b[3])) + 2 for b in boxes))
        per_row = max(1, (max(width, box_w + 2) + len(arrow)) // (box_w + 2 + len(arrow)))
        text = Text()
        leaves = "inputs: " + ", ".join(f"{n} = {number(values.get(n))}" for n in graph.inputs)
        text.append(leaves + "\n", style="dim")
        for start in range(0, len(boxes), per_row):
            row = boxes[start:start + per_row]
            for line in range(5):
                for i, (name, kind, v, g) in enumerate(row):
                    style = "reverse bold" if name == current else ("cyan" if kind == "param" else "")
                    inner = box_w
                    cell = {0: "┌" + "─" * inner + "┐", 1: "│" + name.center(inner) + "│",
                            2: "│" + v.center(inner) + "│", 3: "│" + g.center(inner) + "│",
                            4: "└" + "─" * inner + "┘"}[line]
                    text.append(cell, style=style)
                    if i < len(row) - 1:
                        text.append(arrow if line == 2 else " " * len(arrow))
                text.append("\n")
        if self.ascii:
            text = Text(asciify(text.plain))
        self.update(text)


class LossPlot(Static):
    """log10(loss) or loss against step, drawn with plotext into plain text. Each series is
    already decimated (History), so drawing costs the same at step 100 and at step 10⁶."""

    DEFAULT_CSS = "LossPlot { height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.log_scale = True
        self.series_count = 0
        self.reference: tuple[str, float] | None = None

    def plot(self, series: list[tuple[str, list, list, list]]) -> None:
        """series: (label, steps, losses, validation losses)."""
        import plotext as plt

        w, h = max(20, self.size.width), max(6, self.size.height)
        plt.clf()
        plt.plotsize(w, h)
        plt.theme("clear")
        count = 0
        tf = (lambda v: math.log10(v) if v > 0 else float("nan")) if self.log_scale else (lambda v: v)
        for label, steps, loss, val in series:
            if not steps:
                continue
            ys = [tf(v) for v in loss]
            pts = [(s, y) for s, y in zip(steps, ys) if math.isfinite(y)]
            if pts:
                plt.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{label} train")
                count += 1
            vpts = [(s, tf(v)) for s, v in zip(steps, val) if v == v and v is not None and math.isfinite(tf(v))]
            if vpts:
                plt.plot([p[0] for p in vpts], [p[1] for p in vpts], label=f"{label} val")
                count += 1
        if self.reference and count:
            label, value = self.reference
            ref = tf(value)
            if math.isfinite(ref):
                plt.hline(ref)
                plt.text(label, x=min(p for s in series for p in s[1][:1]) if series else 0, y=ref)
        plt.title("log10(loss)" if self.log_scale else "loss")
        self.series_count = count
        self.update(Text.from_ansi(plt.build()) if count else Text("Press space to train.", style="dim"))
