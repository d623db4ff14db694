"""The footer every screen of ours shows: Textual's, compact, with `? Help` kept at its right edge,
so that on an 80-column terminal the footer may cut other keys but never the one that lists them
all (the help screen, generated from the bindings)."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"


class TutorFooter(Footer):
    DEFAULT_CSS = """
    TutorFooter FooterKey.-help {
        dock: right;
        padding-left: 1;
    }
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)  # ctrl+p still opens it; `?` names it
        super().__init__(**kwargs)

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.key == HELP_KEY:
                widget.add_class("-help")
            yield widget
