"""The playground's neurons: one column per layer (the hidden ones, then the output), each neuron
a thumbnail of its output over the plane with its incoming weights drawn as glyphs."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal, Vertical, VerticalScroll

from tutor.playground import heatmap
from tutor.ui.widgets.heatmap import NeuronView

THUMB_COLS, THUMB_ROWS = 8, 3


class NeuronPanel(VerticalScroll):
    def fill(self, hidden: tuple[int, ...]) -> None:
        """A view per neuron of a network with these hidden layers."""
        self.remove_children()
        columns = Horizontal()
        views = []
        for layer, units in enumerate(list(hidden) + [1], 1):
            col = Vertical()
            views.append(
                (col, [NeuronView(layer, u, id=f"neuron-{layer}-{u + 1}") for u in range(units)])
            )
        self.mount(columns)
        for col, items in views:
            columns.mount(col)
            col.mount_all(items)

    def draw(self, pg, frame, look: str, selected: tuple[int, int] | None) -> None:
        """Each neuron's output grid from the frame, and its incoming weights now."""
        ascii = look == "ascii"
        weights = [lin.W for lin in pg.linears]
        biggest = max((float(abs(w).max()) for w in weights if w.size), default=1.0)
        out_grid = frame.boundary.grid
        for view in self.query(NeuronView):
            layer, unit = view.neuron
            output = layer == len(pg.linears)
            grid = out_grid if output else frame.boundary.neurons[layer - 1][unit]
            values = heatmap.resample(grid, heatmap.grid_rows(THUMB_ROWS, look), THUMB_COLS)
            name = Text(
                ("▶ " if not ascii else "> ") * (selected == (layer, unit))
                + ("out" if output else f"h{layer}_{unit + 1}")
            )
            incoming = Text()
            ws = weights[layer - 1][:, unit]
            for w in ws[:5]:
                glyph, colour = heatmap.weight_glyph(float(w), biggest, ascii)
                incoming.append(glyph, style=colour if look == "colour" else "")
            if len(ws) > 5:
                incoming.append("…" if not ascii else "~")
            view.head = [name, incoming]
            classify = pg.points.classify if output else False
            if not output and pg.config.activation == "sigmoid":
                classify = True  # 0..1 like a probability
            view.lines = heatmap.draw(values, look, classify)[:THUMB_ROWS]
            view.set_class(selected == (layer, unit), "-selected")
            view.refresh()
