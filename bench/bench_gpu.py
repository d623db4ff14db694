"""Steps per second of the tutor on a CUDA GPU (issue 32): mlp-digits with the optim backend
(SGD with momentum, NLL) at batch 64 and 4096 (more than the 1,257 training digits: a full
batch) against a bare torch loop of the same maths on the same device, rounds alternated, the
best of each kept. Every timing starts and ends with torch.cuda.synchronize().

The tutor runs twice: with the TUI's logging (every step's loss kept for the plot, a full row at
10 Hz: `LogPolicy.screen(0.1)`) and with a full row every step (headless --log-every 1).

    .venv/bin/python bench/bench_gpu.py        # on a machine with CUDA; elsewhere it says so, exit 2
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

STEPS = 2_000  # about; rounded up to whole epochs
TARGET = 0.8


def main() -> int:
    if not torch.cuda.is_available():
        why = (
            "this torch build has no CUDA support"
            if torch.version.cuda is None
            else "no CUDA GPU is visible"
        )
        print(
            f"bench_gpu: CUDA is not available here ({why}, torch {torch.__version__}); nothing to measure."
        )
        return 2
    import time

    from bench_torch_trainer import bare_optim_digits, best_of, timed

    from tutor.lesson import lessons_dir
    from tutor.lesson import load as load_lesson
    from tutor.train.datasets import load
    from tutor.train.session import LogPolicy, Session
    from tutor.train.spec import initial_weights, resolve

    lesson = load_lesson(lessons_dir() / "mlp-digits.toml")
    data = load(lesson.train.dataset)
    n = data.x_train.shape[0]
    print(
        f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}; mlp-digits, optim (sgd, momentum "
        f"{lesson.train.momentum:g}), hidden {lesson.train.hidden}, {n} training digits"
    )

    def tutor(spec, policy):
        def run():
            session = Session(spec, data)
            torch.cuda.synchronize()
            t = time.perf_counter()
            session.run(policy=policy)
            torch.cuda.synchronize()
            dt = time.perf_counter() - t
            last = session.last
            assert session.step == session.total and not last.diverged and not last.error, last
            return session.total / dt

        return run

    worst = math.inf
    for batch in (64, 4096):
        per_epoch = math.ceil(n / batch) if batch < n else 1
        epochs = max(1, math.ceil(STEPS / per_epoch))
        steps = epochs * per_epoch
        spec = resolve(lesson, "optim", epochs=epochs, batch_size=batch, device="cuda")
        w = initial_weights(spec, data.inputs, data.outputs)
        Session(spec, data)  # the thread settings the tutor makes
        x = torch.as_tensor(data.x_train, dtype=torch.float32, device="cuda")
        y = torch.as_tensor(data.y_train, dtype=torch.int64, device="cuda")
        bare, screen, rows = best_of(
            [
                timed(lambda: bare_optim_digits(x, y, w, spec, steps, batch, "cuda"), steps),
                tutor(spec, LogPolicy.screen(0.1)),
                tutor(spec, LogPolicy(every=1)),
            ]
        )
        worst = min(worst, screen / bare)
        print(
            f"  cuda batch {batch:5d}: bare {bare:9,.0f} steps/s   tutor (10 Hz rows) {screen:9,.0f} steps/s "
            f"ratio {screen / bare:5.2f} (target ≥ {TARGET})   tutor (a row every step) {rows:9,.0f} steps/s "
            f"ratio {rows / bare:5.2f}   [{steps:,} steps a run]"
        )
    print(f"worst ratio with the TUI's logging {worst:.2f}  (target ≥ {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
