"""Shapes of a graph's nodes, as tuples of dimension names ("N", "D"), by each operation's rule.

A scalar is `()`. Elementwise operations broadcast as numpy does; `@` needs two arrays with
matching inner dimensions; `sum` and `mean` reduce to a scalar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from tutor.errors import LessonError
from tutor.expr.nodes import Expr, Num, Sym, fold
from tutor.expr.ops import OPS, Shape, ShapeError, show_shape
from tutor.expr.text import to_text

show = show_shape


def shape_of(expr: Expr, env: dict[str, Shape]) -> Shape:
    """The shape of `expr` (each distinct node once); raises LessonError naming the operation that does not fit."""
    return fold(expr, lambda e, shapes: _shape(e, shapes, env))


def _shape(expr: Expr, shapes: list[Shape], env: dict[str, Shape]) -> Shape:
    if isinstance(expr, Num):
        return ()
    if isinstance(expr, Sym):
        return env.get(expr.name, ())
    try:
        return OPS[expr.op].shape(*shapes)
    except ShapeError as exc:
        if expr.op == "matmul" and all(shapes):  # name the two factors
            (a, b), (sa, sb) = expr.args, shapes
            raise LessonError(
                f"shapes do not multiply: {_short(a)} is {show(sa)} and {_short(b)} is {show(sb)} "
                f"(inner dimensions {sa[-1]} and {sb[0]} differ)"
            ) from None
        raise LessonError(f"{exc} in {_short(expr)}") from None


def _short(expr: Expr) -> str:
    return to_text(expr, limit=60)


class _Node(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def expr(self) -> Expr: ...


class ShapedGraph(Protocol):
    """What shape inference reads of a lesson's graph (tutor.lesson.graph.Graph has it)."""

    @property
    def leaves(self) -> Iterable[str]: ...
    @property
    def shapes(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def nodes(self) -> Sequence[_Node]: ...


def infer_shapes(graph: ShapedGraph, upto: int | None = None) -> dict[str, Shape]:
    """Every leaf's and node's shape; raises LessonError at the first node that does not fit."""
    env: dict[str, Shape] = {name: tuple(graph.shapes.get(name, ())) for name in graph.leaves}
    nodes = graph.nodes if upto is None else graph.nodes[: upto + 1]
    for node in nodes:
        env[node.name] = shape_of(node.expr, env)
    return env
