"""Training: the figures CURRICULUM.md asks each lesson to reproduce, read from the headless
runner's JSON lines; devices; and the Session loop itself (cancellation, failing backends,
the bounded loss history)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.cli.test_train import agree, only
from tests.support import HANG_BOUND, lesson_path, two_layer_relu_lesson, wait_for


def test_single_neuron_explain_says_why_grad_accumulates():
    """.grad adds up across backward() calls; inside one backward pass autograd already sums a
    weight's uses (L = 3w + 5w gives 8.0): the page says both, and torch agrees."""
    import torch

    from tutor.lesson import load

    page = load(lesson_path("single-neuron")).explain[2].text
    assert (
        "a weight used in two places\ncollects both" not in page
        and "collect both contributions" not in page
    )
    assert "several `backward()` calls" in page and "`w.grad` is 8.0" in page
    w = torch.tensor(1.0, requires_grad=True)
    (3 * w + 5 * w).backward()
    assert w.grad.item() == 8.0


def test_logistic_regression_page_says_why_zeros_are_fine():
    from tutor.lesson import load

    pages = load(lesson_path("logistic-regression")).explain
    assert (
        "no random start\nis needed" not in pages[3].text
        and "single minimum, so" not in pages[3].text
    )
    assert "no finite minimiser" in pages[3].text and "convex" in pages[3].text
    assert "no symmetry" in pages[3].text
    assert "It tends to 0" in pages[0].text and "It is 0 for" not in pages[0].text


def test_numpy_and_torch_draw_the_same_minibatches():
    """One batch sampler for every backend: in float64 the hand-written numpy run and the
    nn + torch.optim run have the same loss, step by step, to 1e-9."""
    import dataclasses

    from tutor.lesson import load
    from tutor.train.datasets import load as load_data
    from tutor.train.session import LogPolicy, Session
    from tutor.train.spec import resolve

    lesson = load(lesson_path("mlp-digits"))
    data = load_data(lesson.train.dataset)
    runs = {}
    for backend in ("numpy", "optim", "autograd"):
        spec = dataclasses.replace(resolve(lesson, backend, epochs=2), dtype="float64")
        rows = []
        Session(spec, data).run(
            emit=lambda s, rows=rows: rows.append(s.loss) if not s.done else None,
            policy=LogPolicy(every=1),
        )
        runs[backend] = rows
    assert len(runs["numpy"]) == 2 * -(-1257 // 64)
    agree(runs["numpy"], runs["optim"], 1e-9)
    agree(runs["numpy"], runs["autograd"], 1e-9)


def _session(lesson, backend, **changes):
    from tutor.train.datasets import load as load_data
    from tutor.train.session import Session
    from tutor.train.spec import dataset_for, resolve

    spec = resolve(lesson, backend, **changes)
    return Session(spec, load_data(dataset_for(lesson)))


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_session_stops_on_cancel_and_resumes(backend):
    """The loop checks `cancelled` every step: set, it returns mid-run (how soon is measured by
    bench/bench_cancel.py; HANG_BOUND is a bound for a hang, not a figure)."""
    session = _session(two_layer_relu_lesson(), backend, epochs=100_000)
    assert session.total == 100_000
    cancel = threading.Event()
    result = {}

    def work():
        result["snap"] = session.run(cancelled=cancel.is_set)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    assert wait_for(lambda: session.step >= 5 or not thread.is_alive()), "the run did not start"
    assert session.step >= 5 and thread.is_alive(), "the run ended before the cancel"
    cancel.set()
    thread.join(timeout=HANG_BOUND)
    assert not thread.is_alive(), "the run went on after the cancel"
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
    assert session.run() is snap  # a finished run stays finished


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


def test_session_failure_outside_the_backend_step_is_an_error_snapshot(monkeypatch):
    """Measuring a logged step can fail too (here the validation pass of the last row, which
    always measures the full-set figures): one line, the run ends."""
    from tutor.train.session import Session

    real = Session.evaluate

    def flaky(self, on="train"):
        if self.step == 4:  # measuring the weights step 5 starts from
            raise ValueError("bad\nshape")
        return real(self, on)

    monkeypatch.setattr(Session, "evaluate", flaky)
    session = _session(two_layer_relu_lesson(), "numpy", epochs=5)
    snap = session.run()
    assert snap.error.startswith("the numpy backend failed at step 5: ValueError: bad shape.")
    assert "\n" not in snap.error and session.finished


def test_session_detects_divergence():
    session = _session(two_layer_relu_lesson(), "numpy", lr=10.0)
    snap = session.run()
    assert snap.diverged and snap.step < session.total
    assert session.finished


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
    for a, b in zip(rows, rows[1:], strict=False):
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
