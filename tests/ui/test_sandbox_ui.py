"""Pilot tests of the sandbox screen: typed key by key, derived as typed, an error shown inline
while the last good derivation stays, saved as a lesson and opened again as one."""

from __future__ import annotations

from textual.widgets import TextArea

from tests.ui.conftest import make_app, text_of, until
from tutor import cli
from tutor.ui.panes.derive import DerivePane
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_list import LessonListScreen
from tutor.ui.screens.sandbox import SandboxScreen, SaveAs


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("enter" if ch == "\n" else ch)


def derived(screen) -> bool:
    """The derivation on screen is the one of the text typed now, and nothing is left to run."""
    return screen.shown == screen.current_texts() and not screen.running


async def test_type_a_graph_see_it_derive_break_it_fix_it_save_it_and_open_it_as_a_lesson(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-graph.toml").write_text("kept\n")
    app = make_app(tmp_path, sandbox=("", "", ""))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SandboxScreen), "the sandbox")
        screen = app.screen
        await until(
            pilot,
            lambda: "write at least one node line" in text_of(screen, "#sandbox-error"),
            "the empty-graph note",
        )
        assert (
            text_of(screen, "#sandbox-status")
            == "Nothing derived yet: fix the problem on the left."
        )

        # The graph, then the point, then the parameters, key by key (tab moves between fields).
        await type_text(pilot, "c = a + b\nL = (c*w - y)**2")
        await pilot.press("tab")
        await type_text(pilot, "a = 1, b = 2, w = 0.5, y = 3")
        await pilot.press("tab")
        await type_text(pilot, "w, a")
        assert screen.current_texts() == (
            "c = a + b\nL = (c*w - y)**2",
            "a = 1, b = 2, w = 0.5, y = 3",
            "w, a",
        )
        await until(pilot, lambda: derived(screen), "the derivation of the typed graph")
        check = text_of(screen, "#sandbox-check")
        assert "∂L/∂a: sympy -1.5 | autograd -1.5 | finite diff. -1.5" in check
        assert "∂L/∂w: sympy -9.0 | autograd -9.0 | finite diff. -9.0" in check
        assert check.count("✓") == 2
        assert text_of(screen, "#sandbox-status") == "2 nodes, 10 steps; the three gradients agree"
        steps = text_of(screen, "#sandbox-steps-text")
        assert "[1/10] Forward: c = a + b" in steps and "∂L/∂w at the point = -9.0" in steps
        assert "inputs: b = 2.0, y = 3.0" in text_of(screen, "#sandbox-drawing")
        assert text_of(screen, "#sandbox-error") == ""

        # An error: back in the editor, the cursor is where typing stopped.
        await pilot.press("shift+tab", "shift+tab")
        await type_text(pilot, " +")
        await until(pilot, lambda: text_of(screen, "#sandbox-error") != "", "the inline error")
        assert (
            text_of(screen, "#sandbox-error")
            == "Graph, line 2, column 19: not a valid expression: invalid syntax"
        )
        assert text_of(screen, "#sandbox-steps-text") == steps  # the last good derivation stays
        assert "∂L/∂w: sympy -9.0" in text_of(screen, "#sandbox-check")
        assert text_of(screen, "#sandbox-status").endswith(
            "the last graph that derived (the text now has a problem)"
        )

        # Fixed, and the point changed: y = 4 gives ∂L/∂w = 2·3·(1.5 − 4) = −15.
        await pilot.press("backspace", "backspace")
        await until(pilot, lambda: text_of(screen, "#sandbox-error") == "", "the error to clear")
        await pilot.press("tab", "end", "backspace", "4")
        await until(
            pilot,
            lambda: derived(screen) and "-15.0" in text_of(screen, "#sandbox-check"),
            "the new point",
        )
        assert "∂L/∂w: sympy -15.0 | autograd -15.0 | finite diff. -15.0" in text_of(
            screen, "#sandbox-check"
        )

        # Save: the suggested name is taken, so the prompt says so and keeps the file; a new name saves.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SaveAs), "the save prompt")
        await pilot.press("enter")
        await until(pilot, lambda: "already exists" in text_of(app, "#save-problem"), "the refusal")
        assert (
            text_of(app, "#save-problem")
            == f"{tmp_path / 'my-graph.toml'} already exists: choose another name"
        )
        assert (tmp_path / "my-graph.toml").read_text() == "kept\n"
        await pilot.press("home")
        await type_text(pilot, "new-")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen, "the prompt to close")
        saved = tmp_path / "new-my-graph.toml"
        assert screen.saved == saved and saved.is_file()
        assert any(f"Saved {saved}." in n.message for n in app._notifications)
        assert cli._check([str(saved)]) == 0

        # Open it as a lesson, in its Derive part (as the palette's "… › Derive" does).
        app.open_lesson(saved, "derive")
        await until(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.query(DerivePane),
            "the lesson",
        )
        assert (
            app.screen.lesson.id == "new-my-graph"
            and app.screen.lesson.title == "Sandbox: L = (c*w - y)**2"
        )
        pane = app.screen.query_one(DerivePane)
        await until(
            pilot, lambda: pane.derivation is not None and pane.complete, "the lesson's derivation"
        )
        assert text_of(app, "#step-title") == "Step 1/10 · Forward: c = a + b"
        assert {c.param: (c.symbolic, c.ok) for c in pane.derivation.checks} == {
            "a": (-2.5, True),
            "w": (-15.0, True),
        }
        await pilot.press("n")
        await until(pilot, lambda: pane.index == 1, "the next step")
        assert "L at the point = 6.25" in text_of(app, "#step-text")


