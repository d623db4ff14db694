"""Numeric evaluation of expressions through the operation table, in numpy (float64) or torch.

Finite differences, forward values, the matrix form and the exercise checker evaluate in numpy;
the autograd check evaluates the same trees in torch, so the two cannot disagree on what an
operation means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tutor.expr.nodes import Apply, Expr, Num, Sym, each_node, fold
from tutor.expr.ops import OPS, Value


class Library(Protocol):
    """Where expressions are evaluated: numbers made constants, operations applied."""

    def const(self, v: float) -> Value: ...
    def apply(self, op: str, args: list[Value]) -> Value: ...


class Numpy:
    """float64 numpy (or another float dtype, for the gradient check's float32 sweep). Subclasses
    may guard operations (see the exercise checker's `Bounded`)."""

    def __init__(self, dtype: Any = None) -> None:
        import numpy

        self.np = numpy
        self.dtype = dtype or numpy.float64

    def const(self, v: float) -> Value:
        return self.dtype(v)

    def apply(self, op: str, args: list[Value]) -> Value:
        return OPS[op].numpy(self.np, *args)


class Torch:
    """torch tensors of one dtype (float64 by default); autograd flows through every operation
    but the indicators (step, sign), whose derivative is zero."""

    def __init__(self, dtype: Any = None) -> None:
        import torch

        self.torch = torch
        self.dtype = dtype or torch.float64

    def const(self, v: float) -> Value:
        return self.torch.tensor(v, dtype=self.dtype)

    def apply(self, op: str, args: list[Value]) -> Value:
        return OPS[op].torch(self.torch, *args)


Memo = dict[int, tuple[Expr, Value]]


def evaluate(expr: Expr, env: Mapping[str, Value], lib: Library, memo: Memo | None = None) -> Value:
    """The value of `expr`, with each symbol's value from `env`, in the library `lib`; each
    distinct node is evaluated once (a `memo` shared between calls with the same `env` and
    `lib` keeps the values of nodes they share)."""

    def value(e: Expr, args: list[Value]) -> Value:
        if isinstance(e, Num):
            return lib.const(e.value)
        if isinstance(e, Sym):
            return env[e.name]
        if e.op == "pow" and isinstance(n := e.args[1], Num):  # the exponent stays a Python number
            return lib.apply("pow", [args[0], n.value])
        return lib.apply(e.op, args)

    return fold(expr, value, memo)


def kink_arguments(expr: Expr, env: Mapping[str, Value], lib: Numpy) -> list[Value]:
    """The value that decides each kink in `expr` (a relu's argument, a − b of a max, …), one per
    distinct kinked node, in order: where one changes sign between two points, the derivative
    jumps between them."""
    memo: Memo = {}
    evaluate(expr, env, lib, memo)
    out: list[Value] = []
    for e in reversed(list(each_node(expr))):  # arguments before the node, as evaluated
        kink = OPS[e.op].kink if isinstance(e, Apply) else None
        if isinstance(e, Apply) and kink is not None:
            out.append(kink(lib.np, *[memo[id(a)][1] for a in e.args]))
    return out
