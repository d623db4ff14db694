"""Per-layer histograms of the hidden activations: one forward walk in numpy from a set of weights
(the start's or the current ones) over the training samples the health walk uses, and for each
activation layer (tanh, sigmoid, ReLU, ...) its outputs' histogram, spread, the fraction near 0
and the fraction saturated (within SATURATED_WITHIN of a bound, as the health figures count it).
The Train part draws them (tutor/ui/widgets/activation_plot.py); headless prints them as text
(tutor/present/activations.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
