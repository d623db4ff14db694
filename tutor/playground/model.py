"""The playground's network: input features of (x1, x2), hidden layers of one activation, one
output unit; trained with the hand-written layers, losses and optimizer of tutor/train/manual.py
(the same backward rules the lessons teach), plus L1/L2 regularisation.

`Playground` holds one run: the data, the network, its initial weights (a reset replays from them;
a new seed draws others), the doctor's observations, and `boundary()`, the model's output (and
every hidden neuron's) over a grid of the input plane.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from tutor.train.doctor import Doctor, Observation
from tutor.train.layers import LAYERS, Linear
from tutor.train.manual import NumpyXP, loss_and_grad
from tutor.train.optimizers import HandOptimizer
from tutor.train.plane import Points, generate, read_csv
from tutor.train.snapshot import SATURATED_WITHIN

# One vocabulary each: the knob's values, as typed on the command line and shown on screen.
FEATURES: dict[
    str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]
] = {  # id → (label, function of x1, x2)
    "x1": ("x1", lambda a, b: a),
    "x2": ("x2", lambda a, b: b),
    "x1sq": ("x1²", lambda a, b: a * a),
    "x2sq": ("x2²", lambda a, b: b * b),
    "x1x2": ("x1·x2", lambda a, b: a * b),
    "sinx1": ("sin x1", lambda a, b: np.sin(a)),
    "sinx2": ("sin x2", lambda a, b: np.sin(b)),
}
ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "gelu",
    "silu",
    "softplus",
    "linear",
)  # layer kinds of tutor/train/layers.py, or none
LOSSES = ("cross-entropy", "squared")
REGULARISATIONS = ("none", "l1", "l2")
MAX_LAYERS = 6
MAX_NEURONS = 64  # the knob suggests 1–8; more are allowed up to this
MAX_GRID = 64
LOG_EVERY = 10  # steps between the doctor's observations


def hidden_sizes(text: str) -> tuple[int, ...]:
    """ "4, 2" → (4, 2); "0" → no hidden layer."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"hidden: expected whole numbers separated by commas, found {text!r}"
        ) from None
    return () if sizes == (0,) else sizes


@dataclass(frozen=True)
class Config:
    dataset: str = "circle"
    noise: float = 0.0
    train_ratio: float = 0.5
    data_seed: int = 0
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    features: tuple[str, ...] = ("x1", "x2")
    lr: float = 0.03
    batch_size: int = 10
    regularisation: str = "none"
    reg_rate: float = 0.0
    loss: str = "cross-entropy"
    seed: int = 0
    csv: str | None = None  # a CSV file in place of `dataset`

    def check(self) -> Config:
        """The same config, or ValueError naming the knob and what it takes."""
        if len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"hidden layers: at most {MAX_LAYERS}")
        if any(not 1 <= n <= MAX_NEURONS for n in self.hidden):
            raise ValueError(f"neurons per layer: 1..{MAX_NEURONS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: one of {', '.join(ACTIVATIONS)}")
        if not self.features or any(f not in FEATURES for f in self.features):
            raise ValueError(f"features: one or more of {', '.join(FEATURES)}")
        if not (0 < self.lr <= 100):
            raise ValueError("learning rate: above 0, at most 100")
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("batch size: 1..10000")
        if self.regularisation not in REGULARISATIONS:
            raise ValueError(f"regularisation: one of {', '.join(REGULARISATIONS)}")
        if not 0 <= self.reg_rate <= 10:
            raise ValueError("regularisation rate: 0..10")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: one of {', '.join(LOSSES)}")
        if not 0 <= self.seed <= 2**32 - 1 or not 0 <= self.data_seed <= 2**32 - 1:
            raise ValueError("seed: 0..4294967295")
        return self


def load_points(config: Config) -> Points:
    if config.csv:
        return read_csv(config.csv, config.train_ratio, config.data_seed)
    return generate(config.dataset, config.noise, config.train_ratio, config.data_seed)


def features(config: Config, x: np.ndarray) -> np.ndarray:
    a, b = x[:, 0], x[:, 1]
    return np.stack([FEATURES[f][1](a, b) for f in config.features], axis=1)


