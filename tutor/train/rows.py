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
from typing import Any

import numpy as np

from tutor.train.copies import COPY_ULPS, PATTERN_PHASE, PATTERN_STEP, distinct_units, projection
from tutor.train.snapshot import GradStat

NEIGHBOURS = 8  # a unit on a device is compared with this many before it in projection order
KEEP_SCRATCH = 1 << 20  # parameters: up to this many, the host's row keeps its scratch vectors


class NumpyOps:
    """The row's arithmetic on numpy arrays (float64)."""

    def __init__(self) -> None:
        from tutor.train.manual import NumpyXP

        self.dtype: Any = np.float64  # torch's dtype in TorchOps
        self.xp: Any = NumpyXP("float64")  # the layers' own forward rules run on it (health)
        # grad_rows' cuts, counts and scratch vectors, by the parameters' sizes
        self._layouts: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    def f(self, a: Any) -> Any:
        return np.asarray(a, dtype=np.float64)

    def norm(self, a: Any) -> Any:
        return np.linalg.norm(self.f(a))

    def distinct(self, reader: Reader, full: Any) -> tuple[str, int]:
        """A linear layer's distinct-unit count queued on `reader`: on the host, counted exactly
        from the whole weight matrix (`full`: in × out with the bias row)."""
        return ("distinct", reader.add(distinct_units(full)))

    def grad_rows(self, gs: list[Any], ws: list[Any], befores: list[Any] | None) -> np.ndarray:
        """Per parameter, six numbers end to end: ‖g‖, mean |g|, max |g|, ‖w − before‖ (0 without
        `befores`), ‖w‖, g's first entry. On the host, every parameter at once: each figure is
        one reduction over the parameters laid end to end, cut at their starts, so a row costs a
        few numpy calls however many parameters the model has."""
        if not gs:
            return np.zeros(0)
        sizes = tuple(math.prod(g.shape) for g in gs)
        if not all(sizes):  # reduceat cannot cut an empty segment: one at a time
            return np.concatenate(
                [
                    self.grad_rows([g], [w], [b] if befores is not None else None)
                    if n
                    else np.zeros(6)
                    for g, w, b, n in zip(gs, ws, befores or gs, sizes, strict=True)
                ]
            )
        layout = self._layouts.get(sizes)
        if layout is None:
            total = sum(sizes)
            # a small model's scratch vectors are kept: a row allocating and freeing them would pay
            # page faults for memory the allocator hands back, more than the arithmetic costs
            scratch = np.empty((4, total)) if total <= KEEP_SCRATCH else None
            layout = self._layouts[sizes] = (
                np.cumsum((0, *sizes[:-1])),
                np.asarray(sizes, dtype=np.float64),
                scratch,
            )
        starts, counts, scratch = layout
        if scratch is None:
            scratch = np.empty((4, sum(sizes)))
        g, w, t, u = scratch
        out = np.zeros((len(gs), 6))
        self._flat(gs, g)
        self._flat(ws, w)
        out[:, 0] = np.sqrt(np.add.reduceat(np.multiply(g, g, out=t), starts))
        np.abs(g, out=t)
        out[:, 1] = np.add.reduceat(t, starts) / counts
        out[:, 2] = np.maximum.reduceat(t, starts)
        if befores is not None:
            np.subtract(w, self._flat(befores, u), out=t)
            out[:, 3] = np.sqrt(np.add.reduceat(np.multiply(t, t, out=t), starts))
        out[:, 4] = np.sqrt(np.add.reduceat(np.multiply(w, w, out=t), starts))
        out[:, 5] = g[starts]
        return out.ravel()

    def _flat(self, arrays: list[Any], out: np.ndarray) -> np.ndarray:
        """The arrays end to end in `out` (float64)."""
        host = self.host
        return np.concatenate([host(x).reshape(-1) for x in arrays], out=out)

    def host(self, a: Any) -> np.ndarray:
        """`a` as a numpy array, in its own dtype (no copy where it can be avoided)."""
        return np.asarray(a)

    def count(self, mask: Any) -> Any:
        return np.count_nonzero(mask)

    def rows_hit(self, g: Any) -> Any:
        """The rows of a table's gradient with an entry other than 0 (those the batch picked)."""
        return np.count_nonzero(np.any(np.asarray(g) != 0, axis=1))

    def labels(self, y: Any) -> Any:
        return y

    def argmax(self, a: Any) -> Any:
        return a.argmax(axis=1)

    def vstack(self, w: Any, b: Any) -> Any:
        return np.vstack([w, b[None]])

    def dead(self, h: Any) -> Any:
        return np.mean(~(h > 0).any(axis=0))

    def frac(self, mask: Any) -> Any:
        return np.mean(mask)

    def pattern(self, n: int) -> Any:
        return projection(n)

    def stack(self, scalars: Any) -> Any:
        return np.asarray([float(v) for v in scalars], dtype=np.float64)

    def flat(self, parts: list[Any]) -> list[float]:
        """The figures end to end; here already on the host."""
        return (
            np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts]).tolist()
            if parts
            else []
        )


