"""The array of a Derive "values" step (a leaf, a node's forward value or a gradient at the lesson's
own arrays) as a table with its row and column numbers. It scrolls both ways (focus it with tab or
a click, then the arrows, PageUp/PageDown, Home/End; n and p still move between steps), so a 4×10
matrix reads at 80×24; every entry is there, to six significant digits. Hidden on every other
step."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tutor.fmt import asciify


class ValuesTable(DataTable[Text]):
    """An array: rows 0…, columns 0… (a vector is one row)."""

    DEFAULT_CSS = "ValuesTable { height: auto; max-height: 9; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)
        self.ascii = False
        self.shown: Any = None  # the array on show (None: hidden)

    def show_step(self, step: Any) -> None:
        """Lay out the step's array on a values step; hide on any other."""
        table = step.table if step.phase == "values" else None
        if table is None or getattr(table, "ndim", 0) == 0:
            self.shown = None
            self.display = False
            return
        if self.shown is table:
            return
        self.shown = table
        rows = table.reshape(1, -1) if table.ndim == 1 else table
        self.clear(columns=True)
        self.add_column("", key="row")
        for j in range(rows.shape[1]):
            self.add_column(str(j), key=str(j))
        for i, row in enumerate(rows):
            cells = [f"{float(v):.6g}" for v in row]
            self.add_row(
                Text(str(i), style="dim"),
                *(Text(asciify(c) if self.ascii else c, justify="right") for c in cells),
                key=str(i),
            )
        self.scroll_home(animate=False)
        self.display = True
