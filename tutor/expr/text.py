"""Expressions as text: `to_text` in the syntax the parser reads (round trips, messages, typed
answers), and `pretty` as the tutor shows them, typeset on one line in the author's order and
with the author's operations (· for a product, − for minus, σ, ᵀ, superscript powers); with
`matrix=True`, matrix notation (⊙ for an elementwise product, · for a matrix product)."""

from __future__ import annotations

from tutor.expr.nodes import Apply, Expr, Num, Sym, fold, literal
from tutor.expr.ops import OPS

_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def number_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


MAX_TEXT = 20_000  # characters of one expression's text; a longer one ends in "…"


def _cap(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def to_text(expr: Expr, limit: int | None = None) -> str:
    """Plain text of `expr` in the syntax `parse` reads; parse(to_text(e)) == e. Each distinct
    node is written once and its text reused; with `limit`, every piece is cut to that many
    characters (for messages: no round trip then), so a shared DAG costs its nodes, not its tree."""

    def text(e: Expr, args: list[str]) -> str:
        if isinstance(e, Num):
            t = number_text(e.value)
            return f"({t})" if e.value < 0 else t  # (-2)**2 is not -(2**2)
        if isinstance(e, Sym):
            return e.name
        op = OPS[e.op]
        if e.op == "neg":
            out = f"(-({args[0]}))"
        elif e.op == "T":
            out = f"({args[0]}).T"
        elif op.infix:
            out = f"({args[0]} {op.infix} {args[1]})"
        else:
            out = f"{e.op}({', '.join(args)})"
        return _cap(out, limit)

    return fold(expr, text)


_UNICODE = {"add": " + ", "sub": " − ", "mul": "·", "div": "/", "matmul": " @ "}
_MATRIX = {"add": " + ", "sub": " − ", "mul": " ⊙ ", "div": " ⊘ ", "matmul": "·"}
_ASCII = {"add": " + ", "sub": " - ", "mul": "*", "div": "/", "matmul": " @ "}
_ASCII_MATRIX = {"add": " + ", "sub": " - ", "mul": " .* ", "div": " ./ ", "matmul": " @ "}


def _prec(expr: Expr) -> int:
    if isinstance(expr, Num):
        return 100 if expr.value >= 0 else 30
    if isinstance(expr, Sym):
        return 100
    return OPS[expr.op].prec


def pretty(
    expr: Expr, *, ascii: bool = False, matrix: bool = False, limit: int | None = MAX_TEXT
) -> str:
    """One line, typeset; brackets only where the order of operations needs them. Each distinct
    node is typeset once; a text longer than `limit` characters is cut with "…"."""
    p = _Pretty(ascii, matrix)
    return fold(expr, lambda e, args: _cap(p.show(e, args), limit))


class _Pretty:
    def __init__(self, ascii: bool, matrix: bool):
        self.ascii = ascii
        self.matrix = matrix
        self.infix = (
            (_ASCII_MATRIX if matrix else _ASCII) if ascii else (_MATRIX if matrix else _UNICODE)
        )

    def show(self, e: Expr, texts: list[str]) -> str:
        """`e` typeset, given its arguments' texts."""
        if isinstance(e, Num):
            text = number_text(e.value)
            return text if self.ascii else text.replace("-", "−")
        if isinstance(e, Sym):
            return e.name
        op, args = e.op, e.args
        if op == "neg":
            return ("-" if self.ascii else "−") + self.wrap(args[0], texts[0], 30, strict=True)
        if op == "T":
            return self.wrap(args[0], texts[0], 50, strict=True) + (".T" if self.ascii else "ᵀ")
        if op == "pow":
            base = self.wrap(args[0], texts[0], 40, strict=True)
            n = literal(args[1])
            text = number_text(n)
            if self.ascii:
                return f"{base}**{text}" if n >= 0 else f"{base}**({text})"
            return base + text.translate(_SUPERSCRIPT)
        if op in self.infix:
            p = OPS[op].prec
            sym = self.infix[op]
            if op == "mul" and self.matrix and isinstance(args[0], Num):
                sym = "*" if self.ascii else "·"  # a scalar factor: 2·(z2 − y)
            if op == "div" and self.matrix and isinstance(args[0], Num):
                sym = "/"  # a reciprocal: 1/p
            # (P ⊙ X)·K, not P ⊙ X·K: ⊙ and · bind alike, but a reader takes · first (a number's
            # 2·xᵀ·G needs none: a scalar multiplies in any order)
            left_arg = args[0]
            elementwise_left = (
                self.matrix
                and op == "matmul"
                and isinstance(left_arg, Apply)
                and left_arg.op in ("mul", "div")
                and not isinstance(left_arg.args[0], Num)
            )
            left = self.wrap(args[0], texts[0], p, strict=elementwise_left)
            right = self.wrap(
                args[1],
                texts[1],
                p,
                strict=op in ("sub", "div", "matmul") or op == "mul" and self.matrix,
            )
            return f"{left}{sym}{right}"
        if op == "step" and not self.ascii:  # ASCII keeps the name a learner can type
            return f"1[{texts[0]} > 0]"
        name = OPS[op].name if self.ascii else OPS[op].label
        return f"{name}({', '.join(texts)})"

    @staticmethod
    def wrap(e: Expr, text: str, outer: int, strict: bool = False) -> str:
        """`e`'s text, bracketed if it binds less tightly than its context (or equally, where
        order matters: a − (b − c))."""
        inner = _prec(e)
        if inner < outer or (strict and inner == outer):
            return f"({text})"
        return text
