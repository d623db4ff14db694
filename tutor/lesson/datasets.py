"""A [train] section's dataset: its kind's options checked, files anchored to the lesson's folder, its
shape known without loading it."""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tutor.errors import LessonError
from tutor.lesson.files import Unreadable, inside, too_large
from tutor.lesson.limits import (
    MAX_CSV_BYTES,
    MAX_CSV_ROWS,
    MAX_NOISE,
    MAX_POINTS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_VALUE,
    MAX_WIDTH,
    NAMES_MAX_BLOCK,
    SAMPLES,
)
from tutor.lesson.reader import Table, kind_of
from tutor.lesson.records import Dataset, Train, Variant
from tutor.lesson.vocabulary import (
    CLASSES,
    DATASETS,
    DIGITS_SHAPE,
    IRIS_SHAPE,
    MNIST_CLASSES,
    MNIST_PIXELS,
    MNIST_TRAIN,
    NAMES_CHARS,
    NAMES_SAMPLES,
    PLAYGROUND,
)


def rows_shape(value: list[Any], key: str, flat_ok: bool = True) -> tuple[int, int]:
    """A matrix of finite numbers within ±MAX_VALUE → (rows, columns): a list of numbers is one
    column (with `flat_ok`), a list of rows must be rectangular. Anything else is refused."""
    if not value:
        raise LessonError("expected at least one number", key=key)
    if all(isinstance(v, list) for v in value):
        width = len(value[0])
        for i, row in enumerate(value):
            if len(row) != width or not row:
                raise LessonError(
                    f"rows must be equally long: row 0 has {width} numbers, row {i} has {len(row)}",
                    key=f"{key}[{i}]",
                )
            for j, v in enumerate(row):
                data_number(v, f"{key}[{i}][{j}]")
        return len(value), width
    if not flat_ok or any(isinstance(v, list) for v in value):
        raise LessonError(
            "expected a list of numbers, or a list of rows of numbers (not a mix)", key=key
        )
    for i, v in enumerate(value):
        data_number(v, f"{key}[{i}]")
    return len(value), 1


