"""Value, shape and choice answers."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

import numpy as np

from tutor.errors import LessonError
from tutor.exercises.points import Bounded, Domain, Overflow
from tutor.exercises.verdict import Verdict
from tutor.expr import parse
from tutor.expr.evaluate import evaluate
from tutor.expr.nodes import symbols
from tutor.expr.parser import normalise
from tutor.lesson import LETTERS, Exercise, Lesson

# a choice: one letter, optionally written (b), b) or b.
_CHOICE = re.compile(rf"\(?([{LETTERS}])[).]?")


def echo(text: str, limit: int = 40) -> str:
    """The learner's input, quoted, cut short if it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_value(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    literal = None
    value: float | str
    try:
        value = float(normalise(answer))
        literal = normalise(answer).strip()
    except ValueError:
        value = arithmetic(answer)  # 1 + 0.2, sigmoid(0.4) - 1
        if isinstance(value, str):
            return Verdict(False, value)
    if not math.isfinite(value):
        return Verdict(False, f"expected a finite number, found {echo(answer)}")
    expected = float(ex.answer)
    if abs(value - expected) <= ex.tolerance:
        return Verdict(True, "Correct.")
    rounded = literal is not None and rounds_to(literal, expected)
    if rounded and literal is not None and written_in(lesson, ex, literal):
        return Verdict(True, f"Correct: that is {expected:.12g} as the lesson rounds it.")
    if expected and (abs(value + expected) <= ex.tolerance or rounded_sign(literal, expected)):
        return Verdict(False, "Check the sign.", "sign")
    for wrong, says in ex.mistakes:  # the lesson's own table of known slips
        if abs(value - float(wrong)) <= ex.tolerance:
            return Verdict(False, says, "known mistake")
    if rounded and literal is not None:
        digits = len(Decimal(literal).as_tuple().digits)
        return Verdict(
            False,
            f"Right as far as it goes: {literal} is the answer rounded to {digits} significant "
            f"digits. Give more digits (within ±{ex.tolerance:g}).",
            "more digits",
        )
    return Verdict(False, "Not that value.")


def rounds_to(literal: str, expected: float) -> bool:
    """The number as typed is `expected` rounded at its last written digit (0.00024 for
    0.000244140625): within half a unit of that digit, with at least two significant digits (so
    the rounding is within 5%, and 0.2 is never taken for 0.25)."""
    try:
        d = Decimal(literal)
    except InvalidOperation:
        return False
    if not d.is_finite() or d == 0 or len(d.as_tuple().digits) < 2:
        return False
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number's ('n', 'N', 'F' are not)
    half = float(Decimal(5).scaleb(exponent - 1))  # half a unit in the last place
    return abs(float(d) - expected) <= half * (1 + 1e-9)


def rounded_sign(literal: str | None, expected: float) -> bool:
    """-0.00024 for 0.000244140625: rounded right, with the wrong sign."""
    return literal is not None and rounds_to(
        literal[1:] if literal.startswith("-") else "-" + literal, expected
    )


_ROUNDED = re.compile(r"≈ (-?\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.]*\d)")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.]*\d)")


def written_in(lesson: Lesson, ex: Exercise, literal: str) -> bool:
    """The lesson itself writes the answer so: a number in the exercise's own prompt, hints or
    explanation, or one an Explain page marks as rounded ("≈ 0.00024"). 2.4e-4 counts as 0.00024;
    0.00024 does not count where the lesson says 0.000244."""
    want = Decimal(literal)
    own = " ".join([ex.prompt, ex.explain, *ex.hints]).replace("−", "-")
    pages = " ".join(p.text for p in lesson.explain).replace("−", "-")
    found = _NUMBER.findall(own) + [m for m in _ROUNDED.findall(pages)]
    return any(Decimal(m) == want for m in found)


