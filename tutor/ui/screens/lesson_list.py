"""The first screen: the sandbox, the playground, then the lessons in their groups (the course,
then further topics), each group headed by its progress and each lesson with its own."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from tutor.lesson import GROUPS
from tutor.ui.widgets.footer import TutorFooter

INTRO = "Choose a lesson. Each one explains a model, derives its gradients node by node, then trains it."
SANDBOX, PLAYGROUND = (
    "sandbox",
    "playground",
)  # the option ids before the lessons (theirs are lesson ids)
MARKS = {"not started": "○", "in progress": "◐", "done": "●"}


class Hanging:
    """A mark, then text whose wrapped lines stay indented under its first line. A two-column
    rich Table.grid draws the same, but laying out eight of them was a third of start-up."""

    def __init__(self, mark: Text, text: Text):
        self.mark, self.text = mark, text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
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
        # the teacher's view: in `?`, not the footer (most who see the list are learners); never when served
        Binding("c", "class_view", "Class view", show=False),
    ]

    def check_action(self, action: str, parameters) -> bool:
        return action != "class_view" or self.app.class_dir is None

    def action_class_view(self) -> None:
        from tutor.progress import default_class_dir

        self.app.open_class(self.app.teacher or default_class_dir())

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)  # Textual draws the rest of its chrome
        yield Static(INTRO, id="intro")
        yield OptionList(id="lessons")
        yield TutorFooter()

    def on_resize(self) -> None:
        self.app.check_size()

    shown: tuple | None = None  # what the list shows now: rebuilt only when it changes

    def on_screen_resume(self) -> None:
        # also sent when the screen is first shown; coming back from a lesson may change its marks
        self.refresh_list()

    def refresh_list(self) -> None:
        app = self.app
        rows = tuple(
            (
                item.id,
                app.progress.state(item.id, item.exercises),
                len(app.progress.solved(item.id)),
            )
            for item in app.listing
        )
        options = self.query_one("#lessons", OptionList)
        options.focus()
        if rows == self.shown:  # rich grids are costly to lay out: start-up draws them once
            return
        self.shown = rows
        highlighted = options.highlighted_option.id if options.highlighted_option else None
        last = app.progress.last_lesson
        new: list[Option] = []
        new.append(
            Option(
                Hanging(
                    Text("+", style="bold"),
                    Text.assemble(
                        ("Sandbox", "bold"),
                        "\nType any graph: it is derived and checked as you type.",
                    ),
                ),
                id=SANDBOX,
            )
        )
        new.append(
            Option(
                Hanging(
                    Text("+", style="bold"),
                    Text.assemble(
                        ("Playground", "bold"),
                        "\nTrain a small network on 2-D data and watch its decision boundary, "
                        "neuron by neuron.",
                    ),
                ),
                id=PLAYGROUND,
            )
        )
        group = None
        for i, (item, (_, state, solved)) in enumerate(zip(app.listing, rows, strict=False)):
            if item.group != group:  # a heading with the group's progress, never highlighted
                group = item.group
                members = [
                    (it, row)
                    for it, row in zip(app.listing, rows, strict=False)
                    if it.group == group
                ]
                new.append(
                    Option(
                        Text(app.plain(group_line(group, members)), style="bold underline"),
                        id=f"group-{GROUPS.index(group)}",
                        disabled=True,
                    )
                )
            mark = (
                MARKS[state]
                if not app.ascii
                else {"not started": "-", "in progress": "~", "done": "*"}[state]
            )
            text = Text()
            text.append(f"{i + 1}. {item.title}", style="bold")
            text.append(f"  [{item.id}]", style="dim")
            counts = f"  {state}" + (
                f", {solved}/{item.exercises} exercises" if item.exercises else ""
            )
            text.append(counts, style="italic")
            text.append("\n" + (item.error or item.summary), style="red" if item.error else "")
            new.append(Option(Hanging(Text(mark, style="bold"), text), id=item.id))
        options.set_options(new)  # at once: the list is laid out once, not per option
        ids = [item.id for item in app.listing]
        start = ids.index(last) if last in ids else 0
        options.highlighted = options.get_option_index(highlighted or ids[start])
        # back from a finished lesson: the next one is highlighted and named
        intro = self.query_one("#intro", Static)
        if last in ids and rows[start][1] == "done" and start + 1 < len(rows):
            if highlighted in (None, last):
                options.highlighted = options.get_option_index(ids[start + 1])
            intro.update(
                app.plain(
                    f"{app.listing[start].title}: done. Next lesson → {app.listing[start + 1].title} "
                    "(enter opens it)."
                )
            )
        else:
            intro.update(INTRO)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def action_open(self) -> None:
        option = self.query_one("#lessons", OptionList).highlighted_option
        if option is not None:
            self._open(option.id)

    def _open(self, option_id: str | None) -> None:
        if option_id == SANDBOX:
            self.app.open_sandbox()
        elif option_id == PLAYGROUND:
            self.app.open_playground()
        else:
            item = next((item for item in self.app.listing if item.id == option_id), None)
            if item is not None:
                self.app.open_lesson(item.path)


def group_line(group: str, members: list) -> str:
    """A group's heading: how many of its lessons are done and how many exercises are solved."""
    done = sum(state == "done" for _, (_, state, _) in members)
    exercises = sum(item.exercises for item, _ in members)
    solved = sum(count for _, (_, _, count) in members)
    return f"{group}: {done}/{len(members)} lessons done" + (
        f", {solved}/{exercises} exercises solved" if exercises else ""
    )
