"""Issue 28, item 12 (initialisation): headless prints each hidden layer's activation histogram
after a deep model's run, at the start and at the end; the start's spread and saturated fraction
are checked against a forward pass written here, for the lesson's start and the standard normal."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.support import ROOT, run_cli


def tanh_outputs(variant: str | None) -> list[np.ndarray]:
    """Both tanh layers' outputs on the training set from the start's weights, by hand."""
    from tutor.lesson import load
    from tutor.train.datasets import load as load_data
    from tutor.train.spec import dataset_for, initial_weights, resolve

    lesson = load(ROOT / "lessons" / "initialisation.toml")
    chosen = next((v for v in lesson.variants if v.name == variant), None)
    data = load_data(dataset_for(lesson, chosen))
    w = initial_weights(resolve(lesson, "numpy", chosen), data.inputs, data.outputs)
    h1 = np.tanh(data.x_train @ w["W1"] + w["b1"])
    return [h1, np.tanh(h1 @ w["W2"] + w["b2"])]


def percent(fraction: float) -> str:
    return "<1%" if 0 < fraction < 0.005 else f"{fraction:.0%}"


def start_lines(variant: str | None) -> dict[str, str]:
    """Layer → its `start` line of the histogram text, from a headless numpy run."""
    args = ["initialisation", "--headless", "--no-derive", "--backend", "numpy", "--epochs", "2"]
    rc, out, err = run_cli(*args, *(["--variant", variant] if variant else []))
    assert rc == 0, err
    head = "activations on the training set, a histogram each (its bins from low to high):"
    assert head in out
    lines = out[out.index(head) :].splitlines()
    found: dict[str, str] = {}
    for layer, start, end in zip(lines[1::3], lines[2::3], lines[3::3], strict=False):
        if not start.strip().startswith("start"):
            break
        assert end.strip().startswith("step 2 ")
        found[layer.strip()] = start
    return found


@pytest.mark.parametrize("variant", [None, "standard-normal", "tiny-normal"])
def test_headless_prints_each_layers_histogram_and_its_figures(variant):
    lines = start_lines(variant)
    assert list(lines) == ["tanh1", "tanh2"]
    for (name, line), h in zip(lines.items(), tanh_outputs(variant), strict=True):
        bars = re.search(r"\|(.{20})\|", line)
        assert bars and set(bars.group(1)) <= set("▁▂▃▄▅▆▇█ "), line
        assert "-1.0 … 1.0" in line, line
        spread = float(re.search(r"spread ([\d.e-]+)", line).group(1))
        assert spread == pytest.approx(float(h.std()), abs=6e-5 * max(1.0, float(h.std()))), name
        assert f"saturated {percent(float(np.mean(np.abs(h) > 0.99)))}" in line, (name, line)
        assert f"|h| < 0.1: {percent(float(np.mean(np.abs(h) < 0.1)))}" in line, (name, line)
        # the tallest bin is the one the hand-made histogram says
        counts, _ = np.histogram(h, bins=20, range=(-1, 1))
        assert bars.group(1)[int(np.argmax(counts))] == "█", (name, line)
