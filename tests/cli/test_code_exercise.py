"""Issue 16, part 2: `code` exercises. The learner's file runs in a separate, limited process;
each case gets its exact verdict, and the tutor's process never runs the learner's code."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from tutor.cli import main
from tutor.cli.code import code_exercise
from tutor.code.check import CPU_SECONDS, SEEDS, WALL_SECONDS, check_source, table
from tutor.code.template import reference, template
from tutor.errors import LessonError
from tutor.lesson import catalogue, load, loads

CORRECT = """import numpy as np


def backward(x, y, w1, w2):
    z1 = x @ w1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2
    print("hello from the learner")
    dz2 = 2 * (z2 - y)
    dw2 = h1.T @ dz2
    dh1 = dz2 @ w2.T
    dz1 = dh1 * (z1 > 0)
    dw1 = x.T @ dz1
    return dw1, dw2
"""


@pytest.fixture(scope="module")
def relu():
    lesson = load(next(i.path for i in catalogue() if i.id == "two-layer-relu"))
    return lesson, code_exercise(lesson, "backward")


def test_the_starting_file_comes_from_the_graph(relu):
    lesson, ex = relu
    text = template(lesson, ex)
    assert "def backward(x, y, w1, w2):" in text
    for line in (
        "x: N x D = 50 x 2",
        "w1: D x H = 2 x 100",
        "w2: H x K = 100 x 2",
        "y: N x K = 50 x 2",
        "z1 = x @ w1",
        "h1 = np.maximum(z1, 0)",
        "z2 = h1 @ w2",
        "L = np.sum((z2 - y) ** 2)",
        "dw1 = ...    # D x H = 2 x 100",
        "return dw1, dw2",
    ):
        assert line in text
    result = check_source(lesson, ex, text)
    assert not result.ok and [o.verdict for o in result.outputs] == ["missing", "missing"]
    assert "dw1 is still ... : write it" in table(result)


def test_a_correct_backward_passes_and_ran_in_another_process(relu, capsys):
    lesson, ex = relu
    result = check_source(lesson, ex, CORRECT)
    assert result.ok, table(result)
    assert [(o.name, o.verdict, o.shape) for o in result.outputs] == [
        ("dw1", "ok", (2, 4)),
        ("dw2", "ok", (4, 2)),
    ]
    assert all(o.rel_error <= 1e-7 for o in result.outputs)
    assert result.pid is not None and result.pid != os.getpid()
    assert (
        result.stdout == "hello from the learner\n" * SEEDS
    )  # once per seed, captured there, never printed here
    assert "hello" not in capsys.readouterr().out


def test_w2_in_place_of_its_transpose_is_named_with_the_learners_line(relu):
    lesson, ex = relu
    result = check_source(lesson, ex, CORRECT.replace("dh1 = dz2 @ w2.T", "dh1 = dz2 @ w2"))
    assert not result.ok
    assert result.error.startswith("line 11: ValueError: matmul")
    assert result.error.endswith(
        "(the shapes of a product do not fit: is a .T missing, or one too many?)"
    )


def test_a_missing_relu_mask_is_named(relu):
    lesson, ex = relu
    result = check_source(lesson, ex, CORRECT.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1"))
    assert [o.verdict for o in result.outputs] == ["no-relu-mask", "ok"]
    assert result.outputs[0].message.startswith(
        "dw1: the ReLU mask is missing: the gradient must be 0 wherever z1 < 0"
    )


def test_a_transposed_result_and_a_missing_factor_of_two_are_named(relu):
    lesson, ex = relu
    result = check_source(lesson, ex, CORRECT.replace("return dw1, dw2", "return dw1.T, dw2"))
    assert result.outputs[0].verdict == "transposed"
    assert result.outputs[0].message == "dw1: you returned 4×2, ∂L/∂w1 is 2×4: transposed?"
    result = check_source(lesson, ex, CORRECT.replace("dz2 = 2 * (z2 - y)", "dz2 = z2 - y"))
    assert [o.verdict for o in result.outputs] == ["factor-2", "factor-2"]


def test_an_endless_loop_is_stopped_by_the_time_limit(relu):
    lesson, ex = relu
    result = check_source(
        lesson, ex, "def backward(x, y, w1, w2):\n    while True:\n        pass\n"
    )
    assert result.error in (
        f"stopped after {WALL_SECONDS:g} s (the time limit): does a loop never end?",
        f"stopped after {CPU_SECONDS} s of CPU time (the time limit): does a loop never end?",
    )
    assert result.pid is None and not result.outputs


def test_an_allocation_without_bound_runs_out_of_memory(relu):
    lesson, ex = relu
    # np.empty reserves address space without touching it: the limit is reached in a few calls, so
    # a loaded machine cannot turn this into a wall-time stop first
    source = (
        "import numpy as np\n\ndef backward(x, y, w1, w2):\n    keep = []\n    while True:\n"
        "        keep.append(np.empty(10**7))\n"
    )
    result = check_source(lesson, ex, source)
    assert result.error == (
        "line 6: ran out of memory: the limit is 1024 MiB "
        "(is something allocated in a loop that never ends?)"
    )


def test_an_exception_is_reported_with_the_learners_line(relu):
    lesson, ex = relu
    source = "import numpy as np\n\n\ndef backward(x, y, w1, w2):\n    z1 = x @ w1\n    raise KeyError('oops')\n"
    assert check_source(lesson, ex, source).error == "line 6: KeyError: 'oops'"
    assert (
        check_source(lesson, ex, "import os\n").error
        == "line 1: import os: only math, numpy can be imported here"
    )
    assert check_source(lesson, ex, "def backward(x y):\n").error.startswith("line 1: SyntaxError")


@pytest.mark.parametrize(
    "item",
    [i for i in catalogue() if load(i.path).graph is not None and load(i.path).graph.shapes],
    ids=lambda i: i.id,
)
def test_every_lesson_with_shapes_has_a_code_exercise_its_reference_solves(item):
    lesson = load(item.path)
    codes = [e for e in lesson.exercises if e.kind == "code"]
    assert codes
    for ex in codes:
        result = check_source(lesson, ex, reference(lesson, ex))
        assert result.ok, table(result)


def test_headless_code_check_json_and_exit_status(tmp_path, capsys):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(CORRECT)
    bad.write_text(CORRECT.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1"))
    assert main(["two-layer-relu", "--code", f"backward={good}", "--json"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["event"] == "codecheck" and event["id"] == "backward" and event["ok"] is True
    assert event["error"] is None
    assert [
        (o["name"], o["shape"], o["expected_shape"], o["verdict"]) for o in event["outputs"]
    ] == [("dw1", [2, 4], [2, 4], "ok"), ("dw2", [4, 2], [4, 2], "ok")]
    assert main(["two-layer-relu", "--code", f"backward={bad}", "--json"]) == 1
    event = json.loads(capsys.readouterr().out)
    assert event["ok"] is False and event["outputs"][0]["verdict"] == "no-relu-mask"
    assert main(["two-layer-relu", "--code", f"nope={good}"]) == 2
    assert capsys.readouterr().err == (
        "backprop-tutor: lesson two-layer-relu has no code exercise 'nope' "
        "(its code exercises: backward)\n"
    )
    assert main(["two-layer-relu", "--code", f"nope={good}", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {
        "event": "error",
        "message": "lesson two-layer-relu has no code exercise 'nope' (its code exercises: backward)",
    }
    assert main(["two-layer-relu", "--code", "backward", "--template"]) == 0
    assert capsys.readouterr().out.startswith(
        "'The chain rule through a hidden layer: exercise backward. Write the backward pass.'\n"
    )


def test_a_code_exercise_names_gradients_of_the_graph():
    text = (
        b'schema = 1\nid = "t"\ntitle = "t"\n[[explain]]\ntitle = "p"\ntext = "p"\n[graph]\ninputs = ["x"]\n'
        b'params = ["w"]\n[[graph.nodes]]\nname = "L"\nexpr = "(w*x)**2"\n[graph.point]\nx = 1.0\nw = 2.0\n'
        b'[[exercises]]\nid = "c"\nkind = "code"\nprompt = "p"\nwrt = ["L"]\n'
    )
    with pytest.raises(LessonError) as info:
        loads(text)
    assert "'L' is not a parameter or node of the graph" in info.value.message
    lesson = loads(text.replace(b'wrt = ["L"]', b'wrt = ["w"]'))
    assert lesson.exercises[0].wrt == ("w",)


def test_every_function_of_the_operation_table_has_a_numpy_spelling():
    from tutor.code.template import CALLS
    from tutor.expr import FUNCTIONS

    assert set(FUNCTIONS) <= set(CALLS)


def test_a_scalar_graph_and_a_nodes_gradient():
    """No shapes: every name is a number; wrt may name an intermediate node (a node's backward)."""
    lesson = load(next(i.path for i in catalogue() if i.id == "mlp-digits"))
    ex = dataclasses.replace(lesson.exercises[0], id="t", kind="code", wrt=("w1", "z1"))
    text = reference(lesson, ex)
    assert (
        "    dlogp = -1\n    dz2 = dlogp - dlogp / (np.exp(z2) + np.exp(c)) * np.exp(z2)\n" in text
    )
    assert text.endswith("    return dw1, dz1\n")
    assert check_source(lesson, ex, text).ok
    wrong = text.replace("dz1 = dh1 * (z1 > 0)", "dz1 = dh1")
    assert [o.verdict for o in check_source(lesson, ex, wrong).outputs] == [
        "no-relu-mask",
        "no-relu-mask",
    ]


def test_float32_exit_and_a_generator_are_named(relu):
    lesson, ex = relu
    result = check_source(
        lesson, ex, CORRECT.replace("return dw1, dw2", "return dw1.astype(np.float32), dw2")
    )
    assert [o.verdict for o in result.outputs] == ["dtype", "ok"]
    assert result.outputs[0].message.startswith("dw1 is float32 (its values agree to ")
    assert check_source(
        lesson, ex, "def backward(x, y, w1, w2):\n    raise SystemExit(3)\n"
    ).error == ("line 2: SystemExit: the code tried to end the process")
    result = check_source(
        lesson, ex, "def backward(x, y, w1, w2):\n    return (g for g in (w1, w2))\n"
    )
    assert result.outputs[0].message == "dw1: the function returned a generator, not the gradients"
    result = check_source(
        lesson, ex, CORRECT.replace("return dw1, dw2", "return dw1 * np.nan, dw2")
    )
    assert [o.verdict for o in result.outputs] == ["nan", "ok"]
