"""Pilot helpers, defined once for every pilot test: the app on a fresh progress file, the text a
widget shows, and the one way a pilot test waits: for a state, never for a time."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import lesson_path

STATE_WAIT = 120.0  # seconds: a generous deadline for a state, on a loaded 2-core machine
POLL = 0.05  # how often a pilot test looks again (a poll, not a wait for a time)


async def until(pilot, condition, what: str, timeout: float = STATE_WAIT) -> None:
    """The one way pilot tests wait: for a state (`condition()` true), never for a time; fail
    naming `what` after `timeout` seconds (a bound for a hang, not a figure)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(POLL)


def make_app(tmp_path, lesson: str | Path | None = None, **kw):
    """The tutor on a fresh progress file in `tmp_path`; `lesson` (an id or a path) is the lesson
    it starts on, as `backprop-tutor LESSON` would."""
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp

    if lesson is not None:
        kw["start"] = lesson if isinstance(lesson, Path) else lesson_path(lesson)
    return TutorApp(progress=Progress(tmp_path / "progress.json"), **kw)


def text_of(where, selector: str) -> str:
    """What the widget `selector` shows now, as text; `where` is the app (its top screen) or a screen."""
    return str(where.screen.query_one(selector).render())


def status_text(app) -> str:
    """The Train part's status line."""
    return text_of(app, "#status")


async def settle(pilot) -> None:
    """Every worker started so far has finished and its messages are handled (a state: no time)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_lesson(pilot, lesson_id: str) -> None:
    """From the lesson list, with the keyboard: down to the lesson, enter."""
    from tutor.ui.screens.lesson import LessonScreen

    app = pilot.app
    ids = [item.id for item in app.listing]
    for _ in range(ids.index(lesson_id)):
        await pilot.press("down")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, LessonScreen), f"lesson {lesson_id} open")
    assert app.screen.lesson.id == lesson_id


async def open_train(pilot):
    """From the lesson on screen to its Train part, with its data loaded → the TrainPane."""
    from tutor.ui.panes.train import TrainPane
    from tutor.ui.screens.lesson import LessonScreen

    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, LessonScreen), "a lesson on screen")
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)
    return app.screen.query_one(TrainPane)


def drawn(pane) -> bool:
    """The Train pane is at rest: no run in flight and the newest snapshot drawn."""
    return (
        not pane.running
        and pane.shown is pane.latest
        and not any(w.group == "train" and not w.is_finished for w in pane.workers)
    )


async def run_drawn(pilot, pane) -> None:
    """Wait until the run has stopped (ended, paused or failed) and its last snapshot is drawn."""
    await settle(pilot)
    await until(pilot, lambda: drawn(pane), "the run stopped and its last snapshot drawn")
