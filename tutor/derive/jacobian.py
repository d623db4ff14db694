"""A lesson's [jacobian]: the matrix of every output's partials, its value at the point, and
the vector–Jacobian product that backpropagation really computes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from tutor.derive.steps import Step
from tutor.expr.calculus import diff
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Expr
from tutor.fmt import number
from tutor.lesson import Jacobian


def jacobian_trees(jac: Jacobian) -> list[list[Expr]]:
    return [[diff(o.expr, x) for x in jac.inputs] for o in jac.outputs]


def jacobian_values(jac: Jacobian) -> tuple[np.ndarray, np.ndarray]:
    """J and gᵀJ at the point, as floats."""
    env = {k: np.float64(v) for k, v in jac.point.items()}
    lib = Numpy()
    with np.errstate(all="ignore"):
        J = np.array(
            [[float(evaluate(t, env, lib)) for t in row] for row in jacobian_trees(jac)],
            dtype=np.float64,
        )
    return J, np.asarray(jac.upstream, dtype=np.float64) @ J


def _row(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def jacobian_steps(jac: Jacobian, first: int) -> Iterator[Step]:
    """The three Jacobian steps, numbered from `first`."""
    from tutor.expr.text import pretty

    trees = jacobian_trees(jac)
    m, n = len(jac.outputs), len(jac.inputs)
    outs = ", ".join(o.name for o in jac.outputs)
    ins = ", ".join(jac.inputs)
    J, vjp = jacobian_values(jac)
    bad = not np.all(np.isfinite(J))
    lines = [(f"({outs})", _row(pretty(o.expr) for o in jac.outputs))]
    lines += [
        (f"row {i + 1}: ∂{o.name}/∂({ins})", _row(pretty(t) for t in trees[i]))
        for i, o in enumerate(jac.outputs)
    ]
    yield Step(
        first,
        "jacobian",
        "J",
        f"Jacobian of ({outs}) with respect to ({ins})",
        tuple(lines),
        note=f"Row i holds the gradient of output i; column j how every output moves with input j. "
        f"Shape: M × N = {m} × {n}.",
    )
    point = ", ".join(f"{k} = {number(v)}" for k, v in jac.point.items())
    rows = [(f"row {i + 1}", _row(number(v) for v in J[i])) for i in range(m)]
    note = (
        "Some entries are undefined at this point (a division by zero or a log of a negative)."
        if bad
        else ""
    )
    yield Step(
        first + 1,
        "jacobian",
        "J",
        "The Jacobian at the point",
        (("point", point), *rows),
        note=note,
    )
    yield Step(
        first + 2,
        "jacobian",
        "vjp",
        "Vector–Jacobian product: how a scalar loss's gradient passes through",
        (
            (f"upstream ∂L/∂({outs})", _row(number(u) for u in jac.upstream)),
            (f"∂L/∂({ins}) = (∂L/∂({outs})) · J", _row(number(v) for v in vjp)),
        ),
        note="Backpropagation never builds J for big layers: it multiplies the upstream gradient "
        "by J directly, which is what each layer's backward rule does.",
    )


def jacobian_matrix(jac: Jacobian) -> Any:  # a sympy Matrix
    """J as a sympy Matrix (faithful forms), for tests that prove it symbolically."""
    import sympy

    from tutor.expr.sympy_bridge import to_sympy

    return sympy.Matrix([[to_sympy(t) for t in row] for row in jacobian_trees(jac)])
