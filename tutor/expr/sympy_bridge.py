"""Expressions ↔ sympy, built node by node from the typed tree (no lesson text ever reaches
sympy's parser). Imports sympy: only the derivation's canonical forms and tests load it.

`to_sympy(e, faithful=True)` gives each operation's real meaning (relu as Max(a, 0), σ as
1/(1 + e^(−a))), for proofs in the tests. `canonical(e)` is the tutor's bounded tidy-up of a
derived gradient: functions kept opaque (sympy never rewrites σ or relu), rational parts
cancelled only where the expansion is provably small, common factors pulled out.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import sympy

from tutor.expr.nodes import (
    Apply,
    Expr,
    Num,
    Sym,
    add,
    div,
    fold,
    literal,
    mul,
    neg,
    power,
    size,
    sub,
)
from tutor.expr.ops import OPS

MAX_CANONICAL_SIZE = 400  # operations in a tree handed to sympy at all
MAX_EXPANSION = 400  # terms a full expansion could have, before `cancel` is tried


@lru_cache(maxsize=4096)
def sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


@cache
def _opaque(name: str) -> Any:  # a sympy function class, made on the fly
    return sympy.Function(name, real=True)


def _number(v: float) -> sympy.Expr:
    if float(v).is_integer():
        return sympy.Integer(int(v))
    return (
        sympy.Rational(repr(float(v)))
        if abs(v) < 1e6 and len(repr(float(v))) <= 12
        else sympy.Float(v)
    )


def to_sympy(expr: Expr, faithful: bool = True) -> sympy.Expr:
    """`expr` in sympy, each distinct node converted once (sympy shares the results too)."""

    def convert(e: Expr, args: list[sympy.Expr]) -> sympy.Expr:
        if isinstance(e, Num):
            return _number(e.value)
        if isinstance(e, Sym):
            return sym(e.name)
        op = OPS[e.op]
        if faithful or not op.function:
            return op.sympy(sympy, *args)
        return _opaque(e.op)(*args)

    return fold(expr, convert)


def from_sympy(e: sympy.Expr) -> Expr:
    """A sympy expression (of `to_sympy(…, faithful=False)`'s vocabulary) back as a tree."""
    if isinstance(e, sympy.Symbol):
        return Sym(e.name)
    if e.is_Integer:
        return Num(float(int(e)))
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        as_float = p / q
        return Num(as_float) if len(repr(as_float)) <= 8 else div(Num(float(p)), Num(float(q)))
    if e.is_Number:
        return Num(float(e))
    if isinstance(e, sympy.Add):
        terms = list(e.as_ordered_terms())
        # a positive term first: y_pred − y rather than −y + y_pred
        terms.sort(key=lambda t: bool(t.as_coeff_Mul()[0].is_negative))
        out = from_sympy(terms[0])
        for t in terms[1:]:
            coeff, rest = t.as_coeff_Mul()
            out = sub(out, from_sympy(-t)) if coeff.is_negative else add(out, from_sympy(t))
        return out
    if isinstance(e, sympy.Mul):
        coeff, rest = e.as_coeff_Mul()
        if coeff.is_negative:
            return neg(from_sympy(-e))
        num: list[Expr] = []
        den: list[Expr] = []
        for f in sympy.Mul.make_args(e):
            if f.is_Pow and f.exp.is_negative:
                den.append(
                    power(from_sympy(f.base), float(-f.exp)) if f.exp != -1 else from_sympy(f.base)
                )
            elif f.is_Rational and f.q != 1:
                if f.p != 1:
                    num.append(Num(float(f.p)))
                den.append(Num(float(f.q)))
            else:
                num.append(from_sympy(f))
        top: Expr = Num(1.0)
        for f in num:
            top = mul(top, f)
        if not den:
            return top
        bottom = den[0]
        for f in den[1:]:
            bottom = mul(bottom, f)
        return div(top, bottom)
    if isinstance(e, sympy.Pow):
        if e.exp.is_negative:
            return div(Num(1.0), from_sympy(sympy.Pow(e.base, -e.exp)))
        if e.exp == sympy.Rational(1, 2):
            return Apply("sqrt", (from_sympy(e.base),))
        return power(from_sympy(e.base), float(e.exp))
    if isinstance(e, sympy.core.function.AppliedUndef) and e.func.__name__ in OPS:
        return Apply(e.func.__name__, tuple(from_sympy(a) for a in e.args))
    raise ValueError(f"no tree form for {type(e).__name__}")


def expansion_terms(expr: Expr, cap: int = MAX_EXPANSION + 1) -> int:
    """An upper bound on the terms of `expr` fully expanded as a polynomial in its symbols and
    function calls (cancel's work grows with it, whatever the operation count says), saturating
    at `cap`: a chain of squares would otherwise need numbers of 2^n digits."""

    def terms(e: Expr, inner: list[int]) -> int:
        if isinstance(e, (Num, Sym)):
            return 1
        op = e.op
        if op in ("add", "sub"):
            return min(cap, inner[0] + inner[1])
        if op in ("mul", "matmul", "div"):
            return min(cap, inner[0] * inner[1])
        if op in ("neg", "T", "sum", "mean"):
            return inner[0]
        if op == "pow":
            n = literal(e.args[1])
            return min(cap, inner[0] ** int(abs(n))) if float(n).is_integer() else inner[0]
        return 1  # an opaque function call

    return fold(expr, terms)


def canonical(expr: Expr, cancel: bool = True) -> tuple[Expr, str]:
    """A tidier equal form of `expr` and "" — or `expr` unchanged and why it was left so.

    Each sympy call here is bounded by the size of what it is given: trees of at most
    MAX_CANONICAL_SIZE operations, and `cancel` only where a full expansion has at most
    MAX_EXPANSION terms. No `simplify`: its time is not bounded by any size."""
    n = size(expr)
    if n > MAX_CANONICAL_SIZE:
        return expr, f"not simplified: {n} operations (the limit is {MAX_CANONICAL_SIZE})"
    e = to_sympy(expr, faithful=False)
    if cancel and expansion_terms(expr) <= MAX_EXPANSION:
        e = sympy.cancel(e)
    e = sympy.factor_terms(e)
    try:
        return from_sympy(e), ""
    except ValueError as exc:  # a form outside the tree's vocabulary
        return expr, f"not simplified: {exc}"
