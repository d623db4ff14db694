"""Checking a learner's answer to an exercise, with a specific response where one can be given.

A derivative answer is parsed by the same safe parser as lesson files, evaluated once in
float64 (to turn away answers sympy could not evaluate in time), checked for shapes where it is
written in matrix form, and compared with the lesson's own answer as sympy sees it (evaluation
at random points, `simplify` where no point is defined). A wrong answer is then diagnosed: sign,
an activation written where its derivative belongs, a missing or extra chain factor, a lost
constant, another node's gradient. A value answer is a number or arithmetic on numbers, worked
out in float64. Imports sympy: call it from a worker or headless.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace
from itertools import islice

import numpy as np

from tutor import mathexpr
from tutor.errors import LessonError
from tutor.lesson import Exercise, Lesson
from tutor.numeric import NumpyOps

MAX_MESSAGE = 200            # a response is a sentence, never a long echo of the input
LETTERS = "abcdefgh"         # a choice exercise's letters (lesson.py allows up to eight choices)
# a choice: one letter, optionally written (b), b) or b.
_CHOICE = re.compile(r"\(?([a-h])[).]?")
# what evaluating a legal but absurd answer at a point can raise (mpmath runs out of memory on
# exp of a huge number)
_UNDEFINED = (TypeError, ValueError, ArithmeticError, MemoryError, RecursionError)
NOT_EQUAL = "Not equal to the derived gradient."
# functions whose derivative a learner may write as the function itself (relu(z1) for step(z1))
_ACTIVATIONS = ("relu", "sigmoid", "tanh")
MAX_SLIPS = 8                # such swaps tried in one answer, each one more comparison in sympy


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
    check = {"derivative": _derivative, "value": _value, "shape": _shape, "choice": _choice}[ex.kind]
    verdict = check(lesson, ex, answer.strip())
    if len(verdict.message) > MAX_MESSAGE:       # e.g. a parser error quoting a 1000-letter name
        verdict = replace(verdict, message=verdict.message[: MAX_MESSAGE - 1] + "…")
    return verdict


def _echo(text: str, limit: int = 40) -> str:
    """The learner's input, quoted, cut short if it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _value(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    try:
        value = float(answer.replace("−", "-"))
    except ValueError:
        value = _arithmetic(answer)         # 1 + 0.2, sigmoid(0.4) - 1
        if isinstance(value, str):
            return Verdict(False, value)
    if not math.isfinite(value):
        return Verdict(False, f"expected a finite number, found {_echo(answer)}")
    expected = float(ex.answer)
    if abs(value - expected) <= ex.tolerance:
        return Verdict(True, "Correct.")
    if abs(value + expected) <= ex.tolerance and expected:
        return Verdict(False, "Check the sign.", "sign")
    return Verdict(False, "Not that value.")


def _arithmetic(answer: str) -> float | str:
    """A value written as arithmetic on numbers (no names), read by the safe parser and worked
    out in float64, or a message saying why it is not one. The parser bounds its size and its
    exponents; _Bounded's guards turn exp(1000) or log(-1) into a message, not inf or nan."""
    try:
        tree = mathexpr.parse(answer.replace("−", "-").replace("·", "*"), key="answer")
    except LessonError as exc:
        return f"expected a number, found {_echo(answer)}: {exc.message}"
    name = next(mathexpr.symbols(tree), None)
    if name is not None:
        return (f"expected a number, found the name '{name}': a value exercise wants a number, "
                "or arithmetic on numbers such as 2*(1.2 - 0.5).")
    with np.errstate(all="ignore"):
        try:
            return float(mathexpr.evaluate(tree, {}, _Bounded()))
        except _Overflow:
            return f"expected a number of sensible size: {_echo(answer)} is too large to work out."
        except _Domain:
            return (f"expected a number: {_echo(answer)} takes a log, square root or fractional power "
                    "of a negative number.")


def _dims(text: str) -> list[str] | None:
    """'D x H', 'D×H', 'D * H', '(D, H)', '(P,)' → ['d', 'h']; None if not written as a shape."""
    s = text.strip().lower()
    if s.startswith("(") and s.endswith(")"):          # a numpy shape tuple
        s = s[1:-1].strip().removesuffix(",")
    parts = [p.strip() for p in re.split(r"[x×*,]", s)]
    return parts if all(re.fullmatch(r"\w+", p) for p in parts) else None


