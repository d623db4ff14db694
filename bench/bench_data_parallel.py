"""The data-parallel lesson's step time at 1, 2 and 4 workers against one process's step on the
same whole batch (issue 29), every figure from the same run.

Each run starts its workers through tutor/train/parallel.py (gloo on the loopback interface, one
torch thread each). A worker's step is its forward and backward pass on its shard, the all_reduce,
and its update; rank 0 also takes the one-process step on the whole batch from the same weights in
the same run (its forward, backward and update), which is the baseline. Both are medians over
the run's steps (the logged steps, with their extra collectives, are only the first and the last).
Two models: the lesson's own (4 → 16 → 1, batches of 64) and a wider copy of it (4 → 512 → 1,
4,096 samples in batches of 1,024), where the arithmetic weighs more against the all-reduce.

    .venv/bin/python bench/bench_data_parallel.py   # ratio = worker step / one-process step

No target: on one machine with few cores the workers share the cores the one process had to
itself, so the ratio shows what the all-reduce and the sharing cost, not a speed-up.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutor.train.parallel import run  # noqa: E402

LESSON = ROOT / "lessons" / "data-parallel.toml"
WORKERS = (1, 2, 4)
QUIET = 10**9  # --log-every: only the first and last steps report


def wider(folder: Path) -> Path:
    """The lesson with 512 hidden units, 4,096 samples, batches of 1,024, lr 0.01 (0.1 diverges)."""
    text = LESSON.read_text(encoding="utf-8")
    for old, new in (
        ("hidden = 16", "hidden = 512"),
        ("batch_size = 64", "batch_size = 1024"),
        ("n = 160", "n = 4160"),
        ("train = 128", "train = 4096"),
        ("epochs = 20", "epochs = 5"),
        ("\nlr = 0.1\n", "\nlr = 0.01\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "data-parallel.toml"
    path.write_text(text, encoding="utf-8")
    return path


def measure(path: Path, workers: int) -> dict:
    *_, done = run(str(path), workers, log_every=QUIET)
    assert done["event"] == "done" and done["weights_diff"] <= 1e-12, done
    return done


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        models = (
            ("lesson: 4→16→1, batch 64", LESSON),
            ("wider: 4→512→1, batch 1024", wider(Path(folder))),
        )
        print(
            f"{'model':<28} {'workers':>7} {'steps':>6} {'worker step':>12} {'1 process':>10} "
            f"{'ratio':>6} {'fwd+bwd':>8} {'all_reduce':>10}"
        )
        for name, path in models:
            for workers in WORKERS:
                d = measure(path, workers)
                print(
                    f"{name:<28} {workers:>7} {d['steps']:>6} {d['step_ms']:>9.3f} ms "
                    f"{d['single_ms']:>7.3f} ms {d['step_ms'] / d['single_ms']:>6.2f} "
                    f"{d['backward_ms']:>5.3f} ms {d['allreduce_ms']:>7.3f} ms"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
