"""The classroom in the TUI: a served tutor's first screen asks the learner's name (refusing an
empty, long or control-character one with its reason) and then opens that learner's progress;
the teacher's view (from the lesson list's `c`, or `class DIR`) shows the class's tables."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.support import lesson_path
from tests.ui.conftest import make_app, text_of, until
from tutor.lesson import load
from tutor.progress import NAME_MAX, learner_dir, learner_progress


async def test_a_served_tutor_asks_the_name_then_resumes_that_learner(tmp_path):
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.learner import LearnerScreen
    from tutor.ui.screens.lesson import LessonScreen

    ana = learner_progress(tmp_path, "Ana")
    ana.remember("single-neuron", part="derive", step=3)
    ana.visit("single-neuron", "derive")
    app = TutorApp(class_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LearnerScreen), "the name screen")
        assert "Type your name and press Enter." in text_of(app, "#learner-intro")
        assert not app.progress.writable  # nothing read or written before the name
        await pilot.press("enter")
        assert text_of(app, "#learner-error") == "Type your name."
        app.screen.query_one("#learner-name", Input).value = "x" * (NAME_MAX + 1)
        await pilot.press("enter")
        assert text_of(app, "#learner-error") == f"A name has at most {NAME_MAX} characters."
        await pilot.press("escape")
        assert isinstance(app.screen, LearnerScreen)  # no way past it without a name
        app.screen.query_one("#learner-name", Input).value = "  aNA "
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LessonScreen), "Ana's last lesson")
        assert app.progress.path == learner_dir(tmp_path, "Ana") / "progress.json"
        assert app.screen.lesson.id == "single-neuron"
        assert app.screen.query_one("#parts").active == "derive"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.check_action("class_view", ()) is False  # a learner never sees the class
    assert sorted(p.name for p in tmp_path.iterdir()) == [learner_dir(tmp_path, "Ana").name]


async def test_the_teacher_opens_the_class_from_the_lesson_list(tmp_path, monkeypatch):
    from tutor.ui.screens.classroom import ClassScreen
    from tutor.ui.screens.lesson_list import LessonListScreen

    monkeypatch.setenv("BACKPROP_TUTOR_HOME", str(tmp_path / "home"))
    classroom = tmp_path / "home" / "class"
    zoe = learner_progress(classroom, "[b]Zoë[/b]")  # markup in a name is text, never markup
    zoe.visit("two-layer-relu", "derive")
    zoe.record("two-layer-relu", "shape-dw1", "transposed")
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ClassScreen), "the class view")
        table = app.screen.query_one("#class-lessons", DataTable)
        await until(pilot, lambda: table.row_count == 1, "the class read")
        assert [str(c) for c in table.get_row_at(0)] == [
            "[b]Zoë[/b]",
            "two-layer-relu",
            "derive",
            "0/6",
            "1",
        ]
        exercises = app.screen.query_one("#class-exercises", DataTable)
        assert [str(c) for c in exercises.get_row_at(0)] == [
            "two-layer-relu/shape-dw1",
            "0/1",
            "1",
            "transposed 1",
        ]
        assert text_of(app, "#class-intro") == f"1 learner in {classroom} · r reloads"
        learner_progress(classroom, "Al").visit("single-neuron", "explain")
        await pilot.press("r")
        await until(pilot, lambda: table.row_count == 2, "the class read again")
        await pilot.press("escape")
        assert isinstance(app.screen, LessonListScreen)


async def test_class_dir_without_a_terminal_flag_opens_the_teachers_screen_first(tmp_path):
    from tutor.progress import Progress
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.classroom import ClassScreen
    from tutor.ui.screens.lesson_list import LessonListScreen

    learner_progress(tmp_path / "class", "Ana").visit("fan-out", "explain")
    app = TutorApp(teacher=tmp_path / "class", progress=Progress(tmp_path / "progress.json"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ClassScreen), "the class view")
        table = app.screen.query_one("#class-lessons", DataTable)
        await until(pilot, lambda: table.row_count == 1, "the class read")
        total = len(load(lesson_path("fan-out")).exercises)  # the lesson's own count
        assert [str(c) for c in table.get_row_at(0)] == [
            "Ana",
            "fan-out",
            "explain",
            f"0/{total}",
            "0",
        ]
        await pilot.press("escape")
        assert isinstance(app.screen, LessonListScreen)


async def test_a_served_learner_saves_a_sandbox_lesson_only_in_their_own_folder(tmp_path):
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.learner import LearnerScreen
    from tutor.ui.screens.sandbox import SandboxScreen, SaveAs

    app = TutorApp(class_dir=tmp_path / "class")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LearnerScreen), "the name screen")
        app.screen.query_one("#learner-name", Input).value = "Ana"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, LearnerScreen), "the lesson list")
        app.open_sandbox()
        await until(pilot, lambda: isinstance(app.screen, SandboxScreen), "the sandbox")
        sandbox = app.screen
        for typed in ("../evil", str(tmp_path / "evil"), "~/evil"):
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, SaveAs), "the save prompt")
            app.screen.query_one(Input).value = typed
            await pilot.press("enter")
            assert text_of(app, "#save-problem") == (
                "in a class, a lesson is saved in your own folder: type a file name only"
            ), typed
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is sandbox, "the prompt to close")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SaveAs), "the save prompt")
        app.screen.query_one(Input).value = "mine"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is sandbox, "the prompt to close")
    mine = learner_dir(tmp_path / "class", "Ana") / "lessons" / "mine.toml"
    assert sandbox.saved == mine and mine.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class"]
