"""The sandbox's core (tutor/sandbox/) and its command line: `derive` and `sandbox`.

`derive` one-liners are checked against torch autograd run here on the same maths, written out
by hand in float64; typing mistakes exit 2 with one line that says where."""

from __future__ import annotations

import pytest

from tests.cli.test_sandbox import GRAPH, POINT
from tutor.sandbox import SandboxError, lesson_toml, save, save_path, sketch


def error_of(graph: str, point: str = "", wrt: str = "") -> SandboxError:
    with pytest.raises(SandboxError) as info:
        sketch(graph, point, wrt)
    return info.value


def test_leaves_split_into_inputs_and_parameters_by_wrt():
    sk = sketch("c = a + b\nL = (c*w - y)**2", "y = 3, w = 0.5, b = 2, a = 1", "w, a")
    assert [n.name for n in sk.nodes] == ["c", "L"] and sk.loss == "L"
    assert sk.inputs == ("b", "y")  # leaves in order of first use
    assert sk.params == ("a", "w")
    assert sk.point == {"a": 1.0, "b": 2.0, "w": 0.5, "y": 3.0}
    assert sketch(GRAPH, POINT, "").params == ("a", "b", "w", "y")  # blank: every leaf
    g = sk.lesson().graph
    assert (g.inputs, g.params, g.loss) == (("b", "y"), ("a", "w"), "L")


@pytest.mark.parametrize(
    "graph, point, wrt, field, line, column, message",
    [
        (
            "c = a + b; L = (c*w - y)**2 +",
            POINT,
            "",
            "graph",
            1,
            30,
            "not a valid expression: invalid syntax",
        ),
        (
            "c = a + b\nL = (c*w - y)**2 + foo(c)",
            POINT,
            "",
            "graph",
            2,
            20,
            "unknown function 'foo' (allowed: abs, colmean, colsum, exp, leaky_relu, leaky_step, log, max, mean, onehot, relu, "
            "rowmax, rowmean, rowsum, sigmoid, sign, softplus, sqrt, step, sum, tanh, tril)",
        ),
        ("c = a +* b\nL = c", "", "", "graph", 1, 8, "not a valid expression: invalid syntax"),
        (
            "c = L + b\nL = (c*w - y)**2",
            "",
            "",
            "graph",
            1,
            5,
            "'c' uses 'L', defined on a later line: write nodes in forward order, without cycles",
        ),
        (
            "L = L*w",
            "",
            "",
            "graph",
            1,
            5,
            "'L' uses itself: write nodes in forward order, without cycles",
        ),
        ("c = a\n  c = b", "", "", "graph", 2, 3, "'c' is defined twice"),
        ("a + b", "", "", "graph", 1, 1, "expected a node line 'name = expression'"),
        (
            "relu = a",
            "",
            "",
            "graph",
            1,
            1,
            "'relu' is not a usable node name (a letter, then letters, digits or _; not a function name)",
        ),
        (
            "L = 2*3",
            "",
            "",
            "graph",
            1,
            5,
            "the graph has no inputs or parameters: the loss must depend on at least one name",
        ),
        (
            "L = __import__('os').system('ls')",
            "",
            "",
            "graph",
            1,
            5,
            "only the named functions may be called: abs, colmean, colsum, exp, leaky_relu, leaky_step, log, max, mean, onehot, relu, rowmax, rowmean, rowsum, sigmoid, sign, softplus, sqrt, step, sum, tanh, tril",
        ),
        (
            "L = w.__class__",
            "",
            "",
            "graph",
            1,
            6,
            "attribute access '.__class__' is not allowed (only '.T', the transpose)",
        ),
        (
            "",
            "",
            "",
            "graph",
            1,
            1,
            "write at least one node line, such as L = (w*x - y)**2 (the last line is the loss)",
        ),
        (
            GRAPH,
            "a=1, b=2, w=0.5",
            "",
            "point",
            1,
            16,
            "no value for 'y' (every input and parameter needs one, e.g. y = 1)",
        ),
        (GRAPH, "a=1, b=two, w=0.5, y=3", "", "point", 1, 8, "'two' is not a finite number"),
        (GRAPH, "a=1, b=2, w=0.5, y=nan", "", "point", 1, 20, "'nan' is not a finite number"),
        (
            GRAPH,
            "a=1, q=2",
            "",
            "point",
            1,
            6,
            "'q' is not an input or parameter of the graph (they are: a, b, w, y)",
        ),
        (GRAPH, "a=1, a=2", "", "point", 1, 6, "'a' is given twice"),
        (
            GRAPH,
            POINT,
            "w,q",
            "wrt",
            1,
            3,
            "unknown name 'q' (the graph's inputs and parameters: a, b, w, y)",
        ),
        (
            GRAPH,
            POINT,
            "c",
            "wrt",
            1,
            1,
            "'c' is a node; the parameters are leaves (the graph's inputs and parameters: a, b, w, y)",
        ),
    ],
)
def test_a_typing_mistake_names_its_field_line_and_column(
    graph, point, wrt, field, line, column, message
):
    exc = error_of(graph, point, wrt)
    assert (exc.field, exc.line, exc.column, exc.message) == (field, line, column, message)


def test_more_nodes_than_a_lesson_allows_is_refused_at_the_first_extra_line():
    text = "\n".join(f"n{i} = a + {i}" for i in range(65))
    exc = error_of(text, "a = 1")
    assert (exc.line, exc.message) == (65, "more than 64 nodes")


def test_save_keeps_an_existing_file_and_refuses_a_name_that_is_not_an_id(tmp_path):
    sk = sketch(GRAPH, POINT, "w")
    path = save(sk, save_path("one.toml", cwd=tmp_path))
    with pytest.raises(Exception, match="already exists: choose another name"):
        save(sk, path)
    assert save(sk, path, overwrite=True) == path
    with pytest.raises(Exception, match="'My Graph' cannot be a lesson id"):
        save_path("My Graph", cwd=tmp_path)
    assert save_path("sub/two", cwd=tmp_path) == tmp_path / "sub" / "two.toml"


def test_toml_strings_escape_whatever_a_comment_may_hold():
    sk = sketch('L = (w - 1)**2  # "quoted" \\ and \x7f', "w = 2")
    text = lesson_toml(sk, "odd", "Odd")
    import tomllib

    assert tomllib.loads(text)["graph"]["nodes"][0]["expr"] == '(w - 1)**2  # "quoted" \\ and \x7f'
