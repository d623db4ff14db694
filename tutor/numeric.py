"""The array operations `mathexpr.evaluate` needs, for numpy and for torch.

Both views of an expression (finite differences in numpy, autograd in torch) evaluate the
same tree through these two small adapters, so they cannot disagree on what an operation means.
"""

from __future__ import annotations

import numpy as np


class NumpyOps:
    """float64 numpy; `sum`/`mean` reduce over every element."""

    def const(self, v):
        return np.float64(v)

    def transpose(self, a):
        return np.swapaxes(a, -1, -2) if np.ndim(a) >= 2 else a

    def matmul(self, a, b):
        return np.matmul(a, b) if np.ndim(a) and np.ndim(b) else a * b

    def power(self, a, b):
        return np.power(a, b)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def fn(self, name, a):
        if name == "relu":
            return np.maximum(a, 0.0)
        if name == "step":
            return (np.asarray(a) > 0).astype(np.float64)
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-a))
        if name == "sum":
            return np.sum(a)
        if name == "mean":
            return np.mean(a)
        return getattr(np, name)(a)  # tanh, exp, log, sqrt, abs: names checked by the parser


class TorchOps:
    """torch tensors (autograd flows through every operation but `step`)."""

    def __init__(self, dtype=None):
        import torch

        self.torch = torch
        self.dtype = dtype or torch.float64

    def const(self, v):
        return self.torch.tensor(v, dtype=self.dtype)

    def transpose(self, a):
        return a.transpose(-1, -2) if a.dim() >= 2 else a

    def matmul(self, a, b):
        return a @ b if a.dim() and b.dim() else a * b

    def power(self, a, b):
        return a ** b

    def maximum(self, a, b):
        return self.torch.maximum(a, b)

    def fn(self, name, a):
        t = self.torch
        if name == "relu":
            return t.relu(a)
        if name == "step":
            return (a > 0).to(self.dtype)
        if name == "sum":
            return a.sum()
        if name == "mean":
            return a.mean()
        return getattr(t, name)(a)  # sigmoid, tanh, exp, log, sqrt, abs
