"""Training at the hardware's pace (issue 32): what a step reads back from the device, counted on
every torch backend (the path a GPU takes, exercised on the CPU: the same code, batches sliced
from each epoch's permutation where the data lives); the device choices (MPS and float64, auto,
out of memory) simulated."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import examples, lesson_path
from tutor.lesson import load
from tutor.train.datasets import load as load_data
from tutor.train.session import LogPolicy, Session
from tutor.train.spec import resolve

TORCH_BACKENDS = ("torch-manual", "autograd", "nn", "optim")
# Every call that makes the host wait for the device: reading a number or copying to the host.
READS = ("item", "cpu", "numpy", "tolist", "__float__", "__int__", "__bool__", "__index__")


def is_host_copy(args, kwargs) -> bool:
    """Whether `Tensor.to(*args, **kwargs)` is a blocking copy to the host."""
    if kwargs.get("non_blocking") or (
        len(args) > 1 and args[1] is True and not isinstance(args[0], torch.dtype)
    ):
        return False
    targets = [a for a in args if isinstance(a, (str, torch.device))] + [kwargs.get("device")]
    return any(t is not None and torch.device(t).type == "cpu" for t in targets)


@pytest.fixture
def reads(monkeypatch):
    """A timeline: ("batch", k) when step k fetches its batch, ("read", name) at every device read."""
    timeline: list[tuple] = []
    for name in READS:
        real = getattr(torch.Tensor, name)

        def counted(self, *a, _real=real, _name=name, **k):
            timeline.append(("read", _name))
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    real_to = torch.Tensor.to

    def to(self, *a, **k):
        if is_host_copy(a, k):
            timeline.append(("read", "to"))
        return real_to(self, *a, **k)

    monkeypatch.setattr(torch.Tensor, "to", to)
    return timeline


def digits_session(backend: str, epochs: int = 3, **changes) -> Session:
    """A session on the path a GPU takes (its row's figures computed by torch where the tensors
    live, then one copy), here on the CPU."""
    from tutor.train.rows import TorchOps

    lesson = load(lesson_path("mlp-digits"))
    session = Session(
        resolve(lesson, backend, epochs=epochs, **changes), load_data(lesson.train.dataset)
    )
    if backend != "numpy":
        session.use_ops(TorchOps("cpu"))
    return session


def reads_per_step(
    session: Session, timeline: list, policy: LogPolicy
) -> tuple[dict[int, int], list]:
    """Run `session` with `policy`, marking each step's start → ({step: device reads}, rows emitted)."""
    real_batch = session._next_batch

    def marked():
        timeline.append(("batch", session.step + 1))
        return real_batch()

    session._next_batch = marked
    rows: list = []
    timeline.clear()
    session.run(emit=rows.append, policy=policy)
    counts: dict[int, int] = {}
    step = 0
    for kind, what in timeline:
        if kind == "batch":
            step = what
            if step:
                counts[step] = 0
        elif step:  # after the last step: the final snapshot's own copy
            counts[step] += 1
    return counts, rows


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_a_step_reads_the_device_once_when_logged_and_never_otherwise(reads, backend):
    session = digits_session(backend)
    session.keep_predictions = False
    real_final = session._final

    def final(*a):
        reads.append(("batch", 0))  # the end of the last step's reads
        return real_final(*a)

    session._final = final
    counts, rows = reads_per_step(session, reads, LogPolicy(every=7))
    total = session.total
    assert total == 3 * 20 and sorted(counts) == list(range(1, total + 1))
    logged = {1, total} | {k for k in range(1, total + 1) if k % 7 == 0}
    assert [r.step for r in rows if not r.done] == sorted(logged)
    for k, n in counts.items():
        assert n == (1 if k in logged else 0), f"step {k}: {n} device reads ({backend})"
    assert rows[-1].done and not rows[-1].diverged and not rows[-1].error


def test_unlogged_losses_wait_and_reach_the_plot_in_one_copy(reads, monkeypatch):
    """With rows only at the start and the end, every step's loss is still in the history: the
    waiting losses come over with a row, or after FLUSH_AT steps in one copy of their own."""
    from tutor.train import session as session_module

    monkeypatch.setattr(session_module, "FLUSH_AT", 16)
    session = digits_session("optim", epochs=3)
    session.keep_predictions = False
    counts, rows = reads_per_step(session, reads, LogPolicy(every=10**9))
    assert [r.step for r in rows if not r.done] == [1, 60]
    copies = [k for k, n in counts.items() if n]
    assert copies == [1, 17, 33, 49, 60], (
        copies
    )  # step 1's row; flushes after 16 waiting losses; the last row
    steps = session.history.series()[0]
    assert steps == list(range(61))  # x = updates before each step's loss, then the final


