"""Steps per second of the tutor's numpy trainer against a bare numpy loop of the same maths on
the same data, in the same process (issues 4 and 32). The tutor runs with the TUI's logging
(`LogPolicy.screen(0.1)`): every step's loss kept for the plot, a full row (norms, validation
loss, accuracies, layer health) at 10 Hz.

  two-layer-relu  H = 100, sum of squares, plain gradient descent, the whole training set a step
  mlp-digits      64 → 50 → 10 with biases, ReLU, log-softmax + NLL, SGD with momentum 0.9,
                  mini-batches of 64 from a fresh permutation each epoch
Each bare loop makes the operations the tutor's hand-written layers make (tutor/train/manual.py),
written inline: what the ratio measures is the tutor's loop and its logging.

    python bench/bench_numpy_trainer.py          # prints both rates and the ratio (target ≥ 0.8)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tutor.lesson import lessons_dir  # noqa: E402
from tutor.lesson import load as load_lesson
from tutor.train.datasets import load  # noqa: E402
from tutor.train.session import LogPolicy, Session  # noqa: E402
from tutor.train.spec import initial_weights, resolve  # noqa: E402

# Each run lasts a few tenths of a second or more, so that its rows come near the screen's pace:
# a run of a few hundredths (400 mlp-digits steps) is mostly first row, last row and final
# snapshot (each a pass over the whole training and validation sets, 15% of such a run), a row
# rate several times the screen's 10 Hz.
RELU_STEPS = 15_000
DIGITS_EPOCHS = 100  # 2,000 steps
ROUNDS = 5  # alternate the two, keep each one's best: load on the machine hits both alike
TARGET = 0.8


def bare_relu(x, y, w1, w2, lr, steps):
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


def bare_digits(x, y, w, lr, momentum, epochs, batch, seed):
    """The same operations as the tutor's hand-written layers (tutor/train/manual.py), inline: a
    log-softmax layer, then NLL on its output; backward in reverse; SGD with momentum."""
    p = {k: v.copy() for k, v in w.items()}
    buf: dict[str, np.ndarray] = {}
    rng = np.random.RandomState(seed)
    n = len(x)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            z1 = xb @ p["w1"] + p["b1"]
            mask = z1 > 0
            h1 = z1 * mask
            z2 = h1 @ p["w2"] + p["b2"]
            shifted = z2 - z2.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            s = np.exp(logp)
            rows = np.arange(len(idx))
            loss = -logp[rows, yb].mean()
            g = np.zeros_like(logp)
            g[rows, yb] = -1.0 / len(idx)
            g = g - s * g.sum(axis=1, keepdims=True)
            grads = {"w2": h1.T @ g, "b2": g.sum(0)}
            gz1 = (g @ p["w2"].T) * mask
            grads["w1"], grads["b1"] = xb.T @ gz1, gz1.sum(0)
            for k in ("w1", "b1", "w2", "b2"):
                buf[k] = grads[k].copy() if k not in buf else momentum * buf[k] + grads[k]
                p[k] -= lr * buf[k]
    return loss


def compare(name, spec, data, bare, steps) -> float:
    """Wall-clock rates, and the same ratio in CPU time (`time.process_time`: both loops run in
    this one thread, numpy's BLAS held to one thread; a busy machine's other processes move it
    far less than the wall clock)."""
    bare_rate = tutor_rate = bare_cpu = tutor_cpu = 0.0
    for _ in range(ROUNDS):
        t, c = time.perf_counter(), time.process_time()
        bare()
        bare_rate = max(bare_rate, steps / (time.perf_counter() - t))
        bare_cpu = max(bare_cpu, steps / (time.process_time() - c))
        session = Session(spec, data)
        t, c = time.perf_counter(), time.process_time()
        session.run(policy=LogPolicy.screen(0.1))
        tutor_rate = max(tutor_rate, steps / (time.perf_counter() - t))
        tutor_cpu = max(tutor_cpu, steps / (time.process_time() - c))
        assert session.step == steps and not session.last.diverged and not session.last.error
    print(
        f"{name:15s} bare {bare_rate:9,.0f} steps/s   tutor numpy {tutor_rate:9,.0f} steps/s (rows at 10 Hz)   "
        f"ratio {tutor_rate / bare_rate:5.2f}  (target ≥ {TARGET});  in CPU time {tutor_cpu / bare_cpu:5.2f}"
    )
    return tutor_rate / bare_rate


def main() -> None:
    lesson = load_lesson(lessons_dir() / "two-layer-relu.toml")
    data = load(lesson.train.dataset)
    spec = resolve(lesson, "numpy", epochs=RELU_STEPS)
    w = initial_weights(spec, data.inputs, data.outputs)
    Session(spec, data)  # the thread settings the tutor makes, for the bare loop too
    dt = np.float32
    x, y = data.x_train.astype(dt), data.y_train.astype(dt)
    ratios = [
        compare(
            "two-layer-relu",
            spec,
            data,
            lambda: bare_relu(x, y, w["w1"].astype(dt), w["w2"].astype(dt), spec.lr, RELU_STEPS),
            RELU_STEPS,
        )
    ]

    lesson = load_lesson(lessons_dir() / "mlp-digits.toml")
    data = load(lesson.train.dataset)
    spec = resolve(lesson, "numpy", epochs=DIGITS_EPOCHS)
    w = {k: v.astype(dt) for k, v in initial_weights(spec, data.inputs, data.outputs).items()}
    x = data.x_train.astype(dt)
    steps = Session(spec, data).total
    ratios.append(
        compare(
            "mlp-digits",
            spec,
            data,
            lambda: bare_digits(
                x,
                data.y_train,
                w,
                spec.lr,
                spec.momentum,
                DIGITS_EPOCHS,
                spec.batch_size,
                spec.seed,
            ),
            steps,
        )
    )
    print(f"worst ratio {min(ratios):.2f}  (target ≥ {TARGET})")


if __name__ == "__main__":
    main()
