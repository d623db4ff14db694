"""Issue 26, part 2: the hand-written update (tutor/train/optimizers.py) against torch.optim, step for
step at float64: momentum, RMSprop, Adam and AdamW; the lr schedules and warm-up against torch's
lr_scheduler; L2 and L1 weight decay; clipping by the global norm. Every backend runs the same
steps: numpy and torch-manual by hand, autograd and nn by hand on autograd's gradients, optim with
torch.optim and its scheduler."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tutor.lesson.records import Layer
from tutor.lesson.vocabulary import BACKENDS, OPTIMIZERS, SCHEDULES
from tutor.train.optimizers import SCHEDULES as SCHEDULE_TABLE
from tutor.train.optimizers import lr_factor, torch_scheduler
from tutor.train.registry import make_backend
from tutor.train.spec import RunSpec, initial_weights, layer_plan

STEPS = 12
RNG = np.random.RandomState(5)
X, Y = RNG.randn(16, 3), RNG.randn(16, 2)


def base(**changes) -> RunSpec:
    spec = RunSpec(
        "numpy",
        (Layer("linear", 5), Layer("tanh", bias=False), Layer("linear", "outputs")),
        "mse",
        "gd",
        0.05,
        0.0,
        1,
        0,
        4,
        "float64",
        "randn",
        None,
        True,
        "cpu",
    )
    return replace(spec, **changes)


def losses_and_weights(spec: RunSpec, backend: str):
    spec = replace(spec, backend=backend)
    weights = initial_weights(spec, 3, 2)
    b = make_backend(spec, layer_plan(spec, 3, 2), weights)
    x, y = b.xp.array(X), b.xp.array(Y)
    losses = [
        b.xp.scalar(b.step(x[(k % 4) * 4 : (k % 4) * 4 + 4], y[(k % 4) * 4 : (k % 4) * 4 + 4]))
        for k in range(STEPS)
    ]
    return losses, b.params()


def agree_on_every_backend(spec: RunSpec):
    want_losses, want_weights = losses_and_weights(spec, "optim")  # torch.optim's own
    for backend in BACKENDS[:-1]:
        losses, weights = losses_and_weights(spec, backend)
        np.testing.assert_allclose(losses, want_losses, rtol=1e-10, err_msg=backend)
        for name, w in want_weights.items():
            np.testing.assert_allclose(
                weights[name], w, rtol=1e-9, atol=1e-12, err_msg=f"{backend} {name}"
            )
    return want_losses


def test_the_vocabulary_names_every_schedule():
    assert tuple(SCHEDULE_TABLE) == SCHEDULES and {"rmsprop", "adamw"} <= set(OPTIMIZERS)


@pytest.mark.parametrize(
    "optimizer,more",
    [
        ("sgd", {"momentum": 0.9}),
        ("rmsprop", {"lr": 0.01}),
        ("adam", {"lr": 0.01}),
        ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
    ],
)
def test_each_optimizer_agrees_with_torch_optim_step_for_step(optimizer, more):
    losses = agree_on_every_backend(base(optimizer=optimizer, **more))
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "schedule",
    [
        {"schedule": "step", "step_size": 3, "gamma": 0.5},
        {"schedule": "linear", "decay_steps": 10, "lr_end": 0.1},
        {"schedule": "cosine", "decay_steps": 8, "lr_end": 0.05},
        {"warmup": 4},
        {"warmup": 3, "schedule": "cosine", "decay_steps": 6, "lr_end": 0.0},
    ],
    ids=["step", "linear", "cosine", "warmup", "warmup-cosine"],
)
def test_each_schedule_is_torchs_lr_scheduler(schedule):
    spec = base(lr=0.3, **schedule)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=spec.lr)
    sch = torch_scheduler(opt, spec)
    for k in range(20):
        assert opt.param_groups[0]["lr"] == pytest.approx(
            spec.lr * lr_factor(spec, k), rel=1e-12, abs=1e-15
        ), k
        opt.step()
        sch.step()
    agree_on_every_backend(replace(spec, optimizer="sgd", momentum=0.5))


def test_micrograds_linear_decay_is_the_linear_schedule():
    spec = base(lr=1.0, schedule="linear", decay_steps=100, lr_end=0.1)
    assert [spec.lr * lr_factor(spec, k) for k in (0, 50, 99)] == pytest.approx(
        [1.0, 0.55, 1.0 - 0.9 * 99 / 100]
    )


@pytest.mark.parametrize(
    "decay", [{"l2": 0.01}, {"l1": 0.02}, {"l2": 0.01, "l1": 0.01}], ids=["l2", "l1", "both"]
)
def test_weight_decay_agrees_on_every_backend(decay):
    plain = losses_and_weights(base(), "numpy")[0]
    losses = agree_on_every_backend(base(optimizer="adam", lr=0.01, **decay))
    weights = initial_weights(base(), 3, 2)
    penalty = sum(
        decay.get("l2", 0) * (w * w).sum() + decay.get("l1", 0) * np.abs(w).sum()
        for w in weights.values()
    )
    assert losses[0] == pytest.approx(
        plain[0] + penalty, rel=1e-12
    )  # the first loss carries the penalty


def test_clipping_by_the_global_norm_agrees_on_every_backend():
    spec = base(lr=0.5, clip=0.05, optimizer="sgd", momentum=0.9)
    agree_on_every_backend(spec)
    b = make_backend(spec, layer_plan(spec, 3, 2), initial_weights(spec, 3, 2))
    b.step(b.xp.array(X[:4]), b.xp.array(Y[:4]), True)
    norm = np.sqrt(sum((g * g).sum() for g in b.grads().values()))
    assert norm == pytest.approx(0.05, rel=1e-4)  # clipped to max_norm (less 1e-6 of slack)
