"""Anything slow says so (issue 27, item 3): a part being set up, a derivation being computed and
the Train part's data (and torch) loading each show a loading indicator while they are pending,
and it goes when the content shows. Each slow step is held by a hook (an Event the test sets), so
the test sees the pending state for certain and never waits for a time."""

from __future__ import annotations

import threading

import pytest

from tests.ui.conftest import make_app, settle, text_of, until


@pytest.fixture
def gate():
    """An Event the held step waits on; set at the end whatever happens (no thread left blocked)."""
    event = threading.Event()
    yield event
    event.set()


def shown(app, selector: str) -> bool:
    found = list(app.screen.query(selector))
    return bool(found) and all(w.display for w in found)


async def test_a_part_asked_for_before_it_is_mounted_says_it_is_being_set_up(tmp_path, monkeypatch):
    from tutor.ui.panes.derive import DerivePane
    from tutor.ui.screens.lesson import LessonScreen

    real = LessonScreen.mount_parts
    held: list[LessonScreen] = []
    monkeypatch.setattr(LessonScreen, "mount_parts", lambda self: held.append(self))
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "the lesson")
        await pilot.press("d")
        await until(pilot, lambda: held, "Derive asked for")
        assert app.screen.query_one("#parts").active == "derive"
        assert shown(app, "#derive-mounting LoadingIndicator")
        assert text_of(app, "#derive-mounting .mounting-text") == "Setting up Derive…"
        assert not app.screen.query(DerivePane)
        real(held[-1])                      # the mount the hook held back
        await until(pilot, lambda: app.screen.query("#step-text") and text_of(app, "#step-text").strip(),
                    "step 1 shown")
        assert app.screen.query(DerivePane)
        assert not app.screen.query("#derive-mounting")
        assert text_of(app, "#step-title").startswith("Step 1/")


async def test_a_derivation_being_computed_shows_the_indicator_until_its_first_step(tmp_path, monkeypatch,
                                                                                    gate):
    import tutor.derive
    import tutor.derive.cache

    real = tutor.derive.derive
    asked = threading.Event()

    def slow_derive(lesson, **kw):
        asked.set()
        gate.wait()
        return real(lesson, use_cache=False, **kw)

    monkeypatch.setattr(tutor.derive.cache, "load", lambda lesson: None)     # nothing cached: derived
    monkeypatch.setattr(tutor.derive, "derive", slow_derive)
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await until(pilot, asked.is_set, "the derivation started")
        await pilot.pause()
        assert shown(app, "#derive-loading")
        assert text_of(app, "#step-text").strip() == ""
        gate.set()
        await until(pilot, lambda: text_of(app, "#step-text").strip(), "step 1 shown")
        assert not app.screen.query_one("#derive-loading").display
        assert text_of(app, "#step-title").startswith("Step 1/")


async def test_the_train_part_shows_the_indicator_while_its_data_and_torch_load(tmp_path, monkeypatch, gate):
    import tutor.train.datasets

    real = tutor.train.datasets.load
    asked = threading.Event()

    def slow_load(dataset):
        asked.set()
        gate.wait()
        return real(dataset)

    monkeypatch.setattr(tutor.train.datasets, "load", slow_load)
    app = make_app(tmp_path, "single-neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await until(pilot, asked.is_set, "the data asked for")
        await pilot.pause()
        assert shown(app, "#train-loading")
        pane = app.screen.query_one("#train-pane")
        assert pane.data is None
        gate.set()
        await until(pilot, lambda: pane.data is not None, "the data loaded")
        await pilot.pause()
        assert not app.screen.query_one("#train-loading").display
