"""The data-parallel lesson of issue 29, headless: the batch split across worker processes
(torch.distributed, gloo on loopback), their all-reduced gradient against one process's on the
whole batch, gradient accumulation, the workers' lifetime, and --workers' bounds. Every figure the
lesson's text states is computed here independently (torch autograd in the test, or by hand)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import psutil
import pytest
import torch

from tests.support import HANG_BOUND, ROOT, events_of, headless_json, lesson_path, run_cli, wait_for
from tutor.lesson import load

DP = "data-parallel"
WORKER = "tutor.train.parallel_worker"


def explain_text() -> str:
    return "\n".join(p.text for p in load(lesson_path(DP)).explain)


def parallel(events: list[dict], phase: str) -> list[dict]:
    return events_of(events, "parallel", phase=phase)


def workers_of(pid: int) -> list[psutil.Process]:
    """The data-parallel workers among `pid`'s descendants."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if WORKER in " ".join(child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def gone(procs: list[psutil.Process]) -> bool:
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


# --- the Derive part's point: two workers of one sample each -------------------------------------


def test_the_point_figures_are_the_two_workers_gradients_and_their_average():
    x1, y1, x2, y2 = 1.0, 2.0, 2.0, 0.5
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    z1, z2 = x1 * w, x2 * w
    L1, L2 = (z1 - y1) ** 2, (z2 - y2) ** 2
    (g1,) = torch.autograd.grad(L1, w, retain_graph=True)
    (g2,) = torch.autograd.grad(L2, w, retain_graph=True)
    L = (L1 + L2) / 2
    (g,) = torch.autograd.grad(L, w)
    # one process on both samples: the mean over the batch
    w1 = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    whole = (
        (
            torch.tensor([x1, x2], dtype=torch.float64) * w1
            - torch.tensor([y1, y2], dtype=torch.float64)
        )
        ** 2
    ).mean()
    (gw,) = torch.autograd.grad(whole, w1)
    assert [float(t.detach()) for t in (z1, z2, L1, L2, L)] == [
        0.5,
        1.0,
        2.25,
        0.25,
        1.25,
    ]  # exact in binary
    assert (float(g1), float(g2), float(g), float(gw)) == (-3.0, 2.0, -0.5, -0.5)
    text = explain_text()
    for quoted in (
        "z1 = 0.5,  L1 = (0.5 − 2)² = 2.25,   ∂L1/∂w = 2·(0.5 − 2)·1 = −3",
        "z2 = 1,    L2 = (1 − 0.5)² = 0.25,   ∂L2/∂w = 2·(1 − 0.5)·2 = 2",
        "L = (2.25 + 0.25)/2 = 1.25,          ∂L/∂w = (−3 + 2)/2 = −0.5",
        "∂L/∂L1 = ∂L/∂L2 = 1/2",
    ):
        assert quoted in text
    events = headless_json(DP, "--no-train")
    [check] = events_of(events, "gradcheck", form="scalar")
    assert (
        check["param"] == "w"
        and check["symbolic"] == pytest.approx(-0.5, abs=1e-12)
        and check["ok"]
    )
    [matrix] = events_of(events, "gradcheck", form="matrix")
    assert matrix["ok"]
    fused = [e["text"] for e in events_of(events, "derive", phase="matrix", node="w")]
    assert fused and "fused" in fused[0]


# --- the identity: workers' average = one process's gradient ------------------------------------


