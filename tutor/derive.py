"""A lesson's graph → the derivation, as a list of immutable steps, and the gradient check.

The steps walk the forward pass node by node, then the backward pass from the loss: each node's
upstream gradient, the local partial (computed by sympy, never typed in), their product; where a
node feeds several others the contributions add up. Then, for each parameter, the whole chain
written as named factors, multiplied out, simplified and evaluated; then the three-way check
(sympy, torch autograd, central finite differences). Graphs with shapes add the matrix form;
lessons with a [jacobian] add the Jacobian and its vector–Jacobian product.

Imports sympy (and torch for the check): load it in a worker, never at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from tutor import mathexpr, symbolic
from tutor.fmt import number
from tutor.lesson import Graph, Jacobian, Lesson
from tutor.numeric import NumpyOps, TorchOps
from tutor.symbolic import sym

TOLERANCE = 1e-6            # the three gradients must agree to this relative error
FD_STEP = 1e-6              # central finite differences: (f(p + h) − f(p − h)) / 2h
TINY = 1e-12                # floor of the relative error's denominator
MAX_PATHS = 12              # paths listed in a chain; beyond this only the recursive form is shown


def d(num: str, den: str) -> str:
    return f"∂{num}/∂{den}"


@dataclass(frozen=True)
class Check:
    """One parameter's gradient three ways, and what to say when they disagree."""

    param: str
    symbolic: Any
    autograd: Any
    numeric: Any
    rel_error: float
    ok: bool
    blame: str = ""

    def as_json(self) -> dict:
        return {"param": self.param, "symbolic": _plain(self.symbolic), "autograd": _plain(self.autograd),
                "numeric": _plain(self.numeric), "rel_error": self.rel_error, "ok": self.ok}


@dataclass(frozen=True)
class Step:
    """What one screen of the derivation shows. `lines` pairs a label with a sympy expression
    (or plain text); `values`/`grads` name the nodes whose value/gradient is known so far."""

    index: int
    phase: str                      # forward | backward | chain | check | matrix | jacobian
    node: str                       # the node (or parameter) highlighted
    title: str
    lines: tuple[tuple[str, Any], ...]
    note: str = ""
    values: frozenset = frozenset()
    grads: frozenset = frozenset()
    check: Check | None = None


@dataclass
class Derivation:
    lesson_id: str
    graph: Graph | None
    steps: list[Step]
    values: dict[str, float]                      # forward value of every leaf and node
    grads: dict[str, float]                       # ∂L/∂(node or parameter) at the point
    grad_exprs: dict[str, sympy.Expr]             # the same, symbolically, in node symbols
    local: dict[tuple[str, str], sympy.Expr]      # (node, input) → ∂node/∂input
    chains: dict[str, sympy.Expr]                 # parameter → chain multiplied out, in node symbols
    checks: list[Check]
    matrix_checks: list[Check] = field(default_factory=list)
    _rendered: dict = field(default_factory=dict, repr=False)

    def step_index(self, node: str, after: int = -1) -> int | None:
        """The next step (after `after`, wrapping) that highlights `node`."""
        n = len(self.steps)
        for k in range(1, n + 1):
            i = (after + k) % n
            if self.steps[i].node == node:
                return i
        return None

    def render(self, index: int, width: int = 80, ascii: bool = False) -> str:
        """The step as text, within `width` columns; cached, so stepping back never re-renders."""
        key = (index, width, ascii)
        if key not in self._rendered:
            from tutor.render import render_step

            self._rendered[key] = render_step(self.steps[index], width, ascii)
        return self._rendered[key]


def _plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    return float(v) if v is not None else None


def rel_error(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), TINY)
    return float(np.max(np.abs(a - b) / den)) if a.size else 0.0


# ---------------------------------------------------------------------------------------------


_CACHE: dict[tuple, Derivation] = {}


def derive(lesson: Lesson) -> Derivation:
    """The lesson's derivation, built once per lesson content: stepping never re-runs sympy."""
    key = (lesson.id, repr(lesson.graph), repr(lesson.jacobian))
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = _build(lesson)
    return _CACHE[key]


