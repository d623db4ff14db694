"""A training run that can be started, paused, stepped and resumed: the loop every backend
shares. It never waits for a consumer: on the steps that are logged it builds a `Snapshot` and
hands it to `emit` (which must not block: the UI stores it in a slot and samples it at 10 Hz).
Statistics, Python floats and copies are made only on logged steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tutor.train.data import Data
from tutor.train.health import by_depth, dead_relu, layer_health
from tutor.train.snapshot import GradStat, History, Snapshot
from tutor.train.spec import RunSpec, initial_weights, layer_plan, param_names

SMALL_MODEL = 10          # parameters; at most this many are shown (and logged) as values


@dataclass
class LogPolicy:
    """Log every `every`-th step, and also whenever `interval` seconds have passed."""

    every: int = 1
    interval: float | None = None


class Session:
    def __init__(self, spec: RunSpec, data: Data, history: History | None = None):
        from tutor.train.backends import make_backend

        self.spec = spec
        self.data = data
        self.plan = layer_plan(spec, data.inputs, data.outputs)
        self.names = param_names(spec, data.inputs, data.outputs)
        self.initial = initial_weights(spec, data.inputs, data.outputs)
        self.backend = make_backend(spec, self.plan, self.initial)
        self.device = self.backend.device if spec.backend != "numpy" else "cpu"
        xp = self.backend.xp
        labels = xp.labels if data.classes else xp.array
        self.x = xp.array(data.x_train)
        self.y = labels(data.y_train)
        self.xv = xp.array(data.x_val) if data.x_val is not None else None
        self.yv = labels(data.y_val) if data.y_val is not None else None
        n = data.x_train.shape[0]
        self.batch = spec.batch_size if 0 < spec.batch_size < n else n
        self.batches_per_epoch = math.ceil(n / self.batch)
        self.full_batch = self.batch == n
        self.total = spec.epochs * self.batches_per_epoch
        self.small = sum(int(np.prod(v.shape)) for v in self.initial.values()) <= SMALL_MODEL
        self.step = 0
        self.epoch = 0
        self.active = 0.0                       # seconds spent training (pauses excluded)
        self.history = history if history is not None else History()
        self.last: Snapshot | None = None
        self.last_row: Snapshot | None = None     # the last logged step (`last` may be the final state)
        self.first_row: Snapshot | None = None    # the first logged step (the by-depth view compares the two)
        self.finished = False
        self._batches = BatchOrder(n, self.batch, spec.seed)
        self._loader = None
        self.binary = is_binary(spec, data)
        self.doctor = make_doctor(spec, data, self.binary)
        self.diagnosis: dict | None = None       # the doctor's verdict once the run has ended

    # -- batches ------------------------------------------------------------------------------

    def _next_batch(self):
        """Every backend draws the same mini-batches in the same order (one `BatchOrder`), so a
        hand-written run and a torch run from the same weights can be compared step by step."""
        self.epoch = self.step // self.batches_per_epoch + 1
        if self.full_batch:
            return self.x, self.y
        if self.spec.backend != "numpy" and self.device == "cpu":
            return self._next_loader_batch()
        idx = self._batches.next()
        if self.spec.backend != "numpy":         # on a GPU the data already lives there: index it directly
            idx = self.backend.xp.labels(idx)
        return self.x[idx], self.y[idx]

    def _next_loader_batch(self):
        """Mini-batches through a DataLoader, as a torch learner would write it."""
        from torch.utils.data import DataLoader, TensorDataset

        if self._loader is None:
            # The sampler hands the dataset a whole batch of indices as one tensor, so a batch is
            # one indexing of the tensors, not 64 items collated one by one (3× faster here).
            self._loader = DataLoader(TensorDataset(self.x, self.y), sampler=LoaderBatches(self._batches),
                                      batch_size=None)
            self._iter = iter(self._loader)
        try:
            return next(self._iter)
        except StopIteration:
            self._iter = iter(self._loader)
            return next(self._iter)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, emit: Callable[[Snapshot], None] = lambda s: None, cancelled: Callable[[], bool] = lambda: False,
            policy: LogPolicy | None = None, until: int | None = None) -> Snapshot | None:
        """Train from where the run stands to `until` steps (default: the end), or until cancelled."""
        policy = policy or LogPolicy()
        if self.finished:
            return self.last
        stop = min(self.total, until if until is not None else self.total)
        check_every = 1 if self.device == "cpu" else 16     # a finiteness check syncs a GPU
        started = time.perf_counter()
        start_step = self.step
        next_time = started + policy.interval if policy.interval else math.inf
        xp = self.backend.xp
        step_fn, next_batch, isfinite = self.backend.step, self._next_batch, xp.isfinite   # hot loop: locals
        every, interval, clock = policy.every, policy.interval, time.perf_counter
        with np.errstate(all="ignore"):
            while self.step < stop:
                if cancelled():
                    break
                k = self.step + 1
                logged = k % every == 0 or k == 1 or k == stop or k == self.total
                if not logged and interval and clock() >= next_time:
                    logged = True
                # Anything that fails while computing (not the consumer's emit) ends the run with
                # a one-line error snapshot, never the program.
                try:
                    xb, yb = next_batch()
                    # A logged row describes one parameter state, the one this step starts from: its
                    # loss (this forward pass), gradient, parameters, validation loss and accuracies.
                    before = self.backend.params() if logged else None
                    measured = self._measure() if logged else None
                    loss = step_fn(xb, yb, logged)
                    self.step = k
                    if (logged or k % check_every == 0) and not isfinite(loss):
                        self.active += clock() - started
                        snap = self._snapshot(xp.scalar(loss), before, None, started, start_step, diverged=True)
                        return self._finish(snap, emit)
                    if logged:
                        snap = self._snapshot(xp.scalar(loss), before, measured, started, start_step)
                except Exception as exc:  # noqa: BLE001 - a failing backend ends the run, never the app
                    return self._fail(k, exc, started, start_step, emit)
                if logged:
                    now = clock()
                    if not all(math.isfinite(g.norm) for g in snap.grads.values()):
                        self.active += now - started
                        return self._finish(Snapshot(**{**snap.__dict__, "diverged": True}), emit)
                    self.history.add(k - 1, snap.loss, snap.val_loss)     # x: updates made before it
                    self.last = self.last_row = snap
                    if self.first_row is None:
                        self.first_row = snap
                    self.doctor.observe(observation(snap))
                    emit(snap)
                    next_time = now + (interval or math.inf)
        self.active += time.perf_counter() - started
        if self.step >= self.total and not self.finished:
            try:
                final = self._final(started, start_step)
            except Exception as exc:  # noqa: BLE001
                return self._fail(self.step, exc, time.perf_counter(), start_step, emit)
            return self._finish(final, emit)
        return self.last

    def _finish(self, snap: Snapshot, emit) -> Snapshot:
        self.finished = True
        self.last = snap
        if not snap.error:
            self.doctor.observe(observation(snap))
            self.diagnosis = self.doctor.diagnose(snap.diverged, snap.accuracy, snap.val_accuracy)
        if not snap.diverged and not snap.error:
            self.history.add(snap.step, snap.loss, snap.val_loss)
        emit(snap)
        return snap

    def _fail(self, k, exc, started, start_step, emit) -> Snapshot:
        self.active += time.perf_counter() - started
        from tutor.log import logged

        logged(exc, f"{self.spec.backend} at step {k}")       # the traceback, for whoever fixes it
        message = explain_failure(self.spec, k, exc)
        snap = Snapshot(self.spec.backend, self.device, self.step, self.epoch, float("nan"), error=message,
                        done=True, total_steps=self.total, elapsed=self.active)
        return self._finish(snap, emit)

    # -- measurements (logged steps only) -----------------------------------------------------

    def evaluate(self, on: str = "train") -> tuple[float | None, float | None]:
        """(loss, accuracy) on the training or validation set, with the current weights."""
        x, y = (self.x, self.y) if on == "train" else (self.xv, self.yv)
        if x is None:
            return None, None
        xp = self.backend.xp
        pred, loss = self.backend.evaluate(x, y)
        if on == "val":                  # kept for the snapshot: the TUI draws the fit from it
            self.val_pred = xp.to_numpy(pred)
        acc = None
        if self.data.classes:
            acc = float(xp.to_numpy(xp.argmax(pred) == y).mean())
        elif self.binary:                      # one output: a logit (bce) or a sigmoid's probability
            cut = 0.0 if self.spec.loss == "bce" else 0.5
            acc = float(np.mean((xp.to_numpy(pred) > cut) == (xp.to_numpy(y) > 0.5)))
        return xp.scalar(loss), acc

    def _measure(self) -> tuple[float | None, float | None, float | None]:
        """(validation loss, validation accuracy, training accuracy) with the current weights."""
        val_loss, val_acc = self.evaluate("val")
        acc = self.evaluate("train")[1] if self.data.classes or self.binary else None
        return val_loss, val_acc, acc

    def _snapshot(self, loss: float, before, measured, started, start_step, diverged=False) -> Snapshot:
        """A logged row: the state `before` the step (its parameters, `measured` figures, the
        gradient this step computed there), and the update it made (Δw/w)."""
        after = self.backend.params()
        params = before if before is not None else after
        grads = self.backend.grads()
        stats = {n: GradStat.of(grads[n], before.get(n) if before else None, after[n])
                 for n in self.names if grads.get(n) is not None}
        val_loss, val_acc, acc = (None, None, None) if diverged or measured is None else measured
        health = {} if diverged else layer_health(self.plan, params, self.data.x_train)
        elapsed = self.active + (time.perf_counter() - started)
        run_time = time.perf_counter() - started
        return Snapshot(
            self.spec.backend, self.device, self.step, self.epoch, float(loss), val_loss, acc, val_acc, stats,
            {n: np.asarray(g).tolist() for n, g in grads.items() if g is not None} if self.small else None,
            {n: p.tolist() for n, p in params.items()} if self.small else None,
            dead_relu(health), elapsed, (self.step - start_step) / run_time if run_time > 0 else 0.0,
            diverged=diverged, total_steps=self.total, val_pred=None if diverged else getattr(self, "val_pred", None),
            layers=() if diverged else by_depth(self.plan, stats, health),
        )

    def _final(self, started, start_step) -> Snapshot:
        """After the last step: the final weights and their loss on the whole training set (the
        figures lessons quote). The gradient table keeps the last logged step's gradients."""
        params = self.backend.params()
        loss, acc = self.evaluate("train")
        val_loss, val_acc = self.evaluate("val")
        last = self.last if self.last is not None and self.last.step == self.step else None
        total = self.step - start_step
        health = layer_health(self.plan, params, self.data.x_train)
        sps = total / (self.active or 1e-9) if start_step == 0 else (last.steps_per_second if last else 0.0)
        return Snapshot(
            self.spec.backend, self.device, self.step, self.epoch, loss, val_loss, acc, val_acc,
            last.grads if last else {}, last.grad_values if last else None,
            {n: p.tolist() for n, p in params.items()} if self.small else None,
            dead_relu(health), self.active, sps,
            done=True, total_steps=self.total, val_pred=getattr(self, "val_pred", None),   # of the final weights
            layers=by_depth(self.plan, last.grads if last else {}, health),   # the last step's ‖∂W‖, the final units
        )

    def predictions(self, probe) -> list[dict]:
        """The lesson's probe inputs and the model's outputs for them: [{"x": x, "y": [...]}]."""
        preds = self.predict([list(x) if isinstance(x, tuple) else [x] for x in probe])
        return [{"x": x, "y": row.tolist()} for x, row in zip(probe, preds)]

    def predict(self, x: np.ndarray) -> np.ndarray:
        xp = self.backend.xp
        pred, _ = self.backend.evaluate(xp.array(np.asarray(x, dtype=np.float64)),
                                        xp.array(np.zeros((len(x), self.data.outputs))) if not self.data.classes
                                        else xp.labels(np.zeros(len(x), dtype=np.int64)))
        return xp.to_numpy(pred)