class Stage(Protocol):
    """A layer of the model as the playground drives it (tutor.train's manual layers and Identity)."""

    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def backward(self, g: np.ndarray) -> np.ndarray: ...


class Dense(Stage, Protocol):
    """A linear layer (tutor.train.layers.Linear): its weights and their last gradients."""

    W: np.ndarray
    b: np.ndarray
    dW: np.ndarray
    db: np.ndarray


class Identity:
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


def _activation(name: str, xp: NumpyXP) -> Stage:
    """A hidden layer's activation: a layer kind of tutor/train/layers.py's table, or none ("linear")."""
    return Identity() if name == "linear" else LAYERS[name].make(xp, (), False)


@dataclass
class Stats:
    """What the screen and the log show after a step."""

    step: int = 0
    epoch: int = 0
    loss: float = float("nan")  # on the training set
    test_loss: float = float("nan")
    accuracy: float | None = None
    val_accuracy: float | None = None
    confusion: list[list[int]] | None = None  # test set: [[TN, FP], [FN, TP]]
    diverged: bool = False
    grads: dict[str, float] = field(default_factory=dict)


class Playground:
    def __init__(self, config: Config, points: Points | None = None):
        self.config = config.check()
        self.points = points if points is not None else load_points(config)
        self.xp = NumpyXP("float64")
        if not self.points.classify and config.loss == "cross-entropy":
            self.config = replace(self.config, loss="squared")  # a regression target has no classes
        self.x = features(self.config, self.points.x_train)
        self.xt = features(self.config, self.points.x_test)
        self.y = self.points.y_train.reshape(-1, 1)
        self.yt = self.points.y_test.reshape(-1, 1)
        self.initial = self._draw(config.seed)
        self.reset()

    # -- weights ------------------------------------------------------------------------------

    def _draw(self, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """TF Playground's start: weights uniform in ±0.5, biases 0.1, from the seed."""
        rng = np.random.RandomState(seed)
        sizes = [len(self.config.features), *self.config.hidden, 1]
        return [
            (rng.uniform(-0.5, 0.5, size=(a, b)), np.full(b, 0.1))
            for a, b in zip(sizes, sizes[1:], strict=False)
        ]

    def reset(self) -> None:
        """Back to step 0 with the same initial weights and the same batches."""
        xp = self.xp
        self.linears: list[Dense] = [
            Linear(W.copy(), b.copy(), first=i == 0) for i, (W, b) in enumerate(self.initial)
        ]
        self.acts = [_activation(self.config.activation, xp) for _ in self.config.hidden]
        self.out_act = _activation("sigmoid" if self.points.classify else "linear", xp)
        self.opt = HandOptimizer(xp, "gd", self.config.lr)
        self.rng = np.random.RandomState(self.config.seed)
        self.order = np.empty(0, dtype=np.int64)
        self.position = 0
        self.step = 0
        self.diverged = False
        chance = None
        if self.points.classify:
            p = float(self.points.y_test.mean()) if len(self.points.y_test) else 0.5
            chance = max(p, 1 - p)
        self.doctor = Doctor(
            self.config.lr,
            linear_model=self.config.activation == "linear" or not self.config.hidden,
            chance=chance,
        )
        self.last_grads: dict[str, float] = {}
        self.names = self.layer_names()

    def retune(self, **changes: Any) -> None:
        """Knobs that keep the weights: lr, batch size, regularisation and its rate."""
        self.config = replace(self.config, **changes).check()
        self.opt.lr = self.config.lr
        self.doctor.lr = self.config.lr

    def layer_names(self) -> list[str]:
        return [f"layer {i}" for i in range(1, len(self.linears))] + ["output"]

    # -- forward / backward -------------------------------------------------------------------

    def forward(self, x: np.ndarray, keep: list[np.ndarray] | None = None) -> np.ndarray:
        h = x
        for lin, act in zip(self.linears, self.acts + [self.out_act], strict=False):
            h = act.forward(lin.forward(h))
            if keep is not None:
                keep.append(h)
        return h

    def train_step(self) -> float:
        """One mini-batch step; returns the batch loss."""
        n = len(self.y)
        size = min(self.config.batch_size, n)
        if self.position >= len(self.order):
            self.order = self.rng.permutation(n)
            self.position = 0
        idx = self.order[self.position : self.position + size]
        self.position += size
        xb, yb = self.x[idx], self.y[idx]
        h = xb
        for lin, act in zip(self.linears[:-1], self.acts, strict=False):
            h = act.forward(lin.forward(h))
        z = self.linears[-1].forward(h)
        if self.points.classify and self.config.loss == "cross-entropy":
            loss, g = loss_and_grad(self.xp, "bce", z, yb)  # on the logit: σ(z) − y
        else:
            out = self.out_act.forward(z)
            loss, g = loss_and_grad(self.xp, "mse", out, yb)
            g = self.out_act.backward(g)
        g = self.linears[-1].backward(g)
        for lin, act in zip(reversed(self.linears[:-1]), reversed(self.acts), strict=False):
            g = lin.backward(act.backward(g))
        reg, rate = self.config.regularisation, self.config.reg_rate
        self.opt.begin()
        observe = (self.step + 1) % LOG_EVERY == 0 or self.step == 0
        norms = {}
        names = self.names
        for i, lin in enumerate(self.linears):
            dW = lin.dW
            if reg == "l2" and rate:
                dW = dW + rate * lin.W
            elif reg == "l1" and rate:
                dW = dW + rate * np.sign(lin.W)
            if observe:
                norms[names[i]] = float(np.sqrt((dW * dW).sum() + (lin.db * lin.db).sum()))
            self.opt.update(f"W{i}", lin.W, dW)
            self.opt.update(f"b{i}", lin.b, lin.db)
        self.step += 1
        loss = float(loss)
        if not math.isfinite(loss):
            self.diverged = True
        if observe or self.diverged:
            self.last_grads = norms or self.last_grads
            # the loss on the whole training set: a mini-batch's is too noisy to call a stall
            self.doctor.observe(
                Observation(
                    self.step,
                    self._loss_on(self.x, self.y)[0] if not self.diverged else loss,
                    norms or dict(self.last_grads),
                    *self._unit_health(),
                )
            )
        return loss

    def _unit_health(self) -> tuple[dict[str, float], dict[str, float]]:
        """Per hidden layer: the fraction of dead ReLUs, or of saturated tanh/sigmoid units, on the
        training set."""
        dead: dict[str, float] = {}
        saturated: dict[str, float] = {}
        kind = LAYERS.get(self.config.activation)  # its statistic, from the layer table
        if kind is None or kind.health not in ("dead", "saturated") or not self.acts:
            return dead, saturated
        keep: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            self.forward(self.x, keep)
        for i, h in enumerate(keep[:-1], 1):
            if kind.health == "dead":
                dead[f"layer {i}"] = float(np.mean(~(h > 0).any(axis=0)))
            else:
                assert kind.bounds is not None  # a "saturated" statistic has its bounds
                lo, hi = kind.bounds[0] + SATURATED_WITHIN, kind.bounds[1] - SATURATED_WITHIN
                saturated[f"layer {i}"] = float(np.mean(((h < lo) | (h > hi)).mean(axis=0) > 0.9))
        return dead, saturated

    def run(self, steps: int, cancelled: Callable[[], bool] = lambda: False) -> int:
        """Up to `steps` steps, stopping early at divergence; returns the steps taken."""
        taken = 0
        with np.errstate(all="ignore"):
            while taken < steps and not self.diverged and not cancelled():
                self.train_step()
                taken += 1
        return taken

    # -- measurements -------------------------------------------------------------------------

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.forward(x)[:, 0]

    def stats(self) -> Stats:
        s = Stats(
            step=self.step,
            epoch=self.step * self.config.batch_size // max(len(self.y), 1),
            diverged=self.diverged,
            grads=dict(self.last_grads),
        )
        s.loss, p = self._loss_on(self.x, self.y)
        s.test_loss, pt = self._loss_on(self.xt, self.yt)
        if self.points.classify:
            s.accuracy = float(np.mean((p > 0.5) == (self.y > 0.5)))
            s.val_accuracy = float(np.mean((pt > 0.5) == (self.yt > 0.5)))
            s.confusion = confusion(self.yt[:, 0] > 0.5, pt[:, 0] > 0.5)
        if not math.isfinite(s.loss):
            s.diverged = True
        return s

    def _loss_on(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(the loss the run minimises, on the whole of x, y; the outputs)."""
        with np.errstate(all="ignore"):
            p = self.forward(x)
            if self.points.classify and self.config.loss == "cross-entropy":
                q = np.clip(p, 1e-12, 1 - 1e-12)
                return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))), p
            return float(np.mean((p - y) ** 2)), p

    def diagnosis(self, s: Stats | None = None) -> dict[str, Any] | None:
        s = s or self.stats()
        return self.doctor.diagnose(self.diverged or s.diverged, s.accuracy, s.val_accuracy)

    def boundary(self, n: int = 32, rows: int | None = None) -> Boundary:
        """The output (and every hidden neuron's) over an `n`-wide, `rows`-high grid of the plane."""
        n = max(2, min(MAX_GRID, n))
        rows = max(2, min(MAX_GRID, rows or n))
        (x0, x1), (y0, y1) = self.points.x_range, self.points.y_range
        gx = np.linspace(x0, x1, n)
        gy = np.linspace(y1, y0, rows)  # row 0 at the top
        xx, yy = np.meshgrid(gx, gy)
        plane = np.stack([xx.ravel(), yy.ravel()], axis=1)
        keep: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            self.forward(features(self.config, plane), keep)
        neurons = [h.T.reshape(-1, rows, n) for h in keep[:-1]]  # layer → unit → grid
        return Boundary(self.step, (x0, x1), (y0, y1), keep[-1][:, 0].reshape(rows, n), neurons)

    def equation(self, layer: int, unit: int, digits: int = 3) -> str:
        """A neuron's formula with its weights and bias filled in; `layer` 1.. (the last is the output).
        Each number has `digits` significant digits: a weight of 0.0042 is 0.0042, never 0.00."""
        lin = self.linears[layer - 1]
        inputs = (
            [FEATURES[f][0] for f in self.config.features]
            if layer == 1
            else [f"h{layer - 1}_{j + 1}" for j in range(lin.W.shape[0])]
        )
        terms = ""
        for j, name in enumerate(inputs):
            w = float(lin.W[j, unit])
            sign = "−" if w < 0 else "+"
            terms += (
                f"{'−' if w < 0 else ''}" if not terms else f" {sign} "
            ) + f"{abs(w):.{digits}g}·{name}"
        b = float(lin.b[unit])
        terms += f" {'−' if b < 0 else '+'} {abs(b):.{digits}g}"
        output = layer == len(self.linears)
        act = ("sigmoid" if self.points.classify else "") if output else self.config.activation
        name = "ŷ" if output else f"h{layer}_{unit + 1}"
        return f"{name} = {act}({terms})" if act and act != "linear" else f"{name} = {terms}"


@dataclass(frozen=True)
class Boundary:
    step: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    grid: np.ndarray  # rows × cols, row 0 at the top (largest x2)
    neurons: list[np.ndarray]  # per hidden layer: units × rows × cols

    def as_json(self, digits: int = 3) -> dict[str, Any]:
        return {
            "event": "boundary",
            "step": self.step,
            "x_range": list(self.x_range),
            "y_range": list(self.y_range),
            "grid": [
                [round(float(v), digits) if math.isfinite(v) else None for v in row]
                for row in self.grid
            ],
        }


def confusion(truth: np.ndarray, guess: np.ndarray) -> list[list[int]]:
    """[[TN, FP], [FN, TP]]."""
    return [
        [int(np.sum(~truth & ~guess)), int(np.sum(~truth & guess))],
        [int(np.sum(truth & ~guess)), int(np.sum(truth & guess))],
    ]


class Pacer:
    """Calls `work` at most `per_second` times a second: the live boundary never slows training
    by more than its own cost at that rate."""

    def __init__(self, per_second: float, work: Callable[[], object]) -> None:
        self.gap, self.work, self.next = 1.0 / per_second, work, 0.0

    def __call__(self) -> None:
        now = time.perf_counter()
        if now >= self.next:
            self.work()
            self.next = time.perf_counter() + self.gap