def _shape(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    given, want = _dims(answer), _dims(ex.answer)
    if given is None:
        return Verdict(False, "A shape is written like 'D x H': one name or size per dimension.")
    if given == want:
        return Verdict(True, "Correct.")
    # only an exercise about a gradient (it has a step) can speak of "its parameter"
    if len(want) == 2 and given == want[::-1]:
        if ex.step is not None:
            return Verdict(False, "That is the transposed shape: a gradient has the shape of its parameter.",
                           "transposed")
        return Verdict(False, "That is the transposed shape: rows and columns are swapped.", "transposed")
    if ex.step is not None:
        return Verdict(False, "Not that shape. A gradient has the shape of the parameter it belongs to.")
    return Verdict(False, "Not that shape.")


def _choice(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    last = LETTERS[len(ex.choices) - 1]
    m = _CHOICE.fullmatch(answer.lower())
    if m is None or m[1] > last:
        return Verdict(False, f"Answer with one letter, a to {last}.")
    if m[1] == ex.answer:
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


def _equal(a, b) -> bool:
    """a − b is identically zero. An answer too big to evaluate (exp(exp(exp(w)))) is not equal."""
    from tutor import symbolic

    diff = a - b
    try:
        return symbolic.is_zero(diff, sorted(str(s) for s in diff.free_symbols))
    except _UNDEFINED:
        return False


def _derivative(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    from tutor import symbolic

    graph = lesson.graph
    names = set(graph.leaves + tuple(n.name for n in graph.nodes)) if graph else None
    # the lesson text writes 2(y_pred − y) · x with U+2212 and U+00B7, and learners copy it
    answer = answer.replace("−", "-").replace("·", "*")
    try:
        tree = mathexpr.parse(answer, names=names, key="answer")
    except LessonError as exc:
        return Verdict(False, f"That could not be read: {exc.message}", "syntax")
    expected_tree = mathexpr.parse(ex.answer, names=names)
    if graph is not None:
        verdict = _screen(graph, tree, expected_tree)
        if verdict is not None:
            return verdict
    if graph is not None and graph.shapes and ("@" in answer or ".T" in answer):
        verdict = _matrix_shape(graph, ex, tree)
        if verdict is not None:
            return verdict
    given = symbolic.to_sympy(tree)
    expected = symbolic.to_sympy(expected_tree)
    leaves = {}
    if graph is not None:
        # an answer may use node names (y_pred) or what they stand for (w*x): compare in the leaves
        from tutor.derive import forward_substitution

        leaves = forward_substitution(graph)
        given, expected = given.xreplace(leaves), expected.xreplace(leaves)
    if _equal(given, expected):
        return Verdict(True, "Correct: that is the chain rule multiplied out.")
    if _equal(given, -expected):
        return Verdict(False, "Check the sign.", "sign")
    if given == 0:
        return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")
    verdict = _activation_slip(graph, tree, expected, leaves)
    if verdict is not None:
        return verdict
    deriv = None
    if graph is not None:
        from tutor.derive import derive

        deriv = derive(lesson)
        # a missing factor: expected / given is one of the chain's local partials
        for (node, inp), local in deriv.local.items():
            if local != 1 and _equal(expected, local.xreplace(leaves) * given):
                return Verdict(False, f"Your answer is missing ∂{node}/∂{inp} = {typed(local)}.",
                               f"missing ∂{node}/∂{inp}")
        for (node, inp), local in deriv.local.items():
            if local != 1 and _equal(given, local.xreplace(leaves) * expected):
                return Verdict(False, f"Your answer has an extra factor ∂{node}/∂{inp}.", f"extra ∂{node}/∂{inp}")
    verdict = _constant_factor(given, expected)
    if verdict is not None:
        return verdict
    if deriv is not None:
        # the gradient of another node or parameter (∂L/∂h1 where ∂L/∂w2 was asked)
        for name, grad in deriv.grad_exprs.items():
            if name not in (ex.step, graph.loss) and _equal(given, grad.xreplace(leaves)):
                asked = f", not ∂L/∂{ex.step}" if ex.step else ""
                return Verdict(False, f"That is ∂L/∂{name}{asked}.", f"other ∂L/∂{name}")
    return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")


def _activation_slip(graph, tree, expected, leaves) -> Verdict | None:
    """The activation written where its derivative belongs (relu(z1) for step(z1), or the node
    h1 = relu(z1) for it), or step(u) where relu(u) belongs: the answer with that one part
    swapped is the gradient. Checked before the chain factors, which would read relu(z1) for
    step(z1) as an extra factor h1 = ∂z2/∂w2 (relu(z1) = h1·step(z1))."""
    from tutor import symbolic

    nodes = {}                 # node name → its expression, for nodes that apply an activation
    for node in graph.nodes if graph is not None else ():
        if node.expr[0] == "fn" and node.expr[1] in _ACTIVATIONS:
            nodes[node.name] = node.expr
    for swapped, part in islice(_swaps(tree, nodes), MAX_SLIPS):
        if _equal(symbolic.to_sympy(swapped).xreplace(leaves), expected):
            return _slip_verdict(part, nodes)
    return None


def _swapped(part, nodes):
    """`part` of an answer with an activation put as its derivative, or step as relu; None if
    it is neither. Where the answer names a node (p = sigmoid(z)), the derivative uses the name:
    p*(1 - p)."""
    if part[0] == "sym" and part[1] in nodes:
        act, u = nodes[part[1]][1:]
    elif part[0] == "fn" and part[1] in _ACTIVATIONS:
        act, u = part[1:]
    elif part[0] == "fn" and part[1] == "step":
        return ("fn", "relu", part[2])
    else:
        return None
    one = ("num", 1.0)
    if act == "relu":
        return ("fn", "step", u)
    if act == "sigmoid":
        return ("mul", part, ("sub", one, part))
    return ("sub", one, ("pow", part, ("num", 2.0)))          # tanh


def _swaps(tree, nodes):
    """Each tree that differs from `tree` in one part swapped by _swapped, with that part. Not
    in a denominator: a chain factor multiplies, and h1/step(z1) would pass for h1 (they differ
    only where step(z1) is 0 and the quotient is undefined)."""
    new = _swapped(tree, nodes)
    if new is not None:
        yield new, tree
    below = 2 if tree[0] == "div" else 1 if tree[0] == "pow" and tree[2][1] < 0 else None
    for i, arg in enumerate(tree):
        if isinstance(arg, tuple) and i != below:
            for sub, part in _swaps(arg, nodes):
                yield tree[:i] + (sub,) + tree[i + 1:], part


def _slip_verdict(part, nodes) -> Verdict:
    from tutor import symbolic

    if part[0] == "sym":
        act, u = nodes[part[1]][1:]
    else:
        act, u = part[1:]
    a = typed(symbolic.to_sympy(u))
    short = len(a) <= 40
    a = a if short else "…"
    if act == "step":
        held = next((n for n, e in nodes.items() if e == ("fn", "relu", u)), None)
        value = f"{held} = relu({a})" if held else f"relu({a})"
        return Verdict(False, f"step({a}) is the derivative of relu; the activation itself, {value}, belongs here.",
                       "derivative for activation")
    value = f"{act}({a})"
    what = f"{part[1]} = {value}" if part[0] == "sym" else value
    name = part[1] if part[0] == "sym" else value
    deriv = {"relu": f"step({a})" + (f" (1 where {a} > 0)" if short else ""),
             "sigmoid": f"{name}*(1 - {name})", "tanh": f"1 - {name}**2"}[act]
    return Verdict(False, f"{what} is the activation itself; its derivative {deriv} belongs here.",
                   "activation for derivative")


def _random_point(rng: random.Random, names) -> dict[str, float]:
    """A value for each name, as symbolic.is_zero draws them: 0.3 to 1.7 in size, either sign."""
    return {n: rng.uniform(0.3, 1.7) * rng.choice((1, -1)) for n in names}


class _Overflow(Exception):
    """The answer's value grows past float64 at a sample point: turned away as too large."""


class _Domain(Exception):
    """The answer takes a log, square root or fractional power of a negative number there."""


class _Bounded(NumpyOps):
    """float64 evaluation that stops at exp of more than 700 or a power beyond float64, where
    sympy's exact evaluation would not finish (mpmath works for minutes on exp(exp(exp(exp(w))))),
    and at a log, square root or fractional power of a negative number."""

    def fn(self, name, a):
        if name == "exp" and np.any(np.asarray(a) > 700):
            raise _Overflow
        if name in ("log", "sqrt") and np.any(np.asarray(a) < 0):
            raise _Domain
        return super().fn(name, a)

    def power(self, a, b):
        if np.any(np.asarray(a) < 0) and not float(b).is_integer():
            raise _Domain
        out = super().power(a, b)
        if np.any((np.abs(out) > 1e300) & (np.abs(a) > 1)):
            raise _Overflow
        return out


def _screen(graph, tree, expected_tree) -> Verdict | None:
    """Evaluate the answer in float64 before sympy does, at points like those sympy checks (each
    leaf within ±1.7) and at the corners where every leaf is 1.7 or −1.7. An answer that
    overflows would hold sympy for minutes; one undefined where the gradient is defined (log of
    a negative) is not the gradient, and sympy, comparing only where both are defined, could
    find no point left and fall back on a slow simplify, or too few and be fooled."""
    from tutor.derive import forward_values

    rng = random.Random(0)
    points = [{n: s * 1.7 for n in graph.leaves} for s in (1, -1)]
    points += [_random_point(rng, graph.leaves) for _ in range(8)]
    ops = _Bounded()
    compared = defined = 0
    with np.errstate(all="ignore"):
        for point in points:
            try:
                env = forward_values(graph, point)
                expected = mathexpr.evaluate(expected_tree, env, ops)
            except Exception:  # noqa: BLE001 - the gradient itself is undefined here
                continue
            try:
                given = mathexpr.evaluate(tree, env, ops)
            except _Overflow:
                return Verdict(False, "Not equal to the derived gradient: your answer overflows "
                                      "(it takes exp of a number above 700).", "too large")
            except _Domain:
                if np.all(np.isfinite(expected)):
                    return Verdict(False, "Not equal to the derived gradient: your answer takes a log or square "
                                          "root of a negative number where the gradient is defined.", "undefined")
                continue
            except Exception:  # noqa: BLE001 - not a number here: sympy decides
                continue
            if np.all(np.isfinite(expected)):
                compared += 1
                defined += bool(np.all(np.isfinite(given)))
    if compared and not defined:      # x/0: a relu's 0 in a denominator at some points is fine
        return Verdict(False, "Not equal to the derived gradient: your answer is undefined (it divides by zero, "
                              "say) wherever the gradient is defined.", "undefined")
    return None


def _constant_factor(given, expected) -> Verdict | None:
    """The chain is right but a whole number k (the 2 of a square) is lost or added: the ratio
    of the two, read at one point, is k or 1/k, and the answer times k (or 1/k) is right."""
    from tutor import symbolic

    names = sorted(str(s) for s in given.free_symbols | expected.free_symbols)
    rng = random.Random(1)
    for _ in range(3):          # the first point where both are defined and nonzero
        env = _random_point(rng, names)
        try:                    # each on its own: exp(-exp(exp(w))) of a ratio can exhaust memory
            g, e = symbolic.value(given, env), symbolic.value(expected, env)
        except _UNDEFINED:
            continue
        if math.isfinite(g) and math.isfinite(e) and g and e:
            break
    else:
        return None
    for ratio, missing in ((e / g, True), (g / e, False)):
        k = round(ratio)
        if 2 <= abs(k) <= 100 and abs(ratio - k) < 1e-9 * abs(k):
            if missing and _equal(expected, k * given):
                return Verdict(False, f"Your answer is missing a constant factor {k}; the rest of the chain is right.",
                               f"factor {k}")
            if not missing and _equal(given, k * expected):
                return Verdict(False, f"Your answer has an extra constant factor {k}.", f"extra factor {k}")
    return None


def _matrix_shape(graph, ex: Exercise, tree) -> Verdict | None:
    """A matrix-form answer (`@`, `.T`) must have factors that multiply, and must not be the
    transpose of the parameter's shape. Other shape differences are left to the scalar
    comparison: `*` for a product and an implicit sum over the batch are the scalar view."""
    from tutor.shapes import infer_shapes, shape_of, show

    env = infer_shapes(graph)
    try:
        shape = shape_of(tree, env)
    except LessonError as exc:
        if "do not multiply" not in exc.message:      # broadcasting: `*` written for a product
            return None
        message = f"In your answer the {exc.message}."
        if len(message) > MAX_MESSAGE:
            message = "In your answer the shapes do not multiply: check where the transposes go."
        return Verdict(False, message, "shape")
    target = env.get(ex.step, ()) if ex.step else ()
    if len(target) == 2 and target[0] != target[1] and shape == target[::-1]:
        return Verdict(False, f"Your answer is {show(shape)}, but ∂L/∂{ex.step} has the shape of {ex.step}, "
                              f"{show(target)}: you have its transpose.", "transposed")
    return None
