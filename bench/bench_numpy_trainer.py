"""Steps per second of the tutor's numpy trainer on two-layer-relu (H = 100, snapshots at 10 Hz)
against a bare loop of the same maths on the same data, in the same process.

    python bench/bench_numpy_trainer.py          # prints both rates and the ratio (target ≥ 0.8)
"""

from __future__ import annotations

import time

import numpy as np

from tutor.train.datasets import load
from tutor.lesson import lessons_dir, load as load_lesson
from tutor.train.session import LogPolicy, Session
from tutor.train.spec import initial_weights, resolve

STEPS = 5_000
ROUNDS = 5            # alternate the two, keep each one's best: load on the machine hits both alike


def bare(x, y, w1, w2, lr, steps):
    w1, w2 = w1.copy(), w2.copy()
    for _ in range(steps):
        z1 = x @ w1
        h1 = np.maximum(z1, 0)
        pred = h1 @ w2
        d = pred - y
        loss = (d * d).sum()
        g = 2 * d
        gw2 = h1.T @ g
        gz1 = (g @ w2.T) * (z1 > 0)
        gw1 = x.T @ gz1
        w1 -= lr * gw1
        w2 -= lr * gw2
    return loss


def main() -> None:
    lesson = load_lesson(lessons_dir() / "two-layer-relu.toml")
    data = load(lesson.train.dataset)
    spec = resolve(lesson, "numpy", epochs=STEPS)
    w = initial_weights(spec, data.inputs, data.outputs)
    dt = np.float32
    x, y = data.x_train.astype(dt), data.y_train.astype(dt)
    bare_rate = tutor_rate = 0.0
    for _ in range(ROUNDS):
        t = time.perf_counter()
        bare(x, y, w["w1"].astype(dt), w["w2"].astype(dt), spec.lr, STEPS)
        bare_rate = max(bare_rate, STEPS / (time.perf_counter() - t))
        session = Session(spec, data)
        t = time.perf_counter()
        session.run(policy=LogPolicy(every=STEPS, interval=0.1))
        tutor_rate = max(tutor_rate, STEPS / (time.perf_counter() - t))
    print(f"bare loop   {bare_rate:10,.0f} steps/s")
    print(f"tutor numpy {tutor_rate:10,.0f} steps/s (snapshots at 10 Hz)")
    print(f"ratio       {tutor_rate / bare_rate:10.2f}  (target ≥ 0.8)")


if __name__ == "__main__":
    main()
