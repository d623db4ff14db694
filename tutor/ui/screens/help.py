"""`?`: every binding of the app and of the screen below, in one place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "backprop-tutor: Explain → Derive → Train.\n"
    "Explain: the model and its equations. "
    "Derive: the computation graph, the forward pass, then the chain rule from the loss down to every "
    "parameter, checked against torch autograd and finite differences. "
    "Train: the same model trained live with numpy and torch, side by side."
)


def key_lines(app, screen) -> list[str]:
    """Every key of the app, of `screen` and of the widgets on it, generated from their bindings
    (so the list cannot drift from what the keys do). Our own widgets' bindings are all listed,
    those the footer hides too (Home/End, page keys, v, x, f…), under the widget's HELP_TITLE;
    Textual's widgets add only the keys they show in the footer (the rest are the usual editing
    and scrolling keys)."""

    def lines_of(bindings, taken: set[str]) -> list[str]:
        out = []
        for b in bindings:
            binding = b if isinstance(b, Binding) else Binding(*b)
            keys = [k.strip() for k in binding.key.split(",") if k.strip() not in taken]
            if not binding.description or not keys:
                continue
            taken.update(keys)
            shown = ", ".join(app.get_key_display(Binding(k, "")) for k in keys)
            out.append(f"  {shown:<14} {binding.description}")
        return out

    top: set[str] = set()
    lines = lines_of(app.BINDINGS, top)
    if app.ENABLE_COMMAND_PALETTE:
        key = app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, ""))
        lines.append(f"  {key:<14} Command palette: jump to a lesson or a part, by title or id")
        top.add(app.COMMAND_PALETTE_BINDING)
    if screen is None:
        return lines
    lines += lines_of(screen.BINDINGS, top)
    for widget in screen.query("*"):
        bindings = []
        for cls in type(widget).__mro__:
            ours = cls.__module__.startswith("tutor.")
            bindings += [
                b
                for b in cls.__dict__.get("BINDINGS", [])
                if ours or (b.show if isinstance(b, Binding) else False)
            ]
        section = lines_of(bindings, set(top))
        if section:
            title = getattr(widget, "HELP_TITLE", "")
            lines += (["", f"{title}:"] if title else []) + section
    return lines


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        screens = [s for s in self.app.screen_stack if s is not self]
        lines = [
            INTRO,
            "",
            "Keys:",
            *key_lines(self.app, screens[-1] if screens else None),
            "",
            "Press escape to close.",
        ]
        with VerticalScroll(id="help-box"):
            yield Static(self.app.plain("\n".join(lines)), id="help-text", markup=False)
