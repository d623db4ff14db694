"""The update of a training step: the optimizers written by hand with torch.optim's formulas (the
numpy, torch-manual, autograd and nn backends), learning-rate schedules, weight decay (an L2 or L1
penalty added to the loss; AdamW's decoupled decay) and gradient clipping by the global norm; and
the same settings as torch.optim and its lr_scheduler build them (the optim backend), which the
tests hold the hand-written ones to, step for step.

Order within a step, every backend: loss (+ penalty) → gradients → clip → optimizer (at this step's lr).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.train.spec import RunSpec

# The array library the hand-written update works in (tutor.train.manual's numpy or torch
# wrapper), and its arrays: Any here, as the update is the same code for both.
XP = Any
Array = Any

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s: max_norm / (‖g‖ + 1e-6)
BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
RMS_ALPHA, RMS_EPS = 0.99, 1e-8  # torch.optim.RMSprop's defaults


# --- learning-rate schedules: lr · factor(k) at the step that k steps precede --------------------------


@dataclass(frozen=True)
class Schedule:
    name: str
    factor: Callable[
        [Any, int], float
    ]  # (spec, k) → this step's factor (k from 0, after any warm-up)
    torch: Callable[
        [Any, Any, Any], Any
    ]  # (lr_scheduler module, optimizer, spec) → torch's scheduler
    text: Callable[[Any], str]  # spec → the factor as a Python expression of k (exported scripts)


def _linear(spec: RunSpec, k: int) -> float:
    return 1 + (spec.lr_end - 1) * min(k, spec.decay_steps) / spec.decay_steps


def _cosine(
    spec: RunSpec, k: int
) -> float:  # as torch's CosineAnnealingLR: past decay_steps the lr rises again
    return spec.lr_end + (1 - spec.lr_end) * (1 + math.cos(math.pi * k / spec.decay_steps)) / 2


SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in (
        Schedule(
            "constant",
            lambda spec, k: 1.0,
            lambda sch, opt, spec: sch.LambdaLR(opt, lambda k: 1.0),
            lambda spec: "1.0",
        ),
        Schedule(
            "step",
            lambda spec, k: spec.gamma ** (k // spec.step_size),
            lambda sch, opt, spec: sch.StepLR(opt, step_size=spec.step_size, gamma=spec.gamma),
            lambda spec: f"{spec.gamma!r} ** (k // {spec.step_size})",
        ),
        Schedule(
            "linear",
            _linear,
            lambda sch, opt, spec: sch.LinearLR(
                opt, start_factor=1.0, end_factor=spec.lr_end, total_iters=spec.decay_steps
            ),
            lambda spec: (
                f"1 + ({spec.lr_end!r} - 1) * min(k, {spec.decay_steps}) / {spec.decay_steps}"
            ),
        ),
        Schedule(
            "cosine",
            _cosine,
            lambda sch, opt, spec: sch.CosineAnnealingLR(
                opt, T_max=spec.decay_steps, eta_min=spec.lr * spec.lr_end
            ),
            lambda spec: (
                f"{spec.lr_end!r} + (1 - {spec.lr_end!r}) * (1 + math.cos(math.pi * k / {spec.decay_steps})) / 2"
            ),
        ),
    )
}


def lr_factor(spec: RunSpec, k: int) -> float:
    """The factor of the run's lr at the step that `k` steps precede: a warm-up of `warmup` steps
    rising as (k + 1) / warmup, then the schedule counted from its end."""
    if k < spec.warmup:
        return (k + 1) / spec.warmup
    return SCHEDULES[spec.schedule].factor(spec, k - spec.warmup)


def factor_lines(spec: RunSpec) -> list[str]:
    """`lr_factor` as the body of the exported script's `def lr_factor(k):`."""
    warm = (
        [f"if k < {spec.warmup}:", f"    return (k + 1) / {spec.warmup}", f"k -= {spec.warmup}"]
        if spec.warmup
        else []
    )
    return warm + [f"return {SCHEDULES[spec.schedule].text(spec)}"]


def torch_scheduler(optimizer: Any, spec: RunSpec) -> Any:  # torch.optim's, or None
    """torch's own scheduler for the run, stepped once after each optimizer.step(); None for a
    constant lr (nothing to step)."""
    from torch.optim import lr_scheduler as sch

    if spec.schedule == "constant" and not spec.warmup:
        return None
    if not spec.warmup:
        return SCHEDULES[spec.schedule].torch(sch, optimizer, spec)
    warm = sch.LinearLR(
        optimizer, start_factor=1 / spec.warmup, end_factor=1.0, total_iters=spec.warmup - 1
    )
    return sch.SequentialLR(
        optimizer,
        [warm, SCHEDULES[spec.schedule].torch(sch, optimizer, spec)],
        milestones=[spec.warmup],
    )


