"""A derivative answer: parsed by the lessons' own safe parser, compared numerically, diagnosed."""

from __future__ import annotations

import math
import re

import numpy as np

from tutor.errors import LessonError
from tutor.exercises.points import Bounded, Domain, Overflow, Points, same
from tutor.exercises.slips import (
    activation_slip,
    missing_branch,
    name_slip,
    on_own_chain,
    other_gradient,
    path_slip,
    times,
)
from tutor.exercises.verdict import NOT_EQUAL, Verdict, typed
from tutor.expr import parse
from tutor.expr.evaluate import evaluate
from tutor.expr.nodes import ONE, Apply, Expr
from tutor.expr.parser import normalise
from tutor.lesson import MAX_MESSAGE, Exercise, Graph, Lesson


def check_derivative(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    from tutor.derive.scalar import local_partials

    graph = lesson.graph
    names = set(graph.leaves + tuple(n.name for n in graph.nodes)) if graph else None
    try:  # the lesson text writes 2(y_pred − y) · x with U+2212 and U+00B7, and learners copy it
        tree = parse(normalise(answer), names=names, key="answer")
    except LessonError as exc:
        dim = re.match(r"unknown name '(\w+)'", exc.message)
        if graph is not None and dim and dim[1] in graph.dims:
            return Verdict(
                False,
                f"{dim[1]} is a size of the batch, but this answer is in the scalar view: one "
                f"sample, so there is no 1/{dim[1]} and no sum over the batch.",
                "batch size",
            )
        return Verdict(False, f"That could not be read: {exc.message}", "syntax")
    expected_tree = parse(ex.answer, names=names)
    points = Points(graph)
    verdict = screen(points, tree, expected_tree)
    if verdict is not None:
        return verdict
    if graph is not None and graph.shapes and ("@" in answer or batch_view(tree)):
        verdict = matrix_shape(graph, ex, tree, strict=batch_view(tree))
        if verdict is not None:
            return verdict
    given, expected = points.values(tree), points.values(expected_tree)
    if same(given, expected):
        return Verdict(True, "Correct: that is the chain rule multiplied out.")
    for wrong, says in ex.mistakes:  # the lesson's own table of known slips
        if same(given, points.values(parse(wrong, names=names))):
            return Verdict(False, says, "known mistake")
    if same(given, [-v for v in expected]):
        return Verdict(False, "Check the sign.", "sign")
    if all(v == 0 for v in given):
        return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")
    verdict = missing_branch(graph, ex.step, points, given)
    if verdict is None:
        verdict = path_slip(graph, ex.step, points, given)
    if verdict is not None:
        return verdict
    verdict = activation_slip(graph, points, tree, expected)
    if verdict is not None:
        return verdict
    verdict = name_slip(graph, points, tree, expected)
    if verdict is not None:
        other = other_gradient(graph, ex, points, given)
        # both fit (w1 for w2 makes ∂L/∂w1's chain equal ∂L/∂w2): the slip, if the answer keeps a
        # factor of the asked chain that the other gradient lacks (the learner was on this chain)
        if other is None or (graph is not None and on_own_chain(graph, ex.step, other, tree)):
            return verdict
    if graph is not None:
        local = local_partials(graph)[0]
        # a missing factor: expected = local × given for one of the chain's local partials
        for (node, inp), lp in local.items():
            if lp != ONE and same(expected, times(points.values(lp), given)):
                return Verdict(
                    False,
                    f"Your answer is missing ∂{node}/∂{inp} = {typed(lp)}.",
                    f"missing ∂{node}/∂{inp}",
                )
        for (node, inp), lp in local.items():
            if lp != ONE and same(given, times(points.values(lp), expected)):
                return Verdict(
                    False,
                    f"Your answer has an extra factor ∂{node}/∂{inp}.",
                    f"extra ∂{node}/∂{inp}",
                )
    verdict = constant_factor(given, expected)
    if verdict is not None:
        return verdict
    other = other_gradient(graph, ex, points, given)
    if (
        other is not None and graph is not None
    ):  # the gradient of another node or parameter (∂L/∂h1 where ∂L/∂w2 was asked)
        out = graph.loss  # the graph's own output: fan-out's is f
        asked = f", not ∂{out}/∂{ex.step}" if ex.step else ""
        return Verdict(False, f"That is ∂{out}/∂{other}{asked}.", f"other ∂L/∂{other}")
    return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")


def batch_view(tree: Expr) -> bool:
    """Written for the batch, not one sample: a transpose or a reduction (an @ alone is also the
    scalar view's product)."""
    return isinstance(tree, Apply) and (
        tree.op in ("T", "sum", "mean") or any(map(batch_view, tree.args))
    )


def screen(points: Points, tree: Expr, expected_tree: Expr) -> Verdict | None:
    """Turn away an answer that overflows, or is undefined where the gradient is defined (log
    of a negative, a division by zero): it is not the gradient, and saying why helps more than
    "not equal"."""
    ops = Bounded()
    compared = defined = 0
    with np.errstate(all="ignore"):
        for env in points.envs:
            try:
                expected = np.asarray(evaluate(expected_tree, env, ops))
            except Exception:  # noqa: BLE001 - the gradient itself is undefined here
                continue
            try:
                given = np.asarray(evaluate(tree, env, ops))
            except Overflow:
                return Verdict(
                    False,
                    "Not equal to the derived gradient: your answer overflows "
                    "(it takes exp of a number above 700).",
                    "too large",
                )
            except Domain:
                if np.all(np.isfinite(expected)):
                    return Verdict(
                        False,
                        "Not equal to the derived gradient: your answer takes a log or square "
                        "root of a negative number where the gradient is defined.",
                        "undefined",
                    )
                continue
            except Exception:  # noqa: BLE001 - not a number here
                continue
            if np.all(np.isfinite(expected)):
                compared += 1
                defined += bool(np.all(np.isfinite(given)))
    if compared and not defined:  # x/0: a relu's 0 in a denominator at some points is fine
        return Verdict(
            False,
            "Not equal to the derived gradient: your answer is undefined (it divides by zero, "
            "say) wherever the gradient is defined.",
            "undefined",
        )
    return None


def constant_factor(given: list[float], expected: list[float]) -> Verdict | None:
    """The chain is right but a whole number k (the 2 of a square) is lost or added: the ratio
    of the two is the same whole number k (or 1/k) at every point."""
    for g, e in zip(
        given, expected, strict=False
    ):  # the first point where both are defined and nonzero
        if math.isfinite(g) and math.isfinite(e) and g and e:
            break
    else:
        return None
    for ratio, missing in ((e / g, True), (g / e, False)):
        k = round(ratio)
        if 2 <= abs(k) <= 100 and abs(ratio - k) < 1e-9 * abs(k):
            if missing and same(expected, [k * v for v in given]):
                return Verdict(
                    False,
                    f"Your answer is missing a constant factor {k}; the rest of the chain is right.",
                    f"factor {k}",
                )
            if not missing and same(given, [k * v for v in expected]):
                return Verdict(
                    False, f"Your answer has an extra constant factor {k}.", f"extra factor {k}"
                )
    return None


def matrix_shape(graph: Graph, ex: Exercise, tree: Expr, strict: bool) -> Verdict | None:
    """A matrix-form answer must have factors that multiply and must not be the transpose of the
    parameter's shape. One written for the batch (`strict`: a transpose or a reduction) is
    checked in that view: it must broadcast and have the parameter's shape (-2*sum(e)*sum(x) is a
    scalar, -2*e*x.T is P×N where ∂L/∂w is P). Otherwise `*` for a product and an implicit sum
    over the batch are the scalar view, and left to the scalar comparison."""
    from tutor.expr.shapes import infer_shapes, shape_of, show

    env = infer_shapes(graph)
    try:
        shape = shape_of(tree, env)
    except LessonError as exc:
        if not strict and "do not multiply" not in exc.message:
            return None
        message = f"In your answer the {exc.message}."
        if len(message) > MAX_MESSAGE:
            message = "In your answer the shapes do not multiply: check where the transposes go."
        return Verdict(False, message, "shape")
    target = env.get(ex.step, ()) if ex.step else ()
    if len(target) == 2 and target[0] != target[1] and shape == target[::-1]:
        return Verdict(
            False,
            f"Your answer is {show(shape)}, but ∂L/∂{ex.step} has the shape of {ex.step}, "
            f"{show(target)}: you have its transpose.",
            "transposed",
        )
    if strict and ex.step and shape != target:
        return Verdict(
            False,
            f"In the batch view your answer is {show(shape)}, but ∂L/∂{ex.step} has the shape of "
            f"{ex.step}, {show(target)}.",
            "shape",
        )
    return None
