"""What a training run reports: `Snapshot`s on the steps someone looks at, and a bounded
`History` of the losses for plotting."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GradStat:
    shape: tuple[int, ...]
    norm: float  # ‖g‖₂
    mean_abs: float  # mean |g|
    max_abs: float  # max |g|
    update_ratio: float  # ‖Δw‖ / ‖w‖ of the last update (nan before the first)
    value: float | None = None  # the gradient itself, signed, when the parameter is one number
    rows: int | None = None  # an embedding table's rows its step's batch picked

    def signed(self) -> float:
        """What a reader wants to see: the signed gradient of a scalar parameter, else ‖g‖."""
        return self.norm if self.value is None else self.value

    @staticmethod
    def of(grad: np.ndarray, before: np.ndarray | None, after: np.ndarray) -> GradStat:
        g = np.asarray(grad, dtype=np.float64)
        ratio = float("nan")
        if before is not None:
            norm_w = float(np.linalg.norm(after))
            ratio = float(np.linalg.norm(after - before)) / norm_w if norm_w else float("inf")
        return GradStat(
            tuple(g.shape),
            float(np.linalg.norm(g)),
            float(np.mean(np.abs(g))) if g.size else 0.0,
            float(np.max(np.abs(g))) if g.size else 0.0,
            ratio,
            float(g.ravel()[0]) if g.size == 1 else None,
        )


# A sigmoid or tanh output this close to a bound of its range (0 and 1; −1 and 1) counts as saturated:
# its slope there is below 0.01 (σ' = s(1 − s) < 0.0099, tanh' = 1 − t² < 0.02). Defined once; the
# playground's doctor uses it too.
SATURATED_WITHIN = 0.01


@dataclass(frozen=True)
class LayerStat:
    """One layer of the model in depth order (the by-depth view): a linear layer's weight gradient
    norm ‖∂W‖ and how many of its units are distinct, a ReLU's dead fraction (units zero for every sample), a sigmoid's or tanh's saturated
    fraction (outputs within SATURATED_WITHIN of a bound). Other layers carry only their name."""

    layer: str  # the weight's name (W1, w2, ...) or relu1, sigmoid2, tanh1, ...
    type: str  # linear, relu, sigmoid, tanh, softmax, log_softmax
    grad_norm: float | None = None  # linear layers: ‖∂W‖ of the step
    dead: float | None = None  # relu: fraction of units never active
    saturated: float | None = None  # sigmoid, tanh: fraction of outputs in the flat tails
    units: int | None = None  # linear layers: output units
    distinct: int | None = (
        None  # ... of which this many have distinct incoming weights (1: all copies)
    )

    def as_json(self) -> dict[str, Any]:
        out = {"layer": self.layer, "type": self.type}
        for key in ("grad_norm", "units", "distinct", "dead", "saturated"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Snapshot:
    backend: str
    device: str
    step: int  # updates done so far
    epoch: int
    # A logged row is one parameter state, the one step `step` starts from: `loss` is that step's
    # forward pass, `grads` its gradient, `params`, `val_loss` and the accuracies those of the same
    # weights. The `done` snapshot holds the final weights (after the last step) and their loss on
    # the whole training set; its `grads` are the last logged step's.
    loss: float
    val_loss: float | None = None  # None: no validation set
    accuracy: float | None = None
    val_accuracy: float | None = None
    grads: dict[str, GradStat] = field(default_factory=dict)
    grad_values: dict[str, list[Any]] | None = None  # the gradients themselves, small models only
    params: dict[str, list[Any]] | None = None  # parameter values (see above), small models only
    dead_relu: dict[str, float] = field(
        default_factory=dict
    )  # layer → fraction of units never active
    elapsed: float = 0.0
    steps_per_second: float = 0.0
    done: bool = False
    diverged: bool = False
    error: str = ""  # what went wrong and what to do, when a run stopped early
    total_steps: int = 0
    val_pred: object = field(
        default=None, compare=False, repr=False
    )  # the model's outputs on the validation set (numpy), for the fit view
    layers: tuple[
        LayerStat, ...
    ] = ()  # the by-depth view: every layer, input to output (not on a diverged step)
    # The row whose weights `val_loss`, the accuracies, `dead_relu`, `val_pred` and the layers'
    # dead, saturated and distinct figures were measured at (cadence.py): this row's own step, or
    # an earlier row's; the final snapshot's own step (the final weights). None on a diverged step.
    eval_step: int | None = None

    @property
    def status(self) -> str:
        if self.error:
            return self.error
        if self.diverged:
            return f"diverged at step {self.step}"
        return "done" if self.done else "running"


class History:
    """Losses for the plot, in at most `capacity` buckets: when full, neighbouring buckets merge
    (each keeps its min, max and last), so memory and drawing cost stay flat for any run length."""

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self.width = 1  # steps per bucket
        self.rows: list[
            list[Any]
        ] = []  # [first_step, last_step, lo, hi, last, val_last]: 2 ints, 4 floats
        self.lock = threading.Lock()

    def add(self, step: int, loss: float, val: float | None) -> None:
        """`step`: how many updates the weights behind `loss` have had (a row of step k: k − 1).
        `val` None: not measured at this step (every step's loss comes, a validation loss only
        with a logged row), so the last one measured stands."""
        with self.lock:
            rows = self.rows
            v = (rows[-1][5] if rows else float("nan")) if val is None else val
            if rows and step - rows[-1][0] < self.width:
                r = rows[-1]
                r[1] = step
                r[2] = min(r[2], loss)
                r[3] = max(r[3], loss)
                r[4] = loss
                r[5] = v
                return
            self._append(step, loss, v)

    def add_many(self, first: int, losses: list[float]) -> None:
        """The losses of steps `first`, `first` + 1, ... (finite; no validation loss with them),
        a bucket's worth at a time: the cost of `add` per bucket, not per step."""
        with self.lock:
            i, n = 0, len(losses)
            while i < n:
                rows, step = self.rows, first + i
                if rows and step - rows[-1][0] < self.width:
                    r = rows[-1]
                    end = min(n, i + r[0] + self.width - step)
                    chunk = losses[i:end]
                    r[1], r[4] = first + end - 1, chunk[-1]
                    r[2], r[3] = min(r[2], min(chunk)), max(r[3], max(chunk))
                    i = end
                else:
                    self._append(step, losses[i], rows[-1][5] if rows else float("nan"))
                    i += 1

    def _append(self, step: int, loss: float, v: float) -> None:
        rows = self.rows
        rows.append([step, step, loss, loss, loss, v])
        if len(rows) > self.capacity:
            self.width *= 2
            merged = []
            for i in range(0, len(rows) - 1, 2):
                a, b = rows[i], rows[i + 1]
                merged.append([a[0], b[1], min(a[2], b[2]), max(a[3], b[3]), b[4], b[5]])
            if len(rows) % 2:
                merged.append(rows[-1])
            self.rows = merged

    def series(self) -> tuple[list[int], list[float], list[float], list[float]]:
        """steps, last loss, validation loss, and min loss per bucket."""
        with self.lock:
            rows = [list(r) for r in self.rows]
        return (
            [r[1] for r in rows],
            [r[4] for r in rows],
            [r[5] for r in rows],
            [r[2] for r in rows],
        )

    def __len__(self) -> int:
        return len(self.rows)
