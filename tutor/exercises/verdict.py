"""What the checker answers, the figures it compares by, and how it writes an expression back."""

from __future__ import annotations

from dataclasses import dataclass

from tutor.expr.nodes import Expr
from tutor.expr.text import pretty

NOT_EQUAL = "Not equal to the derived gradient."
# functions whose derivative a learner may write as the function itself (relu(z1) for step(z1))
ACTIVATIONS = ("relu", "sigmoid", "tanh")
MAX_SLIPS = 8  # such swaps tried in one answer
POINTS = 8  # random points an answer is compared at (besides two corners)
SAME = 1e-7  # relative difference below which two values are the same


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str
    feedback: str = ""  # the specific diagnosis: missing factor, sign, transposed, ...

    @property
    def kind(self) -> str:
        """The verdict as one word of KINDS, for the learner's progress and the teacher's view:
        the kind of slip only, never what was typed."""
        if self.correct:
            return "correct"
        for prefix, kind in FEEDBACK_KINDS:
            if self.feedback.startswith(prefix):
                return kind
        return "swapped-name" if " for " in self.feedback else "not-equal"


# A verdict's feedback (its first words) → its kind; the first prefix that matches names it.
FEEDBACK_KINDS = (
    ("sign", "sign"),
    ("syntax", "unreadable"),
    ("transposed", "transposed"),
    ("shape", "shape"),
    ("known mistake", "known-mistake"),
    ("missing path", "missing-path"),
    ("missing ∂", "missing-factor"),
    ("extra factor", "extra-constant"),
    ("factor", "dropped-constant"),
    ("extra ∂", "extra-factor"),
    ("other ∂", "other-gradient"),
    ("derivative for activation", "derivative-for-activation"),
    ("activation for derivative", "activation-for-derivative"),
)
# Every kind a checked answer is counted under (code exercises add their checker's verdicts).
KINDS = ("correct", "not-equal", *dict.fromkeys(kind for _, kind in FEEDBACK_KINDS), "swapped-name")


def typed(expr: Expr) -> str:
    """An expression as a learner would type it: 2*(z2 - y)*step(z1)."""
    return pretty(expr, ascii=True)
