"""The backward pass in matrix form, with shapes, for graphs that declare them.

Reverse mode over each node's expression tree. Elementwise operations multiply the upstream
gradient G by their local derivative from the operation table (G ⊙ ∂op/∂a) and sum it back over
broadcast axes (1ᵀ·G for a bias); the others (@, ᵀ, sum, mean) have their own rule in the table.
Every rule runs on small random arrays beside its text, and the result goes through the one
gradient checker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.derive import check as checker
from tutor.derive.steps import Check
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Apply, Expr, Num, Sym
from tutor.expr.ops import ONE_DIM, OPS, Shape
from tutor.expr.shapes import infer_shapes, shape_of, show
from tutor.expr.text import pretty
from tutor.lesson import Graph, Node
from tutor.lesson.graph_values import label_leaves

Lines = tuple[tuple[str, Expr | str], ...]

CHECK_DIM = 4  # each dimension is cut to this size for the numeric check


@dataclass(frozen=True)
class Entry:
    name: str
    shape: str
    lines: Lines
    note: str


@dataclass(frozen=True)
class MatrixResult:
    entries: tuple[Entry, ...]
    checks: list[Check]


def grad_name(name: str) -> str:
    return f"∂L/∂{name}"


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


def _bracketed(text: str) -> bool:
    """The whole text is one bracket pair: (−1/N), not (a)·(b)."""
    if not text.startswith("("):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def _paren(text: str) -> str:
    return text if _bracketed(text) or all(ch not in text for ch in " +−⊙⊘") else f"({text})"


class _Context:
    """What a rule needs: values and matrix-notation text of the arguments."""

    np = np

    def __init__(self, values: dict[str, Any], shapes: dict[str, Shape]) -> None:
        self.values = values
        self.shapes = shapes
        self.lib = Numpy()

    def value(self, expr: Expr) -> np.ndarray:
        return np.asarray(evaluate(expr, self.values, self.lib), dtype=np.float64)

    def shape(self, expr: Expr) -> Shape:
        return shape_of(expr, self.shapes)

    def text(self, expr: Expr) -> str:
        return pretty(expr, matrix=True)

    def wrap(self, expr: Expr) -> str:
        return (
            self.text(expr)
            if isinstance(expr, (Num, Sym))
            or (isinstance(expr, Apply) and (OPS[expr.op].function or expr.op == "T"))
            else f"({self.text(expr)})"
        )

    paren = staticmethod(_paren)

    @staticmethod
    def swap(G: Any) -> Any:
        return np.swapaxes(G, -1, -2) if np.ndim(G) >= 2 else G


def _times(g: str, factor: str, op: str = " ⊙ ") -> str:
    """g ⊙ factor, dropping a factor of 1; a scalar upstream such as (1/N) multiplies with ·."""
    if factor == "1":
        return g
    if factor == "−1":
        return _neg(g)
    if g == "1":
        return factor
    if g.startswith("(1/"):
        op = "·"
    if g.startswith("−") and _is_term(g):
        return "−" + _times(g[1:], factor, op)
    return f"{_paren(g)}{op}{factor}"


def _neg(g: str) -> str:
    if g.startswith("−") and _is_term(g[1:]):
        return g[1:]
    return f"−{g}" if _is_term(g) else f"−({g})"


class _Backward:
    def __init__(self, values: dict[str, Any], shapes: dict[str, Shape]) -> None:
        self.ctx = _Context(values, shapes)
        self.out: dict[str, list[tuple[str, np.ndarray]]] = {}

    def reduce(self, G: Any, gt: str, expr: Expr, g_shape: Shape) -> tuple[np.ndarray, str]:
        """Sum a broadcast gradient back to the shape of `expr`."""
        target = self.ctx.value(expr)
        G = np.asarray(G, dtype=np.float64)
        while G.ndim > target.ndim:
            G = G.sum(axis=0)
        for axis, size in enumerate(target.shape):
            if size == 1 and G.shape[axis] != 1:
                G = G.sum(axis=axis, keepdims=True)
        want = self.ctx.shape(expr)
        if want == g_shape or not g_shape:
            return G, gt
        if not want:
            return G, f"sum({gt})"
        if len(want) == len(g_shape) and want[-1] == ONE_DIM:
            return G, f"{_paren(gt)}·1"  # summed along each row (z − rowmax(z))
        return G, f"1ᵀ·({gt})"

    def run(self, expr: Expr, G: Any, gt: str, g_shape: Shape) -> None:
        if isinstance(expr, Num):
            return
        if isinstance(expr, Sym):
            self.out.setdefault(expr.name, []).append((gt, np.asarray(G, dtype=np.float64)))
            return
        op = OPS[expr.op]
        G = np.asarray(G, dtype=np.float64)
        if op.backward is not None:
            results = op.backward(self.ctx, expr.args, G, gt)
            for arg, result in zip(expr.args, results, strict=True):
                if result is None:  # a constant of the arguments (onehot): nothing flows
                    continue
                Gi, text = result
                shape = self.ctx.shape(arg) if expr.op != "T" else tuple(reversed(g_shape))
                self.run(arg, Gi, text, shape)
            return
        locals_ = op.d(expr.args)
        for i, arg in enumerate(expr.args):
            if i in op.literal or isinstance(arg, Num):
                continue
            local = locals_[i]
            lv = self.ctx.value(local)
            is_scalar = lv.ndim == 0 and not self.ctx.shape(local)
            factor = (
                self.ctx.text(local)
                if isinstance(local, (Num, Sym))
                or not (isinstance(local, Apply) and local.op in ("add", "sub"))
                else f"({self.ctx.text(local)})"
            )
            text = _times(gt, factor, "·" if is_scalar else " ⊙ ")
            self.run(arg, *self.reduce(G * lv, text, arg, g_shape), self.ctx.shape(arg))


def check_values(g: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Small random arrays for every leaf (each dimension cut to CHECK_DIM)."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    for name in g.leaves:
        dims = tuple(min(g.dims.get(dname, 1), CHECK_DIM) for dname in g.shapes.get(name, ()))
        values[name] = rng.uniform(0.2, 1.2, size=dims) * rng.choice((-1.0, 1.0), size=dims)
    labels = np.random.default_rng(
        seed + 1
    )  # a separate stream: the other leaves stay as they were
    for name, classes in label_leaves(g).items():
        values[name] = labels.integers(
            0, min(g.dims.get(classes, 1), CHECK_DIM), size=np.shape(values[name])
        )
        values[name] = values[name].astype(np.float64)
    return values


def rule_gradients(
    g: Graph, leaves: dict[str, Any], shapes: dict[str, Shape]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    """The matrix-form rules run at the leaves' arrays: every node's value, ∂L/∂(each node other
    than the loss, and each parameter), and the terms each gradient adds up, as text."""
    values = checker.forward(g, leaves)
    bw = _Backward(values, shapes)
    totals: dict[str, Any] = {}  # arrays, or numbers for a scalar
    texts: dict[str, list[str]] = {}
    G: Any
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
    return values, totals, texts


def matrix_backward(g: Graph, seed: int = 0, fused: dict[str, Expr] | None = None) -> MatrixResult:
    """The matrix-form rules on the check's random arrays. `fused` holds scalar gradients that
    cancelled (∂L/∂z = σ(z) − y): where one, times the reduction's constant, equals the batch
    gradient here, the step shows it as the fused form."""
    shapes = infer_shapes(g)
    leaves = check_values(g, seed)
    values, totals, texts = rule_gradients(g, leaves, shapes)

    auto_grads: dict[str, Any] = {}
    if g.fused:  # the lesson's closed forms are checked against autograd too
        auto_params, auto_nodes = checker.autograd(g, leaves)
        auto_grads = {**auto_nodes, **auto_params}
    entries = []
    for name in [n.name for n in reversed(g.nodes[:-1])] + list(g.params):
        formula = "  +  ".join(texts[name]) or "0"
        used = [s for s in list(shapes) if _mentions(formula, s)]
        where = ", ".join(f"{s} is {show(shapes[s])}" for s in used)
        lines: Lines = (
            (grad_name(name), formula),
            ("shape", f"{show(shapes[name])} (the shape of {name})"),
        )
        note = f"where {where}; each ∂L/∂· has the shape of its node." if where else ""
        short = _fused(fused.get(name) if fused else None, totals.get(name), values, shapes[name])
        if short:
            lines += ((f"{grad_name(name)}, fused", short),)
            note = (
                "The fused form is the same numbers without dividing by values that can be 0 (it is what a "
                "stable implementation computes). " + note
            )
        if len(texts[name]) > 1:
            note = f"{name} is used {len(texts[name])} times: the gradients add up. " + note
        if name in g.fused:
            extra, said = _closed_form(g, g.fused[name], totals[name], values, auto_grads)
            lines += extra
            note = said + " " + note
        entries.append(Entry(name, show(shapes[name]), lines, note))
    checks = checker.check(g, leaves, {p: totals[p] for p in g.params}, totals)
    return MatrixResult(tuple(entries), checks)


FUSED_OK = 1e-9  # a closed form and the rule-by-rule gradient: both exact, only rounding apart


def _closed_form(
    g: Graph, fused: Node, total: Any, values: dict[str, Any], auto: dict[str, Any]
) -> tuple[Lines, str]:
    """The lesson's closed form of ∂L/∂name ([graph.fused]) on the check's arrays, with its relative
    error against the rule-by-rule result and against torch autograd. Dimension names in it stand
    for their sizes there (each cut to CHECK_DIM)."""
    from tutor.derive.check import exact_error

    env = {d: np.float64(min(size, CHECK_DIM)) for d, size in g.dims.items() if d not in values}
    with np.errstate(all="ignore"):
        here = np.asarray(evaluate(fused.expr, {**env, **values}, Numpy()), dtype=np.float64)
    text = pretty(fused.expr, matrix=True)
    if here.shape != np.shape(total):
        return (
            (f"{grad_name(fused.name)}, fused", text),
        ), "The fused form does not have the gradient's shape."
    vs_rules = exact_error(here, total)
    vs_auto = exact_error(here, auto[fused.name]) if fused.name in auto else float("nan")
    lines: Lines = (
        (f"{grad_name(fused.name)}, fused", text),
        ("fused vs the rules above", f"relative error {vs_rules:.1e}"),
        ("fused vs torch autograd", f"relative error {vs_auto:.1e}"),
    )
    if vs_rules <= FUSED_OK and vs_auto <= FUSED_OK:
        said = (
            "The fused form is one expression for the same numbers: it agrees with the rule-by-rule "
            "backward pass and with autograd on the check's arrays."
        )
    else:
        said = "MISMATCH: the fused form given does not equal the gradient on the check's arrays."
    return lines, said


def _fused(tree: Expr | None, total: Any, values: dict[str, Any], shape: Shape) -> str:
    """The cancelled scalar form as the batch rule, when it equals the batch gradient up to the
    reduction's constant (1/N for a mean): "(1/N)·(σ(z) − y)"; else ""."""
    if tree is None or total is None:
        return ""
    with np.errstate(all="ignore"):
        here = np.asarray(evaluate(tree, values, Numpy()), dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    if here.shape != total.shape or not np.all(np.isfinite(here)) or not np.any(here):
        return ""
    ratio = total[here != 0] / here[here != 0]
    c = float(ratio[0])
    if not np.allclose(ratio, c, rtol=1e-9, atol=0) or not np.allclose(
        total, c * here, rtol=1e-9, atol=1e-15
    ):
        return ""
    text = pretty(tree, matrix=True)
    if abs(c - 1) < 1e-12:
        return text
    count = "·".join(shape)
    if shape and abs(c * total.size - 1) < 1e-9:
        return f"(1/{count})·({text})"
    return ""


def _mentions(text: str, name: str) -> bool:
    # "ᵀ" counts as a word character in Python's re: xᵀ must still mention x
    return re.search(rf"(?<![\w∂/]){re.escape(name)}(?![^\Wᵀ])", text) is not None
