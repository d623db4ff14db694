"""When two units of a layer are copies of each other: the one tolerance and count, shared by
the health figures on the host (`health`) and on a device (`rows`)."""

from __future__ import annotations

import numpy as np

# Rounding error of a dot product of n terms stays within about sqrt(n)·eps of the terms' size
# (a random walk of n roundings; n·eps is the worst case, never met in practice). Copies of one unit
# computed in different orders (another BLAS, another thread count) differ by that much per step,
# and a run takes many steps: COPY_ULPS is the margin for that.
COPY_ULPS = 64


def copy_limit(scale: float, fan_in: int, eps: float | None = None) -> float:
    """How far apart two units' weights may lie and still be copies (see `distinct_units`)."""
    eps = float(np.finfo(np.float32).eps) if eps is None else eps
    return COPY_ULPS * eps * float(np.sqrt(fan_in)) * max(scale, float(np.finfo(np.float64).tiny))


PATTERN_STEP, PATTERN_PHASE = 1.7, 0.3  # cos(k·step + phase): no simple relation between rows


def projection(rows: int) -> np.ndarray:
    """The fixed pattern a unit's weights are dotted with (rows.py's `pattern`, also on a device)."""
    pattern: np.ndarray = np.cos(np.arange(rows) * PATTERN_STEP + PATTERN_PHASE)
    return pattern


def distinct_units(w: np.ndarray, eps: float | None = None) -> int:
    """How many of a layer's units (columns of its in × out weight, with the bias as one more row)
    differ: 1 when every unit is a copy of the others (a zero start), the layer's width when each
    went its own way. A unit is a copy of another when max|a − b| ≤ tol·max(scale, tiny): scale is
    the layer's largest |weight|, tol = COPY_ULPS·eps·√fan-in, and eps is the training dtype's
    (float32's by default: the coarsest a run trains in, and what torch computes in).

    Units are taken in the order of one projection (their dot product with a fixed pattern), and
    each is compared only with the units kept so far whose projection lies close enough to be a
    copy's: first on a few rows, then in full. One matrix-vector product and a few comparisons."""
    w = np.asfortranarray(w, dtype=np.float64)  # a unit's weights side by side in memory
    if w.size == 0:
        return 0
    scale = float(np.max(np.abs(w)))
    if not np.isfinite(scale):
        return int(w.shape[1])
    limit = copy_limit(scale, w.shape[0], eps)
    pattern = projection(w.shape[0])
    key = pattern @ w
    window = limit * float(np.abs(pattern).sum())  # copies' projections differ by no more
    head = np.ascontiguousarray(w[:16])  # a copy matches on these rows too
    kept: list[int] = []  # one unit of each kind, in key order
    first = 0  # kept[first:] lie within the window
    for j in np.argsort(key, kind="stable"):
        while first < len(kept) and key[kept[first]] < key[j] - window:
            first += 1
        near = np.asarray(kept[first:], dtype=np.intp)
        if near.size:
            near = near[np.max(np.abs(head[:, near] - head[:, j : j + 1]), axis=0) <= limit]
        if near.size and np.min(np.max(np.abs(w[:, near] - w[:, j : j + 1]), axis=0)) <= limit:
            continue
        kept.append(int(j))
    return len(kept)
