"""Issue 26, item 2: [graph.values] and [graph.entries], the teacher's own arrays for a graph's
leaves. Every bad array is one `FILE:LINE: KEY: message` error when the file is read (sizes against
[graph.shapes] and [graph.dims], finite numbers, class labels, MAX_LEAF_VALUES), and a graph too
large to show whole is summarised, its finite differences bounded by MAX_FD_ENTRIES."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import FIXTURES_DIR
from tutor.derive import cache, derive
from tutor.derive.values import fd_entries, leaf_arrays
from tutor.errors import LessonError
from tutor.lesson import loads
from tutor.lesson.limits import MAX_FD_ENTRIES, MAX_LEAF_VALUES

BASE = """schema = 1
id = "vals"
title = "Values"
summary = "A graph at its own arrays."

[[explain]]
title = "Values"
text = "x @ W + b, squared and summed."

[graph]
inputs = ["x"]
params = ["W", "b"]

[[graph.nodes]]
name = "z"
expr = "x @ W + b"

[[graph.nodes]]
name = "L"
expr = "sum(z**2)"

[graph.point]
x = 1.0
W = 0.5
b = 0.1

[graph.shapes]
x = ["N", "D"]
W = ["D", "K"]
b = ["K"]

[graph.dims]
N = 2
D = 3
K = 2

