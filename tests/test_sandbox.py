"""The sandbox's core (tutor/sandbox.py) and its command line: `derive` and `sandbox`.

`derive` one-liners are checked against torch autograd run here on the same maths, written out
by hand in float64; typing mistakes exit 2 with one line that says where."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tutor import cli
from tutor.lesson import load
from tutor.sandbox import SandboxError, lesson_toml, save, save_path, sketch

GRAPH = "c = a + b; L = (c*w - y)**2"
POINT = "a=1, b=2, w=0.5, y=3"


def error_of(graph: str, point: str = "", wrt: str = "") -> SandboxError:
    with pytest.raises(SandboxError) as info:
        sketch(graph, point, wrt)
    return info.value


# -- parsing what was typed --------------------------------------------------------------------


def test_leaves_split_into_inputs_and_parameters_by_wrt():
    sk = sketch("c = a + b\nL = (c*w - y)**2", "y = 3, w = 0.5, b = 2, a = 1", "w, a")
    assert [n.name for n in sk.nodes] == ["c", "L"] and sk.loss == "L"
    assert sk.inputs == ("b", "y")                      # leaves in order of first use
    assert sk.params == ("a", "w")
    assert sk.point == {"a": 1.0, "b": 2.0, "w": 0.5, "y": 3.0}
    assert sketch(GRAPH, POINT, "").params == ("a", "b", "w", "y")    # blank: every leaf
    g = sk.lesson().graph
    assert (g.inputs, g.params, g.loss) == (("b", "y"), ("a", "w"), "L")


@pytest.mark.parametrize("graph, point, wrt, field, line, column, message", [
    ("c = a + b; L = (c*w - y)**2 +", POINT, "", "graph", 1, 30, "not a valid expression: invalid syntax"),
    ("c = a + b\nL = (c*w - y)**2 + foo(c)", POINT, "", "graph", 2, 20,
     "unknown function 'foo' (allowed: abs, exp, leaky_relu, leaky_step, log, max, mean, relu, sigmoid, sign, softplus, sqrt, step, sum, tanh)"),
    ("c = a +* b\nL = c", "", "", "graph", 1, 8, "not a valid expression: invalid syntax"),
    ("c = L + b\nL = (c*w - y)**2", "", "", "graph", 1, 5,
     "'c' uses 'L', defined on a later line: write nodes in forward order, without cycles"),
    ("L = L*w", "", "", "graph", 1, 5, "'L' uses itself: write nodes in forward order, without cycles"),
    ("c = a\n  c = b", "", "", "graph", 2, 3, "'c' is defined twice"),
    ("a + b", "", "", "graph", 1, 1, "expected a node line 'name = expression'"),
    ("relu = a", "", "", "graph", 1, 1,
     "'relu' is not a usable node name (a letter, then letters, digits or _; not a function name)"),
    ("L = 2*3", "", "", "graph", 1, 5,
     "the graph has no inputs or parameters: the loss must depend on at least one name"),
    ("L = __import__('os').system('ls')", "", "", "graph", 1, 5,
     "only the named functions may be called: abs, exp, leaky_relu, leaky_step, log, max, mean, relu, sigmoid, sign, softplus, sqrt, step, sum, tanh"),
    ("L = w.__class__", "", "", "graph", 1, 6,
     "attribute access '.__class__' is not allowed (only '.T', the transpose)"),
    ("", "", "", "graph", 1, 1,
     "write at least one node line, such as L = (w*x - y)**2 (the last line is the loss)"),
    (GRAPH, "a=1, b=2, w=0.5", "", "point", 1, 16,
     "no value for 'y' (every input and parameter needs one, e.g. y = 1)"),
    (GRAPH, "a=1, b=two, w=0.5, y=3", "", "point", 1, 8, "'two' is not a finite number"),
    (GRAPH, "a=1, b=2, w=0.5, y=nan", "", "point", 1, 20, "'nan' is not a finite number"),
    (GRAPH, "a=1, q=2", "", "point", 1, 6, "'q' is not an input or parameter of the graph (they are: a, b, w, y)"),
    (GRAPH, "a=1, a=2", "", "point", 1, 6, "'a' is given twice"),
    (GRAPH, POINT, "w,q", "wrt", 1, 3, "unknown name 'q' (the graph's inputs and parameters: a, b, w, y)"),
    (GRAPH, POINT, "c", "wrt", 1, 1, "'c' is a node; the parameters are leaves (the graph's inputs and parameters: a, b, w, y)"),
])
def test_a_typing_mistake_names_its_field_line_and_column(graph, point, wrt, field, line, column, message):
    exc = error_of(graph, point, wrt)
    assert (exc.field, exc.line, exc.column, exc.message) == (field, line, column, message)


def test_more_nodes_than_a_lesson_allows_is_refused_at_the_first_extra_line():
    text = "\n".join(f"n{i} = a + {i}" for i in range(65))
    exc = error_of(text, "a = 1")
    assert (exc.line, exc.message) == (65, "more than 64 nodes")


# -- saving as a lesson ------------------------------------------------------------------------


def test_saved_lesson_passes_check_and_loads_with_the_same_graph(tmp_path):
    sk = sketch("z = w*x + b\np = sigmoid(z)\nL = (p - y)**2", "x = 2, y = 1, w = 0.5, b = -0.5", "w, b")
    path = save(sk, save_path("sigmoid-sketch", cwd=tmp_path))
    assert path == tmp_path / "sigmoid-sketch.toml"
    code, out, err = run_cli("--check", str(path))
    assert (code, out.strip(), err) == (0, f"{path}: ok", "")
    lesson = load(path)
    assert lesson.id == "sigmoid-sketch" and lesson.title == "Sandbox: L = (p - y)**2"
    assert lesson.parts == ("explain", "derive")
    assert [e.text for e in lesson.explain[0].equations] == ["w*x + b", "sigmoid(z)", "(p - y)**2"]
    assert "Replace this page with what the graph teaches." in lesson.explain[0].text
    g = lesson.graph
    assert (g.inputs, g.params, [n.text for n in g.nodes]) == (("x", "y"), ("w", "b"), ["w*x + b", "sigmoid(z)", "(p - y)**2"])
    assert g.point == {"w": 0.5, "x": 2.0, "b": -0.5, "y": 1.0}


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


# -- `backprop-tutor derive` --------------------------------------------------------------------


def torch_grads(fn, point: dict[str, float], wrt: list[str]) -> dict[str, float]:
    import torch

    env = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    fn(env).backward()
    return {p: float(env[p].grad) for p in wrt}


def _example(e):
    c = e["a"] + e["b"]
    return (c * e["w"] - e["y"]) ** 2


def _softplus(e):
    import torch

    z = e["w"] * e["x"] + e["b"]
    return (torch.log(1 + torch.exp(z)) - e["y"]) ** 2


def _used_twice(e):
    import torch

    u = e["w"] * e["x"]
    v = u * e["x"] + torch.sigmoid(u)
    return (v - e["y"]) ** 2


def _relu_tanh(e):
    import torch

    h = torch.relu(e["w1"] * e["x"])
    return (torch.tanh(h * e["w2"]) - e["y"]) ** 2 + torch.maximum(e["w1"], e["w2"])


@pytest.mark.parametrize("graph, at, wrt, fn", [
    (GRAPH, POINT, "w,a", _example),
    ("z = w*x + b; s = log(1 + exp(z)); L = (s - y)**2", "x=1.5, y=0.25, w=-0.7, b=0.3", "w,b", _softplus),
    ("u = w*x\nv = u*x + sigmoid(u)\nL = (v - y)**2", "x=-1.2, y=0.4, w=0.8", "w", _used_twice),
    ("h = relu(w1*x); L = (tanh(h*w2) - y)**2 + max(w1, w2)", "x=2, y=-0.5, w1=0.6, w2=-1.1", "w1,w2", _relu_tanh),
])
def test_derive_one_liner_agrees_with_torch_autograd(graph, at, wrt, fn):
    code, out, err = run_cli("derive", graph, "--at", at, "--wrt", wrt, "--json")
    assert (code, err) == (0, "")
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0] == {"event": "lesson", "id": "sandbox", "title": "Sandbox", "variant": None, "note": None}
    kinds = [e["event"] for e in events]
    assert set(kinds) == {"lesson", "derive", "gradcheck"}
    assert [e["step"] for e in events if e["event"] == "derive"] == list(range(1, kinds.count("derive") + 1))
    point = {k.strip(): float(v) for k, v in (p.split("=") for p in at.split(","))}
    params = wrt.split(",")
    expected = torch_grads(fn, point, params)
    checks = {e["param"]: e for e in events if e["event"] == "gradcheck"}
    assert sorted(checks) == sorted(params)
    for p in params:
        assert checks[p]["form"] == "scalar" and checks[p]["ok"] is True
        assert checks[p]["symbolic"] == pytest.approx(expected[p], rel=1e-9, abs=1e-12)
    chains = [e for e in events if e["event"] == "derive" and e["phase"] == "chain"]
    assert [e["node"] for e in chains] == [p for p in point if p in params]


def test_derive_text_prints_the_steps_and_the_check_as_a_headless_lesson_does():
    code, out, err = run_cli("derive", GRAPH, "--at", POINT, "--wrt", "w")
    assert (code, err) == (0, "")
    assert out.startswith("Sandbox  [sandbox]\n")
    assert "[1] Forward: c = a + b" in out
    assert "∂L/∂w at the point = -9.0" in out
    assert out.rstrip().endswith("∂L/∂w: -9.0 | -9.0 | -9.0   rel. error 8.3e-12 (good)  ok")


@pytest.mark.parametrize("args, message", [
    ((GRAPH + " +", "--at", POINT), "the graph, column 30: not a valid expression: invalid syntax"),
    (("c = a + b\nL = (c*w - y)**2 + foo(c)", "--at", POINT),
     "the graph, line 2, column 20: unknown function 'foo' (allowed: abs, exp, leaky_relu, leaky_step, log, max, "
     "mean, relu, sigmoid, sign, softplus, sqrt, step, sum, tanh)"),
    ((GRAPH, "--at", "a=1, b=2, w=0.5"), "--at, column 16: no value for 'y' (every input and parameter needs one, e.g. y = 1)"),
    ((GRAPH,), "--at, column 1: no value for 'a', 'b', 'w', 'y' (every input and parameter needs one, e.g. a = 1, "
               "b = 1, w = 1, y = 1)"),
    ((GRAPH, "--at", POINT, "--wrt", "w,q"), "--wrt, column 3: unknown name 'q' (the graph's inputs and parameters: a, b, w, y)"),
])
def test_derive_mistakes_exit_2_with_one_clear_line(args, message):
    code, out, err = run_cli("derive", *args)
    assert (code, out, err) == (2, "", f"backprop-tutor: {message}\n")
    code, out, err = run_cli("derive", *args, "--json")
    assert code == 2 and [json.loads(line) for line in out.splitlines()] == [{"event": "error", "message": message}]


def test_derive_without_a_graph_is_a_usage_error_with_json_event():
    code, out, err = run_cli("derive", "--json")
    assert code == 2 and "the following arguments are required: graph" in err
    assert json.loads(out)["event"] == "error"


def test_sandbox_subcommand_opens_the_tui_on_the_sandbox(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "_tui", lambda args: seen.append(args) or 0)
    assert cli.main(["sandbox"]) == 0
    assert cli.main(["sandbox", GRAPH, "--at", POINT, "--wrt", "w", "--ascii"]) == 0
    assert seen[0].sandbox == () and seen[0].lesson is None
    assert seen[1].sandbox == (GRAPH, POINT, "w") and seen[1].ascii is True


def test_sandbox_at_without_a_graph_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["sandbox", "--at", "a=1"])
    assert info.value.code == 2
    assert "--at and --wrt need a GRAPH" in capsys.readouterr().err


def test_a_core_failure_at_the_point_exits_3_with_one_line(monkeypatch, capsys):
    import tutor.derive

    def fail(lesson, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(tutor.derive, "derive", fail)
    assert cli.main(["derive", "L = w/x", "--at", "w=1, x=2", "--json"]) == 3
    out, err = capsys.readouterr()
    message = "the derivation failed at this point: ZeroDivisionError: float division by zero"
    assert err == f"backprop-tutor: {message}\n"
    assert [json.loads(line)["event"] for line in out.splitlines()] == ["lesson", "error"]
    assert json.loads(out.splitlines()[-1])["message"] == message
