"""A training run that can be started, paused, stepped and resumed: the loop every backend
shares. It never waits for a consumer: on the steps that are logged it builds a `Snapshot` and
hands it to `emit` (which must not block: the UI stores it in a slot and samples it at 10 Hz).
Statistics, Python floats and copies are made only on logged steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tutor.train.batches import BatchOrder
from tutor.train.cadence import eval_every, measures_at
from tutor.train.data import Data
from tutor.train.failures import explain_failure, resolved_name  # noqa: F401 - the UI imports explain_failure from here
from tutor.train.health import HEALTH_SAMPLES, by_depth, dead_relu, health_figures, read_health
from tutor.train.layers import LAYERS
from tutor.train.losses import LOSS_KINDS
from tutor.train.rows import NumpyOps, Reader, grad_figures, grad_finite, grad_stats, ops_for
from tutor.train.snapshot import GradStat, History, Snapshot
from tutor.train.spec import RunSpec, initial_weights, layer_plan, param_names

if TYPE_CHECKING:
    from tutor.train.doctor import Doctor, Observation

Counts = tuple[
    Any, Any, Any
]  # (validation loss, validation count, training count), where the tensors live

SMALL_MODEL = 10  # parameters; at most this many are shown (and logged) as values
FLUSH_AT = (
    1024  # unlogged steps whose losses wait on the device at most before one copy brings them over
)


@dataclass
class LogPolicy:
    """Log every `every`-th step, and also whenever `interval` seconds have passed. Every step's
    loss reaches the plot's history whatever the policy (a row brings the waiting ones over)."""

    every: int = 1
    interval: float | None = None

    @classmethod
    def screen(cls, interval: float) -> LogPolicy:
        """What a screen needs: a full row every `interval` seconds (its refresh), besides the
        first and the last step; the losses in between come with each row."""
        return cls(every=10**12, interval=interval)


