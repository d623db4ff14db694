"""`j` in Derive: choose a node or parameter to jump to."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class NodePicker(ModalScreen[str]):
    """`j`: choose a node or parameter to jump to."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        yield OptionList(*[Option(n, id=n) for n in self.names], id="node-picker")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
