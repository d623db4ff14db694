"""The typed expression tree that every part of the tutor shares.

Three node types: a literal number, a symbol, and an operation applied to arguments. What each
operation means (text, sympy form, derivative, numpy and torch evaluation, shape rule and
matrix-form backward rule) is kept once, in `tutor.expr.ops`. Nodes are frozen and hashable (the
hash kept per node), so trees can be cached, compared and pickled without importing sympy or torch.

Expressions are DAGs: a node used twice (a derivative's upstream factor, a forward tree where
a2 = a1·a1 + a1 holds a1 three times) is one object, shared. Everything that walks an expression goes
through `fold`, which visits each distinct node once (memoised by identity), so that work grows
with the DAG's nodes, never with the tree it would be written out as (3^n for a chain of n such
nodes). `size` is still the written-out tree's size (what text and sympy would cost), computed in
DAG time; `dag_size` counts the distinct nodes.

The builders below (`add`, `mul`, …) fold the trivial cases (x + 0, 1·x, −(−x), numbers) so that
derivatives built rule by rule stay as small as a person would write them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Sym:
    name: str


@dataclass(frozen=True, slots=True, repr=False)
class Apply:
    op: str  # a key of tutor.expr.ops.OPS
    args: tuple[Expr, ...]
    _hash: int = field(default=0, init=False, compare=False)

    def __hash__(self) -> int:
        # dataclass's hash walks the tree; here each distinct node is hashed once and kept
        def node_hash(e: Expr, inner: list[int]) -> int:
            if not isinstance(e, Apply):
                return hash(e)
            if not e._hash:
                object.__setattr__(e, "_hash", hash((e.op, *inner)) or 1)
            return e._hash

        return self._hash or fold(self, node_hash)

    def __repr__(self) -> str:
        # dataclass's repr walks the tree (2^n for a chain of reuses): each distinct node once
        # here, each piece cut at REPR_LIMIT characters
        def rep(e: Expr, args: list[str]) -> str:
            text = (
                f"Apply(op={e.op!r}, args=({', '.join(args)}{',' if len(args) == 1 else ''}))"
                if isinstance(e, Apply)
                else repr(e)
            )
            return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 1] + "…"

        return fold(self, rep)


REPR_LIMIT = 2000


Expr = Num | Sym | Apply
ZERO, ONE = Num(0.0), Num(1.0)


T = TypeVar("T")


def fold(
    expr: Expr, f: Callable[[Expr, list[T]], T], memo: dict[int, tuple[Expr, T]] | None = None
) -> T:
    """`f(node, [f of each argument])` for each distinct node of `expr`, arguments first, each
    node once (memoised by identity); iterative, so depth is no limit either. A `memo` passed in
    is shared between calls (it keeps the nodes alive, so identities are not reused)."""
    memo = {} if memo is None else memo
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        if key in memo:
            continue
        if isinstance(node, Apply):
            if not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args) if id(a) not in memo)
                continue
            memo[key] = (node, f(node, [memo[id(a)][1] for a in node.args]))
        else:
            memo[key] = (node, f(node, []))
    return memo[id(expr)][1]


def each_node(expr: Expr) -> Iterator[Expr]:
    """Each distinct node once, in pre-order (a node before its arguments, left to right)."""
    seen: set[int] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, Apply):
            stack.extend(reversed(node.args))


def symbols(expr: Expr) -> Iterator[str]:
    """Every symbol name in `expr`, in order of appearance (with repeats): for typed trees only,
    a shared DAG repeats them exponentially; `names` gives each once."""
    if isinstance(expr, Sym):
        yield expr.name
    elif isinstance(expr, Apply):
        for arg in expr.args:
            yield from symbols(arg)


def names(expr: Expr) -> list[str]:
    """Each symbol name in `expr` once, in order of first appearance (a shared node's symbols
    appeared at its first use, so skipping it later loses nothing)."""
    return list(dict.fromkeys(n.name for n in each_node(expr) if isinstance(n, Sym)))


def name_set(
    expr: Expr, memo: dict[int, tuple[Expr, frozenset[str]]] | None = None
) -> frozenset[str]:
    """The symbol names in `expr`; with a `memo` kept across calls, trees that share parts
    (each gradient contains its upstream's) cost only their new nodes."""
    return fold(
        expr,
        lambda e, inner: frozenset((e.name,)) if isinstance(e, Sym) else frozenset().union(*inner),
        memo,
    )


def size(expr: Expr, memo: dict[int, tuple[Expr, int]] | None = None) -> int:
    """Operations and leaves in the tree as written out (a shared node counts at every use),
    computed once per distinct node (and once across calls that share a `memo`)."""
    return fold(expr, lambda e, sizes: 1 + sum(sizes), memo)


def dag_size(expr: Expr) -> int:
    """Distinct nodes: what walking `expr` costs."""
    return sum(1 for _ in each_node(expr))


def count(expr: Expr, name: str) -> int:
    """Appearances of symbol `name` in the tree as written out."""
    return fold(expr, lambda e, counts: int(isinstance(e, Sym) and e.name == name) + sum(counts))


def substitute(expr: Expr, env: dict[str, Expr]) -> Expr:
    """Each symbol named in `env` replaced by its expression (shared, not copied). Unchanged
    subtrees are kept as they are."""

    def rebuild(e: Expr, args: list[Expr]) -> Expr:
        if isinstance(e, Sym):
            return env.get(e.name, e)
        if isinstance(e, Apply) and any(a is not b for a, b in zip(args, e.args, strict=True)):
            return Apply(e.op, tuple(args))
        return e

    return fold(expr, rebuild)


def literal(expr: Expr) -> float:
    """The number a literal argument holds (pow's exponent: the parser lets only a number stand
    there, so anything else is a bug of the tutor's, not the learner's)."""
    if not isinstance(expr, Num):
        raise TypeError(f"a literal number was expected, not {expr!r}")
    return expr.value


def is_num(expr: Expr, value: float | None = None) -> bool:
    return isinstance(expr, Num) and (value is None or expr.value == value)


# --- builders that fold the trivial cases -----------------------------------------------------


def neg(a: Expr) -> Expr:
    if isinstance(a, Num):
        return Num(-a.value)
    if isinstance(a, Apply) and a.op == "neg":
        return a.args[0]
    if isinstance(a, Apply) and a.op == "sub":  # −(a − b) = b − a
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
    if isinstance(b, Num):  # numbers first: 2·x, not x·2
        a, b = b, a
    if isinstance(a, Apply) and a.op == "neg":
        return neg(mul(a.args[0], b))
    if isinstance(b, Apply) and b.op == "neg":
        return neg(mul(a, b.args[0]))
    if isinstance(b, Apply) and b.op == "div" and is_num(b.args[0], 1.0):  # a·(1/b) = a/b
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
        return Num(a.value**n)
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
