"""The data-parallel run's reports (tutor/train/parallel_worker.py) as the Train part's table: per
logged step each worker's gradient norm, their average, one process's on the whole batch, and the
largest difference between the two gradients (max |Δ|), then the run's timings."""

from __future__ import annotations

from typing import Any

from tutor.fmt import number_within

WIDTH = 8  # a column: 2 workers' table fits 80 columns


def table_head(workers: int) -> str:
    cells = (
        ["step", "loss"]
        + [f"‖g‖ w{r + 1}" for r in range(workers)]
        + ["average", "1 proc", "max |Δ|", "acc |Δ|"]
    )
    return " ".join(f"{c:>{WIDTH}}" for c in cells)


def table_row(event: dict[str, Any]) -> str:
    values = [event["loss"], *event["workers"], event["average"], event["single"]]
    cells = [str(event["step"])] + [number_within(v, WIDTH) for v in values]
    cells += [f"{event['max_diff']:.1e}", f"{event['accumulation_diff']:.1e}"]
    return " ".join(f"{c:>{WIDTH}}" for c in cells)


def summary(done: dict[str, Any]) -> str:
    """The run's last line: the weights against one process's, and what a step costs."""
    return (
        f"{done['steps']} steps on {done['workers']} workers, batch {done['batch']}: the weights "
        f"equal one process's to max |Δ| {done['weights_diff']:.1e}. Per step (median): "
        f"forward+backward {done['backward_ms']:.3f} ms, all_reduce {done['allreduce_ms']:.3f} ms "
        f"(waiting for the slowest worker included); one process on the whole batch "
        f"{done['single_ms']:.3f} ms."
    )
