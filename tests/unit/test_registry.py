"""Issue 26, part 1: the backend registry (tutor/train/registry.py). Every backend the lesson format
names has one entry; each builds a backend that meets the `Backend` protocol and owns its device
and the place its arrays live."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.lesson.records import Layer
from tutor.lesson.vocabulary import BACKENDS
from tutor.train.registry import BACKEND_KINDS, Arrays, Backend, make_backend
from tutor.train.spec import RunSpec, initial_weights, layer_plan


def test_the_registry_names_exactly_the_lesson_formats_backends():
    assert tuple(BACKEND_KINDS) == BACKENDS


def spec(backend: str) -> RunSpec:
    return RunSpec(
        backend,
        (Layer("linear", 3), Layer("relu", bias=False), Layer("linear", 1)),
        "mse",
        "gd",
        0.1,
        0.0,
        1,
        0,
        0,
        "float64",
        "randn",
        None,
        True,
        "cpu",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_meets_the_protocol_and_owns_its_arrays(backend):
    s = spec(backend)
    plan = layer_plan(s, 2, 1)
    weights = initial_weights(s, 2, 1)
    b = make_backend(s, plan, {k: v.copy() for k, v in weights.items()})
    assert isinstance(b, Backend) and isinstance(b.xp, Arrays)
    assert b.device == "cpu" and b.xp.host == (not BACKEND_KINDS[backend].torch)
    x = b.xp.array(np.array([[1.0, 2.0], [0.5, -1.0]]))
    y = b.xp.array(np.array([[1.0], [0.0]]))
    loss = b.step(x, y, True)
    assert np.isfinite(b.xp.scalar(loss))
    assert set(b.grads()) == set(weights) and all(
        g.dtype == np.float64 for g in b.params().values()
    )
    for name, w in weights.items():  # one gradient-descent step: every backend moves the same way
        np.testing.assert_allclose(
            b.params()[name], w - 0.1 * b.grads()[name], rtol=1e-12, atol=1e-12
        )


def test_the_dataset_registry_names_exactly_the_lesson_formats_datasets():
    from tutor.lesson.vocabulary import DATASETS
    from tutor.train.datasets import DATASET_KINDS

    assert set(DATASET_KINDS) == set(DATASETS)


def offline(kind: str):
    """A dataset of `kind` with its default options (points: three fixed samples)."""
    from tutor.lesson.records import Dataset
    from tutor.lesson.vocabulary import DATASETS

    options = {name: default for name, (_, default) in DATASETS[kind].items()}
    if kind == "points":
        options.update(x=((1.0, 2.0), (3.0, 4.0), (5.0, 6.0)), y=(1.0, 0.0, 1.0))
    if kind == "synthetic-linear":
        options["w"] = (2.0,)
    return Dataset(kind, options)


@pytest.mark.parametrize(
    "kind", ["points", "synthetic-linear", "iris", "digits", "circle", "moons", "plane"]
)
def test_each_datasets_shape_and_split_are_known_without_loading_it(kind):
    from tutor.train.datasets import DATASET_KINDS, load

    dataset = offline(kind)
    entry = DATASET_KINDS[kind]
    data = load(dataset)
    assert entry.shape(dataset) == (data.inputs, data.outputs)
    assert entry.train_count(dataset) == len(data.x_train)
    assert entry.classes == bool(data.classes)