class Session:
    def __init__(self, spec: RunSpec, data: Data, history: History | None = None) -> None:
        from tutor.train.registry import make_backend

        self.spec = spec
        self.data = data
        self.plan = layer_plan(spec, data.inputs, data.outputs)
        self.names = param_names(spec, data.inputs, data.outputs)
        self.initial = initial_weights(spec, data.inputs, data.outputs)
        self.backend = make_backend(spec, self.plan, self.initial)
        self.device = self.backend.device  # each backend owns its device (numpy's: the CPU)
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
        self.active = 0.0  # seconds spent training (pauses excluded)
        self.history = history if history is not None else History()
        self.last: Snapshot | None = None
        self.last_row: Snapshot | None = (
            None  # the last logged step (`last` may be the final state)
        )
        self.first_row: Snapshot | None = (
            None  # the first logged step (the by-depth view compares the two)
        )
        self.finished = False
        self._batches = BatchOrder(n, self.batch, spec.seed)
        self.binary = is_binary(spec, data)
        self.doctor = make_doctor(spec, data, self.binary)
        self.diagnosis: dict[str, Any] | None = None  # the doctor's verdict once the run has ended
        self.host_losses = xp.host  # a numpy loss is a host number already
        self.keep_predictions = True  # the validation outputs for the fit view, in each row's copy
        self._pending: list[
            Any
        ] = []  # losses of the steps since the last copy, where they were computed
        self._pending_from = 1  # the step of _pending[0]
        self._perm: Any = None  # the epoch's order on the device
        self._perm_of: np.ndarray | None = None  # ... of this host order
        self.use_ops(ops_for(xp))
        # the health walk's outputs are the model's in evaluation, unless a layer keeps running
        # statistics (batchnorm): the walk, from the weights alone, has only the batch's
        self._walk_counts = (
            n <= HEALTH_SAMPLES
            and (bool(data.classes) or self.binary)
            and not any(LAYERS[p.type].running for p in self.plan)
        )
        # the full-set figures' cadence (cadence.py), from the samples one measurement passes forward
        counted = n if (data.classes or self.binary) and not self._walk_counts else 0
        val = data.x_val.shape[0] if data.x_val is not None else 0
        self.eval_every = eval_every(val + min(n, HEALTH_SAMPLES) + counted, self.batch)
        # the last full-set figures: (step, validation loss, accuracy, validation accuracy, health)
        self._full: (
            tuple[int, float | None, float | None, float | None, dict[str, tuple[str, float]]]
            | None
        ) = None

    def use_ops(self, ops: NumpyOps) -> None:
        """Where a row's figures are computed (rows.py): numpy's on the CPU, torch's on a device
        (a test hands the CPU TorchOps("cpu") to run the device path there)."""
        self.ops = ops
        self._health_x = ops.f(
            self.x[:HEALTH_SAMPLES]
        )  # the samples the health walk uses, in its precision

    # -- batches ------------------------------------------------------------------------------

    def _next_batch(self) -> tuple[Any, Any]:
        """Every backend draws the same mini-batches in the same order (one `BatchOrder`), so a
        hand-written run and a torch run from the same weights can be compared step by step."""
        self.epoch = self.step // self.batches_per_epoch + 1
        if self.full_batch:
            return self.x, self.y
        idx = self._batches.next()
        if self.backend.xp.host:
            return self.x[idx], self.y[idx]
        # The data already lives on the device: each epoch's permutation goes up once and every
        # batch is a slice of it there, so a step copies nothing (as the exported script does).
        order = self._batches.order
        if self._perm_of is not order:
            self._perm, self._perm_of = self.backend.xp.labels(order), order
        start = self._batches.position - self.batch
        idx = self._perm[start : start + self.batch]
        return self.x[idx], self.y[idx]

    # -- the loop -----------------------------------------------------------------------------

    def run(
        self,
        emit: Callable[[Snapshot], None] = lambda s: None,
        cancelled: Callable[[], bool] = lambda: False,
        policy: LogPolicy | None = None,
        until: int | None = None,
    ) -> Snapshot | None:
        """Train from where the run stands to `until` steps (default: the end), or until cancelled.

        Every step's loss stays where it was computed until the next logged row (or FLUSH_AT
        steps) brings the waiting ones over in that row's one copy: then they go to the plot's
        history and are checked, so a non-finite loss ends the run as diverged whatever the log
        pace, at the step it first appeared. An unlogged step reads nothing from the device."""
        policy = policy or LogPolicy()
        if self.finished:
            return self.last
        stop = min(self.total, until if until is not None else self.total)
        started = time.perf_counter()
        start_step = self.step
        next_time = started + policy.interval if policy.interval else math.inf
        step_fn, next_batch, pending = (
            self.backend.step,
            self._next_batch,
            self._pending,
        )  # hot loop: locals
        every, interval, clock, host = (
            policy.every,
            policy.interval,
            time.perf_counter,
            self.host_losses,
        )
        copy, params = self.backend.xp.copy, self.backend.param_tensors
        snap: Snapshot | None
        with np.errstate(all="ignore"):
            while self.step < stop:
                if cancelled():
                    break
                k = self.step + 1
                logged = k % every == 0 or k == 1 or k == stop or k == self.total
                full = True  # the full-set figures too (cadence.py): a screen's rows, first, last
                if not logged and interval and clock() >= next_time:
                    logged = True
                elif logged and k != stop and k != self.total and self._full is not None:
                    full = measures_at(k, every, self.eval_every)
                # Anything that fails while computing (not the consumer's emit) ends the run with
                # a one-line error snapshot, never the program.
                try:
                    xb, yb = next_batch()
                    # A logged row describes one parameter state, the one this step starts from: its
                    # loss (this forward pass), gradient, parameters, validation loss and accuracies.
                    if logged:
                        before = {n: copy(p) for n, p in params().items()}  # on the device
                        measured = self._measure() if full else None
                    loss = step_fn(xb, yb, logged)
                    self.step = k
                    pending.append(loss)
                    if logged:
                        snap = self._snapshot(before, measured, started, start_step)
                    elif len(pending) >= FLUSH_AT or (host and not math.isfinite(loss)):
                        snap = self._flush(started, start_step)
                    else:
                        continue
                except Exception as exc:  # noqa: BLE001 - a failing backend ends the run, never the app
                    return self._fail(k, exc, started, start_step, emit)
                if snap is None:
                    continue
                if snap.diverged:
                    self.active += clock() - started
                    return self._finish(snap, emit)
                self.last = self.last_row = snap
                if self.first_row is None:
                    self.first_row = snap
                self.doctor.observe(observation(snap))
                emit(snap)
                next_time = clock() + (interval or math.inf)
            try:
                snap = self._flush(started, start_step) if pending else None
            except Exception as exc:  # noqa: BLE001
                return self._fail(self.step, exc, started, start_step, emit)
            if snap is not None:
                self.active += time.perf_counter() - started
                return self._finish(snap, emit)
        self.active += (
            time.perf_counter() - started
        )  # after the flush's copy: the device has finished
        if self.step >= self.total and not self.finished:
            try:
                with np.errstate(all="ignore"):
                    final = self._final(started, start_step)
            except Exception as exc:  # noqa: BLE001
                return self._fail(self.step, exc, time.perf_counter(), start_step, emit)
            return self._finish(final, emit)
        return self.last

    def _finish(self, snap: Snapshot, emit: Callable[[Snapshot], None]) -> Snapshot:
        self.finished = True
        self.last = snap
        if not snap.error:
            self.doctor.observe(observation(snap))
            self.diagnosis = self.doctor.diagnose(snap.diverged, snap.accuracy, snap.val_accuracy)
        if not snap.diverged and not snap.error:
            self.history.add(snap.step, snap.loss, snap.val_loss)
        emit(snap)
        return snap

    def _fail(
        self,
        k: int,
        exc: Exception,
        started: float,
        start_step: int,
        emit: Callable[[Snapshot], None],
    ) -> Snapshot:
        self.active += time.perf_counter() - started
        from tutor.log import logged

        logged(exc, f"{self.spec.backend} at step {k}")  # the traceback, for whoever fixes it
        message = explain_failure(self.spec, k, exc, self.device)
        snap = Snapshot(
            self.spec.backend,
            self.device,
            self.step,
            self.epoch,
            float("nan"),
            error=message,
            done=True,
            total_steps=self.total,
            elapsed=self.active,
        )
        return self._finish(snap, emit)

    # -- the waiting losses -------------------------------------------------------------------

    def _take_losses(self, reader: Reader) -> tuple[int, int]:
        """Queue the waiting losses on `reader`; → (their slot, the step of the first)."""
        first, pending = self._pending_from, self._pending
        slot = reader.add(self.ops.stack(pending), len(pending))
        self._pending_from = first + len(pending)
        pending.clear()  # in place: the loop holds this list
        return slot, first

    def _losses_in(self, losses: list[float], first: int, val: float | None = None) -> int | None:
        """The losses of steps first, first + 1, ... into the plot's history (x: the updates made
        before each, the last with `val`); → the first step whose loss is not finite, if any."""
        if not losses:
            return None
        self.doctor.losses_at(
            first, losses
        )  # the doctor measures stalls in steps, whatever the log pace
        if not math.isfinite(sum(losses)):  # one C loop; an overflowing sum only looks closer
            bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
            if bad is not None:
                self.history.add_many(first - 1, losses[:bad])
                return first + bad
        self.history.add_many(first - 1, losses[:-1])
        self.history.add(first + len(losses) - 2, losses[-1], val)
        return None

    def _flush(self, started: float, start_step: int) -> Snapshot | None:
        """The waiting losses in one copy; a diverged snapshot when one of them is not finite."""
        reader = Reader()
        slot, first = self._take_losses(reader)
        losses = reader.read(self.ops)[slot]
        bad = self._losses_in(losses, first)
        if bad is None:
            return None
        return self._diverged(bad, losses[bad - first], {}, started, start_step)

    def _diverged(
        self, step: int, loss: float, grads: dict[str, GradStat], started: float, start_step: int
    ) -> Snapshot:
        run_time = time.perf_counter() - started
        self.step = step  # the run ends where its loss stopped being a number
        return Snapshot(
            self.spec.backend,
            self.device,
            step,
            self.epoch,
            loss,
            grads=grads,
            elapsed=self.active + run_time,
            steps_per_second=(step - start_step) / run_time if run_time > 0 else 0.0,
            diverged=True,
            total_steps=self.total,
        )

    # -- measurements (logged steps only) -----------------------------------------------------

    def evaluate(self, on: str = "train") -> tuple[Any, Any]:
        """(loss, correct count) on the training or validation set with the current weights, both
        where the tensors live (the count None for a regression)."""
        x, y = (self.x, self.y) if on == "train" else (self.xv, self.yv)
        if x is None:
            return None, None
        pred, loss = self.backend.evaluate(x, y)
        if on == "val":  # kept for the snapshot: the TUI draws the fit from it
            self._val_pred = pred
        return loss, self._count(pred, y)

    def _count(self, pred: Any, y: Any) -> Any:
        """How many predictions are right, on the device (None for a regression)."""
        ops = self.ops
        if self.data.classes:
            return ops.count(ops.argmax(ops.f(pred)) == ops.labels(y))
        if self.binary:  # one output: a logit (bce) or a sigmoid's probability
            cut = LOSS_KINDS[
                self.spec.loss
            ].cut  # a logit's or a score's; else a sigmoid's probability
            return ops.count((ops.f(pred) > (0.5 if cut is None else cut)) == (ops.f(y) > 0.5))
        return None

    def _measure(self) -> Counts:
        """(validation loss, validation count, training count) with the current weights, on the
        device: the training set's loss is not shown in a row, so it is not computed."""
        val_loss, val_count = self.evaluate("val")
        count = None
        if (self.data.classes or self.binary) and not self._walk_counts:
            count = self._count(self.backend.predict(self.x), self.y)
        return val_loss, val_count, count

    def _figures(
        self, reader: Reader, params: dict[str, Any], counts: Counts | None
    ) -> tuple[dict[str, int], dict[str, tuple[str, int]], dict[str, int] | None]:
        """Queue what a row and the final snapshot share: accuracies' counts, health, small values,
        predictions (`counts` None: a row without its full-set figures, only the small values)."""
        slots: dict[str, int] = {}
        health: dict[str, tuple[str, int]] = {}
        if counts is not None:
            val_loss, val_count, count = counts
            slots = {
                k: reader.add(v)
                for k, v in (("val_loss", val_loss), ("val_count", val_count), ("count", count))
                if v is not None
            }
            output: list[Any] = []
            health = health_figures(
                self.ops, reader, self.plan, params, self._health_x, output=output
            )
            if count is None and self._walk_counts:
                # the health walk went through every training sample with these weights: its last
                # values are the model's scores (before a softmax), so the accuracy comes from them
                slots["count"] = reader.add(self._count(output[0], self.y))
            pred = getattr(self, "_val_pred", None) if self.keep_predictions else None
            if pred is not None:
                slots["pred"] = reader.add(pred, int(np.prod(pred.shape)))
        values = (
            {n: reader.add(p, int(np.prod(p.shape))) for n, p in params.items()}
            if self.small
            else None
        )
        return slots, health, values

    def _read_figures(
        self,
        got: list[list[float]],
        slots: dict[str, int],
        health: dict[str, tuple[str, int]],
        values: dict[str, int] | None,
        params: dict[str, Any],
    ) -> tuple[
        float | None,
        float | None,
        float | None,
        dict[str, tuple[str, float]],
        dict[str, list[Any]] | None,
    ]:
        val_loss = got[slots["val_loss"]][0] if "val_loss" in slots else None
        acc = got[slots["count"]][0] / len(self.data.y_train) if "count" in slots else None
        y_val = self.data.y_val  # present wherever a validation count was queued
        val_acc = (
            (got[slots["val_count"]][0] / len(y_val))
            if "val_count" in slots and y_val is not None
            else None
        )
        if "pred" in slots:
            self.val_pred = np.asarray(got[slots["pred"]], dtype=np.float64).reshape(
                tuple(self._val_pred.shape)
            )
        shaped = (
            {
                n: np.asarray(got[i], dtype=np.float64).reshape(tuple(params[n].shape)).tolist()
                for n, i in values.items()
            }
            if values is not None
            else None
        )
        return val_loss, acc, val_acc, read_health(health, got), shaped

    def _snapshot(
        self, before: dict[str, Any], measured: Counts | None, started: float, start_step: int
    ) -> Snapshot:
        """A logged row, brought over in one copy with the losses waiting: the state `before` the
        step (its parameters, `measured` figures, the gradient this step computed there), and the
        update it made (Δw/w)."""
        reader = Reader()
        loss_slot, first = self._take_losses(reader)
        grads = self.backend.grad_tensors()
        tables = frozenset(p.weight for p in self.plan if p.type == "embedding" and p.weight)
        queued = grad_figures(
            self.ops, reader, self.names, grads, before, self.backend.param_tensors(), tables
        )
        slots, health_q, values_q = self._figures(reader, before, measured)
        gvalues = (
            {n: reader.add(g, int(np.prod(g.shape))) for n, g in grads.items() if g is not None}
            if self.small
            else None
        )
        got = reader.read(self.ops)  # the one copy
        stats = grad_stats(queued, got, with_update=True)
        val_loss, acc, val_acc, health, params = self._read_figures(
            got, slots, health_q, values_q, before
        )
        if measured is not None:
            self._full = (self.step, val_loss, acc, val_acc, health)
        assert self._full is not None  # the first row measures
        eval_step, full_val_loss, acc, val_acc, health = self._full
        losses = got[loss_slot]
        bad = self._losses_in(losses[:-1], first)
        loss = losses[-1]
        finite = grad_finite(queued, got)
        if bad is not None or not math.isfinite(loss) or not finite:
            step = bad if bad is not None else self.step
            return self._diverged(
                step, losses[step - first], stats if step == self.step else {}, started, start_step
            )
        self.history.add(
            self.step - 1, loss, val_loss
        )  # x: updates made before it (val: None unmeasured)
        elapsed = self.active + (time.perf_counter() - started)
        run_time = time.perf_counter() - started
        return Snapshot(
            self.spec.backend,
            self.device,
            self.step,
            self.epoch,
            loss,
            full_val_loss,
            acc,
            val_acc,
            stats,
            {
                n: np.asarray(got[i]).reshape(tuple(grads[n].shape)).tolist()
                for n, i in gvalues.items()
            }
            if gvalues is not None
            else None,
            params,
            dead_relu(health),
            elapsed,
            (self.step - start_step) / run_time if run_time > 0 else 0.0,
            total_steps=self.total,
            val_pred=getattr(self, "val_pred", None),
            layers=by_depth(self.plan, stats, health),
            eval_step=eval_step,
        )

    def _final(self, started: float, start_step: int) -> Snapshot:
        """After the last step: the final weights and their loss on the whole training set (the
        figures lessons quote), in one copy. The gradient table keeps the last logged step's
        gradients. A final loss or weight that is not finite is a diverged run."""
        params = self.backend.param_tensors()
        reader = Reader()
        loss, count = self.evaluate("train")
        val_loss, val_count = self.evaluate("val")
        loss_slot = reader.add(loss)
        norms = [reader.add(self.ops.norm(p)) for p in params.values()]
        slots, health_q, values_q = self._figures(reader, params, (val_loss, val_count, count))
        got = reader.read(self.ops)
        loss = got[loss_slot][0]
        val_loss, acc, val_acc, health, values = self._read_figures(
            got, slots, health_q, values_q, params
        )
        last = self.last if self.last is not None and self.last.step == self.step else None
        if not math.isfinite(loss) or not all(math.isfinite(got[i][0]) for i in norms):
            return Snapshot(
                self.spec.backend,
                self.device,
                self.step,
                self.epoch,
                loss,
                diverged=True,
                done=True,
                total_steps=self.total,
                elapsed=self.active,
                grads=last.grads if last else {},
            )
        total = self.step - start_step
        sps = (
            total / (self.active or 1e-9)
            if start_step == 0
            else (last.steps_per_second if last else 0.0)
        )
        return Snapshot(
            self.spec.backend,
            self.device,
            self.step,
            self.epoch,
            loss,
            val_loss,
            acc,
            val_acc,
            last.grads if last else {},
            last.grad_values if last else None,
            values,
            dead_relu(health),
            self.active,
            sps,
            done=True,
            total_steps=self.total,
            val_pred=getattr(self, "val_pred", None),  # of the final weights
            eval_step=self.step,
            layers=by_depth(
                self.plan, last.grads if last else {}, health
            ),  # the last step's ‖∂W‖, the final units
        )

    def predictions(self, probe: Iterable[Any]) -> list[dict[str, Any]]:
        """The lesson's probe inputs and the model's outputs for them: [{"x": x, "y": [...]}]."""
        probe = list(probe)
        preds = self.predict(
            np.asarray([list(x) if isinstance(x, tuple) else [x] for x in probe], dtype=np.float64)
        )
        return [{"x": x, "y": row.tolist()} for x, row in zip(probe, preds, strict=True)]

    def samples(self) -> list[dict[str, Any]]:
        """A character model's names sampled from its weights as they are (tutor/train/names.py),
        seeded by the run's seed: [{"name": ..., "new": not in the corpus}]; [] for other data."""
        if self.data.name != "python-names":
            return []
        from tutor.train import names

        kept: tuple[int, list[dict[str, Any]]] | None = getattr(self, "_samples", None)
        if kept is None or kept[0] != self.step:  # drawn once per state of the weights
            drawn = names.sample(self.predict, self.data.inputs, names.SAMPLED, self.spec.seed)
            kept = self._samples = (self.step, [{"name": n, "new": names.is_new(n)} for n in drawn])
        return kept[1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        xp = self.backend.xp
        pred, _ = self.backend.evaluate(
            xp.array(np.asarray(x, dtype=np.float64)),
            xp.array(np.zeros((len(x), self.data.outputs)))
            if not self.data.classes
            else xp.labels(np.zeros(len(x), dtype=np.int64)),
        )
        return xp.to_numpy(pred)


def is_binary(spec: RunSpec, data: Data) -> bool:
    """A classifier of two classes: one output, labels 0/1, and a two-class loss (bce, max-margin) or a
    sigmoid at the end."""
    if data.classes or data.outputs != 1:
        return False
    if LOSS_KINDS[spec.loss].cut is None and spec.layers[-1].type != "sigmoid":
        return False
    return bool(np.isin(data.y_train, (0.0, 1.0)).all())


def make_doctor(spec: RunSpec, data: Data, binary: bool) -> Doctor:
    """The divergence doctor for this run (tutor/train/doctor.py)."""
    from tutor.train.doctor import Doctor

    kinds = [lyr.type for lyr in spec.layers]
    # linear layers with nothing non-linear between them: one linear map, however many there are
    linear = all(
        k == "linear" for k in kinds[: max(i for i, k in enumerate(kinds) if k == "linear")]
    )
    chance: float | None = None
    if binary:
        p = float(np.mean(data.y_train))
        chance = max(p, 1 - p)
    elif data.classes:
        chance = float(
            np.bincount(np.asarray(data.y_train, dtype=np.int64)).max() / len(data.y_train)
        )
    return Doctor(
        spec.lr,
        linear_model=linear and data.inputs > 1 and bool(data.classes or binary),
        chance=chance,
        per="parameter",
    )


def observation(snap: Snapshot) -> Observation:
    from tutor.train.doctor import Observation

    linear = [
        s for s in snap.layers if s.type == "linear"
    ]  # the hidden ones (not the last) can be copies
    return Observation(
        snap.step,
        snap.loss,
        {k: g.norm for k, g in snap.grads.items()},
        dict(snap.dead_relu),
        {s.layer: s.saturated for s in snap.layers if s.saturated is not None},
        accuracy=snap.accuracy,
        depth=tuple((s.layer, s.grad_norm) for s in snap.layers if s.grad_norm is not None),
        copies={
            s.layer: s.units
            for s in linear[:-1]
            if s.distinct == 1 and s.units is not None and s.units > 1
        },
    )
