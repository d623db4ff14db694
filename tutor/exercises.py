"""Checking a learner's answer to an exercise, with a specific response where one can be given.

A derivative answer is parsed by the same safe parser as lesson files and compared with the
lesson's own answer as sympy sees it (`simplify(answer − expected) == 0`, with evaluation at
random points when simplify can't decide). Imports sympy: call it from a worker or headless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor import mathexpr
from tutor.errors import LessonError
from tutor.lesson import Exercise, Lesson


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str
    feedback: str = ""          # the specific diagnosis: missing factor, sign, transposed, ...


def find(lesson: Lesson, exercise_id: str) -> Exercise:
    for ex in lesson.exercises:
        if ex.id == exercise_id:
            return ex
    known = ", ".join(e.id for e in lesson.exercises) or "none"
    raise LessonError(f"unknown exercise '{exercise_id}' (known: {known})")


def check_answer(lesson: Lesson, exercise_id: str, answer: str) -> Verdict:
    ex = find(lesson, exercise_id)
    answer = answer.strip()
    if ex.kind == "derivative":
        return _derivative(lesson, ex, answer)
    if ex.kind == "value":
        try:
            value = float(answer.replace("−", "-"))
        except ValueError:
            return Verdict(False, f"expected a number, found {answer!r}")
        expected = float(ex.answer)
        if abs(value - expected) <= ex.tolerance:
            return Verdict(True, "Correct.")
        if abs(value + expected) <= ex.tolerance and expected:
            return Verdict(False, "Check the sign.", "sign")
        return Verdict(False, "Not that value.")
    if ex.kind == "shape":
        norm = lambda s: re.sub(r"\s+", "", s.lower().replace("×", "x").replace("*", "x"))  # noqa: E731
        if norm(answer) == norm(ex.answer):
            return Verdict(True, "Correct.")
        if "x" in norm(ex.answer) and norm(answer) == "x".join(reversed(norm(ex.answer).split("x"))):
            return Verdict(False, "That is the transposed shape: a gradient has the shape of its parameter.",
                           "transposed")
        return Verdict(False, "Not that shape. A gradient has the shape of the parameter it belongs to.")
    letter = answer.lower()[:1]
    if letter == ex.answer:
        return Verdict(True, "Correct.")
    return Verdict(False, "Not that one.")


def typed(expr) -> str:
    """An expression as a learner would type it: the ReLU indicator as step(z)."""
    import sympy

    def as_step(pw):
        cond = pw.args[0].cond
        if pw.args[0].expr == 1 and pw.args[1].expr == 0 and isinstance(cond, sympy.StrictGreaterThan) \
                and cond.rhs == 0:
            return sympy.Function("step")(cond.lhs)
        return pw

    return sympy.sstr(expr.replace(lambda e: isinstance(e, sympy.Piecewise), as_step))


def _derivative(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    import sympy

    from tutor import symbolic

    names = set(lesson.graph.leaves + tuple(n.name for n in lesson.graph.nodes)) if lesson.graph else None
    try:
        given = symbolic.to_sympy(mathexpr.parse(answer, names=names, key="answer"))
    except LessonError as exc:
        return Verdict(False, f"That could not be read: {exc.message}", "syntax")
    expected = symbolic.to_sympy(mathexpr.parse(ex.answer, names=names))
    if lesson.graph is not None:
        # an answer may use node names (y_pred) or what they stand for (w*x): compare in the leaves
        from tutor.derive import forward_substitution

        leaves = forward_substitution(lesson.graph)
        given, expected = given.xreplace(leaves), expected.xreplace(leaves)
    free = sorted(str(s) for s in (given.free_symbols | expected.free_symbols))
    if symbolic.is_zero(given - expected, free):
        return Verdict(True, "Correct: that is the chain rule multiplied out.")
    if symbolic.is_zero(given + expected, free):
        return Verdict(False, "Check the sign.", "sign")
    # a missing factor: expected / given is one of the chain's local partials
    if lesson.graph is not None and given != 0:
        from tutor.derive import derive

        deriv = derive(lesson)
        for (node, inp), local in deriv.local.items():
            local_leaves = local.xreplace(leaves)
            if local != 1 and symbolic.is_zero(expected - local_leaves * given, free):
                return Verdict(False, f"Your answer is missing ∂{node}/∂{inp} = {typed(local)}.",
                               f"missing ∂{node}/∂{inp}")
        for (node, inp), local in deriv.local.items():
            if local != 1 and symbolic.is_zero(given - local.xreplace(leaves) * expected, free):
                return Verdict(False, f"Your answer has an extra factor ∂{node}/∂{inp}.", f"extra ∂{node}/∂{inp}")
    return Verdict(False, "Not equal to the derived gradient. Write out the chain factor by factor.")