def torch_optimizer(params: Any, spec: RunSpec) -> Any:
    """torch.optim's optimizer for the run (the optim backend)."""
    import torch

    kind = spec.optimizer
    if kind == "adam":
        return torch.optim.Adam(params, lr=spec.lr)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=spec.lr)
    return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum if kind == "sgd" else 0)


# --- the hand-written update ----------------------------------------------------------------------------


class HandOptimizer:
    """Gradient descent, SGD with momentum, RMSprop, Adam and AdamW, written as a learner would
    (torch's formulas), at the lr of each step's schedule (`factor`; None: a constant lr)."""

    def __init__(
        self,
        xp: XP,
        kind: str,
        lr: float,
        momentum: float = 0.0,
        betas: tuple[float, float] = BETAS,
        eps: float = ADAM_EPS,
        weight_decay: float = 0.0,
        factor: Callable[[int], float] | None = None,
    ) -> None:
        self.xp, self.kind, self.lr, self.momentum = xp, kind, lr, momentum
        self.betas, self.eps, self.weight_decay, self.factor = betas, eps, weight_decay, factor
        self.state: dict[str, list[Array]] = {}
        self.t = 0
        self.lr_now = lr

    @classmethod
    def for_run(cls, xp: XP, spec: RunSpec) -> HandOptimizer:
        scheduled = spec.schedule != "constant" or spec.warmup
        return cls(
            xp,
            spec.optimizer,
            spec.lr,
            spec.momentum,
            weight_decay=spec.weight_decay,
            factor=(lambda k: lr_factor(spec, k)) if scheduled else None,
        )

    def begin(self) -> None:
        self.t += 1
        self.lr_now = self.lr if self.factor is None else self.lr * self.factor(self.t - 1)

    def update(self, name: str, p: Array, g: Array) -> None:
        """Change `p` in place."""
        lr = self.lr_now
        if self.kind == "gd" or (self.kind == "sgd" and self.momentum == 0):
            p -= lr * g
            return
        if self.kind == "sgd":
            buf = self.state.get(name)
            if buf is None:
                buf = [self.xp.copy(g)]
                self.state[name] = buf
            else:
                buf[0] = self.momentum * buf[0] + g
            p -= lr * buf[0]
            return
        if self.kind == "rmsprop":
            v = self.state.setdefault(name, [self.xp.zeros_like(p)])[0]
            v *= RMS_ALPHA
            v += (1 - RMS_ALPHA) * g * g
            p -= lr * g / (self.xp.sqrt(v) + RMS_EPS)
            return
        if (
            self.kind == "adamw"
        ):  # decoupled weight decay: the weights shrink, the gradient is untouched
            p *= 1 - lr * self.weight_decay
        b1, b2 = self.betas
        m, v = self.state.setdefault(name, [self.xp.zeros_like(p), self.xp.zeros_like(p)])
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1**self.t)
        v_hat = v / (1 - b2**self.t)
        p -= lr * m_hat / (self.xp.sqrt(v_hat) + self.eps)


def penalty(xp: XP, spec: RunSpec, params: dict[str, Array]) -> tuple[Any, dict[str, Array]]:
    """The weight-decay penalty on every parameter, l2·Σp² + l1·Σ|p|, and its gradient per
    parameter (2·l2·p + l1·sign p); (0, {}) when the run has none."""
    if not (spec.l2 or spec.l1):
        return 0.0, {}
    total: Any = 0.0
    grads: dict[str, Array] = {}
    for name, p in params.items():
        g = 0.0
        if spec.l2:
            total = total + spec.l2 * (p * p).sum()
            g = g + 2 * spec.l2 * p
        if spec.l1:
            total = total + spec.l1 * abs(p).sum()
            g = g + spec.l1 * xp.sign(p)
        grads[name] = g
    return total, grads


def torch_penalty(spec: RunSpec, params: Any) -> Any:
    """The same penalty on tensors that record it (the autograd and nn backends: backward() adds its
    gradient); None when the run has none (so that the loss's graph gains nothing)."""
    if not (spec.l2 or spec.l1):
        return None
    total = 0.0
    for p in params:
        if spec.l2:
            total = total + spec.l2 * (p * p).sum()
        if spec.l1:
            total = total + spec.l1 * p.abs().sum()
    return total


def clip_coef(xp: XP, grads: Iterable[Array], max_norm: float) -> float:
    """torch's clip_grad_norm_ factor for the gradients: min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ over all of them."""
    norm = math.sqrt(sum(xp.scalar((g * g).sum()) for g in grads))
    return min(1.0, max_norm / (norm + CLIP_EPS))
