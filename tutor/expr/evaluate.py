"""Numeric evaluation of expressions through the operation table, in numpy (float64) or torch.

Finite differences, forward values, the matrix form and the exercise checker evaluate in numpy;
the autograd check evaluates the same trees in torch, so the two cannot disagree on what an
operation means.
"""

from __future__ import annotations

from tutor.expr.nodes import Apply, Expr, Num, Sym
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


def evaluate(expr: Expr, env: dict, lib) -> object:
    """The value of `expr`, with each symbol's value from `env`, in the library `lib`."""
    if isinstance(expr, Num):
        return lib.const(expr.value)
    if isinstance(expr, Sym):
        return env[expr.name]
    if expr.op == "pow":                           # the exponent stays a Python number
        return lib.apply("pow", [evaluate(expr.args[0], env, lib), expr.args[1].value])
    return lib.apply(expr.op, [evaluate(a, env, lib) for a in expr.args])


def kink_arguments(expr: Expr, env: dict, lib) -> list:
    """The value that decides each kink in `expr` (a relu's argument, a − b of a max, …), in order:
    where one changes sign between two points, the derivative jumps between them."""
    out: list = []

    def walk(e):
        if isinstance(e, Apply):
            for a in e.args:
                walk(a)
            kink = OPS[e.op].kink
            if kink is not None:
                out.append(kink(lib.np, *[evaluate(a, env, lib) for a in e.args]))

    walk(expr)
    return out
