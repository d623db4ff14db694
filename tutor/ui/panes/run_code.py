"""The Train part's code view (c): the run of the selected backend as the standalone script
`--export-code` prints, syntax highlighted, with the lines that compute the backward pass marked."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.widgets import Static


class RunCode(VerticalScroll):
    """In the Train part's ContentSwitcher, in place of the run's view (the pane swaps them)."""

    DEFAULT_CSS = "RunCode { height: 1fr; }"

    shown = var(False)  # on screen: the script is kept up to date only then

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.script = None  # the Script on screen
        self.shown_text = None  # what the view shows: the command line, then the script

    def compose(self):
        yield Static(id="run-code-text")

    def show_for(self, pane) -> None:
        """The script of the pane's backend, variant and settings (only while shown)."""
        if not self.shown:
            return
        from tutor.code.export import export

        backend = pane.backend()
        text = self.query_one("#run-code-text", Static)
        if backend == "sklearn":
            self.script = None
            text.update(
                pane.app.plain(
                    "scikit-learn's baseline is one call to fit(): choose a backend to see its code."
                )
            )
            return
        settings = pane.read_settings()
        if settings is None:  # a field with a typo: the status line says which
            return
        self.script = export(pane.lesson, backend, pane.variant, **settings)
        head = Text(
            pane.app.plain(
                f"The {backend} run as code; highlighted lines compute the backward pass. To keep it: "
                f"{command(pane.lesson, backend, pane.variant, settings)} > run.py   (c: back to the plot)"
            ),
            style="bold",
        )
        body = Syntax(
            self.script.text,
            "python",
            line_numbers=True,
            word_wrap=False,
            highlight_lines={i + 1 for i in self.script.backward},
        )
        self.shown_text = Group(head, body)
        text.update(self.shown_text)


def command(lesson, backend: str, variant, settings: dict) -> str:
    """The command line that prints this script: the flags for the fields changed from the run's own."""
    from tutor.train.spec import resolve

    base = resolve(lesson, backend, variant)
    words = ["backprop-tutor", lesson.id, "--export-code", backend] + (
        ["--variant", variant.name] if variant else []
    )
    for name in ("lr", "momentum", "epochs", "seed", "hidden"):
        value = settings.get(name)
        if value is not None and value != getattr(base, name):
            words += [f"--{name}", f"{value:g}"]
    text = " ".join(words)
    if settings.get("optimizer", base.optimizer) != base.optimizer:
        text += f"   (and optimizer {settings['optimizer']} in the script)"
    return text
