"""The dataset registry: for each kind of dataset a lesson may name, how the tutor loads it, its
shape known without loading it, how many samples train, and the lines an exported script makes
it with (the same numbers, drawn the same way, with numpy and scikit-learn only).

Adding a dataset kind is one `DatasetKind(...)` entry below (its loader in data.py or plane.py), its
options in tutor/lesson/vocabulary.py's DATASETS and its shape in tutor/lesson/datasets.py, and its
tests; tests/unit/test_registry.py checks that the registry and the vocabulary agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.lesson import PLAYGROUND, Dataset
from tutor.lesson.vocabulary import NAMES_CHARS
from tutor.train.arrays import Data, DataError


@dataclass(frozen=True)
class DatasetKind:
    name: str
    load: Callable[[Dataset], Data]
    shape: Callable[[Dataset], tuple[int, int]]  # (inputs, outputs), without loading
    train_count: Callable[[Dataset], int]  # samples in the training split
    script: Callable[[Dataset], list[str]]  # lines that set x_train, y_train, x_val, y_val
    needs: tuple[str, ...] = ()  # what its script imports besides numpy
    classes: bool = False  # integer class labels


def load(spec: Dataset) -> Data:
    """The dataset a lesson names, by its kind's loader."""
    kind = DATASET_KINDS.get(spec.kind)
    if kind is None:
        raise DataError(f"unknown dataset kind '{spec.kind}'")
    return kind.load(spec)


