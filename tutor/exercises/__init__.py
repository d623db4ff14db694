"""Checking a learner's answer to an exercise, with a specific response where one can be given.

A derivative answer is parsed by the same safe parser as lesson files and compared with the
lesson's own answer numerically, in float64, at random points of the graph (every leaf drawn,
every node computed from them, so an answer may use node names or what they stand for). Each
comparison is a few hundred float operations: no answer, however absurd, can hold the checker,
and it never imports sympy or torch. A wrong answer is then diagnosed: sign, an activation
written where its derivative belongs, a missing or extra chain factor, a lost constant, another
node's gradient; matrix answers are shape-checked. A value answer is a number or arithmetic on
numbers, worked out in float64.

    answers.py     value, shape and choice answers
    points.py      the graph's values at sample points, bounded float64 evaluation
    derivative.py  a derivative answer: parsed, compared, diagnosed
    slips.py       the diagnoses: a name, an activation or a chain factor slipped
    verdict.py     the answer to an answer, and the figures answers are compared by
"""

from __future__ import annotations

from dataclasses import replace

from tutor.errors import LessonError
from tutor.exercises.verdict import Verdict, typed
from tutor.lesson import MAX_MESSAGE, Exercise, Lesson

__all__ = ["Verdict", "check_answer", "find", "typed"]


def find(lesson: Lesson, exercise_id: str) -> Exercise:
    for ex in lesson.exercises:
        if ex.id == exercise_id:
            return ex
    known = ", ".join(e.id for e in lesson.exercises) or "none"
    raise LessonError(f"unknown exercise '{exercise_id}' (known: {known})")


def check_answer(lesson: Lesson, exercise_id: str, answer: str) -> Verdict:
    ex = find(lesson, exercise_id)
    if ex.kind == "code":
        raise LessonError(f"'{ex.id}' is a code exercise: check a file with --code {ex.id}=FILE.py")
    from tutor.exercises.answers import check_choice, check_shape, check_value
    from tutor.exercises.derivative import check_derivative

    check = {
        "derivative": check_derivative,
        "value": check_value,
        "shape": check_shape,
        "choice": check_choice,
    }[ex.kind]
    verdict = check(lesson, ex, answer.strip())
    if len(verdict.message) > MAX_MESSAGE:  # e.g. a parser error quoting a 1000-letter name
        verdict = replace(verdict, message=verdict.message[: MAX_MESSAGE - 1] + "…")
    return verdict