def first_batch_gradients(workers: int):
    """Independently of the engine: the lesson's first mini-batch (numpy's RandomState(seed 0)
    permutation, the first 64), the initial weights, each shard's gradient of its mean squared
    error by torch autograd, and the whole batch's."""
    from tutor.train.datasets import load as load_data
    from tutor.train.spec import dataset_for, initial_weights, resolve

    lesson = load(lesson_path(DP))
    spec = resolve(lesson, "autograd")
    data = load_data(dataset_for(lesson))
    weights = initial_weights(spec, data.inputs, data.outputs)
    idx = np.random.RandomState(0).permutation(data.x_train.shape[0])[:64]

    def grad(rows):
        W1, b1, W2, b2 = (
            torch.tensor(weights[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2")
        )
        x, y = torch.tensor(data.x_train[rows]), torch.tensor(data.y_train[rows])
        loss = ((torch.tanh(x @ W1 + b1) @ W2 + b2 - y) ** 2).mean()
        return torch.cat(
            [g.reshape(-1) for g in torch.autograd.grad(loss, (W1, b1, W2, b2))]
        ), float(loss)

    shards = [grad(part)[0] for part in np.array_split(idx, workers)]
    whole, loss = grad(idx)
    return shards, whole, loss


@pytest.mark.parametrize("workers", [2, 4])
def test_the_averaged_gradient_equals_one_process_to_1e_12(workers):
    events = headless_json(DP, "--no-derive", "--backend", "numpy", "--workers", str(workers))
    [ready] = parallel(events, "ready")
    assert ready["workers"] == workers and ready["backend"] == "gloo"
    steps = parallel(events, "step")
    assert [s["step"] for s in steps] == [1, 8, 16, 24, 32, 40]  # log_every = 8 of 40 steps
    for s in steps:
        assert len(s["workers"]) == workers
        assert s["max_diff"] <= 1e-12 and s["accumulation_diff"] <= 1e-12, s
        assert s["average"] == pytest.approx(s["single"], rel=1e-12)
    [done] = parallel(events, "done")
    assert done["steps"] == 40 and done["workers"] == workers and done["weights_diff"] <= 1e-12
    assert done["backward_ms"] > 0 and done["allreduce_ms"] > 0 and done["single_ms"] > 0
    # step 1 against autograd in this process: each worker's own norm, the average, the whole batch
    shards, whole, loss = first_batch_gradients(workers)
    first = steps[0]
    assert first["workers"] == pytest.approx([float(s.norm()) for s in shards], rel=1e-12)
    assert first["single"] == pytest.approx(float(whole.norm()), rel=1e-12)
    assert float((sum(shards) / workers - whole).abs().max()) <= 1e-12  # the identity itself
    assert first["loss"] == pytest.approx(loss, rel=1e-12)
    # the same 40 steps as the numpy backend, which trains on the whole batch in one process
    numpy_losses = {e["step"]: e["loss"] for e in events_of(events, "train", backend="numpy")}
    for s in steps:
        assert s["loss"] == pytest.approx(numpy_losses[s["step"]], rel=1e-10)


def test_the_text_run_names_every_figure_and_no_worker_outlives_it():
    rc, out, err = run_cli(DP, "--headless", "--no-derive", "--backend", "numpy")
    assert rc == 0, err
    assert "Data-parallel: 2 workers (torch.distributed, gloo on 127.0.0.1)" in out
    assert "  2 workers joined (gloo)" in out
    step1 = next(line for line in out.splitlines() if line.startswith("  step 1/40: "))
    assert "workers' ‖g‖ " in step1 and " · average " in step1 and " · one process " in step1
    assert " · max |Δ| " in step1 and "accumulation max |Δ| " in step1
    assert "  done: 40 steps on 2 workers (batch 64); weights against one process max |Δ| " in out
    from tutor.train.parallel import live_groups

    assert live_groups() == [] and workers_of(os.getpid()) == []


# --- bounds and what --check refuses -----------------------------------------------------------


@pytest.mark.parametrize("n", ["0", "9", "-1"])
def test_workers_out_of_range_is_one_line(n):
    rc, out, err = run_cli(DP, "--headless", "--workers", n)
    assert rc == 2 and out == ""
    assert err == f"backprop-tutor: --workers must be within 1..8, found {n}\n"


def test_workers_on_a_lesson_without_a_data_parallel_run():
    rc, _, err = run_cli("linear-1d", "--headless", "--workers", "2")
    assert rc == 2
    assert (
        err == "backprop-tutor: --workers: lesson 'linear-1d' has no data-parallel run "
        "([train] workers)\n"
    )


def test_workers_only_with_headless():
    rc, _, err = run_cli(DP, "--workers", "2", process=True)
    assert rc == 2 and err == "backprop-tutor: --workers only applies with --headless\n"


def test_check_bounds_workers_and_refuses_batch_statistics(tmp_path):
    path = tmp_path / "data-parallel.toml"
    text = lesson_path(DP).read_text(encoding="utf-8")
    line = text.splitlines().index("workers = 2") + 1
    path.write_text(text.replace("workers = 2", "workers = 9"), encoding="utf-8")
    rc, out, _ = run_cli("--check", str(path))
    assert (rc, out) == (2, f"{path}:{line}: train.workers: 9 is above the limit 8\n")
    with_bn = text.replace(
        '[[train.layers]]\ntype = "tanh"',
        '[[train.layers]]\ntype = "batchnorm"\n\n[[train.layers]]\ntype = "tanh"',
    )
    path.write_text(with_bn, encoding="utf-8")
    rc, out, _ = run_cli("--check", str(path))
    assert rc == 2
    assert out == (
        f"{path}:{line}: train.workers: data-parallel workers need a loss that is a sum or mean "
        "over the samples alone, and a batchnorm layer makes it something else\n"
    )


# --- the workers' lifetime: SIGTERM, and the tutor killed outright --------------------------------


def started_run(tmp_path):
    """A headless run in a child process once its workers have joined: (process, its workers)."""
    out = open(tmp_path / "out.jsonl", "w+", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tutor",
            DP,
            "--headless",
            "--json",
            "--no-derive",
            "--workers",
            "2",
            "--epochs",
            "100000",
            "--log-every",
            "100000",
        ],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )

    def joined() -> bool:
        out.seek(0)
        return '"phase": "ready"' in out.read() or proc.poll() is not None

    assert wait_for(joined, 300), "the workers never joined"
    assert proc.poll() is None
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    return proc, workers, out


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_workers_die_with_the_tutor(tmp_path, how):
    proc, workers, out = started_run(tmp_path)
    try:
        proc.send_signal(how)
        proc.wait(timeout=HANG_BOUND)
        assert wait_for(lambda: gone(workers)), [w.pid for w in workers]
    finally:
        for w in workers:  # only if the test failed: never leave them running
            if not gone([w]):
                w.kill()
        out.close()
    if how == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM


def test_torchrun_standalone_starts_the_same_workers_as_readme_says():
    """README's "Data-parallel runs": torch's launcher (torchrun is `python -m
    torch.distributed.run`) sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and the worker
    module reads them."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            WORKER,
            str(lesson_path(DP)),
            "--epochs",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "  2 workers joined (gloo)" in lines
    steps = [line for line in lines if line.startswith("  step ")]
    assert [line.split(":")[0] for line in steps] == ["  step 1/4", "  step 4/4"]
    for line in steps:
        diff = float(line.split("· max |Δ| ")[1].split(" ")[0])
        assert diff <= 1e-12, line
    assert any(line.startswith("  done: 4 steps on 2 workers (batch 64)") for line in lines)


def test_the_tutor_process_itself_never_imports_torch_for_the_workers_run():
    """Only the workers import torch (README.md, "Data-parallel runs")."""
    code = (
        "import sys; from tutor import cli; "
        "rc = cli.main(['data-parallel', '--headless', '--no-derive', '--workers', '2', "
        "'--epochs', '1']); "
        "print(rc, 'torch' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout.splitlines()[-1] == "0 False", proc.stdout[-2000:] + proc.stderr[-2000:]
