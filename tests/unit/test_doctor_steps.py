"""The doctor's verdict does not depend on how often a run logs (issue 28, item 8): a run's length
is counted in steps, and a stall, where the trainer feeds every step's loss (Doctor.loss_at), in
steps too."""

from __future__ import annotations

import math

from tutor.train.doctor import FLAT_STEPS, Doctor, Observation


def losses(n: int) -> list[float]:
    """A loss that falls for 40 steps, then sits at log 2: a linear model on xor."""
    return [math.log(2) + 0.12 * max(0, 40 - k) / 40 for k in range(1, n + 1)]


def run(every: int, feed: bool, n: int = 1000) -> dict | None:
    doctor = Doctor(0.1, linear_model=True, chance=0.512)
    for k, loss in enumerate(losses(n), 1):
        if feed:
            doctor.loss_at(k, loss)
        if k % every == 0 or k == 1 or k == n:
            doctor.observe(Observation(k, loss, {"W1": 1e-9}))
    return doctor.diagnose(accuracy=0.512, val_accuracy=0.544)


def test_the_verdict_is_the_same_at_every_log_frequency():
    verdicts = [run(every, feed) for every in (1, 10, 1000) for feed in (False, True)]
    assert {v["kind"] for v in verdicts} == {"linear-model"}
    assert all(
        "accuracy 0.544, about what guessing gives (0.512)" in v["evidence"] for v in verdicts
    )


def test_a_stall_is_measured_in_steps_when_every_loss_is_fed():
    fed = run(1000, feed=True)
    assert (
        fed["evidence"][0]
        == "the loss stayed at 0.6931 (changed under 1e-03) for the last 961 steps"
    )
    logged = run(10, feed=False)  # from the observations: their steps, not their count
    assert logged["evidence"][0].endswith(" steps") and "logged" not in logged["evidence"][0]
    assert run(1000, feed=False)["evidence"][0].startswith(
        "accuracy"
    )  # two observations: no stall claimed


def test_a_short_run_is_not_called_a_stall():
    doctor = Doctor(0.1)
    for k in range(1, FLAT_STEPS):
        doctor.loss_at(k, 1.0)
        doctor.observe(Observation(k, 1.0, {"w": 0.1}))
    assert doctor.diagnose() is None


def test_about_guessing_means_within_half_the_guess_where_the_guess_is_rare():
    def verdict(chance: float, accuracy: float) -> str | None:
        doctor = Doctor(0.1, chance=chance)
        for k in range(1, FLAT_STEPS + 2):
            doctor.observe(Observation(k, 2.0 - k / 1000, {"W1": 0.5}))
        found = doctor.diagnose(accuracy=accuracy, val_accuracy=accuracy)
        return found["kind"] if found else None

    assert verdict(0.512, 0.544) == "learns-nothing" and verdict(0.512, 0.67) is None  # two classes
    assert verdict(0.102, 0.135) == "learns-nothing"  # digits, stuck: under 1.5 × 0.102
    assert verdict(0.118, 0.214) is None  # 32 characters: 0.214 has learned
    assert verdict(0.118, 0.17) == "learns-nothing"
