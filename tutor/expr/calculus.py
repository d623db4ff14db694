"""Derivatives of expressions, built rule by rule from the operation table (no sympy).

`diff(e, x)` is the chain rule inside one expression: the sum, over each argument, of the
operation's local derivative times the argument's derivative. `occurrences(e, x)` keeps each
appearance of x apart, so that a node used twice in one expression (d = c·c) shows both terms.
"""

from __future__ import annotations

from tutor.expr.nodes import ONE, ZERO, Apply, Expr, Num, Sym, add, count, fold, mul, substitute
from tutor.expr.ops import OPS


def diff(expr: Expr, name: str) -> Expr:
    """∂expr/∂name, as a DAG: each distinct node of `expr` is differentiated once, and a shared
    node's derivative is shared where it is used again."""

    def rule(e: Expr, inner: list[Expr]) -> Expr:
        if isinstance(e, Num):
            return ZERO
        if isinstance(e, Sym):
            return ONE if e.name == name else ZERO
        op = OPS[e.op]
        live = [i for i, d in enumerate(inner) if i not in op.literal and d != ZERO]
        if not live:
            return ZERO
        locals_ = op.d(e.args)
        out: Expr = ZERO
        for i in live:
            out = add(out, mul(locals_[i], inner[i]))
        return out

    return fold(expr, rule)


def occurrences(expr: Expr, name: str) -> list[Expr]:
    """One term of ∂expr/∂name per appearance of `name` in `expr` (their sum is `diff`). For
    a node's own expression, as typed: a tree, whose appearances are few."""
    n = count(expr, name)
    if n <= 1:
        return [diff(expr, name)]
    terms = []
    for k in range(n):
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
