"""How the gradient check depends on its step h: the relative error of finite differences against
the derived gradient for h from 1e-1 to 1e-12, central and forward differences, float64 and
float32. Truncation error falls with h, round-off grows as h shrinks: the error draws a V, and
its bottom lies where the two meet. Every difference is taken by the one checker,
`tutor.derive.check.finite_difference`; nothing here imports Textual, sympy or torch.

A lesson asks for it with `[graph] sweep = ["w", ...]` (lessons/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.derive.check import GOOD, KINK_OK, WRONG, finite_difference, rel_error
from tutor.lesson import Graph

STEPS = tuple(10.0**-k for k in range(1, 13))  # 1e-1 … 1e-12
# (label, central?, dtype): the columns of the sweep, in the order they are shown
KINDS = (
    ("central f64", True, np.float64),
    ("forward f64", False, np.float64),
    ("central f32", True, np.float32),
)
# a relative error is never shown below this: float64 cannot tell two numbers apart more finely
FLOOR = 1e-17


@dataclass(frozen=True)
class Sweep:
    """One parameter's relative errors, per kind of difference, for each h of `steps`."""

    param: str
    reference: float  # the derived gradient the differences are compared with
    steps: tuple[float, ...]
    errors: dict[str, tuple[float, ...]]  # kind label → relative error per step
    kink: tuple[bool, ...]  # per step: a kink's argument changes sign within it

    def best(self, kind: str) -> tuple[float, float]:
        """(h, error) where this kind of difference comes closest to the gradient."""
        errs = self.errors[kind]
        i = min(range(len(errs)), key=lambda k: (errs[k], -k))
        return self.steps[i], errs[i]

    def as_json(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "reference": self.reference,
            "h": list(self.steps),
            "rel_error": {k: list(v) for k, v in self.errors.items()},
            "kink": list(self.kink),
        }


def sweep(graph: Graph, env: dict[str, Any], param: str, reference: float) -> Sweep:
    """The relative error of each kind of finite difference of ∂L/∂param at `env`, for every h."""
    errors: dict[str, tuple[float, ...]] = {}
    kinks = []
    for label, central, dtype in KINDS:
        row = []
        for h in STEPS:
            numeric, kink = finite_difference(graph, env, param, h=h, central=central, dtype=dtype)
            row.append(max(rel_error(reference, numeric), FLOOR))
            if label == KINDS[0][0]:
                kinks.append(kink)
        errors[label] = tuple(row)
    return Sweep(param, float(reference), STEPS, errors, tuple(kinks))


def sweeps(graph: Graph, grads: dict[str, float]) -> list[Sweep]:
    """The sweep of each parameter the graph's `sweep` names, at its point, against the derived
    gradients `grads` (a derivation's)."""
    env = {k: np.float64(v) for k, v in graph.point.items()}
    return [sweep(graph, env, p, grads[p]) for p in graph.sweep]


def band(error: float) -> str:
    """CS231n's reading of a relative error."""
    if error <= GOOD:
        return "good"
    if error <= KINK_OK:
        return "only near a kink"
    if error <= WRONG:
        return "uncomfortable"
    return "wrong"


def lines(sw: Sweep) -> list[tuple[str, str]]:
    """The sweep as labelled lines for a derivation step (and the headless text): a table of h
    against each kind's relative error, then where each kind does best."""
    kinds = list(sw.errors)
    width = 13
    rows = ["h    " + "".join(f"{k:>{width}}" for k in kinds)]
    for i, h in enumerate(sw.steps):
        mark = "   kink within ±h" if sw.kink[i] else ""
        rows.append(f"{h:.0e}" + "".join(f"{sw.errors[k][i]:>{width}.1e}" for k in kinds) + mark)
    out = [(f"relative error of ∂L/∂{sw.param} (derived {sw.reference:.10g})", "\n".join(rows))]
    for k in kinds:
        h, err = sw.best(k)
        out.append((f"{k} is closest at h", f"{h:.0e}: relative error {err:.1e} ({band(err)})"))
    return out
