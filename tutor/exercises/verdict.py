"""What the checker answers, the figures it compares by, and how it writes an expression back."""

from __future__ import annotations

from dataclasses import dataclass

from tutor.expr.nodes import Expr
from tutor.expr.text import pretty

NOT_EQUAL = "Not equal to the derived gradient."
# functions whose derivative a learner may write as the function itself (relu(z1) for step(z1))
ACTIVATIONS = ("relu", "sigmoid", "tanh")
MAX_SLIPS = 8                # such swaps tried in one answer
POINTS = 8                   # random points an answer is compared at (besides two corners)
SAME = 1e-7                  # relative difference below which two values are the same


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str
    feedback: str = ""          # the specific diagnosis: missing factor, sign, transposed, ...


def typed(expr: Expr) -> str:
    """An expression as a learner would type it: 2*(z2 - y)*step(z1)."""
    return pretty(expr, ascii=True)
