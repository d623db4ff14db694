"""The missing-branch diagnosis where paths share their first step: named by the whole path."""

from __future__ import annotations

from tutor.exercises import check_answer
from tutor.lesson import loads

LESSON = """
id = "branches"
title = "b"
[[explain]]
title = "x"
text = "x"
[graph]
inputs = ["x"]
params = ["w"]
[[graph.nodes]]
name = "a"
expr = "w*x"
[[graph.nodes]]
name = "b"
expr = "a**2"
[[graph.nodes]]
name = "c"
expr = "tanh(a)"
[[graph.nodes]]
name = "L"
expr = "b + 3*c"
[graph.point]
x = 0.5
w = 0.7
[[exercises]]
id = "grad-w"
kind = "derivative"
prompt = "∂L/∂w"
answer = "(2*a + 3*(1 - c**2))*x"
step = "w"
"""


def test_paths_through_one_node_are_named_whole():
    lesson = loads(LESSON)
    v = check_answer(lesson, "grad-w", "2*a*x")
    assert not v.correct
    assert v.message == (
        "You have the path w → a → b → L; the path w → a → c → L is missing: w reaches the loss "
        "along 2 paths, and its gradient is the sum over both."
    )
    assert v.feedback == "missing path w → a → c → L"
    assert check_answer(lesson, "grad-w", "3*(1 - c**2)*x").message.startswith(
        "You have the path w → a → c → L;"
    )
