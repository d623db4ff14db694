"""Exercises: `tutor.exercises.check_answer(lesson, exercise_id, answer) -> Verdict`.

Two layers of tests:

* tests generated from the lesson files, so that a new exercise is covered as soon as it is
  written: its own answer is accepted; a sign error, a dropped last chain factor, a transposed
  shape and the other letters are rejected with their specific response; typographic symbols
  copied from the lesson text are read; hostile input is rejected safely, quickly and with a
  message that says what is wrong;
* an explicit table, `TABLE`, with, for every exercise of every lesson, the wrong answers a
  learner plausibly gives and the exact (or precisely specified) response each one must get,
  and rewritings that must be accepted.

Every call to `check_answer` runs under a deadline, so that an answer which sends sympy into a
long computation fails its test instead of hanging the suite. One headless test per kind goes
through the CLI (`--answer ID=EXPR --json`)."""

from __future__ import annotations

import functools
import re
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.support import LESSONS_DIR
from tutor.errors import LessonError
from tutor.exercises import Verdict, check_answer
from tutor.lesson import load

ANSWER_SECONDS = 30  # a hang guard for ordinary answers (mlp-digits takes several seconds)


HOSTILE_SECONDS = 10  # hostile or absurd input must be turned away within this


MAX_MESSAGE = 200  # a response is a sentence, not an echo of 3000 characters


class Deadline(BaseException):
    """Raised by the alarm. A BaseException, so that `except Exception` inside sympy or the
    checker cannot swallow it and carry on computing."""


