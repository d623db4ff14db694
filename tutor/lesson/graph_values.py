"""[graph.values] and [graph.entries]: the teacher's own arrays for a graph's leaves, and the
entries of an array a worked example names.

Each leaf gets rows of numbers listed in the file, or a recipe (`normal`, `uniform`, `zeros`, with a
seed and a scale) that tutor.derive.values draws with numpy's RandomState, as CS231n's notebooks
do. Everything is checked here, before anything is computed: the sizes against [graph.shapes] and
[graph.dims], every number finite, every array (leaves and nodes) within MAX_LEAF_VALUES.
Lesson text never becomes code: numbers are read as TOML numbers, nothing else.
"""

from __future__ import annotations

import math
from typing import Any

from tutor.errors import LessonError
from tutor.expr.nodes import Apply, Expr, Sym
from tutor.expr.ops import ONE_DIM, Shape
from tutor.expr.shapes import infer_shapes, shape_of, show
from tutor.lesson.limits import MAX_LEAF_VALUES, MAX_NAMED_ENTRIES, MAX_SEED, MAX_VALUE
from tutor.lesson.reader import Table, kind_of
from tutor.lesson.records import Graph, LeafValues
from tutor.lesson.vocabulary import RECIPES

Entries = dict[str, tuple[tuple[int, ...], ...]]


def sizes(graph: Graph, shape: Shape) -> tuple[int, ...]:
    """A shape's dimension names as sizes ([graph.dims]; a kept axis "1" is 1)."""
    return tuple(1 if d == ONE_DIM else graph.dims[d] for d in shape)


def label_leaves(graph: Graph) -> dict[str, str]:
    """Leaves that are class labels (onehot's first argument), each with its classes' dimension."""
    shapes = infer_shapes(graph)
    out: dict[str, str] = {}

    def walk(e: Expr) -> None:
        if isinstance(e, Apply):
            if e.op == "onehot" and isinstance(e.args[0], Sym) and e.args[0].name in graph.leaves:
                scores = shape_of(e.args[1], shapes)
                if scores:
                    out[e.args[0].name] = scores[-1]
            for a in e.args:
                walk(a)

    for node in graph.nodes:
        walk(node.expr)
    return out


def read_values(
    values_t: Table | None, entries_t: Table | None, graph: Graph
) -> tuple[dict[str, LeafValues], Entries]:
    """Every leaf's array ([graph.values]) and the named entries ([graph.entries]), checked."""
    if values_t is None:
        if entries_t is not None:
            raise LessonError(
                "named entries need the arrays: give the graph [graph.values]", key=entries_t.path
            )
        return {}, {}
    if not graph.shapes:
        raise LessonError(
            "arrays belong to the matrix form: give the graph [graph.shapes] and [graph.dims]",
            key=values_t.path,
        )
    shapes = infer_shapes(graph)
    labels = label_leaves(graph)
    values: dict[str, LeafValues] = {}
    for name in list(values_t.data):
        if name not in graph.leaves:
            raise LessonError(f"'{name}' is not an input or parameter", key=values_t.key(name))
        shape = sizes(graph, shapes[name])
        _bounded(shape, values_t.key(name), f"{name} is {show(shapes[name])}")
        raw = values_t.take(name, (int, float, list, dict))
        if isinstance(raw, dict):
            if name in labels:
                raise LessonError(
                    f"'{name}' holds class labels: list them (a recipe draws no labels)",
                    key=values_t.key(name),
                )
            values[name] = _recipe(Table(raw, values_t.key(name)), shape)
        else:
            listed = _listed(raw, shape, values_t.key(name), shapes[name], graph)
            if name in labels:
                _labels(listed, sizes(graph, (labels[name],))[0], labels[name], values_t.key(name))
            values[name] = LeafValues(shape, listed=listed)
    values_t.done()
    missing = [n for n in graph.leaves if n not in values]
    if missing:
        raise LessonError(
            f"no array for {', '.join(missing)}: "
            "[graph.values] gives every input and parameter one",
            key=values_t.path,
        )
    for i, node in enumerate(graph.nodes):
        _bounded(
            sizes(graph, shapes[node.name]),
            f"graph.nodes[{i}].expr",
            f"at the arrays' sizes {node.name} is {show(shapes[node.name])}",
        )
    return values, _entries(entries_t, graph, shapes)