async def test_sandbox_is_first_in_the_lesson_list_and_keeps_its_text(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        await pilot.press("up", "up", "enter")  # past the playground
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        assert screen.current_texts() == (
            "c = a + b\nL = (c*w - y)**2",
            "a = 1, b = 2, w = 0.5, y = 3",
            "w, a",
        )
        await until(pilot, lambda: derived(screen), "the example's derivation")
        assert "∂L/∂w: sympy -9.0" in text_of(screen, "#sandbox-check")
        # A hostile line is only text to the safe parser.
        await pilot.press("down", "end")
        await type_text(pilot, " + __import__('os')")
        await until(pilot, lambda: text_of(screen, "#sandbox-error") != "", "the inline error")
        assert text_of(screen, "#sandbox-error").startswith(
            "Graph, line 2, column 20: unknown function '__import__' (allowed: abs,"
        )
        assert "∂L/∂w: sympy -9.0" in text_of(screen, "#sandbox-check")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the list again")
        assert app.screen.query_one("#lessons").highlighted == 0  # still on the sandbox
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox again",
        )
        assert app.screen.current_texts()[0] == "c = a + b\nL = (c*w - y)**2 + __import__('os')"


async def test_a_larger_graph_streams_its_steps(tmp_path):
    """More than SMALL_GRAPH nodes: the steps reach the screen one by one, then the whole."""
    graph = "\n".join(
        ["n1 = w*x"] + [f"n{i} = n{i - 1} + {i}*v" for i in range(2, 12)] + ["L = n11**2"]
    )
    app = make_app(tmp_path, sandbox=(graph, "x = 0.5, w = 2, v = -0.25", "w, v"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        await until(pilot, lambda: derived(screen), "the derivation")
        n = len(screen.derivation.steps)
        assert screen.streamed == n and n > 12
        assert (
            text_of(screen, "#sandbox-status") == f"12 nodes, {n} steps; the three gradients agree"
        )
        assert f"[{n}/{n}] Check ∂L/∂v: all three agree" in text_of(screen, "#sandbox-steps-text")


async def test_a_failing_derivation_is_shown_and_the_next_text_derives(tmp_path, monkeypatch):
    import tutor.ui.screens.sandbox as sandbox_screen

    real = sandbox_screen.derivation

    def derivation(lesson, on_step=None, cancelled=None):
        if lesson.graph.point["x"] == 0:
            raise ZeroDivisionError("float division by zero")
        return real(lesson, on_step, cancelled)

    monkeypatch.setattr(sandbox_screen, "derivation", derivation)
    app = make_app(tmp_path, sandbox=("L = w/x", "w = 1, x = 0", ""))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-point"),
            "the sandbox",
        )
        screen = app.screen
        await until(
            pilot,
            lambda: not screen.running and text_of(screen, "#sandbox-error") != "",
            "the failure",
        )
        assert (
            text_of(screen, "#sandbox-error")
            == "The derivation failed: ZeroDivisionError: float division by zero"
        )
        assert (
            text_of(screen, "#sandbox-status")
            == "Nothing derived yet: fix the problem on the left."
        )
        screen.query_one("#sandbox-point").focus()
        await pilot.press("end", "backspace", "2")
        await until(pilot, lambda: derived(screen), "the derivation at x = 2")
        assert text_of(screen, "#sandbox-error") == ""
        assert "∂L/∂w: sympy 0.5 | autograd 0.5 | finite diff. 0.5" in text_of(
            screen, "#sandbox-check"
        )


def reuse_chain(n: int) -> str:
    """n nodes, each the previous one squared plus itself: 3^n operations written out as a tree."""
    lines = ["a1 = w*x"] + [f"a{i} = a{i - 1}*a{i - 1} + a{i - 1}" for i in range(2, n)]
    return "\n".join(lines + [f"L = a{n - 1}*a{n - 1} + a{n - 1}"])


async def test_a_new_text_cancels_the_derivation_under_way_and_derives_itself(tmp_path):
    """The 18-node reuse chain (once more than a minute) typed, then changed while it derives: the
    changed text's derivation appears, and no derivation thread is left running."""
    app = make_app(tmp_path, sandbox=("L = w*x", "w = 0.01, x = 0.2", "w"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        await until(pilot, lambda: derived(screen), "the one-line graph's derivation")
        editor = screen.query_one("#sandbox-graph", TextArea)
        await pilot.press("ctrl+a")
        editor.replace(reuse_chain(18), *editor.selection)  # as a paste: the selection replaced
        assert screen.current_texts()[0] == reuse_chain(18)
        await until(
            pilot, lambda: screen.wanted[0] == reuse_chain(18), "the chain's derivation to start"
        )
        await pilot.press("ctrl+end")
        await type_text(pilot, " + w")
        changed = reuse_chain(18) + " + w"
        assert screen.current_texts()[0] == changed
        await until(pilot, lambda: derived(screen), "the changed chain's derivation")
        assert (
            screen.shown[0] == changed
            and screen.derivation.graph.nodes[-1].text == "a17*a17 + a17 + w"
        )
        status = text_of(screen, "#sandbox-status")
        assert (
            status == f"18 nodes, {len(screen.derivation.steps)} steps; the three gradients agree"
        )
        assert "∂L/∂w: sympy" in text_of(screen, "#sandbox-check") and "✓" in text_of(
            screen, "#sandbox-check"
        )
        await until(pilot, lambda: screen.in_flight == 0, "every derivation thread to stop")


async def test_the_graph_editor_keys_ctrl_end_ctrl_home_and_ctrl_a(tmp_path):
    app = make_app(
        tmp_path,
        sandbox=("c = a + b\nd = c*c\nL = (d*w - y)**2", "a = 1, b = 2, w = 0.5, y = 3", "w"),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        editor = screen.query_one("#sandbox-graph", TextArea)
        assert editor.has_focus and editor.cursor_location == (0, 0)
        await pilot.press("ctrl+end")
        assert editor.cursor_location == (
            2,
            len("L = (d*w - y)**2"),
        )  # the end of the text, not the line
        await pilot.press("ctrl+home")
        assert editor.cursor_location == (0, 0)
        await pilot.press("down", "right", "ctrl+a")
        assert editor.selected_text == editor.text  # all, not the line's start
        await type_text(pilot, "L = (w - y)**2")
        assert editor.text == "L = (w - y)**2"
        await until(pilot, lambda: text_of(screen, "#sandbox-error") != "", "the point's problem")
        assert (
            text_of(screen, "#sandbox-error")
            == "Point, column 1: 'a' is not an input or parameter "
            "of the graph (they are: w, y)"
        )


async def test_escape_and_back_keeps_the_last_good_derivation(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        await pilot.press("up", "up", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        await until(pilot, lambda: derived(screen), "the example's derivation")
        await pilot.press("ctrl+end")
        await type_text(pilot, " +")  # now the text has a problem
        await until(
            pilot,
            lambda: text_of(screen, "#sandbox-error") != "" and not screen.running,
            "the inline error",
        )
        steps, check = text_of(screen, "#sandbox-steps-text"), text_of(screen, "#sandbox-check")
        assert "∂L/∂w at the point = -9.0" in steps and "∂L/∂w: sympy -9.0" in check
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LessonListScreen), "the list again")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox again",
        )
        again = app.screen
        assert again is not screen and again.current_texts()[0] == "c = a + b\nL = (c*w - y)**2 +"
        assert (
            text_of(again, "#sandbox-error")
            == "Graph, line 2, column 19: not a valid expression: invalid syntax"
        )
        assert text_of(again, "#sandbox-status") == (
            "2 nodes, 10 steps; the three gradients agree · the last graph "
            "that derived (the text now has a problem)"
        )
        assert (
            text_of(again, "#sandbox-steps-text") == steps
            and text_of(again, "#sandbox-check") == check
        )
        assert "inputs: b = 2.0, y = 3.0" in text_of(again, "#sandbox-drawing")


async def test_the_62_node_reuse_chain_derives_in_the_sandbox(tmp_path):
    app = make_app(tmp_path, sandbox=(reuse_chain(62), "w = 0.01, x = 0.2", "w"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, SandboxScreen) and app.screen.query("#sandbox-graph"),
            "the sandbox",
        )
        screen = app.screen
        await until(pilot, lambda: derived(screen), "the chain's derivation")
        assert (
            text_of(screen, "#sandbox-status") == "62 nodes, 127 steps; the three gradients agree"
        )
        assert screen.streamed == 127 and screen.derivation.checks[0].ok
        steps = text_of(screen, "#sandbox-steps-text")
        assert "∂L/∂w (in the inputs) = too long to write out (about 5.1e29" in steps
        assert "[127/127] Check ∂L/∂w: all three agree" in steps
