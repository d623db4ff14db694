"""Training faults: a run that diverges, a backend that raises, CUDA asked for where there is
none, CUDA running out of memory, MNIST asked for without a network. Each ends the run (never
the tutor) with a message that says what happened and what to do; headless runs exit 2 (could
not start) or 3 (diverged or failed); in the TUI the status line says it and the controls work.

Nothing here reaches the network: MNIST tests replace the fetch, and block sockets as well."""

from __future__ import annotations

import torch

from tests.support import lesson_path
from tests.ui.conftest import make_app, open_train, run_drawn, settle, status_text
from tests.unit.test_faults import OOM, failing_at
from tutor.train.backends import AutogradBackend, ManualBackend
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.lesson import LessonScreen


async def finish_a_good_run(app, pilot, pane: TrainPane) -> None:
    """The controls still work: reset, play, and the run completes."""
    await pilot.press("r")
    await pilot.pause()
    assert pane.session is not None and pane.session.step == 0
    await pilot.press("space")
    await run_drawn(pilot, pane)
    assert pane.session.finished and pane.session.step == pane.session.total
    status = status_text(app)
    assert "done" in status and "stopped" not in status and "diverged" not in status, status


async def test_huge_lr_in_the_tui_says_diverged_and_recovers(tmp_path):
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        app.screen.query_one("#backend").value = "autograd"
        await pilot.pause()
        pane.query_one("#field-lr").value = "10"
        pane.restart()
        await pilot.press("space")
        await run_drawn(pilot, pane)
        status = status_text(app)
        assert (
            "autograd" in status
            and "diverged at step" in status
            and "Lower the learning rate" in status
        ), status
        assert app.screen.query_one("#status").has_class("error")
        assert not pane.running
        pane.query_one("#field-lr").value = "1e-4"
        pane.restart()
        await pilot.press("space")
        await run_drawn(pilot, pane)
        assert "done" in status_text(app) and not app.screen.query_one("#status").has_class("error")


async def test_backend_exception_in_the_tui_then_reset_trains_again(tmp_path, monkeypatch):
    failing_at(monkeypatch, ManualBackend, 3, RuntimeError("simulated failure"))
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        await pilot.press("space")
        await run_drawn(pilot, pane)
        status = status_text(app)
        assert (
            "stopped: the numpy backend failed at step 3: RuntimeError: simulated failure" in status
        ), status
        assert app.screen.query_one("#status").has_class("error")
        assert not pane.running and pane.session.finished
        await pilot.press("space")  # a finished run says what to do instead of crashing
        await pilot.pause()
        assert "press r to reset" in status_text(app)
        await finish_a_good_run(app, pilot, pane)
    assert app.return_code in (None, 0)


async def test_cuda_requested_without_cuda_in_the_tui(tmp_path, no_cuda):
    app = make_app(tmp_path, "two-layer-relu")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        app.screen.query_one("#backend").value = "autograd"
        await pilot.pause()
        assert "autograd ready" in status_text(app)
        # choose cuda in the device Select with the keyboard
        await pilot.click("#device")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert str(app.screen.query_one("#device").value) == "cuda"
        status = status_text(app)
        assert "Device cuda was asked for, but CUDA is not available" in status, status
        assert "Choose cpu, or auto for whatever exists" in status and app.screen.query_one(
            "#status"
        ).has_class("error")
        assert pane.session is None
        await pilot.click("#play")  # nothing to run: no crash, the message again
        await settle(pilot)
        assert pane.session is None and not pane.running
        assert "CUDA is not available" in status_text(app)
        app.screen.query_one("#device").value = "cpu"
        await pilot.pause()
        await pilot.click("#play")
        await run_drawn(pilot, pane)
        assert "autograd on cpu" in status_text(app) and "done" in status_text(app)


async def test_cuda_out_of_memory_in_the_tui(tmp_path, monkeypatch, pretend_cuda):
    failing_at(monkeypatch, AutogradBackend, 1, torch.cuda.OutOfMemoryError(OOM))
    app = make_app(tmp_path, "two-layer-relu", device="cuda")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        assert str(app.screen.query_one("#device").value) == "cuda"
        app.screen.query_one("#backend").value = "autograd"
        await pilot.pause()
        await pilot.press("space")
        await run_drawn(pilot, pane)
        status = status_text(app)
        assert "CUDA ran out of memory at step 1" in status and "--device cpu" in status, status
        assert not pane.running
        await finish_a_good_run(app, pilot, pane)


async def test_mnist_lesson_in_the_tui_without_network(tmp_path, fetch_fails):
    """A lesson whose dataset is MNIST: the Train part says it cannot train and why; the app
    carries on (space does nothing harmful, the other parts and the lesson list still work)."""
    text = lesson_path("logistic-regression").read_text(encoding="utf-8")
    digits = 'kind = "digits"\nseed = 0\ntest_fraction = 0.3\n'
    assert digits in text
    path = tmp_path / "logistic-regression.toml"  # a file is named after its id
    path.write_text(
        text.replace(digits, 'kind = "mnist"\nseed = 0\ntrain_size = 5000\ntest_size = 10000\n'),
        encoding="utf-8",
    )
    app = make_app(tmp_path, path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        status = status_text(app)
        assert fetch_fails
        assert status.startswith("Cannot train: MNIST could not be fetched"), status
        assert "needs a network connection" in status and "digits" in status
        assert app.screen.query_one("#status").has_class("error")
        await pilot.press("space")
        await pilot.press("s")
        await settle(pilot)
        assert pane.session is None and "Cannot train" in status_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#parts").active == "explain"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LessonScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
