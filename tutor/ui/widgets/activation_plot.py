"""One hidden layer's activation histogram (tutor/train/activations.py), drawn with plotext as the
loss plot is: the share of the layer's outputs in each bin now as bars, and at the start as
markers over them, with the layer's name in the title and its figures (spread, near 0, saturated)
under the plot, at the start and now. The Train pane's `a` key picks the layer."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tutor.fmt import asciify
from tutor.train.activations import Histogram, figures, span


class ActivationPlot(Static):
    DEFAULT_CSS = "ActivationPlot { height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.ascii = False
        self._shown: tuple[Histogram, Histogram | None, str, str] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:  # plotext draws for a fixed size: redraw at the new one
            self.show(*self._shown)

    def say(self, text: str) -> None:
        self._shown = None
        self.update(Text(text, style="dim"))

    def show(self, start: Histogram, now: Histogram | None, now_label: str, where: str) -> None:
        """`start`: the layer at the start; `now`: at the current step (`now_label`), or None while
        a run is changing the weights; `where`: 'layer 1 of 2', for the title."""
        self._shown = (start, now, now_label, where)
        notes = [f"start: {figures(start)}"]
        if now is None:
            notes.append("now: drawn when the run pauses or ends")
        elif now is not start:
            notes.append(f"{now_label}: {figures(now)}")
        width = max(20, self.size.width)
        import textwrap

        lines = [line for note in notes for line in textwrap.wrap(note, width)]
        text = self._plot(start, now, now_label, where, len(lines))
        for line in lines:
            text.append("\n" + line, style="dim")
        self.update(Text(asciify(text.plain)) if self.ascii else text)

    def _plot(
        self, start: Histogram, now: Histogram | None, now_label: str, where: str, note_lines: int
    ) -> Text:
        import plotext as plt

        plt.clf()
        plt.theme("clear")
        plt.plotsize(max(20, self.size.width), max(6, self.size.height - note_lines))
        shown = now if now is not None else start
        width = (shown.hi - shown.lo) / len(shown.counts)
        xs = [shown.lo + (i + 0.5) * width for i in range(len(shown.counts))]
        plt.bar(
            xs,
            [c / max(shown.total, 1) for c in shown.counts],
            width=0.8,
            label=now_label if now is not None else "start",
            color="cyan",
        )
        if now is not None and now is not start and (start.lo, start.hi) == (now.lo, now.hi):
            plt.scatter(
                xs,
                [c / max(start.total, 1) for c in start.counts],
                marker="." if self.ascii else "○",
                color="default",
                label="start",
            )
        plt.xlim(shown.lo, shown.hi)
        ticks = [shown.lo + k * (shown.hi - shown.lo) / 4 for k in range(5)]
        plt.xticks(ticks, [f"{t:.3g}" for t in ticks])
        plt.title(f"{start.layer} ({where}): share of outputs, {span(shown)}")
        return Text.from_ansi(plt.build().rstrip("\n"))
