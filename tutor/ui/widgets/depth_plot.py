"""The by-depth view of a deep model's run: the gradient norm ‖∂W‖ of each linear layer from the
input to the output on a log scale (now, and at the first step for reference), with each
activation's dead or saturated fraction and any layer whose units are copies of each other listed
under it. The figures come from the snapshots (tutor/train/session.py `by_depth`); their text from
tutor/present/depth.py, which headless shares."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from tutor.fmt import asciify
from tutor.present.depth import units_text

PLACEHOLDER = "The gradient norm of each layer, input to output, shows here during a run."


class DepthPlot(Static):
    DEFAULT_CSS = "DepthPlot { height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.ascii = False
        self._shown: tuple | None = None

    def on_resize(self) -> None:
        if self._shown is not None:  # plotext draws for a fixed size: redraw at the new one
            self.show(*self._shown)

    def show(self, layers, first=None, first_step: int = 1) -> None:
        """`layers`: the snapshot's LayerStats (input first); `first`: those of the run's first step."""
        self._shown = (layers, first, first_step)
        linear = [s for s in layers or () if s.type == "linear"]
        if not linear:
            self.update(Text(PLACEHOLDER, style="dim"))
            return
        notes = self._notes(layers)
        text = self._plot(
            linear, [s for s in first or () if s.type == "linear"], first_step, len(notes)
        )
        for line in notes:
            text.append("\n" + line, style="dim")
        self.update(Text(asciify(text.plain)) if self.ascii else text)

    def _plot(self, linear, early, first_step: int, note_lines: int) -> Text:
        import plotext as plt

        def log(v):
            return math.log10(v) if v is not None and v > 0 else float("nan")

        xs = list(range(1, len(linear) + 1))
        now = [log(s.grad_norm) for s in linear]
        plt.clf()
        plt.theme("clear")
        plt.plotsize(max(20, self.size.width), max(6, self.size.height - note_lines))
        drawn = False
        if len(early) == len(linear) and early is not linear:
            then = [log(s.grad_norm) for s in early]
            pts = [(x, y) for x, y in zip(xs, then, strict=False) if math.isfinite(y)]
            if pts:
                plt.scatter(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker="." if self.ascii else "○",
                    color="default",
                    label=f"step {first_step}",
                )
                drawn = True
        pts = [(x, y) for x, y in zip(xs, now, strict=False) if math.isfinite(y)]
        if pts:
            plt.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                marker="*" if self.ascii else "●",
                color="cyan",
                label="now",
            )
            drawn = True
        if not drawn:
            return Text("Every layer's gradient is 0: nothing reaches any weight.", style="bold")
        plt.xticks(xs, [s.layer for s in linear])
        ys = [
            y
            for y in now + ([log(s.grad_norm) for s in early] if early else [])
            if math.isfinite(y)
        ]
        if max(ys) - min(ys) < 1e-9:  # plotext turns a flat range upside down
            plt.ylim(ys[0] - 0.5, ys[0] + 0.5)
        plt.title("log10 ‖∂W‖")
        return Text.from_ansi(plt.build().rstrip("\n"))

    def _notes(self, layers) -> list[str]:
        """The activations' dead or saturated fractions in depth order, and the hidden layers whose
        units are copies, wrapped to the widget's width."""
        import textwrap

        width = max(20, self.size.width)
        parts = []
        for kind, label in (("saturated", "saturated by depth:"), ("dead", "dead by depth:")):
            fractions = [getattr(s, kind) for s in layers if getattr(s, kind) is not None]
            if fractions:
                parts.append(" ".join([label] + [f"{f:.0%}" for f in fractions]))
        hidden = [s for s in layers if s.type == "linear"][
            :-1
        ]  # the output layer's units are classes
        parts += [
            f"{s.layer}: {units_text(s)}"
            for s in hidden
            if s.distinct is not None and s.units is not None and s.distinct < s.units
        ]
        return [line for part in parts for line in textwrap.wrap(part, width)]
