"""A served tutor's first screen: the learner's name, which finds their progress in the class."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from tutor.progress import NAME_MAX, learner_name

ASK = (
    "Welcome. Type your name and press Enter. Use the same name each time: it keeps your place, "
    "your solved exercises and your training settings for next time."
)


class LearnerScreen(Screen):
    """Cannot be left without a name (escape does nothing here): the progress is the learner's."""

    def compose(self) -> ComposeResult:
        yield Header(icon="*" if self.app.ascii else None)
        with Vertical(id="learner-box"):
            yield Static(self.app.plain(ASK), id="learner-intro")
            yield Input(placeholder="your name", max_length=NAME_MAX * 4, id="learner-name")
            yield Static("", id="learner-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#learner-name", Input).focus()

    def on_resize(self) -> None:
        self.app.check_size()

    @on(Input.Submitted, "#learner-name")
    def named(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            name = learner_name(event.value)
        except ValueError as exc:
            self.query_one("#learner-error", Static).update(str(exc))
            return
        self.app.sign_in(name)
