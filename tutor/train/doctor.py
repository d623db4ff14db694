"""The divergence doctor: when a run diverges, stalls or learns nothing, say why, with the
evidence gathered while it trained, and the likely fix.

Every trainer feeds it the same observations on the steps it logs (the loss, the gradient norm of
each parameter or layer, the fraction of dead ReLUs and of saturated sigmoid/tanh units per layer,
the accuracy where there is one); `diagnose` reads them at the end. A healthy run gets None.

The verdict must not depend on how often a run logs: how long a run has gone is counted in steps
(each observation carries its step), not in observations, and a trainer that can afford it feeds
every step's loss with `loss_at` so a stall is measured step by step however sparse the log is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FLAT_STEPS = 50  # observations (or, fed by loss_at, steps) with no real change in the loss: a stall
FLAT_CHANGE = 1e-3  # "no real change": relative, over those observations
EXPLODE = 10.0  # gradient norm growth (last / first) that counts as exploding
DEAD = 0.5  # fraction of dead / saturated units in a layer worth naming
VANISH = 1e-6  # a gradient norm this small moves nothing
VANISH_RATIO = (
    1e-3  # first layer's ‖∂W‖ / last layer's at the start: the gradient vanished on its way down
)
MIN_SEEN = FLAT_STEPS  # steps a run must have gone before "learns nothing" may be said
MAX_KEPT = 4096  # observations kept (older ones thinned), so memory stays flat


@dataclass
class Observation:
    step: int
    loss: float
    grads: dict[str, float]  # name → ‖g‖
    dead: dict[str, float] = field(default_factory=dict)  # ReLU layer → fraction dead
    saturated: dict[str, float] = field(default_factory=dict)  # sigmoid/tanh layer → fraction
    accuracy: float | None = None
    depth: tuple[tuple[str, float], ...] = ()  # (weight, ‖∂W‖) of each linear layer, input first
    copies: dict[str, int] = field(
        default_factory=dict
    )  # hidden layer → its units, where all are one copy


class Doctor:
    def __init__(
        self, lr: float, linear_model: bool = False, chance: float | None = None, per: str = "layer"
    ):
        self.lr = lr
        self.per = per  # what the gradient norms are of: "layer" or "parameter"
        self.linear_model = linear_model  # no non-linearity between two linear layers
        self.chance = chance  # a classifier's accuracy by guessing the majority
        self.seen: list[Observation] = []
        # every step's loss, where the trainer feeds it (loss_at): the start of the current flat
        # stretch (its first step and loss) and the last step seen, in constant memory
        self._flat_from: tuple[int, float] | None = None
        self._last_step = 0

    def loss_at(self, step: int, loss: float) -> None:
        """One step's training loss. Optional: fed on every step, it measures a stall in steps
        whatever the log frequency; without it the doctor counts logged observations."""
        self.losses_at(step, [loss])

    def losses_at(self, first: int, losses: list[float]) -> None:
        """`loss_at` for steps first, first + 1, ... in one call (the hot path of a run that
        keeps every step's loss: one Python loop with local names, no call per step)."""
        start = self._flat_from
        s_step, s_loss = start if start is not None else (0, 0.0)
        bound = FLAT_CHANGE * max(abs(s_loss), 1e-12) if start is not None else -1.0
        last = self._last_step
        isfinite = math.isfinite
        for i, loss in enumerate(losses, first):
            if not isfinite(loss):
                continue
            if abs(loss - s_loss) >= bound:  # bound −1: no stretch yet, this loss starts one
                s_step, s_loss = i, loss
                bound = FLAT_CHANGE * max(abs(loss), 1e-12)
                start = (s_step, s_loss)
            last = i
        self._flat_from, self._last_step = start, last

    def chance_margin(self) -> float:
        """The accuracy up to which a classifier is "about what guessing gives": within 0.15 of the
        majority guess, and, where there are many classes and the majority is rare, at most 1.5
        times it (a model of 32 characters at 0.21 against a guess of 0.12 has learned)."""
        assert self.chance is not None
        return min(self.chance + 0.15, 1.5 * self.chance)

    def observe(self, obs: Observation) -> None:
        self.seen.append(obs)
        if len(self.seen) > MAX_KEPT:
            self.seen = self.seen[:1] + self.seen[2::2]  # keep the first, thin the rest

    def diagnose(
        self,
        diverged: bool = False,
        accuracy: float | None = None,
        val_accuracy: float | None = None,
    ) -> dict[str, Any] | None:
        seen = [o for o in self.seen if o.grads]
        finite = [
            o
            for o in seen
            if math.isfinite(o.loss) and all(math.isfinite(g) for g in o.grads.values())
        ]
        if diverged or self._rising(finite):
            return self._diverged(seen, finite)
        if not finite:
            return None
        last = finite[-1]
        # flat for long, having barely improved on the start: stalled (a run that got there is done)
        flat = self._flat(finite) if last.loss > 0.5 * finite[0].loss else 0
        accuracy = val_accuracy if val_accuracy is not None else accuracy
        at_chance = (
            accuracy is not None
            and self.chance is not None
            and accuracy <= self.chance_margin()
            and last.step - finite[0].step + 1 >= MIN_SEEN
        )
        if not (flat or at_chance):
            return None
        evidence = []
        if flat:
            evidence.append(
                f"the loss stayed at {last.loss:.4g} (changed under {FLAT_CHANGE:.0e}) for the last "
                f"{flat} steps"
            )
        if at_chance:
            evidence.append(
                f"accuracy {accuracy:.3f}, about what guessing gives ({self.chance:.3f})"
            )
        for kind, fractions, title, what, fix in (
            (
                "dead-relu",
                last.dead,
                "the run stalled: dying ReLUs",
                "of its units output 0 for every sample, so no gradient reaches them",
                "lower the learning rate, start from another seed, or use tanh (or a leaky ReLU)",
            ),
            (
                "saturated",
                last.saturated,
                "the run stalled: saturated units",
                "of its units sit in the flat tails of their curve, where the slope is about 0",
                "lower the learning rate or scale the inputs down, so pre-activations stay near 0",
            ),
        ):
            stuck = {k: v for k, v in fractions.items() if v >= DEAD}
            if stuck:
                return _verdict(
                    kind, title, evidence + [f"{k}: {v:.0%} {what}" for k, v in stuck.items()], fix
                )
        if last.copies:
            return _verdict(
                "symmetric",
                "the run stalled: every hidden unit is a copy of the others",
                evidence
                + [
                    f"{k}: its {n} units have identical weights, so they compute the same thing and get the same "
                    "gradient: they can never differ"
                    for k, n in last.copies.items()
                ],
                'start from random weights (init = "xavier", "he" or "torch"), never all equal',
            )
        vanished = self._vanished(finite)
        if vanished:
            return _verdict(
                "vanishing-gradients",
                "the run stalled: vanishing gradients",
                evidence + [vanished],
                "use relu with He initialisation (or tanh with Xavier) rather than sigmoid in the hidden "
                "layers, skip connections around the blocks (residual layers), or fewer layers",
            )
        biggest = max(last.grads.values(), default=0.0)
        if self.linear_model and (at_chance or flat):
            return _verdict(
                "linear-model",
                "the model learns nothing it could not: it is linear",
                evidence
                + [
                    "no non-linearity sits between its linear layers, so the whole model is one linear map, and "
                    "its boundary is a straight line"
                ],
                "add a hidden layer with a non-linear activation (relu, tanh), or non-linear input features",
            )
        if biggest < VANISH:
            return _verdict(
                "vanishing-gradients",
                "the run stalled: vanishing gradients",
                evidence + [f"the largest gradient norm is {biggest:.2g}: " + _norms(last.grads)],
                "use relu or tanh rather than sigmoid in hidden layers, fewer layers, or a larger learning rate",
            )
        step = self.lr * biggest
        if flat and step < 1e-4:
            return _verdict(
                "lr-too-small",
                "the run stalled: the learning rate is too small",
                evidence
                + [
                    f"lr × largest gradient = {self.lr:g} × {biggest:.3g} = {step:.2g}: the weights barely move"
                ],
                f"raise the learning rate (try {self.lr * 10:g})",
            )
        if at_chance:
            return _verdict(
                "learns-nothing",
                "the model does little better than guessing",
                evidence + [_norms(last.grads)],
                "add capacity (a hidden layer, more units) or useful input features",
            )
        return _verdict(
            "plateau",
            "the loss has plateaued",
            evidence + [f"lr × largest gradient = {self.lr:g} × {biggest:.3g} = {step:.2g}"],
            "train longer, add capacity, or try another learning rate",
        )

    def _vanished(self, finite: list[Observation]) -> str:
        """At the first step of a deep model, the first layer's gradient a tiny fraction of the last's."""
        depth = finite[0].depth
        if len(depth) < 3 or not depth[-1][1] or depth[0][1] / depth[-1][1] >= VANISH_RATIO:
            return ""
        (first, g0), (last, g1) = depth[0], depth[-1]
        return (
            f"at step {finite[0].step} the gradient reaching the first layer was {g0:.2g} (‖∂{first}‖), "
            f"{g0 / g1:.2g} times the last layer's {g1:.3g} (‖∂{last}‖): the layers near the input barely learn"
        )

    def _rising(self, finite: list[Observation]) -> bool:
        """A loss that grew to many times its best while the gradients grew too: diverging."""
        if len(finite) < 5:
            return False
        best = min(o.loss for o in finite)
        last = finite[-1]
        g0, g1 = max(finite[0].grads.values()), max(last.grads.values())
        return last.loss > 100 * max(best, 1e-12) and g1 > EXPLODE * max(g0, 1e-12)

    def _flat(self, finite: list[Observation]) -> int:
        """How many steps the loss has stayed flat at the end (0: not a stall): from every step's loss
        where loss_at fed it, else from the observations (then counted as steps between them)."""
        if self._flat_from is not None:
            step, loss = self._flat_from
            n = self._last_step - step + 1
            return n if n >= FLAT_STEPS and loss >= 1e-6 else 0
        if len(finite) < FLAT_STEPS:
            return 0
        tail = [o.loss for o in finite[-FLAT_STEPS:]]
        scale = max(abs(tail[0]), 1e-12)
        if tail[0] < 1e-6 or (max(tail) - min(tail)) / scale >= FLAT_CHANGE:
            return 0  # a loss near 0 is done, not stalled
        first = finite[-FLAT_STEPS]
        for o in reversed(finite[:-FLAT_STEPS]):
            if abs(o.loss - tail[0]) / scale >= FLAT_CHANGE:
                break
            first = o
        return max(FLAT_STEPS, finite[-1].step - first.step + 1)

    def _diverged(self, seen: list[Observation], finite: list[Observation]) -> dict[str, Any]:
        evidence = []
        first = finite[0] if finite else None
        last = finite[-1] if finite else None
        bad = next((o for o in seen if o not in finite), None)
        if bad is not None:
            evidence.append(f"at step {bad.step} the loss was {bad.loss:.4g}")
        if first is not None and last is not None and last is not first:
            growth = []
            for name, g0 in first.grads.items():
                g1 = last.grads.get(name)
                if g1 is not None:
                    growth.append(
                        f"{name} {g0:.3g} → {g1:.3g}" + (f" (×{g1 / g0:.3g})" if g0 > 0 else "")
                    )
            evidence.append(
                f"gradient norms by {self.per}, step {first.step} → {last.step}: "
                + ", ".join(growth)
            )
        worst = bad if bad is not None else last
        if worst is not None:
            biggest = max(worst.grads.values(), default=float("nan"))
            if last is not None and not math.isfinite(biggest):
                biggest = max(last.grads.values())
            evidence.append(
                f"lr × largest gradient = {self.lr:g} × {biggest:.3g} = {self.lr * biggest:.3g}, "
                "a step far larger than the weights themselves"
            )
        return _verdict(
            "exploding-gradients",
            "the run diverged: exploding gradients",
            evidence,
            f"lower the learning rate about tenfold (try lr {self.lr / 10:g}); "
            "L2 regularisation or fewer layers also tame it",
        )


def _norms(grads: dict[str, float]) -> str:
    return "gradient norms " + ", ".join(f"{k} {v:.3g}" for k, v in grads.items())


def _verdict(kind: str, summary: str, evidence: list[str], fix: str) -> dict[str, Any]:
    return {"kind": kind, "summary": summary, "evidence": evidence, "fix": fix}


def text(diagnosis: dict[str, Any] | None) -> str:
    """The verdict as lines for a log or a screen."""
    if not diagnosis:
        return ""
    lines = [diagnosis["summary"] + "."]
    lines += [f"  - {e}" for e in diagnosis["evidence"]]
    lines.append(f"  fix: {diagnosis['fix']}.")
    return "\n".join(lines)


def one_line(diagnosis: dict[str, Any]) -> str:
    """The verdict in one line, for a status line: what, the first evidence, the fix."""
    first = f": {diagnosis['evidence'][0]}" if diagnosis["evidence"] else ""
    return f"Doctor: {diagnosis['summary']}{first}. Fix: {diagnosis['fix']}."
