"""The sandbox's core (tutor/sandbox/) and its command line: `derive` and `sandbox`.

`derive` one-liners are checked against torch autograd run here on the same maths, written out
by hand in float64; typing mistakes exit 2 with one line that says where."""

from __future__ import annotations

import json

import pytest

from tests.support import run_cli
from tutor import cli
from tutor.lesson import load
from tutor.sandbox import save, save_path, sketch

GRAPH = "c = a + b; L = (c*w - y)**2"


POINT = "a=1, b=2, w=0.5, y=3"


def test_saved_lesson_passes_check_and_loads_with_the_same_graph(tmp_path):
    sk = sketch(
        "z = w*x + b\np = sigmoid(z)\nL = (p - y)**2", "x = 2, y = 1, w = 0.5, b = -0.5", "w, b"
    )
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
    assert (g.inputs, g.params, [n.text for n in g.nodes]) == (
        ("x", "y"),
        ("w", "b"),
        ["w*x + b", "sigmoid(z)", "(p - y)**2"],
    )
    assert g.point == {"w": 0.5, "x": 2.0, "b": -0.5, "y": 1.0}


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


@pytest.mark.parametrize(
    "graph, at, wrt, fn",
    [
        (GRAPH, POINT, "w,a", _example),
        (
            "z = w*x + b; s = log(1 + exp(z)); L = (s - y)**2",
            "x=1.5, y=0.25, w=-0.7, b=0.3",
            "w,b",
            _softplus,
        ),
        ("u = w*x\nv = u*x + sigmoid(u)\nL = (v - y)**2", "x=-1.2, y=0.4, w=0.8", "w", _used_twice),
        (
            "h = relu(w1*x); L = (tanh(h*w2) - y)**2 + max(w1, w2)",
            "x=2, y=-0.5, w1=0.6, w2=-1.1",
            "w1,w2",
            _relu_tanh,
        ),
    ],
)
def test_derive_one_liner_agrees_with_torch_autograd(graph, at, wrt, fn):
    code, out, err = run_cli("derive", graph, "--at", at, "--wrt", wrt, "--json")
    assert (code, err) == (0, "")
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0] == {
        "event": "lesson",
        "id": "sandbox",
        "title": "Sandbox",
        "variant": None,
        "note": None,
    }
    kinds = [e["event"] for e in events]
    assert set(kinds) == {"lesson", "derive", "gradcheck"}
    assert [e["step"] for e in events if e["event"] == "derive"] == list(
        range(1, kinds.count("derive") + 1)
    )
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


@pytest.mark.parametrize(
    "args, message",
    [
        (
            (GRAPH + " +", "--at", POINT),
            "the graph, column 30: not a valid expression: invalid syntax",
        ),
        (
            ("c = a + b\nL = (c*w - y)**2 + foo(c)", "--at", POINT),
            "the graph, line 2, column 20: unknown function 'foo' (allowed: abs, colmean, colsum, exp, leaky_relu, "
            "leaky_step, log, max, mean, onehot, relu, rowmax, rowmean, rowsum, sigmoid, sign, softplus, sqrt, step, sum, tanh, tril)",
        ),
        (
            (GRAPH, "--at", "a=1, b=2, w=0.5"),
            "--at, column 16: no value for 'y' (every input and parameter needs one, e.g. y = 1)",
        ),
        (
            (GRAPH,),
            "--at, column 1: no value for 'a', 'b', 'w', 'y' (every input and parameter needs one, e.g. a = 1, "
            "b = 1, w = 1, y = 1)",
        ),
        (
            (GRAPH, "--at", POINT, "--wrt", "w,q"),
            "--wrt, column 3: unknown name 'q' (the graph's inputs and parameters: a, b, w, y)",
        ),
    ],
)
def test_derive_mistakes_exit_2_with_one_clear_line(args, message):
    code, out, err = run_cli("derive", *args)
    assert (code, out, err) == (2, "", f"backprop-tutor: {message}\n")
    code, out, err = run_cli("derive", *args, "--json")
    assert code == 2 and [json.loads(line) for line in out.splitlines()] == [
        {"event": "error", "message": message}
    ]


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


def reuse_chain(n: int) -> str:
    """n nodes, each the previous one squared plus itself (a tree of 3^n operations written out)."""
    lines = ["a1 = w*x"] + [f"a{i} = a{i - 1}*a{i - 1} + a{i - 1}" for i in range(2, n)]
    return "; ".join(lines + [f"L = a{n - 1}*a{n - 1} + a{n - 1}"])


def _chain_gradient() -> float:
    import torch

    w = torch.tensor(0.01, dtype=torch.float64, requires_grad=True)
    a = w * 0.2
    for _ in range(61):
        a = a * a + a
    a.backward()
    return float(w.grad)


def test_a_62_node_reuse_chain_derives_through_derive_check_and_headless(tmp_path):
    graph, at = reuse_chain(62), "w = 0.01, x = 0.2"
    expected = _chain_gradient()
    code, out, err = run_cli("derive", graph, "--at", at, "--wrt", "w", "--json")
    assert (code, err) == (0, "")
    [check] = [json.loads(line) for line in out.splitlines() if '"gradcheck"' in line]
    assert check["ok"] is True and check["symbolic"] == pytest.approx(expected, rel=1e-9)
    assert "too long to write out (about 5.1e29 operations)" in out
    # the same graph as lesson files, each with its own id (so that neither finds the other's cache)
    for name, args in (("chain-check", ("--check",)), ("chain-headless", ("--headless",))):
        path = save(sketch(graph, at, "w"), save_path(name, cwd=tmp_path))
        code, out, err = run_cli(*args, str(path), process=True)
        assert (code, err) == (0, "")
        if args == ("--check",):
            assert out == f"{path}: ok\n"
        else:
            assert f"∂L/∂w: {check['symbolic']:.6g} | " in out and out.rstrip().endswith(
                "(good)  ok"
            )


KINK = (
    "autograd agrees; a kink (relu, max or abs at 0) lies within the finite-difference step, "
    "so the numeric gradient is not meaningful here"
)


@pytest.mark.parametrize(
    "graph, step",
    [
        ("L = max(w, 2*w - 1)", 5),  # a tie of max: the two sides are equal at w = 1
        ("L = max(2*w - 1, w)", 5),
        ("L = relu(w - 1)", 5),
        ("L = abs(w - 1)", 5),
    ],
)
def test_a_tie_of_max_is_a_kink_said_as_relu_and_abs_at_0_say_it(graph, step):
    code, out, err = run_cli("derive", graph, "--at", "w = 1")
    assert (code, err) == (0, "")
    assert f"\n[{step}] Check ∂L/∂w: {KINK}\n" in out
    code, out, err = run_cli("derive", graph, "--at", "w = 1", "--json")
    [check] = [json.loads(line) for line in out.splitlines() if '"gradcheck"' in line]
    assert (check["ok"], check["kink"], check["symbolic"]) == (True, True, check["autograd"])


def test_a_division_by_zero_at_the_point_exits_3_with_one_line():
    message = "node 'L' is undefined at the point (inf): choose a point where every node has a finite value"
    code, out, err = run_cli("derive", "L = w/x", "--at", "w = 1, x = 0")
    assert (code, err) == (3, f"backprop-tutor: {message}\n")
    assert f"\n{message}\n" in out
    code, out, err = run_cli("derive", "L = w/x", "--at", "w = 1, x = 0", "--json")
    assert code == 3 and json.loads(out.splitlines()[-1]) == {"event": "error", "message": message}
