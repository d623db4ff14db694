"""The first screen: the curriculum in order, with each lesson's progress."""

from __future__ import annotations

from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

INTRO = "Choose a lesson. Each one explains a model, derives its gradients node by node, then trains it."
FIRST = 2                 # options before the first lesson: the sandbox and the playground
MARKS = {"not started": "○", "in progress": "◐", "done": "●"}


class Hanging:
    """A mark, then text whose wrapped lines stay indented under its first line. A two-column
    rich Table.grid draws the same, but laying out eight of them was a third of start-up."""

    def __init__(self, mark: Text, text: Text):
        self.mark, self.text = mark, text

    def __rich_console__(self, console, options):
        indent = self.mark.cell_len + 1
        out = Text()
        for i, line in enumerate(self.text.wrap(console, max(1, options.max_width - indent))):
            out.append("\n" if i else "")
            out.append_text(self.mark if i == 0 else Text(" " * self.mark.cell_len))
            out.append(" ")
            out.append_text(line)
        yield out

    def __rich_measure__(self, console, options):
        return Measurement(self.mark.cell_len + 2, options.max_width)


class LessonListScreen(Screen):
    BINDINGS = [
        Binding("slash", "app.command_palette", "Jump to…"),
        Binding("enter", "open", "Open", show=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)    # Textual draws the rest of its chrome
        yield Static(INTRO, id="intro")
        yield OptionList(id="lessons")
        yield Footer()

    def on_resize(self) -> None:
        self.app.check_size()

    shown: tuple | None = None       # what the list shows now: rebuilt only when it changes

    def on_screen_resume(self) -> None:
        # also sent when the screen is first shown; coming back from a lesson may change its marks
        self.refresh_list()

    def refresh_list(self) -> None:
        app = self.app
        rows = tuple((item.id, app.progress.state(item.id, item.exercises), len(app.progress.solved(item.id)))
                     for item in app.listing)
        options = self.query_one("#lessons", OptionList)
        options.focus()
        if rows == self.shown:           # rich grids are costly to lay out: start-up draws them once
            return
        self.shown = rows
        highlighted = options.highlighted
        options.clear_options()
        last = app.progress.last_lesson
        # The sandbox (option 0) and the playground (1) first, then the lessons: option i + FIRST is app.listing[i].
        options.add_option(Option(Hanging(Text("+", style="bold"), Text.assemble(
            ("Sandbox", "bold"), "\nType any graph: it is derived and checked as you type.")), id="sandbox"))
        options.add_option(Option(Hanging(Text("+", style="bold"), Text.assemble(
            ("Playground", "bold"), "\nTrain a small network on 2-D data and watch its decision boundary, "
            "neuron by neuron.")), id="playground"))
        start = 0
        for i, (item, (_, state, solved)) in enumerate(zip(app.listing, rows)):
            mark = MARKS[state] if not app.ascii else {"not started": "-", "in progress": "~", "done": "*"}[state]
            text = Text()
            text.append(f"{i + 1}. {item.title}", style="bold")
            text.append(f"  [{item.id}]", style="dim")
            counts = f"  {state}" + (f", {solved}/{item.exercises} exercises" if item.exercises else "")
            text.append(counts, style="italic")
            text.append("\n" + (item.error or item.summary), style="red" if item.error else "")
            options.add_option(Option(Hanging(Text(mark, style="bold"), text), id=item.id))
            if item.id == last:
                start = i
        # options 0 and 1 are the sandbox and the playground: lesson i is option i + FIRST
        options.highlighted = highlighted if highlighted is not None else start + FIRST
        # back from a finished lesson: the next one is highlighted and named
        intro = self.query_one("#intro", Static)
        done = last is not None and rows[start][0] == last and rows[start][1] == "done"
        if done and start + 1 < len(rows):
            if options.highlighted == start + FIRST:
                options.highlighted = start + FIRST + 1
            intro.update(app.plain(f"{app.listing[start].title}: done. Next lesson → {app.listing[start + 1].title} "
                                   "(enter opens it)."))
        else:
            intro.update(INTRO)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def action_open(self) -> None:
        index = self.query_one("#lessons", OptionList).highlighted
        if index is not None:
            self._open(index)

    def _open(self, index: int) -> None:
        if index == 0:
            self.app.open_sandbox()
        elif index == 1:
            self.app.open_playground()
        else:
            self.app.open_lesson(self.app.listing[index - FIRST].path)
