"""A lesson: Explain, Derive and Train, as tabs switched by keys or the mouse."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Markdown, Static, TabbedContent, TabPane

from tutor.lesson import Lesson
from tutor.ui.derive_pane import DerivePane
from tutor.ui.train_pane import TrainPane

PARTS = ("explain", "derive", "train")


def explain_markdown(lesson: Lesson, equations: dict[str, str] | None = None) -> str:
    """The lesson's pages as Markdown; equations as code blocks (sympy's rendering once loaded)."""
    out = [f"# {lesson.title}", ""]
    for page in lesson.explain:
        out += [f"## {page.title}", "", page.text.strip(), ""]
        if page.equations:
            out.append("```")
            for eq in page.equations:
                out.append((equations or {}).get(f"{page.title}/{eq.name}", f"{eq.name} = {eq.text}"))
            out += ["```", ""]
    if lesson.train is not None and lesson.train.note:     # also on the Train tab, where there is room
        out += ["## About the training runs", "", lesson.train.note, ""]
    return "\n".join(out)


class ErrorScreen(ModalScreen):
    """A lesson that cannot be opened: the message, never a traceback."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Back")]

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="error-box"):
            yield Static("This lesson cannot be opened:\n\n" + self.message + "\n\nPress escape to go back.",
                         id="error-text", markup=False)


class LessonScreen(Screen):
    BINDINGS = [
        Binding("e", "part('explain')", "Explain"),
        Binding("d", "part('derive')", "Derive"),
        Binding("t", "part('train')", "Train"),
        Binding("escape", "back", "Lessons"),
        # Derive
        Binding("n,right", "derive('move', 1)", "Next", priority=True),
        Binding("p,left", "derive('move', -1)", "Back", priority=True),
        Binding("home", "derive('first')", "First"),
        Binding("end", "derive('last')", "Last"),
        Binding("j", "derive('jump')", "Jump to node"),
        Binding("a", "derive('answer')", "Answer"),
        Binding("h", "derive('hint')", "Hint"),
        Binding("v", "derive('solution')", "Solution"),
        # Train
        Binding("space", "train('play')", "Play/pause"),
        Binding("s", "train('step')", "Step one"),
        Binding("r", "train('reset')", "Reset"),
        Binding("o", "train('overlay')", "Overlay next"),
        Binding("l", "train('log')", "Log scale"),
    ]
    PART_ACTIONS = {"derive": "derive", "train": "train"}

    def __init__(self, lesson: Lesson, part: str = "explain"):
        super().__init__()
        self.lesson = lesson
        self.initial = part if part in PARTS else "explain"

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)    # Textual draws the rest of its chrome
        with TabbedContent(initial=self.initial, id="parts"):
            with TabPane("Explain", id="explain"):
                with VerticalScroll(id="explain-scroll"):
                    yield Markdown(self.app.plain(explain_markdown(self.lesson)), id="explain-text")
            with TabPane("Derive", id="derive"):
                yield DerivePane(self.lesson, id="derive-pane")
            with TabPane("Train", id="train"):
                yield TrainPane(self.lesson, id="train-pane")
        yield Footer()

    def on_resize(self) -> None:
        self.app.check_size()

    def on_mount(self) -> None:
        title = f"backprop-tutor · {self.lesson.title}"
        self.title = self.app.plain(title.replace(" · ", " - ") if self.app.ascii else title)
        if any(p.equations for p in self.lesson.explain):
            self.render_equations()
        self.focus_part(self.initial)

    @work(thread=True, exclusive=True, group="equations", exit_on_error=False)
    def render_equations(self) -> None:
        from tutor.expr.text import pretty

        rendered = {}          # the author's equation as written, typeset (same order, same operations)
        for page in self.lesson.explain:
            for eq in page.equations:
                rendered[f"{page.title}/{eq.name}"] = f"{eq.name} = {pretty(eq.expr, ascii=self.app.ascii)}"
        text = self.app.plain(explain_markdown(self.lesson, rendered))
        self.app.call_from_thread(self.query_one("#explain-text", Markdown).update, text)

    @property
    def part(self) -> str:
        return self.query_one("#parts", TabbedContent).active

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Show (and run) the Derive keys in Derive, the Train keys in Train. While an Input has
        focus its own keys win, so a learner can type a learning rate."""
        if action in self.PART_ACTIONS:
            from textual.widgets import Input

            if isinstance(self.focused, Input):
                return False
            if action == "derive" and parameters and parameters[0] in ("answer", "hint", "solution"):
                panel = self.query_one("#exercise")
                return self.part == "derive" and panel.display
            return self.part == self.PART_ACTIONS[action]
        return True

    def action_derive(self, name: str, *args) -> None:
        pane = self.query_one(DerivePane)
        getattr(pane, f"action_{name}")(*args)

    def action_train(self, name: str) -> None:
        getattr(self.query_one(TrainPane), f"action_{name}")()

    def action_part(self, part: str) -> None:
        self.query_one("#parts", TabbedContent).active = part

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        part = event.pane.id or "explain"
        self.app.progress.visit(self.lesson.id, part)
        self.app.show_progress_notice()
        self.refresh_bindings()
        self.focus_part(part)
        if part == "derive":
            self.query_one(DerivePane).start()
        elif part == "train":
            self.query_one(TrainPane).start()

    def focus_part(self, part: str) -> None:
        """The explanation takes the focus, so arrows and page keys scroll it at once; the other
        parts hand it back (their keys are the screen's)."""
        scroll = self.query_one("#explain-scroll")
        if part == "explain":
            scroll.focus()
        elif self.focused is scroll:
            self.set_focus(None)

    def action_back(self) -> None:
        from textual.widgets import Input

        if isinstance(self.focused, Input):      # escape leaves the field first, then the lesson
            self.set_focus(None)
            return
        self.app.pop_screen()

    def on_unmount(self) -> None:
        # Leaving mid-run: the training loop checks this flag every step.
        self.workers.cancel_all()
