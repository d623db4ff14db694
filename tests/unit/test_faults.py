"""Training faults: a run that diverges, a backend that raises, CUDA asked for where there is
none, CUDA running out of memory, MNIST asked for without a network. Each ends the run (never
the tutor) with a message that says what happened and what to do; headless runs exit 2 (could
not start) or 3 (diverged or failed); in the TUI the status line says it and the controls work.

Nothing here reaches the network: MNIST tests replace the fetch, and block sockets as well."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from tests.support import parse_json_lines
from tutor import headless
from tutor.lesson import load
from tutor.lesson import resolve as resolve_lesson
from tutor.train.backends import AutogradBackend, DeviceError, ManualBackend
from tutor.train.data import DataError
from tutor.train.session import Session
from tutor.train.spec import resolve as resolve_spec


def lesson(lesson_id: str):
    return load(resolve_lesson(lesson_id))


def run_headless(lesson_id: str, **options) -> tuple[int, str, str]:
    """tutor.headless.run in this process (so monkeypatches apply) → (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("derive", False)
    status = headless.run(lesson(lesson_id), headless.Options(**options), out, err)
    return status, out.getvalue(), err.getvalue()


def session(lesson_id: str = "two-layer-relu", backend: str = "numpy", **changes) -> Session:
    from tutor.train.datasets import load as load_data

    les = lesson(lesson_id)
    return Session(resolve_spec(les, backend, **changes), load_data(les.train.dataset))


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_huge_lr_diverges_headless(backend):
    status, out, err = run_headless("two-layer-relu", backends=[backend], lr=10.0)
    assert status == headless.EXIT_DIVERGED == 3
    assert "diverged at step" in out and "Lower the learning rate (--lr)" in out, out
    assert "Traceback" not in out + err


def test_huge_lr_diverges_headless_json_is_strict():
    status, out, err = run_headless("two-layer-relu", backends=["numpy", "nn"], lr=1e6, json=True)
    assert status == 3
    events = parse_json_lines(out)  # no NaN or Infinity tokens anywhere
    done = [e for e in events if e["event"] == "done"]
    assert [d["backend"] for d in done] == ["numpy", "nn"]
    for d in done:
        assert d["diverged"] is True and d["error"] is None
        assert d["final_loss"] is None, "a non-finite loss is written as null"
    assert done[0]["steps"] < 50


def test_divergence_in_the_session_stops_early_and_keeps_the_history_finite():
    s = session(lr=10.0)
    snap = s.run()
    assert snap.diverged and not snap.error
    assert s.finished and s.step < s.total
    assert not np.isfinite(snap.loss)
    steps, losses = s.history.series()[:2]
    assert all(np.isfinite(v) for v in losses), "a diverged loss is not drawn"
    assert s.run() is snap, "running a finished run changes nothing"


def failing_at(monkeypatch, cls, step: int, exc: BaseException, times: int = 1):
    """cls.step raises `exc` on its `step`-th call (counted over all instances), `times` times."""
    original = cls.step
    calls = {"n": 0, "raised": 0}

    def flaky(self, x, y, record=False):
        calls["n"] += 1
        if calls["n"] >= step and calls["raised"] < times:
            calls["raised"] += 1
            raise exc
        return original(self, x, y, record)

    monkeypatch.setattr(cls, "step", flaky)
    return calls


def test_backend_exception_becomes_an_error_snapshot(monkeypatch):
    failing_at(monkeypatch, ManualBackend, 3, RuntimeError("simulated failure"))
    s = session()
    seen = []
    snap = s.run(emit=seen.append)
    assert snap.error.startswith(
        "the numpy backend failed at step 3: RuntimeError: simulated failure"
    )
    assert "the rest of the tutor still works" in snap.error and "Try another backend" in snap.error
    assert snap.done and not snap.diverged and s.finished
    assert s.step == 2
    assert seen[-1] is snap, "the error is emitted, so the screen shows it"
    assert s.run() is snap


def test_backend_exception_headless(monkeypatch):
    failing_at(monkeypatch, ManualBackend, 5, ValueError("bad shapes"), times=1)
    status, out, err = run_headless("two-layer-relu", backends=["numpy", "autograd"])
    assert status == 3
    assert "stopped: the numpy backend failed at step 5: ValueError: bad shapes" in out, out
    assert "autograd on cpu" in out and "done: 50 steps" in out, "the next backend still runs"
    assert "Traceback" not in out + err


def test_backend_exception_headless_json(monkeypatch):
    failing_at(monkeypatch, AutogradBackend, 1, RuntimeError("boom"))
    status, out, _ = run_headless("two-layer-relu", backends=["autograd"], json=True)
    assert status == 3
    done = [e for e in parse_json_lines(out) if e["event"] == "done"]
    assert len(done) == 1
    assert done[0]["diverged"] is False
    assert done[0]["error"].startswith("the autograd backend failed at step 1: RuntimeError: boom")


def test_cuda_requested_without_cuda_headless(no_cuda):
    status, out, err = run_headless("two-layer-relu", backends=["autograd"], device="cuda")
    assert status == headless.EXIT_USAGE == 2
    assert "Device cuda was asked for, but CUDA is not available" in err
    assert (
        "Choose cpu, or auto for whatever exists (--device cpu or auto on the command line)." in err
    )
    assert "Traceback" not in out + err


def test_cuda_requested_without_cuda_headless_json(no_cuda):
    status, out, err = run_headless("mlp-digits", device="cuda", json=True)
    assert status == 2
    events = parse_json_lines(out)
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and "CUDA is not available" in errors[0]["message"]
    assert not [e for e in events if e["event"] in ("train", "done")], (
        "nothing ran before the refusal"
    )


def test_cuda_requested_without_cuda_session(no_cuda):
    with pytest.raises(DeviceError, match="CUDA is not available.*--device cpu"):
        session(backend="autograd", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_requested_with_cuda_trains():
    status, out, err = run_headless("two-layer-relu", backends=["autograd"], device="cuda")
    assert status == 0, err
    assert "autograd on cuda" in out and "done: 50 steps" in out


OOM = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)"


def test_cuda_out_of_memory_session(monkeypatch, pretend_cuda):
    failing_at(monkeypatch, AutogradBackend, 2, torch.cuda.OutOfMemoryError(OOM))
    s = session(backend="autograd", device="cuda")
    snap = s.run()
    assert snap.error and not snap.diverged
    assert snap.error.startswith("CUDA ran out of memory at step 2 (autograd)")
    assert "Lower the batch size" in snap.error and "--device cpu" in snap.error


def test_out_of_memory_as_a_plain_runtime_error(monkeypatch, pretend_cuda):
    """Older torch raises RuntimeError("CUDA out of memory...") rather than OutOfMemoryError."""
    failing_at(monkeypatch, AutogradBackend, 1, RuntimeError(OOM))
    snap = session(backend="autograd", device="cuda").run()
    assert "ran out of memory" in snap.error and "--device cpu" in snap.error


def test_cuda_out_of_memory_headless(monkeypatch, pretend_cuda):
    failing_at(monkeypatch, AutogradBackend, 1, torch.cuda.OutOfMemoryError(OOM))
    status, out, err = run_headless("mlp-digits", backends=["autograd"], device="cuda", epochs=1)
    assert status == 3
    assert "stopped: CUDA ran out of memory at step 1 (autograd)" in out, out
    assert "batch size" in out and "--device cpu" in out
    assert "Traceback" not in out + err


def test_mnist_without_network_raises_a_data_error(fetch_fails):
    from tutor.train.data import mnist

    with pytest.raises(DataError) as caught:
        mnist(0, 5000, 10000)
    message = str(caught.value)
    assert fetch_fails, "fetch_openml was asked"
    assert "MNIST could not be fetched" in message
    assert "needs a network connection" in message and "digits" in message
    assert "mnist" in message  # how to avoid it: without the 'mnist' variant


def test_mnist_really_fetched_with_sockets_blocked(monkeypatch, tmp_path, no_network):
    """No replacement for fetch_openml: scikit-learn's own download meets the blocked network,
    with an empty cache so it has to try."""
    import tutor.train.data

    monkeypatch.setattr(tutor.train.data, "cache_dir", lambda: tmp_path / "cache")
    import sklearn.datasets._openml as openml

    monkeypatch.setattr(openml.time, "sleep", lambda s: None)  # its retries wait otherwise
    with pytest.raises(DataError, match="needs a network connection"):
        tutor.train.data.mnist(0, 5000, 10000)
    assert no_network, "the download was attempted and refused"


def test_mnist_variant_headless_without_network(fetch_fails):
    status, out, err = run_headless("logistic-regression", variant="mnist")
    assert status == 2
    assert fetch_fails
    assert (
        "MNIST could not be fetched" in err
        and "needs a network connection" in err
        and "digits" in err
    )
    assert "Traceback" not in out + err
    assert "done:" not in out


def test_mnist_variant_headless_json_without_network(fetch_fails):
    status, out, err = run_headless("logistic-regression", variant="mnist", json=True)
    assert status == 2
    events = parse_json_lines(out)
    assert events[0]["event"] == "lesson" and events[0]["variant"] == "mnist"
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and "needs a network connection" in errors[0]["message"]


def test_without_the_variant_the_digits_need_no_network(no_network):
    status, out, err = run_headless("logistic-regression", backends=["numpy"], epochs=2)
    assert status == 0, err
    assert "Training on digits" in out
    assert not no_network
