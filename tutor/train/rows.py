"""A logged row's figures, computed where the tensors live and brought to the host in one copy.

On a GPU every read of a number (`.item()`, `.cpu()`, `.tolist()`) waits for the device to finish
what it was given. So the session keeps each step's loss on the device and, on a logged step,
computes the row's statistics there too (gradient and update norms against a device-side copy of
the weights, validation loss, accuracy counts, the health figures), lays them end to end in one
flat tensor with the losses still waiting, and copies that once (`Ops.host`). The numpy backend
goes through the same code with numpy's operations, where the "copy" is a list of floats.
"""

from __future__ import annotations

import math

import numpy as np

from tutor.train.copies import COPY_ULPS, PATTERN_PHASE, PATTERN_STEP, distinct_units, projection

NEIGHBOURS = 8      # a unit on a device is compared with this many before it in projection order
from tutor.train.snapshot import GradStat


class NumpyOps:
    """The row's arithmetic on numpy arrays (float64)."""

    def __init__(self):
        from tutor.train.manual import NumpyXP

        self.dtype = np.float64
        self.xp = NumpyXP("float64")          # the layers' own forward rules run on it (health)

    def f(self, a):
        return np.asarray(a, dtype=np.float64)

    def norm(self, a):
        return np.linalg.norm(self.f(a))

    def distinct(self, reader, full) -> tuple:
        """A linear layer's distinct-unit count queued on `reader`: on the host, counted exactly
        from the whole weight matrix (`full`: in × out with the bias row)."""
        return ("distinct", reader.add(distinct_units(full)))

    def grad_row(self, g, w, before):
        """‖g‖, mean |g|, max |g|, ‖w − before‖ (0 without it), ‖w‖, g's first entry."""
        a = np.abs(g)
        return [np.linalg.norm(g), a.mean() if a.size else 0.0, a.max() if a.size else 0.0,
                np.linalg.norm(w - before) if before is not None else 0.0, np.linalg.norm(w),
                g.ravel()[0] if g.size else 0.0]

    def count(self, mask):
        return np.count_nonzero(mask)

    def rows_hit(self, g):
        """The rows of a table's gradient with an entry other than 0 (those the batch picked)."""
        return np.count_nonzero(np.any(np.asarray(g) != 0, axis=1))

    def labels(self, y):
        return y

    def argmax(self, a):
        return a.argmax(axis=1)

    def vstack(self, w, b):
        return np.vstack([w, b[None]])

    def dead(self, h):
        return np.mean(~(h > 0).any(axis=0))

    def frac(self, mask):
        return np.mean(mask)

    def pattern(self, n):
        return projection(n)

    def stack(self, scalars):
        return np.asarray([float(v) for v in scalars], dtype=np.float64)

    def flat(self, parts) -> list[float]:
        """The figures end to end; here already on the host."""
        return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts]).tolist() if parts else []


class TorchOps(NumpyOps):
    """The same on torch tensors, on their device: float64 there (float32 on MPS, which has none)."""

    def __init__(self, device: str):
        import torch

        from tutor.train.manual import TorchXP

        self.torch = torch
        self.device = device
        self.dtype = torch.float32 if device == "mps" else torch.float64
        self.xp = TorchXP("float32" if device == "mps" else "float64", device)

    def f(self, a):
        return a.detach().to(self.dtype)

    def norm(self, a):
        return self.torch.linalg.vector_norm(self.f(a))

    def distinct(self, reader, full) -> tuple:
        """On a device, counted there: units in the order of one projection (copies' projections lie
        within rounding of each other, so copies end up side by side), each compared in full with
        the NEIGHBOURS before it; only the count travels. Copies and independent units are counted
        as `distinct_units` counts them on the host."""
        t = self.torch
        rows, units = full.shape
        if units == 0:
            return ("distinct", reader.add(t.zeros((), dtype=self.dtype, device=self.device)))
        eps = float(np.finfo(np.float32).eps)
        scale = t.clamp(full.abs().max(), min=float(np.finfo(np.float64).tiny))
        limit = COPY_ULPS * eps * math.sqrt(rows) * scale
        w = full[:, t.argsort(self.pattern(rows) @ full, stable=True)]
        copy = t.zeros(units, dtype=t.bool, device=self.device)
        for m in range(1, min(NEIGHBOURS, units - 1) + 1):
            copy[m:] |= (w[:, m:] - w[:, :-m]).abs().amax(dim=0) <= limit
        return ("distinct", reader.add((units - copy.sum()).to(self.dtype)))

    def grad_row(self, g, w, before):
        t = self.torch
        if not g.numel():
            return t.zeros(6, dtype=self.dtype, device=self.device)
        a = g.abs()
        vn = t.linalg.vector_norm
        return t.stack([vn(g), a.mean(), a.max(), vn(w - before) if before is not None else a.new_zeros(()),
                        vn(w), g.reshape(-1)[0]])

    def count(self, mask):
        return mask.sum()

    def rows_hit(self, g):
        return (g != 0).any(dim=1).sum().to(self.dtype)

    def argmax(self, a):
        return a.argmax(dim=1)

    def vstack(self, w, b):
        return self.torch.cat([w, b[None]])

    def dead(self, h):
        return self.frac(~(h > 0).any(dim=0))

    def frac(self, mask):
        return mask.to(self.dtype).mean()

    def pattern(self, n):
        return self.torch.cos(self.torch.arange(n, device=self.device, dtype=self.dtype) * PATTERN_STEP + PATTERN_PHASE)

    def stack(self, scalars):
        if not scalars:
            return self.torch.zeros(0, dtype=self.dtype, device=self.device)
        return self.torch.stack([s.reshape(()) for s in scalars])

    def flat(self, parts) -> list[float]:
        """The one copy of a logged row: every figure in one tensor, moved to the host once."""
        if not parts:
            return []
        t = self.torch
        return t.cat([p.reshape(-1).to(self.dtype) if isinstance(p, t.Tensor)
                      else t.tensor([float(p)], dtype=self.dtype, device=self.device) for p in parts]).tolist()