def arithmetic(answer: str) -> float | str:
    """A value written as arithmetic on numbers (no names), read by the safe parser and worked
    out in float64, or a message saying why it is not one. The parser bounds its size and its
    exponents; Bounded's guards turn exp(1000) or log(-1) into a message, not inf or nan."""
    try:
        tree = parse(normalise(answer), key="answer")
    except LessonError as exc:
        return f"expected a number, found {echo(answer)}: {exc.message}"
    name = next(symbols(tree), None)
    if name is not None:
        return (
            f"expected a number, found the name '{name}': a value exercise wants a number, "
            "or arithmetic on numbers such as 2*(1.2 - 0.5)."
        )
    with np.errstate(all="ignore"):
        try:
            return float(evaluate(tree, {}, Bounded()))
        except Overflow:
            return f"expected a number of sensible size: {echo(answer)} is too large to work out."
        except Domain:
            return (
                f"expected a number: {echo(answer)} takes a log, square root or fractional power "
                "of a negative number."
            )


def dims(text: str) -> list[str] | None:
    """'D x H', 'D×H', 'D * H', '(D, H)', '(P,)' → ['d', 'h']; None if not written as a shape."""
    s = text.strip().lower()
    if s.startswith("(") and s.endswith(")"):  # a numpy shape tuple
        s = s[1:-1].strip().removesuffix(",")
    parts = [p.strip() for p in re.split(r"[x×*,]", s)]
    return parts if all(re.fullmatch(r"\w+", p) for p in parts) else None


def check_shape(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    given, want = dims(answer), dims(ex.answer)
    assert want is not None  # the lesson's answer was checked on loading
    if given is None:
        return Verdict(False, "A shape is written like 'D x H': one name or size per dimension.")
    if given == want:
        return Verdict(True, "Correct.")
    # only an exercise about a gradient (it has a step) can speak of "its parameter"
    if len(want) == 2 and given == want[::-1]:
        if ex.step is not None:
            return Verdict(
                False,
                "That is the transposed shape: a gradient has the shape of its parameter.",
                "transposed",
            )
        return Verdict(
            False, "That is the transposed shape: rows and columns are swapped.", "transposed"
        )
    graph = lesson.graph
    batch = (
        {shape[0].lower() for name, shape in graph.shapes.items() if name in graph.inputs and shape}
        if graph
        else set()
    )
    kept = unsummed(given, want, batch)
    if kept is not None:
        axis, name = kept

        def shape(d: list[str]) -> str:  # as the prompts write a shape
            return " x ".join(x.upper() for x in d)

        return Verdict(
            False,
            f"{shape(given)} still has the {name.upper()} axis (axis {axis}): the parameter is "
            f"{shape(want)}, shared by all {name.upper()} rows of the batch, so its gradient is "
            f"summed over {name.upper()}.",
            f"{name.upper()} not summed",
        )
    if ex.step is not None:
        return Verdict(
            False, "Not that shape. A gradient has the shape of the parameter it belongs to."
        )
    return Verdict(False, "Not that shape.")


def unsummed(given: list[str], want: list[str], batch: set[str]) -> tuple[int, str] | None:
    """A gradient written before its sum over the batch, the axis its parameter was broadcast
    along: N x D for a D-vector such as batch norm's gamma → (0, 'n'), the axis and its name."""
    if len(given) == len(want) + 1:
        for axis in range(len(given)):
            if (
                given[:axis] + given[axis + 1 :] == want
                and given[axis] in batch
                and given[axis] not in want
            ):
                return axis, given[axis]
    return None


def check_choice(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    last = LETTERS[len(ex.choices) - 1]
    m = _CHOICE.fullmatch(answer.lower())
    if m is None or m[1] > last:
        return Verdict(False, f"Answer with one letter, a to {last}.")
    if m[1] == ex.answer:
        return Verdict(True, "Correct.")
    why = ex.why[LETTERS.index(m[1])] if ex.why else ""
    return Verdict(False, f"Not that one: {why}" if why else "Not that one.")
