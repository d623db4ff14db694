"""Naming a wrong gradient's slip: the relations checked on the arrays themselves (a factor of a
dimension's size), and the messages for the slip variants of the reference solution
(template.slip_names) that a learner's result equals."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tutor.expr.nodes import Expr
    from tutor.lesson import Lesson

Close = Callable[[np.ndarray, np.ndarray], bool]  # the comparison a gradient passes by


def _uses(expr: Expr, op: str) -> bool:
    from tutor.expr.nodes import Apply

    return isinstance(expr, Apply) and (expr.op == op or any(_uses(a, op) for a in expr.args))


def _relu_argument(lesson: Lesson, node_name: str) -> str:
    from tutor.code.template import code
    from tutor.expr.nodes import Apply

    assert lesson.graph is not None  # a code exercise's lesson has a graph
    expr = lesson.graph.node(node_name).expr
    return code(expr.args[0]) if isinstance(expr, Apply) and expr.op == "relu" else node_name


def slipped(
    run: Mapping[str, Any],
    seed: int,
    i: int,
    arrays: Mapping[str, np.ndarray],
    g: np.ndarray,
    want: np.ndarray,
    close: Close,
) -> bool:
    """Whether the learner's g is the slip variant's, where the variant differs from the answer."""
    if seed >= len(run["outputs"]) or run["outputs"][seed].get("count") is None:
        return False
    item = run["outputs"][seed]["items"][i]
    if item["type"] != "array" or arrays[item["key"]].shape != g.shape:
        return False
    slipped = np.asarray(arrays[item["key"]], dtype=np.float64)
    return not close(slipped, want) and close(g, slipped)


def factor_of(
    g: np.ndarray, want: np.ndarray, dims: Mapping[str, int], close: Close
) -> tuple[str, int, bool] | None:
    """(dimension, its size, whether g is that much smaller) where g is the answer divided or
    multiplied by one dimension's size (the check sizes are distinct, so the size names it)."""
    for d, n in dims.items():
        if n > 2:  # 2 is the factor-2 slip's
            if close(g * n, want):
                return d, n, True
            if close(g, want * n):
                return d, n, False
    return None


def lost_repeats(
    g: np.ndarray, want: np.ndarray, env: Mapping[str, Any], lesson: Lesson, close: Close
) -> bool:
    """g is right on every row of a lookup table that no index input picks twice, and wrong on a row
    one does: the gradient was written with fancy-index assignment (dC[ix] += dE), which keeps one
    write per repeated row, where a scatter-add (np.add.at) adds them all."""
    from tutor.expr.nodes import Apply, Sym

    labels: set[str] = set()

    def walk(e: Expr) -> None:
        if isinstance(e, Apply):
            if e.op == "onehot" and isinstance(e.args[0], Sym) and e.args[0].name in env:
                labels.add(e.args[0].name)
            for a in e.args:
                walk(a)

    if lesson.graph is None:
        return False
    for node in lesson.graph.nodes:
        walk(node.expr)
    if g.ndim != 2 or not labels:
        return False
    repeated = np.zeros(g.shape[0], dtype=bool)
    for name in labels:
        ix = np.asarray(env[name]).astype(np.int64).reshape(-1)
        if ix.size and (ix.min() < 0 or ix.max() >= g.shape[0]):
            return False  # these indices pick something else, not this table's rows
        repeated |= np.bincount(ix, minlength=g.shape[0]) > 1
    # rows picked once must be right (where every row repeats, nothing tells this slip apart)
    return bool(
        repeated.any()
        and not repeated.all()
        and close(g[~repeated], want[~repeated])
        and not close(g[repeated], want[repeated])
    )


SLIP_VERDICTS = {
    "no-mask": "no-relu-mask",
    "mask-grad": "relu-mask-from-gradient",
    "mask-out": "relu-output-not-mask",
    "cut": "missing-path",
    "drop": "missing-factor",
    "flip": "term-sign",
    "no-T": "missing-transpose",
}


def slip_message(slip: str, name: str, lesson: Lesson) -> tuple[str, str]:
    """(verdict, message) for a learner's result that equals the slip variant `slip`'s."""
    from tutor.code.template import code

    graph = lesson.graph
    assert graph is not None  # a code exercise's lesson has a graph

    kind, _, where = slip.partition(":")
    relu = next((n for n in graph.nodes if _uses(n.expr, "relu")), None)
    arg = _relu_argument(lesson, relu.name) if relu else "z"
    if kind == "no-mask":
        text = (
            f"{name}: the ReLU mask is missing: the gradient must be 0 wherever {arg} < 0 "
            f"(multiply by ({arg} > 0)); your {name} is exactly what passing those entries through gives"
        )
    elif kind == "mask-grad":
        text = (
            f"{name}: the ReLU mask is taken from the gradient: the slope of relu is ({arg} > 0), "
            "the sign of its input, not of the gradient arriving at it"
        )
    elif kind == "mask-out":
        text = (
            f"{name}: the gradient is multiplied by relu's output {relu.name if relu else ''}: multiply by its "
            f"slope ({arg} > 0) instead"
        )
    elif kind == "cut":
        uses = ", ".join(sorted(set(_names(graph.node(where).expr))))
        text = (
            f"{name}: the path through {where} is missing: {where} = {code(graph.node(where).expr)} "
            f"depends on {uses}, so the gradient flows back through it too"
        )
    elif kind == "drop":
        text = f"{name}: {where} is missing: the forward pass multiplies by {where}, so the gradient must too"
    elif kind == "flip":
        var, _, k = where.rpartition(".")
        text = (
            f"{name}: one term of d{var} has the wrong sign (term {int(k) + 1} of the sum over the paths "
            f"from {var} to the loss)"
        )
    else:
        text = f"{name}: a transpose is missing: the shapes fit only because they are equal here; check each .T"
    return SLIP_VERDICTS[kind], text


def _names(expr: Expr) -> Iterator[str]:
    from tutor.expr.nodes import Apply, Sym

    if isinstance(expr, Sym):
        yield expr.name
    elif isinstance(expr, Apply):
        for a in expr.args:
            yield from _names(a)
