"""Each layer's health, measured from the weights in the same way for every backend (on the device
the tensors live on, `health_figures`):
how many of a linear layer's units differ, how many ReLU units are dead, how many sigmoid or tanh
outputs are saturated; and the by-depth rows the views show. Measured on logged steps only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from tutor.train.layers import LAYERS
from tutor.train.snapshot import SATURATED_WITHIN, GradStat, LayerStat
from tutor.train.spec import Planned

if TYPE_CHECKING:
    from tutor.train.rows import NumpyOps, Reader


def layer_health(
    plan: Iterable[Planned], params: dict[str, np.ndarray], x: np.ndarray, limit: int = 2048
) -> dict[str, tuple[str, float]]:
    """One forward walk in numpy from the weights (so every backend reports the same): for every
    linear layer the number of its units with distinct incoming weights (`distinct_units`), for every
    ReLU the fraction of its units that are zero for every sample ("dead"), for every sigmoid and
    tanh the fraction of its outputs within SATURATED_WITHIN of a bound ("saturated"). Keyed relu1,
    sigmoid1, tanh1, ... (numbered per type), in depth order."""
    from tutor.train.rows import NumpyOps, Reader

    ops, reader = NumpyOps(), Reader()
    queued = health_figures(ops, reader, plan, params, x, limit)
    return read_health(queued, reader.read(ops))


HEALTH_SAMPLES = 2048  # the health walk looks at this many training samples at most


def health_figures(
    ops: NumpyOps,
    reader: Reader,
    plan: Iterable[Planned],
    params: dict[str, Any],
    x: Any,
    limit: int = HEALTH_SAMPLES,
    output: list[Any] | None = None,
) -> dict[str, tuple[str, int]]:
    """`layer_health`'s walk with `ops` (numpy, or torch on the tensors' device), each figure queued
    on `reader` so that a logged row brings them all to the host in one copy. A linear layer's
    figure is its count of distinct units, counted where the weights live (`rows.py`'s `distinct`). `output`: gets the walk's last values (the model's
    scores, before a softmax or log-softmax), which a logged row turns into its accuracy count."""
    out: dict[str, tuple[str, int]] = {}
    h = ops.f(x[:limit])
    count: dict[str, int] = {}
    with np.errstate(all="ignore"):
        outs: list[Any] = []
        for layer in plan:
            kind = LAYERS[layer.type]  # its forward rule and its statistic (tutor/train/layers.py)
            arrays = tuple(ops.f(params[n]) if n else None for n in layer.names)
            if kind.health == "distinct":
                w = arrays[0]
                full = ops.vstack(w, arrays[1]) if arrays[1] is not None else w
                assert layer.weight is not None  # a linear layer always has its weight
                out[layer.weight] = ops.distinct(reader, full)
            layer_rule = kind.make(ops.xp, arrays, True)
            if kind.skip:
                assert layer.layer.source is not None  # the loader gives every skip its source
                layer_rule.other = outs[layer.layer.source]
            h = layer_rule.forward(h)
            outs.append(h)
            name = stat_name(layer, count)
            if kind.health == "dead":
                out[name] = ("dead", reader.add(ops.dead(h)))
            elif kind.health == "saturated":
                assert kind.bounds is not None  # every "saturated" kind names its bounds
                lo, hi = kind.bounds
                out[name] = (
                    "saturated",
                    reader.add(ops.frac((h - lo < SATURATED_WITHIN) | (hi - h < SATURATED_WITHIN))),
                )
            if kind.final:
                break  # softmax / log_softmax end the model: nothing to measure after them
    if output is not None:
        output.append(h)
    return out


def stat_name(layer: Planned, count: dict[str, int]) -> str:
    """A layer's name in the health figures and the by-depth rows: a linear layer's weight, else its
    kind numbered in depth order (relu1, tanh2, ...), counted in `count`."""
    if LAYERS[layer.type].health == "distinct":
        assert layer.weight is not None  # a linear layer always has its weight
        return layer.weight
    count[layer.type] = count.get(layer.type, 0) + 1
    return f"{layer.type}{count[layer.type]}"


def read_health(
    queued: dict[str, tuple[str, int]], values: list[list[float]]
) -> dict[str, tuple[str, float]]:
    """`health_figures`' queued figures, once on the host."""
    out: dict[str, tuple[str, float]] = {}
    for name, (kind, i) in queued.items():
        if kind == "distinct":
            out[name] = (kind, int(round(values[i][0])))
        else:
            out[name] = (kind, values[i][0])
    return out


def dead_relu(health: dict[str, tuple[str, float]]) -> dict[str, float]:
    """The ReLUs' dead fractions out of `layer_health`."""
    return {name: frac for name, (kind, frac) in health.items() if kind == "dead"}


def by_depth(
    plan: Iterable[Planned], grads: dict[str, GradStat], health: dict[str, tuple[str, float]]
) -> tuple[LayerStat, ...]:
    """Every layer in depth order with what the by-depth view shows of it: ‖∂W‖ of a linear layer
    (from the step's GradStats), the dead or saturated fraction of an activation (`layer_health`)."""
    rows: list[LayerStat] = []
    count: dict[str, int] = {}
    for layer in plan:
        name = stat_name(layer, count)
        kind, frac = health.get(name, ("", None))
        if kind == "distinct":
            g = grads.get(name)  # stat_name: a linear layer's weight
            rows.append(
                LayerStat(
                    name,
                    layer.type,
                    grad_norm=g.norm if g is not None else None,
                    units=layer.n_out,
                    distinct=int(frac) if frac is not None else None,
                )
            )
            continue
        rows.append(
            LayerStat(
                name,
                layer.type,
                dead=frac if kind == "dead" else None,
                saturated=frac if kind == "saturated" else None,
            )
        )
    return tuple(rows)
