"""A yes/no question before something is thrown away (the runs kept on the Train plot)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, keys: str):
        super().__init__()
        self.question, self.keys = question, keys

    def compose(self) -> ComposeResult:
        yield Static(
            self.app.plain(f"{self.question}\n\n{self.keys}"), id="confirm-text", markup=False
        )

    def action_answer(self, sure: bool) -> None:
        self.dismiss(sure)
