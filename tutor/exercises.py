"""Checking a learner's answer to an exercise, with a specific response where one can be given.

A derivative answer is parsed by the same safe parser as lesson files and compared with the
lesson's own answer numerically, in float64, at random points of the graph (every leaf drawn,
every node computed from them, so an answer may use node names or what they stand for). Each
comparison is a few hundred float operations: no answer, however absurd, can hold the checker,
and it never imports sympy or torch. A wrong answer is then diagnosed: sign, an activation
written where its derivative belongs, a missing or extra chain factor, a lost constant, another
node's gradient; matrix answers are shape-checked. A value answer is a number or arithmetic on
numbers, worked out in float64.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace
from itertools import islice

import numpy as np

from tutor.errors import LessonError
from tutor.expr import parse
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import ONE, Apply, Expr, Num, Sym, call, mul, power, sub, symbols
from tutor.expr.parser import normalise
from tutor.expr.text import pretty
from tutor.lesson import LETTERS, MAX_MESSAGE, Exercise, Lesson

# a choice: one letter, optionally written (b), b) or b.
_CHOICE = re.compile(r"\(?([a-h])[).]?")
NOT_EQUAL = "Not equal to the derived gradient."
# functions whose derivative a learner may write as the function itself (relu(z1) for step(z1))
_ACTIVATIONS = ("relu", "sigmoid", "tanh")
MAX_SLIPS = 8                # such swaps tried in one answer
POINTS = 8                   # random points an answer is compared at (besides two corners)
SAME = 1e-7                  # relative difference below which two values are the same


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
    if ex.kind == "code":
        raise LessonError(f"'{ex.id}' is a code exercise: check a file with --code {ex.id}=FILE.py")
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
        value = float(normalise(answer))
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
    for wrong, says in ex.mistakes:             # the lesson's own table of known slips
        if abs(value - float(wrong)) <= ex.tolerance:
            return Verdict(False, says, "known mistake")
    return Verdict(False, "Not that value.")


def _arithmetic(answer: str) -> float | str:
    """A value written as arithmetic on numbers (no names), read by the safe parser and worked
    out in float64, or a message saying why it is not one. The parser bounds its size and its
    exponents; _Bounded's guards turn exp(1000) or log(-1) into a message, not inf or nan."""
    try:
        tree = parse(normalise(answer), key="answer")
    except LessonError as exc:
        return f"expected a number, found {_echo(answer)}: {exc.message}"
    name = next(symbols(tree), None)
    if name is not None:
        return (f"expected a number, found the name '{name}': a value exercise wants a number, "
                "or arithmetic on numbers such as 2*(1.2 - 0.5).")
    with np.errstate(all="ignore"):
        try:
            return float(evaluate(tree, {}, _Bounded()))
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
    why = ex.why[LETTERS.index(m[1])] if ex.why else ""
    return Verdict(False, f"Not that one: {why}" if why else "Not that one.")


def typed(expr: Expr) -> str:
    """An expression as a learner would type it: 2*(z2 - y)*step(z1)."""
    return pretty(expr, ascii=True)


class _Overflow(Exception):
    """The answer's value grows past float64 at a sample point: turned away as too large."""


class _Domain(Exception):
    """The answer takes a log, square root or fractional power of a negative number there."""


class _Bounded(Numpy):
    """float64 evaluation that stops at exp of more than 700 or a power beyond float64, and at a
    log, square root or fractional power of a negative number: such an answer is turned away with
    a reason rather than compared as inf or nan."""

    def apply(self, op, args):
        np = self.np
        if op == "exp" and np.any(np.asarray(args[0]) > 700):
            raise _Overflow
        if op in ("log", "sqrt") and np.any(np.asarray(args[0]) < 0):
            raise _Domain
        if op == "pow":
            a, b = args
            if np.any(np.asarray(a) < 0) and not float(b).is_integer():
                raise _Domain
            out = super().apply(op, args)
            if np.any((np.abs(out) > 1e300) & (np.abs(a) > 1)):
                raise _Overflow
            return out
        return super().apply(op, args)


def _random_point(rng: random.Random, names) -> dict[str, float]:
    """A value for each name: 0.3 to 1.7 in size, either sign."""
    return {n: rng.uniform(0.3, 1.7) * rng.choice((1, -1)) for n in names}