class TorchOps(NumpyOps):
    """The same on torch tensors, on their device: float64 there (float32 on MPS, which has none)."""

    def __init__(self, device: str) -> None:
        import torch

        from tutor.train.manual import TorchXP

        self.torch = torch
        self.device = device
        self.dtype = torch.float32 if device == "mps" else torch.float64
        self.xp = TorchXP("float32" if device == "mps" else "float64", device)

    def f(self, a: Any) -> Any:
        return a.detach().to(self.dtype)

    def norm(self, a: Any) -> Any:
        return self.torch.linalg.vector_norm(self.f(a))

    def distinct(self, reader: Reader, full: Any) -> tuple[str, int]:
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

    def grad_rows(self, gs: list[Any], ws: list[Any], befores: list[Any] | None) -> Any:
        """NumpyOps.grad_rows' figures, computed on the device: one tensor of 6 per parameter."""
        t = self.torch
        vn = t.linalg.vector_norm
        rows = []
        for i, (g, w) in enumerate(zip(gs, ws, strict=True)):
            if not g.numel():
                rows.append(t.zeros(6, dtype=self.dtype, device=self.device))
                continue
            g, w = self.f(g), self.f(w)
            a = g.abs()
            dw = vn(w - self.f(befores[i])) if befores is not None else a.new_zeros(())
            rows.append(t.stack([vn(g), a.mean(), a.max(), dw, vn(w), g.reshape(-1)[0]]))
        return t.cat(rows) if rows else t.zeros(0, dtype=self.dtype, device=self.device)

    def count(self, mask: Any) -> Any:
        return mask.sum()

    def rows_hit(self, g: Any) -> Any:
        return (g != 0).any(dim=1).sum().to(self.dtype)

    def argmax(self, a: Any) -> Any:
        return a.argmax(dim=1)

    def vstack(self, w: Any, b: Any) -> Any:
        return self.torch.cat([w, b[None]])

    def dead(self, h: Any) -> Any:
        return self.frac(~(h > 0).any(dim=0))

    def frac(self, mask: Any) -> Any:
        return mask.to(self.dtype).mean()

    def pattern(self, n: int) -> Any:
        return self.torch.cos(
            self.torch.arange(n, device=self.device, dtype=self.dtype) * PATTERN_STEP
            + PATTERN_PHASE
        )

    def stack(self, scalars: Any) -> Any:
        if not scalars:
            return self.torch.zeros(0, dtype=self.dtype, device=self.device)
        return self.torch.stack([s.reshape(()) for s in scalars])

    def flat(self, parts: list[Any]) -> list[float]:
        """The one copy of a logged row: every figure in one tensor, moved to the host once."""
        if not parts:
            return []
        t = self.torch
        out: list[float] = t.cat(
            [
                p.reshape(-1).to(self.dtype)
                if isinstance(p, t.Tensor)
                else t.tensor([float(p)], dtype=self.dtype, device=self.device)
                for p in parts
            ]
        ).tolist()
        return out


