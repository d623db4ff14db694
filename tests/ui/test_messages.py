"""Issue 27, item 9: leaf widgets post typed messages up instead of calling their screen's methods
by name (the heatmap's size, a neuron chosen): read from the widgets' syntax trees."""

from __future__ import annotations

import ast
from pathlib import Path

import tutor.ui.widgets

WIDGETS = Path(tutor.ui.widgets.__file__).parent
TEXTUAL_OWN = {"query", "query_one", "set_focus", "refresh", "post_message"}  # the Screen's own API


def screen_calls(source: str) -> list[str]:
    """Each `self.screen.NAME(…)` whose NAME is not Textual's own Screen API."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "screen"
            and node.func.attr not in TEXTUAL_OWN
        ):
            out.append(f"{node.lineno}: self.screen.{node.func.attr}(…)")
    return out


def test_the_rule_catches_a_call_into_the_screen():
    assert screen_calls("def f(self):\n    self.screen.select(1, 2)\n") == [
        "2: self.screen.select(…)"
    ]
    assert screen_calls("def f(self):\n    self.post_message(X())\n") == []


def test_leaf_widgets_call_no_screen_method():
    found = {
        p.name: screen_calls(p.read_text(encoding="utf-8")) for p in sorted(WIDGETS.glob("*.py"))
    }
    assert {name: calls for name, calls in found.items() if calls} == {}


def app_pushes(source: str) -> list[str]:
    """Each `….push_screen(…)`: a screen opened from where the call is."""
    return [
        f"{node.lineno}: push_screen"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "push_screen"
    ]


def test_the_exercises_pane_asks_its_screen_for_the_editor():
    """panes/exercises.py posts OpenCode; the lesson screen pushes CodeScreen (the pilot test
    test_code_ui.py drives it: a opens the editor, escape comes back to the exercise)."""
    import tutor.ui.panes.exercises as exercises
    import tutor.ui.screens.lesson as lesson

    assert app_pushes("def f(self):\n    self.app.push_screen(X())\n") == ["2: push_screen"]
    assert app_pushes(Path(exercises.__file__).read_text(encoding="utf-8")) == []
    assert "OpenCode(self, self.current)" in Path(exercises.__file__).read_text(encoding="utf-8")
    assert "@on(OpenCode)" in Path(lesson.__file__).read_text(encoding="utf-8")