def data_number(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise LessonError(f"expected a number, found {kind_of(v)}", key=key)
    if abs(v) > MAX_VALUE:
        raise LessonError(f"{v:g} is outside ±{MAX_VALUE:g}", key=key)
    return float(v)


def all_numbers(value: object, depth: int = 0) -> bool:
    """Numbers nested at most to depth 3 (depth 0: anything up to a matrix of numbers)."""
    if depth > 3:
        return False
    if isinstance(value, list):
        return all(all_numbers(v, depth + 1) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _anchor(dataset: Dataset, folder: Path, key: str) -> Dataset:
    """A "csv" dataset with its folder, once its file is known to lie inside that folder (links
    resolved), to be a regular file, and to be small enough. Reading it checks all this again on
    the opened file (tutor/lesson/files.py): the file may change in between."""
    if dataset.kind != "csv":
        return dataset
    try:
        file = inside(folder, dataset.options["path"])
        info = file.stat()
    except Unreadable as exc:
        raise LessonError(str(exc), key=f"{key}.path") from None
    except OSError:
        raise LessonError(
            f"no file '{dataset.options['path']}' beside the lesson", key=f"{key}.path"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise LessonError("not a regular file (a CSV file of points)", key=f"{key}.path")
    if info.st_size > MAX_CSV_BYTES:
        raise LessonError(too_large(info.st_size, MAX_CSV_BYTES), key=f"{key}.path")
    return replace(dataset, base=folder)


def anchor_train(train: Train, folder: Path) -> Train:
    return replace(train, dataset=_anchor(train.dataset, folder, "train.dataset"))


def anchor_variant(variant: Variant, folder: Path, i: int) -> Variant:
    if "dataset" not in variant.changes:
        return variant
    return replace(
        variant,
        changes={
            **variant.changes,
            "dataset": _anchor(variant.changes["dataset"], folder, f"variants[{i}].dataset"),
        },
    )


Frozen = float | tuple["Frozen", ...]


def freeze(value: Any) -> Frozen:
    return tuple(freeze(v) for v in value) if isinstance(value, list) else float(value)


def read_dataset(t: Table) -> Dataset:
    kind = t.choice("kind", tuple(DATASETS))
    options: dict[str, Any] = {}
    for name, (types, default) in DATASETS[kind].items():
        options[name] = t.take(name, types, default)
    t.done()
    _check_dataset(kind, options, t)
    return Dataset(kind, options)


def _check_dataset(kind: str, o: dict[str, Any], t: Table) -> None:
    if "seed" in o and not 0 <= o["seed"] <= MAX_SEED:
        raise LessonError(f"a seed is within 0..{MAX_SEED}", key=t.key("seed"))
    if kind == "points":
        widths = {}
        for a, b in (("x", "y"), ("x_val", "y_val")):
            if o[a] is None and o[b] is None:
                continue
            if o[a] is None or o[b] is None:
                raise LessonError(f"'{a}' and '{b}' go together", key=t.key(a))
            if len(o[a]) != len(o[b]) or not o[a]:
                raise LessonError(
                    f"'{a}' has {len(o[a])} samples and '{b}' has {len(o[b])}", key=t.key(b)
                )
            if len(o[a]) > MAX_POINTS:
                raise LessonError(
                    f"{len(o[a])} samples; the limit inline is {MAX_POINTS}", key=t.key(a)
                )
            for k in (a, b):
                widths[k] = rows_shape(o[k], t.key(k))[1]
        if o["classes"]:  # y holds class labels: one whole number each, 0..classes − 1
            if not 2 <= o["classes"] <= MAX_WIDTH:
                raise LessonError(f"classes must be within 2..{MAX_WIDTH}", key=t.key("classes"))
            for k in ("y", "y_val"):
                for j, v in enumerate(o[k] or ()):
                    if isinstance(v, list) or not (float(v).is_integer() and 0 <= v < o["classes"]):
                        raise LessonError(
                            f"{k}[{j}] is {v!r}: with classes = {o['classes']} each label is one whole "
                            f"number within 0..{o['classes'] - 1}",
                            key=t.key(k),
                        )
        for k in ("x", "y"):
            if o[f"{k}_val"] is not None and widths[f"{k}_val"] != widths[k]:
                raise LessonError(
                    f"'{k}_val' has {widths[k + '_val']} columns and '{k}' has {widths[k]}",
                    key=t.key(f"{k}_val"),
                )
    elif kind == "synthetic-linear":
        if not 1 <= o["n"] <= MAX_SAMPLES:
            raise LessonError(f"n must be within 1..{MAX_SAMPLES}", key=t.key("n"))
        if not 1 <= o["features"] <= 1000:
            raise LessonError("features must be within 1..1000", key=t.key("features"))
        if o["x_dist"] not in ("uniform", "normal"):
            raise LessonError("'uniform' or 'normal'", key=t.key("x_dist"))
        if len(o["w"]) != o["features"] or any(isinstance(v, list) for v in o["w"]):
            raise LessonError(f"expected {o['features']} numbers, one per feature", key=t.key("w"))
        rows_shape(o["w"], t.key("w"), flat_ok=True)
        for k in ("b", "noise"):
            data_number(o[k], t.key(k))
        if o["noise"] < 0:
            raise LessonError("noise is a standard deviation, at least 0", key=t.key("noise"))
        if not 1 <= o["train"] < o["n"]:
            raise LessonError("train must leave at least one validation sample", key=t.key("train"))
    elif kind == "make-moons":
        if not 2 <= o["n"] <= MAX_SAMPLES:
            raise LessonError(f"n must be within 2..{MAX_SAMPLES}", key=t.key("n"))
        if not 0 <= o["noise"] <= 10:
            raise LessonError(
                "noise is the standard deviation added to each point, within 0..10",
                key=t.key("noise"),
            )
    elif kind == "digits":
        if not 0.05 <= o["test_fraction"] <= 0.95:
            raise LessonError("test_fraction must be within 0.05..0.95", key=t.key("test_fraction"))
    elif kind in PLAYGROUND or kind == "csv":
        if kind != "csv" and not 0 <= o["noise"] <= MAX_NOISE:
            raise LessonError(f"noise is a percentage within 0..{MAX_NOISE}", key=t.key("noise"))
        if not 10 <= o["ratio"] <= 90:
            raise LessonError(
                "ratio is the training share in percent, within 10..90", key=t.key("ratio")
            )
        if kind == "csv":
            p = o["path"]
            if (
                not p
                or p.startswith(("/", "\\"))
                or re.match(r"^[A-Za-z]:", p)
                or ".." in re.split(r"[/\\]", p)
            ):
                raise LessonError(
                    "a path relative to the lesson's folder, without '..'", key=t.key("path")
                )
            if not p.endswith(".csv"):
                raise LessonError("a .csv file", key=t.key("path"))
    elif kind == "python-names":
        if not 1 <= o["block"] <= NAMES_MAX_BLOCK:
            raise LessonError(
                f"block is the context's length in characters, within 1..{NAMES_MAX_BLOCK}",
                key=t.key("block"),
            )
        if not 10 <= o["ratio"] <= 90:
            raise LessonError(
                "ratio is the training share of the names in percent, within 10..90",
                key=t.key("ratio"),
            )
    elif kind == "mnist":
        for k in ("train_size", "test_size"):
            if not 100 <= o[k] <= MNIST_TRAIN:
                raise LessonError(f"{k} must be within 100..{MNIST_TRAIN}", key=t.key(k))


def has_classes(dataset: Dataset) -> bool:
    """Its targets are class labels: digits, mnist, or points with `classes`."""
    return dataset.kind in CLASSES or bool(dataset.options.get("classes"))


def dataset_shape(dataset: Dataset) -> tuple[int, int, int]:
    """(samples, input width, output width) of a dataset, known without loading it."""
    o = dataset.options
    if dataset.kind == "points":

        def width(rows: Sequence[Any]) -> int:
            return len(rows[0]) if isinstance(rows[0], list) else 1

        samples = len(o["x"]) + (len(o["x_val"]) if o.get("x_val") else 0)
        return samples, width(o["x"]), o.get("classes") or width(o["y"])
    if dataset.kind == "synthetic-linear":
        return o["n"], o["features"], 1
    if dataset.kind == "make-moons":
        return o["n"], 2, 1
    if dataset.kind == "iris":
        return IRIS_SHAPE
    if dataset.kind == "digits":
        return DIGITS_SHAPE
    if dataset.kind in PLAYGROUND:
        return SAMPLES, 2, 1
    if dataset.kind == "csv":
        return MAX_CSV_ROWS, 2, 1  # at most
    if dataset.kind == "python-names":
        return NAMES_SAMPLES, o["block"], NAMES_CHARS
    return o["train_size"] + o["test_size"], MNIST_PIXELS, MNIST_CLASSES
