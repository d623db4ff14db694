"""How soon a training run stops once it is cancelled (space, leaving the lesson, quitting): the
time from setting the cancel flag to `Session.run` returning, on two-layer-relu (100,000 epochs)
with the numpy and autograd backends, against the time of one training step measured in the same
run (the loop looks at the flag once a step, so a step is the floor).

    python bench/bench_cancel.py     # worst and median stop per backend (target ≤ 0.2 s), the step, the ratio

tests/unit/test_train.py checks that a cancelled run stops and resumes; the figure is measured here.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's tutor

from tutor.lesson import lessons_dir  # noqa: E402
from tutor.lesson import load as load_lesson
from tutor.train.datasets import load  # noqa: E402
from tutor.train.session import Session  # noqa: E402
from tutor.train.spec import dataset_for, resolve  # noqa: E402

ROUNDS = 15
TARGET = 0.2  # seconds from the cancel to the loop's return
STEPS_TIMED = 300  # steps timed for the baseline


def one_stop(lesson, data, backend: str) -> float:
    session = Session(resolve(lesson, backend, epochs=100_000), data)
    cancel = threading.Event()
    thread = threading.Thread(target=session.run, kwargs={"cancelled": cancel.is_set}, daemon=True)
    thread.start()
    while session.step < 20:  # under way, past the first steps' warm-up
        time.sleep(0.001)
    time.sleep(0.05)  # cancel at an arbitrary point of a step
    cancel.set()
    started = time.perf_counter()
    thread.join()
    return time.perf_counter() - started


def step_time(lesson, data, backend: str) -> float:
    session = Session(resolve(lesson, backend, epochs=STEPS_TIMED + 10), data)
    session.run(until=10)
    started = time.perf_counter()
    session.run(until=10 + STEPS_TIMED)
    return (time.perf_counter() - started) / STEPS_TIMED


def main() -> None:
    lesson = load_lesson(lessons_dir() / "two-layer-relu.toml")
    data = load(dataset_for(lesson))
    for backend in ("numpy", "autograd"):
        stops, steps = [], []
        for _ in range(ROUNDS):  # alternate the two: load on the machine hits both alike
            stops.append(one_stop(lesson, data, backend))
            steps.append(step_time(lesson, data, backend))
        worst, median, step = max(stops), statistics.median(stops), min(steps)
        print(
            f"{backend:9} cancel → stopped: worst {worst * 1000:7.2f} ms, median {median * 1000:7.2f} ms "
            f"(target ≤ {TARGET * 1000:.0f} ms: {'met' if worst <= TARGET else 'MISSED'}); "
            f"one step {step * 1000:.3f} ms; worst/step {worst / step:.1f}, worst/target {worst / TARGET:.3f}"
        )


if __name__ == "__main__":
    main()
