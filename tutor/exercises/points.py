"""An expression is known by its values at a few points of the graph, computed in bounded float64."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

import numpy as np

from tutor.exercises.verdict import POINTS, SAME
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Expr
from tutor.expr.ops import Value
from tutor.lesson import Graph


class Overflow(Exception):
    """The answer's value grows past float64 at a sample point: turned away as too large."""


class Domain(Exception):
    """The answer takes a log, square root or fractional power of a negative number there."""


class Bounded(Numpy):
    """float64 evaluation that stops at exp of more than 700 or a power beyond float64, and at a
    log, square root or fractional power of a negative number: such an answer is turned away with
    a reason rather than compared as inf or nan."""

    def apply(self, op: str, args: list[Value]) -> Value:
        np = self.np
        if op == "exp" and np.any(np.asarray(args[0]) > 700):
            raise Overflow
        if op in ("log", "sqrt") and np.any(np.asarray(args[0]) < 0):
            raise Domain
        if op == "pow":
            a, b = args
            if np.any(np.asarray(a) < 0) and not float(b).is_integer():
                raise Domain
            out = super().apply(op, args)
            if np.any((np.abs(out) > 1e300) & (np.abs(a) > 1)):
                raise Overflow
            return out
        return super().apply(op, args)


def random_point(rng: random.Random, names: Iterable[str]) -> dict[str, float]:
    """A value for each name: 0.3 to 1.7 in size, either sign."""
    return {n: rng.uniform(0.3, 1.7) * rng.choice((1, -1)) for n in names}


class Points:
    """The graph's values (leaves and nodes) at a few random points; an expression is known by
    its values there."""

    def __init__(self, graph: Graph | None, seed: int = 0) -> None:
        from tutor.derive.check import forward

        rng = random.Random(seed)
        names = graph.leaves if graph is not None else ()
        raw = [{n: s * 1.7 for n in names} for s in (1, -1)] + [
            random_point(rng, names) for _ in range(POINTS)
        ]
        self.envs: list[dict[str, Any]] = []
        with np.errstate(all="ignore"):
            for point in raw:
                env = (
                    forward(graph, {k: np.float64(v) for k, v in point.items()})
                    if graph is not None
                    else point
                )
                self.envs.append(env)

    def values(self, expr: Expr, lib: Numpy | None = None) -> list[float]:
        """Its value at each point (nan where undefined)."""
        lib = lib or Numpy()
        out: list[float] = []
        with np.errstate(all="ignore"):
            for env in self.envs:
                try:
                    out.append(float(np.sum(evaluate(expr, env, lib))))
                except (Overflow, Domain):
                    raise
                except Exception:  # noqa: BLE001 - undefined here (a name the point lacks, say)
                    out.append(float("nan"))
        return out


def same(a: list[float], b: list[float]) -> bool:
    """Equal wherever both are defined, at two points at least."""
    compared = 0
    for x, y in zip(a, b, strict=False):
        if math.isfinite(x) and math.isfinite(y):
            compared += 1
            if abs(x - y) > SAME * max(1.0, abs(x), abs(y)):
                return False
    return compared >= 2