def _build(lesson: Lesson) -> Derivation:
    steps: list[Step] = []
    g = lesson.graph
    if g is None:
        deriv = Derivation(lesson.id, None, steps, {}, {}, {}, {}, {}, [])
    else:
        deriv = _derive_graph(lesson.id, g, steps)
        if g.shapes:
            _matrix_steps(deriv, g, steps)
    if lesson.jacobian is not None:
        _jacobian_steps(lesson.jacobian, steps)
    deriv.steps = [Step(i, s.phase, s.node, s.title, s.lines, s.note, s.values, s.grads, s.check)
                   for i, s in enumerate(steps)]
    return deriv


def forward_values(g: Graph, point: dict[str, float] | None = None) -> dict[str, float]:
    env = {k: np.float64(v) for k, v in (point or g.point).items()}
    ops = NumpyOps()
    for node in g.nodes:
        env[node.name] = mathexpr.evaluate(node.expr, env, ops)
    return {k: float(v) for k, v in env.items()}


def consumers(g: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in g.leaves + tuple(x.name for x in g.nodes)}
    for node in g.nodes:
        for used in dict.fromkeys(mathexpr.symbols(node.expr)):
            out[used].append(node.name)
    return out


def _derive_graph(lesson_id: str, g: Graph, steps: list[Step]) -> Derivation:
    values = forward_values(g)
    exprs = {n.name: symbolic.to_sympy(n.expr) for n in g.nodes}
    used_by = consumers(g)
    local: dict[tuple[str, str], sympy.Expr] = {}
    for node in g.nodes:
        for used in dict.fromkeys(mathexpr.symbols(node.expr)):
            local[(node.name, used)] = symbolic.diff(exprs[node.name], used)

    # Forward pass: one step a node.
    known: set[str] = set(g.leaves)
    for node in g.nodes:
        known.add(node.name)
        lines = [(node.name, exprs[node.name]), (f"{node.name} at the point", number(values[node.name]))]
        steps.append(Step(0, "forward", node.name, f"Forward: {node.name} = {node.text.strip()}", tuple(lines),
                          values=frozenset(known)))

    # Backward pass: from the loss down, each node's upstream gradient times its local partial.
    L = g.loss
    grad_exprs: dict[str, sympy.Expr] = {L: sympy.Integer(1)}
    grads: dict[str, float] = {L: 1.0}
    have = {L}
    steps.append(Step(0, "backward", L, f"Backward: start at the loss, {d(L, L)} = 1",
                      ((d(L, L), sympy.Integer(1)),), note="Every gradient below is built from this seed.",
                      values=frozenset(known), grads=frozenset(have)))
    order = [n.name for n in reversed(g.nodes[:-1])] + [p for p in g.params]
    for name in order:
        contributions = []
        lines = []
        for c in used_by[name]:
            lp = local[(c, name)]
            contributions.append(grad_exprs[c] * lp)
            lines += [(d(L, c) + " (upstream)", grad_exprs[c]), (d(c, name) + " (local)", lp)]
        total = sympy.Add(*contributions)
        grad_exprs[name] = total
        grads[name] = symbolic.value(total, values) if total.free_symbols else float(total)
        have.add(name)
        feeds = used_by[name]
        note = ""
        if len(feeds) > 1:
            note = f"{name} feeds {', '.join(feeds)}: the gradients reaching it add up."
        lines.append((d(L, name), total))
        lines.append((f"{d(L, name)} at the point", number(grads[name])))
        kind = "parameter" if name in g.params else "node"
        steps.append(Step(0, "backward", name, f"Backward: {d(L, name)} at {kind} {name}", tuple(lines), note,
                          frozenset(known), frozenset(have)))

    # For each parameter: the chain as named factors, multiplied out, simplified, evaluated.
    chains: dict[str, sympy.Expr] = {}
    subs_forward = forward_substitution(g, exprs)
    for p in g.params:
        paths = _paths(p, L, used_by)
        factor_names = []
        for path in paths[:MAX_PATHS]:
            factor_names.append(" · ".join(d(path[i + 1], path[i]) for i in reversed(range(len(path) - 1))))
        chain_text = "  +  ".join(factor_names) if len(paths) <= MAX_PATHS else f"({len(paths)} paths)"
        product = grad_exprs[p]
        chains[p] = product
        lines: list[tuple[str, Any]] = [(d(L, p), chain_text)]
        for path in paths[:MAX_PATHS]:
            for i in reversed(range(len(path) - 1)):
                lines.append((d(path[i + 1], path[i]), local[(path[i + 1], path[i])]))
        lines.append((f"{d(L, p)} (multiplied out)", product))
        inputs_only = symbolic.simplify_small(symbolic.tidy(product.xreplace(subs_forward)))
        lines.append((f"{d(L, p)} (in the inputs)", inputs_only))
        lines.append((f"{d(L, p)} at the point", number(grads[p])))
        note = "" if len(paths) == 1 else f"{p} reaches the loss along {len(paths)} paths: their products add up."
        steps.append(Step(0, "chain", p, f"Chain rule for {p}", tuple(lines), note, frozenset(known), frozenset(have)))

    checks = gradient_check(g, grads, grad_exprs, values)
    for chk in checks:
        lines = (("sympy (derived)", number(chk.symbolic)), ("torch autograd", number(chk.autograd)),
                 ("finite differences", number(chk.numeric)), ("relative error", f"{chk.rel_error:.2e}"))
        verdict = "all three agree" if chk.ok else f"MISMATCH: {chk.blame}"
        steps.append(Step(0, "check", chk.param, f"Check {d(L, chk.param)}: {verdict}", lines,
                          values=frozenset(known), grads=frozenset(have), check=chk))
    return Derivation(lesson_id, g, steps, values, grads, grad_exprs, local, chains, checks)


