"""Steps per second of the tutor's torch backends against a bare torch loop of the same maths
(issues 4 and 32), in the same process, rounds alternated and the best of each kept.

The tutor runs with the TUI's logging (`LogPolicy.screen(0.1)`): every step's loss kept for the
plot (on the device until the next row, then one copy), a full row (gradient and update norms,
validation loss, accuracies, layer health) at the screen's 10 Hz.

two-layer-relu (H = 100, float32, CPU, one torch thread as the tutor sets for small models):
  autograd  tensors with requires_grad, loss.backward(), the update by hand under no_grad
  optim     nn.Sequential (with biases, as the lesson's override says) + MSELoss(sum) + Adam
Both start from the tutor's initial weights for that backend, on the same data.

mlp-digits with the optim backend (SGD with momentum, NLL): batch 64 on the CPU; batch 64 and
4096 (4096 is more than the 1,257 training digits, so a full batch) on CUDA when there is one
(bench/bench_gpu.py does only those). The bare loops take mini-batches by indexing a random
permutation, as the tutor does (each epoch's permutation uploaded once, a batch a slice of it
where the data lives). Creating a Session holds torch and numpy's BLAS to one thread for
these small models, for the bare loops too. Each backend's cost of one row (`Session._snapshot`,
its one copy included) is printed too.

Last, headless `mlp-digits --backend optim --log-every 1` (a full JSON row per step) against the
same run with --log-every 1000000 (rows at the first and last step only): `done.steps_per_second`
of each, best of 3, interleaved, each in a fresh process.

    .venv/bin/python bench/bench_torch_trainer.py      # rates and ratios (target ≥ 0.8)
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tutor.lesson import lessons_dir  # noqa: E402
from tutor.lesson import load as load_lesson  # noqa: E402
from tutor.train.datasets import load  # noqa: E402
from tutor.train.session import LogPolicy, Session  # noqa: E402
from tutor.train.spec import initial_weights, resolve  # noqa: E402

ROUNDS = 4  # alternate bare and tutor, keep each one's best: load on the machine hits both alike
RELU_STEPS = 2_000
DIGITS_STEPS = 400  # about; rounded up to whole epochs
TARGET = 0.8


def tensor(a, device="cpu"):
    return torch.as_tensor(a, dtype=torch.float32, device=device)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


# -- bare loops ----------------------------------------------------------------------------------


def bare_autograd(x, y, w, lr, steps):
    w1 = tensor(w["w1"]).requires_grad_(True)
    w2 = tensor(w["w2"]).requires_grad_(True)
    for _ in range(steps):
        loss = (((x @ w1).clamp(min=0) @ w2 - y) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return loss.detach()


def make_mlp(w, sizes, final=None, device="cpu"):
    """nn.Sequential of Linear/ReLU with the tutor's initial weights (stored in × out)."""
    from torch import nn

    layers = []
    for n_in, n_out in sizes:
        if layers:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    if final is not None:
        layers.append(final)
    model = nn.Sequential(*layers).to(device=device, dtype=torch.float32)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, m in enumerate(linears, 1):
            m.weight.copy_(tensor(w[f"w{i}"]).T)
            m.bias.copy_(tensor(w.get(f"b{i}", torch.zeros(m.out_features))))
    return model


def bare_optim_relu(x, y, w, lr, steps):
    from torch import nn

    model = make_mlp(w, [(x.shape[1], w["w1"].shape[1]), (w["w1"].shape[1], y.shape[1])])
    crit = nn.MSELoss(reduction="sum")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
    return loss.detach()


def bare_optim_digits(x, y, w, spec, steps, batch, device):
    from torch import nn

    n = x.shape[0]
    model = make_mlp(
        w, [(x.shape[1], spec.hidden), (spec.hidden, 10)], nn.LogSoftmax(dim=1), device
    )
    crit = nn.NLLLoss()
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    gen = torch.Generator().manual_seed(spec.seed)
    full = batch >= n
    order, pos = None, n
    for _ in range(steps):
        if full:
            xb, yb = x, y
        else:
            if pos >= n:
                order, pos = torch.randperm(n, generator=gen).to(device), 0
            idx = order[pos : pos + batch]
            pos += batch
            xb, yb = x[idx], y[idx]
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
    sync(device)
    return loss.detach()


# -- the tutor -----------------------------------------------------------------------------------


def tutor_rate(spec, data, interval: float | None = 0.1) -> float:
    session = Session(spec, data)
    sync(session.device)
    t = time.perf_counter()
    session.run(policy=LogPolicy.screen(interval))
    sync(session.device)
    dt = time.perf_counter() - t
    assert session.step == session.total and not session.last.diverged and not session.last.error, (
        session.last
    )
    return session.total / dt


def snapshot_seconds(spec, data, calls: int = 10, rounds: int = 3) -> float:
    """What one logged row costs (the device-side copy of the weights, validation loss, accuracy
    counts, gradient and update norms, health, and its one copy to the host): best of `rounds`
    means of `calls`. At 10 Hz it takes 10× this of every second."""
    session = Session(spec, data)
    session.run(until=2)  # step 1 is logged: the backend has recorded its gradients
    copy, xp = session.backend.xp.copy, session.backend.xp
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            before = {n: copy(p) for n, p in session.backend.param_tensors().items()}
            measured = session._measure()
            session._pending.append(xp.array(0.0))
            session._snapshot(before, measured, time.perf_counter(), session.step)
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def best_of(pairs, rounds=ROUNDS) -> list[float]:
    """pairs: callables returning a rate; run them in turn `rounds` times, keep each one's best."""
    best = [0.0] * len(pairs)
    for _ in range(rounds):
        for i, f in enumerate(pairs):
            best[i] = max(best[i], f())
    return best