def _bounded(shape: tuple[int, ...], key: str, what: str) -> None:
    count = math.prod(shape)
    if count > MAX_LEAF_VALUES:
        raise LessonError(
            f"{what} = {'×'.join(map(str, shape))}, {count:,} entries; the limit is "
            f"{MAX_LEAF_VALUES:,} (MAX_LEAF_VALUES)",
            key=key,
        )


def _recipe(t: Table, shape: tuple[int, ...]) -> LeafValues:
    recipe = t.choice("recipe", RECIPES)
    if recipe == "zeros":
        t.done()
        return LeafValues(shape, recipe="zeros")
    seed = t.integer("seed", lo=0, hi=MAX_SEED)
    scale = t.number("scale", lo=0.0, hi=MAX_VALUE)
    t.done()
    return LeafValues(shape, recipe=recipe, seed=seed, scale=scale)


def _number(v: object, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise LessonError(f"expected a number, found {kind_of(v)}", key=key)
    x = float(v)
    if not math.isfinite(x) or abs(x) > MAX_VALUE:
        raise LessonError(
            f"expected a finite number of size at most {MAX_VALUE:g}, found {x:g}", key=key
        )
    return x


def _listed(raw: Any, shape: tuple[int, ...], key: str, names: Shape, graph: Graph) -> Any:
    """Rows of numbers shaped as the leaf (a number for a scalar leaf), as nested tuples."""
    if not shape:
        return _number(raw, key)

    def dim(i: int) -> str:
        return f"{names[i]} = {shape[i]}" if names[i] != ONE_DIM else "1"

    if not isinstance(raw, list) or len(raw) != shape[0]:
        found = f"{len(raw)}" if isinstance(raw, list) else kind_of(raw)
        what = "rows" if len(shape) == 2 else "numbers"
        raise LessonError(
            f"expected {shape[0]} {what} ({dim(0)}, from [graph.shapes] and [graph.dims]), "
            f"found {found}",
            key=key,
        )
    if len(shape) == 1:
        return tuple(_number(v, f"{key}[{i}]") for i, v in enumerate(raw))
    rows = []
    for i, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != shape[1]:
            found = f"{len(row)}" if isinstance(row, list) else kind_of(row)
            raise LessonError(
                f"row {i} should have {shape[1]} numbers ({dim(1)}), found {found}", key=key
            )
        rows.append(tuple(_number(v, f"{key}[{i}][{j}]") for j, v in enumerate(row)))
    return tuple(rows)


def _labels(listed: Any, classes: int, dim: str, key: str) -> None:
    flat = (
        [listed]
        if isinstance(listed, float)
        else [v for row in listed for v in (row if isinstance(row, tuple) else (row,))]
    )
    for v in flat:
        if v != int(v) or not 0 <= v < classes:
            raise LessonError(
                "a class label must be a whole number from 0 to "
                f"{classes - 1} ({dim} = {classes}), "
                f"found {v:g}",
                key=key,
            )


def _entries(t: Table | None, graph: Graph, shapes: dict[str, Shape]) -> Entries:
    if t is None:
        return {}
    out: Entries = {}
    for name in list(t.data):
        if name not in shapes:
            raise LessonError(f"'{name}' is not an input, parameter or node", key=t.key(name))
        shape = sizes(graph, shapes[name])
        if not shape:
            raise LessonError(f"'{name}' is a scalar: it has no entries to name", key=t.key(name))
        raw = t.take(name, list)
        if not 1 <= len(raw) <= MAX_NAMED_ENTRIES:
            raise LessonError(
                f"name 1 to {MAX_NAMED_ENTRIES} entries (MAX_NAMED_ENTRIES), found {len(raw)}",
                key=t.key(name),
            )
        picked = []
        for i, index in enumerate(raw):
            ok = (
                isinstance(index, list)
                and len(index) == len(shape)
                and all(
                    isinstance(k, int) and not isinstance(k, bool) and 0 <= k < n
                    for k, n in zip(index, shape, strict=True)
                )
            )
            if not ok:
                raise LessonError(
                    f"expected an index of {len(shape)} whole number{'s' * (len(shape) > 1)} "
                    f"within {'×'.join(map(str, shape))} ({show(shapes[name])}), counted from 0, "
                    f"found {repr(index)[:60]}",
                    key=f"{t.key(name)}[{i}]",
                )
            picked.append(tuple(index))
        out[name] = tuple(dict.fromkeys(picked))
    t.done()
    return out
