"""The scalar derivation of a graph, step by step, in order: the forward pass node by node; the
backward pass from the loss, where each node's gradient is the sum over its consumers of
upstream gradient × local partial (each consumer's contribution and their sum written out with
numbers); then, per parameter, the chain rule as named factors, their numbers multiplied out,
the gradient in node symbols and in the inputs (tidied by sympy within a bound); then the
three-way check.

Everything numeric (values, gradients, checks) is float64 evaluation of trees; sympy only tidies
what is shown, and only within the bounds of `tutor.expr.sympy_bridge.canonical` and a time
budget for the whole derivation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tutor.derive import check as checker
from tutor.derive.steps import Derivation, Step, d
from tutor.expr.calculus import diff, occurrences
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Apply, Expr, Num, Sym, add, mul, name_set, names, size, substitute
from tutor.expr.ops import OPS
from tutor.expr.text import pretty
from tutor.fmt import number
from tutor.lesson import Graph, Node

MAX_PATHS = 12  # paths listed in a chain; beyond this only the recursive form is shown
MAX_TREE = 600  # operations in a gradient written out in full
SYMBOLIC_BUDGET = 3.0  # seconds of sympy tidying for a whole derivation; after it, raw forms


class Cancelled(Exception):
    """The derivation was called off (the sandbox's text changed): raised between steps."""


class Budget:
    """Seconds left for optional symbolic work (tidying; numbers never depend on it), and whether
    whoever asked for the derivation still wants it (`cancelled`, asked between steps)."""

    def __init__(self, seconds: float, cancelled: Callable[[], bool] | None = None):
        self.deadline = time.monotonic() + seconds
        self.cancelled = cancelled

    def left(self) -> bool:
        return time.monotonic() < self.deadline

    def go_on(self) -> None:
        """Raises Cancelled where the derivation is no longer wanted."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()


def consumers(g: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in g.leaves + tuple(x.name for x in g.nodes)}
    for node in g.nodes:
        for used in names(node.expr):
            out[used].append(node.name)
    return out


def forward_values(g: Graph, point: dict[str, float] | None = None) -> dict[str, float]:
    env = {k: np.float64(v) for k, v in (point or g.point).items()}
    return {k: float(v) for k, v in checker.forward(g, env).items()}


def forward_trees(g: Graph) -> dict[str, Expr]:
    """Each node as an expression in the leaves only."""
    out: dict[str, Expr] = {}
    for node in g.nodes:
        out[node.name] = substitute(node.expr, out)
    return out


def local_partials(
    g: Graph,
) -> tuple[dict[tuple[str, str], Expr], dict[tuple[str, str], list[Expr]]]:
    """(node, input) → ∂node/∂input as a tree, and the same split per appearance of the input."""
    local: dict[tuple[str, str], Expr] = {}
    parts: dict[tuple[str, str], list[Expr]] = {}
    for node in g.nodes:
        for used in names(node.expr):
            parts[(node.name, used)] = occurrences(node.expr, used)
            local[(node.name, used)] = diff(node.expr, used)
    return local, parts


def gradient_trees(
    g: Graph, local: dict[tuple[str, str], Expr] | None = None
) -> dict[str, Expr | None]:
    """∂L/∂(each node and parameter) in node symbols: the sum over consumers c of
    ∂L/∂c · ∂c/∂name. None where writing it out would pass MAX_TREE operations."""
    local = local if local is not None else local_partials(g)[0]
    used_by = consumers(g)
    trees: dict[str, Expr | None] = {g.loss: Num(1.0)}
    sizes: dict[
        int, tuple[Expr, int]
    ] = {}  # shared: each gradient contains its upstream's, sized once
    for name in [n.name for n in reversed(g.nodes[:-1])] + list(g.params):
        total: Expr | None = Num(0.0)
        for c in used_by[name]:
            upstream = trees.get(c)
            if upstream is None or total is None:
                total = None
                break
            total = add(total, mul(upstream, local[(c, name)]))
            if size(total, sizes) > MAX_TREE:
                total = None
        trees[name] = total
    return trees


def path_terms(
    g: Graph, name: str, local: dict[tuple[str, str], Expr] | None = None
) -> list[tuple[tuple[str, ...], Expr]]:
    """Each path from `name` to the loss with its product of local partials, in node symbols:
    ∂L/∂name is their sum (the chain rule steps list the same paths). Empty where there are more
    than MAX_PATHS paths."""
    local = local if local is not None else local_partials(g)[0]
    paths = _paths(name, g.loss, consumers(g))
    if len(paths) > MAX_PATHS:
        return []
    out = []
    for path in paths:
        tree: Expr = Num(1.0)
        for i in reversed(range(len(path) - 1)):
            tree = mul(tree, local[(path[i + 1], path[i])])
        out.append((tuple(path), tree))
    return out


def _value(tree: Expr, values: dict[str, Any]) -> float:
    with np.errstate(all="ignore"):
        return float(evaluate(tree, values, Numpy()))


def _gate(node: Node) -> str:
    expr = node.expr
    if isinstance(expr, Apply) and all(isinstance(a, (Sym, Num)) for a in expr.args):
        return OPS[expr.op].gate
    return ""


def steps(
    lesson_id: str, g: Graph, emit: Callable[[Step, Derivation], None], budget: Budget
) -> Derivation:
    """Derive `g`, handing each step to `emit` as soon as it exists; returns the whole."""
    values = forward_values(g)
    bad = [n.name for n in g.nodes if not np.isfinite(values[n.name])]
    deriv = Derivation(lesson_id, g, [], values, {})
    used_by = consumers(g)
    local, parts = local_partials(g)
    deriv.local_trees = local
    known: set[str] = set(g.leaves)

    def step(
        phase: str,
        node: str,
        title: str,
        lines: Sequence[tuple[str, Expr | str]],
        note: str = "",
        **kw: Any,
    ) -> None:
        budget.go_on()
        s = Step(
            len(deriv.steps),
            phase,
            node,
            title,
            tuple(lines),
            note,
            frozenset(known),
            frozenset(deriv.grads),
            **kw,
        )
        deriv.steps.append(s)
        emit(s, deriv)

    for node in g.nodes:
        known.add(node.name)
        step(
            "forward",
            node.name,
            f"Forward: {node.name} = {node.text.strip()}",
            [(node.name, node.expr), (f"{node.name} at the point", number(values[node.name]))],
        )
    if bad:
        step(
            "forward",
            bad[0],
            f"The graph is undefined at the point: {bad[0]} = {number(values[bad[0]])}",
            [],
            note=f"{bad[0]} has no finite value at the lesson's point, so no gradient can be taken there. "
            "Choose a point where every node is defined.",
        )
        deriv.problem = (
            f"node '{bad[0]}' is undefined at the point ({number(values[bad[0]])}): choose a point "
            "where every node has a finite value"
        )
        return deriv

    # Backward: from the loss down.
    L = g.loss
    deriv.grads[L] = 1.0
    trees = gradient_trees(g, local)
    memo: dict[str, Any] = {}  # _cancelled's memos, by what they remember
    step(
        "backward",
        L,
        f"Backward: start at the loss, {d(L, L)} = 1",
        [(d(L, L), "1")],
        note="Every gradient below is built from this seed.",
    )
    order = [n.name for n in reversed(g.nodes[:-1])] + list(g.params)
    for name in order:
        lines: list[tuple[str, Expr | str]] = []
        terms: list[float] = []
        recursive: list[str] = []
        for c in used_by[name]:
            for k, lp in enumerate(parts[(c, name)]):
                lp_value = _value(lp, values)
                contribution = deriv.grads[c] * lp_value
                terms.append(contribution)
                which = f" (appearance {k + 1})" if len(parts[(c, name)]) > 1 else ""
                # the loss's own local slope would read ∂L/∂name, the total's symbol: ∂⁰ marks it
                # local (its other inputs held fixed), as the backprop-through-time lesson writes it
                slope = d(c, name) if c != L else f"∂⁰{c}/∂{name}"
                lines.append((f"{slope}{which} (local)", lp))
                lines.append(
                    (
                        "  upstream × local",
                        f"{number(deriv.grads[c])} × {number(lp_value)} = {number(contribution)}",
                    )
                )
                recursive.append(f"{d(L, c)} · {slope}")
        deriv.grads[name] = float(sum(terms)) if terms else 0.0
        lines.insert(0, (d(L, name), "  +  ".join(dict.fromkeys(recursive)) or "0"))
        if len(terms) > 1:
            lines.append((d(L, name), signed_sum(terms) + f" = {number(deriv.grads[name])}"))
        else:
            lines.append((f"{d(L, name)} at the point", number(deriv.grads[name])))
        note = ""
        feeds = used_by[name]
        if len(terms) > 1:
            where = ", ".join(feeds)
            note = (
                f"{name} reaches the loss through {len(terms)} uses ({where}): their gradients add up. "
                "This is why backpropagation accumulates with += rather than assigning."
            )
        gates = [f"{c}: {_gate(g.node(c))}" for c in feeds if _gate(g.node(c))]
        if gates:
            note = (note + " " if note else "") + "Gate pattern at " + "; ".join(gates) + "."
        kind = "parameter" if name in g.params else "node"
        budget.go_on()
        if name not in g.params and trees.get(name) is not None:
            simpler = (
                _cancelled(g, name, tree, budget, memo)
                if (tree := trees[name]) is not None
                else None
            )
            if simpler is not None:
                deriv.simplified[name] = simpler[0]
                lines.append((f"{d(L, name)} simplified", simpler[0]))
                note = (note + " " if note else "") + simpler[1]
        step("backward", name, f"Backward: {d(L, name)} at {kind} {name}", lines, note)
    deriv.trees = trees

    # Per parameter: the chain rule written out, with its numbers.
    inputs = forward_trees(g)
    for p in g.params:
        paths = _paths(p, L, used_by)
        lines = []
        names, numbers = [], []
        for path in paths[:MAX_PATHS]:
            edges = [(path[i + 1], path[i]) for i in reversed(range(len(path) - 1))]
            names.append(" · ".join(d(a, b) for a, b in edges))
            numbers.append(" × ".join(number(_value(local[e], values)) for e in edges))
        if len(paths) <= MAX_PATHS:
            lines.append((d(L, p), "  +  ".join(names)))
            for path in paths:
                for i in reversed(range(len(path) - 1)):
                    lines.append((d(path[i + 1], path[i]), local[(path[i + 1], path[i])]))
            lines.append(
                (
                    d(L, p),
                    "  +  ".join(f"({n})" if len(numbers) > 1 else n for n in numbers)
                    + f" = {number(deriv.grads[p])}",
                )
            )
        else:
            lines.append(
                (d(L, p), f"({len(paths)} paths: the backward steps above sum them node by node)")
            )
        tree = trees.get(p)
        if tree is None:
            lines.append(
                (
                    f"{d(L, p)} (multiplied out)",
                    f"too long to write out (more than {MAX_TREE} operations); "
                    "the factored chain above is the gradient",
                )
            )
        else:
            lines.append((f"{d(L, p)} (multiplied out)", _tidy(tree, budget, cancel=False)))
            in_inputs = substitute(tree, inputs)
            if size(in_inputs) > MAX_TREE:
                lines.append(
                    (
                        f"{d(L, p)} (in the inputs)",
                        f"too long to write out ({_count(size(in_inputs))} operations)",
                    )
                )
            else:
                lines.append((f"{d(L, p)} (in the inputs)", _tidy(in_inputs, budget)))
        lines.append((f"{d(L, p)} at the point", number(deriv.grads[p])))
        note = (
            ""
            if len(paths) == 1
            else f"{p} reaches the loss along {len(paths)} paths: their products add up."
        )
        step("chain", p, f"Chain rule for {p}", lines, note)

    budget.go_on()
    env = {k: np.float64(v) for k, v in g.point.items()}
    deriv.checks = checker.check(g, env, {p: deriv.grads[p] for p in g.params}, deriv.grads)
    for chk in deriv.checks:
        figures = (
            ("derived", number(chk.symbolic)),
            ("torch autograd", number(float(chk.autograd))),
            ("finite differences", number(float(chk.numeric))),
            ("relative error", f"{chk.rel_error:.2e}"),
            (
                "grade",
                f"{chk.grade} (CS231n's bands: ≤ 1e-7 good; ≤ 1e-4 only near a kink; > 1e-2 wrong)",
            ),
        )
        note = ""
        if chk.kink and chk.param in g.expect_kink:
            note = (
                f"Expected: the lesson puts {chk.param} within the finite-difference step "
                f"(h = {checker.FD_STEP:g}) of a kink on purpose. The two evaluations straddle the kink, so "
                "the difference quotient mixes two slopes; autograd, exact at the point, is the reference here."
            )
        step(
            "check",
            chk.param,
            f"Check {d(L, chk.param)}: {checker.verdict(chk)}",
            figures,
            note,
            check=chk,
        )
    from tutor.derive.sweep import lines as sweep_lines
    from tutor.derive.sweep import sweeps

    for sw in sweeps(g, deriv.grads):
        p = sw.param
        step(
            "sweep",
            p,
            f"Sweep the step h for {d(L, p)}: truncation error against round-off",
            sweep_lines(sw),
            "Relative error |numeric − derived| / max(|numeric|, |derived|) for each h. "
            "CS231n's bands: ≤ 1e-7 good; ≤ 1e-4 acceptable only near a kink; > 1e-2 wrong.",
        )
    return deriv


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"about {n:.1e}".replace("e+", "e")


def _cancelled(
    g: Graph, name: str, tree: Expr, budget: Budget, memo: dict[str, Any]
) -> tuple[Expr, str] | None:
    """∂L/∂name with the nodes computed from `name` written out in it (p = σ(z), say) and
    cancelled, where that makes it shorter: σ(z)·(1 − σ(z))·(−y/p + (1 − y)/(1 − p)) is σ(z) − y.
    None where nothing cancels, where the written-out form would pass what sympy is given (a
    chain of reuses doubles at each node), or where the budget is spent. `memo` is shared
    between the nodes of one derivation (their gradients share their upstream parts)."""
    from tutor.expr.sympy_bridge import MAX_CANONICAL_SIZE, canonical

    if not budget.left() or size(tree, memo.setdefault("size", {})) > MAX_CANONICAL_SIZE:
        return None
    order = [n.name for n in g.nodes]
    later = order[order.index(name) + 1 :]
    mentioned = name_set(tree, memo.setdefault("names", {}))
    used = [n for n in later if n in mentioned]
    if not used:
        return None
    # the later nodes in forward order, each in the nodes up to `name`, until the last one used;
    # a written form grows as it is substituted, so one past the limit ends the attempt
    env: dict[str, Expr] = {}
    for n in later[: later.index(used[-1]) + 1]:
        env[n] = substitute(g.node(n).expr, env)
        if n in mentioned and size(env[n]) > MAX_CANONICAL_SIZE:
            return None
    written = substitute(tree, {n: env[n] for n in used})
    tidy, why = canonical(written)
    if why or size(tidy) >= size(tree):
        return None
    defs = ", ".join(f"{n} = {pretty(g.node(n).expr)}" for n in used)
    return tidy, f"Writing {defs} into it, the factors cancel."


def _tidy(tree: Expr, budget: Budget, cancel: bool = True) -> Expr | str:
    """sympy's tidier form within the budget and size bounds, else the tree as derived and a
    word saying so (the numbers never depend on it)."""
    if not budget.left():
        return (
            f"{pretty(tree)}   (left as derived: the time for tidying this derivation is used up)"
        )
    from tutor.expr.sympy_bridge import canonical

    tidy, why = canonical(tree, cancel)
    return f"{pretty(tree)}   ({why})" if why else tidy


def _paths(start: str, end: str, used_by: dict[str, list[str]]) -> list[list[str]]:
    """Paths start → … → end along the graph's edges (at most MAX_PATHS + 1 are collected)."""
    found: list[list[str]] = []
    reaches: dict[str, bool] = {}

    def reach(here: str) -> bool:  # memoised, so dead ends are never walked twice
        if here not in reaches:
            reaches[here] = here == end or any(reach(n) for n in used_by.get(here, ()))
        return reaches[here]

    def walk(path: list[str]) -> None:
        if len(found) > MAX_PATHS:
            return
        here = path[-1]
        if here == end:
            found.append(path)
            return
        for nxt in used_by.get(here, ()):
            if reach(nxt):
                walk(path + [nxt])

    walk([start])
    return found


def signed_sum(terms: Sequence[float]) -> str:
    """0.512144 − 0.0357615 + 1.58319: each term after the first with its own sign, never `+ -`."""
    out = number(terms[0])
    for t in terms[1:]:
        out += f" − {number(-t)}" if t < 0 else f" + {number(t)}"
    return out
