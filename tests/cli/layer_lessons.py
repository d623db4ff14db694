"""Small lesson files, written on the fly, that put one layer kind (or one training setting) in
a model and run it on every backend: the tests of the teacher's toolkit (issue 26) export and run them."""

from __future__ import annotations

import numpy as np

BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")


def points_lesson(
    lesson_id: str,
    layers: list[dict],
    train: dict | None = None,
    samples: int = 8,
    inputs: int = 3,
    outputs: int = 2,
    dataset: dict | None = None,
    x: list | None = None,
) -> str:
    """A lesson training `layers` on a few fixed points, or on `dataset` (float64, mean squared error
    unless `train` says)."""
    rng = np.random.RandomState(7)
    x = x if x is not None else np.round(rng.randn(samples, inputs), 3).tolist()
    y = np.round(rng.randn(samples, outputs), 3).tolist()
    settings = {
        "backends": list(BACKENDS),
        "loss": "mse",
        "optimizer": "sgd",
        "momentum": 0.5,
        "lr": 0.05,
        "epochs": 3,
        "batch_size": 4,
        "dtype": "float64",
        "seed": 3,
        **(train or {}),
    }
    lines = [
        "schema = 1",
        f'id = "{lesson_id}"',
        'title = "A layer"',
        'summary = "One layer kind on every backend."',
        "order = 90",
        "",
        "[[explain]]",
        'title = "A layer"',
        'text = "One layer kind."',
        "",
        "[train]",
    ]
    lines += [f"{k} = {toml(v)}" for k, v in settings.items()]
    data = dataset or {"kind": "points", "x": x, "y": y}
    lines += ["", "[train.dataset]", *(f"{k} = {toml(v)}" for k, v in data.items())]
    for layer in layers:
        lines += ["", "[[train.layers]]", *(f"{k} = {toml(v)}" for k, v in layer.items())]
    return "\n".join(lines) + "\n"


def toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(toml, value)) + "]"
    return repr(value)
