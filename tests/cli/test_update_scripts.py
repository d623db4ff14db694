"""Issue 26, part 2: the losses and update settings a course uses, in lessons of their own: each
trains the same on every backend at float64 (torch.optim's optimizer and scheduler in `optim`), and
each backend's exported script prints the headless run's losses (1e-6 relative)."""

from __future__ import annotations

import pytest

from tests.cli.layer_lessons import BACKENDS, points_lesson
from tests.cli.test_code_export import agrees, headless_losses, run_scripts
from tutor.code.export import export
from tutor.lesson import load

TANH_NET = [{"type": "linear", "out": 5}, {"type": "tanh"}, {"type": "linear", "out": "outputs"}]
CASES = {
    "adamw-cosine-warmup-clip-l2": {
        "optimizer": "adamw",
        "lr": 0.02,
        "weight_decay": 0.05,
        "schedule": "cosine",
        "decay_steps": 4,
        "lr_end": 0.1,
        "warmup": 2,
        "clip": 0.5,
        "l2": 0.001,
    },
    "rmsprop-step-l1": {
        "optimizer": "rmsprop",
        "lr": 0.01,
        "schedule": "step",
        "step_size": 2,
        "gamma": 0.5,
        "l1": 0.001,
    },
    "sgd-linear-l2-accumulating-clip": {
        "optimizer": "sgd",
        "momentum": 0.9,
        "lr": 0.02,
        "schedule": "linear",
        "decay_steps": 5,
        "lr_end": 0.2,
        "l2": 0.01,
        "zero_grad": False,
        "clip": 1.0,
    },
    "adam-constant": {"optimizer": "adam", "lr": 0.01},
}


def check_every_backend(lesson, steps: int):
    printed = run_scripts(
        {b.replace("-", "_"): export(lesson, b).text for b in BACKENDS}, lesson.path.parent
    )
    runs = {b: headless_losses(lesson, b, lesson.train.epochs) for b in BACKENDS}
    assert len(runs["numpy"]) == steps
    for backend in BACKENDS:
        agrees(printed[backend.replace("-", "_")], runs[backend])
        agrees(runs[backend], runs["optim"])


@pytest.mark.parametrize("case", list(CASES))
def test_each_update_settings_scripts_reproduce_the_headless_losses(case, tmp_path):
    path = tmp_path / f"update-{case}.toml"
    path.write_text(points_lesson(path.stem, TANH_NET, CASES[case]))
    check_every_backend(load(path), 6)


def test_the_multiclass_hinge_loss_trains_the_same_everywhere(tmp_path):
    path = tmp_path / "hinge-digits.toml"
    path.write_text(
        points_lesson(
            path.stem,
            [{"type": "linear", "out": "outputs"}],
            {"loss": "hinge", "epochs": 1, "batch_size": 400, "optimizer": "gd", "lr": 0.01},
            dataset={"kind": "digits", "seed": 0},
        )
    )
    check_every_backend(load(path), 4)