def is_binary(spec: RunSpec, data: Data) -> bool:
    """A classifier of two classes: one output, labels 0/1, and a bce loss or a sigmoid at the end."""
    if data.classes or data.outputs != 1:
        return False
    if spec.loss != "bce" and spec.layers[-1].type != "sigmoid":
        return False
    return bool(np.isin(data.y_train, (0.0, 1.0)).all())


def make_doctor(spec: RunSpec, data: Data, binary: bool):
    """The divergence doctor for this run (tutor/train/doctor.py)."""
    from tutor.train.doctor import Doctor

    kinds = [l.type for l in spec.layers]
    # linear layers with nothing non-linear between them: one linear map, however many there are
    linear = all(k == "linear" for k in kinds[:max(i for i, k in enumerate(kinds) if k == "linear")])
    chance = None
    if binary:
        p = float(np.mean(data.y_train))
        chance = max(p, 1 - p)
    elif data.classes:
        chance = float(np.bincount(np.asarray(data.y_train, dtype=np.int64)).max() / len(data.y_train))
    return Doctor(spec.lr, linear_model=linear and data.inputs > 1 and bool(data.classes or binary), chance=chance,
                  per="parameter")


def observation(snap: Snapshot):
    from tutor.train.doctor import Observation

    linear = [s for s in snap.layers if s.type == "linear"]     # the hidden ones (not the last) can be copies
    return Observation(snap.step, snap.loss, {k: g.norm for k, g in snap.grads.items()}, dict(snap.dead_relu),
                       {s.layer: s.saturated for s in snap.layers if s.saturated is not None}, accuracy=snap.accuracy,
                       depth=tuple((s.layer, s.grad_norm) for s in snap.layers if s.grad_norm is not None),
                       copies={s.layer: s.units for s in linear[:-1] if s.distinct == 1 and s.units > 1})


