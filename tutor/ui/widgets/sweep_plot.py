"""The gradient check's sweep over the step h, drawn with plotext on log-log axes: the relative
error of each kind of finite difference (tutor.derive.sweep) against h, with CS231n's bands as
horizontal lines. Shown by the Derive pane on a lesson's sweep steps, hidden on every other."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from tutor.fmt import asciify

# (marker, legend sample) per kind of difference, and the ASCII ones for --ascii
MARKS = (("hd", "▞▞"), ("●", "●"), ("braille", "⢕⢕"))
ASCII_MARKS = (("*", "*"), ("o", "o"), ("+", "+"))
COLOURS = ("cyan", "magenta", "yellow")
BANDS = ((1e-7, "good"), (1e-4, "near a kink"), (1e-2, "wrong above"))


class SweepPlot(Static):
    """log10(relative error) against log10(h) for one parameter's sweep."""

    DEFAULT_CSS = "SweepPlot { height: 16; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.ascii = False
        self.sweep = None  # the Sweep on show (None: hidden)
        self._cache: dict = {}  # (id of the derivation, parameter) → Sweep

    def show_step(self, deriv, step) -> None:
        """Draw the sweep of the step's parameter on a sweep step; hide on any other."""
        if deriv is None or deriv.graph is None or step.phase != "sweep":
            self.sweep = None
            self.display = False
            return
        key = (id(deriv), step.node)
        if key not in self._cache:
            from tutor.derive.sweep import sweeps

            self._cache = {(id(deriv), sw.param): sw for sw in sweeps(deriv.graph, deriv.grads)}
        self.sweep = self._cache.get(key)
        self.display = self.sweep is not None
        self.draw()

    def on_resize(self) -> None:
        if self.sweep is not None:
            self.draw()

    def draw(self) -> None:
        import plotext as plt

        sw = self.sweep
        if sw is None:
            return
        w, h = (
            max(30, self.size.width or 80),
            max(8, (self.size.height or 16) - 2),
        )  # under a 2-line key
        plt.clf()
        plt.theme("clear")
        plt.plotsize(w, h)
        xs = [math.log10(s) for s in sw.steps]
        marks = ASCII_MARKS if self.ascii else MARKS
        key = Text(f"∂L/∂{sw.param}: relative error against h (log-log)   ", style="bold")
        for i, (kind, errors) in enumerate(sw.errors.items()):
            mark, sample = marks[i % len(marks)]
            plt.plot(
                xs, [math.log10(e) for e in errors], marker=mark, color=COLOURS[i % len(COLOURS)]
            )
            key.append(sample, style=COLOURS[i % len(COLOURS)])
            key.append(f" {kind}  ")
        for value, _ in BANDS:
            plt.hline(math.log10(value), "default")
        plt.xlim(min(xs) - 0.5, max(xs) + 0.5)
        plt.xticks(
            xs[::-1][:: max(1, len(xs) // 6)],
            [f"1e{int(x)}" for x in xs[::-1][:: max(1, len(xs) // 6)]],
        )
        ticks = [-16, -12, -10, -7, -4, -2, 0]
        plt.yticks(ticks, [f"1e{t}" for t in ticks])
        key.append("\nbands: 1e-7 good, 1e-4 only near a kink, 1e-2 wrong above", style="dim")
        drawn = Text.from_ansi(plt.build())
        if self.ascii:
            key, drawn = Text(asciify(key.plain)), Text(asciify(drawn.plain))
        self.update(Text("\n").join([key, drawn]))