class _Points:
    """The graph's values (leaves and nodes) at a few random points; an expression is known by
    its values there."""

    def __init__(self, graph, seed: int = 0):
        from tutor.derive.check import forward

        rng = random.Random(seed)
        names = graph.leaves if graph is not None else ()
        raw = [{n: s * 1.7 for n in names} for s in (1, -1)] + [_random_point(rng, names) for _ in range(POINTS)]
        self.envs = []
        with np.errstate(all="ignore"):
            for point in raw:
                env = forward(graph, {k: np.float64(v) for k, v in point.items()}) if graph is not None else point
                self.envs.append(env)

    def values(self, expr: Expr, lib=None) -> list[float]:
        """Its value at each point (nan where undefined)."""
        lib = lib or Numpy()
        out = []
        with np.errstate(all="ignore"):
            for env in self.envs:
                try:
                    out.append(float(np.sum(evaluate(expr, env, lib))))
                except (_Overflow, _Domain):
                    raise
                except Exception:  # noqa: BLE001 - undefined here (a name the point lacks, say)
                    out.append(float("nan"))
        return out


def _same(a: list[float], b: list[float]) -> bool:
    """Equal wherever both are defined, at two points at least."""
    compared = 0
    for x, y in zip(a, b):
        if math.isfinite(x) and math.isfinite(y):
            compared += 1
            if abs(x - y) > SAME * max(1.0, abs(x), abs(y)):
                return False
    return compared >= 2


def _derivative(lesson: Lesson, ex: Exercise, answer: str) -> Verdict:
    from tutor.derive.scalar import local_partials

    graph = lesson.graph
    names = set(graph.leaves + tuple(n.name for n in graph.nodes)) if graph else None
    try:       # the lesson text writes 2(y_pred − y) · x with U+2212 and U+00B7, and learners copy it
        tree = parse(normalise(answer), names=names, key="answer")
    except LessonError as exc:
        dim = re.match(r"unknown name '(\w+)'", exc.message)
        if graph is not None and dim and dim[1] in graph.dims:
            return Verdict(False, f"{dim[1]} is a size of the batch, but this answer is in the scalar view: one "
                                  f"sample, so there is no 1/{dim[1]} and no sum over the batch.", "batch size")
        return Verdict(False, f"That could not be read: {exc.message}", "syntax")
    expected_tree = parse(ex.answer, names=names)
    points = _Points(graph)
    verdict = _screen(points, tree, expected_tree)
    if verdict is not None:
        return verdict
    if graph is not None and graph.shapes and ("@" in answer or _batch_view(tree)):
        verdict = _matrix_shape(graph, ex, tree, strict=_batch_view(tree))
        if verdict is not None:
            return verdict
    given, expected = points.values(tree), points.values(expected_tree)
    if _same(given, expected):
        return Verdict(True, "Correct: that is the chain rule multiplied out.")
    for wrong, says in ex.mistakes:             # the lesson's own table of known slips
        if _same(given, points.values(parse(wrong, names=names))):
            return Verdict(False, says, "known mistake")
    if _same(given, [-v for v in expected]):
        return Verdict(False, "Check the sign.", "sign")
    if all(v == 0 for v in given):
        return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")
    verdict = _activation_slip(graph, points, tree, expected)
    if verdict is not None:
        return verdict
    verdict = _name_slip(graph, points, tree, expected)
    if verdict is not None:
        other = _other_gradient(graph, ex, points, given)
        # both fit (w1 for w2 makes ∂L/∂w1's chain equal ∂L/∂w2): the slip, if the answer keeps a
        # factor of the asked chain that the other gradient lacks (the learner was on this chain)
        if other is None or _on_own_chain(graph, ex.step, other, tree):
            return verdict
    if graph is not None:
        local = local_partials(graph)[0]
        # a missing factor: expected = local × given for one of the chain's local partials
        for (node, inp), lp in local.items():
            if lp != ONE and _same(expected, _times(points.values(lp), given)):
                return Verdict(False, f"Your answer is missing ∂{node}/∂{inp} = {typed(lp)}.", f"missing ∂{node}/∂{inp}")
        for (node, inp), lp in local.items():
            if lp != ONE and _same(given, _times(points.values(lp), expected)):
                return Verdict(False, f"Your answer has an extra factor ∂{node}/∂{inp}.", f"extra ∂{node}/∂{inp}")
    verdict = _constant_factor(given, expected)
    if verdict is not None:
        return verdict
    other = _other_gradient(graph, ex, points, given)
    if other is not None:          # the gradient of another node or parameter (∂L/∂h1 where ∂L/∂w2 was asked)
        asked = f", not ∂L/∂{ex.step}" if ex.step else ""
        return Verdict(False, f"That is ∂L/∂{other}{asked}.", f"other ∂L/∂{other}")
    return Verdict(False, f"{NOT_EQUAL} Write out the chain factor by factor.")


