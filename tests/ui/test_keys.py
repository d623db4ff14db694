"""Issue 27, item 7: `?` lists every key, generated from the bindings (so it cannot drift): the
Derive keys the footer hides (v, x, f, Home/End, the page keys), the Train keys (l says Log
scale, v opens the variants), ctrl+p; the palette finds a lesson by its id."""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandPalette

from tests.ui.conftest import make_app, settle, text_of, until
from tutor.ui.panes.derive import DerivePane, StepScroll
from tutor.ui.panes.train import TrainPane
from tutor.ui.screens.help import HelpScreen


async def test_help_lists_every_key_of_the_lesson_screen(tmp_path):
    app = make_app(tmp_path, "vanishing-gradients")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = text_of(app, "#help-text")
        lines = text.splitlines()
        for cls in (DerivePane, StepScroll, TrainPane):
            for binding in cls.BINDINGS:
                keys = ", ".join(
                    app.get_key_display(Binding(k.strip(), "")) for k in binding.key.split(",")
                )
                assert f"  {keys:<14} {binding.description}" in lines, (cls.__name__, binding.key)
        for line in (
            "  v              Solution",
            "  x              Next exercise",
            "  f              Fold exercise",
            "  home           First step",
            "  end            Last step",
            "  l              Log scale",
            "  ^p             Command palette: jump to a lesson or a part, by title or id",
        ):
            assert line in lines, line
        assert "Derive:" in lines and "Train:" in lines


async def test_the_palette_finds_a_lesson_by_its_id(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"two-layer")

        def first() -> str:
            options = app.screen.query("CommandList").first()._options
            return str(options[0].prompt).split("\n")[0] if options else ""

        await until(
            pilot,
            lambda: first().startswith("The chain rule through a hidden layer (two-layer-relu)"),
            "two-layer-relu first",
        )
