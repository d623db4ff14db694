"""Pilot tests of the Train part against the headless runner: for every lesson the status line
and the plot show the figures of the JSON lines of the same run; a training thread that fails
says so in one line and leaves the pane usable; the baseline and the momentum field are there."""

from __future__ import annotations

import math

import pytest
from textual.widgets import Input, Select

from tests.support import LISTED_IDS, events_of, headless_json, lesson_path
from tests.ui.conftest import make_app, open_train, settle, text_of, until
from tutor.fmt import number
from tutor.headless import params_text, prediction_text
from tutor.lesson import load
from tutor.present.run import samples_text

TRAINED = [i for i in LISTED_IDS if load(lesson_path(i)).train is not None]
SHORT = {"mlp-digits": 1}  # epochs for a short run (one epoch is 20 mini-batches there)


@pytest.mark.parametrize("lesson_id", TRAINED)
async def test_status_line_and_plot_show_the_headless_figures(tmp_path, lesson_id):
    lesson = load(lesson_path(lesson_id))
    backend = lesson.train.backends[0]
    epochs = SHORT.get(lesson_id, 3)
    events = headless_json(
        lesson_id, "--no-derive", "--backend", backend, "--epochs", str(epochs), "--log-every", "1"
    )
    rows = events_of(events, "train")
    [done] = events_of(events, "done")

    app = make_app(tmp_path, lesson_id)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        pane.query_one("#field-epochs", Input).value = str(epochs)
        pane.restart()
        # one step: the status line is the first row (the weights the step starts from)
        await pilot.press("s")
        await until(pilot, lambda: "step 1/" in text_of(app, "#status"), "the first step")
        first = rows[0]
        status = text_of(app, "#status")
        assert status.startswith(
            f"{backend} on cpu · step 1/{done['steps']} · epoch 1 · loss {number(first['loss'])}"
        )
        if first["val_loss"] is not None:
            assert f" · val {number(first['val_loss'])}" in status
        if "accuracy" in first:
            assert f" · acc {first['accuracy']:.3f}/{first['val_accuracy']:.3f}" in status
        for name, grad in (first.get("grads") or {}).items():
            flat = [v for row in grad for v in row] if isinstance(grad[0], list) else grad
            if len(flat) == 1:  # a one-number parameter: signed
                assert f" · ∂{name} {number(flat[0])}" in status
        # the rest of the run: the status line is the done event
        await pilot.press("space")
        await until(
            pilot, lambda: text_of(app, "#status").endswith(" · done"), "the end of the run"
        )
        status = text_of(app, "#status")
        expected = (
            f"{backend} on cpu · step {done['steps']}/{done['steps']} · epoch {rows[-1]['epoch']} · "
            f"final loss {number(done['final_loss'])}"
        )
        if done["final_val_loss"] is not None:
            expected += f" · val {number(done['final_val_loss'])}"
        if "accuracy" in done:
            expected += f" · acc {done['accuracy']:.3f}/{done['val_accuracy']:.3f}"
        if "params" in done:
            expected += f" · {params_text(done['params'])}"
        expected += "".join(f" · {prediction_text(pr)}" for pr in done.get("predictions", []))
        if "samples" in done:  # a character model's sampled names
            expected += f" · {samples_text(done['samples'])}"
        assert status == expected + " · done"
        # the plot: every row at x = step − 1, then the final weights at x = steps
        [(label, steps, losses, vals)] = app.screen.query_one("#plot")._series
        assert label == backend
        assert steps == [r["step"] - 1 for r in rows] + [done["steps"]]
        assert losses == pytest.approx([r["loss"] for r in rows] + [done["final_loss"]], rel=1e-12)
        want_val = [r["val_loss"] for r in rows] + [done["final_val_loss"]]
        if all(v is None for v in want_val):
            assert all(math.isnan(v) for v in vals)
        else:
            assert vals == pytest.approx(want_val, rel=1e-12)