def _other_gradient(graph, ex: Exercise, points: _Points, given: list[float]) -> str | None:
    from tutor.derive.scalar import gradient_trees

    if graph is None:
        return None
    for name, grad in gradient_trees(graph).items():
        if grad is not None and name not in (ex.step, graph.loss) and _same(given, points.values(grad)):
            return name
    return None


def _chain_factors(graph, name: str) -> set:
    """The local partials on every path from `name` to the loss."""
    from tutor.derive.scalar import consumers, local_partials

    local = local_partials(graph)[0]
    used_by = consumers(graph)
    out, todo, seen = set(), [name], set()
    while todo:
        here = todo.pop()
        for c in used_by.get(here, ()):
            out.add(local[(c, here)])
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return {f for f in out if not isinstance(f, Num)}


def _subtrees(tree: Expr):
    yield tree
    if isinstance(tree, Apply):
        for a in tree.args:
            yield from _subtrees(a)


def _on_own_chain(graph, asked: str | None, other: str, tree: Expr) -> bool:
    if asked is None:
        return False
    own = _chain_factors(graph, asked) - _chain_factors(graph, other)
    return any(t in own for t in _subtrees(tree))


def _batch_view(tree: Expr) -> bool:
    """Written for the batch, not one sample: a transpose or a reduction (an @ alone is also the
    scalar view's product)."""
    return isinstance(tree, Apply) and (tree.op in ("T", "sum", "mean") or any(map(_batch_view, tree.args)))


def _name_slip(graph, points: _Points, tree: Expr, expected: list[float]) -> Verdict | None:
    """One name written where another belongs: the pre-activation z1 for the layer's input
    h1 = relu(z1), w1 for w2 when passing back through a layer, w for x. The answer with every
    appearance of that one name replaced by the other is the gradient."""
    if graph is None:
        return None
    from tutor.expr.nodes import substitute

    used = list(dict.fromkeys(symbols(tree)))
    names = list(graph.leaves) + [n.name for n in graph.nodes]
    for wrong in used:
        for right in names:
            if right == wrong or right == graph.loss:
                continue
            try:
                if _same(points.values(substitute(tree, {wrong: Sym(right)})), expected):
                    return Verdict(False, f"You wrote {wrong} where {right} belongs ({_what(graph, right)}).",
                                   f"{wrong} for {right}")
            except (_Overflow, _Domain):
                continue
    return None


def _what(graph, name: str) -> str:
    if name in graph.params:
        return f"{name} is a parameter"
    if name in graph.inputs:
        return f"{name} is an input"
    return f"{name} = {typed(graph.node(name).expr)}"


def _times(a: list[float], b: list[float]) -> list[float]:
    return [x * y for x, y in zip(a, b)]


def _activation_slip(graph, points: _Points, tree: Expr, expected: list[float]) -> Verdict | None:
    """The activation written where its derivative belongs (relu(z1) for step(z1), or the node
    h1 = relu(z1) for it), or step(u) where relu(u) belongs: the answer with that one part
    swapped is the gradient. Checked before the chain factors, which would read relu(z1) for
    step(z1) as an extra factor h1 = ∂z2/∂w2 (relu(z1) = h1·step(z1))."""
    nodes = {}                 # node name → its expression, for nodes that apply an activation
    for node in graph.nodes if graph is not None else ():
        if isinstance(node.expr, Apply) and node.expr.op in _ACTIVATIONS:
            nodes[node.name] = node.expr
    for swapped, part in islice(_swaps(tree, nodes), MAX_SLIPS):
        try:
            if _same(points.values(swapped), expected):
                return _slip_verdict(part, nodes)
        except (_Overflow, _Domain):
            continue
    return None


def _swapped(part: Expr, nodes) -> Expr | None:
    """`part` of an answer with an activation put as its derivative, or step as relu; None if
    it is neither. Where the answer names a node (p = sigmoid(z)), the derivative uses the name:
    p*(1 - p)."""
    if isinstance(part, Sym) and part.name in nodes:
        act, u = nodes[part.name].op, nodes[part.name].args[0]
    elif isinstance(part, Apply) and part.op in _ACTIVATIONS:
        act, u = part.op, part.args[0]
    elif isinstance(part, Apply) and part.op == "step":
        return call("relu", part.args[0])
    else:
        return None
    if act == "relu":
        return call("step", u)
    if act == "sigmoid":
        return mul(part, sub(ONE, part))
    return sub(ONE, power(part, 2))                    # tanh