class HostTorchOps(NumpyOps):
    """Torch tensors on the CPU: there a copy is free and numpy is quicker on the lessons' small
    arrays than torch's per-operation dispatch, so the row's figures are numpy's, on zero-copy
    views of the tensors (twice as quick a row for two-layer-relu as TorchOps on the CPU)."""

    def f(self, a):
        if hasattr(a, "detach"):
            a = a.detach().numpy()
        return np.asarray(a, dtype=np.float64)

    def labels(self, y):
        return y.numpy() if hasattr(y, "numpy") else y

    def flat(self, parts) -> list[float]:
        return np.concatenate([np.ravel(self.f(p)) for p in parts]).tolist() if parts else []


def ops_for(xp):
    """The row's arithmetic for a backend's arrays: numpy's, or torch's on a device."""
    if xp.name != "torch":
        return NumpyOps()
    return HostTorchOps() if xp.device == "cpu" else TorchOps(xp.device)


class Reader:
    """Collects device values and how many numbers each is, then hands them back from the host list."""

    def __init__(self):
        self.parts: list = []
        self.sizes: list[int] = []

    def add(self, value, size: int = 1) -> int:
        self.parts.append(value)
        self.sizes.append(size)
        return len(self.parts) - 1

    def read(self, ops) -> list[list[float]]:
        values = ops.flat(self.parts)
        out, i = [], 0
        for n in self.sizes:
            out.append(values[i:i + n])
            i += n
        return out


def grad_figures(ops, reader: Reader, names, grads: dict, before: dict | None, after: dict,
                 tables: frozenset[str] = frozenset()) -> dict[str, tuple]:
    """Per parameter: ‖g‖, mean |g|, max |g|, ‖Δw‖, ‖w‖ and the first entry, queued on `reader`
    as one part of six numbers; for an embedding table (`tables`) also the rows its gradient
    reaches."""
    out = {}
    for n in names:
        g = grads.get(n)
        if g is None:
            continue
        slot = reader.add(ops.grad_row(ops.f(g), ops.f(after[n]), ops.f(before[n]) if before is not None else None), 6)
        out[n] = (tuple(g.shape), slot, reader.add(ops.rows_hit(g)) if n in tables else None)
    return out


def grad_stats(queued: dict[str, tuple], values, with_update: bool) -> dict[str, GradStat]:
    stats = {}
    for n, (shape, slot, rows) in queued.items():
        norm, mean_abs, max_abs, dw, w, first = values[slot]
        ratio = (dw / w if w else math.inf) if with_update else math.nan
        size = int(np.prod(shape)) if shape else 1
        stats[n] = GradStat(shape, norm, mean_abs if size else 0.0, max_abs if size else 0.0, ratio,
                            first if size == 1 else None,
                            int(values[rows][0]) if rows is not None else None)
    return stats


def grad_finite(queued: dict[str, tuple], values) -> bool:
    """Every gradient norm and weight norm a number."""
    return all(math.isfinite(values[slot][0]) and math.isfinite(values[slot][4])
               for _, slot, _ in queued.values())
