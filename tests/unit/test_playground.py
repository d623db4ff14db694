"""The playground's core and headless runs: datasets, CSV, the trainer, the boundary, the doctor."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tutor.playground.model import Config, Playground
from tutor.train.data import DataError
from tutor.train.plane import DATASETS, generate


@pytest.mark.parametrize("name", DATASETS)
def test_each_dataset_is_the_same_for_the_same_seed(name):
    a, b, c = (
        generate(name, 0.2, 0.5, seed=7),
        generate(name, 0.2, 0.5, seed=7),
        generate(name, 0.2, 0.5, seed=8),
    )
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    assert len(a.y_train) == len(a.y_test) == 250


def test_noise_and_ratio_are_checked():
    with pytest.raises(DataError, match="noise must be within 0..0.5"):
        generate("circle", 0.6)
    assert len(generate("xor", 0.0, 0.8).y_train) == 400


def test_reset_replays_the_same_weights_and_a_seed_changes_them():
    pg = Playground(Config(dataset="circle"))
    first = [w.copy() for w, _ in pg.initial]
    pg.run(50)
    after = pg.stats().loss
    pg.reset()
    assert all(np.array_equal(a.W, b) for a, b in zip(pg.linears, first, strict=False))
    pg.run(50)
    assert pg.stats().loss == after
    other = Playground(Config(dataset="circle", seed=1))
    assert not np.array_equal(other.initial[0][0], first[0])


def test_equation_fills_in_weights_and_bias():
    pg = Playground(Config(dataset="circle", hidden=(2,), features=("x1", "x2")))
    W, b = pg.linears[0].W, pg.linears[0].b
    text = pg.equation(1, 0)
    assert (
        text.startswith("h1_1 = tanh(")
        and f"{abs(W[0, 0]):.3g}·x1" in text
        and f"{abs(W[1, 0]):.3g}·x2" in text
    )
    assert text.endswith(f"+ {b[0]:.3g})")
    assert pg.equation(2, 0).startswith("ŷ = sigmoid(")


def lesson_done(lesson_id: str, **options) -> tuple[int, dict]:
    from tutor import headless
    from tutor.lesson import load, resolve

    out, err = io.StringIO(), io.StringIO()
    opts = headless.Options(backends=["numpy"], json=True, derive=False, **options)
    code = headless.run(load(resolve(lesson_id)), opts, out, err)
    return code, [json.loads(line) for line in out.getvalue().splitlines() if '"done"' in line][0]


def test_every_lesson_run_gets_the_doctor_in_its_done_event():
    code, done = lesson_done("linear-1d", lr=5.0)
    assert code == 3 and done["diagnosis"]["kind"] == "exploding-gradients"
    assert any(
        e.startswith("gradient norms by parameter, step 1 → 10: w 30 → ")
        for e in done["diagnosis"]["evidence"]
    )
    assert done["diagnosis"]["fix"].startswith("lower the learning rate about tenfold (try lr 0.5)")
    code, done = lesson_done("linear-1d")
    assert code == 0 and done["diagnosis"] is None


@pytest.mark.parametrize(
    "variant, low, high", [(None, 0.95, 1.0), ("linear", 0.0, 0.6), ("no-relu", 0.0, 0.6)]
)
def test_the_xor_lesson(variant, low, high):
    code, done = lesson_done("xor-needs-a-hidden-layer", variant=variant)
    assert code == 0 and low <= done["val_accuracy"] <= high
    if variant is None:
        assert done["accuracy"] == 1.0 and done["diagnosis"] is None
    else:  # without a ReLU the hidden layer changes nothing
        assert done["final_loss"] == pytest.approx(0.692859, abs=1e-6)
        assert (done["accuracy"], done["val_accuracy"]) == (0.512, 0.544)
        assert done["diagnosis"]["kind"] == "linear-model"


LESSON = """
schema = 1
id = "mine"
title = "Mine"
[[explain]]
title = "p"
text = "t"
[train]
backends = ["numpy"]
loss = "bce"
lr = 0.5
epochs = 200
[train.dataset]
kind = "csv"
path = "{path}"
[[train.layers]]
type = "linear"
out = "outputs"
"""


def test_a_lesson_reads_a_csv_beside_it(tmp_path):
    from tutor import headless
    from tutor.lesson import load

    rows = "".join(
        f"{a},{b},{int(a + b > 0)}\n" for a, b in np.random.RandomState(1).uniform(-1, 1, (100, 2))
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x1,x2,y\n" + rows)
    f = tmp_path / "mine.toml"
    f.write_text(LESSON.format(path="data/points.csv"))
    out = io.StringIO()
    assert headless.run(load(f), headless.Options(json=True, derive=False), out, io.StringIO()) == 0
    done = [json.loads(line) for line in out.getvalue().splitlines() if '"done"' in line][0]
    assert done["val_accuracy"] >= 0.9


@pytest.mark.parametrize(
    "path, message",
    [
        (
            "/etc/points.csv",
            "train.dataset.path: a path relative to the lesson's folder, without '..'",
        ),
        (
            "../points.csv",
            "train.dataset.path: a path relative to the lesson's folder, without '..'",
        ),
        ("missing.csv", "train.dataset.path: no file 'missing.csv' beside the lesson"),
        ("points.txt", "train.dataset.path: a .csv file"),
    ],
)
def test_a_lessons_csv_path_is_checked(tmp_path, path, message):
    from tutor.cli import check_file

    f = tmp_path / "mine.toml"
    f.write_text(LESSON.format(path=path))
    problems = check_file(str(f))
    assert (
        len(problems) == 1
        and str(problems[0]).startswith(f"{f}:")
        and str(problems[0]).endswith(message)
    )


def test_the_doctor_names_dead_relus_and_saturated_units():
    relu = Playground(Config(dataset="circle", activation="relu", lr=10.0))
    relu.run(3000)
    d = relu.diagnosis()
    assert d["kind"] == "dead-relu" and any(
        "of its units output 0 for every sample" in e for e in d["evidence"]
    )
    assert any(
        e.startswith("accuracy ") and "about what guessing gives" in e for e in d["evidence"]
    )
    tanh = Playground(Config(dataset="circle", activation="tanh", lr=10.0))
    tanh.run(3000)
    d = tanh.diagnosis()
    assert d["kind"] == "saturated" and any("sit in the flat tails" in e for e in d["evidence"])
    healthy = Playground(Config(dataset="gauss"))
    healthy.run(3000)
    assert healthy.diagnosis() is None


def test_equation_keeps_tiny_weights_visible():
    """Issue 27, item 8: a weight below 0.005 is written with significant digits, never 0.00·x1."""
    pg = Playground(Config(dataset="circle", hidden=(2,), features=("x1", "x2")))
    pg.linears[0].W[0, 0] = 0.0042
    pg.linears[0].W[1, 0] = -0.000123
    pg.linears[0].b[0] = 0.0
    text = pg.equation(1, 0)
    assert "0.0042·x1" in text and "− 0.000123·x2" in text and "0.00·" not in text
    assert text.endswith("+ 0)")


@pytest.mark.parametrize("activation", ["gelu", "silu", "softplus"])
def test_the_newer_activations_train_the_circle(activation):
    """Issue 26: the playground's gelu, silu and softplus are the layer table's rules: a circle is
    learned (600 steps at lr 0.3) and each neuron's formula names its activation."""
    from tutor.train.layers import LAYERS

    pg = Playground(Config(dataset="circle", activation=activation, hidden=(6, 4), lr=0.3, seed=1))
    assert type(pg.acts[0]) is type(LAYERS[activation].make(pg.xp, (), False))
    first = pg.stats().loss
    assert pg.run(600) == 600
    s = pg.stats()
    assert s.loss < 0.1 * first and s.accuracy >= 0.95
    assert pg.equation(1, 0).startswith(f"h1_1 = {activation}(")
