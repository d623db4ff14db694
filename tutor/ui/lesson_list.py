"""The first screen: the curriculum in order, with each lesson's progress."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

MARKS = {"not started": "○", "in progress": "◐", "done": "●"}


class LessonListScreen(Screen):
    BINDINGS = [
        Binding("slash", "command_palette", "Jump to…"),
        Binding("enter", "open", "Open", show=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Choose a lesson. Each one explains a model, derives its gradients node by node, then trains it.",
                     id="intro")
        yield OptionList(id="lessons")
        yield Footer()

    def on_resize(self) -> None:
        self.app.check_size()

    def on_mount(self) -> None:
        self.refresh_list()

    def on_screen_resume(self) -> None:
        self.refresh_list()

    def refresh_list(self) -> None:
        app = self.app
        options = self.query_one("#lessons", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        last = app.progress.last_lesson
        start = 0
        for i, item in enumerate(app.listing):
            state = app.progress.state(item.id, item.exercises)
            solved = len(app.progress.solved(item.id))
            mark = MARKS[state] if not app.ascii else {"not started": "-", "in progress": "~", "done": "*"}[state]
            text = Text()
            text.append(f"{i + 1}. {item.title}", style="bold")
            text.append(f"  [{item.id}]", style="dim")
            counts = f"  {state}" + (f", {solved}/{item.exercises} exercises" if item.exercises else "")
            text.append(counts, style="italic")
            text.append("\n" + (item.error or item.summary), style="red" if item.error else "")
            row = Table.grid(padding=(0, 1))     # two columns: wrapped lines stay indented under the title
            row.add_column(width=1)
            row.add_column(ratio=1)
            row.add_row(Text(mark, style="bold"), text)
            text = row
            options.add_option(Option(text, id=item.id))
            if item.id == last:
                start = i
        options.highlighted = highlighted if highlighted is not None else start
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def action_open(self) -> None:
        index = self.query_one("#lessons", OptionList).highlighted
        if index is not None:
            self._open(index)

    def _open(self, index: int) -> None:
        self.app.open_lesson(self.app.listing[index].path)
