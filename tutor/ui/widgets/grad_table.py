"""The Train part's per-layer gradient table: each parameter's gradient (its norm, or the signed
number for a one-number parameter), mean and max magnitude, the update's size against the weight,
and the value itself (for an embedding table, how many of its rows the step's batch picked: the
others get no gradient); then each ReLU layer's dead fraction."""

from __future__ import annotations

from textual.widgets import DataTable

from tutor.fmt import number_within, numbers_within

CELL = 8  # characters of a number column
VALUE = 20  # characters of the value column: the parameters' values, "…" where cut
# "‖g‖, g": the gradient's norm, or the signed gradient itself for a one-number parameter
COLUMNS = (
    ("param", 6),
    ("shape", 7),
    ("‖g‖, g", CELL),
    ("mean|g|", CELL),
    ("max|g|", CELL),
    ("Δw/w", CELL),
    ("value", VALUE),
)


def _flatten(v):
    if isinstance(v, list):
        return [x for item in v for x in _flatten(item)]
    return [v]


class GradTable(DataTable):
    def __init__(self, **kwargs):
        super().__init__(zebra_stripes=True, cursor_type="none", **kwargs)

    def on_mount(self) -> None:
        # fixed widths: the table must not jump about as numbers change length mid-run
        for label, width in COLUMNS:
            self.add_column(self.app.plain(label), width=width)

    def show(self, snap) -> None:
        self.clear()
        plain = self.app.plain
        for name, g in snap.grads.items():
            value = ""
            if snap.params is not None and name in snap.params:
                value = numbers_within(_flatten(snap.params[name]), VALUE)
            elif g.rows is not None:  # an embedding table: the rows its batch picked
                value = f"rows {g.rows}/{g.shape[0]} picked"
            ratio = "—" if g.update_ratio != g.update_ratio else f"{g.update_ratio:.2e}"
            self.add_row(
                name,
                plain("×".join(map(str, g.shape))),
                *(number_within(v, CELL) for v in (g.signed(), g.mean_abs, g.max_abs)),
                plain(ratio),
                plain(value),
                key=name,
            )
        for layer, frac in snap.dead_relu.items():
            self.add_row(layer, "", "", "", "", "", f"dead {frac:.0%}", key=f"dead-{layer}")