async def test_a_failing_training_thread_is_reported_and_the_pane_stays_usable(
    tmp_path, monkeypatch
):
    """Whatever escapes the training loop ends the run with one line that says why; reset and
    play work afterwards."""
    from tutor.train.session import Session

    real_run = Session.run

    def broken(self, *args, **kwargs):
        raise RuntimeError("the loop broke\nin two lines")

    monkeypatch.setattr(Session, "run", broken)
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        await pilot.press("space")
        await until(pilot, lambda: "failed" in text_of(app, "#status"), "the failure line")
        status = text_of(app, "#status")
        assert status.startswith(
            "the numpy backend failed at step 1: RuntimeError: the loop broke in two lines."
        )
        assert "\n" not in status and "Paused" not in status
        assert app.screen.query_one("#status").has_class("error")
        assert not pane.running and str(pane.query_one("#play").label) == "▶ Play"
        monkeypatch.setattr(Session, "run", real_run)
        await pilot.press("r")
        await settle(pilot)
        assert text_of(app, "#status").startswith("numpy ready:")
        await pilot.press("space")
        await until(
            pilot, lambda: text_of(app, "#status").endswith(" · done"), "the run after the failure"
        )
        assert "final loss 0.64" in text_of(app, "#status")


@pytest.mark.parametrize(
    "lesson_id, figures",
    [
        ("linear-regression", ["LinearRegression", "coef 1.96896", "intercept 1.02354"]),
        ("logistic-regression", ["LogisticRegression", "val_accuracy 0.97222"]),
        (
            "mlp-digits",
            [
                "MLPClassifier",
                "momentum 0.9 (Nesterov; effective step 0.1)",
                "val_accuracy 0.96111",
            ],
        ),
    ],
)
async def test_the_baseline_the_explain_page_promises_is_on_the_train_part(
    tmp_path, lesson_id, figures
):
    app = make_app(tmp_path, lesson_id)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        await until(pilot, lambda: pane.baseline is not None, "the baseline")
        await pilot.pause()
        line = text_of(app, "#baseline")
        for figure in figures:
            assert figure in line, line
        # changing the learner's epochs leaves the baseline as it was
        pane.query_one("#field-epochs", Input).value = "2"
        pane.restart()
        await settle(pilot)
        assert text_of(app, "#baseline") == line


async def test_momentum_field_is_open_for_sgd_and_changes_the_run(tmp_path):
    app = make_app(tmp_path, "mlp-digits")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        field = pane.query_one("#field-momentum", Input)
        assert field.value == "0.9" and not field.disabled
        field.value = "0.5"
        pane.restart()
        await settle(pilot)
        assert pane.session.spec.momentum == 0.5
        pane.query_one("#optimizer", Select).value = "gd"
        await settle(pilot)
        assert field.disabled and pane.session.spec.optimizer == "gd"
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        assert pane.query_one("#field-momentum", Input).disabled  # gd has no momentum


async def test_linear_regression_shows_its_weights_beside_the_librarys(tmp_path):
    """The Explain page: w = 1.96896, b = 1.02354 from gradient descent, the same from the library."""
    app = make_app(tmp_path, "linear-regression")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_train(pilot)
        await pilot.press("space")
        await until(
            pilot, lambda: text_of(app, "#status").endswith(" · done"), "the end of the run"
        )
        assert "· w = 1.96896, b = 1.02354 · done" in text_of(app, "#status")
        assert "coef 1.96896 · intercept 1.02354" in text_of(app, "#baseline")


async def test_mlp_digits_overlay_confirms_the_hand_written_backward(tmp_path):
    """The page's promise: run optim, press o, run numpy: the status line says the losses agree
    (same weights, same mini-batches)."""
    app = make_app(tmp_path, "mlp-digits")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_train(pilot)
        assert pane.backend() == "optim"
        await pilot.press("space")
        await until(pilot, lambda: text_of(app, "#status").endswith(" · done"), "the optim run")
        await pilot.press("o")
        await settle(pilot)
        assert pane.backend() == "numpy"
        await pilot.press("space")
        await until(pilot, lambda: "numpy vs optim" in text_of(app, "#status"), "the comparison")
        assert "numpy vs optim: losses agree to" in text_of(app, "#status")
