"""A `code` exercise: the learner's file in a Python TextArea (or in $EDITOR), checked in a separate
process by a worker so the tutor stays responsive. The file lives in the user data directory
beside the progress record and is watched: a change made in another editor appears here.

Nothing typed is lost: the text is written SAVE_AFTER seconds after the last keystroke, and
whatever is still unwritten sits in `app.typed`, which every way out writes (ctrl+q, a signal, a
closed terminal: see TutorApp.save_typed and the exit watchdog)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TextArea

from tutor.log import logged
from tutor.ui.messages import CodeChecked, Failed
from tutor.ui.widgets.footer import TutorFooter

WATCH_SECONDS = 1.0  # how often the file is looked at for changes made elsewhere
SAVE_AFTER = 0.5  # seconds after the last keystroke before the file is written


def code_path(app, lesson_id: str, exercise_id: str) -> Path:
    return app.progress.path.parent / "code" / lesson_id / f"{exercise_id}.py"


class CodeScreen(Screen):
    DEFAULT_CSS = """
    CodeScreen #code-title { height: auto; padding: 0 1; }
    CodeScreen #code-editor { height: 1fr; }
    CodeScreen #code-result-box { height: auto; max-height: 12; border-top: solid $accent; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+r", "check", "Check"),
        Binding("ctrl+o", "external", "$EDITOR"),
        Binding("f2", "hint", "Hint"),
        Binding("f3", "solution", "Solution"),
        Binding("escape", "back", "Back", priority=True),  # the TextArea would take it
    ]

    def __init__(self, lesson, exercise):
        super().__init__()
        self.lesson, self.exercise = lesson, exercise
        self.hints_shown = 0
        self.mtime: float | None = None
        self.solution_shown: str | None = None  # the reference solution, once asked for
        self._autosave = None  # the debounce timer, while a save is due
        self.saved: str | None = None  # the text the file holds, as last read or written

    @property
    def path(self) -> Path:
        return code_path(self.app, self.lesson.id, self.exercise.id)

    def compose(self) -> ComposeResult:
        yield Static(id="code-title", markup=False)
        yield TextArea.code_editor("", language="python", id="code-editor")
        with VerticalScroll(id="code-result-box"):
            yield Static(id="code-result", markup=False)
        yield TutorFooter()

    def on_mount(self) -> None:
        from tutor.code.template import template

        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(template(self.lesson, self.exercise), encoding="utf-8")
        self.load()
        self.show_title()
        self.result(
            f"Edit here (or ctrl+o for $EDITOR; the file is {self.path}), then ctrl+r checks it. "
            "f2 gives a hint, f3 the solution.",
            "dim",
        )
        self.set_interval(WATCH_SECONDS, self.watch_file)
        self.query_one("#code-editor", TextArea).focus()

    def load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
            self.mtime = self.path.stat().st_mtime
        except OSError as exc:
            self.result(f"The file could not be read: {exc.strerror}", "red")
            return
        self.saved = text
        self.app.typed.pop(self.path, None)
        self.query_one("#code-editor", TextArea).load_text(text)

    @on(TextArea.Changed, "#code-editor")
    def typed(self, event: TextArea.Changed) -> None:
        """Each edit: the text is due on disk (any way out writes it), and written once typing pauses."""
        text = event.text_area.text
        if text == self.saved:  # a load, or typed back to what the file holds
            self.app.typed.pop(self.path, None)
            return
        self.app.typed[self.path] = text
        if self._autosave is not None:
            self._autosave.stop()
        self._autosave = self.set_timer(SAVE_AFTER, self.save)

    def save(self) -> bool:
        from tutor.ui.typed import write_code

        self._autosave = None
        text = self.query_one("#code-editor", TextArea).text
        try:
            write_code(self.path, text)
            self.mtime = self.path.stat().st_mtime
        except OSError as exc:
            self.result(f"The file could not be saved: {exc.strerror}", "red")
            return False
        self.saved = text
        if self.app.typed.get(self.path) == text:
            self.app.typed.pop(self.path, None)
        return True

    def watch_file(self) -> None:
        """A change made in another editor replaces the text here (as rustlings watches)."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if self.mtime is not None and mtime != self.mtime and self.path not in self.app.typed:
            self.load()
            self.result("The file changed on disk: loaded. ctrl+r checks it.", "dim")

    def show_title(self) -> None:
        solved = self.exercise.id in self.app.progress.solved(self.lesson.id)
        text = (
            f"Exercise {self.exercise.id}{' (solved ✓)' if solved else ''}: {self.exercise.prompt}"
        )
        self.query_one("#code-title", Static).update(self.app.plain(text))

    def result(self, text: str, style: str = "") -> None:
        self.query_one("#code-result", Static).update(Text(self.app.plain(text), style=style))

    def action_check(self) -> None:
        if self.save():
            self.result("Checking in a separate process…", "dim")
            self.check(self.query_one("#code-editor", TextArea).text)

    @work(thread=True, exclusive=True, group="code-check", exit_on_error=False)
    def check(self, source: str) -> None:
        from tutor.code.check import check_source

        try:
            result = check_source(self.lesson, self.exercise, source, str(self.path))
        except Exception as exc:  # noqa: BLE001 - a learner's file never crashes the app
            self.post_message(
                Failed(
                    "code", logged(exc, f"checking code for {self.lesson.id}/{self.exercise.id}")
                )
            )
            return
        self.post_message(CodeChecked(result))

    @on(Failed)
    def check_failed(self, event: Failed) -> None:
        self.result(f"The file could not be checked: {event.message}", "red")

    @on(CodeChecked)
    def checked(self, event: CodeChecked) -> None:
        from tutor.code.check import table

        result = event.result
        self.app.progress.record(
            self.lesson.id, self.exercise.id, result.kind
        )  # for the teacher's view
        if result.ok:
            total = len(self.lesson.exercises)
            self.app.progress.solve(self.lesson.id, self.exercise.id, total)
            self.app.show_progress_notice()
            self.show_title()
        self.result(
            table(result) + ("" if result.ok else "\nf2: a hint · f3: the solution"),
            "green" if result.ok else "red",
        )

    def action_hint(self) -> None:
        hints = self.exercise.hints
        self.hints_shown = min(self.hints_shown + 1, len(hints))
        shown = [f"Hint {i + 1}: {h}" for i, h in enumerate(hints[: self.hints_shown])] or [
            "This exercise has no hints."
        ]
        if self.hints_shown >= len(hints):
            shown.append("No more hints: f3 shows the solution.")
        self.result("\n".join(shown), "yellow")

    def action_solution(self) -> None:
        from tutor.code.template import reference

        self.solution_shown = reference(self.lesson, self.exercise)
        self.query_one("#code-result", Static).update(
            Syntax(self.solution_shown, "python", line_numbers=True)
        )

    def action_external(self) -> None:
        """Edit in $VISUAL or $EDITOR; the tutor comes back when the editor exits."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.result(
                "Set $EDITOR (e.g. export EDITOR=nano) to edit outside the tutor; or edit here.",
                "yellow",
            )
            return
        if not self.save():
            return
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(self.path)], check=False)
        except Exception as exc:  # noqa: BLE001 - a missing editor or a terminal that cannot suspend
            self.result(
                f"{editor} could not be started: {logged(exc, f'starting {editor}')}", "red"
            )
            return
        self.load()
        self.result("Back from the editor: ctrl+r checks the file.", "dim")

    def action_back(self) -> None:
        self.save()
        self.dismiss(None)
