"""One data-parallel worker: `python -m tutor.train.parallel_worker LESSON` with torch.distributed's
environment (RANK, WORLD_SIZE, and MASTER_ADDR, MASTER_PORT unless `--init` names a store).

Every worker builds the lesson's model from its layer table (the autograd backend, the same initial
weights), draws the same mini-batches, and takes its own slice of each: forward and backward on its
shard, then `all_reduce` sums the gradients and each divides by the number of workers, so every
worker takes the same step. Rank 0 also keeps a one-process copy of the model, trained on the whole
batch, and reports how far the averaged gradient lies from that copy's (max |Δ|), and gradient
accumulation over as many micro-batches on one process against it too.

tutor/train/parallel.py starts these workers (`--json`, one JSON object a line from rank 0);
`torchrun --standalone --nproc-per-node N -m tutor.train.parallel_worker LESSON` starts them
itself (plain text from rank 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from typing import Any

import numpy as np

RENDEZVOUS_BOUND = 120.0  # seconds for every worker to join; past it, an error, never a hang


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this worker when the process that started it ends, by any way."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent ended before the line above took effect
        os._exit(3)


def shard_scale(shard: int, batch: int, workers: int, summed: bool) -> float:
    """What a worker multiplies its shard's loss by, so that the average of the workers' gradients
    is the whole batch's gradient: a mean loss over `batch` samples is Σ (shard/batch)·(the
    shard's mean), so workers·shard/batch (1 for equal shards); a summed loss is the shards' sum."""
    return float(workers) if summed else workers * shard / batch


def flat_grad(params: dict[str, Any]) -> Any:
    import torch

    return torch.cat([p.grad.reshape(-1) for p in params.values()])


class Worker:
    def __init__(
        self, lesson_path: str, variant: str | None, epochs: int | None, rank: int, workers: int
    ):
        import torch

        from tutor.lesson import load
        from tutor.train.batches import BatchOrder
        from tutor.train.datasets import load as load_data
        from tutor.train.losses import LOSS_KINDS
        from tutor.train.registry import make_backend
        from tutor.train.spec import dataset_for, initial_weights, layer_plan, resolve

        torch.set_num_threads(1)  # one core each: the workers share the machine
        lesson = load(lesson_path)
        chosen = lesson.variant(variant) if variant else None
        self.spec = resolve(lesson, "autograd", chosen, epochs=epochs, device="cpu")
        self.data = load_data(dataset_for(lesson, chosen))
        plan = layer_plan(self.spec, self.data.inputs, self.data.outputs)
        weights = initial_weights(self.spec, self.data.inputs, self.data.outputs)
        self.model: Any = make_backend(self.spec, plan, weights)
        # its own copy: a CPU tensor made from a numpy array shares the array's memory
        copy = {k: v.copy() for k, v in weights.items()}
        self.single: Any = make_backend(self.spec, plan, copy) if rank == 0 else None
        xp = self.model.xp
        self.x = xp.array(self.data.x_train)
        self.y = (xp.labels if self.data.classes else xp.array)(self.data.y_train)
        n = self.data.x_train.shape[0]
        self.batch = self.spec.batch_size if 0 < self.spec.batch_size < n else n
        self.order = BatchOrder(n, self.batch, self.spec.seed)
        self.total = self.spec.epochs * len(self.order)
        self.every = lesson.train.log_every if lesson.train is not None else 1
        self.summed = LOSS_KINDS[self.spec.loss].nn[1].get("reduction") == "sum"
        self.rank, self.workers, self.torch = rank, workers, torch

    def _indices(self) -> np.ndarray:
        return self.order.next() if self.batch < self.x.shape[0] else np.arange(self.x.shape[0])

    def _backward(self, model: Any, idx: np.ndarray, scale: float) -> Any:
        """Forward and backward on the samples `idx`, the loss multiplied by `scale`; the loss."""
        loss = model.loss_fn(model.forward(self.x[idx], train=True), self.y[idx]) * scale
        loss.backward()
        return loss.detach()

    def _update(self, model: Any) -> None:
        with self.torch.no_grad():
            model.optimizer.begin()
            for name, p in model.params_t.items():
                model.optimizer.update(name, p, p.grad)
                p.grad = None

    def run(self, report: Any, every: int) -> None:
        import torch
        import torch.distributed as dist

        W = self.workers
        times: dict[str, list[float]] = {"backward": [], "allreduce": [], "single": [], "step": []}
        for step in range(1, self.total + 1):
            idx = self._indices()
            mine = np.array_split(idx, W)[self.rank]
            started = time.perf_counter()
            loss = self._backward(
                self.model, mine, shard_scale(len(mine), len(idx), W, self.summed)
            )
            flat = flat_grad(self.model.params_t)
            local = float(torch.linalg.vector_norm(flat))
            reduced = time.perf_counter()
            dist.all_reduce(flat)  # the sum over the workers, in place, on every worker
            flat /= W
            averaged = time.perf_counter()
            times["backward"].append(reduced - started)
            times["allreduce"].append(averaged - reduced)
            at = 0
            for p in self.model.params_t.values():  # the average back where each gradient was
                p.grad.copy_(flat[at : at + p.numel()].view_as(p))
                at += p.numel()
            logged = step == 1 or step == self.total or step % every == 0
            norms = torch.zeros(W, dtype=torch.float64)
            norms[self.rank] = local
            pair = torch.stack([loss.to(torch.float64) / W, torch.tensor(0.0, dtype=torch.float64)])
            if logged:
                dist.all_reduce(norms)  # every worker's own norm, for the report
                dist.all_reduce(pair)  # the whole batch's loss
            stepped = time.perf_counter() - started  # this worker's step so far, its update to come
            if self.single is not None:
                one = time.perf_counter()
                self._backward(self.single, idx, 1.0)
                single = time.perf_counter() - one
                if logged:
                    whole = flat_grad(self.single.params_t)
                    report(
                        {
                            "event": "step",
                            "step": step,
                            "total": self.total,
                            "loss": float(pair[0]),
                            "workers": [float(v) for v in norms],
                            "average": float(torch.linalg.vector_norm(flat)),
                            "single": float(torch.linalg.vector_norm(whole)),
                            "max_diff": float((flat - whole).abs().max()),
                            "accumulation_diff": self._accumulation(idx, whole),
                        }
                    )
                one = time.perf_counter()
                self._update(self.single)
                times["single"].append(single + time.perf_counter() - one)
            updating = time.perf_counter()
            self._update(self.model)
            times["step"].append(stepped + time.perf_counter() - updating)
        if self.single is not None:
            apart = max(
                float((p - self.single.params_t[k]).detach().abs().max())
                for k, p in self.model.params_t.items()
            )
            report(
                {
                    "event": "done",
                    "steps": self.total,
                    "workers": W,
                    "batch": self.batch,
                    "weights_diff": apart,
                    "backward_ms": 1e3 * float(np.median(times["backward"])),
                    "allreduce_ms": 1e3 * float(np.median(times["allreduce"])),
                    "single_ms": 1e3 * float(np.median(times["single"])),
                    "step_ms": 1e3 * float(np.median(times["step"])),
                }
            )

    def _accumulation(self, idx: np.ndarray, whole: Any) -> float:
        """Gradient accumulation on one process: the batch as `workers` micro-batches, each loss
        scaled by its share, backward after backward into one .grad; max |Δ| against `whole`."""
        probe = self.single
        saved = {k: p.grad.clone() for k, p in probe.params_t.items()}
        for p in probe.params_t.values():
            p.grad = None
        for part in np.array_split(idx, self.workers):
            self._backward(probe, part, shard_scale(len(part), len(idx), 1, self.summed))
        diff = float((flat_grad(probe.params_t) - whole).abs().max())
        for k, p in probe.params_t.items():
            p.grad = saved[k]
        return diff


def text_line(event: dict[str, Any]) -> str:
    """A report as one line of text (torchrun's output, and the headless run's)."""
    if event["event"] == "ready":
        return f"  {event['workers']} workers joined ({event['backend']})"
    if event["event"] == "step":
        norms = ", ".join(f"{v:.6g}" for v in event["workers"])
        e = event
        return (
            f"  step {e['step']}/{e['total']}: loss {e['loss']:.6g} · workers' ‖g‖ {norms} · "
            f"average {e['average']:.6g} · one process {e['single']:.6g} · "
            f"max |Δ| {e['max_diff']:.1e} · accumulation max |Δ| {e['accumulation_diff']:.1e}"
        )
    e = event
    return (
        f"  done: {e['steps']} steps on {e['workers']} workers (batch {e['batch']}); "
        f"weights against one process max |Δ| {e['weights_diff']:.1e}; per step: forward+backward "
        f"{e['backward_ms']:.3f} ms, all_reduce {e['allreduce_ms']:.3f} ms, one process on the "
        f"whole batch {e['single_ms']:.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tutor.train.parallel_worker")
    ap.add_argument("lesson")
    ap.add_argument("--variant")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--log-every", type=int)
    ap.add_argument(
        "--init", default="env://", help="torch.distributed's init_method (default: env://)"
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--parent", type=int)
    args = ap.parse_args(argv)
    if args.parent:
        _die_with(args.parent)
    import torch.distributed as dist

    rank, workers = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    worker = Worker(args.lesson, args.variant, args.epochs, rank, workers)

    def report(event: dict[str, Any]) -> None:
        sys.stdout.write((json.dumps(event) if args.json else text_line(event)) + "\n")
        sys.stdout.flush()

    dist.init_process_group(
        "gloo",
        init_method=args.init,
        rank=rank,
        world_size=workers,
        timeout=timedelta(seconds=RENDEZVOUS_BOUND),
    )
    try:
        if rank == 0:
            report({"event": "ready", "workers": workers, "backend": dist.get_backend()})
        worker.run(report if rank == 0 else (lambda event: None), args.log_every or worker.every)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
