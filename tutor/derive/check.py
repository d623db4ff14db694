"""The one gradient checker, for the scalar form (at the lesson's point) and the matrix form (on
small random arrays): the derived gradient against torch autograd (float64) and central finite
differences, graded on CS231n's bands, and a kink within the finite-difference step said out
loud instead of failing silently or passing by luck."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from tutor.derive.steps import Check
from tutor.expr.evaluate import Numpy, Torch, evaluate, kink_arguments
from tutor.lesson import Graph

Env = dict[str, Any]  # a name → its value: a float64 array (or number) for each leaf and node

FD_STEP = 1e-6  # central differences: (f(p + h) − f(p − h)) / 2h
GOOD = 1e-7  # CS231n: below this, the gradient is right
KINK_OK = 1e-4  # acceptable only where a kink lies within the step
WRONG = 1e-2  # above this, the gradient is wrong
AUTOGRAD_OK = 1e-9  # derived vs autograd: both exact, so only rounding separates them
FD_FLOOR = 1e-2  # the error's denominator is at least this × max(1, |L|): central
#                            differences at h = 1e-6 carry round-off of about 1e-10·|L|, which
#                            must not turn a small gradient into a large relative error; at this
#                            floor it stays near 1e-8, ten times under GOOD, on any BLAS


def rel_error(a: Any, b: Any, floor: float = 1e-12) -> float:  # arrays or numbers
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    return float(np.max(np.abs(a - b) / den)) if a.size else 0.0


CANCEL = 1e-4  # exact_error's floor, relative to the arrays' largest entry


def exact_error(a: ArrayLike, b: ArrayLike) -> float:
    """rel_error for two exact computations of the same gradient (derived, fused, autograd), which
    only rounding separates. An entry that is 0 in exact arithmetic but is computed as a difference
    of terms the size of the gradient (a causal head's first query, which sees only itself) carries
    rounding of about 1e-16 times that size, in a different amount on each side: each entry's
    denominator is at least CANCEL times the largest entry, so that rounding is not a wrong rule."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return rel_error(a, b, max(1e-12, CANCEL * scale))


def grade(error: float, kink: bool) -> str:
    if error <= GOOD:
        return "good"
    if error <= KINK_OK and kink:
        return "near a kink"
    if error <= WRONG:
        return "uncomfortable"
    return "wrong"


def forward(graph: Graph, env: Env, dtype: Any = np.float64) -> Env:
    """Every node's value (arrays or scalars, float64 unless `dtype` says otherwise) from the
    leaves in `env`."""
    out = dict(env)
    lib = Numpy(dtype)
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            out[node.name] = np.asarray(evaluate(node.expr, out, lib), dtype=dtype)
    return out


def _kinks(graph: Graph, env: Env) -> list[Any]:
    lib = Numpy()
    out = []
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            out += [np.sign(v) for v in kink_arguments(node.expr, env, lib)]
    return out


def autograd(graph: Graph, env: Env) -> tuple[Env, Env]:
    """∂L/∂(each parameter) and ∂L/∂(each node) by torch autograd in float64."""
    import torch

    lib = Torch(torch.float64)
    t_env = {
        k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=k in graph.params)
        for k, v in env.items()
        if k in graph.leaves
    }
    for node in graph.nodes:
        t = evaluate(node.expr, t_env, lib)
        if t.requires_grad:
            t.retain_grad()
        t_env[node.name] = t
    loss = t_env[graph.loss]
    if loss.requires_grad:
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    params = {
        p: grad.numpy().copy()
        if (grad := t_env[p].grad) is not None
        else np.zeros_like(np.asarray(env[p]))
        for p in graph.params
    }
    nodes = {
        n.name: grad.numpy().copy()
        for n in graph.nodes[:-1]
        if (grad := getattr(t_env[n.name], "grad", None)) is not None
    }
    nodes[graph.loss] = np.float64(1.0)
    return params, nodes


