"""The [[exercises]] section."""

from __future__ import annotations

import re

from tutor.errors import LessonError
from tutor.expr import parse as parse_expr
from tutor.lesson.limits import MAX_MESSAGE, MAX_MISTAKES
from tutor.lesson.reader import Table
from tutor.lesson.records import Exercise, Graph
from tutor.lesson.vocabulary import EXERCISE_KINDS, ID_RE, LETTERS


def read_exercise(t: Table, names: set[str], graph: Graph | None = None) -> Exercise:
    ex_id = t.take("id", str)
    if not ID_RE.match(ex_id):
        raise LessonError(
            f"'{ex_id}' is not an exercise id (lowercase letters, digits and '-')", key=t.key("id")
        )
    kind = t.choice("kind", EXERCISE_KINDS)
    prompt = t.text("prompt", limit=2000)
    answer = t.take("answer", (str, int, float), "" if kind == "code" else ...)
    wrt = t.names("wrt", ()) if kind == "code" else ()
    step = t.take("step", str, None)
    hints = t.take("hints", list, [])
    if len(hints) > 3 or not all(isinstance(h, str) for h in hints):
        raise LessonError("up to three hints, each a string", key=t.key("hints"))
    tolerance = t.number("tolerance", 1e-6, lo=0.0, hi=1e6)
    choices = t.take("choices", list, [])
    explain = t.text("explain", "", limit=4000)
    why = t.take("why", list, [])
    mistakes = tuple(_mistake(m, kind, names) for m in t.array("mistakes", limit=MAX_MISTAKES))
    t.done()
    if step is not None and names and step not in names:
        raise LessonError(f"'{step}' is not a node or parameter of the graph", key=t.key("step"))
    if kind == "derivative":
        parse_expr(str(answer), names=names or None, key=t.key("answer"))
    elif kind == "value" and not isinstance(answer, (int, float)):
        raise LessonError("a value exercise's answer is a number", key=t.key("answer"))
    elif kind == "choice":
        if not 2 <= len(choices) <= len(LETTERS) or not all(isinstance(c, str) for c in choices):
            raise LessonError(
                f"a choice exercise needs 2 to {len(LETTERS)} choices (strings), one per letter "
                f"a to {LETTERS[-1]}",
                key=t.key("choices"),
            )
        if not (isinstance(answer, str) and answer in LETTERS[: len(choices)] and len(answer) == 1):
            raise LessonError(
                f"the answer is a letter, a to {LETTERS[len(choices) - 1]}", key=t.key("answer")
            )
        if why and (len(why) != len(choices) or not all(isinstance(w, str) for w in why)):
            raise LessonError(f"expected {len(choices)} strings, one per choice", key=t.key("why"))
    elif kind == "shape" and not (
        isinstance(answer, str) and re.match(r"^\s*\w+\s*(x\s*\w+\s*)?$", answer)
    ):
        raise LessonError("a shape is written like 'D x H'", key=t.key("answer"))
    elif kind == "code":
        _code_exercise(wrt, graph, t)
    if why and kind != "choice":
        raise LessonError("only a choice exercise has a reason per choice", key=t.key("why"))
    return Exercise(
        ex_id,
        kind,
        prompt,
        str(answer) if not isinstance(answer, (int, float)) else repr(float(answer)),
        step,
        tuple(hints),
        tolerance,
        tuple(choices),
        explain,
        why=tuple(why),
        mistakes=mistakes,
        wrt=wrt,
    )


def _mistake(t: Table, kind: str, names: set[str]) -> tuple[str, str]:
    """A known wrong answer and what to say to it: an expression for a derivative, a number for
    a value exercise."""
    answer = t.take("answer", (str, int, float))
    says = t.text("says", limit=MAX_MESSAGE)
    t.done()
    if kind == "derivative":
        parse_expr(str(answer), names=names or None, key=t.key("answer"))
    elif kind == "value":
        if isinstance(answer, str):
            raise LessonError("a value exercise's mistake is a number", key=t.key("answer"))
    else:
        raise LessonError(
            "known mistakes belong to derivative and value exercises", key=t.key("answer")
        )
    return (str(answer) if isinstance(answer, str) else repr(float(answer)), says)


def _code_exercise(wrt: tuple[str, ...], graph: Graph | None, t: Table) -> None:
    """A code exercise names what to implement: the gradients (of parameters or nodes) that its
    `backward` function returns, from the graph's inputs and parameters (default: every parameter)."""
    if graph is None:
        raise LessonError(
            "a code exercise needs a [graph]: its function is generated from it", key=t.key("kind")
        )
    for w in wrt:
        if w not in graph.params + tuple(n.name for n in graph.nodes[:-1]):
            raise LessonError(
                f"'{w}' is not a parameter or node of the graph (the loss has no gradient to "
                "return)",
                key=t.key("wrt"),
            )
