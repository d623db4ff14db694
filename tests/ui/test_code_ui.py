"""Issue 16 in the TUI: the code exercise's editor (type a fix, check, see the progress mark) and
the Train part's code view (the run's script, backward lines marked)."""

from __future__ import annotations

from tests.cli.test_code_exercise import CORRECT
from tests.ui.conftest import make_app, open_lesson, settle, text_of, until
from tutor.code.template import reference
from tutor.ui.screens.code import CodeScreen, code_path
from tutor.ui.screens.lesson import LessonScreen

NO_MASK = CORRECT.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1")


async def test_edit_check_and_see_the_progress_mark(tmp_path):
    app = make_app(tmp_path)
    # the learner's file from an earlier session: everything but relu's mask
    path = code_path(app, "two-layer-relu", "backward")
    path.parent.mkdir(parents=True)
    path.write_text(NO_MASK)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        panel = app.screen.query_one("#exercise")
        while panel.current.id != "backward":
            await pilot.press("x")
        assert "a opens the editor" in text_of(app, "#exercise-prompt")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)
        editor = app.screen.query_one("#code-editor")
        assert editor.text == NO_MASK
        await pilot.press("ctrl+r")
        await settle(pilot)
        shown = text_of(app, "#code-result")
        assert "dw1: the ReLU mask is missing" in shown and shown.endswith(
            "f2: a hint · f3: the solution"
        )
        assert "(solved ✓)" not in text_of(app, "#code-title")
        await pilot.press("f2")
        assert (
            text_of(app, "#code-result")
            == "Hint 1: Start at the loss: dz2 = 2 * (z2 - y), then dw2 = h1.T @ dz2."
        )
        await pilot.press("f3")
        assert app.screen.solution_shown == reference(app.screen.lesson, app.screen.exercise)
        assert "    dz1 = dh1 * (z1 > 0)\n" in app.screen.solution_shown
        # type the fix at the end of the line `dz1 = dh1`
        row = NO_MASK.splitlines().index("    dz1 = dh1")
        editor.move_cursor((row, len("    dz1 = dh1")))
        await pilot.press(*" * (z1 > 0)")
        assert editor.text == CORRECT
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "backward: correct" in text_of(app, "#code-result")
        assert text_of(app, "#code-title").startswith("Exercise backward (solved ✓)")
        assert app.progress.solved("two-layer-relu") == ["backward"]
        assert path.read_text() == CORRECT  # the file was saved before the check
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen)
        assert "Exercise backward (solved ✓)" in text_of(app, "#exercise-prompt")


async def test_a_file_changed_in_another_editor_is_loaded(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        lesson = app.screen.lesson
        exercise = next(e for e in lesson.exercises if e.id == "backward")
        await app.push_screen(CodeScreen(lesson, exercise))
        await pilot.pause()
        editor = app.screen.query_one("#code-editor")
        assert "dw1 = ...    # D x H = 2 x 100" in editor.text  # the generated starting file
        path = code_path(app, "two-layer-relu", "backward")
        path.write_text(CORRECT)
        import os

        os.utime(path, (1, 1))  # a different modification time
        await until(
            pilot,
            lambda: editor.text == CORRECT,
            "the changed file loaded (the watcher looks every second)",
        )
        assert text_of(app, "#code-result") == "The file changed on disk: loaded. ctrl+r checks it."


async def test_the_train_part_shows_the_run_as_code(tmp_path):
    from textual.widgets import Select

    from tutor.ui.panes.train import TrainPane

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("t")
        pane = app.screen.query_one(TrainPane)
        await until(
            pilot, lambda: pane.session is not None, "the data and torch loaded (in a worker)"
        )
        await pilot.press("c")
        await pilot.pause()
        view = app.screen.query_one("#run-code")
        assert app.screen.query_one("#train-switch").current == "run-code"
        assert view.display and not app.screen.query_one("#run-view").display
        script = view.script
        assert script.backend == "numpy"
        lines = script.text.splitlines()
        assert [lines[i].split("#")[0].strip() for i in sorted(script.backward)] == [
            "g = 2 * d",
            "dw2 = h1.T @ g",
            "g = g @ w2.T",
            "g = g * mask1",
            "dw1 = xb.T @ g",
        ]
        head, syntax = view.shown_text.renderables
        assert syntax.highlight_lines == {i + 1 for i in script.backward}
        assert "backprop-tutor two-layer-relu --export-code numpy > run.py" in str(head)
        # the view follows the backend chosen
        app.screen.query_one("#backend", Select).value = "autograd"
        await pilot.pause()
        assert view.script.backend == "autograd" and "loss.backward()" in view.script.text
        await pilot.press("c")
        await pilot.pause()
        assert app.screen.query_one("#train-switch").current == "run-view"
        assert not view.display and app.screen.query_one("#run-view").display


async def test_the_tutor_stays_responsive_while_an_endless_loop_is_checked(tmp_path):
    app = make_app(tmp_path)
    path = code_path(app, "two-layer-relu", "backward")
    path.parent.mkdir(parents=True)
    path.write_text("def backward(x, y, w1, w2):\n    while True:\n        pass\n")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        lesson = app.screen.lesson
        await app.push_screen(
            CodeScreen(lesson, next(e for e in lesson.exercises if e.id == "backward"))
        )
        await pilot.pause()
        editor = app.screen.query_one("#code-editor")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert text_of(app, "#code-result") == "Checking in a separate process…"
        editor.move_cursor((0, 0))
        running = [w for w in app.screen.workers if w.group == "code-check" and not w.is_finished]
        await pilot.press(*"# typed while it runs", "enter")  # the screen takes keys meanwhile
        assert running and editor.text.startswith("# typed while it runs\ndef backward")
        await settle(pilot)
        assert text_of(app, "#code-result").startswith("backward: stopped after ")
        assert app.progress.solved("two-layer-relu") == []


async def _open_backward(pilot) -> CodeScreen:
    """From the list: two-layer-relu, Derive, its last step, x to the `backward` exercise, a."""
    app = pilot.app
    await pilot.pause()
    await open_lesson(pilot, "two-layer-relu")
    await pilot.press("d")
    await settle(pilot)
    await pilot.press("end")
    await settle(pilot)
    panel = app.screen.query_one("#exercise")
    while panel.current.id != "backward":
        await pilot.press("x")
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, CodeScreen), "the code editor open")
    return app.screen