def _matrix(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim == 1 else a


def _labels(values: Any) -> np.ndarray:
    """Class labels: integers, one per sample."""
    return np.asarray(values, dtype=np.float64).astype(np.int64).reshape(-1)


def _points_load(spec: Dataset) -> Data:
    o = spec.options
    target = _labels if o.get("classes") else _matrix
    xv = _matrix(o["x_val"]) if o.get("x_val") is not None else None
    yv = target(o["y_val"]) if o.get("y_val") is not None else None
    return Data(
        _matrix(o["x"]), target(o["y"]), xv, yv, classes=o.get("classes") or 0, name="points"
    )


def _points_script(spec: Dataset) -> list[str]:
    o, lines = spec.options, []
    for key, name in (("x", "x_train"), ("y", "y_train"), ("x_val", "x_val"), ("y_val", "y_val")):
        if o.get(key) is None:
            lines.append(f"{name} = None")
            continue
        if key.startswith("y") and o.get("classes"):  # class labels
            lines.append(f"{name} = np.array({[int(v) for v in o[key]]!r}, dtype=np.int64)")
            continue
        values = [list(map(float, v)) if isinstance(v, (list, tuple)) else float(v) for v in o[key]]
        flat = not isinstance(o[key][0], (list, tuple))
        lines.append(
            f"{name} = np.array({values!r}, dtype=np.float64)" + (".reshape(-1, 1)" if flat else "")
        )
    return lines


def _points_shape(spec: Dataset) -> tuple[int, int]:
    def width(v: Any) -> int:
        return len(v[0]) if isinstance(v[0], (list, tuple)) else 1

    return width(spec.options["x"]), spec.options.get("classes") or width(spec.options["y"])


def _synthetic_load(spec: Dataset) -> Data:
    from tutor.train.data import synthetic_linear

    return synthetic_linear(**spec.options)


def _synthetic_script(spec: Dataset) -> list[str]:
    o = spec.options
    rand = "rng.rand" if o["x_dist"] == "uniform" else "rng.randn"
    return [
        f"rng = np.random.RandomState({o['seed']})",
        f"x = {rand}({o['n']}, {o['features']})",
        f"y = x @ np.asarray({[float(v) for v in o['w']]!r}, dtype=np.float64) + {float(o['b'])!r}"
        f" + {float(o['noise'])!r} * rng.randn({o['n']})",
        f"idx = np.arange({o['n']})",
        "rng.shuffle(idx)",
        f"train, val = idx[:{o['train']}], idx[{o['train']}:]",
        "y = y.reshape(-1, 1)",
        "x_train, y_train, x_val, y_val = x[train], y[train], x[val], y[val]",
    ]


def _iris_load(spec: Dataset) -> Data:
    from tutor.train.data import iris

    return iris(spec.options["seed"])


def _iris_script(spec: Dataset) -> list[str]:
    return [
        "from sklearn.datasets import load_iris",
        "from sklearn.model_selection import train_test_split",
        "",
        "iris = load_iris()           # versicolor and virginica: setosa removed",
        "keep = iris.target != 0",
        "x = iris.data[keep][:, :2].astype(np.float64)     # sepal length and width",
        "y = iris.data[keep][:, 2:].astype(np.float64)     # petal length and width",
        "x = (x - x.mean(0)) / x.std(0)",
        "y = (y - y.mean(0)) / y.std(0)",
        "x_train, x_val, y_train, y_val = train_test_split(",
        f"    x, y, train_size=0.5, stratify=iris.target[keep], random_state={spec.options['seed']})",
    ]


STANDARDISE = [
    "mean, std = x_train.mean(0), x_train.std(0)",
    "std[std == 0] = 1.0        # pixels that are always blank",
    "x_train, x_val = (x_train - mean) / std, (x_val - mean) / std",
]


def _digits_load(spec: Dataset) -> Data:
    from tutor.train.data import digits

    return digits(spec.options["seed"], spec.options["test_fraction"])


def _split_script(load: list[str], arrays: str, split: str) -> list[str]:
    """A scikit-learn data set's lines: loaded, split by train_test_split, standardised."""
    return [
        "from sklearn.model_selection import train_test_split",
        "",
        *load,
        "x_train, x_val, y_train, y_val = train_test_split(",
        f"    {arrays},",
        f"    {split})",
        *STANDARDISE,
    ]


def _digits_script(spec: Dataset) -> list[str]:
    o = spec.options
    return _split_script(
        ["from sklearn.datasets import load_digits", "", "digits = load_digits()"],
        "digits.data.astype(np.float64), digits.target.astype(np.int64)",
        f"test_size={float(o['test_fraction'])!r}, stratify=digits.target, random_state={o['seed']}",
    )


def _mnist_load(spec: Dataset) -> Data:
    from tutor.train.data import mnist

    return mnist(spec.options["seed"], spec.options["train_size"], spec.options["test_size"])


def _mnist_script(spec: Dataset) -> list[str]:
    o = spec.options
    return _split_script(
        [
            "from sklearn.datasets import fetch_openml",
            "",
            "x, y = fetch_openml('mnist_784', version=1, return_X_y=True, as_frame=False)",
        ],
        "x.astype(np.float64), y.astype(np.int64)",
        f"train_size={o['train_size']}, test_size={o['test_size']}, random_state={o['seed']}",
    )


def _moons_load(spec: Dataset) -> Data:
    from sklearn.datasets import make_moons

    o = spec.options
    x, y = make_moons(n_samples=o["n"], noise=float(o["noise"]), random_state=o["seed"])
    return Data(
        x.astype(np.float64), y.astype(np.float64).reshape(-1, 1), None, None, name="make-moons"
    )


def _moons_script(spec: Dataset) -> list[str]:
    o = spec.options
    return [
        "from sklearn.datasets import make_moons",
        "",
        f"x, y = make_moons(n_samples={o['n']}, noise={float(o['noise'])!r}, random_state={o['seed']})",
        "x_train, y_train = x.astype(np.float64), y.astype(np.float64).reshape(-1, 1)",
        "x_val = y_val = None             # every sample trains",
    ]


def _plane_load(spec: Dataset) -> Data:
    from tutor.train.plane import points

    pts = points(spec, spec.base)
    return Data(
        pts.x_train,
        pts.y_train.reshape(-1, 1),
        pts.x_test,
        pts.y_test.reshape(-1, 1),
        name=pts.name,
    )


def _plane_script(spec: Dataset) -> list[str]:
    # the points themselves: the same numbers the tutor trains on, with no recipe to re-run
    data = _plane_load(spec)
    return [
        f"{name} = np.array({getattr(data, name).tolist()!r}, dtype=np.float64)"
        for name in ("x_train", "y_train", "x_val", "y_val")
    ]


def _names(spec: Dataset) -> tuple[int, int, float]:
    o = spec.options
    return o["block"], o["seed"], float(o["ratio"])


def _names_load(spec: Dataset) -> Data:
    from tutor.train import names

    return names.load(*_names(spec))


def _names_count(spec: Dataset) -> int:
    from tutor.train import names

    return names.train_count(*_names(spec))


def _names_script(spec: Dataset) -> list[str]:
    from tutor.train import names

    return names.script(*_names(spec))


def _plane(kind: str) -> DatasetKind:
    return DatasetKind(
        kind,
        _plane_load,
        lambda spec: (2, 1),
        lambda spec: len(_plane_load(spec).x_train),
        _plane_script,
    )


DATASET_KINDS: dict[str, DatasetKind] = {
    k.name: k
    for k in (
        DatasetKind(
            "points",
            _points_load,
            _points_shape,
            lambda spec: len(spec.options["x"]),
            _points_script,
        ),
        DatasetKind(
            "synthetic-linear",
            _synthetic_load,
            lambda spec: (spec.options["features"], 1),
            lambda spec: spec.options["train"],
            _synthetic_script,
        ),
        DatasetKind(
            "iris",
            _iris_load,
            lambda spec: (2, 2),
            lambda spec: 50,
            _iris_script,
            needs=("scikit-learn",),
        ),
        # scikit-learn's split rule: the test part is rounded up
        DatasetKind(
            "digits",
            _digits_load,
            lambda spec: (64, 10),
            lambda spec: 1797 - math.ceil(1797 * spec.options["test_fraction"]),
            _digits_script,
            needs=("scikit-learn",),
            classes=True,
        ),
        DatasetKind(
            "mnist",
            _mnist_load,
            lambda spec: (784, 10),
            lambda spec: spec.options["train_size"],
            _mnist_script,
            needs=("scikit-learn",),
            classes=True,
        ),
        DatasetKind(
            "make-moons",
            _moons_load,
            lambda spec: (2, 1),
            lambda spec: spec.options["n"],
            _moons_script,
            needs=("scikit-learn",),
        ),
        *(_plane(kind) for kind in (*PLAYGROUND, "csv")),
        DatasetKind(
            "python-names",
            _names_load,
            lambda spec: (spec.options["block"], NAMES_CHARS),
            _names_count,
            _names_script,
            classes=True,
        ),
    )
}
