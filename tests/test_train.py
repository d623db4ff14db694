"""Training: the figures CURRICULUM.md asks each lesson to reproduce, read from the headless
runner's JSON lines; devices; and the Session loop itself (cancellation, failing backends,
the bounded loss history)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from conftest import (events_of, flat, headless_json, headless_run, lesson_path, parse_json_lines, run_cli,
                      two_layer_relu_lesson)


def only(events, kind, **match):
    found = events_of(events, kind, **match)
    assert len(found) == 1, f"{len(found)} '{kind}' events matching {match}"
    return found[0]


def train_steps(events, backend):
    return {e["step"]: e for e in events_of(events, "train", backend=backend)}


def losses(events, backend):
    return [e["loss"] for e in sorted(events_of(events, "train", backend=backend), key=lambda e: e["step"])]


def agree(a, b, rel):
    assert len(a) == len(b) and a
    for i, (x, y) in enumerate(zip(a, b), 1):
        assert abs(x - y) <= rel * max(abs(x), abs(y)), f"step {i}: {x} vs {y}"


def torch_cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return torch.cuda.is_available()


# -- 1. single-neuron ------------------------------------------------------------------------

SINGLE_NEURON_BACKENDS = ["numpy", "torch-manual", "autograd", "nn", "optim"]


@pytest.mark.parametrize("backend", SINGLE_NEURON_BACKENDS)
def test_single_neuron_one_step(backend):
    events = headless_json("single-neuron", "--no-derive")
    step1 = train_steps(events, backend)[1]
    assert step1["loss"] == 1.0
    assert flat(step1["grads"]["w"]) == [-2.0]
    assert flat(step1["params"]["w"]) == [pytest.approx(1.2, abs=1e-6)]
    done = only(events, "done", backend=backend)
    assert done["steps"] == 1
    assert done["final_loss"] == pytest.approx(0.64, abs=1e-6)
    assert done["diverged"] is False and done["error"] is None


def test_single_neuron_forgetting_zero_grad_accumulates():
    events = headless_json("single-neuron", "--no-derive", "--variant", "forget-zero-grad")
    steps = train_steps(events, "autograd")
    assert flat(steps[1]["grads"]["w"]) == [-2.0]
    assert flat(steps[2]["grads"]["w"]) == [pytest.approx(-3.6, abs=1e-6)]
    assert {e["backend"] for e in events_of(events, "train")} == {"autograd"}


def test_single_neuron_zeroing_gives_the_fresh_gradient():
    events = headless_json("single-neuron", "--no-derive", "--variant", "two-steps")
    steps = train_steps(events, "autograd")
    assert flat(steps[2]["grads"]["w"]) == [pytest.approx(-1.6, abs=1e-6)]
    assert steps[2]["loss"] == pytest.approx(0.64, abs=1e-6)
    assert flat(steps[2]["params"]["w"]) == [pytest.approx(1.36, abs=1e-6)]


# -- 2. linear-1d ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "autograd", "optim"])
def test_linear_1d_first_step_and_prediction(backend):
    events = headless_json("linear-1d", "--no-derive")
    step1 = train_steps(events, backend)[1]
    assert step1["loss"] == pytest.approx(30.0, rel=1e-7)
    assert flat(step1["params"]["w"]) == [pytest.approx(0.3, abs=1e-6)]
    done = only(events, "done", backend=backend)
    assert done["steps"] == 100
    [pred] = done["predictions"]
    assert pred["x"] == 5.0
    assert round(flat(pred["y"])[0], 3) == 10.0


def test_linear_1d_backends_agree_step_by_step():
    events = headless_json("linear-1d", "--no-derive", "--log-every", "1",
                           "--backend", "numpy", "--backend", "autograd", "--backend", "optim")
    numpy_losses = losses(events, "numpy")
    assert len(numpy_losses) == 100
    agree(numpy_losses, losses(events, "autograd"), 1e-6)     # float32: equal to rounding
    agree(numpy_losses, losses(events, "optim"), 1e-6)
    w_numpy = [flat(e["params"]["w"])[0] for e in events_of(events, "train", backend="numpy")]
    w_auto = [flat(e["params"]["w"])[0] for e in events_of(events, "train", backend="autograd")]
    agree(w_numpy, w_auto, 1e-6)


def test_linear_1d_nn_has_a_bias():
    events = headless_json("linear-1d", "--no-derive")
    done = only(events, "done", backend="nn")
    assert set(done["params"]) == {"w", "b"}
    assert abs(flat(done["predictions"][0]["y"])[0] - 10.0) > 1e-3     # its path differs


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_linear_1d_seed004_variant(backend):
    events = headless_json("linear-1d", "--no-derive", "--variant", "seed004")
    assert train_steps(events, backend)[1]["loss"] == pytest.approx(24.8, rel=1e-6)
    done = only(events, "done", backend=backend)
    assert done["steps"] == 40
    assert round(flat(done["predictions"][0]["y"])[0], 2) == 9.95


# -- 3, 4. regression against scikit-learn ---------------------------------------------------


def _to5(value, figure):
    assert abs(value - figure) <= 5e-6, f"{value} is not {figure} to 5 decimals"


@pytest.mark.parametrize("backend", ["numpy", "autograd", "optim"])
def test_linear_regression_final_weights(backend):
    events = headless_json("linear-regression", "--no-derive")
    done = only(events, "done", backend=backend)
    assert done["steps"] == 1000
    _to5(flat(done["params"]["w"])[0], 1.96896)
    _to5(flat(done["params"]["b"])[0], 1.02354)
    base = only(events, "baseline")
    _to5(flat(base["coef"])[0], 1.96896)
    _to5(flat(base["intercept"])[0], 1.02354)
    _to5(flat(base["coef"])[0], flat(done["params"]["w"])[0])
    _to5(flat(base["intercept"])[0], flat(done["params"]["b"])[0])
    assert done["final_val_loss"] is not None


MULTI_W = [1.11102, 0.59754, 0.07637, 0.21518, -0.10523]


@pytest.mark.parametrize("backend", ["numpy", "autograd", "optim"])
def test_multivariate_regression_final_weights(backend):
    events = headless_json("multivariate-regression", "--no-derive")
    done = only(events, "done", backend=backend)
    w = flat(done["params"]["w"])
    assert len(w) == 5
    for got, want in zip(w, MULTI_W):
        _to5(got, want)
    _to5(flat(done["params"]["b"])[0], 0.87879)
    base = only(events, "baseline")
    for got, want in zip(flat(base["coef"]), MULTI_W):
        _to5(got, want)
    _to5(flat(base["intercept"])[0], 0.87879)


# -- 5, 8. classifiers on the digits ---------------------------------------------------------


@pytest.mark.parametrize("lesson_id", ["logistic-regression", "mlp-digits"])
def test_classifiers_report_accuracy_and_a_baseline(lesson_id):
    events = headless_json(lesson_id, "--no-derive")
    dones = events_of(events, "done")
    assert dones
    for done in dones:
        for key in ("accuracy", "val_accuracy"):
            assert 0.0 <= done[key] <= 1.0, (done["backend"], key)
        assert done["final_val_loss"] is not None
    for e in events_of(events, "train"):
        assert "accuracy" in e and "val_accuracy" in e
    base = only(events, "baseline")
    assert base["val_accuracy"] > 0.85
    assert base["name"] in ("sklearn-logistic", "sklearn-mlp")
    assert "loss_curve" not in base


def test_logistic_regression_accuracy_on_the_digits():
    events = headless_json("logistic-regression", "--no-derive")
    for done in events_of(events, "done"):
        assert done["val_accuracy"] > 0.85, done


def test_mlp_digits_accuracy():
    """Ten epochs (about 200 updates) leave the torch model near 80% on the held-out digits, as
    the lesson says; its numpy twin matches it; forty epochs pass 85%."""
    events = headless_json("mlp-digits", "--no-derive")
    by_backend = {d["backend"]: d for d in events_of(events, "done")}
    assert set(by_backend) >= {"optim", "numpy"}
    for done in by_backend.values():
        assert done["val_accuracy"] > 0.75, done
    assert abs(by_backend["optim"]["val_accuracy"] - by_backend["numpy"]["val_accuracy"]) <= 0.02
    longer = headless_json("mlp-digits", "--no-derive", "--variant", "forty-epochs", "--backend", "numpy",
                           "--log-every", "100")
    [done] = events_of(longer, "done")
    assert done["steps"] == 40 * -(-1257 // 64)
    assert done["val_accuracy"] > 0.85, done


def test_mlp_digits_trains_on_minibatches():
    events = headless_json("mlp-digits", "--no-derive")
    for done in events_of(events, "done"):
        # 10 epochs of batches of 64 over the digits' training split (70% of 1,797 images)
        assert done["steps"] == 10 * -(-1257 // 64)
        epochs = {e["epoch"] for e in events_of(events, "train", backend=done["backend"])}
        assert epochs == set(range(1, 11))


# -- 6. two-layer-relu -----------------------------------------------------------------------


def test_two_layer_relu_hand_written_backends_agree():
    events = headless_json("two-layer-relu", "--no-derive", "--log-every", "1",
                           "--backend", "numpy", "--backend", "torch-manual", "--backend", "autograd")
    ref = losses(events, "numpy")
    assert len(ref) == 50
    agree(ref, losses(events, "torch-manual"), 1e-5)
    agree(ref, losses(events, "autograd"), 1e-5)
    val = [e["val_loss"] for e in events_of(events, "train", backend="numpy")]
    agree(val, [e["val_loss"] for e in events_of(events, "train", backend="autograd")], 1e-5)


def test_two_layer_relu_loss_falls_and_validation_is_separate():
    events = headless_json("two-layer-relu", "--no-derive", "--log-every", "1", "--backend", "numpy")
    train = losses(events, "numpy")
    assert train[0] > 1000                      # "from thousands"
    assert train[0] > 10 * train[-1]
    assert train[-1] < 100
    for e in events_of(events, "train", backend="numpy"):
        assert e["val_loss"] is not None and e["val_loss"] != e["loss"]
    done = only(events, "done", backend="numpy")
    assert done["final_val_loss"] is not None
    assert done["final_val_loss"] != done["final_loss"]


def test_two_layer_relu_diverges_with_a_huge_learning_rate():
    rc, events, err = headless_run("two-layer-relu", "--no-derive", "--lr", "10", "--backend", "numpy",
                                   expect_rc=3)
    done = only(events, "done", backend="numpy")
    assert done["diverged"] is True
    assert isinstance(done["steps"], int) and 1 <= done["steps"] < 50
    assert done["final_loss"] is None                 # not NaN: JSON has none
    trains = events_of(events, "train", backend="numpy")
    assert all(e["step"] <= done["steps"] for e in trains)


# -- devices ---------------------------------------------------------------------------------


def events_of_text(out, kind):
    return [e for e in parse_json_lines(out) if e["event"] == kind]



@pytest.mark.skipif(torch_cuda(), reason="this machine has CUDA; the error path is for machines without it")
def test_device_cuda_without_cuda_is_a_clear_usage_error():
    rc, out, err = run_cli("mlp-digits", "--headless", "--json", "--no-derive", "--backend", "optim",
                           "--device", "cuda", timeout=300)
    assert rc == 2
    assert "Traceback" not in err
    assert "CUDA is not available" in err
    assert "--device cpu" in err
    assert events_of_text(out, "train") == []


def test_unknown_device_is_a_usage_error():
    rc, out, err = run_cli("single-neuron", "--headless", "--json", "--no-derive", "--backend", "autograd",
                           "--device", "banana", timeout=120)
    assert rc == 2
    assert "Traceback" not in err
    assert "banana" in err


@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda(), reason="needs a CUDA device")
def test_mlp_digits_on_cuda():
    rc, out, err = run_cli("mlp-digits", "--headless", "--json", "--no-derive", "--backend", "optim",
                           "--device", "cuda", timeout=600)
    assert rc == 0, err
    events = events_of_text(out, "done")
    [done] = events
    assert done["device"].startswith("cuda")
    assert done["val_accuracy"] > 0.85
    assert all(e["device"].startswith("cuda") for e in events_of_text(out, "train"))


# -- the Session loop ------------------------------------------------------------------------


def _session(lesson, backend, **changes):
    from tutor.data import load as load_data
    from tutor.train.session import Session
    from tutor.train.spec import dataset_for, resolve

    spec = resolve(lesson, backend, **changes)
    return Session(spec, load_data(dataset_for(lesson)))


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_session_stops_within_200ms_of_cancel(backend):
    session = _session(two_layer_relu_lesson(), backend, epochs=100_000)
    assert session.total == 100_000
    cancel = threading.Event()
    result = {}

    def work():
        result["snap"] = session.run(cancelled=cancel.is_set)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while session.step < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert session.step >= 5, "the run did not start"
    cancel.set()
    set_at = time.perf_counter()
    thread.join(timeout=5)
    stopped_after = time.perf_counter() - set_at
    assert not thread.is_alive()
    assert stopped_after < 0.2, f"stopped {stopped_after * 1000:.0f} ms after the cancel"
    assert session.step < session.total
    assert not session.finished
    snap = result["snap"]
    assert snap is not None and not snap.done and snap.step <= session.step
    # a cancelled run resumes where it stopped
    before = session.step
    session.run(until=before + 3)
    assert session.step == before + 3


def test_session_with_a_failing_backend_ends_with_an_error_snapshot(monkeypatch):
    from tutor.lesson import load
    from tutor.train import backends

    calls = {"n": 0}
    real_step = backends.ManualBackend.step

    def flaky(self, x, y, record=False):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom in the backward pass")
        return real_step(self, x, y, record)

    monkeypatch.setattr(backends.ManualBackend, "step", flaky)
    session = _session(load(lesson_path("single-neuron")), "numpy", epochs=10)
    seen = []
    snap = session.run(emit=seen.append)
    assert snap.error
    assert "boom in the backward pass" in snap.error
    assert "numpy backend failed at step 3" in snap.error
    assert snap.done and not snap.diverged
    assert snap.status == snap.error
    assert session.finished
    assert seen[-1] is snap
    assert [s.step for s in seen[:-1]] == [1, 2]
    assert session.run() is snap                     # a finished run stays finished


def test_headless_reports_a_failing_backend_with_exit_3(monkeypatch):
    import io
    import json

    from tutor import headless
    from tutor.lesson import load
    from tutor.train import backends

    def broken(self, x, y, record=False):
        raise FloatingPointError("the GPU caught fire")

    monkeypatch.setattr(backends.ManualBackend, "step", broken)
    out, err = io.StringIO(), io.StringIO()
    opts = headless.Options(backends=["numpy"], json=True, derive=False)
    rc = headless.run(load(lesson_path("single-neuron")), opts, out=out, err=err)
    assert rc == 3
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    done = only(events, "done", backend="numpy")
    assert "the GPU caught fire" in done["error"]
    assert done["diverged"] is False


def test_session_detects_divergence():
    session = _session(two_layer_relu_lesson(), "numpy", lr=10.0)
    snap = session.run()
    assert snap.diverged and snap.step < session.total
    assert session.finished


# -- History ---------------------------------------------------------------------------------


def test_history_stays_bounded_and_keeps_extremes():
    from tutor.train.snapshot import History

    history = History(capacity=512)
    n = 10**6
    lowest_at, highest_at = 777_777, 123_457
    for step in range(1, n + 1):
        loss = 1.0 + (step % 97) / 97.0
        if step == lowest_at:
            loss = -5.0
        elif step == highest_at:
            loss = 1e9
        history.add(step, loss, 2.0 if step % 2 else None)
        if step % 65_536 == 0:
            assert len(history) <= 512
    assert 0 < len(history) <= 512
    rows = history.rows
    assert rows[0][0] == 1 and rows[-1][1] == n
    assert min(r[2] for r in rows) == -5.0
    assert max(r[3] for r in rows) == 1e9
    # buckets tile the steps in order without overlap
    for a, b in zip(rows, rows[1:]):
        assert a[1] < b[0]
    steps, last, val, low = history.series()
    assert len(steps) == len(last) == len(val) == len(low) == len(history)
    assert steps[-1] == n and last[-1] == 1.0 + (n % 97) / 97.0
    assert min(low) == -5.0


def test_history_small_runs_keep_every_point():
    from tutor.train.snapshot import History

    history = History(capacity=512)
    for step in range(1, 101):
        history.add(step, float(step), None)
    steps, last, val, low = history.series()
    assert steps == list(range(1, 101))
    assert last == [float(s) for s in range(1, 101)]
    assert all(np.isnan(v) for v in val)