def timed(f, steps):
    def run():
        t = time.perf_counter()
        f()
        return steps / (time.perf_counter() - t)

    return run


def two_layer_relu() -> list[float]:
    lesson = load_lesson(lessons_dir() / "two-layer-relu.toml")
    data = load(lesson.train.dataset)
    ratios = []
    print(
        f"two-layer-relu, H = 100, {data.x_train.shape[0]} samples, float32, CPU, {RELU_STEPS:,} steps a run"
    )
    for backend, bare in (("autograd", bare_autograd), ("optim", bare_optim_relu)):
        spec = resolve(lesson, backend, epochs=RELU_STEPS)
        w = initial_weights(spec, data.inputs, data.outputs)
        Session(spec, data)  # sets one torch thread, as the tutor does
        x, y = tensor(data.x_train), tensor(data.y_train)
        bare_r, tutor_r = best_of(
            [
                timed(lambda: bare(x, y, w, spec.lr, RELU_STEPS), RELU_STEPS),
                lambda: tutor_rate(spec, data),
            ]
        )
        ratio = tutor_r / bare_r
        ratios.append(ratio)
        snap = snapshot_seconds(spec, data)
        print(
            f"  {backend:9s} bare {bare_r:9,.0f} steps/s   tutor {tutor_r:9,.0f} steps/s   "
            f"ratio {ratio:5.2f}  (target ≥ {TARGET}; {spec.optimizer}, lr {spec.lr:g}, threads {torch.get_num_threads()})"
        )
        print(f"  {'':9s} one snapshot {snap * 1e3:6.2f} ms ({10 * snap:.1%} of a second at 10 Hz)")
    return ratios


def mlp_digits() -> list[float]:
    lesson = load_lesson(lessons_dir() / "mlp-digits.toml")
    data = load(lesson.train.dataset)
    n = data.x_train.shape[0]
    cases = [("cpu", 64)]
    ratios = []
    if torch.cuda.is_available():
        cases += [("cuda", 64), ("cuda", 4096)]
    print(
        f"mlp-digits, optim (sgd, momentum {lesson.train.momentum:g}), hidden {lesson.train.hidden}, {n} training digits"
    )
    for device, batch in cases:
        per_epoch = math.ceil(n / batch) if batch < n else 1
        epochs = max(1, math.ceil(DIGITS_STEPS / per_epoch))
        steps = epochs * per_epoch
        spec = resolve(lesson, "optim", epochs=epochs, batch_size=batch, device=device)
        w = initial_weights(spec, data.inputs, data.outputs)
        Session(spec, data)
        x, y = (
            tensor(data.x_train, device),
            torch.as_tensor(data.y_train, dtype=torch.int64, device=device),
        )
        rates = best_of(
            [
                timed(lambda: bare_optim_digits(x, y, w, spec, steps, batch, device), steps),
                lambda: tutor_rate(spec, data),
            ]
        )
        snap = snapshot_seconds(spec, data)
        ratios.append(rates[1] / rates[0])
        line = (
            f"  {device:4s} batch {batch:5d}: bare {rates[0]:9,.0f} steps/s   tutor {rates[1]:9,.0f} steps/s   "
            f"ratio {rates[1] / rates[0]:5.2f}  (target ≥ {TARGET})"
        )
        line += f"\n  {'':4s} {'':11s} one snapshot {snap * 1e3:6.2f} ms ({10 * snap:.1%} of a second at 10 Hz)"
        print(line + f"   [{steps:,} steps a run, threads {torch.get_num_threads()}]")
    if not torch.cuda.is_available():
        print("  CUDA: not available here (skipped)")
    return ratios


def headless_rate(log_every: int) -> float:
    """`done.steps_per_second` of headless mlp-digits optim in a fresh process."""
    import json
    import subprocess

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutor",
            "mlp-digits",
            "--headless",
            "--json",
            "--no-derive",
            "--backend",
            "optim",
            "--log-every",
            str(log_every),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    done = [e for e in map(json.loads, out.splitlines()) if e["event"] == "done"]
    return done[0]["steps_per_second"]


def headless_rows(rounds: int = 3) -> float:
    every, none = best_of([lambda: headless_rate(1), lambda: headless_rate(1_000_000)], rounds)
    print(
        f"headless mlp-digits optim: --log-every 1 {every:9,.0f} steps/s   rows at the ends only "
        f"{none:9,.0f} steps/s   ratio {every / none:5.2f}  (target ≥ {TARGET}; best of {rounds}, interleaved)"
    )
    return every / none


def main() -> None:
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info())
        print(
            f"thread pools in this process: {blas}; torch {torch.__version__}, {torch.get_num_threads()} threads"
        )
    except ImportError:
        pass
    ratios = two_layer_relu() + mlp_digits()
    print(f"worst ratio {min(ratios):.2f}  (target ≥ {TARGET})")
    if "--no-headless" not in sys.argv:
        headless_rows()


if __name__ == "__main__":
    main()