[graph.values]
x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]
W = { recipe = "normal", seed = 0, scale = 0.1 }
b = [0.5, -0.5]
"""


def error_of(text: str) -> str:
    with pytest.raises(LessonError) as info:
        loads(text, "vals.toml")
    return str(info.value)


def line_of(text: str, start: str, after: str = "") -> int:
    """The first line that starts with `start` (after the line `after`, where given)."""
    lines = text.splitlines()
    first = lines.index(after) if after else 0
    return next(i for i, line in enumerate(lines[first:], first + 1) if line.startswith(start))


def test_the_arrays_are_read_and_drawn_as_the_notebooks_draw():
    g = loads(BASE, "vals.toml").graph
    arrays = leaf_arrays(g)
    np.random.seed(0)  # CS231n's: np.random.seed(0); std * np.random.randn(D, H)
    assert np.array_equal(arrays["W"], 0.1 * np.random.randn(3, 2))
    assert arrays["x"].tolist() == [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]
    assert arrays["b"].tolist() == [0.5, -0.5]
    uniform = leaf_arrays(
        loads(BASE.replace('recipe = "normal"', 'recipe = "uniform"'), "v.toml").graph
    )["W"]
    assert np.array_equal(uniform, np.random.RandomState(0).uniform(-0.1, 0.1, (3, 2)))
    zeros = leaf_arrays(
        loads(
            BASE.replace(
                'W = { recipe = "normal", seed = 0, scale = 0.1 }', 'W = { recipe = "zeros" }'
            ),
            "v.toml",
        ).graph
    )["W"]
    assert np.array_equal(zeros, np.zeros((3, 2)))


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        (
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            "x = [[1.0, 2.0, 3.0]]",
            "graph.values.x",
            "expected 2 rows (N = 2, from [graph.shapes] and [graph.dims]), found 1",
        ),
        (
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5]]",
            "graph.values.x",
            "row 1 should have 3 numbers (D = 3), found 2",
        ),
        (
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            "x = [[1.0, nan, 3.0], [-1.0, 0.5, 2.0]]",
            "graph.values.x[0][1]",
            "expected a finite number",
        ),
        (
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2e13]]",
            "graph.values.x[1][2]",
            "expected a finite number of size at most 1e+12, found 2e+13",
        ),
        (
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            'x = [[1.0, "2", 3.0], [-1.0, 0.5, 2.0]]',
            "graph.values.x[0][1]",
            "expected a number, found a string",
        ),
        (
            "b = [0.5, -0.5]",
            "b = [0.5, -0.5, 1.0]",
            "graph.values.b",
            "expected 2 numbers (K = 2, from [graph.shapes] and [graph.dims]), found 3",
        ),
        (
            'recipe = "normal"',
            'recipe = "gaussian"',
            "graph.values.W.recipe",
            "'gaussian' is not one of: normal, uniform, zeros",
        ),
        ("seed = 0,", "", "graph.values.W.seed", "required key is missing"),
        ("scale = 0.1", "scale = -1.0", "graph.values.W.scale", "-1 is below the minimum 0"),
        (
            "b = [0.5, -0.5]",
            "",
            "graph.values",
            "no array for b: [graph.values] gives every input and parameter one",
        ),
        (
            "b = [0.5, -0.5]",
            "b = [0.5, -0.5]\nq = 1.0",
            "graph.values.q",
            "'q' is not an input or parameter",
        ),
        (
            "N = 2",
            "N = 200",
            "graph.values.x",
            "expected 200 rows (N = 200, from [graph.shapes] and [graph.dims]), found 2",
        ),
    ],
)
def test_a_bad_array_is_one_located_error(old, new, key, message):
    text = BASE.replace(old, new)
    assert text != BASE
    first = key.split(".")[-1].split("[")[0]
    lines = {"graph.values": "[graph.values]"}
    where = line_of(
        text,
        lines.get(key, "W = {" if key.startswith("graph.values.W") else f"{first} ="),
        "[graph.values]",
    )
    assert error_of(text) == f"vals.toml:{where}: {key}: {message}"


def test_arrays_and_nodes_are_bounded_by_max_leaf_values():
    big = BASE.replace("N = 2", "N = 5000").replace(
        "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
        'x = { recipe = "normal", seed = 1, scale = 1.0 }',
    )
    assert error_of(big) == (
        f"vals.toml:{line_of(big, 'x = {')}: graph.values.x: x is N×D = 5000×3, 15,000 "
        f"entries; the limit is {MAX_LEAF_VALUES:,} (MAX_LEAF_VALUES)"
    )
    wide = (
        BASE.replace("N = 2", "N = 100")
        .replace("K = 2", "K = 200")
        .replace(
            "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
            'x = { recipe = "normal", seed = 1, scale = 1.0 }',
        )
        .replace("b = [0.5, -0.5]", 'b = { recipe = "zeros" }')
    )
    expr_line = line_of(wide, 'expr = "x @ W + b"')
    assert error_of(wide) == (
        f"vals.toml:{expr_line}: graph.nodes[0].expr: at the "
        f"arrays' sizes z is N×K = 100×200, 20,000 entries; the limit is 10,000 "
        f"(MAX_LEAF_VALUES)"
    )


def test_named_entries_and_arrays_without_shapes_are_checked():
    text = BASE + "\n[graph.entries]\nW = [[3, 0]]\n"
    assert error_of(text) == (
        f"vals.toml:{line_of(text, 'W = [[3, 0]]')}: graph.entries.W[0]: expected an index "
        "of 2 whole numbers within 3×2 (D×K), counted from 0, found [3, 0]"
    )
    text = BASE + "\n[graph.entries]\nL = [[0]]\n"
    assert error_of(text).endswith("graph.entries.L: 'L' is a scalar: it has no entries to name")
    start, end = BASE.index("[graph.shapes]"), BASE.index("[graph.values]")
    plain = BASE[:start] + BASE[end:].replace(
        "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]", "x = 1.0"
    ).replace('W = { recipe = "normal", seed = 0, scale = 0.1 }', "W = 0.5").replace(
        "b = [0.5, -0.5]", "b = 0.1"
    )
    assert error_of(plain) == (
        f"vals.toml:{line_of(plain, '[graph.values]')}: graph.values: arrays belong to the "
        "matrix form: give the graph [graph.shapes] and [graph.dims]"
    )


def test_class_labels_are_whole_classes_and_listed():
    toy = (FIXTURES_DIR / "courses" / "cs231n-toy-net.toml").read_text("utf-8")
    bad = toy.replace("y = [0, 1, 2, 2, 1]\nW1", "y = [0, 1, 3, 2, 1]\nW1")
    assert bad != toy
    assert error_of(bad) == (
        f"vals.toml:{line_of(bad, 'y = [0, 1, 3, 2, 1]')}: graph.values.y: a class label must "
        "be a whole number from 0 to 2 (C = 3), found 3"
    )
    drawn = toy.replace("y = [0, 1, 2, 2, 1]\nW1", 'y = { recipe = "zeros" }\nW1')
    assert error_of(drawn).endswith(
        "graph.values.y: 'y' holds class labels: list them (a recipe draws no labels)"
    )


LARGE = (
    BASE.replace("N = 2", "N = 30")
    .replace("D = 3", "D = 20")
    .replace("K = 2", "K = 12")
    .replace(
        "x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]",
        'x = { recipe = "uniform", seed = 3, scale = 1.0 }',
    )
    .replace("b = [0.5, -0.5]", 'b = { recipe = "normal", seed = 4, scale = 1.0 }')
    + "\n[graph.entries]\nW = [[19, 11], [0, 0]]\n"
)


def test_a_large_array_is_summarised_and_its_check_bounded():
    lesson = loads(LARGE, "large.toml")
    deriv = derive(lesson, use_cache=False)
    arrays = leaf_arrays(lesson.graph)
    grad_W = arrays["x"].T @ (2 * (arrays["x"] @ arrays["W"] + arrays["b"]))  # ∂ sum(z²)/∂W = xᵀ·2z
    step = next(
        s
        for s in deriv.steps
        if s.phase == "values" and s.title.startswith("Gradient") and s.node == "W"
    )
    assert np.allclose(step.table, grad_W, rtol=1e-12, atol=0)
    lines = dict(step.lines)
    assert (
        lines["shape"] == "D×K = 20×12" and "entries" not in lines
    )  # 12 columns: too wide to lay out
    at = np.unravel_index(np.argmax(np.abs(grad_W)), grad_W.shape)
    assert lines["max |entry|"] == f"{np.max(np.abs(grad_W)):.6g} at [{at[0]}, {at[1]}]"
    assert float(lines["∂L/∂W[19, 11]"]) == pytest.approx(grad_W[19, 11], rel=5e-6)
    chk = next(c for c in deriv.values_checks if c.param == "W")
    picked = fd_entries(lesson.graph, "W", chk.symbolic)
    assert len(picked) == MAX_FD_ENTRIES and picked[:2] == [(19, 11), (0, 0)]
    rest = [abs(grad_W[i]) for i in picked[2:]]
    assert min(rest) >= max(abs(grad_W[i]) for i in np.ndindex(grad_W.shape) if i not in picked)
    assert chk.ok and len(chk.numeric) == MAX_FD_ENTRIES
    check_step = next(s for s in deriv.steps if s.check is chk)
    assert dict(check_step.lines)["finite differences"] == (
        f"central, h = 1e-06, at {MAX_FD_ENTRIES} of its 240 entries "
        f"(MAX_FD_ENTRIES = {MAX_FD_ENTRIES}: the named ones, then the largest |g|)"
    )
    small = next(
        s
        for s in deriv.steps
        if s.phase == "values" and s.node == "b" and s.title.startswith("Gradient")
    )
    assert "max |entry|" in dict(small.lines)  # 12 numbers: one row, wider than FULL_COLS (10)
    x_step = next(s for s in deriv.steps if s.phase == "values" and s.node == "x")
    assert x_step.table.shape == (30, 20) and "max |entry|" in dict(x_step.lines)


def test_the_cache_keeps_the_arrays_and_the_checks():
    lesson = loads(BASE, "vals.toml")
    deriv = derive(lesson, use_cache=False)
    again = cache.undump(lesson, cache.dump(deriv))
    assert [c.param for c in again.values_checks] == ["W", "b"]
    for before, after in zip(deriv.steps, again.steps, strict=True):
        if before.table is None:
            assert after.table is None
        else:
            assert np.array_equal(np.asarray(before.table), after.table)
    step = next(s for s in again.steps if s.check is again.values_checks[0])
    assert step.phase == "values" and step.check.ok