def finite_difference(
    graph: Graph,
    env: Env,
    p: str,
    h: float = FD_STEP,
    central: bool = True,
    dtype: Any = np.float64,
    entries: list[tuple[int, ...]] | None = None,
) -> tuple[np.ndarray | np.float64, bool]:
    """∂L/∂p by central differences (f(p + h) − f(p − h)) / 2h, or forward ones (f(p + h) − f(p)) / h,
    evaluated in `dtype` (the sweep of tutor.derive.sweep tries float32 and other steps), and
    whether a kink's argument changes sign within the step. With `entries`, only those entries are
    moved (the others stay 0): the values check's bounded sample of a large parameter."""
    env = {k: np.asarray(v, dtype=dtype) for k, v in env.items()}
    base = env[p]
    out = np.zeros(base.shape, dtype=np.float64)
    here_values = forward(graph, env, dtype)
    here = _kinks(graph, here_values)
    kink = False
    step = dtype(h)
    for idx in np.ndindex(base.shape) if entries is None else entries:
        losses = []
        for sign in (1, -1) if central else (1,):
            moved = base.copy()
            moved[idx] += sign * step
            values = forward(graph, {**env, p: moved}, dtype)
            losses.append(values[graph.loss])
            if not kink:
                kink = any(np.any(a != b) for a, b in zip(here, _kinks(graph, values), strict=True))
        if not central:
            losses.append(here_values[graph.loss])
        # the difference in the working dtype (where round-off happens), the quotient in float64
        out[idx] = float(losses[0] - losses[1]) / (float(step) * (2 if central else 1))
    return (out if out.shape else np.float64(out)), kink


def check(
    graph: Graph,
    env: Env,
    derived: Env,
    node_grads: Env | None = None,
    entries: dict[str, list[tuple[int, ...]]] | None = None,
) -> list[Check]:
    """Each parameter's derived gradient (in `derived`) checked at the leaves' values `env`. Where
    `entries` names some of a parameter's entries, finite differences move only those (and the
    check's `numeric` holds them, in that order); autograd always gives the whole gradient."""
    auto, node_auto = autograd(graph, env)
    loss = float(np.asarray(forward(graph, env)[graph.loss]))
    floor = FD_FLOOR * max(1.0, abs(loss)) if np.isfinite(loss) else 1.0
    checks = []
    for p in graph.params:
        picked = entries.get(p) if entries else None
        numeric, kink = finite_difference(graph, env, p, entries=picked)
        mine = derived[p]
        auto_err = exact_error(mine, auto[p])
        if picked is not None:
            numeric = np.array([np.asarray(numeric)[i] for i in picked])
            num_err = rel_error(np.array([np.asarray(mine)[i] for i in picked]), numeric, floor)
        else:
            num_err = rel_error(mine, numeric, floor)
        g = grade(num_err, kink)
        ok = auto_err <= AUTOGRAD_OK and (g in ("good", "near a kink") or kink)
        blame = (
            "" if ok else _blame(graph, p, auto_err, num_err, kink, numeric, node_grads, node_auto)
        )
        checks.append(
            Check(p, mine, auto[p], numeric, max(auto_err, num_err), ok, blame, g, kink, auto_err)
        )
    return checks


def verdict(chk: Check) -> str:
    if chk.ok and chk.kink:
        return (
            "autograd agrees; a kink (relu, max or abs at 0) lies within the finite-difference step, "
            "so the numeric gradient is not meaningful here"
        )
    if chk.ok:
        return "all three agree" if chk.grade == "good" else f"all three agree ({chk.grade})"
    return f"MISMATCH: {chk.blame}"


def _blame(
    graph: Graph,
    p: str,
    auto_err: float,
    num_err: float,
    kink: bool,
    numeric: Any,
    node_grads: Env | None,
    node_auto: Env,
) -> str:
    if auto_err <= AUTOGRAD_OK:
        return (
            f"finite differences give {_short(numeric)} (relative error {num_err:.1e}, "
            f"{grade(num_err, kink)}); autograd agrees with the derivation"
        )
    for node in reversed(graph.nodes):
        if (
            node_grads
            and node.name in node_grads
            and node.name in node_auto
            and exact_error(node_grads[node.name], node_auto[node.name]) > AUTOGRAD_OK
        ):
            return (
                f"the rule at node {node.name} is wrong: derived {_short(node_grads[node.name])}, "
                f"autograd {_short(node_auto[node.name])}"
            )
    return f"the derived ∂L/∂{p} disagrees with autograd (relative error {auto_err:.1e})"


def _short(v: Any) -> str:
    v = np.asarray(v)
    return f"{float(v):.6g}" if v.ndim == 0 else f"‖g‖ = {np.linalg.norm(v):.6g}"
