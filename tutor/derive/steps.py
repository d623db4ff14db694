"""What a derivation is made of: steps (what one screen shows), checks, and the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tutor.expr.nodes import Expr


def d(num: str, den: str) -> str:
    return f"∂{num}/∂{den}"


@dataclass(frozen=True)
class Check:
    """One parameter's gradient three ways, graded on CS231n's bands."""

    param: str
    symbolic: Any
    autograd: Any
    numeric: Any
    rel_error: float  # derived vs finite differences (the larger of the two errors)
    ok: bool
    blame: str = ""  # what went wrong, where it did
    grade: str = ""  # good | near a kink | uncomfortable | wrong
    kink: bool = False  # a relu/max/abs argument changes sign within the step
    autograd_error: float = 0.0  # derived vs autograd

    def as_json(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "symbolic": _plain(self.symbolic),
            "autograd": _plain(self.autograd),
            "numeric": _plain(self.numeric),
            "rel_error": self.rel_error,
            "ok": self.ok,
            "grade": self.grade,
            "kink": self.kink,
        }


def _plain(v: Any) -> Any:  # an array → nested lists, a number → float
    if hasattr(v, "tolist"):
        return v.tolist()
    return float(v) if v is not None else None


@dataclass(frozen=True)
class Step:
    """What one screen of the derivation shows. `lines` pairs a label with an expression tree or
    plain text; `values`/`grads` name the nodes whose value/gradient is known so far."""

    index: int
    phase: str  # forward|backward|chain|check|sweep|matrix|values|jacobian
    node: str  # the node (or parameter) highlighted
    title: str
    lines: tuple[tuple[str, Expr | str], ...]
    note: str = ""
    values: frozenset[str] = frozenset()
    grads: frozenset[str] = frozenset()
    check: Check | None = None
    table: Any = None  # an array the step shows as a table ("values" steps)


@dataclass
class Derivation:
    lesson_id: str
    graph: Any
    steps: list[Step]
    values: dict[str, float]  # forward value of every leaf and node
    grads: dict[str, float]  # ∂L/∂(node or parameter) at the point
    trees: dict[str, Expr | None] = field(
        default_factory=dict
    )  # ∂L/∂name in node symbols (None: too large)
    local_trees: dict[tuple[str, str], Expr] = field(
        default_factory=dict
    )  # (node, input) → ∂node/∂input
    checks: list[Check] = field(default_factory=list)
    matrix_checks: list[Check] = field(default_factory=list)
    problem: str = ""  # why no gradient could be taken (a node undefined at the point)
    simplified: dict[str, Expr] = field(
        default_factory=dict, repr=False
    )  # ∂L/∂node after cancelling (while deriving)
    values_checks: list[Check] = field(default_factory=list)  # at [graph.values]' arrays

    def step_index(
        self, node: str, after: int = -1, phases: tuple[str, ...] | None = None
    ) -> int | None:
        """The next step (after `after`, wrapping) that highlights `node` (in one of `phases`)."""
        n = len(self.steps)
        for k in range(1, n + 1):
            i = (after + k) % n
            if self.steps[i].node == node and (phases is None or self.steps[i].phase in phases):
                return i
        return None

    # sympy views, for tests and for anything that wants to prove a result symbolically
    @property
    def local(self) -> dict[tuple[str, str], Any]:  # sympy expressions
        from tutor.expr.sympy_bridge import to_sympy

        return {k: to_sympy(v) for k, v in self.local_trees.items()}

    @property
    def grad_exprs(self) -> dict[str, Any]:
        from tutor.expr.sympy_bridge import to_sympy

        return {k: to_sympy(v) for k, v in self.trees.items() if v is not None}

    @property
    def chains(self) -> dict[str, Any]:
        exprs = self.grad_exprs
        return {p: exprs[p] for p in (self.graph.params if self.graph else ()) if p in exprs}
