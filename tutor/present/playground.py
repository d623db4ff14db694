"""The playground in words, for the screen and the headless run: a frame's status line, the
test confusion counts, and the legend under the plane."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tutor.fmt import number
from tutor.present.run import diverged_text


class Stats(Protocol):
    """A playground frame's figures (tutor.playground.model.Stats)."""

    @property
    def step(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def loss(self) -> float: ...
    @property
    def test_loss(self) -> float: ...
    @property
    def accuracy(self) -> float | None: ...
    @property
    def val_accuracy(self) -> float | None: ...
    @property
    def confusion(self) -> Sequence[Sequence[int]] | None: ...
    @property
    def diverged(self) -> bool: ...


class Plane(Protocol):
    """The points' extent and kind (tutor.train.plane's points)."""

    @property
    def x_range(self) -> tuple[float, float]: ...
    @property
    def y_range(self) -> tuple[float, float]: ...
    @property
    def classify(self) -> bool: ...


def status_text(stats: Stats, steps_per_second: float = 0.0) -> tuple[str, bool]:
    """The status of a run: step, epoch and losses (and accuracy with the test confusion for a
    classifier), or why it stopped. Returns (text, is it an error)."""
    if stats.diverged:
        return f"{diverged_text(stats, 'then press r')}", True
    text = (
        f"step {stats.step:,} · epoch {stats.epoch:,} · loss {stats.loss:.4g} train, "
        f"{stats.test_loss:.4g} test"
    )
    if steps_per_second:
        text += f" · {steps_per_second:,.0f} steps/s"
    if stats.accuracy is not None and stats.confusion is not None:  # a classifier's
        (tn, fp), (fn, tp) = stats.confusion
        text += (
            f"\naccuracy {stats.accuracy:.3f} train, {stats.val_accuracy:.3f} test · test confusion: "
            f"0→0 {tn}, 0→1 {fp}, 1→0 {fn}, 1→1 {tp}"
        )
    return text, False


def done_text(stats: Stats, steps: int, seconds: float) -> str:
    """The headless run's last lines."""
    from tutor.fmt import plural

    if stats.diverged:
        return f"  diverged at step {steps}: the loss became {number(stats.loss)}."
    line = f"  done: {plural(steps, 'step')} in {seconds:.2f} s; loss {number(stats.loss)}, test {number(stats.test_loss)}"
    if stats.accuracy is not None and stats.confusion is not None:  # a classifier's
        (tn, fp), (fn, tp) = stats.confusion
        line += (
            f"; accuracy {stats.accuracy:.3f} train, {stats.val_accuracy:.3f} test"
            f"\n  confusion (test): true 0 → {tn} said 0, {fp} said 1; true 1 → {fn} said 0, {tp} said 1"
        )
    return line


def legend_text(look: str, pts: Plane, glyphs: Mapping[tuple[str, bool, bool], str]) -> str:
    """What the plane's marks mean, and its axes' ranges."""
    kind = "ascii" if look == "ascii" else "unicode"
    (x0, x1), (y0, y1) = pts.x_range, pts.y_range
    what = ("class 1", "class 0") if pts.classify else ("target > 0", "target ≤ 0")
    text = (
        f"{glyphs[(kind, False, True)]}{glyphs[(kind, False, False)]} train "
        f"{glyphs[(kind, True, True)]}{glyphs[(kind, True, False)]} "
        f"test: {what[0]}/{what[1]} · x1 → {x0:.3g}..{x1:.3g} · x2 ↑ {y0:.3g}..{y1:.3g}"
    )
    if look == "colour":
        text += "  blue 1, orange 0" if pts.classify else "  blue +, orange −"
    return text
