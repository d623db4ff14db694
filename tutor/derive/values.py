"""The derivation at the lesson's own arrays ([graph.values]): a teacher's worked example.

One "values" step per leaf (its array), per node (its forward value), per parameter (its
gradient by the matrix-form rules) and per parameter's check (against torch autograd on the whole
gradient, and central finite differences on at most MAX_FD_ENTRIES of its entries: the ones
[graph.entries] names, then those of largest |g|), graded on CS231n's bands by the one checker.

An array is shown in full when it fits (FULL_ROWS × FULL_COLS), else by its shape, its largest
|entry| and the entries the teacher names; the step's `table` holds it whole for the TUI's table
and the JSON event.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tutor.derive import check as checker
from tutor.derive.matrix import grad_name, rule_gradients
from tutor.derive.steps import Check
from tutor.expr.ops import Shape
from tutor.expr.shapes import infer_shapes, show
from tutor.lesson.limits import MAX_FD_ENTRIES
from tutor.lesson.records import Graph

FULL_ROWS = 12  # an array is shown whole, in the step's text, up to this many rows
FULL_COLS = 10  # and columns (the TUI's table scrolls; a larger one is summarised)
GRID = "entries"  # the label of the line that lays an array out (the TUI shows a table instead)
Add = Callable[..., None]


def leaf_arrays(g: Graph) -> dict[str, np.ndarray]:
    """Every leaf's array: as listed, or drawn as CS231n's notebooks draw (np.random.seed(s);
    scale * np.random.randn(...)), with numpy's RandomState, whose stream numpy keeps fixed."""
    out: dict[str, np.ndarray] = {}
    for name, v in g.values.items():
        if v.recipe == "zeros":
            a = np.zeros(v.shape)
        elif v.recipe == "normal":
            a = v.scale * np.random.RandomState(v.seed).standard_normal(v.shape)
        elif v.recipe == "uniform":
            a = np.random.RandomState(v.seed).uniform(-v.scale, v.scale, v.shape)
        else:
            a = np.asarray(v.listed, dtype=np.float64).reshape(v.shape)
        out[name] = np.asarray(a, dtype=np.float64)
    return out


def fd_entries(g: Graph, name: str, grad: Any) -> list[tuple[int, ...]]:
    """The entries of `name` the check moves: all when there are at most MAX_FD_ENTRIES, else the
    named ones, then the largest |g| (ties in index order) up to that many."""
    grad = np.asarray(grad, dtype=np.float64)
    every = list(np.ndindex(grad.shape))
    if len(every) <= MAX_FD_ENTRIES:
        return every
    picked = list(g.entries.get(name, ()))
    order = np.argsort(-np.abs(grad).ravel(), kind="stable")
    for flat in order:
        if len(picked) >= MAX_FD_ENTRIES:
            break
        idx = tuple(int(i) for i in np.unravel_index(int(flat), grad.shape))
        if idx not in picked:
            picked.append(idx)
    return picked[:MAX_FD_ENTRIES]


def fits(a: np.ndarray) -> bool:
    return (
        a.ndim <= 2
        and (a.shape[0] if a.ndim else 1) <= FULL_ROWS
        and (a.shape[-1] if a.ndim else 1) <= FULL_COLS
    )


def grid(a: np.ndarray) -> str:
    """An array laid out with its row and column numbers (a vector as one row)."""
    rows = a.reshape(1, -1) if a.ndim == 1 else a
    cells = [[f"{v:.6g}" for v in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    lead = len(str(len(cells) - 1)) + 1
    head = " " * lead + " ".join(f"{j:>{width}}" for j in range(rows.shape[1]))
    body = [
        f"{i:>{lead - 1}} " + " ".join(f"{c:>{width}}" for c in row) for i, row in enumerate(cells)
    ]
    return "\n".join([head, *body])


def _where(idx: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, idx))}]"


def array_lines(
    label: str, a: np.ndarray, shape: str, named: tuple[tuple[int, ...], ...]
) -> list[tuple[str, str]]:
    sizes = "×".join(map(str, a.shape))
    lines = [("shape", f"{shape} = {sizes}" if shape != sizes else sizes)]
    if a.size and not fits(a):
        at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(a))), a.shape))
        lines.append(("max |entry|", f"{float(np.max(np.abs(a))):.6g} at {_where(at)}"))
    elif a.size:
        lines.append((GRID, grid(a)))
    lines += [(f"{label}{_where(i)}", f"{float(a[i]):.6g}") for i in named]
    return lines


