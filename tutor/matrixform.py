"""The backward pass in matrix form, with shapes, for graphs that declare them.

Reverse mode over the expression tree, one rule per operation, each written next to the
numbers it produces (as micrograd keeps each backward rule beside its forward): for C = A @ B,
∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G; elementwise rules multiply by the local derivative (⊙);
broadcasting sums the gradient back (1ᵀ·G for a bias). The same rules run on small random
arrays, and the result is checked against torch autograd and finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor import mathexpr
from tutor.lesson import Graph
from tutor.numeric import NumpyOps, TorchOps
from tutor.shapes import Shape, infer_shapes, shape_of, show

CHECK_DIM = 4          # each dimension is cut to this size for the numeric check
FD_STEP = 1e-6


@dataclass(frozen=True)
class Entry:
    name: str
    shape: str
    lines: tuple
    note: str


@dataclass(frozen=True)
class MatrixResult:
    entries: tuple[Entry, ...]
    checks: list


def grad_name(name: str) -> str:
    return f"∂L/∂{name}"


def fmt(expr) -> str:
    """Matrix notation: @ is ·, an elementwise product of arrays is ⊙."""
    op = expr[0]
    if op == "num":
        return mathexpr.to_text(expr)
    if op == "sym":
        return expr[1]
    if op == "neg":
        return f"−{_wrap(expr[1])}"
    if op == "T":
        return f"{_wrap(expr[1])}ᵀ"
    if op == "fn":
        return f"{expr[1]}({fmt(expr[2])})"
    if op == "max":
        return f"max({fmt(expr[1])}, {fmt(expr[2])})"
    if op == "pow":
        n = mathexpr.to_text(expr[2])
        return f"{_wrap(expr[1])}^{n}"
    sym = {"add": " + ", "sub": " − ", "mul": " ⊙ ", "div": " ⊘ ", "matmul": "·"}[op]
    if op == "mul" and (expr[1][0] == "num" or expr[2][0] == "num"):
        sym = "·"
    return f"{_wrap(expr[1])}{sym}{_wrap(expr[2])}"


def _wrap(expr) -> str:
    return fmt(expr) if expr[0] in ("num", "sym", "fn", "T", "max") else f"({fmt(expr)})"


def _times(g: str, factor: str, op: str = " ⊙ ") -> str:
    """g ⊙ factor, dropping a factor of 1; a scalar upstream such as (1/N) multiplies with ·."""
    if g == "1":
        return factor
    if factor == "1":
        return g
    if g.startswith("(1/"):
        op = "·"
    if g.startswith("−"):
        return "−" + _times(g[1:], factor, op)
    return f"{_paren(g)}{op}{factor}"


def _neg(g: str) -> str:
    """−g, without writing −−."""
    if g.startswith("−") and _is_term(g[1:]):
        return g[1:]
    return f"−{g}" if _is_term(g) else f"−({g})"


def _is_term(text: str) -> bool:
    """No + or − at the top level (outside brackets)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and i > 0 and ch in "+−" and text[i - 1] == " ":
            return False
    return True


