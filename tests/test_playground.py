"""The playground's core and headless runs: datasets, CSV, the trainer, the boundary, the doctor."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tutor.cli import main
from tutor.train.data import DataError
from tutor.playground.datasets import DATASETS, generate, read_csv
from tutor.playground.model import Config, Playground


def run_json(capsys, *args) -> tuple[int, list[dict]]:
    code = main(["playground", "--headless", "--json", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def done_of(events):
    return next(e for e in events if e["event"] == "done")


def test_circle_one_hidden_layer_of_four_tanh_units(capsys):
    code, events = run_json(capsys, "--variant", "circle", "--hidden", "4", "--activation", "tanh", "--epochs", "100")
    done = done_of(events)
    assert code == 0 and done["val_accuracy"] >= 0.95 and done["diagnosis"] is None
    (tn, fp), (fn, tp) = done["confusion"]
    assert tn + fp + fn + tp == 250 and (tn + tp) / 250 == pytest.approx(done["val_accuracy"])


def test_xor_is_out_of_reach_of_a_linear_model_and_within_reach_of_one_relu_layer(capsys):
    _, events = run_json(capsys, "--variant", "xor", "--hidden", "0", "--batch-size", "50", "--epochs", "100")
    linear = done_of(events)
    assert linear["val_accuracy"] <= 0.65
    assert linear["diagnosis"]["kind"] == "linear-model"
    _, events = run_json(capsys, "--variant", "xor", "--hidden", "8", "--activation", "relu", "--batch-size", "50",
                         "--epochs", "100")
    assert done_of(events)["val_accuracy"] >= 0.95


def test_spiral_with_the_default_network_trains_without_diverging(capsys):
    code, events = run_json(capsys, "--variant", "spiral", "--epochs", "100")
    done = done_of(events)
    assert code == 0 and not done["diverged"] and done["final_loss"] is not None
    assert done["final_loss"] < events[1]["loss"]          # it learned something
    assert (done["diagnosis"] or {}).get("kind") != "exploding-gradients"


def test_boundary_events_carry_the_grid(capsys):
    _, events = run_json(capsys, "--variant", "gauss", "--epochs", "2", "--grid", "64")
    grids = [e for e in events if e["event"] == "boundary"]
    assert len(grids) == 2 and set(grids[0]) == {"event", "step", "x_range", "y_range", "grid"}
    assert len(grids[0]["grid"]) == 64 and all(len(r) == 64 for r in grids[0]["grid"])
    assert grids[0]["x_range"] == [-6.0, 6.0]
    assert all(0 <= v <= 1 for row in grids[-1]["grid"] for v in row)      # a classifier's probabilities


@pytest.mark.parametrize("name", DATASETS)
def test_each_dataset_is_the_same_for_the_same_seed(name):
    a, b, c = generate(name, 0.2, 0.5, seed=7), generate(name, 0.2, 0.5, seed=7), generate(name, 0.2, 0.5, seed=8)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    assert len(a.y_train) == len(a.y_test) == 250


def test_noise_and_ratio_are_checked():
    with pytest.raises(DataError, match="noise must be within 0..0.5"):
        generate("circle", 0.6)
    assert len(generate("xor", 0.0, 0.8).y_train) == 400


def test_a_csv_with_a_bad_row_names_its_line(tmp_path, capsys):
    f = tmp_path / "mine.csv"
    f.write_text("x1,x2,label\n1,2,0\n3,4,1\n5,oops,1\n")
    code = main(["playground", "--headless", "--data", str(f)])
    assert code == 2
    assert capsys.readouterr().err == f"backprop-tutor: {f}:4: 'oops' is not a number\n"
    f.write_text("1,2,0\n3,4\n")
    with pytest.raises(DataError, match=r"mine.csv:2: expected 3 columns \(x1, x2, label\), found 2"):
        read_csv(f)


def test_a_csv_trains(tmp_path, capsys):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(200, 2))
    f = tmp_path / "line.csv"
    f.write_text("a,b,c\n" + "".join(f"{a},{b},{int(a > b)}\n" for a, b in x))
    code, events = run_json(capsys, "--data", str(f), "--hidden", "0", "--lr", "0.3", "--epochs", "100")
    done = done_of(events)
    assert code == 0 and events[0]["dataset"] == "line.csv" and events[0]["classify"] is True
    assert done["val_accuracy"] >= 0.95


def test_a_diverging_run_is_diagnosed_as_exploding_gradients(capsys):
    code, events = run_json(capsys, "--variant", "plane", "--lr", "10", "--epochs", "20")
    done = done_of(events)
    assert code == 3 and done["diverged"]
    d = done["diagnosis"]
    assert d["kind"] == "exploding-gradients" and "exploding gradients" in d["summary"]
    assert any(e.startswith("gradient norms by layer") for e in d["evidence"])
    assert any(e.startswith("lr × largest gradient = 10 ×") for e in d["evidence"])
    assert "try lr 1" in d["fix"]


def test_reset_replays_the_same_weights_and_a_seed_changes_them():
    pg = Playground(Config(dataset="circle"))
    first = [w.copy() for w, _ in pg.initial]
    pg.run(50)
    after = pg.stats().loss
    pg.reset()
    assert all(np.array_equal(a.W, b) for a, b in zip(pg.linears, first))
    pg.run(50)
    assert pg.stats().loss == after
    other = Playground(Config(dataset="circle", seed=1))
    assert not np.array_equal(other.initial[0][0], first[0])


def test_equation_fills_in_weights_and_bias():
    pg = Playground(Config(dataset="circle", hidden=(2,), features=("x1", "x2")))
    W, b = pg.linears[0].W, pg.linears[0].b
    text = pg.equation(1, 0)
    assert text.startswith("h1_1 = tanh(") and f"{abs(W[0, 0]):.2f}·x1" in text and f"{abs(W[1, 0]):.2f}·x2" in text
    assert text.endswith(f"+ {b[0]:.2f})")
    assert pg.equation(2, 0).startswith("ŷ = sigmoid(")


def test_bad_knobs_exit_2_with_one_line(capsys):
    assert main(["playground", "--headless", "--hidden", "4,x"]) == 2
    assert capsys.readouterr().err == "backprop-tutor: hidden: expected whole numbers separated by commas, found '4,x'\n"
    assert main(["playground", "--headless", "--features", "x3"]) == 2
    assert "features: one or more of x1, x2" in capsys.readouterr().err


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
    assert any(e.startswith("gradient norms by parameter, step 1 → 10: w 30 → ") for e in done["diagnosis"]["evidence"])
    assert done["diagnosis"]["fix"].startswith("lower the learning rate about tenfold (try lr 0.5)")
    code, done = lesson_done("linear-1d")
    assert code == 0 and done["diagnosis"] is None


@pytest.mark.parametrize("variant, low, high", [(None, 0.95, 1.0), ("linear", 0.0, 0.6), ("no-relu", 0.0, 0.6)])
def test_the_xor_lesson(variant, low, high):
    code, done = lesson_done("xor-needs-a-hidden-layer", variant=variant)
    assert code == 0 and low <= done["val_accuracy"] <= high
    if variant is None:
        assert done["accuracy"] == 1.0 and done["diagnosis"] is None
    else:                                      # without a ReLU the hidden layer changes nothing
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

    rows = "".join(f"{a},{b},{int(a + b > 0)}\n" for a, b in np.random.RandomState(1).uniform(-1, 1, (100, 2)))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x1,x2,y\n" + rows)
    f = tmp_path / "mine.toml"
    f.write_text(LESSON.format(path="data/points.csv"))
    out = io.StringIO()
    assert headless.run(load(f), headless.Options(json=True, derive=False), out, io.StringIO()) == 0
    done = [json.loads(l) for l in out.getvalue().splitlines() if '"done"' in l][0]
    assert done["val_accuracy"] >= 0.9


@pytest.mark.parametrize("path, message", [
    ("/etc/points.csv", "train.dataset.path: a path relative to the lesson's folder, without '..'"),
    ("../points.csv", "train.dataset.path: a path relative to the lesson's folder, without '..'"),
    ("missing.csv", "train.dataset.path: no file 'missing.csv' beside the lesson"),
    ("points.txt", "train.dataset.path: a .csv file"),
])
def test_a_lessons_csv_path_is_checked(tmp_path, path, message):
    from tutor.cli import check_file

    f = tmp_path / "mine.toml"
    f.write_text(LESSON.format(path=path))
    problems = check_file(str(f))
    assert len(problems) == 1 and str(problems[0]).startswith(f"{f}:") and str(problems[0]).endswith(message)


def test_the_doctor_names_dead_relus_and_saturated_units():
    relu = Playground(Config(dataset="circle", activation="relu", lr=10.0))
    relu.run(3000)
    d = relu.diagnosis()
    assert d["kind"] == "dead-relu" and any("of its units output 0 for every sample" in e for e in d["evidence"])
    assert any(e.startswith("accuracy ") and "about what guessing gives" in e for e in d["evidence"])
    tanh = Playground(Config(dataset="circle", activation="tanh", lr=10.0))
    tanh.run(3000)
    d = tanh.diagnosis()
    assert d["kind"] == "saturated" and any("sit in the flat tails" in e for e in d["evidence"])
    healthy = Playground(Config(dataset="gauss"))
    healthy.run(3000)
    assert healthy.diagnosis() is None
