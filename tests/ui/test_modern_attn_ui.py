"""Pilot test of attention-backward (issue 29, item 4): it opens from the lesson list's "Modern
networks" group, shows its Explain text, walks Derive to named steps and reads them (the softmax's
fused form in the matrix form, the vector–Jacobian product at the Explain page's point), and takes
an exercise's answers. The lesson has nothing to train, so it has no Train tab and `t` stays put."""

from __future__ import annotations

from textual.widgets import TabbedContent

from tests.ui.conftest import make_app, settle, text_of, until
from tests.ui.test_modern_lessonsB_ui import open_from_the_list, walk_to
from tutor.ui.panes.derive import DerivePane

ATTN = "attention-backward"


async def test_attention_backward_from_the_list_to_derive_and_an_exercise(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_from_the_list(app, pilot, ATTN)
        source = app.screen.query_one("#explain-text").source
        assert "dS = P ⊙ (dP − rowsum(dP ⊙ P))" in source
        assert "mean largest weight              0.86            0.32" in source
        assert not app.screen.query("#train")  # nothing to train: no Train tab
        await pilot.press("d")
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot,
            lambda: pane.derivation is not None and pane.derivation.matrix_checks,
            "the derivation",
        )
        await walk_to(pilot, pane, "backward", "P")
        await until(
            pilot,
            lambda: "∂L/∂P at the point = 0.75" in text_of(app, "#step-text"),
            "P's backward step",
        )
        await until(
            pilot, lambda: "Exercise grad-p" in text_of(app, "#exercise-prompt"), "the exercise"
        )
        await pilot.press("a", "G", "enter")
        await until(
            pilot,
            lambda: "Your answer is missing ∂O/∂P = V." in text_of(app, "#exercise-feedback"),
            "the missing factor named",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"G*V", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer",
        )
        assert app.progress.solved(ATTN) == ["grad-p"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "matrix", "S")
        await until(
            pilot,
            lambda: "∂L/∂S, fused = P ⊙ (G·Vᵀ − rowsum(G·Vᵀ ⊙ P))" in text_of(app, "#step-text"),
            "the fused softmax backward",
        )
        assert "Matrix form: ∂L/∂S  [T×T]" in text_of(app, "#step-title")
        await until(
            pilot, lambda: "Exercise fused-row" in text_of(app, "#exercise-prompt"), "dS's exercise"
        )
        await pilot.press("a", *"0.5", "enter")
        await until(
            pilot,
            lambda: "That is p₁·dP₁ alone" in text_of(app, "#exercise-feedback"),
            "the known mistake's response",
        )
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"0.5*(1 - 0.5)", "enter")
        await until(
            pilot,
            lambda: text_of(app, "#exercise-feedback").startswith("✓ Correct"),
            "the right answer, as arithmetic",
        )
        assert app.progress.solved(ATTN) == ["grad-p", "fused-row"]
        await pilot.press("escape")
        await walk_to(pilot, pane, "jacobian", "vjp")
        await until(
            pilot,
            lambda: "[0.136489, -0.153602, 0.0171134]" in text_of(app, "#step-text"),
            "the vector–Jacobian product",
        )
        step = pane.index
        await pilot.press("t")  # no Train part: the key does nothing
        await settle(pilot)
        assert pane.index == step and app.screen.query_one(TabbedContent).active == "derive"