class BatchOrder:
    """The one mini-batch sampler: each epoch a fresh permutation of the training set from
    `numpy.random.RandomState(seed)`, cut into batches of `size` indices (the last may be short)."""

    def __init__(self, n: int, size: int, seed: int):
        self.n, self.size = n, size
        self.rng = np.random.RandomState(seed)
        self.order: np.ndarray | None = None
        self.position = n                      # start of the next batch within `order`

    def next(self) -> np.ndarray:
        if self.position >= self.n:
            self.order = self.rng.permutation(self.n)
            self.position = 0
        idx = self.order[self.position:self.position + self.size]
        self.position += self.size
        return idx

    def __len__(self) -> int:
        return math.ceil(self.n / self.size)


class LoaderBatches:
    """`BatchOrder` as a DataLoader sampler: one epoch's batches, each an index tensor."""

    def __init__(self, order: BatchOrder):
        self.order = order

    def __iter__(self):
        import torch

        return (torch.from_numpy(self.order.next()) for _ in range(len(self.order)))

    def __len__(self) -> int:
        return len(self.order)


def explain_failure(spec: RunSpec, step: int, exc: BaseException) -> str:
    name = type(exc).__name__
    if "OutOfMemory" in name or "out of memory" in str(exc).lower():
        return (f"{spec.device.upper()} ran out of memory at step {step} ({spec.backend}). Lower the batch size "
                f"or the hidden size, or run on the CPU (--device cpu).")
    what = " ".join(str(exc).split())            # one line, however the exception wrote itself
    what = what if len(what) <= 200 else what[:199] + "…"
    return (f"the {spec.backend} backend failed at step {step}: {name}: {what}. The run was stopped; the rest of "
            f"the tutor still works. Try another backend, or report this with the lesson file.")
