"""Issue 28, item 12 (batchnorm): an exported script keeps batchnorm's running statistics as the
trainers do, and after its loop measures the model in evaluation mode with them: every backend's
script prints the headless run's final training and validation losses (1e-6 relative, float64)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.cli.layer_lessons import BACKENDS, points_lesson
from tests.cli.test_code_export import agrees, run_scripts
from tutor import headless
from tutor.code.export import export
from tutor.lesson import load


def headless_run(lesson, backend: str) -> tuple[list[float], dict]:
    """The headless run's step losses and its final figures ("done")."""
    out = io.StringIO()
    opts = headless.Options(backends=[backend], log_every=1, json=True, derive=False)
    assert headless.run(lesson, opts, out=out, err=io.StringIO()) == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    [done] = [e for e in events if e["event"] == "done"]
    return [e["loss"] for e in events if e["event"] == "train"], done


@pytest.mark.parametrize(
    "layers",
    [
        [
            {"type": "linear", "out": 4},
            {"type": "batchnorm"},
            {"type": "tanh"},
            {"type": "linear", "out": "outputs"},
        ],
        # with dropout too: evaluation turns it off as well
        [
            {"type": "linear", "out": 4},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "dropout", "p": 0.3},
            {"type": "linear", "out": "outputs"},
        ],
    ],
    ids=["batchnorm", "batchnorm-dropout"],
)
def test_the_scripts_evaluate_with_the_running_statistics(layers, tmp_path):
    rng = np.random.RandomState(11)
    x, y = np.round(rng.randn(12, 3), 3), np.round(rng.randn(12, 2), 3)
    dataset = {
        "kind": "points",
        "x": x[:8].tolist(),
        "y": y[:8].tolist(),
        "x_val": x[8:].tolist(),
        "y_val": y[8:].tolist(),
    }
    path = tmp_path / "layer-bn.toml"
    path.write_text(points_lesson("layer-bn", layers, dataset=dataset))
    lesson = load(path)
    evaluations: dict = {}
    scripts = {b.replace("-", "_"): export(lesson, b).text for b in BACKENDS}
    printed = run_scripts(scripts, tmp_path, evaluations)
    for backend in BACKENDS:
        losses, done = headless_run(lesson, backend)
        assert len(losses) == 6  # 3 epochs of 2 batches
        agrees(printed[backend.replace("-", "_")], losses)
        got = evaluations[backend.replace("-", "_")]
        assert set(got) == {"training", "validation"}, backend
        assert got["training"] == pytest.approx(done["final_loss"], rel=1e-6), backend
        assert got["validation"] == pytest.approx(done["final_val_loss"], rel=1e-6), backend