def _swaps(tree: Expr, nodes):
    """Each tree that differs from `tree` in one part swapped by _swapped, with that part. Not
    in a denominator: a chain factor multiplies, and h1/step(z1) would pass for h1 (they differ
    only where step(z1) is 0 and the quotient is undefined)."""
    new = _swapped(tree, nodes)
    if new is not None:
        yield new, tree
    if not isinstance(tree, Apply):
        return
    below = 1 if tree.op == "div" else 0 if tree.op == "pow" and tree.args[1].value < 0 else None
    for i, arg in enumerate(tree.args):
        if i != below:
            for sub_tree, part in _swaps(arg, nodes):
                yield Apply(tree.op, tree.args[:i] + (sub_tree,) + tree.args[i + 1:]), part


def _slip_verdict(part: Expr, nodes) -> Verdict:
    if isinstance(part, Sym):
        act, u = nodes[part.name].op, nodes[part.name].args[0]
    else:
        act, u = part.op, part.args[0]
    a = typed(u)
    short = len(a) <= 40
    a = a if short else "…"
    if act == "step":
        held = next((n for n, e in nodes.items() if e == call("relu", u)), None)
        value = f"{held} = relu({a})" if held else f"relu({a})"
        return Verdict(False, f"step({a}) is the derivative of relu; the activation itself, {value}, belongs here.",
                       "derivative for activation")
    value = f"{act}({a})"
    what = f"{part.name} = {value}" if isinstance(part, Sym) else value
    name = part.name if isinstance(part, Sym) else value
    deriv = {"relu": f"step({a})" + (f" (1 where {a} > 0)" if short else ""),
             "sigmoid": f"{name}*(1 - {name})", "tanh": f"1 - {name}**2"}[act]
    return Verdict(False, f"{what} is the activation itself; its derivative {deriv} belongs here.",
                   "activation for derivative")


def _screen(points: _Points, tree: Expr, expected_tree: Expr) -> Verdict | None:
    """Turn away an answer that overflows, or is undefined where the gradient is defined (log
    of a negative, a division by zero): it is not the gradient, and saying why helps more than
    "not equal"."""
    ops = _Bounded()
    compared = defined = 0
    with np.errstate(all="ignore"):
        for env in points.envs:
            try:
                expected = np.asarray(evaluate(expected_tree, env, ops))
            except Exception:  # noqa: BLE001 - the gradient itself is undefined here
                continue
            try:
                given = np.asarray(evaluate(tree, env, ops))
            except _Overflow:
                return Verdict(False, "Not equal to the derived gradient: your answer overflows "
                                      "(it takes exp of a number above 700).", "too large")
            except _Domain:
                if np.all(np.isfinite(expected)):
                    return Verdict(False, "Not equal to the derived gradient: your answer takes a log or square "
                                          "root of a negative number where the gradient is defined.", "undefined")
                continue
            except Exception:  # noqa: BLE001 - not a number here
                continue
            if np.all(np.isfinite(expected)):
                compared += 1
                defined += bool(np.all(np.isfinite(given)))
    if compared and not defined:      # x/0: a relu's 0 in a denominator at some points is fine
        return Verdict(False, "Not equal to the derived gradient: your answer is undefined (it divides by zero, "
                              "say) wherever the gradient is defined.", "undefined")
    return None


def _constant_factor(given: list[float], expected: list[float]) -> Verdict | None:
    """The chain is right but a whole number k (the 2 of a square) is lost or added: the ratio
    of the two is the same whole number k (or 1/k) at every point."""
    for g, e in zip(given, expected):          # the first point where both are defined and nonzero
        if math.isfinite(g) and math.isfinite(e) and g and e:
            break
    else:
        return None
    for ratio, missing in ((e / g, True), (g / e, False)):
        k = round(ratio)
        if 2 <= abs(k) <= 100 and abs(ratio - k) < 1e-9 * abs(k):
            if missing and _same(expected, [k * v for v in given]):
                return Verdict(False, f"Your answer is missing a constant factor {k}; the rest of the chain is right.",
                               f"factor {k}")
            if not missing and _same(given, [k * v for v in expected]):
                return Verdict(False, f"Your answer has an extra constant factor {k}.", f"extra factor {k}")
    return None


def _matrix_shape(graph, ex: Exercise, tree: Expr, strict: bool) -> Verdict | None:
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
        return Verdict(False, f"Your answer is {show(shape)}, but ∂L/∂{ex.step} has the shape of {ex.step}, "
                              f"{show(target)}: you have its transpose.", "transposed")
    if strict and ex.step and shape != target:
        return Verdict(False, f"In the batch view your answer is {show(shape)}, but ∂L/∂{ex.step} has the shape of "
                              f"{ex.step}, {show(target)}.", "shape")
    return None
