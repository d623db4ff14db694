"""`?`: every binding of the app and of the screen below, in one place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = """backprop-tutor: Explain → Derive → Train.
Explain: the model and its equations. Derive: the computation graph, the forward pass, then
the chain rule from the loss down to every parameter, checked against torch autograd and finite
differences. Train: the same model trained live with numpy and torch, side by side."""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        lines = [INTRO, "", "Keys:"]
        screens = [s for s in self.app.screen_stack if s is not self]
        seen = set()
        for source in [self.app] + screens[-1:] + list(screens[-1].query("*") if screens else []):
            for b in getattr(source, "BINDINGS", []):
                binding = b if isinstance(b, Binding) else Binding(*b)
                if not binding.description or (binding.key, binding.description) in seen:
                    continue
                seen.add((binding.key, binding.description))
                lines.append(f"  {binding.key:<22} {binding.description}")
        lines += ["", "Press escape to close."]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-text", markup=False)
