"""Shapes of a graph's nodes, as tuples of dimension names ("N", "D"), and their checks.

A scalar is `()`. Elementwise operations broadcast as numpy does; `@` needs matching inner
dimensions; `sum` and `mean` reduce to a scalar.
"""

from __future__ import annotations

from tutor.errors import LessonError
from tutor.mathexpr import Expr, to_text

Shape = tuple[str, ...]


def show(shape: Shape) -> str:
    return "×".join(shape) if shape else "scalar"


def broadcast(a: Shape, b: Shape, what: str) -> Shape:
    if not a:
        return b
    if not b or a == b:
        return a
    long, short = (a, b) if len(a) >= len(b) else (b, a)
    if long[len(long) - len(short):] == short:
        return long
    raise LessonError(f"shapes {show(a)} and {show(b)} do not match for '{what}'")


def shape_of(expr: Expr, env: dict[str, Shape]) -> Shape:
    op = expr[0]
    if op == "num":
        return ()
    if op == "sym":
        return env.get(expr[1], ())
    if op in ("neg", "pow"):
        return shape_of(expr[1], env)
    if op == "T":
        return tuple(reversed(shape_of(expr[1], env)))
    if op == "fn":
        inner = shape_of(expr[2], env)
        return () if expr[1] in ("sum", "mean") else inner
    if op == "matmul":
        a, b = shape_of(expr[1], env), shape_of(expr[2], env)
        if not a or not b:
            return broadcast(a, b, "@")
        if a[-1] != b[0]:
            raise LessonError(
                f"shapes do not multiply: {to_text(expr[1])} is {show(a)} and {to_text(expr[2])} is {show(b)} "
                f"(inner dimensions {a[-1]} and {b[0]} differ)")
        return a[:-1] + b[1:]
    symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/", "max": "max"}[op]
    return broadcast(shape_of(expr[1], env), shape_of(expr[2], env), symbol)


def infer_shapes(graph, upto: int | None = None) -> dict[str, Shape]:
    """Every leaf's and node's shape; raises LessonError at the first node that does not fit."""
    env: dict[str, Shape] = {name: tuple(graph.shapes.get(name, ())) for name in graph.leaves}
    nodes = graph.nodes if upto is None else graph.nodes[: upto + 1]
    for node in nodes:
        env[node.name] = shape_of(node.expr, env)
    return env
