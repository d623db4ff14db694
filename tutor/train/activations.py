"""Per-layer histograms of the hidden activations: one forward walk in numpy from a set of weights
(the start's or the current ones) over the training samples the health walk uses, and for each
activation layer (tanh, sigmoid, ReLU, ...) its outputs' histogram, spread, the fraction near 0
and the fraction saturated (within SATURATED_WITHIN of a bound, as the health figures count it).
The Train part draws them (tutor/ui/widgets/activation_plot.py); headless prints them as text
(`histogram_lines`: a sparkline per layer, from the start and the end)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.fmt import number
from tutor.train.health import HEALTH_SAMPLES, stat_name
from tutor.train.layers import LAYERS
from tutor.train.snapshot import SATURATED_WITHIN

BINS = 20  # bars of a histogram: readable in the 30-odd columns a plot has at 80×24
NEAR_ZERO = 0.1  # |h| below this counts as "near 0" (stuck where a deeper layer sees nothing)


@dataclass(frozen=True)
class Histogram:
    layer: str  # tanh1, relu2, ... (tutor/train/health.py's stat_name)
    lo: float  # the range the bins cover: the activation's bounds, else the values'
    hi: float
    counts: tuple[int, ...]  # outputs per bin (samples × units)
    spread: float  # the standard deviation of all its outputs
    near_zero: float  # the fraction with |h| < NEAR_ZERO
    saturated: float | None  # the fraction within SATURATED_WITHIN of a bound (bounded kinds)

    @property
    def total(self) -> int:
        return sum(self.counts)


def is_activation(kind_name: str) -> bool:
    """A hidden activation: a layer without parameters that is neither the model's end (softmax),
    nor dropout, nor a residual connection."""
    kind = LAYERS[kind_name]
    return not (kind.params or kind.final or kind.random or kind.skip)


def histograms(
    plan: list[Any],
    params: dict[str, np.ndarray],
    x: np.ndarray,
    bins: int = BINS,
    limit: int = HEALTH_SAMPLES,
) -> list[Histogram]:
    """Each activation layer's histogram, input first, from the weights `params` (numpy arrays)
    on the first `limit` rows of `x`, in float64."""
    from tutor.train.manual import NumpyXP

    xp = NumpyXP("float64")
    h = np.asarray(x[:limit], dtype=np.float64)
    count: dict[str, int] = {}
    outs: list[np.ndarray] = []
    found: list[Histogram] = []
    with np.errstate(all="ignore"):
        for layer in plan:
            kind = LAYERS[layer.type]
            if kind.final:
                break
            arrays = tuple(
                np.asarray(params[n], dtype=np.float64) if n else None for n in layer.names
            )
            rule = kind.make(xp, arrays, True)
            if kind.skip:
                rule.other = outs[layer.layer.source]
            if kind.random:  # dropout: off, as in evaluation
                rule.mask = None
            h = rule.forward(h)
            outs.append(h)
            name = stat_name(layer, count)
            if is_activation(layer.type):
                found.append(histogram(name, h, kind.bounds, bins))
    return found


def histogram(name: str, h: np.ndarray, bounds: tuple[float, float] | None, bins: int) -> Histogram:
    values = h[np.isfinite(h)].ravel()
    if bounds is not None:
        lo, hi = bounds
    elif values.size:
        lo, hi = float(values.min()), float(values.max())
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:  # every output the same: a bin around it
        lo, hi = lo - 0.5, hi + 0.5
    counts, _ = np.histogram(values, bins=bins, range=(lo, hi))
    n = max(values.size, 1)
    saturated = None
    if bounds is not None:
        edge = (values - bounds[0] < SATURATED_WITHIN) | (bounds[1] - values < SATURATED_WITHIN)
        saturated = float(edge.sum() / n)
    return Histogram(
        name,
        float(lo),
        float(hi),
        tuple(int(c) for c in counts),
        float(values.std()) if values.size else 0.0,
        float((np.abs(values) < NEAR_ZERO).sum() / n),
        saturated,
    )


# --- as text -------------------------------------------------------------------------------------

BARS = "▁▂▃▄▅▆▇█"  # tutor/fmt.py's asciify writes them .:-=+*#@


def sparkline(counts: tuple[int, ...]) -> str:
    """One character per bin, its height the bin's share of the tallest (an empty bin a space)."""
    marks = BARS
    top = max(counts) if counts else 0
    if top == 0:
        return " " * len(counts)
    return "".join(
        " " if c == 0 else marks[min(len(marks) - 1, c * len(marks) // (top + 1))] for c in counts
    )


def figures(h: Histogram) -> str:
    """'spread 0.637, |h| < 0.1: 8%, saturated 2%' (saturated only for a bounded activation)."""
    text = f"spread {number(round(h.spread, 4))}, |h| < {NEAR_ZERO}: {percent(h.near_zero)}"
    return text + (f", saturated {percent(h.saturated)}" if h.saturated is not None else "")


def percent(fraction: float) -> str:
    """0.7028 → '70%'; a fraction that is not 0 but rounds to 0% says '<1%', so 0% means none."""
    if 0 < fraction < 0.005:
        return "<1%"
    return f"{fraction:.0%}"


def histogram_lines(
    start: list[Histogram], end: list[Histogram], start_label: str, end_label: str
) -> list[str]:
    """Per layer: its sparkline, the range its bins cover, and its figures, at the start and at
    the end (a bounded activation's bins cover its bounds; another's, its outputs' range)."""
    lines = ["activations on the training set, a histogram each (its bins from low to high):"]
    label = max(len(start_label), len(end_label))
    for a, b in zip(start, end, strict=True):
        lines.append(f"  {a.layer}")
        for tag, h in ((start_label, a), (end_label, b)):
            lines.append(f"    {tag:<{label}}  |{sparkline(h.counts)}|  {span(h)}: {figures(h)}")
    return lines


def span(h: Histogram) -> str:
    """The range the bins cover: '-1.0 … 1.0'."""
    return f"{number(round(h.lo, 4))} … {number(round(h.hi, 4))}"
