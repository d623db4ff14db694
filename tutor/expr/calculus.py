"""Derivatives of expressions, built rule by rule from the operation table (no sympy).

`diff(e, x)` is the chain rule inside one expression: the sum, over each argument, of the
operation's local derivative times the argument's derivative. `occurrences(e, x)` keeps each
appearance of x apart, so that a node used twice in one expression (d = c·c) shows both terms.
"""

from __future__ import annotations

from tutor.expr.nodes import ZERO, Apply, Expr, Num, Sym, add, mul, substitute, symbols
from tutor.expr.ops import OPS


def diff(expr: Expr, name: str) -> Expr:
    """∂expr/∂name, as a tree."""
    if isinstance(expr, Num):
        return ZERO
    if isinstance(expr, Sym):
        return Num(1.0) if expr.name == name else ZERO
    if name not in set(symbols(expr)):
        return ZERO
    op = OPS[expr.op]
    out: Expr = ZERO
    locals_ = op.d(expr.args)
    for i, arg in enumerate(expr.args):
        if i in op.literal:
            continue
        inner = diff(arg, name)
        if inner != ZERO:
            out = add(out, mul(locals_[i], inner))
    return out


def occurrences(expr: Expr, name: str) -> list[Expr]:
    """One term of ∂expr/∂name per appearance of `name` in `expr` (their sum is `diff`)."""
    count = sum(1 for s in symbols(expr) if s == name)
    if count <= 1:
        return [diff(expr, name)]
    terms = []
    for k in range(count):
        marked = _mark(expr, name, k, [0])
        term = diff(marked, "\0")
        terms.append(substitute(term, {"\0": Sym(name)}))
    return terms


def _mark(expr: Expr, name: str, k: int, seen: list[int]) -> Expr:
    """`expr` with the k-th appearance of `name` renamed to the placeholder "\\0"."""
    if isinstance(expr, Sym) and expr.name == name:
        seen[0] += 1
        return Sym("\0") if seen[0] - 1 == k else expr
    if isinstance(expr, Apply):
        return Apply(expr.op, tuple(_mark(a, name, k, seen) for a in expr.args))
    return expr
