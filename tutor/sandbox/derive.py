"""The sandbox's one call into the derivation core: `derivation`, streamed step by step and
cancelled between steps when the typed text has changed (the TUI's worker asks)."""

from __future__ import annotations

from collections.abc import Callable

from tutor import lesson as lesson_format


def derivation(
    lesson: lesson_format.Lesson,
    on_step: Callable[[object, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
):
    """`tutor.derive.derive(lesson)`, calling `on_step(derivation, i)` for each step as soon as
    the core has derived it (the core streams its steps). Where `cancelled()` turns true, the
    core stops at its next step or node with `tutor.derive.Cancelled`."""
    from tutor.derive import derive

    return derive(
        lesson,
        on_step=None if on_step is None else (lambda step, deriv: on_step(deriv, step.index)),
        cancelled=cancelled,
    )
