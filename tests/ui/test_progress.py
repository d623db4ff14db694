"""The progress file under stress: corrupt, truncated, from a newer tutor, not a record at all,
in a directory that cannot be written, written by two tutors at once, and a save that dies
half-way. In each case the tutor keeps working, says what happened once, and never loses the
learner's bytes (an unreadable file is kept as a backup)."""

from __future__ import annotations

import json
import tempfile

import pytest

from tests.ui.conftest import settle, until
from tests.unit.test_progress import BAD_FILES, backups
from tutor.progress import Progress
from tutor.ui.app import TutorApp
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen


def toast_texts(app) -> list[str]:
    from textual.widgets._toast import Toast

    return [str(t.render()) for t in app.screen.query(Toast)]


async def _notice_shown_and_app_works(app, pilot, fragment: str) -> None:
    await until(
        pilot, lambda: any(fragment in t for t in toast_texts(app)), f"a toast saying {fragment!r}"
    )
    assert isinstance(app.screen, LessonListScreen)
    messages = [n.message for n in app._notifications]
    assert any(fragment in m for m in messages), messages
    assert any(fragment in t for t in toast_texts(app)), toast_texts(app)
    await pilot.press("enter")  # open the highlighted lesson
    await pilot.pause()
    assert isinstance(app.screen, LessonScreen)
    await pilot.press("escape")
    await pilot.pause()
    assert isinstance(app.screen, LessonListScreen)
    await pilot.press("ctrl+q")
    await pilot.pause()


@pytest.mark.parametrize(
    "kind", ["garbage-bytes", "truncated-json", "newer-version", "a-list", "nested-100000-deep"]
)
async def test_app_shows_the_notice_for_an_unreadable_file(tmp_path, kind):
    path = tmp_path / "progress.json"
    path.write_bytes(BAD_FILES[kind])
    progress = Progress(path)
    app = TutorApp(progress=progress)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _notice_shown_and_app_works(app, pilot, "could not be read")
    assert app.return_code == 0
    assert len(backups(tmp_path)) == 1 and backups(tmp_path)[0].read_bytes() == BAD_FILES[kind]
    assert json.loads(path.read_text(encoding="utf-8"))["last_lesson"] is not None


async def test_app_shows_the_notice_when_the_directory_is_a_file(tmp_path):
    blocker = tmp_path / "home"
    blocker.write_bytes(b"x")
    app = TutorApp(progress=Progress(blocker / "progress.json"))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _notice_shown_and_app_works(app, pilot, "starting afresh")
    assert app.return_code == 0
    assert blocker.read_bytes() == b"x"


async def test_app_with_wrongly_typed_entries_resumes_and_lists(tmp_path):
    """Wrongly typed entries are dropped, not fatal: the tutor resumes the last lesson (a valid
    id), and escape leads to the list, from which it opens again."""
    path = tmp_path / "progress.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "last_lesson": "two-layer-relu",
                "lessons": {"two-layer-relu": {"solved": 5, "parts": "derive"}},
            }
        ),
        encoding="utf-8",
    )
    app = TutorApp(progress=Progress(path))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)  # resumed on the last lesson (issue 20)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_a_notice_with_brackets_is_shown_as_text(tmp_path):
    """The notice quotes what the file held; square brackets in it are text, not Textual markup
    (an unmatched closing tag must not take the app down)."""
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"version": "[/]", "lessons": {}}), encoding="utf-8")
    progress = Progress(path)
    assert progress.notice
    app = TutorApp(progress=progress)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await until(
            pilot, lambda: any("could not be read" in t for t in toast_texts(app)), "the toast"
        )
        assert isinstance(app.screen, LessonListScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_app_tells_the_learner_when_saving_fails_mid_session(tmp_path, monkeypatch):
    """Progress could be read at start, then cannot be saved (a read-only or full disk): the
    learner is told, once, and the lesson goes on."""
    path = tmp_path / "progress.json"
    app = TutorApp(progress=Progress(path))
    told = []  # every notice (a toast expires after its timeout; a loaded machine may pass it)
    notify = app.notify
    app.notify = lambda message, *args, **kwargs: (
        told.append(message),
        notify(message, *args, **kwargs),
    )[1]
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert told == []

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        await pilot.press("d")
        await until(pilot, lambda: any("cannot be saved" in m for m in told), "the notice")
        await settle(pilot)
        assert sum("cannot be saved" in m for m in told) == 1, told
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
