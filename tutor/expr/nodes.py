"""The typed expression tree that every part of the tutor shares.

Three node types: a literal number, a symbol, and an operation applied to arguments. What each
operation means (text, sympy form, derivative, numpy and torch evaluation, shape rule and
matrix-form backward rule) is kept once, in `tutor.expr.ops`. Nodes are frozen and hashable, so
trees can be cached, compared and pickled without importing sympy or torch.

The builders below (`add`, `mul`, …) fold the trivial cases (x + 0, 1·x, −(−x), numbers) so that
derivatives built rule by rule stay as small as a person would write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Union


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Sym:
    name: str


@dataclass(frozen=True, slots=True)
class Apply:
    op: str                      # a key of tutor.expr.ops.OPS
    args: tuple["Expr", ...]


Expr = Union[Num, Sym, Apply]
ZERO, ONE = Num(0.0), Num(1.0)


def symbols(expr: Expr) -> Iterator[str]:
    """Every symbol name in `expr`, in order of appearance (with repeats)."""
    if isinstance(expr, Sym):
        yield expr.name
    elif isinstance(expr, Apply):
        for arg in expr.args:
            yield from symbols(arg)


def size(expr: Expr) -> int:
    """Operations and leaves in the tree."""
    return 1 + sum(size(a) for a in expr.args) if isinstance(expr, Apply) else 1


def substitute(expr: Expr, env: dict[str, Expr]) -> Expr:
    """Each symbol named in `env` replaced by its expression."""
    if isinstance(expr, Sym):
        return env.get(expr.name, expr)
    if isinstance(expr, Apply):
        return Apply(expr.op, tuple(substitute(a, env) for a in expr.args))
    return expr


def is_num(expr: Expr, value: float | None = None) -> bool:
    return isinstance(expr, Num) and (value is None or expr.value == value)


# --- builders that fold the trivial cases -----------------------------------------------------


def neg(a: Expr) -> Expr:
    if isinstance(a, Num):
        return Num(-a.value)
    if isinstance(a, Apply) and a.op == "neg":
        return a.args[0]
    if isinstance(a, Apply) and a.op == "sub":           # −(a − b) = b − a
        return Apply("sub", (a.args[1], a.args[0]))
    return Apply("neg", (a,))


def add(a: Expr, b: Expr) -> Expr:
    if is_num(a, 0.0):
        return b
    if is_num(b, 0.0):
        return a
    if isinstance(a, Num) and isinstance(b, Num):
        return Num(a.value + b.value)
    if isinstance(b, Apply) and b.op == "neg":
        return Apply("sub", (a, b.args[0]))
    return Apply("add", (a, b))


def sub(a: Expr, b: Expr) -> Expr:
    if is_num(b, 0.0):
        return a
    if is_num(a, 0.0):
        return neg(b)
    if isinstance(a, Num) and isinstance(b, Num):
        return Num(a.value - b.value)
    return Apply("sub", (a, b))


def mul(a: Expr, b: Expr) -> Expr:
    if is_num(a, 0.0) or is_num(b, 0.0):
        return ZERO
    if is_num(a, 1.0):
        return b
    if is_num(b, 1.0):
        return a
    if is_num(a, -1.0):
        return neg(b)
    if is_num(b, -1.0):
        return neg(a)
    if isinstance(a, Num) and isinstance(b, Num):
        return Num(a.value * b.value)
    if isinstance(b, Num):                       # numbers first: 2·x, not x·2
        a, b = b, a
    if isinstance(a, Apply) and a.op == "neg":
        return neg(mul(a.args[0], b))
    if isinstance(b, Apply) and b.op == "neg":
        return neg(mul(a, b.args[0]))
    if isinstance(b, Apply) and b.op == "div" and is_num(b.args[0], 1.0):     # a·(1/b) = a/b
        return div(a, b.args[1])
    if isinstance(a, Apply) and a.op == "div" and is_num(a.args[0], 1.0):
        return div(b, a.args[1])
    return Apply("mul", (a, b))


def div(a: Expr, b: Expr) -> Expr:
    if is_num(b, 1.0):
        return a
    if is_num(a, 0.0):
        return ZERO
    return Apply("div", (a, b))


def power(a: Expr, n: float) -> Expr:
    if n == 1:
        return a
    if n == 0:
        return ONE
    if isinstance(a, Num):
        return Num(a.value ** n)
    return Apply("pow", (a, Num(float(n))))


def call(op: str, *args: Expr) -> Expr:
    return Apply(op, tuple(args))


def product(factors: list[Expr]) -> Expr:
    out: Expr = ONE
    for f in factors:
        out = mul(out, f)
    return out


def total(terms: list[Expr]) -> Expr:
    out: Expr = ZERO
    for t in terms:
        out = add(out, t)
    return out