class _Backward:
    def __init__(self, graph: Graph, values: dict, shapes: dict[str, Shape]):
        self.values = values
        self.shapes = shapes
        self.ops = NumpyOps()
        self.out: dict[str, list[tuple[str, np.ndarray]]] = {}

    def value(self, expr):
        return np.asarray(mathexpr.evaluate(expr, self.values, self.ops), dtype=np.float64)

    def shape(self, expr) -> Shape:
        return shape_of(expr, self.shapes)

    def reduce(self, G, gt: str, expr, g_shape: Shape) -> tuple[np.ndarray, str]:
        """Sum a broadcast gradient back to the shape of `expr`."""
        target = self.value(expr)
        G = np.asarray(G, dtype=np.float64)
        while G.ndim > target.ndim:
            G = G.sum(axis=0)
        for axis, size in enumerate(target.shape):
            if size == 1 and G.shape[axis] != 1:
                G = G.sum(axis=axis, keepdims=True)
        want = self.shape(expr)
        if want == g_shape or not g_shape:
            return G, gt
        if not want:
            return G, f"sum({gt})"
        return G, f"1ᵀ·({gt})"

    def run(self, expr, G, gt: str, g_shape: Shape) -> None:
        op = expr[0]
        if op == "num":
            return
        if op == "sym":
            self.out.setdefault(expr[1], []).append((gt, np.asarray(G, dtype=np.float64)))
            return
        if op == "neg":
            return self.run(expr[1], -G, _neg(gt), g_shape)
        if op == "T":
            return self.run(expr[1], np.swapaxes(G, -1, -2) if np.ndim(G) >= 2 else G, f"({gt})ᵀ",
                            tuple(reversed(g_shape)))
        if op in ("add", "sub"):
            a, b = expr[1], expr[2]
            self.run(a, *self.reduce(G, gt, a, g_shape), self.shape(a))
            Gb, gbt = self.reduce(-G if op == "sub" else G, _neg(gt) if op == "sub" else gt, b, g_shape)
            return self.run(b, Gb, gbt, self.shape(b))
        if op == "mul":
            a, b = expr[1], expr[2]
            va, vb = self.value(a), self.value(b)
            self.run(a, *self.reduce(G * vb, _times(gt, _wrap(b), " ⊙ " if vb.ndim else "·"), a, g_shape), self.shape(a))
            return self.run(b, *self.reduce(G * va, _times(gt, _wrap(a), " ⊙ " if va.ndim else "·"), b, g_shape),
                            self.shape(b))
        if op == "div":
            a, b = expr[1], expr[2]
            va, vb = self.value(a), self.value(b)
            self.run(a, *self.reduce(G / vb, f"{gt} ⊘ {_wrap(b)}", a, g_shape), self.shape(a))
            return self.run(b, *self.reduce(-G * va / vb ** 2, f"−{gt} ⊙ {_wrap(a)} ⊘ {_wrap(b)}²", b, g_shape),
                            self.shape(b))
        if op == "matmul":
            a, b = expr[1], expr[2]
            va, vb = self.value(a), self.value(b)
            if va.ndim == 0 or vb.ndim == 0:
                return self.run(("mul", a, b), G, gt, g_shape)
            Ga = np.asarray(G) @ np.swapaxes(vb, -1, -2) if vb.ndim >= 2 else np.outer(G, vb)
            Gb = np.swapaxes(va, -1, -2) @ np.asarray(G) if va.ndim >= 2 else np.outer(va, G)
            self.run(a, Ga, f"{_paren(gt)}·{_wrap(b)}ᵀ", self.shape(a))
            return self.run(b, Gb, f"{_wrap(a)}ᵀ·{_paren(gt)}", self.shape(b))
        if op == "pow":
            a = expr[1]
            n = expr[2][1]
            va = self.value(a)
            k = mathexpr.to_text(("num", n))
            factor = f"2·{_wrap(a)}" if n == 2 else f"{k}·{_wrap(a)}^{mathexpr.to_text(('num', n - 1))}"
            return self.run(a, G * n * va ** (n - 1), _times(gt, factor), g_shape)
        if op == "max":
            a, b = expr[1], expr[2]
            va, vb = self.value(a), self.value(b)
            self.run(a, *self.reduce(G * (va > vb), _times(gt, f"1[{fmt(a)} > {fmt(b)}]"), a, g_shape), self.shape(a))
            return self.run(b, *self.reduce(G * (va <= vb), _times(gt, f"1[{fmt(a)} ≤ {fmt(b)}]"), b, g_shape),
                            self.shape(b))
        if op == "fn":
            name, a = expr[1], expr[2]
            va = self.value(a)
            inner = fmt(a)
            if name in ("sum", "mean"):
                ones = np.ones_like(va)
                shape = self.shape(a)
                count = "·".join(shape) or "1"
                # the upstream gradient is copied to every element (𝟙 is an array of ones, implied below)
                if name == "sum":
                    return self.run(a, G * ones, gt, shape)
                scale = f"(1/{count})" if gt == "1" else f"({gt}/{count})"
                return self.run(a, G * ones / max(va.size, 1), scale if shape else gt, shape)
            rules = {       # name → (local derivative, how it is written); only the one needed is computed
                "relu": lambda: ((va > 0).astype(np.float64), f"1[{inner} > 0]"),
                "step": lambda: (np.zeros_like(va), "0"),
                "sigmoid": lambda: (_sig(va) * (1 - _sig(va)), f"σ({inner})⊙(1 − σ({inner}))"),
                "tanh": lambda: (1 - np.tanh(va) ** 2, f"(1 − tanh²({inner}))"),
                "exp": lambda: (np.exp(va), f"exp({inner})"),
                "log": lambda: (1 / va, f"1/{_wrap(a)}"),
                "sqrt": lambda: (0.5 / np.sqrt(va), f"1/(2·sqrt({inner}))"),
                "abs": lambda: (np.sign(va), f"sign({inner})"),
            }
            local = rules[name]()
            return self.run(a, G * local[0], _times(gt, local[1]), g_shape)
        raise ValueError(op)


