"""The figures the vanishing-gradients and initialisation lessons quote, from their headless runs
(issue 15): the by-depth statistics in the JSON events, the by-depth table of the text output, and
the doctor's verdicts. Tolerances are orders of magnitude or a few units in the last quoted digit,
so another BLAS's rounding passes."""

from __future__ import annotations

import math

import pytest

from tests.support import events_of, headless_json, headless_run, run_cli


def depth(event: dict, key: str = "grad_norm") -> dict[str, float]:
    return {row["layer"]: row[key] for row in event["layers"] if key in row}


def run(lesson: str, *args: str):
    events = headless_json(lesson, "--no-derive", "--backend", "numpy", *args)
    return events_of(events, "train"), events_of(events, "done")[0]


def test_the_deep_sigmoid_nets_first_layer_gets_a_gradient_orders_of_magnitude_smaller():
    rows, done = run("vanishing-gradients")
    first = depth(rows[0])
    assert list(first) == [f"W{i}" for i in range(1, 8)]
    assert first["W7"] == pytest.approx(0.355, abs=0.001)  # the lesson quotes 0.355 and 1.2e-05
    assert first["W1"] == pytest.approx(1.2e-05, rel=0.05)
    ratio = first["W7"] / first["W1"]
    assert 4.4 < math.log10(ratio) < 4.6  # "about 29,000 times", 4.5 orders
    # each layer down gets less: the norms rise monotonically from the input to the output
    norms = list(first.values())
    assert norms == sorted(norms)
    # not saturation: practically no sigmoid output is near 0 or 1 (at most 0.03% at the first step)
    assert max(depth(rows[0], "saturated").values()) < 0.0005
    assert max(depth(done, "saturated").values()) < 0.005  # shown as 0%
    assert done["final_loss"] == pytest.approx(2.30248, abs=1e-5) and done[
        "val_accuracy"
    ] == pytest.approx(0.102, abs=5e-4)
    final = depth(done)
    assert all(
        7e-06 * 0.9 < v < 1.3e-05 * 1.1 for v in final.values()
    )  # "between 7e-06 and 1.3e-05"
    assert done["diagnosis"]["kind"] == "vanishing-gradients"


@pytest.mark.parametrize(
    "variant, first_w1, first_last, accuracy",
    [
        ("relu-he", 0.603, 0.758, 0.922),
        ("tanh-xavier", 0.520, 0.293, 0.950),
        ("relu-default", 0.0044, 0.0173, 0.254),
    ],
)
def test_the_variants_keep_the_gradient_at_every_depth(variant, first_w1, first_last, accuracy):
    rows, done = run("vanishing-gradients", "--variant", variant)
    first = depth(rows[0])
    assert first["W1"] == pytest.approx(first_w1, rel=0.02) and first["W7"] == pytest.approx(
        first_last, rel=0.02
    )
    assert 0.1 < first["W1"] / first["W7"] < 2  # within an order of magnitude, not 4.5
    assert done["val_accuracy"] == pytest.approx(accuracy, abs=0.003)
    if variant == "relu-default":
        assert max(depth(done, "dead").values()) == pytest.approx(0.38, abs=0.02)  # "up to 38%"


def test_one_hidden_layer_of_the_same_sigmoids_learns():
    _, done = run("vanishing-gradients", "--variant", "one-hidden-layer", "--log-every", "50")
    assert done["val_accuracy"] == pytest.approx(0.850, abs=0.003) and "layers" in done


def test_headless_text_prints_the_by_depth_table():
    rc, out, err = run_cli(
        "vanishing-gradients",
        "--headless",
        "--no-derive",
        "--backend",
        "numpy",
        "--log-every",
        "100",
    )
    assert rc == 0, err
    table = out[out.index("by depth, input to output:") :].splitlines()
    assert table[1].split() == [
        "layer",
        "‖∂W‖",
        "step",
        "1",
        "‖∂W‖",
        "step",
        "200",
        "units",
        "/",
        "activity",
    ]
    name, at_first, at_last, units = table[2].split()
    assert name == "W1" and float(at_first) == pytest.approx(1.2256e-05, rel=1e-3) and units == "32"
    assert table[3].split() == ["sigmoid1", "saturated", "0%"]
    assert table[14].split()[0] == "W7" and float(table[14].split()[1]) == pytest.approx(
        0.355, abs=0.001
    )
    ratio = table[15].strip()
    assert ratio.startswith("step 1: ‖∂W1‖ / ‖∂W7‖ = ") and ratio.endswith(" = 3.5e-05")
    # a shallow model keeps its output as it was: no table
    rc, out, _ = run_cli(
        "mlp-digits", "--headless", "--no-derive", "--backend", "numpy", "--epochs", "1"
    )
    assert rc == 0 and "by depth" not in out


def test_zero_weights_leave_every_hidden_unit_a_copy():
    rows, done = run("initialisation", "--variant", "zeros")
    assert rows[0]["loss"] == pytest.approx(math.log(10), abs=1e-5)  # every score 0: exactly ln 10
    for event in (rows[0], rows[-1], done):
        units = {r["layer"]: (r["distinct"], r["units"]) for r in event["layers"] if "units" in r}
        assert units["W1"] == (1, 32) and units["W2"] == (1, 32)
    assert done["final_loss"] == pytest.approx(2.30248, abs=1e-5) and done[
        "val_accuracy"
    ] == pytest.approx(0.102, abs=5e-4)
    assert done["diagnosis"]["kind"] == "symmetric"
    rows, done = run("initialisation", "--variant", "zeros-sigmoid")
    assert depth(done)["W1"] == pytest.approx(6.6e-09, rel=0.05)  # the units move, in lockstep
    units = {r["layer"]: r["distinct"] for r in done["layers"] if "units" in r}
    assert units["W1"] == units["W2"] == 1


@pytest.mark.parametrize(
    "variant, first_loss, accuracy",
    [
        (None, 2.46638, 0.941),
        ("standard-normal", 8.50808, 0.648),
        ("he-relu", 2.89182, 0.941),
        ("tiny-normal", 2.30264, 0.835),
    ],
)
def test_each_start_gives_the_first_loss_and_accuracy_the_lesson_quotes(
    variant, first_loss, accuracy
):
    rows, done = run("initialisation", *(("--variant", variant) if variant else ()))
    assert rows[0]["loss"] == pytest.approx(first_loss, abs=2e-5)
    assert done["val_accuracy"] == pytest.approx(accuracy, abs=0.003)
    if variant == "standard-normal":  # 70% and 60% of the tanh outputs saturated at the first step
        sat = depth(rows[0], "saturated")
        assert sat["tanh1"] == pytest.approx(0.70, abs=0.01) and sat["tanh2"] == pytest.approx(
            0.60, abs=0.01
        )
    if variant is None:
        assert done["diagnosis"] is None


def test_two_layer_relus_first_loss_is_the_one_the_initialisation_lesson_quotes():
    rows, done = run("two-layer-relu", "--epochs", "1")
    assert rows[0]["loss"] == pytest.approx(8432.6, abs=0.05)
    assert rows[0]["grad_norm"]["w1"] == pytest.approx(6268.61, abs=0.01)
    _, events, _ = headless_run(
        "two-layer-relu", "--no-derive", "--backend", "numpy", "--lr", "0.1", expect_rc=3
    )
    [done] = events_of(events, "done")
    assert done["diverged"] and done["steps"] == 4  # "an infinite loss at step 4"