async def test_typed_code_is_written_once_typing_pauses(tmp_path):
    """Issue 27, item 1: no Escape, no ctrl+r: the file follows what is typed (debounced)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_backward(pilot)
        path = screen.path
        await pilot.press(*"# mine", "enter")
        assert app.typed[path].startswith("# mine\n")  # due on disk, not yet written
        await until(
            pilot,
            lambda: path.read_text(encoding="utf-8").startswith("# mine\n"),
            "the file written",
        )
        assert path not in app.typed
        assert path.read_text(encoding="utf-8") == screen.query_one("#code-editor").text


async def test_quitting_before_the_autosave_writes_what_was_typed(tmp_path, monkeypatch):
    """ctrl+q right after typing (the debounced save far off): the way out writes the file."""
    import tutor.ui.screens.code as code_module

    monkeypatch.setattr(code_module, "SAVE_AFTER", 3600.0)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_backward(pilot)
        path, before = screen.path, screen.path.read_text(encoding="utf-8")
        await pilot.press(*"# kept", "enter")
        assert path.read_text(encoding="utf-8") == before  # nothing written yet
        await pilot.press("ctrl+q")
    assert path.read_text(encoding="utf-8") == "# kept\n" + before
    assert app.typed == {}


async def test_the_code_view_at_80x24_starts_under_the_controls_without_blank_rows(tmp_path):
    """c swaps the plot for the script (a ContentSwitcher): its first line follows the command
    line at once, with no rows left over from the view it replaced."""
    from tests.ui.test_learner import screen_text
    from tutor.ui.panes.train import TrainPane

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_lesson(pilot, "two-layer-relu")
        await pilot.press("t")
        pane = app.screen.query_one(TrainPane)
        await until(pilot, lambda: pane.session is not None, "the data loaded (in a worker)")
        await pilot.press("c")
        await until(pilot, lambda: pane.query_one("#run-code").script is not None, "the script")
        await pilot.pause()
        rows = [row.rstrip() for row in screen_text(app).splitlines()]
        head = next(
            i
            for i, row in enumerate(rows)
            if row.lstrip("│▎ ").startswith("The numpy run as code;")
        )
        # the controls' second row, one margin row, then the head: no rows of the swapped-out view
        assert "seed 0" in rows[head - 2] and not rows[head - 1].strip(), rows[: head + 1]
        after = rows[head : head + 6]
        first = next(
            i for i, row in enumerate(after) if '1 """A numpy training run of backprop-tutor' in row
        )
        assert first == 3, after  # the head's three wrapped rows, then the script's line 1