class HostTorchOps(NumpyOps):
    """Torch tensors on the CPU: there a copy is free and numpy is quicker on the lessons' small
    arrays than torch's per-operation dispatch, so the row's figures are numpy's, on zero-copy
    views of the tensors (twice as quick a row for two-layer-relu as TorchOps on the CPU)."""

    def f(self, a: Any) -> Any:
        return np.asarray(self.host(a), dtype=np.float64)

    def host(self, a: Any) -> np.ndarray:
        if not hasattr(a, "detach"):
            return np.asarray(a)
        out: np.ndarray = a.detach().numpy() if a.requires_grad else a.numpy()
        return out

    def labels(self, y: Any) -> Any:
        return y.numpy() if hasattr(y, "numpy") else y

    def flat(self, parts: list[Any]) -> list[float]:
        out: list[float] = (
            np.concatenate([np.ravel(self.f(p)) for p in parts]).tolist() if parts else []
        )
        return out


def ops_for(xp: Any) -> NumpyOps:
    """The row's arithmetic for a backend's arrays: numpy's, or torch's on a device."""
    if xp.name != "torch":
        return NumpyOps()
    return HostTorchOps() if xp.device == "cpu" else TorchOps(xp.device)


class Reader:
    """Collects device values and how many numbers each is, then hands them back from the host list."""

    def __init__(self) -> None:
        self.parts: list[Any] = []
        self.sizes: list[int] = []

    def add(self, value: Any, size: int = 1) -> int:
        self.parts.append(value)
        self.sizes.append(size)
        return len(self.parts) - 1

    def read(self, ops: NumpyOps) -> list[list[float]]:
        values = ops.flat(self.parts)
        out, i = [], 0
        for n in self.sizes:
            out.append(values[i : i + n])
            i += n
        return out


# parameter → (its gradient's shape, slot, offset of its six, slot of its rows hit or None)
Queued = dict[str, tuple[tuple[int, ...], int, int, int | None]]


def grad_figures(
    ops: NumpyOps,
    reader: Reader,
    names: Any,
    grads: dict[str, Any],
    before: dict[str, Any] | None,
    after: dict[str, Any],
    tables: frozenset[str] = frozenset(),
) -> Queued:
    """Per parameter: ‖g‖, mean |g|, max |g|, ‖Δw‖, ‖w‖ and the first entry, queued on `reader`
    as one part of six numbers per parameter; for an embedding table (`tables`) also the rows its
    gradient reaches; → name: (shape, slot, offset of its six, slot of its rows)."""
    have = [n for n in names if grads.get(n) is not None]
    rows = ops.grad_rows(
        [grads[n] for n in have],
        [after[n] for n in have],
        [before[n] for n in have] if before is not None else None,
    )
    slot = reader.add(rows, 6 * len(have))
    return {
        n: (
            tuple(grads[n].shape),
            slot,
            6 * i,
            reader.add(ops.rows_hit(grads[n])) if n in tables else None,
        )
        for i, n in enumerate(have)
    }


def grad_stats(queued: Queued, values: list[list[float]], with_update: bool) -> dict[str, GradStat]:
    stats = {}
    for n, (shape, slot, at, rows) in queued.items():
        norm, mean_abs, max_abs, dw, w, first = values[slot][at : at + 6]
        ratio = (dw / w if w else math.inf) if with_update else math.nan
        size = math.prod(shape)
        stats[n] = GradStat(
            shape,
            norm,
            mean_abs if size else 0.0,
            max_abs if size else 0.0,
            ratio,
            first if size == 1 else None,
            int(values[rows][0]) if rows is not None else None,
        )
    return stats


def grad_finite(queued: Queued, values: list[list[float]]) -> bool:
    """Every gradient norm and weight norm a number."""
    return all(
        math.isfinite(values[slot][at]) and math.isfinite(values[slot][at + 4])
        for _, slot, at, _ in queued.values()
    )
