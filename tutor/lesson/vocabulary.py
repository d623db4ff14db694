"""The words a lesson file may use: backends, losses, layers, datasets, exercise kinds. Defined once;
the trainer, the views and the command line import them from here."""

from __future__ import annotations

import re
from typing import Any

# TF Playground's 2-D data sets (tutor/train/plane.py): classification, then regression
CLASSIFY = ("circle", "xor", "gauss", "spiral", "moons")
REGRESS = ("plane", "multi-gauss")
PLAYGROUND = CLASSIFY + REGRESS
BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")
BASELINES = ("sklearn-linear", "sklearn-logistic", "sklearn-mlp")
CLASSIFIERS = ("sklearn-logistic", "sklearn-mlp")  # baselines that need class labels
CLASSES = ("digits", "mnist", "python-names")  # the datasets that have them
LOSSES = ("sse", "mse", "bce", "ce", "nll", "ce-sum", "hinge", "max-margin")
CLASS_LOSSES = ("ce", "nll", "ce-sum", "hinge")  # the losses whose targets are class indices
BINARY_LOSSES = ("bce", "max-margin")  # losses of one output and labels 0, 1
OPTIMIZERS = ("gd", "sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "linear", "cosine")  # the lr schedules of [train]
LAYER_TYPES = (
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "batchnorm",
    "gelu",
    "gelu_tanh",
    "silu",
    "softplus",
    "layernorm",
    "dropout",
    "residual",
    "embedding",
)
NORM_LAYERS = ("batchnorm", "layernorm")  # a scale gamma and a shift beta per feature
PARAM_LAYERS = ("linear", *NORM_LAYERS, "embedding")  # the layer types that own parameters
INITS = (
    "randn",
    "zeros",
    "torch",
    "uniform",
    "xavier",
    "he",
)  # [train]'s init, every layer's default
LAYER_INITS = INITS + ("normal",)  # a layer's own: "normal" takes a `std`
DTYPES = ("float32", "float64")
RECIPES = ("normal", "uniform", "zeros")  # how [graph.values] draws a leaf's array
DEVICES = ("cpu", "cuda", "mps", "auto")
DATASETS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    # kind: {field: (types, default)}; a default of ... means required
    "points": {
        "x": (list, ...),
        "y": (list, ...),
        "x_val": (list, None),
        "y_val": (list, None),
        "classes": (int, 0),
    },
    "synthetic-linear": {
        "n": (int, 100),
        "features": (int, 1),
        "x_dist": (str, "uniform"),
        "w": (list, ...),
        "b": ((int, float), 0.0),
        "noise": ((int, float), 0.1),
        "seed": (int, 42),
        "train": (int, 80),
    },
    "iris": {"seed": (int, 0)},
    "digits": {"seed": (int, 0), "test_fraction": ((int, float), 0.3)},
    "mnist": {"seed": (int, 0), "train_size": (int, 5000), "test_size": (int, 10000)},
    # the playground's 2-D sets (tutor/train/plane.py): noise and ratio in percent
    **{
        kind: {"noise": ((int, float), 0.0), "ratio": ((int, float), 50.0), "seed": (int, 0)}
        for kind in PLAYGROUND
    },
    # scikit-learn's make_moons as micrograd's demo draws it: every sample trains, labels 0 and 1
    "make-moons": {"n": (int, 100), "noise": ((int, float), 0.1), "seed": (int, 0)},
    # x1, x2, label (or target) rows in a file beside the lesson
    "csv": {"path": (str, ...), "ratio": ((int, float), 50.0), "seed": (int, 0)},
    # makemore's character contexts over the names Python ships (tutor/train/names.py): `block`
    # characters before each one predict it; the names are split, `ratio` percent train
    "python-names": {"block": (int, 3), "seed": (int, 0), "ratio": ((int, float), 80.0)},
}
# What the named data sets hold, known without loading them: (samples, input width, outputs)
IRIS_SHAPE = (100, 2, 2)  # setosa against versicolor, two of the four measurements
DIGITS_SHAPE = (1797, 64, 10)
MNIST_PIXELS, MNIST_CLASSES = 784, 10
MNIST_TRAIN = 60_000  # the largest split a lesson may ask for
# python-names (tutor/train/data/python_names.txt): its samples (one per character and end of
# its 398 names) and its characters (the end token '.' and 31 others); tests/unit/test_names.py
# checks both
NAMES_SAMPLES, NAMES_CHARS = 3392, 32
# The lesson list's groups, in the order it shows them: the course notebooks' lessons, then the rest
GROUPS = ("The course", "Further topics", "Modern networks")
EXERCISE_KINDS = ("derivative", "value", "shape", "choice", "code")
LETTERS = "abcdefgh"  # a choice exercise's letters: at most eight choices
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
