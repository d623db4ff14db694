"""The lesson format: a TOML file becomes typed, validated, immutable records.

Only the standard library and `tutor.expr` are used here (a test holds it: reading a lesson imports
neither torch nor sympy, nor Textual). Every problem is a `LessonError` naming the file, the line and
the dotted key; unknown keys are errors, so a typo is never silently ignored. Lesson files are data
from strangers: they are parsed by `tomllib` and `tutor.expr`, never executed.

    limits.py      every limit, once          vocabulary.py  every word a file may use, once
    records.py     the records                reader.py      a TOML table read key by key
    graph.py       [[explain]], [graph], [jacobian]
    training.py    [train], [[variants]], datasets and their budgets
    exercise.py    [[exercises]]              loading.py     file → Lesson, errors located by line
    listing.py     the shipped lessons        tomlpos.py     the line of a dotted key
    files.py       the one reader of a file a stranger names (regular, bounded, inside a folder)

The names are imported when first used (PEP 562): `from tutor.lesson import DEVICES` (the command
line) and the lesson list, read from its cache (listing.py), do not load the parser, the records
and tomllib; a lesson's first `load` does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.lesson.datasets import dataset_shape
    from tutor.lesson.limits import (
        ADAMW_DECAY,
        MAX_CELLS,
        MAX_CSV_BYTES,
        MAX_CSV_ROWS,
        MAX_DIM,
        MAX_EPOCHS,
        MAX_EXERCISES,
        MAX_FILE_BYTES,
        MAX_INT,
        MAX_LAYERS,
        MAX_MESSAGE,
        MAX_MISTAKES,
        MAX_NODES,
        MAX_NOISE,
        MAX_PAGES,
        MAX_PARAMS,
        MAX_POINTS,
        MAX_SAMPLES,
        MAX_SEED,
        MAX_STEPS,
        MAX_TEXT,
        MAX_VALUE,
        MAX_WIDTH,
        MAX_WORKERS,
        SAMPLES,
        SCHEMA_VERSION,
    )
    from tutor.lesson.listing import Listing, catalogue, lesson_paths, lessons_dir, resolve
    from tutor.lesson.loading import load, loads, read_limited
    from tutor.lesson.records import (
        Dataset,
        Equation,
        Exercise,
        Graph,
        Jacobian,
        Layer,
        Lesson,
        Node,
        Page,
        Train,
        Variant,
    )
    from tutor.lesson.training import check_hidden
    from tutor.lesson.vocabulary import (
        BACKENDS,
        BASELINES,
        CLASSES,
        CLASSIFIERS,
        CLASSIFY,
        DATASETS,
        DEVICES,
        DIGITS_SHAPE,
        DTYPES,
        EXERCISE_KINDS,
        GROUPS,
        ID_RE,
        INITS,
        IRIS_SHAPE,
        LAYER_TYPES,
        LETTERS,
        LOSSES,
        MNIST_CLASSES,
        MNIST_PIXELS,
        MNIST_TRAIN,
        OPTIMIZERS,
        PLAYGROUND,
        REGRESS,
    )

__all__ = [
    "ADAMW_DECAY",
    "MAX_CELLS",
    "MAX_CSV_BYTES",
    "MAX_CSV_ROWS",
    "MAX_DIM",
    "MAX_EPOCHS",
    "MAX_EXERCISES",
    "MAX_FILE_BYTES",
    "MAX_INT",
    "MAX_LAYERS",
    "MAX_MESSAGE",
    "MAX_MISTAKES",
    "MAX_NODES",
    "MAX_NOISE",
    "MAX_PAGES",
    "MAX_PARAMS",
    "MAX_POINTS",
    "MAX_SAMPLES",
    "MAX_SEED",
    "MAX_STEPS",
    "MAX_TEXT",
    "MAX_VALUE",
    "MAX_WIDTH",
    "MAX_WORKERS",
    "SAMPLES",
    "SCHEMA_VERSION",
    "BACKENDS",
    "BASELINES",
    "CLASSES",
    "CLASSIFIERS",
    "CLASSIFY",
    "DATASETS",
    "DEVICES",
    "DIGITS_SHAPE",
    "DTYPES",
    "EXERCISE_KINDS",
    "GROUPS",
    "ID_RE",
    "INITS",
    "IRIS_SHAPE",
    "LAYER_TYPES",
    "LETTERS",
    "LOSSES",
    "MNIST_CLASSES",
    "MNIST_PIXELS",
    "MNIST_TRAIN",
    "OPTIMIZERS",
    "PLAYGROUND",
    "REGRESS",
    "Listing",
    "catalogue",
    "lesson_paths",
    "lessons_dir",
    "resolve",
    "load",
    "loads",
    "read_limited",
    "Dataset",
    "Equation",
    "Exercise",
    "Graph",
    "Jacobian",
    "Layer",
    "Lesson",
    "Node",
    "Page",
    "Train",
    "Variant",
    "check_hidden",
    "dataset_shape",
]

# where __getattr__ looks, cheapest first (a name re-exported by a later module is the same object)
_SUBMODULES = ("vocabulary", "listing", "limits", "records", "training", "loading")


def __getattr__(name: str) -> object:
    if name in __all__:
        for sub in _SUBMODULES:
            module = importlib.import_module(f"{__name__}.{sub}")
            if hasattr(module, name):
                value = getattr(module, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