@contextmanager
def deadline(seconds: float, what: str):
    """Fail (raise Deadline) if the body runs longer than `seconds`.

    pytest-timeout's signal method uses the same SIGALRM timer: its handler and remaining time
    are put back afterwards."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not POSIX
        yield
        return

    def alarm(signum, frame):
        raise Deadline(f"{what}: no answer within {seconds} s")

    start = time.monotonic()
    old_handler = signal.signal(signal.SIGALRM, alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay > 0:
            left = old_delay - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), old_interval)


@functools.cache
def lesson(lesson_id: str):
    return load(LESSONS_DIR / f"{lesson_id}.toml")


def lesson_ids() -> list[str]:
    return sorted(p.stem for p in LESSONS_DIR.glob("*.toml"))


def exercise(lesson_id: str, ex_id: str):
    return next(e for e in lesson(lesson_id).exercises if e.id == ex_id)


def all_exercises() -> list[tuple[str, str, str]]:
    """(lesson id, exercise id, kind) for every typed-answer exercise of every lesson file (code
    exercises run the learner's file: tests/test_code_exercise.py)."""
    out = []
    for lid in lesson_ids():
        for ex in lesson(lid).exercises:
            if ex.kind != "code":
                out.append((lid, ex.id, ex.kind))
    return out


def check(lesson_id: str, ex_id: str, answer: str, seconds: float = ANSWER_SECONDS) -> Verdict:
    with deadline(seconds, f"{lesson_id}/{ex_id} {answer[:60]!r}"):
        verdict = check_answer(lesson(lesson_id), ex_id, answer)
    assert isinstance(verdict, Verdict)
    assert isinstance(verdict.correct, bool)
    assert isinstance(verdict.message, str) and verdict.message
    assert isinstance(verdict.feedback, str)
    return verdict


def last_letter(lesson_id: str, ex_id: str) -> str:
    return "abcdefgh"[len(exercise(lesson_id, ex_id).choices) - 1]


def ids(params) -> list[str]:
    return ["/".join(str(x)[:48] for x in p) for p in params]


@dataclass(frozen=True)
class Expect:
    """The response a wrong answer must get. `message`/`feedback`: exact; `contains`: substrings
    of the message; `feedback_contains`: a substring of the feedback; `absent`: substrings the
    message must not have."""

    message: str | None = None
    feedback: str | None = None
    contains: tuple[str, ...] = ()
    feedback_contains: str | None = None
    absent: tuple[str, ...] = ()

    def verify(self, v: Verdict, where: str) -> None:
        assert v.correct is False, f"{where}: accepted as correct ({v.message!r})"
        got = f"{where}: got message {v.message!r}, feedback {v.feedback!r}"
        if self.message is not None:
            assert v.message == self.message, got
        if self.feedback is not None:
            assert v.feedback == self.feedback, got
        for s in self.contains:
            assert s in v.message, f"{got}; expected the message to contain {s!r}"
        if self.feedback_contains is not None:
            assert self.feedback_contains in v.feedback, (
                f"{got}; expected the feedback to contain {self.feedback_contains!r}"
            )
        for s in self.absent:
            assert s not in v.message, f"{got}; the message should not say {s!r}"


# derivative exercises
GENERIC = Expect("Not equal to the derived gradient. Write out the chain factor by factor.", "")


SIGN = Expect("Check the sign.", "sign")


def missing(node: str, inp: str, local: str) -> Expect:
    return Expect(f"Your answer is missing ∂{node}/∂{inp} = {local}.", f"missing ∂{node}/∂{inp}")


def extra(node: str, inp: str) -> Expect:
    return Expect(f"Your answer has an extra factor ∂{node}/∂{inp}.", f"extra ∂{node}/∂{inp}")


def factor(k: int) -> Expect:
    """The chain is right but a constant is lost (typically the 2 of the square): the answer is
    1/k of the gradient. Feedback `factor k`, and the message names the factor."""
    return Expect(feedback=f"factor {k}", contains=(f"factor {k}",))


def other(name: str) -> Expect:
    """The answer is exactly the gradient of another node or parameter (∂L/∂h1 where ∂L/∂w2 was
    asked): say which one it is."""
    return Expect(contains=(f"∂L/∂{name}",), feedback_contains=f"∂L/∂{name}")


def slip(wrong: str, right: str, what: str) -> Expect:
    """One name written where another belongs (issue 19): w for x, z1 for h1, w1 for w2."""
    return Expect(f"You wrote {wrong} where {right} belongs ({what}).", f"{wrong} for {right}")


def activation(written: str, derivative: str) -> Expect:
    """An activation (or the node that holds it) written where its derivative belongs: relu(z1)
    for step(z1). Diagnosed before the chain factors, which would read it as an extra factor."""
    return Expect(
        f"{written} is the activation itself; its derivative {derivative} belongs here.",
        "activation for derivative",
    )


def derivative_slip(written: str, value: str) -> Expect:
    """step(u), ReLU's derivative, written where the activation relu(u) belongs."""
    return Expect(
        f"{written} is the derivative of relu; the activation itself, {value}, belongs here.",
        "derivative for activation",
    )


RELU_FOR_STEP = activation("relu(z1)", "step(z1) (1 where z1 > 0)")


H1_FOR_STEP = activation("h1 = relu(z1)", "step(z1) (1 where z1 > 0)")


STEP_FOR_H1 = derivative_slip("step(z1)", "h1 = relu(z1)")


SIGMOID_FOR_SLOPE = activation("sigmoid(z)", "sigmoid(z)*(1 - sigmoid(z))")


def branch(have: str, miss: str, why: str) -> Expect:
    """An answer that sums some of a fanned-out variable's paths, not all: the missing ones named."""
    verb = "is" if miss.startswith("path ") else "are"
    return Expect(f"You have the {have}; the {miss} {verb} missing: {why}", f"missing {miss}")


X_USES = "x is used by num, sigx and xpy, and its gradient is the sum over all three."


Y_USES = "y is used by sigy and xpy, and its gradient is the sum over both."


W_STEPS = "w is used by h1, h2 and h3, and its gradient is the sum over all three."


# a matrix-form answer (`@`, `.T`) whose shape is the parameter's, reversed
TRANSPOSED = Expect(feedback="transposed", contains=("transpose",))


# a matrix-form answer whose factors do not multiply (the message of tutor.shapes)
MISMATCH = Expect(feedback="shape", contains=("do not multiply",))


# value exercises
V_SIGN = Expect("Check the sign.", "sign")


V_WRONG = Expect("Not that value.", "")


def unsummed(given: str, axis: int, want: str) -> Expect:
    """A parameter's gradient written before its sum over the batch: which axis was not summed."""
    return Expect(
        f"{given} still has the N axis (axis {axis}): the parameter is {want}, shared by all N rows of the "
        f"batch, so its gradient is summed over N.",
        "N not summed",
    )


def named(name: str) -> Expect:
    """A value answer that uses a name (w, p): a value exercise wants a number."""
    return Expect(
        f"expected a number, found the name '{name}': a value exercise wants a number, or arithmetic "
        "on numbers such as 2*(1.2 - 0.5).",
        "",
    )


# shape exercises
S_TRANSPOSED = Expect(
    "That is the transposed shape: a gradient has the shape of its parameter.", "transposed"
)


S_WRONG = Expect("Not that shape. A gradient has the shape of the parameter it belongs to.", "")


# a shape exercise that is not about a gradient (the Jacobian's rows x columns) must not talk
# about "the parameter it belongs to"
J_TRANSPOSED = Expect(feedback="transposed", contains=("transposed",), absent=("parameter",))


J_WRONG = Expect(contains=("Not that shape",), absent=("parameter",))


# choice exercises
# value exercises' known mistakes, from the lesson files' [[exercises.mistakes]] (issue 19)
UPHILL = Expect(
    "That step went uphill, w + lr·∂L/∂w. Gradient descent subtracts: w − lr·∂L/∂w = 1 − 0.1·(−2.0).",
    "known mistake",
)


SUMMED_LOSS = Expect(
    "That is the sum of the four squared errors; the mean divides it by 4.", "known mistake"
)


SUMMED_STEP = Expect(
    "That step used the summed gradient, −120: the loss is the mean of four squared errors, so its "
    "gradient is the mean, −30, and w = 0 − 0.01·(−30) = 0.3.",
    "known mistake",
)


OTHER_W = Expect(
    "That is ∂L/∂w = ∂L/∂b · x (−3.568 × 0.6); ∂L/∂b has no factor x.", "known mistake"
)


OTHER_W2 = Expect(
    "That is ∂L/∂w2 = ∂L/∂z2 · h1; ∂L/∂w1 goes on through w2, the ReLU and x.", "known mistake"
)


def known(lesson_id: str, ex_id: str, i: int) -> Expect:
    """The lesson's own `[[exercises.mistakes]]` entry i, word for word."""
    return Expect(exercise(lesson_id, ex_id).mistakes[i][1], "known mistake")


V_NAN = Expect("expected a finite number, found 'nan'", "")


# vanishing-gradients: the sigmoid's slopes, and the known mistakes of its value exercises
SIG1 = "sigmoid(z1)*(1 - sigmoid(z1))"


SIG2 = "sigmoid(z2)*(1 - sigmoid(z2))"


SIGMOID_AT_0 = Expect(
    "That is σ(0), the sigmoid's output at 0. Its slope there is σ(0)(1 − σ(0)) = 1/2 · 1/2.",
    "known mistake",
)


TANH_SLOPE = Expect(
    "That is tanh's largest slope, 1 − tanh(0)². The sigmoid's is a quarter of it: σ(0)(1 − σ(0)).",
    "known mistake",
)


SEVEN_SLOPES = Expect(
    "That is (1/4)⁷: seven is the number of linear layers. Between W1 and the loss lie six sigmoids.",
    "known mistake",
)


ADDED_SLOPES = Expect(
    "The slopes multiply along the chain, they do not add: six factors of 1/4.", "known mistake"
)


def choice_wrong(lesson_id: str, ex_id: str, letter: str) -> Expect:
    """A wrong choice says why it is wrong, in the lesson's own words (issue 19)."""
    ex = exercise(lesson_id, ex_id)
    return Expect(f"Not that one: {ex.why['abcdefgh'.index(letter)]}", "")


def letters(last: str) -> Expect:
    """Not a letter of the choices at all: say which letters there are."""
    return Expect(contains=(f"a to {last}",))


@dataclass(frozen=True)
class Row:
    wrong: tuple[tuple[str, Expect], ...]  # plausible mistakes and the response each gets
    same: tuple[str, ...]  # rewritings that must be accepted


SOFTMAX = "exp(z2)/(exp(z2) + exp(c))"


# residual-connections: tanh's slope in the second block, and a shape answered where no parameter rule applies
TANH2 = "(1 - tanh(h1*w2)**2)"


S_PLAIN = Expect("Not that shape.", "")


# activations: silu's slope at z, s = σ(z)
SILU = "(s + z*s*(1 - s))"  # mlp-digits: the softmax probability of z2


TABLE: dict[str, dict[str, Row]] = {
    "single-neuron": {
        "grad-w": Row(
            wrong=(
                ("2*(y_pred - y)", missing("y_pred", "w", "x")),
                ("2*(y - y_pred)*x", SIGN),
                ("2*(y_pred - y)*x*w", extra("y_pred", "x")),
                ("(y_pred - y)*x", factor(2)),
                ("(y_pred - y)**2", GENERIC),
            ),
            same=(
                "2*x*(w*x - y)",
                "2*w*x**2 - 2*x*y",
                "x*(y_pred-y)*2",
                "2 * ( y_pred - y ) * x",
                "(2*y_pred - 2*y)*x",
            ),
        ),
        "w-after-step": Row(
            wrong=(
                ("-1.2", V_SIGN),
                ("−1.2", V_SIGN),
                ("0.8", UPHILL),
                ("-2.0", V_WRONG),
                ("1 + 0.1*(-2.0)", UPHILL),
                ("w - 0.1*(-2.0)", named("w")),
            ),
            same=(
                "1.20000",
                "+1.2",
                " 1.2 ",
                "12e-1",
                "1.2000001",
                "1 - 0.1*(-2.0)",
                "1 − 0.1 · (−2.0)",
            ),
        ),
        "why-minus-3-6": Row(
            wrong=(
                ("a", choice_wrong("single-neuron", "why-minus-3-6", "a")),
                ("b", choice_wrong("single-neuron", "why-minus-3-6", "b")),
                ("c", choice_wrong("single-neuron", "why-minus-3-6", "c")),
            ),
            same=("d", "D", " d ", "d)", "d.", "(d)"),
        ),
    },
    "linear-1d": {
        "grad-w": Row(
            wrong=(
                ("2*(y_pred - y)", missing("y_pred", "w", "x")),
                ("2*(y - y_pred)*x", SIGN),
                ("2*(y_pred - y)*x*w", extra("y_pred", "x")),
                ("(y_pred - y)*x", factor(2)),
                ("2*(y_pred - y)*w", slip("w", "x", "x is an input")),
            ),
            same=(
                "mean(2*x*(w*x - y))",
                "x.T @ (2*(y_pred - y))",
                "2*x*(w*x - y)",
                "2*w*x**2 - 2*x*y",
            ),
        ),
        "first-step": Row(
            wrong=(("-0.3", V_SIGN), ("-30", V_WRONG), ("0.03", V_WRONG), ("0.01*(-30)", V_SIGN)),
            same=("0.30000", ".3", "3e-1", "0.3000000001", "0 - 0.01*(-30)", "0 − 0.01 · (−30)"),
        ),
        "first-loss": Row(
            wrong=(
                ("-30", V_SIGN),
                ("120", SUMMED_LOSS),
                ("7.5", V_WRONG),
                ("4 + 16 + 36 + 64", SUMMED_LOSS),
                ("mean(y**2)", named("y")),
            ),
            same=(
                "30",
                "30.0",
                "3e1",
                "30.000000",
                "(4 + 16 + 36 + 64) / 4",
                "(2**2 + 4**2 + 6**2 + 8**2)/4",
            ),
        ),
        "why-zero": Row(
            wrong=(
                ("a", choice_wrong("linear-1d", "why-zero", "a")),
                ("b", choice_wrong("linear-1d", "why-zero", "b")),
                ("d", choice_wrong("linear-1d", "why-zero", "d")),
            ),
            same=("c", "C", " c ", "c)", "c.", "(c)"),
        ),
    },
    "linear-regression": {
        "grad-b": Row(
            wrong=(
                ("2*(y - yhat)", SIGN),
                ("2*e", SIGN),
                ("-2*(y - yhat)*x", extra("yhat", "w")),
                ("-(y - yhat)", factor(2)),
                ("(y - yhat)**2", GENERIC),
            ),
            same=("2*(yhat - y)", "-2*e", "2*(b + x*w - y)", "-2*(y - b - x @ w)", "sum(-2*e)"),
        ),
        "grad-w": Row(
            wrong=(
                ("-2*(y - yhat)", missing("yhat", "w", "x")),
                ("2*x*(y - yhat)", SIGN),
                ("-2*x*(y - yhat)*w", extra("yhat", "x")),
                ("-2*w*(y - yhat)", slip("w", "x", "x is an input")),
                # x is N x P and e has N entries: x @ e does not multiply (xᵀ @ e does)
                ("x @ (-2*e)", MISMATCH),
                # batch answers are checked in the batch view, with shapes (issue 19)
                (
                    "-2*sum(e)*sum(x)",
                    Expect(
                        "In the batch view your answer is scalar, but ∂L/∂w has the shape of w, P.",
                        "shape",
                    ),
                ),
                (
                    "-2*e*x.T",
                    Expect(
                        "In the batch view your answer is P×N, but ∂L/∂w has the shape of w, P.",
                        "shape",
                    ),
                ),
                (
                    "(2/N)*x.T @ e",
                    Expect(
                        "N is a size of the batch, but this answer is in the scalar view: one "
                        "sample, so there is no 1/N and no sum over the batch.",
                        "batch size",
                    ),
                ),
            ),
            same=("-2*e*x", "2*x*(yhat - y)", "x.T @ (-2*e)", "(-2*e) @ x", "-2*x*(y - b - w*x)"),
        ),
        "grad-b-value": Row(
            wrong=(
                ("3.568", V_SIGN),
                ("-1.784", V_WRONG),
                ("-2.14", V_WRONG),
                ("-2*(2.2 - 0.5)", V_WRONG),
                ("-2*(y - yhat)", named("y")),
            ),
            same=("-3.5680", "−3.568", "-3.568000", "-2*(2.2 - (0.5 - 0.14*0.6))", "-2 · 1.784"),
        ),
        "why-sklearn": Row(
            wrong=(
                ("a", choice_wrong("linear-regression", "why-sklearn", "a")),
                ("c", choice_wrong("linear-regression", "why-sklearn", "c")),
                ("d", choice_wrong("linear-regression", "why-sklearn", "d")),
            ),
            same=("b", "B", " b ", "b)", "b.", "(b)"),
        ),
    },
    "multivariate-regression": {
        "grad-w": Row(
            wrong=(
                ("-2*e", missing("yhat", "w", "x")),
                ("2*x*e", SIGN),
                ("-2*x*(y - yhat)*w", extra("yhat", "x")),
                ("-x*e", factor(2)),
                ("x @ (-2*e)", MISMATCH),
                # batch answers are checked in the batch view, with shapes (issue 19)
                (
                    "-2*sum(e)*sum(x)",
                    Expect(
                        "In the batch view your answer is scalar, but ∂L/∂w has the shape of w, P.",
                        "shape",
                    ),
                ),
                (
                    "-2*e*x.T",
                    Expect(
                        "In the batch view your answer is P×N, but ∂L/∂w has the shape of w, P.",
                        "shape",
                    ),
                ),
                (
                    "(2/N)*x.T @ e",
                    Expect(
                        "N is a size of the batch, but this answer is in the scalar view: one "
                        "sample, so there is no 1/N and no sum over the batch.",
                        "batch size",
                    ),
                ),
            ),
            same=("-2*x*e", "2*x*(yhat - y)", "x.T @ (-2*e)", "-2*x*(y - b - x*w)"),
        ),
        "grad-e": Row(
            wrong=(
                ("2*e", SIGN),
                ("2*(y - yhat)", SIGN),
                ("-2*e*x", extra("yhat", "w")),
                ("-e", factor(2)),
                ("e**2", GENERIC),
            ),
            same=("2*(yhat - y)", "-2*(y - b - x*w)", "2*(b + x @ w - y)", "-2*(y - yhat)"),
        ),
        "shape-w": Row(
            wrong=(
                ("N", S_WRONG),
                ("N x P", unsummed("N x P", 0, "P")),
                ("P x N", unsummed("P x N", 1, "P")),
            ),
            same=("p", " P ", "(P,)"),
        ),
        "zero-weights": Row(
            wrong=(
                ("a", choice_wrong("multivariate-regression", "zero-weights", "a")),
                ("c", choice_wrong("multivariate-regression", "zero-weights", "c")),
                ("d", choice_wrong("multivariate-regression", "zero-weights", "d")),
            ),
            same=("b", "B", " b ", "b)", "b.", "(b)"),
        ),
    },
    "logistic-regression": {
        "grad-z": Row(
            wrong=(
                ("-y/p + (1-y)/(1-p)", missing("p", "z", "sigmoid(z)*(1 - sigmoid(z))")),
                ("y - p", SIGN),
                ("(p - y)*p*(1-p)", extra("p", "z")),
                ("(p - y)*x", extra("z", "w")),
                ("p*(1-p)", missing("L", "p", "(1 - y)/(1 - p) - y/p")),
                # the sigmoid where its slope belongs, called or by its node's name
                ("(-y/p + (1-y)/(1-p))*sigmoid(z)", SIGMOID_FOR_SLOPE),
                ("(-y/p + (1-y)/(1-p))*p", activation("p = sigmoid(z)", "p*(1 - p)")),
            ),
            same=(
                "p - y",
                "1/(1 + exp(-z)) - y",
                "-y*(1-p) + (1-y)*p",
                "(-y/p + (1-y)/(1-p))*p*(1-p)",
                "sigmoid(x*w + b) - y",
            ),
        ),
        "grad-w": Row(
            wrong=(
                ("p - y", missing("z", "w", "x")),
                ("(y - p)*x", SIGN),
                ("(p - y)*x*p*(1-p)", extra("p", "z")),
                ("(p - y)*w", slip("w", "x", "x is an input")),
                # x is N x D and p - y has N entries
                ("x @ (p - y)", MISMATCH),
                ("(-y/p + (1-y)/(1-p))*sigmoid(z)*x", SIGMOID_FOR_SLOPE),
            ),
            same=("x.T @ (p - y)", "(p - y) @ x", "(sigmoid(x*w + b) - y)*x", "x*p - x*y"),
        ),
        "grad-b-value": Row(
            wrong=(
                ("0.4013", V_SIGN),
                ("0.5987", V_WRONG),
                ("-0.5987", V_WRONG),
                ("1 - sigmoid(0.4)", V_SIGN),
                ("sigmoid(0.4)", V_WRONG),
                ("p - y", named("p")),
            ),
            same=(
                "-0.4013",
                "-0.40131",
                "−0.401312",
                "sigmoid(0.4) - 1",
                "sigmoid(1.5*0.4 - 0.2) - 1",
                "1/(1 + exp(-0.4)) - 1",
            ),
        ),
        "softmax-grad": Row(
            wrong=(
                ("a", choice_wrong("logistic-regression", "softmax-grad", "a")),
                ("b", choice_wrong("logistic-regression", "softmax-grad", "b")),
                ("c", choice_wrong("logistic-regression", "softmax-grad", "c")),
            ),
            same=("d", "D", " d ", "d)", "d.", "(d)"),
        ),
    },
    "two-layer-relu": {
        "grad-w2": Row(
            wrong=(
                ("2*(z2 - y)", missing("z2", "w2", "h1")),
                ("2*(y - z2)*h1", SIGN),
                ("2*(z2 - y)*h1*w2", extra("z2", "h1")),
                # the pre-activation z1 in place of the layer's input h1 (not "missing step(z1)")
                ("2*(z2 - y)*z1", slip("z1", "h1", "h1 = relu(z1)")),
                # the gradient that reaches h1, not w2
                ("2*(z2 - y)*w2", other("h1")),
                # K x H instead of H x K
                ("(2*(z2 - y)).T @ h1", TRANSPOSED),
                # N x K @ H x N
                ("2*(z2 - y) @ h1.T", MISMATCH),
                # ReLU's slope where the activation belongs (step(z1)·h1 would be right)
                ("2*(z2 - y)*step(z1)", STEP_FOR_H1),
                ("2*(z2 - y)*relu'(z1)", STEP_FOR_H1),
            ),
            same=(
                "h1.T @ (2*(z2 - y))",
                "2*z2*h1 - 2*y*h1",
                "2*(relu(x @ w1) @ w2 - y)*relu(x*w1)",
                "h1.T @ (2*(h1 @ w2 - y))",
            ),
        ),
        "grad-w1": Row(
            wrong=(
                ("2*(z2 - y)*w2*x", missing("h1", "z1", "step(z1)")),
                ("2*(z2 - y)*step(z1)*x", missing("z2", "h1", "w2")),
                ("2*(z2 - y)*w2*step(z1)", missing("z1", "w1", "x")),
                ("2*(y - z2)*w2*step(z1)*x", SIGN),
                ("2*(z2 - y)*w2*step(z1)*x*w1", extra("z1", "x")),
                ("2*(z2 - y)*h1*step(z1)*x", slip("h1", "w2", "w2 is a parameter")),
                # back through w1 instead of w2: equal to ∂L/∂w2, but the slip is the weight
                ("2*(z2-y)*w1*step(z1)*x", slip("w1", "w2", "w2 is a parameter")),
                ("2*(z2 - y)*h1", other("w2")),
                # H x D instead of D x H
                ("(2*(z2 - y) @ w2.T * step(z1)).T @ x", TRANSPOSED),
                # w2 not transposed: N x K @ H x K
                ("x.T @ (2*(z2 - y) @ w2 * step(z1))", MISMATCH),
                # the activation where its derivative belongs: not "an extra factor ∂z2/∂w2" (h1)
                ("2*(z2 - y)*w2*relu(z1)*x", RELU_FOR_STEP),
                ("2*(z2 - y)*w2*h1*x", H1_FOR_STEP),
                ("x.T @ (2*(z2 - y) @ w2.T * relu(z1))", RELU_FOR_STEP),
                # the argument is shown as the learner wrote it
                (
                    "2*(z2 - y)*w2*relu(x*w1)*x",
                    activation("relu(x*w1)", "step(x*w1) (1 where x*w1 > 0)"),
                ),
            ),
            same=(
                "2*(z2 - y)*w2*relu'(z1)*x",
                "x.T @ (2*(z2 - y) @ w2.T * step(z1))",
                "x.T @ ((2*(z2 - y) @ w2.T) * relu'(z1))",
                "2*(relu(x*w1)*w2 - y)*w2*step(x*w1)*x",
                "2*x*w2*step(z1)*z2 - 2*x*w2*step(z1)*y",
            ),
        ),
        "grad-w1-value": Row(
            wrong=(
                ("-6.984", V_SIGN),
                ("4.656", V_WRONG),
                ("-3.88", V_WRONG),
                ("2*(-1.94)*(-1.2)", V_WRONG),
                ("2*(z2 - y)*w2*x", named("z2")),
            ),
            same=(
                "6.98400",
                "6.984000000",
                "+6.984",
                "2*(-1.44 - 0.5)*(-1.2)*1.5",
                "2 · (−1.94) · (−1.2) · 1 · 1.5",
                "2*(relu(1.5*0.8)*(-1.2) - 0.5)*(-1.2)*step(1.2)*1.5",
            ),
        ),
        "shape-dw1": Row(
            wrong=(
                ("H x D", S_TRANSPOSED),
                ("H×D", S_TRANSPOSED),
                ("N x H", S_WRONG),
                ("D x N", S_WRONG),
                ("D x H x K", S_WRONG),
            ),
            same=("D×H", "DxH", "d x h", "  D  x  H ", "D * H", "(D, H)"),
        ),
        "val-bug": Row(
            wrong=(
                ("a", choice_wrong("two-layer-relu", "val-bug", "a")),
                ("c", choice_wrong("two-layer-relu", "val-bug", "c")),
                ("d", choice_wrong("two-layer-relu", "val-bug", "d")),
            ),
            same=("b", "B", " b ", "b)", "b.", "(b)"),
        ),
    },
    "vector-derivatives": {
        "grad-w2": Row(
            wrong=(
                ("2*(z - y)", missing("z", "w2", "x2")),
                ("2*(y - z)*x2", SIGN),
                ("2*(z - y)*x2*w2", extra("z", "x2")),
                # the first entry of the gradient, not the second
                ("2*(z - y)*x1", other("w1")),
                ("(z - y)*x2", factor(2)),
                ("2*(z - y)*(x1 + x2 + x3)", GENERIC),
            ),
            same=("2*(w1*x1 + w2*x2 + w3*x3 - y)*x2", "2*z*x2 - 2*y*x2", "x2*(z - y)*2"),
        ),
        "grad-w3-value": Row(
            wrong=(
                ("-4", V_SIGN),
                ("-8", V_WRONG),
                ("-4.5", V_WRONG),
                ("2*(0.5 - 0.5 - 1 - 1)", V_SIGN),
            ),
            same=("4", "4.0", "4.000", "4e0", "-4*(-1)", "2*(0.5 - 0.5 - 1 - 1)*(-1)"),
        ),
        "jacobian-shape": Row(
            wrong=(("3 x 2", J_TRANSPOSED), ("3", J_WRONG), ("6", J_WRONG), ("2", J_WRONG)),
            same=("2×3", "2x3", "2 X 3", "(2, 3)"),
        ),
        "jacobian-entry": Row(
            wrong=(
                ("-2.7183", V_SIGN),
                ("1", V_WRONG),
                (
                    "2.718",
                    Expect(
                        "Right as far as it goes: 2.718 is the answer rounded to 4 significant digits. Give more digits "
                        "(within ±0.0001).",
                        "more digits",
                    ),
                ),
                ("exp(x1)", named("x1")),
                ("exp(2)", V_WRONG),
            ),
            same=("2.7183", "2.71828", "2.718281828", "exp(1)", "exp(1) + 2*0 "),
        ),
        "vjp-x2": Row(
            wrong=(
                ("-1.25", V_SIGN),
                ("1.5", V_WRONG),
                ("2.25", V_WRONG),
                ("1*2 + 0.5*0.5", V_WRONG),
            ),
            same=("1.250", "1.25000", "+1.25", "1*1 + 0.5*0.5", "1·1 + 0.5·0.5"),
        ),
        "shape-dw2": Row(
            wrong=(
                ("a", choice_wrong("vector-derivatives", "shape-dw2", "a")),
                ("b", choice_wrong("vector-derivatives", "shape-dw2", "b")),
                ("d", choice_wrong("vector-derivatives", "shape-dw2", "d")),
            ),
            same=("c", "C", " c ", "c)", "c.", "(c)"),
        ),
    },
    "fan-out": {
        "grad-x": Row(
            wrong=(
                (
                    "invden - num*sigx*(1 - sigx)/den**2",
                    branch("paths through num and sigx", "path through xpy", X_USES),
                ),
                (
                    "invden - 2*num*xpy/den**2",
                    branch("paths through num and xpy", "path through sigx", X_USES),
                ),
                ("invden", branch("path through num", "paths through sigx and xpy", X_USES)),
                (
                    "-2*num*xpy/den**2",
                    branch("path through xpy", "paths through num and sigx", X_USES),
                ),
                (
                    "invden - num*sigx/den**2 - 2*num*xpy/den**2",
                    activation("sigx = sigmoid(x)", "sigx*(1 - sigx)"),
                ),
                (
                    "invden - num*sigx*(1 - sigx)/den**2 + 2*num*xpy/den**2",
                    Expect(
                        "The path through xpy has the wrong sign; the other paths are right.",
                        "sign in path through xpy",
                    ),
                ),
                (
                    "invden + num*sigx*(1 - sigx)/den**2 - 2*num*xpy/den**2",
                    Expect(
                        "The path through sigx has the wrong sign; the other paths are right.",
                        "sign in path through sigx",
                    ),
                ),
                (
                    "invden - num*sigx*(1 - sigx)/den**2 - num*xpy/den**2",
                    Expect(
                        "The path through xpy is missing a constant factor 2; the other paths are right.",
                        "factor 2 in path through xpy",
                    ),
                ),
                (
                    "invden - num*sigx*(1 - sigx)/den - 2*num*xpy/den**2",
                    Expect(
                        "The path through sigx has one power of den too few in its denominator (∂invden/∂den = "
                        "-(1/den**2)); the other paths are right.",
                        "power of den in path through sigx",
                    ),
                ),
                (
                    "invden - num*sigx*(1 - sigx)/den**2 - 2*num*xpy/den",
                    Expect(
                        "The path through xpy has one power of den too few in its denominator (∂invden/∂den = "
                        "-(1/den**2)); the other paths are right.",
                        "power of den in path through xpy",
                    ),
                ),
                (
                    "1/den**2 - num*sigx*(1 - sigx)/den**2 - 2*num*xpy/den**2",
                    Expect(
                        "The path through num has one power of den too many in its denominator; the other paths "
                        "are right.",
                        "power of den in path through num",
                    ),
                ),
            ),
            same=(
                "1/den - num*sigx*(1 - sigx)*invden**2 - 2*num*xpy*invden**2",
                "(den - num*sigmoid(x)*(1 - sigmoid(x)) - 2*num*(x + y))/den**2",
                "invden − num·sigx·(1 − sigx)/den**2 − 2·num·xpy/den**2",
            ),
        ),
        "grad-y": Row(
            wrong=(
                ("invden*sigy*(1 - sigy)", branch("path through sigy", "path through xpy", Y_USES)),
                ("-2*num*xpy/den**2", branch("path through xpy", "path through sigy", Y_USES)),
                (
                    "invden*sigy - 2*num*xpy/den**2",
                    activation("sigy = sigmoid(y)", "sigy*(1 - sigy)"),
                ),
                ("invden - 2*num*xpy/den**2", GENERIC),
            ),
            same=(
                "sigy*(1 - sigy)/den - 2*num*xpy*invden**2",
                "invden*sigmoid(y)*sigmoid(-y) - 2*num*xpy/den**2",
            ),
        ),
        "grad-x-value": Row(
            wrong=(
                (
                    "2.0953313433",
                    Expect(
                        "That leaves out the path through sigx (−0.0357615): x is used by num, sigx and "
                        "xpy, and its gradient is the sum over all three.",
                        "known mistake",
                    ),
                ),
                (
                    "1.5474253467",
                    Expect(
                        "That leaves out the path through num (0.512144): x is used by num, sigx and "
                        "xpy, and its gradient is the sum over all three.",
                        "known mistake",
                    ),
                ),
                (
                    "1.58319",
                    Expect(
                        "That is the path through xpy alone, what `=` instead of `+=` would keep if it ran "
                        "last. Add the paths through num and sigx.",
                        "known mistake",
                    ),
                ),
                ("-2.05957", V_SIGN),
                ("1.59223", V_WRONG),
            ),
            same=(
                "2.05957",
                "2.059569796",
                "0.512144 + (-0.0357615) + 1.58319",
                "0.512144 − 0.0357615 + 1.58319",
            ),
        ),
        "max-gate": Row(
            wrong=(
                ("a", choice_wrong("fan-out", "max-gate", "a")),
                ("b", choice_wrong("fan-out", "max-gate", "b")),
                ("d", choice_wrong("fan-out", "max-gate", "d")),
            ),
            same=("c", "C", " c ", "c)", "(c)"),
        ),
    },
    "backprop-through-time": {
        "grad-w": Row(
            wrong=(
                (
                    "2*(h3 - y)*(1 - h3**2)*h2",
                    branch("path through h3", "paths through h1 and h2", W_STEPS),
                ),
                (
                    "2*(h3 - y)*(1 - h3**2)*(h2 + w*(1 - h2**2)*h1)",
                    branch("paths through h2 and h3", "path through h1", W_STEPS),
                ),
                ("(h3 - y)*(1 - h3**2)*(h2 + w*(1 - h2**2)*(h1 + w*(1 - h1**2)*h0))", factor(2)),
                ("2*(h3 - y)*(1 - h3**2)*(h2 + (1 - h2**2)*h1 + (1 - h1**2)*h0)", GENERIC),
            ),
            same=(
                "2*(h3 - y)*(1 - h3**2)*h2 + 2*(h3 - y)*(1 - h3**2)*w*(1 - h2**2)*h1"
                " + 2*(h3 - y)*(1 - h3**2)*w*(1 - h2**2)*w*(1 - h1**2)*h0",
                "2*(h3 - y)*(1 - tanh(w*h2 + u*x3)**2)*(h2 + w*(1 - h2**2)*(h1 + w*(1 - h1**2)*h0))",
            ),
        ),
        "grad-w-value": Row(
            wrong=(
                (
                    "-0.0134067",
                    Expect(
                        "That is the last time step's term alone. w is used at every step: add the terms "
                        "of steps 1 and 2 (0.0 and 0.0652761).",
                        "known mistake",
                    ),
                ),
                (
                    "0.0652761",
                    Expect(
                        "That is step 2's term alone; add the last step's, −0.0134067 (step 1's is 0).",
                        "known mistake",
                    ),
                ),
                ("-0.0518695", V_SIGN),
                ("0.373355", V_WRONG),
            ),
            same=(
                "0.0518695",
                "0.05186945576",
                "0.0652761 - 0.0134067",
                "0.0 + 0.0652761 + (−0.0134067)",
            ),
        ),
        "first-step-zero": Row(
            wrong=(
                ("a", choice_wrong("backprop-through-time", "first-step-zero", "a")),
                ("c", choice_wrong("backprop-through-time", "first-step-zero", "c")),
                ("d", choice_wrong("backprop-through-time", "first-step-zero", "d")),
            ),
            same=("b", "B", " b ", "b.", "(b)"),
        ),
    },
    "gradient-checking": {
        "kink-rel-error": Row(
            wrong=(
                (
                    "0.619552",
                    Expect(
                        "That is the absolute difference |a − b|. The relative error divides it by "
                        "max(|a|, |b|) = 1.54889.",
                        "known mistake",
                    ),
                ),
                (
                    "1.54889 - 0.929338",
                    Expect(
                        "That is the absolute difference |a − b|. The relative error divides it "
                        "by max(|a|, |b|) = 1.54889.",
                        "known mistake",
                    ),
                ),
                (
                    "0.666667",
                    Expect(
                        "That divides by the smaller of the two, 0.929338. CS231n divides by max(|a|, |b|), "
                        "here 1.54889.",
                        "known mistake",
                    ),
                ),
                ("-0.4", V_SIGN),
                ("0.6", V_WRONG),
            ),
            same=("0.4", "0.400", "(1.54889 - 0.929338)/1.54889", "4e-1"),
        ),
        "central-vs-forward": Row(
            wrong=(
                ("a", choice_wrong("gradient-checking", "central-vs-forward", "a")),
                ("b", choice_wrong("gradient-checking", "central-vs-forward", "b")),
                ("d", choice_wrong("gradient-checking", "central-vs-forward", "d")),
            ),
            same=("c", "C", " c ", "c)", "(c)"),
        ),
        "why-v-fails": Row(
            wrong=(
                ("a", choice_wrong("gradient-checking", "why-v-fails", "a")),
                ("c", choice_wrong("gradient-checking", "why-v-fails", "c")),
                ("d", choice_wrong("gradient-checking", "why-v-fails", "d")),
            ),
            same=("b", "B", " b ", "b.", "(b)"),
        ),
    },
    "mlp-digits": {
        "grad-z2": Row(
            wrong=(
                (f"1 - {SOFTMAX}", SIGN),
                ("exp(c)/(exp(z2) + exp(c))", SIGN),
                (f"({SOFTMAX} - 1)*h1", extra("z2", "w2")),
                (
                    SOFTMAX,
                    Expect(
                        "That is softmax(z2) alone. The gradient is softmax minus the one-hot label, and z2 "
                        "is the true class's score here, so subtract 1.",
                        "known mistake",
                    ),
                ),
            ),
            same=(
                "sigmoid(z2 - c) - 1",
                "-sigmoid(c - z2)",
                "-exp(c)/(exp(z2) + exp(c))",
                "-1/(1 + exp(z2 - c))",
                "exp(logp) - 1",
            ),
        ),
        "grad-w2": Row(
            wrong=(
                (f"{SOFTMAX} - 1", missing("z2", "w2", "h1")),
                (f"(1 - {SOFTMAX})*h1", SIGN),
                (f"({SOFTMAX} - 1)*h1*w2", extra("z2", "h1")),
                (f"({SOFTMAX} - 1)*w2", other("h1")),
                (f"({SOFTMAX} - 1)*step(z1)", STEP_FOR_H1),
            ),
            same=(
                f"({SOFTMAX} - 1)*relu(x*w1 + b1)",
                "-exp(c)*h1/(exp(z2) + exp(c))",
                "(sigmoid(z2 - c) - 1)*h1",
            ),
        ),
        "grad-b1": Row(
            wrong=(
                (f"({SOFTMAX} - 1)*w2", missing("h1", "z1", "step(z1)")),
                (f"({SOFTMAX} - 1)*step(z1)", missing("z2", "h1", "w2")),
                (f"(1 - {SOFTMAX})*w2*step(z1)", SIGN),
                (f"({SOFTMAX} - 1)*w2*step(z1)*x", extra("z1", "w1")),
                (f"({SOFTMAX} - 1)*w2*relu(z1)", RELU_FOR_STEP),
                (f"({SOFTMAX} - 1)*w2*h1", H1_FOR_STEP),
            ),
            same=(
                f"({SOFTMAX} - 1)*w2*relu'(z1)",
                "-exp(c)/(exp(z2) + exp(c))*w2*step(z1)",
                f"({SOFTMAX} - 1)*w2*step(x*w1 + b1)",
                "(sigmoid(z2 - c) - 1)*w2*step(z1)",
            ),
        ),
        "missing-relu": Row(
            wrong=(
                ("a", choice_wrong("mlp-digits", "missing-relu", "a")),
                ("b", choice_wrong("mlp-digits", "missing-relu", "b")),
                ("d", choice_wrong("mlp-digits", "missing-relu", "d")),
            ),
            same=("c", "C", " c ", "c)", "c.", "(c)"),
        ),
    },
    "softmax-cross-entropy": {
        "stable-loss": Row(
            wrong=(
                ("0.132845", known("softmax-cross-entropy", "stable-loss", 0)),
                ("2", known("softmax-cross-entropy", "stable-loss", 1)),
                ("5.13285", known("softmax-cross-entropy", "stable-loss", 2)),
                ("-2.13285", V_SIGN),
                (
                    "log(exp(100) + exp(98) + exp(95)) - 100",
                    known("softmax-cross-entropy", "stable-loss", 0),
                ),
                ("nan", V_NAN),
            ),
            same=(
                "2.1328",
                "2.13285",
                "100 + log(1 + exp(-2) + exp(-5)) - 98",
                "log(exp(100) + exp(98) + exp(95)) - 98",
            ),
        ),
        "shifted-exp": Row(
            wrong=(
                ("exp(100)", known("softmax-cross-entropy", "shifted-exp", 0)),
                ("-1", V_SIGN),
                ("0", V_WRONG),
                ("exp(-5)", V_WRONG),
            ),
            same=("1", "1.0", "exp(0)", "exp(100 - 100)"),
        ),
        "sum-lr": Row(
            wrong=(
                ("a", choice_wrong("softmax-cross-entropy", "sum-lr", "a")),
                ("b", choice_wrong("softmax-cross-entropy", "sum-lr", "b")),
                ("d", choice_wrong("softmax-cross-entropy", "sum-lr", "d")),
            ),
            same=("c", "C", " c ", "c)", "c.", "(c)"),
        ),
        "grad-z-shape": Row(
            wrong=(("K x N", J_TRANSPOSED), ("N", J_WRONG), ("K", J_WRONG), ("D x K", J_WRONG)),
            same=("N×K", "N x K", "(N, K)", "N * K"),
        ),
    },
    "batchnorm-backward": {
        "scalar-dx": Row(
            wrong=(
                ("237.1708", known("batchnorm-backward", "scalar-dx", 0)),
                ("1.5*0.5", known("batchnorm-backward", "scalar-dx", 1)),
                ("0.5", V_WRONG),
                ("x", named("x")),
            ),
            same=("0", "0.0", "-0", "1.5*0.5*316.2 - 1.5*0.5*316.2"),
        ),
        "fused-dx": Row(
            wrong=(
                ("0.46291", known("batchnorm-backward", "fused-dx", 0)),
                ("0.3086", known("batchnorm-backward", "fused-dx", 1)),
                ("-0.176347", V_SIGN),
                ("-0.22043", V_WRONG),
            ),
            same=("0.17635", "0.1763", "(1/3)*(14/3 + 1e-5)**-0.5*(2 - 4/(14/3 + 1e-5))"),
        ),
        "dgamma-shape": Row(
            wrong=(
                ("N x D", unsummed("N x D", 0, "D")),
                ("N", J_WRONG),
                ("D x N", unsummed("D x N", 1, "D")),
                ("1", J_WRONG),
            ),
            same=("D", "(D,)", " D "),
        ),
        "fused-terms": Row(
            wrong=(
                ("b", choice_wrong("batchnorm-backward", "fused-terms", "b")),
                ("c", choice_wrong("batchnorm-backward", "fused-terms", "c")),
                ("d", choice_wrong("batchnorm-backward", "fused-terms", "d")),
            ),
            same=("a", "A", " a ", "a)", "a.", "(a)"),
        ),
    },
    "vanishing-gradients": {
        "grad-w1": Row(
            wrong=(
                (
                    f"2*(z3 - y)*w3*{SIG2}*w2*x",
                    missing("h1", "z1", "sigmoid(z1)*(1 - sigmoid(z1))"),
                ),
                (
                    f"2*(z3 - y)*w3*w2*{SIG1}*x",
                    missing("h2", "z2", "sigmoid(z2)*(1 - sigmoid(z2))"),
                ),
                (f"2*(z3 - y)*w3*{SIG2}*w2*{SIG1}", missing("z1", "w1", "x")),
                (f"2*(y - z3)*w3*{SIG2}*w2*{SIG1}*x", SIGN),
                (f"(z3 - y)*w3*{SIG2}*w2*{SIG1}*x", factor(2)),
                # the activation where its slope belongs, written out or by its node's name
                (
                    f"2*(z3 - y)*w3*sigmoid(z2)*w2*{SIG1}*x",
                    activation("sigmoid(z2)", "sigmoid(z2)*(1 - sigmoid(z2))"),
                ),
                (f"2*(z3 - y)*w3*{SIG2}*w2*h1*x", activation("h1 = sigmoid(z1)", "h1*(1 - h1)")),
                # the slopes' best case, 1/4, in place of the slopes at the point
                ("2*(z3 - y)*w3*0.25*w2*0.25*x", GENERIC),
            ),
            same=(
                "2*(z3 - y)*w3*h2*(1 - h2)*w2*h1*(1 - h1)*x",
                f"x*w2*w3*{SIG1}*{SIG2}*(2*z3 - 2*y)",
            ),
        ),
        "max-slope": Row(
            wrong=(
                ("0.5", SIGMOID_AT_0),
                ("sigmoid(0)", SIGMOID_AT_0),
                ("1", TANH_SLOPE),
                ("-0.25", V_SIGN),
                ("0.2", V_WRONG),
            ),
            same=("0.25", "1/4", "sigmoid(0)*(1 - sigmoid(0))", "0.5*0.5", "0.2500"),
        ),
        "six-sigmoids": Row(
            wrong=(
                ("0.25**7", SEVEN_SLOPES),
                ("1.5", ADDED_SLOPES),
                ("0.25*6", ADDED_SLOPES),
                ("-0.25**6", V_SIGN),
                ("0.25", V_WRONG),
                ("-0.00024", V_SIGN),
                ("0.00025", V_WRONG),
                ("0.0002", V_WRONG),
                (
                    "0.000244",
                    Expect(
                        "Right as far as it goes: 0.000244 is the answer rounded to 3 significant "
                        "digits. Give more digits (within ±1e-09).",
                        "more digits",
                    ),
                ),
            ),
            same=("0.25**6", "1/4096", "(1/4)**6", "4**-6", "0.000244140625", "0.00024", "2.4e-4"),
        ),
        "why-relu-he": Row(
            wrong=(
                ("b", choice_wrong("vanishing-gradients", "why-relu-he", "b")),
                ("c", choice_wrong("vanishing-gradients", "why-relu-he", "c")),
                ("d", choice_wrong("vanishing-gradients", "why-relu-he", "d")),
            ),
            same=("a", "A", " a ", "a)", "a.", "(a)"),
        ),
    },
    "initialisation": {
        "first-loss": Row(
            wrong=(
                (
                    "0.1",
                    Expect(
                        "That is the probability each class gets. The loss is −ln of it.",
                        "known mistake",
                    ),
                ),
                (
                    "1",
                    Expect(
                        "That is log base 10 of 10. Cross-entropy uses the natural log: ln 10.",
                        "known mistake",
                    ),
                ),
                (
                    "log(2)",
                    Expect(
                        "That is ln 2, the first loss of a two-class classifier. Here there are ten "
                        "classes.",
                        "known mistake",
                    ),
                ),
                (
                    "10",
                    Expect(
                        "That is the number of classes. The loss is −ln of each class's probability, "
                        "1/10: ln 10.",
                        "known mistake",
                    ),
                ),
                (
                    "8.50808",
                    Expect(
                        "That is the standard-normal variant's first loss, the one that is too large. "
                        "What would a classifier that knows nothing score?",
                        "known mistake",
                    ),
                ),
                ("-2.3026", V_SIGN),
                ("2.5", V_WRONG),
            ),
            same=("2.3026", "log(10)", "-log(0.1)", "-log(1/10)", "2.302585"),
        ),
        "xavier-bound": Row(
            wrong=(
                (
                    "sqrt(6/64)",
                    Expect(
                        "That is √(6/64), fan-in alone. Xavier divides by fan-in + fan-out: 64 + 32.",
                        "known mistake",
                    ),
                ),
                (
                    "0.0625",
                    Expect(
                        "That is 6/96, before the square root: the bound is √(6/96).",
                        "known mistake",
                    ),
                ),
                (
                    "sqrt(2/96)",
                    Expect(
                        "That is √(2/(64 + 32)), the standard deviation of Xavier's normal form. "
                        "The uniform bound is √(6/(fan-in + fan-out)).",
                        "known mistake",
                    ),
                ),
                (
                    "0.125",
                    Expect(
                        "That is 1/√64, torch's default range for nn.Linear. Xavier's is "
                        "√(6/(fan-in + fan-out)).",
                        "known mistake",
                    ),
                ),
                ("-0.25", V_SIGN),
            ),
            same=("0.25", "sqrt(6/96)", "sqrt(6/(64 + 32))", "1/4"),
        ),
        "zero-units": Row(
            wrong=(
                (
                    "32",
                    Expect(
                        "Look at the depth view: W1's 32 units are there, but how many of them differ?",
                        "known mistake",
                    ),
                ),
                (
                    "0",
                    Expect(
                        "The layer still has units; they are all the same one. How many distinct ones is "
                        "that?",
                        "known mistake",
                    ),
                ),
                ("-1", V_SIGN),
                ("64", V_WRONG),
            ),
            same=("1", "1.0", "32/32"),
        ),
        "twin-gradient": Row(
            wrong=(
                (
                    "0",
                    Expect(
                        "The two chains multiply the same numbers: ∂L/∂a2 is not 0, it is ∂L/∂a1 again.",
                        "known mistake",
                    ),
                ),
                (
                    "-0.49713",
                    Expect(
                        "That is ∂L/∂v2 = 2(z − y) · h2, the output weight's gradient. a2 sits one "
                        "tanh further down.",
                        "known mistake",
                    ),
                ),
                ("0.42302", V_SIGN),
                ("-0.53788", V_WRONG),
            ),
            same=("-0.42302", "-0.4230167", "2*(2*0.5*tanh(0.5) - 1)*0.5*(1 - tanh(0.5)**2)*1"),
        ),
        "why-small-lr": Row(
            wrong=(
                ("b", choice_wrong("initialisation", "why-small-lr", "b")),
                ("c", choice_wrong("initialisation", "why-small-lr", "c")),
                ("d", choice_wrong("initialisation", "why-small-lr", "d")),
            ),
            same=("a", "A", " a ", "a)", "a.", "(a)"),
        ),
    },
    "xor-needs-a-hidden-layer": {
        "dz2": Row(
            wrong=(
                ("0.6106392339", V_SIGN),
                ("-0.45", V_WRONG),
                (
                    "0.3893607661",
                    Expect(
                        "That is σ(z2), the prediction. Subtract the label y = 1.", "known mistake"
                    ),
                ),
            ),
            same=("sigmoid(-0.45) - 1", "-0.610639", "-0.61064", "−0.610639"),
        ),
        "grad-w2": Row(
            wrong=(
                ("(y - sigmoid(z2))*h1", SIGN),
                ("(sigmoid(z2) - y)*z1", slip("z1", "h1", "h1 = relu(z1)")),
                ("(sigmoid(z2) - y)*W2", Expect("That is ∂L/∂h1, not ∂L/∂W2.", "other ∂L/∂h1")),
                ("sigmoid(z2)*h1", GENERIC),
            ),
            same=("(sigmoid(z2) - y)*relu(z1)", "sigmoid(z2)*h1 - y*h1", "(sigmoid(z2) − y)·h1"),
        ),
        "grad-w1": Row(
            wrong=(
                ("(sigmoid(z2) - y)*W2*x", missing("h1", "z1", "step(z1)")),
                ("(sigmoid(z2) - y)*W2*step(z1)", missing("z1", "W1", "x")),
                ("(sigmoid(z2) - y)*W1*step(z1)*x", slip("W1", "W2", "W2 is a parameter")),
                (
                    "(sigmoid(z2) - y)*W2*relu(z1)*x",
                    activation("relu(z1)", "step(z1) (1 where z1 > 0)"),
                ),
            ),
            same=("(sigmoid(z2) - y)*W2*step(z1)*x", "x*W2*step(z1)*(sigmoid(z2) - y)"),
        ),
        "why-zero": Row(
            wrong=(
                ("b", choice_wrong("xor-needs-a-hidden-layer", "why-zero", "b")),
                ("c", choice_wrong("xor-needs-a-hidden-layer", "why-zero", "c")),
                ("d", choice_wrong("xor-needs-a-hidden-layer", "why-zero", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "layernorm-backward": {
        "scalar-dx": Row(
            wrong=(
                ("237.1708", known("layernorm-backward", "scalar-dx", 0)),
                ("1.5*0.5", known("layernorm-backward", "scalar-dx", 1)),
                ("0.5", V_WRONG),
                ("x", named("x")),
            ),
            same=("0", "0.0", "-0", "1.5*0.5*316.2 - 1.5*0.5*316.2"),
        ),
        "fused-dx": Row(
            wrong=(
                ("0.46291", known("layernorm-backward", "fused-dx", 0)),
                ("0.3086", known("layernorm-backward", "fused-dx", 1)),
                ("-0.176347", V_SIGN),
                ("-0.22043", V_WRONG),
            ),
            same=("0.17635", "0.1763", "(1/3)*(14/3 + 1e-5)**-0.5*(2 - 4/(14/3 + 1e-5))"),
        ),
        "mu-shape": Row(
            wrong=(("1 x N", J_TRANSPOSED), ("D", J_WRONG), ("N x D", J_WRONG), ("N", J_WRONG)),
            same=("N x 1", "N×1", "(N, 1)"),
        ),
        "dgamma-shape": Row(
            wrong=(("N x D", unsummed("N x D", 0, "D")), ("N", J_WRONG), ("1", J_WRONG)),
            same=("D", "(D,)", " D "),
        ),
        "eval-mode": Row(
            wrong=(
                ("b", choice_wrong("layernorm-backward", "eval-mode", "b")),
                ("c", choice_wrong("layernorm-backward", "eval-mode", "c")),
                ("d", choice_wrong("layernorm-backward", "eval-mode", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "adam-from-scratch": {
        "grad-w": Row(
            wrong=(
                ("-0.8", known("adam-from-scratch", "grad-w", 0)),
                ("1.6", V_SIGN),
                ("w", named("w")),
                ("-3.2", V_WRONG),
            ),
            same=("-1.6", "2*(0.6 - 1)*2", "−1.6"),
        ),
        "adam-first-step": Row(
            wrong=(
                ("0.46", known("adam-from-scratch", "adam-first-step", 0)),
                ("0.616228", known("adam-from-scratch", "adam-first-step", 1)),
                ("0.2", known("adam-from-scratch", "adam-first-step", 2)),
                ("0.5", V_WRONG),
            ),
            same=("0.4", "0.3 + 0.1*1.6/(1.6 + 1e-8)", "0.399999"),
        ),
        "uncorrected-factor": Row(
            wrong=(
                ("100", known("adam-from-scratch", "uncorrected-factor", 0)),
                ("1", V_WRONG),
                ("0.31623", V_WRONG),
            ),
            same=("3.1623", "sqrt(10)", "0.1/sqrt(0.001)"),
        ),
        "grad-shape": Row(
            wrong=(("K x D", J_TRANSPOSED), ("N x K", J_WRONG), ("N x D", J_WRONG)),
            same=("D x K", "D×K", "(D, K)"),
        ),
        "adamw": Row(
            wrong=(
                ("b", choice_wrong("adam-from-scratch", "adamw", "b")),
                ("c", choice_wrong("adam-from-scratch", "adamw", "c")),
                ("d", choice_wrong("adam-from-scratch", "adamw", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "embeddings-char-model": {
        "grad-table": Row(
            wrong=(
                (
                    "g*U*(1 - tanh(a)**2)*Wa*X1",
                    branch(
                        "path through e1",
                        "path through e2",
                        "C is used by e1 and e2, and its gradient is the sum over both.",
                    ),
                ),
                (
                    "g*U*(1 - tanh(a)**2)*Wb*X2",
                    branch(
                        "path through e2",
                        "path through e1",
                        "C is used by e1 and e2, and its gradient is the sum over both.",
                    ),
                ),
                ("g*U*tanh(a)*(Wa*X1 + Wb*X2)", activation("tanh(a)", "1 - tanh(a)**2")),
                ("g*U*(Wa*X1 + Wb*X2)", missing("h", "a", "1 - tanh(a)**2")),
                ("g*(1 - tanh(a)**2)*(Wa*X1 + Wb*X2)", missing("z", "h", "U")),
            ),
            same=(
                "(Wa*X1 + Wb*X2)*g*U*(1 - h**2)",
                "g*U*(1 - tanh(a)**2)*Wa*X1 + g*U*(1 - tanh(a)**2)*Wb*X2",
            ),
        ),
        "first-loss": Row(
            wrong=(
                ("0.03125", known("embeddings-char-model", "first-loss", 0)),
                ("1.50515", known("embeddings-char-model", "first-loss", 1)),
                ("-3.46574", V_SIGN),
                ("3.42598", V_WRONG),
            ),
            same=("3.4657", "log(32)", "-log(1/32)"),
        ),
        "row-sum": Row(
            wrong=(
                ("0.4", known("embeddings-char-model", "row-sum", 0)),
                ("0.2", known("embeddings-char-model", "row-sum", 1)),
                ("-0.1", V_SIGN),
                ("1.1", V_WRONG),
            ),
            same=("0.1", "0.2 - 0.5 + 0.4", "1/10"),
        ),
        "table-grad-shape": Row(
            wrong=(("D x V", J_TRANSPOSED), ("N x D", J_WRONG), ("N x V", J_WRONG)),
            same=("V x D", "V×D", "(V, D)"),
        ),
        "lookup-grad-shape": Row(
            wrong=(("D x N", J_TRANSPOSED), ("V x D", J_WRONG), ("N x V", J_WRONG)),
            same=("N x D", "N×D", "(N, D)"),
        ),
        "fancy-index": Row(
            wrong=(
                ("b", choice_wrong("embeddings-char-model", "fancy-index", "b")),
                ("c", choice_wrong("embeddings-char-model", "fancy-index", "c")),
                ("d", choice_wrong("embeddings-char-model", "fancy-index", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "data-parallel": {
        "grad-w": Row(
            wrong=(
                ("2*(z1 - y1)*x1 + 2*(z2 - y2)*x2", missing("L", "L1", "1/2")),
                (
                    "(2*(z1 - y1)*x1)/2",
                    branch(
                        "path through z1",
                        "path through z2",
                        "w is used by z1 and z2, and its gradient is the sum over both.",
                    ),
                ),
                ("(2*(y1 - z1)*x1 + 2*(y2 - z2)*x2)/2", SIGN),
                ("((z1 - y1)*x1 + (z2 - y2)*x2)/2", extra("L", "L1")),
            ),
            same=(
                "(z1 - y1)*x1 + (z2 - y2)*x2",
                "(2*(z1 - y1)*x1 + 2*(z2 - y2)*x2)/2",
                "x1*(x1*w - y1) + x2*(x2*w - y2)",
            ),
        ),
        "average-value": Row(
            wrong=(
                ("-1", known("data-parallel", "average-value", 0)),
                ("0.5", V_SIGN),
                ("-3", V_WRONG),
                ("w", named("w")),
            ),
            same=("-0.5", "(-3 + 2)/2", "−0.5"),
        ),
        "share": Row(
            wrong=(("1", V_WRONG), ("2", V_WRONG), ("-0.5", V_SIGN)),
            same=("0.5", "1/2", "0.50"),
        ),
        "shape": Row(
            wrong=(("H x D", J_TRANSPOSED), ("N x H", J_WRONG), ("N x D", J_WRONG)),
            same=("D x H", "D×H", "(D, H)"),
        ),
        "batchnorm": Row(
            wrong=(
                ("b", choice_wrong("data-parallel", "batchnorm", "b")),
                ("c", choice_wrong("data-parallel", "batchnorm", "c")),
                ("d", choice_wrong("data-parallel", "batchnorm", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
        "accumulate": Row(
            wrong=(
                ("b", choice_wrong("data-parallel", "accumulate", "b")),
                ("c", choice_wrong("data-parallel", "accumulate", "c")),
                ("d", choice_wrong("data-parallel", "accumulate", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "residual-connections": {
        "grad-h1": Row(
            wrong=(
                (f"2*(z - y)*w3*{TANH2}*w2", known("residual-connections", "grad-h1", 0)),
                (
                    "2*(z - y)*w3",
                    branch(
                        "path through h2",
                        "path through a2",
                        "h1 is used by a2 and h2, and its gradient is the sum over both.",
                    ),
                ),
                (f"2*(y - z)*w3*(1 + {TANH2}*w2)", SIGN),
                (f"(z - y)*w3*(1 + {TANH2}*w2)", factor(2)),
                (f"2*(z - y)*(1 + {TANH2}*w2)", missing("z", "h2", "w3")),
                (
                    "2*(z - y)*w3*(1 + tanh(h1*w2)*w2)",
                    activation("tanh(h1*w2)", "1 - tanh(h1*w2)**2"),
                ),
            ),
            same=("2*(z - y)*w3*(1 + (1 - a2**2)*w2)", f"2*(z - y)*w3 + 2*(z - y)*w3*{TANH2}*w2"),
        ),
        "block-factor": Row(
            wrong=(
                ("-0.459547", known("residual-connections", "block-factor", 0)),
                ("-0.5404533386", V_SIGN),
                ("0.7", V_WRONG),
            ),
            same=("1 + (1 - 0.483827**2)*(-0.6)", "0.540453", "0.5404533"),
        ),
        "four-blocks": Row(
            wrong=(
                ("0.0625", known("residual-connections", "four-blocks", 0)),
                ("0.5**4", known("residual-connections", "four-blocks", 0)),
                ("3", known("residual-connections", "four-blocks", 1)),
                ("-5.0625", V_SIGN),
                ("1.5", V_WRONG),
            ),
            same=("1.5**4", "81/16", "5.0625", "(1 + 0.5)**4"),
        ),
        "shape-w2": Row(
            wrong=(("N x D", S_PLAIN), ("D x K", S_PLAIN), ("N x N", S_PLAIN)),
            same=("D x D", "D×D", "(D, D)", "D * D"),
        ),
        "why-w6-larger": Row(
            wrong=(
                ("b", choice_wrong("residual-connections", "why-w6-larger", "b")),
                ("c", choice_wrong("residual-connections", "why-w6-larger", "c")),
                ("d", choice_wrong("residual-connections", "why-w6-larger", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "activations": {
        "grad-z": Row(
            wrong=(
                ("2*(o - y)*v*s", known("activations", "grad-z", 0)),
                (f"2*(y - o)*v*{SILU}", SIGN),
                (f"(o - y)*v*{SILU}", factor(2)),
                (f"2*(o - y)*{SILU}", missing("o", "h", "v")),
                (
                    "2*(o - y)*v*(s + z*sigmoid(z))",
                    activation("sigmoid(z)", "sigmoid(z)*(1 - sigmoid(z))"),
                ),
            ),
            same=("2*(o - y)*v*sigmoid(z)*(1 + z*(1 - sigmoid(z)))", f"2*v*(o - y)*{SILU}"),
        ),
        "silu-slope": Row(
            wrong=(
                ("0.689974", known("activations", "silu-slope", 0)),
                ("-0.861102", V_SIGN),
                ("0.5", V_WRONG),
            ),
            same=("sigmoid(0.8)*(1 + 0.8*(1 - sigmoid(0.8)))", "0.861102", "0.8611"),
        ),
        "gelu-slope": Row(
            wrong=(
                ("0.841345", known("activations", "gelu-slope", 0)),
                ("-1.0833", V_SIGN),
                ("0.5", V_WRONG),
            ),
            same=("0.841345 + 0.241971", "1.0833", "1.083315"),
        ),
        "softplus-slope": Row(
            wrong=(
                ("0.9740769841801067", known("activations", "softplus-slope", 0)),
                ("log(1 + exp(0.5))", known("activations", "softplus-slope", 0)),
                ("-0.622459", V_SIGN),
                ("0.5", V_WRONG),
            ),
            same=("sigmoid(0.5)", "exp(0.5)/(1 + exp(0.5))", "0.6224593"),
        ),
        "shape-w": Row(
            wrong=(
                (
                    "H x D",
                    Expect(
                        "That is the transposed shape: rows and columns are swapped.", "transposed"
                    ),
                ),
                ("N x H", S_PLAIN),
                ("D x D", S_PLAIN),
            ),
            same=("D x H", "D×H", "(D, H)"),
        ),
        "which-die": Row(
            wrong=(
                ("b", choice_wrong("activations", "which-die", "b")),
                ("c", choice_wrong("activations", "which-die", "c")),
                ("d", choice_wrong("activations", "which-die", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
    "attention-backward": {
        "grad-p": Row(
            wrong=(
                ("-G*V", SIGN),
                ("G", missing("O", "P", "V")),
                ("V", missing("L", "O", "G")),
                (
                    "sum(G*V)",
                    Expect(
                        "In the batch view your answer is scalar, but ∂L/∂P has the shape of P, T×T.",
                        "shape",
                    ),
                ),
            ),
            same=("G*V", "V*G", "G @ V.T", "G·V"),
        ),
        "fused-row": Row(
            wrong=(
                ("0.5", known("attention-backward", "fused-row", 0)),
                ("1", known("attention-backward", "fused-row", 1)),
                ("-0.25", V_SIGN),
                ("0.2", V_WRONG),
            ),
            same=("0.25", "0.5*(1 - 0.5)", "0.5*(1 - 1*0.5 - 0*0.3 - 0*0.2)"),
        ),
        "masked-grad": Row(
            wrong=(("1", V_WRONG), ("0.5", V_WRONG), ("x", named("x"))),
            same=("0", "0.0", "-0", "0*(1 - 0.5)"),
        ),
        "raw-std": Row(
            wrong=(
                ("64", known("attention-backward", "raw-std", 0)),
                ("1", known("attention-backward", "raw-std", 1)),
                ("-8", V_SIGN),
                ("0.125", V_WRONG),
            ),
            same=("8", "sqrt(64)", "64**0.5"),
        ),
        "scores-shape": Row(
            wrong=(("T x D", J_WRONG), ("D x D", J_WRONG), ("T", J_WRONG)),
            same=("T x T", "T×T", "(T, T)"),
        ),
        "dk-shape": Row(
            wrong=(("D x T", S_TRANSPOSED), ("T x T", S_WRONG), ("D", S_WRONG)),
            same=("T x D", "T×D", "(T, D)"),
        ),
        "why-scale": Row(
            wrong=(
                ("b", choice_wrong("attention-backward", "why-scale", "b")),
                ("c", choice_wrong("attention-backward", "why-scale", "c")),
                ("d", choice_wrong("attention-backward", "why-scale", "d")),
            ),
            same=("a", "A", "(a)"),
        ),
    },
}


TABLE_WRONG = [
    (lid, eid, ans, exp)
    for lid, rows in TABLE.items()
    for eid, row in rows.items()
    for ans, exp in row.wrong
]


TABLE_SAME = [
    (lid, eid, ans) for lid, rows in TABLE.items() for eid, row in rows.items() for ans in row.same
]


def test_table_covers_every_exercise_of_every_lesson():
    """A new exercise fails here until its plausible mistakes are written into TABLE."""
    in_lessons = {(lid, eid) for lid, eid, _ in all_exercises()}
    in_table = {(lid, eid) for lid, rows in TABLE.items() for eid in rows}
    assert in_lessons - in_table == set(), "exercises without a TABLE row"
    assert in_table - in_lessons == set(), "TABLE rows for exercises that no lesson has"
    assert (
        set(TABLE)
        == {
            "single-neuron",
            "linear-1d",
            "linear-regression",
            "multivariate-regression",
            "logistic-regression",
            "two-layer-relu",
            "vector-derivatives",
            "mlp-digits",
            "fan-out",
            "backprop-through-time",
            "gradient-checking",
            "initialisation",
            "vanishing-gradients",
            "softmax-cross-entropy",
            "batchnorm-backward",
            "xor-needs-a-hidden-layer",
            "residual-connections",
            "layernorm-backward",
            "activations",
            "adam-from-scratch",
            "attention-backward",
            "embeddings-char-model",
            "data-parallel",
        }
        <= set(lesson_ids())
    )


@pytest.mark.parametrize(
    "lesson_id, ex_id",
    [(lid, eid) for lid, rows in TABLE.items() for eid in rows],
    ids=lambda v: str(v),
)
def test_table_row_has_three_wrong_answers_and_a_rewriting(lesson_id, ex_id):
    row = TABLE[lesson_id][ex_id]
    assert len(row.wrong) >= 3
    assert len(row.same) >= 1
    answers = [a for a, _ in row.wrong]
    assert len(set(answers)) == len(answers)


@pytest.mark.parametrize(
    "lesson_id, ex_id, answer, expect",
    TABLE_WRONG,
    ids=ids([(lid, eid, ans) for lid, eid, ans, _ in TABLE_WRONG]),
)
def test_plausible_wrong_answer_gets_its_response(lesson_id, ex_id, answer, expect):
    v = check(lesson_id, ex_id, answer)
    expect.verify(v, f"{lesson_id}/{ex_id} {answer!r}")


@pytest.mark.parametrize("lesson_id, ex_id, answer", TABLE_SAME, ids=ids(TABLE_SAME))
def test_equivalent_rewriting_is_accepted(lesson_id, ex_id, answer):
    v = check(lesson_id, ex_id, answer)
    assert v.correct is True, f"{lesson_id}/{ex_id} {answer!r}: {v.message!r} ({v.feedback!r})"
    assert v.feedback == ""


EXERCISES = all_exercises()


def of_kind(*kinds: str) -> list[tuple[str, str]]:
    return [(lid, eid) for lid, eid, kind in EXERCISES if kind in kinds]


@pytest.mark.parametrize("lesson_id, ex_id, kind", EXERCISES, ids=ids(EXERCISES))
def test_lessons_own_answer_is_accepted(lesson_id, ex_id, kind):
    ex = exercise(lesson_id, ex_id)
    v = check(lesson_id, ex_id, ex.answer)
    assert v.correct is True, v.message
    assert v.feedback == ""
    if kind == "derivative":
        assert v.message == "Correct: that is the chain rule multiplied out."
    else:
        assert v.message == "Correct."


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("derivative"), ids=ids(of_kind("derivative")))
def test_derivative_negated_is_a_sign_error(lesson_id, ex_id):
    answer = exercise(lesson_id, ex_id).answer
    SIGN.verify(check(lesson_id, ex_id, f"-({answer})"), f"{lesson_id}/{ex_id}")


def _typographic(answer: str, minus: bool, dot: bool) -> str:
    if minus:
        answer = answer.replace("-", "−")  # U+2212, as the lesson text writes it
    if dot:
        answer = re.sub(r"(?<!\*)\*(?!\*)", "·", answer)  # U+00B7 for a product, not for **
    return answer


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("derivative"), ids=ids(of_kind("derivative")))
def test_derivative_typed_with_the_lesson_texts_symbols_is_read(lesson_id, ex_id):
    """The explanations write 2(y_pred − y) · x with U+2212 and U+00B7, and a learner copies
    them. (A value answer already reads U+2212.)"""
    own = exercise(lesson_id, ex_id).answer
    problems = []
    for minus, dot in ((True, False), (False, True)):
        answer = _typographic(own, minus, dot)
        if answer == own:
            continue  # nothing to rewrite in this answer
        v = check(lesson_id, ex_id, answer)
        if not v.correct:
            problems.append(f"{answer!r}: {v.message!r}")
    assert not problems, "\n".join(problems)


def _last_links() -> list[tuple[str, str, str, str, str]]:
    """(lesson, exercise, consumer, step, local) for derivative exercises whose `step` feeds one
    node through a local partial that is not a constant: dropping that last factor of the chain
    must be diagnosed as exactly that."""
    from tutor.derive import consumers, derive
    from tutor.exercises import typed
    from tutor.expr.nodes import Num

    out = []
    for lid, eid in of_kind("derivative"):
        ls = lesson(lid)
        ex = exercise(lid, eid)
        if ls.graph is None or ex.step is None:
            continue
        used_by = consumers(ls.graph).get(ex.step, [])
        if len(used_by) != 1:
            continue
        local = derive(ls).local_trees[(used_by[0], ex.step)]
        if isinstance(local, Num):
            continue
        out.append((lid, eid, used_by[0], ex.step, typed(local)))
    return out


LAST_LINKS = _last_links()


@pytest.mark.parametrize("lesson_id, ex_id, node, inp, local", LAST_LINKS, ids=ids(LAST_LINKS))
def test_dropping_the_last_chain_factor_is_named(lesson_id, ex_id, node, inp, local):
    answer = f"({exercise(lesson_id, ex_id).answer})/({local})"
    missing(node, inp, local).verify(
        check(lesson_id, ex_id, answer), f"{lesson_id}/{ex_id} {answer!r}"
    )


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("value"), ids=ids(of_kind("value")))
def test_value_negated_is_a_sign_error_and_a_far_value_is_not(lesson_id, ex_id):
    ex = exercise(lesson_id, ex_id)
    value = float(ex.answer)
    if value:
        V_SIGN.verify(check(lesson_id, ex_id, repr(-value)), f"{lesson_id}/{ex_id}")
    far = value + 10 + 2 * abs(value) + 10 * ex.tolerance  # neither the value nor its negative
    V_WRONG.verify(check(lesson_id, ex_id, repr(far)), f"{lesson_id}/{ex_id}")
    # within the tolerance, with a different spelling
    assert check(lesson_id, ex_id, f"{value + ex.tolerance / 2:.12f}").correct
    assert check(lesson_id, ex_id, f"  {value!r}  ").correct


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("value"), ids=ids(of_kind("value")))
@pytest.mark.parametrize("answer", ["", "six", "1,2", "nan", "inf", "1e400"])
def test_value_that_is_no_usable_number(lesson_id, ex_id, answer):
    v = check(lesson_id, ex_id, answer)
    assert v.correct is False
    assert len(v.message) <= MAX_MESSAGE


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("value"), ids=ids(of_kind("value")))
def test_value_written_as_arithmetic_is_worked_out(lesson_id, ex_id):
    """1 + 0.2 is read as 1.2: arithmetic on numbers, as the hints write it, is worked out and
    compared like a number (a sign error included)."""
    value = float(exercise(lesson_id, ex_id).answer)
    for answer in (f"({value / 4!r})*4", f"{value + 1!r} - 1", f"-(-({value!r}))"):
        v = check(lesson_id, ex_id, answer)
        assert v.correct is True, f"{answer!r}: {v.message!r}"
    if value:
        V_SIGN.verify(check(lesson_id, ex_id, f"-(({value / 4!r})*4)"), f"{lesson_id}/{ex_id}")


@pytest.mark.parametrize(
    "answer, message",
    [
        ("1e400", "expected a finite number, found '1e400'"),
        ("−inf", "expected a finite number, found '−inf'"),
        ("nan", "expected a finite number, found 'nan'"),
        ("six", named("six").message),
        ("w - 0.01*(-30)", named("w").message),
        ("1/0", "expected a finite number, found '1/0'"),
        ("log(0)", "expected a finite number, found 'log(0)'"),
        (
            "9**9**9",
            "expected a number, found '9**9**9': an exponent must be a literal number, such as x**2",
        ),
        ("1,2", "expected a number, found '1,2': Tuple is not allowed in an expression"),
        ("exp(1000)", "expected a number of sensible size: 'exp(1000)' is too large to work out."),
        (
            "exp(exp(exp(exp(10))))",
            "expected a number of sensible size: 'exp(exp(exp(exp(10))))' is too large to work out.",
        ),
        (
            "((1e12)**16)**16",
            "expected a number of sensible size: '((1e12)**16)**16' is too large to work out.",
        ),
        (
            "log(-1)",
            "expected a number: 'log(-1)' takes a log, square root or fractional power of a negative number.",
        ),
        (
            "(-8)**0.5",
            "expected a number: '(-8)**0.5' takes a log, square root or fractional power of a negative number.",
        ),
    ],
    ids=[
        "overflowing-literal",
        "minus-inf",
        "nan",
        "word",
        "name",
        "divide-by-zero",
        "log-zero",
        "power-tower",
        "decimal-comma",
        "exp",
        "exp-tower",
        "power-of-power",
        "log-negative",
        "root-negative",
    ],
)
def test_value_that_cannot_be_worked_out_says_why(answer, message):
    """Plain numbers get the responses they always had; an expression with a name, or one that
    overflows float64 or is undefined, is turned away at once with the reason."""
    v = check("linear-1d", "first-step", answer, seconds=HOSTILE_SECONDS)
    assert (v.correct, v.message, v.feedback) == (False, message, "")


TANH_LESSON = """
schema = 1
id = "tanh-neuron"
title = "A tanh neuron"

[[explain]]
title = "The model"
text = "a = tanh(w*x), with the squared error."

[graph]
inputs = ["x", "y"]
params = ["w"]

[[graph.nodes]]
name = "z"
expr = "w*x"

[[graph.nodes]]
name = "a"
expr = "tanh(z)"

[[graph.nodes]]
name = "L"
expr = "(a - y)**2"

[graph.point]
x = 1.5
y = 0.5
w = 0.8

[[exercises]]
id = "grad-w"
kind = "derivative"
prompt = "Write ∂L/∂w."
answer = "2*(a - y)*(1 - tanh(z)**2)*x"
step = "w"
"""


@pytest.mark.parametrize(
    "answer, expect",
    [
        ("2*(a - y)*tanh(z)*x", activation("tanh(z)", "1 - tanh(z)**2")),
        ("2*(a - y)*a*x", activation("a = tanh(z)", "1 - a**2")),
        ("2*(a - y)*tanh(w*x)*x", activation("tanh(w*x)", "1 - tanh(w*x)**2")),
        ("2*(a - y)*x", missing("a", "z", "1 - tanh(z)**2")),
    ],
    ids=["call", "node", "argument", "missing"],
)
def test_tanh_for_its_derivative_is_named(answer, expect):
    """No shipped lesson has a tanh node: a small one, read from text, checks that the slip is
    found for tanh too (derivative 1 - tanh(u)**2, or 1 - a**2 through the node's name)."""
    from tutor.lesson import loads

    tanh = loads(TANH_LESSON)
    with deadline(ANSWER_SECONDS, answer):
        expect.verify(check_answer(tanh, "grad-w", answer), answer)
        assert check_answer(tanh, "grad-w", "2*(a - y)*(1 - a**2)*x").correct


STEP_ANSWERS = [
    (lid, eid) for lid, eid in of_kind("derivative") if "step(z1)" in exercise(lid, eid).answer
]


@pytest.mark.parametrize("lesson_id, ex_id", STEP_ANSWERS, ids=ids(STEP_ANSWERS))
def test_relu_written_for_step_is_named(lesson_id, ex_id):
    """The lesson's own answer with relu(z1) where it has step(z1), or the node h1 that holds
    relu(z1): the activation for its derivative, not an extra or missing chain factor."""
    answer = exercise(lesson_id, ex_id).answer
    RELU_FOR_STEP.verify(check(lesson_id, ex_id, answer.replace("step(z1)", "relu(z1)")), answer)
    H1_FOR_STEP.verify(check(lesson_id, ex_id, answer.replace("step(z1)", "h1")), answer)


def test_activation_slip_with_a_long_argument_is_shortened():
    """An argument longer than 40 characters is elided, so that the response stays a sentence."""
    long = (
        "x*w1 + (x + y + w1 + w2)**2 - (x**2 + y**2 + w1**2 + w2**2 + 2*x*y + 2*x*w1 + 2*x*w2 + 2*y*w1 "
        "+ 2*y*w2 + 2*w1*w2)"
    )
    v = check("two-layer-relu", "grad-w1", f"2*(z2 - y)*w2*relu({long})*x")
    assert (v.message, v.feedback) == (
        "relu(…) is the activation itself; its derivative step(…) belongs here.",
        "activation for derivative",
    )


def test_activation_in_a_denominator_is_not_a_slip():
    """(…)*h1/h1 is (…) without h1: swapping the h1 below the line for step(z1) would pass for
    the gradient (they differ only where step(z1) is 0), but a chain factor never divides."""
    missing("z2", "w2", "h1").verify(
        check("two-layer-relu", "grad-w2", "2*(z2 - y)*h1/h1"), "h1/h1"
    )
    missing("z2", "w2", "h1").verify(
        check("two-layer-relu", "grad-w2", "2*(z2 - y)*h1*h1**-1"), "h1*h1**-1"
    )


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("shape"), ids=ids(of_kind("shape")))
def test_shape_transposed_and_respaced(lesson_id, ex_id):
    ex = exercise(lesson_id, ex_id)
    dims = [d.strip() for d in ex.answer.split("x")]
    assert check(lesson_id, ex_id, " × ".join(dims)).correct
    assert check(lesson_id, ex_id, "x".join(dims)).correct
    if len(dims) == 2 and dims[0] != dims[1]:
        v = check(lesson_id, ex_id, " x ".join(reversed(dims)))
        assert v.correct is False and v.feedback == "transposed", v.message
    v = check(lesson_id, ex_id, " x ".join(dims + ["Q"]))
    assert v.correct is False and v.feedback == "", v.message


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("shape"), ids=ids(of_kind("shape")))
def test_shape_message_fits_the_exercise(lesson_id, ex_id):
    """ "A gradient has the shape of the parameter it belongs to" is said only where the
    exercise is about a parameter's gradient (it has a `step`), not of a Jacobian."""
    ex = exercise(lesson_id, ex_id)
    v = check(lesson_id, ex_id, "Q x Q")
    assert v.correct is False
    if ex.step is None:
        assert "parameter" not in v.message, v.message


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("choice"), ids=ids(of_kind("choice")))
def test_choice_other_letters_are_wrong(lesson_id, ex_id):
    ex = exercise(lesson_id, ex_id)
    for letter in "abcdefgh"[: len(ex.choices)]:
        v = check(lesson_id, ex_id, letter)
        if letter == ex.answer:
            assert v.correct is True
            assert check(lesson_id, ex_id, letter.upper()).correct is True
        else:
            choice_wrong(lesson_id, ex_id, letter).verify(v, f"{lesson_id}/{ex_id} {letter!r}")


@pytest.mark.parametrize("lesson_id, ex_id", of_kind("choice"), ids=ids(of_kind("choice")))
def test_choice_needs_one_of_its_letters(lesson_id, ex_id):
    """A letter beyond the choices, or text that merely begins with the right letter ("all of
    them", "a or b"), is not an answer: say which letters there are."""
    ex = exercise(lesson_id, ex_id)
    last = last_letter(lesson_id, ex_id)
    beyond = "abcdefghi"[len(ex.choices)]
    words = {
        "a": "all of them",
        "b": "both",
        "c": "can't say",
        "d": "don't know",
        "e": "either",
        "f": "first",
        "g": "guess",
        "h": "help",
    }
    problems = []
    hedge = f"{ex.answer} or {'b' if ex.answer != 'b' else 'c'}"
    for answer in (words[ex.answer], hedge, beyond, "?", "1"):
        try:
            letters(last).verify(check(lesson_id, ex_id, answer), f"{answer!r}")
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    assert not problems, "\n".join(problems)


def hostile_inputs(marker) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"__import__('pathlib').Path('{marker}').touch()",
        "().__class__",
        "().__class__.__base__.__subclasses__()",
        "9**9**9",
        "lambda: 1",
        "x" * 3000,
        "(" * 3000,
        "exec('import os')",
        "\x00",
        "1" * 3000,
    ]


HOSTILE_IDS = [
    "system",
    "open",
    "pathlib",
    "dunder",
    "subclasses",
    "power-tower",
    "lambda",
    "long-name",
    "brackets",
    "exec",
    "nul",
    "long-number",
]


def _explains(kind: str, lesson_id: str, ex_id: str, answer: str, v: Verdict) -> None:
    if kind == "derivative":
        assert v.message.startswith("That could not be read: "), v.message
        assert v.feedback == "syntax"
    elif kind == "value":
        assert v.message.startswith("expected a number"), v.message
    elif kind == "shape" and not answer.isdigit():  # digits are a well-formed (wrong) shape
        assert "written like" in v.message, v.message
    elif kind == "choice":
        assert f"a to {last_letter(lesson_id, ex_id)}" in v.message, v.message


def _hostile_answers(kind: str, marker) -> list[tuple[str, str]]:
    out = []
    for name, answer in zip(HOSTILE_IDS, hostile_inputs(marker), strict=False):
        if kind == "value" and name == "long-number":
            answer = "1" * 3000 + "x"  # 1e2999 is a number (it reads as inf): make it not one
        out.append((name, answer))
    return out


@pytest.mark.parametrize("lesson_id, ex_id, kind", EXERCISES, ids=ids(EXERCISES))
def test_hostile_input_is_rejected_safely(lesson_id, ex_id, kind, tmp_path):
    """Not accepted, no exception, nothing run or created, answered within HOSTILE_SECONDS."""
    marker = tmp_path / "pwned"
    for name, answer in _hostile_answers(kind, marker):
        v = check(lesson_id, ex_id, answer, seconds=HOSTILE_SECONDS)
        assert v.correct is False, name
        assert not marker.exists(), name
        assert list(tmp_path.iterdir()) == [], name


@pytest.mark.parametrize("lesson_id, ex_id, kind", EXERCISES, ids=ids(EXERCISES))
def test_hostile_input_gets_a_short_explanation(lesson_id, ex_id, kind, tmp_path):
    """The response says what is wrong with the input (derivative: why it could not be read;
    value: that a number is expected; shape: how a shape is written; choice: which letters
    there are) in at most MAX_MESSAGE characters."""
    problems = []
    for name, answer in _hostile_answers(kind, tmp_path / "pwned"):
        v = check(lesson_id, ex_id, answer, seconds=HOSTILE_SECONDS)
        try:
            assert len(v.message) <= MAX_MESSAGE, (
                f"{len(v.message)} characters: {v.message[:80]!r}..."
            )
            _explains(kind, lesson_id, ex_id, answer, v)
        except AssertionError as exc:
            problems.append(f"{name}: {exc}")
    assert not problems, "\n".join(problems)


def _costly(lesson_id: str) -> list[str]:
    """Legal, short expressions that are expensive for sympy to simplify."""
    g = lesson(lesson_id).graph
    names = list(g.leaves + tuple(n.name for n in g.nodes if n.name != "L"))[:4]
    return [
        f"({' + '.join(names)})**16",
        f"({names[0]} + {names[1]})**16*({names[0]} - {names[1]})**16",
        f"exp(exp(exp(exp(exp({names[0]})))))",
        "+".join([names[0]] * 190),
    ]


FIRST_DERIVATIVE = []


for _lid in lesson_ids():
    _d = [eid for lid, eid in of_kind("derivative") if lid == _lid]
    if _d:
        FIRST_DERIVATIVE.append((_lid, _d[0]))


@pytest.mark.parametrize("lesson_id, ex_id", FIRST_DERIVATIVE, ids=ids(FIRST_DERIVATIVE))
@pytest.mark.parametrize(
    "which", range(4), ids=["sum-power", "product-powers", "exp-tower", "long-sum"]
)
def test_costly_but_legal_answer_is_judged_in_time(lesson_id, ex_id, which):
    """A 20-character answer must not hold the checker (and the TUI's worker) for minutes."""
    answer = _costly(lesson_id)[which]
    v = check(lesson_id, ex_id, answer, seconds=HOSTILE_SECONDS)
    assert v.correct is False
    assert len(v.message) <= MAX_MESSAGE


def test_unknown_exercise_id_raises_lesson_error():
    with pytest.raises(LessonError) as info:
        check_answer(lesson("two-layer-relu"), "no-such", "1")
    assert "no-such" in info.value.message
    assert "grad-w1" in info.value.message


def test_unknown_name_in_a_derivative_names_the_known_ones():
    v = check("linear-regression", "grad-b", "-2*(y - y_hat)")
    assert v.correct is False and v.feedback == "syntax"
    assert "y_hat" in v.message and "yhat" in v.message


@pytest.mark.parametrize(
    "lesson_id, ex_id, answer, expect",
    [
        ("linear-1d", "first-step", "1.2", SUMMED_STEP),
        ("linear-regression", "grad-b-value", "-2.1408", OTHER_W),
        ("two-layer-relu", "grad-w1-value", "-4.656", OTHER_W2),
    ],
)
def test_value_mistakes_from_the_lesson_are_named(lesson_id, ex_id, answer, expect):
    expect.verify(check(lesson_id, ex_id, answer), f"{lesson_id}/{ex_id} {answer!r}")


def test_choice_answers_are_spread_over_the_letters():
    """Not every right answer is (a): a learner cannot game the choices."""
    answers = [
        e.answer for lid in lesson_ids() for e in lesson(lid).exercises if e.kind == "choice"
    ]
    assert len(set(answers)) >= 3 and answers.count("a") <= len(answers) // 2, answers


def test_nine_choices_and_misfit_reasons_are_refused_by_check():
    """The choice letters are a to h, defined once (tutor.lesson.LETTERS): a ninth choice used to
    pass --check and end `--answer q=a` in an IndexError."""
    from tutor.lesson import loads

    base = (
        'id = "q"\ntitle = "q"\n[[explain]]\ntitle = "x"\ntext = "x"\n[[exercises]]\nid = "q"\nkind = "choice"\n'
        'prompt = "?"\nanswer = "a"\n'
    )
    nine = base + "choices = [" + ", ".join(f'"{c}"' for c in "123456789") + "]\n"
    with pytest.raises(LessonError) as info:
        loads(nine, "q.toml")
    assert str(info.value) == (
        "q.toml:11: exercises[0].choices: a choice exercise needs 2 to 8 choices (strings), "
        "one per letter a to h"
    )
    misfit = base + 'choices = ["1", "2"]\nwhy = ["only one"]\n'
    with pytest.raises(LessonError) as info:
        loads(misfit, "q.toml")
    assert str(info.value) == "q.toml:12: exercises[0].why: expected 2 strings, one per choice"


@pytest.mark.parametrize(
    "answer, says",
    [
        (
            "exp(z2)/(exp(z2) + exp(c))",
            "That is softmax(z2) alone. The gradient is softmax minus the one-hot label, and z2 "
            "is the true class's score here, so subtract 1.",
        ),
        (
            "exp(z2)/(exp(z2)+exp(c))*(1-exp(z2)/(exp(z2)+exp(c)))",
            "That is s·(1 − s), the slope of one sigmoid. Through the log of the cross-entropy it cancels: ∂L/∂z2 is s − 1.",
        ),
    ],
)
def test_softmax_slips_are_named(answer, says):
    """Issue 19: the forgotten −1 of the one-hot and s(1 − s) for softmax, from the lesson's table."""
    Expect(says, "known mistake").verify(check("mlp-digits", "grad-z2", answer), answer)


def test_the_network_input_for_the_layer_input_is_named():
    Expect("You wrote x where h1 belongs (h1 = relu(z1)).", "x for h1").verify(
        check("mlp-digits", "grad-w2", "(exp(z2)/(exp(z2) + exp(c)) - 1)*x"), "x for h1"
    )


def test_the_dot_the_derive_part_prints_is_read():
    """U+22C5 (⋅) as well as · (U+00B7): both are the tutor's own product signs."""
    assert check("single-neuron", "grad-w", "2⋅(y_pred − y)⋅x").correct
    assert check("single-neuron", "grad-w", "2·(y_pred − y)·x").correct


# -- issue 28, item 11: the slip named --------------------------------------------------------------


def test_a_value_written_as_the_lesson_rounds_it_is_accepted_and_says_so():
    text = " ".join(p.text for p in lesson("vanishing-gradients").explain)
    assert "≈ 0.00024." in text  # the lesson's own rounding of (1/4)⁶
    for typed in ("0.00024", "2.4e-4", "0.00024 "):
        v = check("vanishing-gradients", "six-sigmoids", typed)
        assert v.correct and v.message == "Correct: that is 0.000244140625 as the lesson rounds it."
    # rounded right, but not as the lesson writes it: asked for more digits, never accepted
    v = check("vanishing-gradients", "six-sigmoids", "0.0002441")
    assert not v.correct and v.feedback == "more digits"
    assert v.message == (
        "Right as far as it goes: 0.0002441 is the answer rounded to 4 significant digits. Give more "
        "digits (within ±1e-09)."
    )  # never the answer itself
    # one significant digit is too coarse to call a rounding: 0.2 must never pass for 0.25
    assert check("vanishing-gradients", "six-sigmoids", "0.0002").message == "Not that value."


def test_another_gradient_is_named_with_the_graphs_own_output():
    v = check("fan-out", "grad-x", "-num/den**2")
    assert v.message == "That is ∂f/∂den, not ∂f/∂x."