def _paren(text: str) -> str:
    return text if all(ch not in text for ch in " +−⊙⊘") else f"({text})"


def _sig(v):
    return 1 / (1 + np.exp(-v))


def check_values(g: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Small random arrays for every leaf (each dimension cut to CHECK_DIM)."""
    rng = np.random.default_rng(seed)
    values = {}
    for name in g.leaves:
        dims = tuple(min(g.dims.get(dname, 1), CHECK_DIM) for dname in g.shapes.get(name, ()))
        values[name] = rng.uniform(0.2, 1.2, size=dims) * rng.choice((-1.0, 1.0), size=dims)
    return values


def forward(g: Graph, values: dict) -> dict:
    env = dict(values)
    ops = NumpyOps()
    for node in g.nodes:
        env[node.name] = np.asarray(mathexpr.evaluate(node.expr, env, ops), dtype=np.float64)
    return env


def matrix_backward(g: Graph, seed: int = 0) -> MatrixResult:
    from tutor.derive import Check, TOLERANCE, rel_error

    shapes = infer_shapes(g)
    values = forward(g, check_values(g, seed))
    bw = _Backward(g, values, shapes)
    totals: dict[str, np.ndarray] = {}
    texts: dict[str, list[str]] = {}
    for node in reversed(g.nodes):
        if node.name == g.loss:
            G, gt = np.float64(1.0), "1"
        else:
            parts = bw.out.get(node.name, [])
            G = sum(p[1] for p in parts) if parts else np.zeros_like(values[node.name])
            gt = grad_name(node.name)
            totals[node.name] = G
            texts[node.name] = [p[0] for p in parts]
        bw.run(node.expr, G, gt, shapes[node.name])
    for p in g.params:
        parts = bw.out.get(p, [])
        totals[p] = sum(q[1] for q in parts) if parts else np.zeros_like(values[p])
        texts[p] = [q[0] for q in parts]

    entries = []
    for name in [n.name for n in reversed(g.nodes[:-1])] + list(g.params):
        formula = "  +  ".join(texts[name]) or "0"
        used = [s for s in list(shapes) if _mentions(formula, s)]
        where = ", ".join(f"{s} is {show(shapes[s])}" for s in used)
        lines = ((grad_name(name), formula), ("shape", f"{show(shapes[name])} (the shape of {name})"))
        note = f"where {where}; each ∂L/∂· has the shape of its node." if where else ""
        if len(texts[name]) > 1:
            note = f"{name} is used {len(texts[name])} times: the gradients add up. " + note
        entries.append(Entry(name, show(shapes[name]), lines, note))

    auto = _autograd(g, check_values(g, seed))
    checks = []
    for p in g.params:
        numeric = _finite_difference(g, check_values(g, seed), p)
        err = max(rel_error(totals[p], auto[p]), rel_error(totals[p], numeric))
        checks.append(Check(p, totals[p], auto[p], numeric, err, err <= TOLERANCE,
                            "" if err <= TOLERANCE else "a matrix rule disagrees with autograd"))
    return MatrixResult(tuple(entries), checks)


def _mentions(text: str, name: str) -> bool:
    import re

    # "ᵀ" counts as a word character in Python's re: xᵀ must still mention x
    return re.search(rf"(?<![\w∂/]){re.escape(name)}(?![^\Wᵀ])", text) is not None


def _autograd(g: Graph, values: dict) -> dict[str, np.ndarray]:
    import torch

    ops = TorchOps(torch.float64)
    env = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in g.params) for k, v in values.items()}
    for node in g.nodes:
        env[node.name] = mathexpr.evaluate(node.expr, env, ops)
    env[g.loss].backward()
    return {p: env[p].grad.numpy().copy() if env[p].grad is not None else np.zeros_like(values[p]) for p in g.params}


def _finite_difference(g: Graph, values: dict, p: str) -> np.ndarray:
    base = values[p]
    out = np.zeros_like(base, dtype=np.float64)
    for idx in np.ndindex(base.shape or ()):
        up, down = dict(values), dict(values)
        up[p] = base.copy()
        down[p] = base.copy()
        if base.shape:
            up[p][idx] += FD_STEP
            down[p][idx] -= FD_STEP
        else:
            up[p] = base + FD_STEP
            down[p] = base - FD_STEP
        out[idx] = (float(forward(g, up)[g.loss]) - float(forward(g, down)[g.loss])) / (2 * FD_STEP)
    return out
