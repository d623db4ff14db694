"""Expressions as text: `to_text` in the syntax the parser reads (round trips, messages, typed
answers), and `pretty` as the tutor shows them, typeset on one line in the author's order and
with the author's operations (· for a product, − for minus, σ, ᵀ, superscript powers); with
`matrix=True`, matrix notation (⊙ for an elementwise product, · for a matrix product)."""

from __future__ import annotations

from tutor.expr.nodes import Expr, Num, Sym
from tutor.expr.ops import OPS

_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def number_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def to_text(expr: Expr) -> str:
    """Plain text of `expr` in the syntax `parse` reads; parse(to_text(e)) == e."""
    if isinstance(expr, Num):
        text = number_text(expr.value)
        return f"({text})" if expr.value < 0 else text      # (-2)**2 is not -(2**2)
    if isinstance(expr, Sym):
        return expr.name
    op = OPS[expr.op]
    args = [to_text(a) for a in expr.args]
    if expr.op == "neg":
        return f"(-({args[0]}))"
    if expr.op == "T":
        return f"({args[0]}).T"
    if op.infix:
        return f"({args[0]} {op.infix} {args[1]})"
    return f"{expr.op}({', '.join(args)})"


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


def pretty(expr: Expr, *, ascii: bool = False, matrix: bool = False) -> str:
    """One line, typeset; brackets only where the order of operations needs them."""
    return _Pretty(ascii, matrix).show(expr)


class _Pretty:
    def __init__(self, ascii: bool, matrix: bool):
        self.ascii = ascii
        self.matrix = matrix
        self.infix = (_ASCII_MATRIX if matrix else _ASCII) if ascii else (_MATRIX if matrix else _UNICODE)

    def show(self, e: Expr) -> str:
        if isinstance(e, Num):
            text = number_text(e.value)
            return text if self.ascii else text.replace("-", "−")
        if isinstance(e, Sym):
            return e.name
        op, args = e.op, e.args
        if op == "neg":
            return ("-" if self.ascii else "−") + self.wrap(args[0], 30, strict=True)
        if op == "T":
            return self.wrap(args[0], 50, strict=True) + (".T" if self.ascii else "ᵀ")
        if op == "pow":
            base = self.wrap(args[0], 40, strict=True)
            n = args[1].value
            text = number_text(n)
            if self.ascii:
                return f"{base}**{text}" if n >= 0 else f"{base}**({text})"
            return base + text.translate(_SUPERSCRIPT)
        if op in self.infix:
            p = OPS[op].prec
            sym = self.infix[op]
            if op == "mul" and self.matrix and isinstance(args[0], Num):
                sym = "*" if self.ascii else "·"          # a scalar factor: 2·(z2 − y)
            if op == "div" and self.matrix and isinstance(args[0], Num):
                sym = "/"                                  # a reciprocal: 1/p
            left = self.wrap(args[0], p)
            right = self.wrap(args[1], p, strict=op in ("sub", "div", "matmul") or op == "mul" and self.matrix)
            return f"{left}{sym}{right}"
        if op == "step" and not self.ascii:        # ASCII keeps the name a learner can type
            return f"1[{self.show(args[0])} > 0]"
        name = OPS[op].name if self.ascii else OPS[op].label
        return f"{name}({', '.join(self.show(a) for a in args)})"

    def wrap(self, e: Expr, outer: int, strict: bool = False) -> str:
        """`e`, bracketed if it binds less tightly than its context (or equally, where order
        matters: a − (b − c))."""
        inner = _prec(e)
        text = self.show(e)
        if inner < outer or (strict and inner == outer):
            return f"({text})"
        return text
