"""A lesson's graph → its derivation: steps produced in order (streamed to a callback as they
come), kept in memory and on disk, and checked three ways by one gradient checker.

    scalar.py    forward, backward (fan-out written out), chain rule, checks
    matrix.py    the matrix form with shapes, for graphs that declare them
    values.py    the forward values and gradients at the lesson's own arrays ([graph.values])
    jacobian.py  a lesson's [jacobian] and its vector–Jacobian product
    check.py     the one gradient checker (autograd, finite differences, CS231n's bands)
    cache.py     the disk cache
    steps.py     Step, Check, Derivation

Imports numpy; sympy loads only to tidy shown forms, torch only for the check.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

from tutor.derive import cache
from tutor.derive.check import rel_error
from tutor.derive.jacobian import jacobian_matrix, jacobian_steps, jacobian_values
from tutor.derive.scalar import (
    SYMBOLIC_BUDGET,
    Budget,
    Cancelled,
    consumers,
    forward_trees,
    forward_values,
)
from tutor.derive.scalar import (
    steps as _scalar,
)
from tutor.derive.steps import Check, Derivation, Step, d
from tutor.expr.nodes import Expr
from tutor.lesson import Graph, Lesson

Emit = Callable[[Step, Derivation], None]

__all__ = [
    "Cancelled",
    "Check",
    "Derivation",
    "Step",
    "d",
    "derive",
    "forward_values",
    "forward_trees",
    "consumers",
    "jacobian_matrix",
    "jacobian_values",
    "rel_error",
]

_MEMORY: dict[str, Derivation] = {}
_LOCK = threading.Lock()
MAX_MEMORY = 32


def derive(
    lesson: Lesson,
    on_step: Emit | None = None,
    use_cache: bool = True,
    cancelled: Callable[[], bool] | None = None,
) -> Derivation:
    """The lesson's derivation. Each step goes to `on_step` as soon as it exists (from memory or
    disk at once when the lesson was derived before). Where `cancelled()` turns true, the
    derivation stops at its next step or node with `Cancelled`, and nothing is kept."""
    emit = on_step or (lambda s, d: None)
    k = cache.key(lesson)
    with _LOCK:
        found = _MEMORY.get(k) if use_cache else None
    if found is None and use_cache:
        found = cache.load(lesson)
    if found is not None:
        for s in found.steps:
            emit(s, found)
        _remember(k, found)
        return found
    deriv = _build(lesson, emit, cancelled)
    _remember(k, deriv)
    if use_cache:
        cache.save(lesson, deriv)
    return deriv


def _remember(k: str, deriv: Derivation) -> None:
    with _LOCK:
        if len(_MEMORY) >= MAX_MEMORY:
            _MEMORY.clear()
        _MEMORY[k] = deriv


def _build(lesson: Lesson, emit: Emit, cancelled: Callable[[], bool] | None = None) -> Derivation:
    g = lesson.graph
    budget = Budget(SYMBOLIC_BUDGET, cancelled)
    if g is None:
        deriv = Derivation(lesson.id, None, [], {}, {})
    else:
        deriv = _scalar(lesson.id, g, emit, budget)
        if g.shapes and deriv.checks:
            budget.go_on()
            _matrix(deriv, g, emit, budget)
        if g.values:
            _values(deriv, g, emit, budget)
    if lesson.jacobian is not None:
        for s in jacobian_steps(lesson.jacobian, len(deriv.steps)):
            deriv.steps.append(s)
            emit(s, deriv)
        J, _ = jacobian_values(lesson.jacobian)
        if not deriv.problem and not all(map(math.isfinite, J.flat)):
            deriv.problem = (
                "the Jacobian is undefined at the point (a division by zero or a log of a negative)"
            )
    return deriv


def _matrix(deriv: Derivation, g: Graph, emit: Emit, budget: Budget) -> None:
    import numpy as np

    from tutor.derive.check import verdict
    from tutor.derive.matrix import matrix_backward

    result = matrix_backward(g, fused=deriv.simplified)

    def add(
        phase: str,
        node: str,
        title: str,
        lines: Sequence[tuple[str, Expr | str]],
        note: str = "",
        check: Check | None = None,
    ) -> None:
        budget.go_on()
        s = Step(len(deriv.steps), phase, node, title, tuple(lines), note, check=check)
        deriv.steps.append(s)
        emit(s, deriv)

    for entry in result.entries:
        add(
            "matrix",
            entry.name,
            f"Matrix form: {d('L', entry.name)}  [{entry.shape}]",
            entry.lines,
            entry.note,
        )
    deriv.matrix_checks = result.checks
    for chk in result.checks:
        lines = (
            ("matrix rule", f"‖g‖ = {np.linalg.norm(chk.symbolic):.10g}"),
            ("torch autograd", f"‖g‖ = {np.linalg.norm(chk.autograd):.10g}"),
            ("finite differences", f"‖g‖ = {np.linalg.norm(chk.numeric):.10g}"),
            ("relative error", f"{chk.rel_error:.2e}"),
        )
        add(
            "check",
            chk.param,
            f"Check the matrix form of ∂L/∂{chk.param} on random data: {verdict(chk)}",
            lines,
            check=chk,
        )


def _values(deriv: Derivation, g: Graph, emit: Emit, budget: Budget) -> None:
    from tutor.derive.values import values_steps

    def add(
        node: str,
        title: str,
        lines: Sequence[tuple[str, Expr | str]],
        note: str = "",
        check: Check | None = None,
        table: object = None,
    ) -> None:
        budget.go_on()
        s = Step(
            len(deriv.steps), "values", node, title, tuple(lines), note, check=check, table=table
        )
        deriv.steps.append(s)
        emit(s, deriv)

    deriv.values_checks = values_steps(g, add)
