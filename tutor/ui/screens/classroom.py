"""The teacher's view of a class directory (tutor/serve/table.py): learners × lessons, then per
exercise how many solved it and the slips named most often. `r` reads the folder again."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tutor.fmt import printable


class ClassScreen(Screen):
    BINDINGS = [Binding("escape", "leave", "Lessons"), Binding("r", "reload", "Reload")]

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)
        yield Static(f"Reading {printable(str(self.directory))}…", id="class-intro")
        yield DataTable(id="class-lessons", zebra_stripes=True, cursor_type="row")
        yield DataTable(id="class-exercises", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        lessons = self.query_one("#class-lessons", DataTable)
        lessons.add_columns("learner", "lesson", "parts seen", "exercises", "attempts")
        self.query_one("#class-exercises", DataTable).add_columns(
            "exercise", "solved", "attempts", "slips named most often"
        )
        lessons.focus()
        self.action_reload()

    def on_resize(self) -> None:
        self.app.check_size()

    def action_leave(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.read()

    @work(thread=True, exclusive=True, group="class", exit_on_error=False)
    def read(self) -> None:
        from tutor.serve.table import read_class

        try:
            view = read_class(self.directory)
        except OSError as exc:
            self.app.call_from_thread(
                self.show_error, f"{printable(str(self.directory))}: {exc.strerror}"
            )
            return
        self.app.call_from_thread(self.show, view)

    def show_error(self, message: str) -> None:
        self.query_one("#class-intro", Static).update(message)

    def show(self, view) -> None:
        from tutor.serve.table import slips_text

        # names and ids as Text: a learner's name is never read as markup
        where = printable(str(view.directory))
        count = len(view.learners)
        intro = (
            f"{count} learner{'s' if count != 1 else ''} in {where}"
            if count
            else f"No learners in {where} yet."
        )
        if view.unreadable:
            intro += f" · unreadable: {'; '.join(view.unreadable)}"
        self.query_one("#class-intro", Static).update(self.app.plain(intro + " · r reloads"))
        lessons = self.query_one("#class-lessons", DataTable)
        lessons.clear()
        for r in view.rows:
            lessons.add_row(
                *map(
                    Text,
                    (
                        r.learner,
                        r.lesson,
                        ", ".join(r.parts) or "-",
                        f"{r.solved}/{r.total}",
                        str(r.attempts),
                    ),
                )
            )
        exercises = self.query_one("#class-exercises", DataTable)
        exercises.clear()
        for e in view.exercises:
            exercises.add_row(
                *map(
                    Text,
                    (
                        f"{e.lesson}/{e.exercise}",
                        f"{e.solved}/{e.tried}",
                        str(e.attempts),
                        slips_text(e),
                    ),
                )
            )