def forward_substitution(g: Graph, exprs: dict[str, sympy.Expr] | None = None) -> dict:
    """node symbol → its expression in the leaves only."""
    exprs = exprs or {n.name: symbolic.to_sympy(n.expr) for n in g.nodes}
    out: dict = {}
    for node in g.nodes:
        out[sym(node.name)] = exprs[node.name].xreplace(out)
    return out


def _paths(start: str, end: str, used_by: dict[str, list[str]]) -> list[list[str]]:
    """Every path start → … → end along the graph's edges (bounded)."""
    found: list[list[str]] = []

    def walk(path):
        if len(found) > MAX_PATHS:
            return
        here = path[-1]
        if here == end:
            found.append(path)
            return
        for nxt in used_by.get(here, ()):
            walk(path + [nxt])

    walk([start])
    return found


def gradient_check(g: Graph, grads: dict[str, float], grad_exprs, values) -> list[Check]:
    """Each parameter's derived gradient against torch autograd (float64) and central differences."""
    auto, node_auto = _autograd(g, g.point)
    checks = []
    for p in g.params:
        numeric = _finite_difference(g, g.point, p)
        sym_v = grads[p]
        err = max(rel_error(sym_v, auto[p]), rel_error(sym_v, numeric))
        ok = err <= TOLERANCE
        blame = "" if ok else _blame(g, grads, node_auto, auto, p, numeric)
        checks.append(Check(p, sym_v, auto[p], numeric, err, ok, blame))
    return checks


def _blame(g, grads, node_auto, auto, p, numeric) -> str:
    """Walk back from the loss: the first node whose derived gradient disagrees with autograd's
    is where a local rule is wrong; if autograd agrees, the point sits on a kink."""
    if rel_error(auto[p], grads[p]) <= TOLERANCE:
        return (f"finite differences give {numeric:.6g}: the point sits where a function of the graph "
                f"has a kink (relu, max or abs at 0), so its derivative is not defined there")
    for node in reversed(g.nodes):
        if node.name in node_auto and rel_error(node_auto[node.name], grads[node.name]) > TOLERANCE:
            return f"the rule at node {node.name} is wrong: derived {grads[node.name]:.6g}, autograd {node_auto[node.name]:.6g}"
    return f"the local partial ∂(next node)/∂{p} is wrong"


