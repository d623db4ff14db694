"""Numeric evaluation of expressions through the operation table, in numpy (float64) or torch.

Finite differences, forward values, the matrix form and the exercise checker evaluate in numpy;
the autograd check evaluates the same trees in torch, so the two cannot disagree on what an
operation means.
"""

from __future__ import annotations

from tutor.expr.nodes import Apply, Expr, Num, Sym, each_node, fold
from tutor.expr.ops import OPS


class Numpy:
    """float64 numpy (or another float dtype, for the gradient check's float32 sweep). Subclasses
    may guard operations (see the exercise checker's `Bounded`)."""

    def __init__(self, dtype=None):
        import numpy

        self.np = numpy
        self.dtype = dtype or numpy.float64

    def const(self, v: float):
        return self.dtype(v)

    def apply(self, op: str, args: list):
        return OPS[op].numpy(self.np, *args)


class Torch:
    """torch tensors of one dtype (float64 by default); autograd flows through every operation
    but the indicators (step, sign), whose derivative is zero."""

    def __init__(self, dtype=None):
        import torch

        self.torch = torch
        self.dtype = dtype or torch.float64

    def const(self, v: float):
        return self.torch.tensor(v, dtype=self.dtype)

    def apply(self, op: str, args: list):
        return OPS[op].torch(self.torch, *args)


def evaluate(expr: Expr, env: dict, lib, memo: dict | None = None) -> object:
    """The value of `expr`, with each symbol's value from `env`, in the library `lib`; each
    distinct node is evaluated once (a `memo` shared between calls with the same `env` and
    `lib` keeps the values of nodes they share)."""
    def value(e: Expr, args: list):
        if isinstance(e, Num):
            return lib.const(e.value)
        if isinstance(e, Sym):
            return env[e.name]
        if e.op == "pow" and isinstance(n := e.args[1], Num):     # the exponent stays a Python number
            return lib.apply("pow", [args[0], n.value])
        return lib.apply(e.op, args)
    return fold(expr, value, memo)


def kink_arguments(expr: Expr, env: dict, lib) -> list:
    """The value that decides each kink in `expr` (a relu's argument, a − b of a max, …), one per
    distinct kinked node, in order: where one changes sign between two points, the derivative
    jumps between them."""
    memo: dict = {}
    evaluate(expr, env, lib, memo)
    out: list = []
    for e in reversed(list(each_node(expr))):          # arguments before the node, as evaluated
        kink = OPS[e.op].kink if isinstance(e, Apply) else None
        if kink is not None:
            out.append(kink(lib.np, *[memo[id(a)][1] for a in e.args]))
    return out