def test_a_diverging_torch_run_is_caught_between_rows(monkeypatch):
    """lr 1e6 with rows only at the start and the end: the loss turns non-finite in between, and
    the run ends diverged at the first such step, found by the periodic copy."""
    from tutor.train import session as session_module

    monkeypatch.setattr(session_module, "FLUSH_AT", 8)
    session = digits_session("autograd", epochs=3, lr=1e6)
    snap = session.run(policy=LogPolicy(every=10**9))
    assert snap.diverged and not snap.error
    assert 1 < snap.step < session.total and session.step == snap.step
    steps = session.history.series()[0]
    assert steps == list(range(snap.step - 1)), (
        "every finite loss before it is drawn, the bad one is not"
    )
    assert session.diagnosis is not None and session.diagnosis["kind"] == "exploding-gradients"


# -- devices ------------------------------------------------------------------------------------


@pytest.fixture
def pretend_mps(monkeypatch):
    """torch says MPS is there and CUDA is not (tensors stay on the CPU for what runs)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


def test_auto_picks_a_device_that_runs_the_lessons_dtype(pretend_mps):
    from tutor.train.backends import resolve_device

    assert resolve_device("auto", "float32") == "mps"
    assert resolve_device("auto", "float64") == "cpu"
    lesson = load(lesson_path("linear-regression"))
    spec = resolve(lesson, "autograd", device="auto")
    assert spec.dtype == "float64"
    assert Session(spec, load_data(lesson.train.dataset)).device == "cpu"


def test_mps_with_a_float64_lesson_is_one_line_and_exit_2(pretend_mps):
    import io
    import json

    from tutor import headless

    out, err = io.StringIO(), io.StringIO()
    opts = headless.Options(backends=["autograd"], json=True, derive=False, device="mps")
    rc = headless.run(load(lesson_path("linear-regression")), opts, out=out, err=err)
    assert rc == 2
    message = (
        "Device mps cannot run this lesson: it computes in float64, which Apple's MPS does not support. "
        "Choose cpu, or auto, which picks the CPU for it (--device cpu or auto)."
    )
    assert err.getvalue() == f"backprop-tutor: {message}\n"
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last == {"event": "error", "backend": "autograd", "message": message}


def test_out_of_memory_names_the_resolved_device_not_auto(monkeypatch):
    """A CUDA out-of-memory error raised from inside a step (a patched matmul) on a run asked for
    with --device auto: one line naming the device auto chose."""
    from tutor.train import backends, failures

    monkeypatch.setattr(backends, "resolve_device", lambda name, dtype="float32": "cpu")
    monkeypatch.setattr(failures, "resolved_name", lambda spec: "cuda")
    session = digits_session("nn", epochs=1, device="auto")
    session.device = "cuda"  # what auto resolved to on a GPU machine
    real = torch.nn.functional.linear

    def linear(*a, **k):
        if session.step >= 1:  # once the first step is done: in step 2
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
        return real(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "linear", linear)
    snap = session.run()
    assert snap.error == (
        "CUDA ran out of memory at step 2 (nn). Lower the batch size or the hidden size, "
        "or run on the CPU (--device cpu)."
    )


@settings(max_examples=examples(0.5), deadline=None)
@given(
    capacity=st.integers(2, 9),
    chunks=st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=30),
)
def test_history_add_many_is_add_step_by_step(capacity, chunks):
    """The waiting losses go into the plot's history a bucket at a time: the same buckets as one
    `add` per step (and a row's `add` with its validation loss between them)."""
    from tutor.train.snapshot import History

    one, many = History(capacity), History(capacity)
    step = 0
    for n, row in chunks:
        losses = [((step + i) * 7919 % 1000) / 997.0 for i in range(n)]
        for i, loss in enumerate(losses):
            one.add(step + i, loss, None)
        many.add_many(step, losses)
        step += n
        if row:
            one.add(step, 5.0, 1.5)
            many.add(step, 5.0, 1.5)
            step += 1

    def nan_free(rows):  # NaN (no validation loss yet) is not equal to itself
        return [[-1.0 if math.isnan(v) else v for v in r] for r in rows]

    assert nan_free(many.rows) == nan_free(one.rows) and many.width == one.width


@pytest.mark.parametrize("backend", ["optim", "torch-manual"])
def test_the_device_path_reports_the_cpu_paths_figures(backend):
    """The same run with its rows computed by torch (as on a GPU) and by numpy on the CPU's tensors:
    every figure of every row agrees (float64 arithmetic on the same weights, summed in another order)."""
    lesson_id = "mlp-digits" if backend == "optim" else "batchnorm-backward"
    lesson = load(lesson_path(lesson_id))
    data = load_data(lesson.train.dataset)
    runs = []
    for device_path in (True, False):
        from tutor.train.rows import TorchOps

        session = Session(resolve(lesson, backend, epochs=2), data)
        if device_path:
            session.use_ops(TorchOps("cpu"))
        rows: list = []
        session.run(emit=rows.append, policy=LogPolicy(every=5))
        runs.append(rows)
    device, cpu = runs
    assert len(device) == len(cpu) > 3
    for a, b in zip(device, cpu, strict=False):
        assert (a.step, a.accuracy, a.val_accuracy, a.dead_relu) == (
            b.step,
            b.accuracy,
            b.val_accuracy,
            b.dead_relu,
        )
        assert a.loss == b.loss and a.val_loss == pytest.approx(b.val_loss, rel=1e-12)
        for name, g in a.grads.items():
            h = b.grads[name]
            assert (g.norm, g.mean_abs, g.max_abs, g.update_ratio) == pytest.approx(
                (h.norm, h.mean_abs, h.max_abs, h.update_ratio), rel=1e-9, nan_ok=True
            ), name
        assert len(a.layers) == len(b.layers)
        for s, t in zip(a.layers, b.layers, strict=False):
            assert (s.layer, s.type, s.units, s.distinct, s.dead, s.saturated) == (
                t.layer,
                t.type,
                t.units,
                t.distinct,
                t.dead,
                t.saturated,
            )
            assert s.grad_norm == pytest.approx(t.grad_norm, rel=1e-9)


def test_a_device_error_names_the_device_auto_chose(monkeypatch):
    """Any failure of a run on a GPU (here a RuntimeError from a patched op, on a run asked for
    with --device auto) is one line that names the GPU, not "AUTO"."""
    from tutor.train import backends

    monkeypatch.setattr(backends, "resolve_device", lambda name, dtype="float32": "cpu")
    session = digits_session("autograd", epochs=1, device="auto")
    session.device = "cuda"
    monkeypatch.setattr(
        torch.Tensor,
        "clamp",
        lambda *a, **k: (_ for _ in ()).throw(
            RuntimeError(
                "CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be reported"
            )
        ),
    )
    snap = session.run()
    assert snap.error.startswith(
        "the autograd backend failed at step 1 on CUDA: RuntimeError: CUDA error: an "
        "illegal memory access was encountered CUDA kernel errors might be reported."
    )
    assert "\n" not in snap.error and "AUTO" not in snap.error


def test_full_set_figures_follow_a_fixed_cadence_and_a_screen_has_them_on_every_row():
    """A row's full-set figures (validation loss, accuracies, layer health) are measured on the
    rows whose stretch of steps holds 1 + a multiple of `eval_every`, on the first and on the
    last; the rows between repeat them and say which step they are from. Every row a screen asks
    for (the interval) measures. mlp-digits' cadence: 1,797 samples forward per measurement,
    batches of 64, at most 10% of the steps between: 94 steps."""
    from tutor.train.cadence import eval_every

    session = digits_session("optim", epochs=2)  # 40 steps
    assert session.eval_every == eval_every(540 + 1257, 64) == 94
    session.eval_every = 7  # a shorter cadence, to see several
    rows: list = []
    session.run(emit=rows.append, policy=LogPolicy(every=3))
    rows = [r for r in rows if not r.done]
    assert [r.step for r in rows] == [1, *range(3, 40, 3), 40]
    measured = [r.step for r in rows if r.eval_step == r.step]
    assert measured == [1, 9, 15, 24, 30, 36, 40]
    by_step = {r.step: r for r in rows}
    for r in rows:
        at = by_step[max(m for m in measured if m <= r.step)]
        assert r.eval_step == at.step
        assert (r.val_loss, r.accuracy, r.val_accuracy, r.dead_relu) == (
            at.val_loss,
            at.accuracy,
            at.val_accuracy,
            at.dead_relu,
        )
    assert len({r.val_loss for r in rows}) == len(measured)
    screen = digits_session("optim", epochs=1)
    screen.eval_every = 7
    rows = []
    screen.run(emit=rows.append, policy=LogPolicy(every=10**12, interval=1e-12))
    assert (
        [r.eval_step for r in rows if not r.done]
        == [r.step for r in rows if not r.done]
        == list(range(1, 21))
    )
