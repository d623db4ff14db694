"""The by-depth view as text, for both views (headless prints it after a run; the Train pane's depth
plot shows the same figures): per layer, input to output, a linear layer's gradient norm ‖∂W‖ at the
first logged step and at the last, how many of its units are distinct, and each activation's dead
or saturated fraction. Textual-free."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from tutor.fmt import number_within

DEPTH_MIN = 3  # linear layers from which a run gets the by-depth view (the lessons' deep nets)
COLUMN = 10


class Typed(Protocol):
    """A layer of a run: its type is enough to count the linear ones (a LayerStat, a planned layer)."""

    @property
    def type(self) -> str: ...


class LayerFigures(Typed, Protocol):
    """One layer's figures at a step (tutor.train.snapshot.LayerStat)."""

    @property
    def layer(self) -> str: ...
    @property
    def grad_norm(self) -> float | None: ...
    @property
    def dead(self) -> float | None: ...
    @property
    def saturated(self) -> float | None: ...
    @property
    def units(self) -> int | None: ...
    @property
    def distinct(self) -> int | None: ...


def shows_depth(layers: Iterable[Typed]) -> bool:
    """Whether a run's layers (a snapshot's `layers`, or a layer plan) make a deep enough model."""
    return sum(1 for layer in layers if layer.type == "linear") >= DEPTH_MIN


def activity(stat: LayerFigures) -> str:
    """'dead 12%' for a ReLU, 'saturated 51%' for a sigmoid or tanh, '' otherwise."""
    if stat.dead is not None:
        return f"dead {stat.dead:.0%}"
    if stat.saturated is not None:
        return f"saturated {stat.saturated:.0%}"
    return ""


def units_text(stat: LayerFigures) -> str:
    """'32' when every unit differs, '1 of 32 distinct' when they are copies of each other."""
    if stat.units is None or stat.distinct is None:
        return ""
    return (
        str(stat.units)
        if stat.distinct == stat.units
        else f"{stat.distinct} of {stat.units} distinct"
    )


def ratio_line(layers: Sequence[LayerFigures]) -> str:
    """The first layer's gradient norm against the last's: how much the gradient shrank (or grew)
    on its way down, e.g. '‖∂W1‖ / ‖∂W7‖ = 1.23e-05 / 0.355 = 3.5e-05'."""
    linear = [
        (s.layer, s.grad_norm) for s in layers if s.type == "linear" and s.grad_norm is not None
    ]
    if len(linear) < 2:
        return ""
    (first, g_first), (last, g_last) = linear[0], linear[-1]
    if not g_last:  # nothing reached the last layer either: no ratio to speak of
        return ""
    ratio = f"{g_first / g_last:.2g}"
    return (
        f"‖∂{first}‖ / ‖∂{last}‖ = {number_within(g_first, COLUMN)} / "
        f"{number_within(g_last, COLUMN)} = {ratio}"
    )


def depth_table(
    first: Sequence[LayerFigures], last: Sequence[LayerFigures], first_step: int, last_step: int
) -> list[str]:
    """The table headless prints after a run: `first` and `last` are the LayerStats of the first
    and the last logged steps (the last one's units are the final weights')."""
    head = f"‖∂W‖ step {first_step}"
    tail = f"‖∂W‖ step {last_step}"
    width = max(COLUMN, len(head), len(tail)) + 2
    names = max([6] + [len(s.layer) for s in last]) + 2
    lines = [
        "by depth, input to output:",
        f"  {'layer':<{names}}{head:<{width}}{tail:<{width}}units / activity",
    ]
    early = {s.layer: s for s in first}
    for stat in last:
        if stat.type == "linear":
            a = early.get(stat.layer)
            lines.append(
                f"  {stat.layer:<{names}}{number_within(a.grad_norm if a else None, COLUMN):<{width}}"
                f"{number_within(stat.grad_norm, COLUMN):<{width}}{units_text(stat)}"
            )
        else:
            lines.append(
                f"  {stat.layer:<{names}}{'':<{width}}{'':<{width}}{activity(stat)}".rstrip()
            )
    for label, layers in ((f"step {first_step}", first), (f"step {last_step}", last)):
        line = ratio_line(layers)
        if line:
            lines.append(f"  {label}: {line}")
    return lines