def _autograd(g: Graph, point: dict[str, float]):
    import torch

    ops = TorchOps(torch.float64)
    env = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    for node in g.nodes:
        t = mathexpr.evaluate(node.expr, env, ops)
        if t.requires_grad:
            t.retain_grad()
        env[node.name] = t
    loss = env[g.loss]
    loss.backward()
    param_grads = {p: float(env[p].grad) if env[p].grad is not None else 0.0 for p in g.params}
    node_grads = {n.name: float(env[n.name].grad) for n in g.nodes[:-1] if env[n.name].grad is not None}
    node_grads[g.loss] = 1.0
    return param_grads, node_grads


def _finite_difference(g: Graph, point: dict[str, float], p: str) -> float:
    up, down = dict(point), dict(point)
    up[p] += FD_STEP
    down[p] -= FD_STEP
    return (forward_values(g, up)[g.loss] - forward_values(g, down)[g.loss]) / (2 * FD_STEP)


# ---------------------------------------------------------------------------------------------
# The matrix form (graphs that declare shapes)


def _matrix_steps(deriv: Derivation, g: Graph, steps: list[Step]) -> None:
    from tutor.matrixform import matrix_backward

    result = matrix_backward(g)
    for entry in result.entries:
        steps.append(Step(0, "matrix", entry.name, f"Matrix form: {d('L', entry.name)}  [{entry.shape}]",
                          tuple(entry.lines), entry.note))
    deriv.matrix_checks = result.checks
    for chk in result.checks:
        lines = (("matrix rule", f"‖g‖ = {np.linalg.norm(chk.symbolic):.10g}"),
                 ("torch autograd", f"‖g‖ = {np.linalg.norm(chk.autograd):.10g}"),
                 ("finite differences", f"‖g‖ = {np.linalg.norm(chk.numeric):.10g}"),
                 ("relative error", f"{chk.rel_error:.2e}"))
        verdict = "all three agree" if chk.ok else "MISMATCH"
        steps.append(Step(0, "check", chk.param, f"Check the matrix form of ∂L/∂{chk.param} on random data: {verdict}",
                          lines, check=chk))


# ---------------------------------------------------------------------------------------------
# Jacobians


def jacobian_matrix(jac: Jacobian) -> sympy.Matrix:
    outs = sympy.Matrix([symbolic.to_sympy(o.expr) for o in jac.outputs])
    return outs.jacobian([sym(n) for n in jac.inputs])


def _jacobian_steps(jac: Jacobian, steps: list[Step]) -> None:
    J = jacobian_matrix(jac)
    m, n = J.shape
    subs = {sym(k): sympy.Float(v, 20) for k, v in jac.point.items()}
    J_at = J.xreplace(subs).evalf(12)
    g = sympy.Matrix([jac.upstream])
    vjp = (g * J_at).evalf(12)
    outs = sympy.Matrix([symbolic.to_sympy(o.expr) for o in jac.outputs])
    names = ", ".join(o.name for o in jac.outputs)
    steps.append(Step(0, "jacobian", "J", f"Jacobian of ({names}) with respect to ({', '.join(jac.inputs)})",
                      (("f(x)", outs), (f"J  ({m} × {n})", J)),
                      note=f"Row i holds the gradient of output i; column j how every output moves with input j. "
                           f"Shape: M × N = {m} × {n}."))
    steps.append(Step(0, "jacobian", "J", "The Jacobian at the point",
                      (("point", ", ".join(f"{k} = {v:g}" for k, v in jac.point.items())), ("J at the point", J_at))))
    steps.append(Step(0, "jacobian", "vjp", "Vector–Jacobian product: how a scalar loss's gradient passes through",
                      (("upstream ∂L/∂f", g), ("∂L/∂x = (∂L/∂f) · J", vjp)),
                      note="Backpropagation never builds J for big layers: it multiplies the upstream gradient "
                           "by J directly, which is what each layer's backward rule does."))


def jacobian_values(jac: Jacobian) -> tuple[np.ndarray, np.ndarray]:
    """J and gᵀJ at the point, as floats (for the headless runner and tests)."""
    J = jacobian_matrix(jac)
    subs = {sym(k): v for k, v in jac.point.items()}
    Jv = np.array(J.xreplace(subs).evalf(), dtype=np.float64)
    return Jv, np.asarray(jac.upstream) @ Jv
