"""The playground's pictures: the decision boundary over the plane, and one neuron's own grid."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tutor.playground import heatmap


def look_for(app) -> str:
    """colour, or shaded characters under NO_COLOR, or ASCII under --ascii."""
    import os

    if app.ascii:
        return "ascii"
    return "shade" if os.environ.get("NO_COLOR") else "colour"


class Heatmap(Widget):
    """The boundary (or one neuron's output) as terminal cells; `lines` are drawn as they are."""

    DEFAULT_CSS = "Heatmap { width: 1fr; height: 1fr; }"

    class Resized(Message):
        """The plane has another size: whoever draws it makes a grid to match."""

        def __init__(self, heatmap: Heatmap) -> None:
            super().__init__()
            self.heatmap = heatmap

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lines: list[list[Segment]] = []

    def show(self, lines: list[list[Segment]]) -> None:
        self.lines = lines
        self.refresh()

    def on_resize(self) -> None:
        self.post_message(self.Resized(self))

    def render_line(self, y: int) -> Strip:
        if y < len(self.lines):
            return Strip(self.lines[y]).crop(0, self.size.width)
        return Strip.blank(self.size.width, self.rich_style)

    def rows_text(self) -> list[str]:
        return heatmap.plain(self.lines)


class NeuronView(Widget, can_focus=True):
    """One neuron: its name, its incoming weights by sign and size, a thumbnail of its output."""

    DEFAULT_CSS = """
    NeuronView { width: 13; height: 5; padding: 0 1; }
    NeuronView.-selected { background: $accent 30%; text-style: bold; }
    NeuronView:focus { background: $accent 20%; }
    """

    class Selected(Message):
        """A neuron was chosen (a click, or enter on it)."""

        def __init__(self, layer: int, unit: int) -> None:
            super().__init__()
            self.layer, self.unit = layer, unit

    def __init__(self, layer: int, unit: int, **kwargs):
        super().__init__(**kwargs)
        self.neuron = (layer, unit)  # not `layer`: a Widget's CSS layer
        self.head: list[Text] = []  # its name, then its incoming weights
        self.lines: list[list[Segment]] = []

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        # every segment gets a style: Textual's NO_COLOR filter reads each one's
        base = self.rich_style
        if y < len(self.head):
            segments = [
                Segment(seg.text, base + seg.style if seg.style else base)
                for seg in self.head[y].render(self.app.console)
                if seg.text != "\n"
            ]
            return Strip(segments).crop(0, width).extend_cell_length(width, base)
        y -= len(self.head)
        if y < len(self.lines):
            return Strip(self.lines[y]).crop(0, width).extend_cell_length(width, base)
        return Strip.blank(width, base)

    def on_click(self) -> None:
        self.post_message(self.Selected(*self.neuron))

    def key_enter(self) -> None:
        self.post_message(self.Selected(*self.neuron))
