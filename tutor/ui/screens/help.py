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


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        lines = [INTRO, "", "Keys:"]
        screens = [s for s in self.app.screen_stack if s is not self]
        taken: set[str] = set()
        # The app's and the screen's bindings first: where a widget binds the same key (the tabs'
        # left/right), the screen's binding is the one that runs. Of the widgets' own bindings only
        # those they show in the footer: the rest are the usual editing and scrolling keys.
        widgets = list(screens[-1].query("*")) if screens else []
        for source in [self.app] + screens[-1:] + widgets:
            for b in getattr(source, "BINDINGS", []):
                binding = b if isinstance(b, Binding) else Binding(*b)
                keys = [k.strip() for k in binding.key.split(",") if k.strip() not in taken]
                if not binding.description or not keys or (source in widgets and not binding.show):
                    continue
                taken.update(keys)
                shown = ", ".join(self.app.get_key_display(Binding(k, "")) for k in keys)
                lines.append(f"  {shown:<14} {binding.description}")
        lines += ["", "Press escape to close."]
        with VerticalScroll(id="help-box"):
            yield Static(self.app.plain("\n".join(lines)), id="help-text", markup=False)
