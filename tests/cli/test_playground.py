"""The playground's core and headless runs: datasets, CSV, the trainer, the boundary, the doctor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tutor.cli import main
from tutor.train.data import DataError
from tutor.train.plane import read_csv


def run_json(capsys, *args) -> tuple[int, list[dict]]:
    code = main(["playground", "--headless", "--json", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def done_of(events):
    return next(e for e in events if e["event"] == "done")


def test_circle_one_hidden_layer_of_four_tanh_units(capsys):
    code, events = run_json(
        capsys, "--variant", "circle", "--hidden", "4", "--activation", "tanh", "--epochs", "100"
    )
    done = done_of(events)
    assert code == 0 and done["val_accuracy"] >= 0.95 and done["diagnosis"] is None
    (tn, fp), (fn, tp) = done["confusion"]
    assert tn + fp + fn + tp == 250 and (tn + tp) / 250 == pytest.approx(done["val_accuracy"])


def test_xor_is_out_of_reach_of_a_linear_model_and_within_reach_of_one_relu_layer(capsys):
    _, events = run_json(
        capsys, "--variant", "xor", "--hidden", "0", "--batch-size", "50", "--epochs", "100"
    )
    linear = done_of(events)
    assert linear["val_accuracy"] <= 0.65
    assert linear["diagnosis"]["kind"] == "linear-model"
    _, events = run_json(
        capsys,
        "--variant",
        "xor",
        "--hidden",
        "8",
        "--activation",
        "relu",
        "--batch-size",
        "50",
        "--epochs",
        "100",
    )
    assert done_of(events)["val_accuracy"] >= 0.95


def test_spiral_with_the_default_network_trains_without_diverging(capsys):
    code, events = run_json(capsys, "--variant", "spiral", "--epochs", "100")
    done = done_of(events)
    assert code == 0 and not done["diverged"] and done["final_loss"] is not None
    assert done["final_loss"] < events[1]["loss"]  # it learned something
    assert (done["diagnosis"] or {}).get("kind") != "exploding-gradients"


def test_boundary_events_carry_the_grid(capsys):
    _, events = run_json(capsys, "--variant", "gauss", "--epochs", "2", "--grid", "64")
    grids = [e for e in events if e["event"] == "boundary"]
    assert len(grids) == 2 and set(grids[0]) == {"event", "step", "x_range", "y_range", "grid"}
    assert len(grids[0]["grid"]) == 64 and all(len(r) == 64 for r in grids[0]["grid"])
    assert grids[0]["x_range"] == [-6.0, 6.0]
    assert all(
        0 <= v <= 1 for row in grids[-1]["grid"] for v in row
    )  # a classifier's probabilities


def test_a_csv_with_a_bad_row_names_its_line(tmp_path, capsys):
    f = tmp_path / "mine.csv"
    f.write_text("x1,x2,label\n1,2,0\n3,4,1\n5,oops,1\n")
    code = main(["playground", "--headless", "--data", str(f)])
    assert code == 2
    assert capsys.readouterr().err == f"backprop-tutor: {f}:4: 'oops' is not a number\n"
    f.write_text("1,2,0\n3,4\n")
    with pytest.raises(
        DataError, match=r"mine.csv:2: expected 3 columns \(x1, x2, label\), found 2"
    ):
        read_csv(f)


def test_a_csv_trains(tmp_path, capsys):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(200, 2))
    f = tmp_path / "line.csv"
    f.write_text("a,b,c\n" + "".join(f"{a},{b},{int(a > b)}\n" for a, b in x))
    code, events = run_json(
        capsys, "--data", str(f), "--hidden", "0", "--lr", "0.3", "--epochs", "100"
    )
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


def test_bad_knobs_exit_2_with_one_line(capsys):
    assert main(["playground", "--headless", "--hidden", "4,x"]) == 2
    assert (
        capsys.readouterr().err
        == "backprop-tutor: hidden: expected whole numbers separated by commas, found '4,x'\n"
    )
    assert main(["playground", "--headless", "--features", "x3"]) == 2
    assert "features: one or more of x1, x2" in capsys.readouterr().err


def test_noise_out_of_range_is_refused_in_the_options_own_unit(capsys):
    """--noise is a percentage: the refusal speaks in percent, not in the data set's fraction (issue 28, item 9)."""
    assert main(["playground", "--headless", "--noise", "60"]) == 2
    assert (
        capsys.readouterr().err == "backprop-tutor: --noise is a percentage within 0..50 (got 60)\n"
    )
    assert main(["playground", "--headless", "--noise", "-1"]) == 2
    assert (
        capsys.readouterr().err == "backprop-tutor: --noise is a percentage within 0..50 (got -1)\n"
    )
