"""Each layer's health, measured from the weights in the same way for every backend (on the device
the tensors live on, `health_figures`):
how many of a linear layer's units differ, how many ReLU units are dead, how many sigmoid or tanh
outputs are saturated; and the by-depth rows the views show. Measured on logged steps only."""

from __future__ import annotations

import numpy as np

from tutor.train.snapshot import BOUNDS, SATURATED_WITHIN, LayerStat


def layer_health(plan, params: dict[str, np.ndarray], x: np.ndarray, limit: int = 2048) -> dict[str, tuple[str, float]]:
    """One forward walk in numpy from the weights (so every backend reports the same): for every
    linear layer the number of its units with distinct incoming weights (`distinct_units`), for every
    ReLU the fraction of its units that are zero for every sample ("dead"), for every sigmoid and
    tanh the fraction of its outputs within SATURATED_WITHIN of a bound ("saturated"). Keyed relu1,
    sigmoid1, tanh1, ... (numbered per type), in depth order."""
    from tutor.train.rows import NumpyOps, Reader

    ops, reader = NumpyOps(), Reader()
    queued = health_figures(ops, reader, plan, params, x, limit)
    return read_health(queued, reader.read(ops))


HEALTH_SAMPLES = 2048       # the health walk looks at this many training samples at most


def health_figures(ops, reader, plan, params: dict, x, limit: int = HEALTH_SAMPLES,
                   output: list | None = None) -> dict[str, tuple[str, int]]:
    """`layer_health`'s walk with `ops` (numpy, or torch on the tensors' device), each figure queued
    on `reader` so that a logged row brings them all to the host in one copy. A linear layer's
    figure is one number per unit (its incoming weights and bias dotted with a fixed pattern), which
    `read_health` hands to `distinct_units`. `output`: gets the walk's last values (the model's
    scores, before a softmax or log-softmax), which a logged row turns into its accuracy count."""
    out: dict[str, tuple[str, int]] = {}
    h = ops.f(x[:limit])
    count: dict[str, int] = {}
    with np.errstate(all="ignore"):
        for layer in plan:
            kind = layer.type
            if kind == "linear":
                w = ops.f(params[layer.weight])
                full = ops.vstack(w, ops.f(params[layer.bias])) if layer.bias else w
                out[layer.weight] = ops.distinct(reader, full)
                h = h @ w
                if layer.bias:
                    h = h + ops.f(params[layer.bias])
                continue
            count[kind] = count.get(kind, 0) + 1
            name = f"{kind}{count[kind]}"
            if kind == "relu":
                out[name] = ("dead", reader.add(ops.dead(h)))
                h = ops.relu(h)
            elif kind == "batchnorm":
                from tutor.train.manual import BN_EPS

                xc = h - ops.mean0(h)
                h = ops.f(params[layer.weight]) * xc / ops.sqrt(ops.mean0(xc * xc) + BN_EPS) + ops.f(params[layer.bias])
            elif kind in BOUNDS:
                h = ops.sigmoid(h) if kind == "sigmoid" else ops.tanh(h)
                lo, hi = BOUNDS[kind]
                out[name] = ("saturated", reader.add(ops.frac((h - lo < SATURATED_WITHIN) | (hi - h < SATURATED_WITHIN))))
            else:
                break                  # softmax / log_softmax end the model: nothing to measure after them
    if output is not None:
        output.append(h)
    return out


def read_health(queued: dict[str, tuple[str, int]], values: list[list[float]]) -> dict[str, tuple[str, float]]:
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


def by_depth(plan, grads: dict, health: dict[str, tuple[str, float]]) -> tuple[LayerStat, ...]:
    """Every layer in depth order with what the by-depth view shows of it: ‖∂W‖ of a linear layer
    (from the step's GradStats), the dead or saturated fraction of an activation (`layer_health`)."""
    rows, count = [], {}
    for layer in plan:
        if layer.type == "linear":
            g = grads.get(layer.weight)
            units = health.get(layer.weight, ("", None))[1]
            rows.append(LayerStat(layer.weight, "linear", grad_norm=g.norm if g is not None else None,
                                  units=layer.n_out, distinct=units))
            continue
        count[layer.type] = count.get(layer.type, 0) + 1
        name = f"{layer.type}{count[layer.type]}"
        kind, frac = health.get(name, ("", None))
        rows.append(LayerStat(name, layer.type, dead=frac if kind == "dead" else None,
                              saturated=frac if kind == "saturated" else None))
    return tuple(rows)
