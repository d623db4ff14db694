"""Each layer's health, measured from the weights in the same way for every backend (on the device
the tensors live on, `health_figures`):
how many of a linear layer's units differ, how many ReLU units are dead, how many sigmoid or tanh
outputs are saturated; and the by-depth rows the views show. Measured on logged steps only."""

from __future__ import annotations

import numpy as np

from tutor.train.layers import LAYERS
from tutor.train.snapshot import SATURATED_WITHIN, LayerStat


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
        outs: list = []
        for layer in plan:
            kind = LAYERS[layer.type]             # its forward rule and its statistic (tutor/train/layers.py)
            arrays = tuple(ops.f(params[n]) if n else None for n in layer.names)
            if kind.health == "distinct":
                w = arrays[0]
                full = ops.vstack(w, arrays[1]) if arrays[1] is not None else w
                out[layer.weight] = ("distinct", reader.add(ops.pattern(full.shape[0]) @ full, full.shape[1]))
            layer_rule = kind.make(ops.xp, arrays, True)
            if kind.skip:
                layer_rule.other = outs[layer.layer.source]
            h = layer_rule.forward(h)
            outs.append(h)
            name = stat_name(layer, count)
            if kind.health == "dead":
                out[name] = ("dead", reader.add(ops.dead(h)))
            elif kind.health == "saturated":
                lo, hi = kind.bounds
                out[name] = ("saturated", reader.add(ops.frac((h - lo < SATURATED_WITHIN) | (hi - h < SATURATED_WITHIN))))
            if kind.final:
                break                  # softmax / log_softmax end the model: nothing to measure after them
    if output is not None:
        output.append(h)
    return out


def stat_name(layer, count: dict[str, int]) -> str:
    """A layer's name in the health figures and the by-depth rows: a linear layer's weight, else its
    kind numbered in depth order (relu1, tanh2, ...), counted in `count`."""
    if LAYERS[layer.type].health == "distinct":
        return layer.weight
    count[layer.type] = count.get(layer.type, 0) + 1
    return f"{layer.type}{count[layer.type]}"


def read_health(queued: dict[str, tuple[str, int]], values: list[list[float]]) -> dict[str, tuple[str, float]]:
    """`health_figures`' queued figures, once on the host."""
    out: dict[str, tuple[str, float]] = {}
    for name, (kind, i) in queued.items():
        if kind == "distinct":
            out[name] = (kind, distinct_units(np.asarray(values[i], dtype=np.float64)[None, :]))
        else:
            out[name] = (kind, values[i][0])
    return out


# Rounding error of a dot product of n terms stays within about sqrt(n)·eps of the terms' size
# (a random walk of n roundings; n·eps is the worst case, never met in practice). Copies of one unit
# computed in different orders (another BLAS, another thread count) differ by that much per step,
# and a run takes many steps: COPY_ULPS is the margin for that.
COPY_ULPS = 64


def distinct_units(w: np.ndarray, eps: float | None = None) -> int:
    """How many of a layer's units (columns of its in × out weight, with the bias as one more row)
    differ: 1 when every unit is a copy of the others (a zero start), the layer's width when each
    went its own way. A unit is a copy of another when max|a − b| ≤ tol·max(scale, tiny): scale is
    the layer's largest |weight|, tol = COPY_ULPS·eps·√fan-in, and eps is the training dtype's
    (float32's by default: the coarsest a run trains in, and what torch computes in).

    Units are taken in the order of one projection (their dot product with a fixed pattern), and
    each is compared only with the units kept so far whose projection lies close enough to be a
    copy's: first on a few rows, then in full. One matrix-vector product and a few comparisons."""
    w = np.asfortranarray(w, dtype=np.float64)             # a unit's weights side by side in memory
    if w.size == 0:
        return 0
    scale = float(np.max(np.abs(w)))
    if not np.isfinite(scale):
        return w.shape[1]
    eps = float(np.finfo(np.float32).eps) if eps is None else eps
    limit = COPY_ULPS * eps * np.sqrt(w.shape[0]) * max(scale, float(np.finfo(np.float64).tiny))
    pattern = np.cos(np.arange(w.shape[0]) * 1.7 + 0.3)
    key = pattern @ w
    window = limit * float(np.abs(pattern).sum())          # copies' projections differ by no more
    head = np.ascontiguousarray(w[:16])                     # a copy matches on these rows too
    kept: list[int] = []                                    # one unit of each kind, in key order
    first = 0                                               # kept[first:] lie within the window
    for j in np.argsort(key, kind="stable"):
        while first < len(kept) and key[kept[first]] < key[j] - window:
            first += 1
        near = np.asarray(kept[first:], dtype=np.intp)
        if near.size:
            near = near[np.max(np.abs(head[:, near] - head[:, j:j + 1]), axis=0) <= limit]
        if near.size and np.min(np.max(np.abs(w[:, near] - w[:, j:j + 1]), axis=0)) <= limit:
            continue
        kept.append(int(j))
    return len(kept)


def dead_relu(health: dict[str, tuple[str, float]]) -> dict[str, float]:
    """The ReLUs' dead fractions out of `layer_health`."""
    return {name: frac for name, (kind, frac) in health.items() if kind == "dead"}


def by_depth(plan, grads: dict, health: dict[str, tuple[str, float]]) -> tuple[LayerStat, ...]:
    """Every layer in depth order with what the by-depth view shows of it: ‖∂W‖ of a linear layer
    (from the step's GradStats), the dead or saturated fraction of an activation (`layer_health`)."""
    rows, count = [], {}
    for layer in plan:
        name = stat_name(layer, count)
        kind, frac = health.get(name, ("", None))
        if kind == "distinct":
            g = grads.get(layer.weight)
            rows.append(LayerStat(name, layer.type, grad_norm=g.norm if g is not None else None,
                                  units=layer.n_out, distinct=frac))
            continue
        rows.append(LayerStat(name, layer.type, dead=frac if kind == "dead" else None,
                              saturated=frac if kind == "saturated" else None))
    return tuple(rows)
