"""Issue 26, done means: micrograd's moons demo (tests/fixtures/courses/micrograd-moons.toml): a 2-16-16-1 ReLU
MLP on make_moons(100, noise=0.1), max-margin loss plus 1e-4·Σp², 100 steps of SGD with
lr = 1.0 − 0.9·k/100, reaches 100% training accuracy on every backend, with the losses of every
step agreeing across backends to 1e-6 at float64, and each backend's exported script printing them."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.cli.test_code_export import agrees, run_scripts
from tests.support import FIXTURES_DIR
from tutor import headless
from tutor.code.export import export
from tutor.lesson import load
from tutor.train.spec import initial_weights, resolve

BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")


@pytest.fixture(scope="module")
def moons():
    return load(FIXTURES_DIR / "courses" / "micrograd-moons.toml")


@pytest.fixture(scope="module")
def runs(moons):
    out = {}
    for backend in BACKENDS:
        text = io.StringIO()
        opts = headless.Options(backends=[backend], log_every=1, json=True, derive=False)
        assert headless.run(moons, opts, out=text, err=io.StringIO()) == 0
        out[backend] = [json.loads(line) for line in text.getvalue().splitlines()]
    return out


def test_the_fixture_is_micrograds_demo(moons):
    t = moons.train
    assert [lyr.type for lyr in t.layers] == ["linear", "relu", "linear", "relu", "linear"]
    assert [lyr.out for lyr in t.layers if lyr.type == "linear"] == [16, 16, "outputs"]
    assert (
        t.loss,
        t.l2,
        t.optimizer,
        t.lr,
        t.schedule,
        t.decay_steps,
        t.lr_end,
        t.epochs,
        t.batch_size,
    ) == ("max-margin", 1e-4, "gd", 1.0, "linear", 100, 0.1, 100, 0)
    assert (t.dataset.kind, t.dataset.options["n"], t.dataset.options["noise"]) == (
        "make-moons",
        100,
        0.1,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_reaches_full_training_accuracy(runs, backend):
    done = [e for e in runs[backend] if e["event"] == "done"][0]
    assert done["steps"] == 100 and done["accuracy"] == 1.0 and not done["diverged"]


def test_the_losses_agree_across_backends_step_for_step(runs, moons):
    losses = {b: [e["loss"] for e in runs[b] if e["event"] == "train"] for b in BACKENDS}
    assert len(losses["numpy"]) == 100
    for backend in BACKENDS:
        agrees(losses[backend], losses["optim"])
    spec = resolve(moons, "numpy")
    weights = initial_weights(spec, 2, 1)
    penalty = 1e-4 * sum((w * w).sum() for w in weights.values())
    assert losses["numpy"][0] > penalty > 0  # the first step's loss carries 1e-4·Σp² of the start
    assert np.mean(losses["numpy"][-10:]) < 0.1 * losses["numpy"][0]


def test_each_backends_script_prints_the_same_losses(runs, moons, tmp_path):
    printed = run_scripts({b.replace("-", "_"): export(moons, b).text for b in BACKENDS}, tmp_path)
    for backend in BACKENDS:
        agrees(
            printed[backend.replace("-", "_")],
            [e["loss"] for e in runs[backend] if e["event"] == "train"],
        )
