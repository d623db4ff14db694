"""Issue 26, done means: CS231n's two-layer toy net (tests/fixtures/courses/cs231n-toy-net.toml: the
assignment's toy model and data, written out with the teacher's own numbers) gives the published
loss 1.30378789133 at reg 0.05 on every backend, and its hand-written gradients agree with autograd
and with central finite differences to CS231n's relative error below 1e-8."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.support import FIXTURES_DIR
from tutor import headless
from tutor.lesson import load
from tutor.train.datasets import load as load_data
from tutor.train.registry import make_backend
from tutor.train.spec import dataset_for, initial_weights, layer_plan, resolve

PUBLISHED = 1.30378789133        # two_layer_net.ipynb: "correct_loss = 1.30378789133"
BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")


@pytest.fixture(scope="module")
def toy():
    return load(FIXTURES_DIR / "courses" / "cs231n-toy-net.toml")


def rel_error(x, y) -> float:
    """CS231n's: max |x − y| / max(1e-8, |x| + |y|)."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_first_loss_is_the_published_figure(toy, backend):
    out = io.StringIO()
    assert headless.run(toy, headless.Options(backends=[backend], json=True, derive=False), out=out,
                        err=io.StringIO()) == 0
    first = [e for e in map(json.loads, out.getvalue().splitlines()) if e["event"] == "train"][0]
    assert first["step"] == 1 and abs(first["loss"] - PUBLISHED) < 5e-12      # it is published to 11 decimals


def gradients(toy, backend: str):
    spec = resolve(toy, backend)
    data = load_data(dataset_for(toy))
    b = make_backend(spec, layer_plan(spec, data.inputs, data.outputs), initial_weights(spec, data.inputs, data.outputs))
    b.step(b.xp.array(data.x_train), b.xp.labels(data.y_train), True)
    return b.grads(), data


def loss_at(w: dict, x: np.ndarray, y: np.ndarray, reg: float = 0.05) -> float:
    """The assignment's loss, written out in numpy: softmax cross-entropy + reg·(ΣW1² + ΣW2²)."""
    s = np.maximum(x @ w["W1"] + w["b1"], 0) @ w["W2"] + w["b2"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean() + reg * ((w["W1"] ** 2).sum() + (w["W2"] ** 2).sum()))


def test_the_hand_written_gradients_agree_with_autograd_and_finite_differences(toy):
    hand, data = gradients(toy, "numpy")
    auto, _ = gradients(toy, "autograd")
    spec = resolve(toy, "numpy")
    start = initial_weights(spec, data.inputs, data.outputs)
    assert loss_at(start, data.x_train, data.y_train) == pytest.approx(PUBLISHED, abs=5e-12)
    for name, g in hand.items():
        assert rel_error(g, auto[name]) < 1e-8, name
        numeric = np.zeros_like(g)
        for i in np.ndindex(g.shape):              # central differences, h = 1e-5, as the assignment
            w = {k: v.copy() for k, v in start.items()}
            w[name][i] += 1e-5
            up = loss_at(w, data.x_train, data.y_train)
            w[name][i] -= 2e-5
            numeric[i] = (up - loss_at(w, data.x_train, data.y_train)) / 2e-5
        assert rel_error(g, numeric) < 1e-8, name