def values_steps(g: Graph, add: Add) -> list[Check]:
    """The values steps, each passed to `add(node, title, lines, note, check=..., table=...)`;
    returns the checks (one per parameter)."""
    shapes = infer_shapes(g)
    leaves = leaf_arrays(g)
    with np.errstate(all="ignore"):
        values, totals, _ = rule_gradients(g, leaves, shapes)
    for name in g.leaves:
        a = leaves[name]
        what = "input" if name in g.inputs else "parameter"
        add(
            name,
            f"Values: the {what} {name} ({g.values[name].describe()})  [{show(shapes[name])}]",
            _lines(g, name, a, shapes),
            table=a,
        )
    for node in g.nodes:
        a = np.asarray(values[node.name], dtype=np.float64)
        lines: list[tuple[str, str]] = [(node.name, node.text)]
        if node.name == g.loss:
            lines.append((f"{node.name} at the lesson's arrays", f"{float(a):.12g}"))
        else:
            lines += _lines(g, node.name, a, shapes)
        add(
            node.name,
            f"Forward at the lesson's arrays: {node.name}  [{show(shapes[node.name])}]",
            lines,
            ""
            if np.all(np.isfinite(a))
            else "Not finite at these arrays: a division by zero, or a log or square "
            "root of a negative number.",
            table=a,
        )
    loss = float(np.asarray(values[g.loss]))
    for p in g.params:
        a = np.asarray(totals[p], dtype=np.float64)
        add(
            p,
            f"Gradient at the lesson's arrays: {grad_name(p)}  [{show(shapes[p])}]",
            _lines(g, p, a, shapes, grad_name(p)),
            "By the matrix-form rules (the Matrix form steps), at the arrays above; "
            f"it has the shape of {p}.",
            table=a,
        )
    if not math.isfinite(loss):
        add(
            g.loss,
            "The check at the lesson's arrays cannot run",
            [(g.loss, f"{loss}")],
            "The loss is not finite at these arrays, so no gradient can be checked.",
        )
        return [
            Check(
                p,
                totals[p],
                totals[p],
                np.array([]),
                math.inf,
                False,
                f"the loss is {loss} at the lesson's arrays ([graph.values])",
                "wrong",
            )
            for p in g.params
        ]
    picked = {p: fd_entries(g, p, totals[p]) for p in g.params}
    checks = checker.check(g, leaves, {p: totals[p] for p in g.params}, totals, entries=picked)
    for chk in checks:
        n = int(np.size(totals[chk.param]))
        k = len(picked[chk.param])
        sample = (
            ("its one entry" if n == 1 else f"all {n} entries")
            if k == n
            else (
                f"{k} of its {n:,} entries (MAX_FD_ENTRIES = {MAX_FD_ENTRIES}: "
                "the named ones, then the largest |g|)"
            )
        )
        lines = [
            (
                "matrix rules vs torch autograd",
                f"relative error {chk.autograd_error:.1e} (whole gradient)",
            ),
            ("finite differences", f"central, h = {checker.FD_STEP:g}, at {sample}"),
            ("relative error", f"{chk.rel_error:.1e}: {chk.grade}"),
            (
                "CS231n's bands",
                f"below {checker.GOOD:g} good; up to {checker.KINK_OK:g} only near a kink "
                f"(relu, max, abs); up to {checker.WRONG:g} uncomfortable; above, wrong",
            ),
        ]
        mine = np.asarray(chk.symbolic)
        for idx in g.entries.get(chk.param, ()):
            if idx in picked[chk.param]:
                num = float(chk.numeric[picked[chk.param].index(idx)])
                lines.append(
                    (
                        f"{grad_name(chk.param)}{_where(idx)}",
                        f"rules {float(mine[idx]):.10g}, "
                        f"autograd {float(np.asarray(chk.autograd)[idx]):.10g}, "
                        f"finite differences {num:.10g}",
                    )
                )
        add(
            chk.param,
            f"Check at the lesson's arrays: {grad_name(chk.param)}: {checker.verdict(chk)}",
            lines,
            check=chk,
        )
    return checks


def _lines(
    g: Graph, name: str, a: np.ndarray, shapes: dict[str, Shape], label: str = ""
) -> list[tuple[str, str]]:
    if not a.ndim:
        return [(label or name, f"{float(a):.10g}")]
    return array_lines(label or name, a, show(shapes[name]), g.entries.get(name, ()))
