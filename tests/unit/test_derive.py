"""Derivations: the local partials sympy computes, the chain rule multiplied out, and the
three-way check (sympy, torch autograd, central finite differences), on the curriculum's
lessons and on random small graphs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support import examples, lesson_path, two_layer_relu_lesson
from tutor.derive import derive, forward_values, rel_error
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Apply
from tutor.expr.sympy_bridge import sym
from tutor.lesson import load, loads
from tutor.present.derivation import render


def same(a, b) -> bool:
    """Symbolic equality, as the curriculum states it: simplify(a - b) == 0."""
    return sympy.simplify(a - b) == 0


def indicator(z):
    return sympy.Piecewise((1, z > 0), (0, True))


# -- single-neuron -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def neuron():
    return derive(load(lesson_path("single-neuron")))


def test_single_neuron_loss_and_gradient(neuron):
    assert neuron.values["L"] == 1.0
    assert neuron.values["y_pred"] == 1.0
    assert neuron.grads["w"] == -2.0
    w, x, y, y_pred = sym("w"), sym("x"), sym("y"), sym("y_pred")
    assert same(neuron.chains["w"], 2 * (y_pred - y) * x)
    assert same(neuron.local[("L", "y_pred")], 2 * (y_pred - y))
    assert same(neuron.local[("y_pred", "w")], x)
    # the chain in the leaves only: 2(wx − y)x, which is −2 at x = 1, w = 1, y = 2
    in_leaves = neuron.chains["w"].xreplace({y_pred: w * x})
    assert same(in_leaves, 2 * (w * x - y) * x)
    assert in_leaves.subs({w: 1, x: 1, y: 2}) == -2


def test_single_neuron_three_way_check(neuron):
    [chk] = neuron.checks
    assert chk.param == "w"
    assert chk.symbolic == -2.0
    assert chk.autograd == -2.0
    assert chk.numeric == pytest.approx(-2.0, abs=1e-6)
    assert chk.rel_error <= 1e-6
    assert chk.ok and chk.blame == ""
    check_steps = [s for s in neuron.steps if s.phase == "check"]
    assert [s.check for s in check_steps] == [chk]
    assert "all three agree" in check_steps[0].title


def test_steps_walk_forward_then_backward(neuron):
    phases = [s.phase for s in neuron.steps]
    assert phases == ["forward", "forward", "backward", "backward", "backward", "chain", "check"]
    assert [s.index for s in neuron.steps] == list(range(len(neuron.steps)))
    assert [s.node for s in neuron.steps if s.phase == "backward"] == ["L", "y_pred", "w"]
    # the gradients known grow as the backward pass walks down
    back = [s for s in neuron.steps if s.phase == "backward"]
    assert back[0].grads == {"L"} and back[-1].grads == {"L", "y_pred", "w"}


def test_derive_is_cached(neuron):
    lesson = load(lesson_path("single-neuron"))
    first = derive(lesson)
    assert derive(lesson) is first
    assert derive(load(lesson_path("single-neuron"))) is first  # same content, same derivation
    assert first is neuron


# -- two-layer-relu ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def relu_net():
    return derive(two_layer_relu_lesson())


def test_two_layer_relu_graph_is_the_curriculum_graph():
    lesson = two_layer_relu_lesson()
    g = lesson.graph
    assert [n.name for n in g.nodes] == ["z1", "h1", "z2", "L"]
    assert set(g.params) == {"w1", "w2"}
    assert lesson.train is not None and lesson.train.hidden == 100


def test_two_layer_relu_local_partials(relu_net):
    x, y, w1, w2, z1, h1, z2 = (sym(n) for n in ("x", "y", "w1", "w2", "z1", "h1", "z2"))
    local = relu_net.local
    expected = {
        ("z1", "w1"): x,
        ("z1", "x"): w1,
        ("h1", "z1"): indicator(z1),
        ("z2", "w2"): h1,
        ("z2", "h1"): w2,
        ("L", "z2"): 2 * (z2 - y),
    }
    for key, want in expected.items():
        assert key in local, key
        assert same(local[key], want), (key, local[key], want)
    # ReLU's derivative is shown as the indicator, not as sympy's Heaviside
    assert not local[("h1", "z1")].has(sympy.Heaviside)
    assert local[("h1", "z1")].has(sympy.Piecewise)


def test_two_layer_relu_chains(relu_net):
    x, y, w2, z1, h1, z2 = (sym(n) for n in ("x", "y", "w2", "z1", "h1", "z2"))
    assert same(relu_net.chains["w1"], 2 * (z2 - y) * w2 * indicator(z1) * x)
    assert same(relu_net.chains["w2"], 2 * (z2 - y) * h1)
    # and the indicator really switches: at z1 < 0 no gradient reaches w1
    off = relu_net.chains["w1"].subs({z1: -1})
    assert off == 0


def test_two_layer_relu_values_at_the_point(relu_net):
    g = two_layer_relu_lesson().graph
    p = g.point
    z1 = p["x"] * p["w1"]
    h1 = max(z1, 0.0)
    z2 = h1 * p["w2"]
    assert relu_net.values["z1"] == pytest.approx(z1)
    assert relu_net.values["L"] == pytest.approx((z2 - p["y"]) ** 2)
    assert relu_net.grads["w2"] == pytest.approx(2 * (z2 - p["y"]) * h1)
    assert relu_net.grads["w1"] == pytest.approx(
        2 * (z2 - p["y"]) * p["w2"] * (1.0 if z1 > 0 else 0.0) * p["x"]
    )


def test_two_layer_relu_checks(relu_net):
    assert {c.param for c in relu_net.checks} == {"w1", "w2"}
    for chk in relu_net.checks:
        assert chk.ok, chk
        assert chk.rel_error <= 1e-6
        assert chk.symbolic == relu_net.grads[chk.param]
    assert {c.param for c in relu_net.matrix_checks} == {"w1", "w2"}
    for chk in relu_net.matrix_checks:
        assert chk.ok, chk
        sym_g, auto = np.asarray(chk.symbolic), np.asarray(chk.autograd)
        assert sym_g.ndim == 2 and sym_g.shape == auto.shape
        assert rel_error(sym_g, auto) <= 1e-6
    assert any(s.phase == "matrix" for s in relu_net.steps)


def test_two_layer_relu_matrix_steps_show_shapes(relu_net):
    from tutor.expr.shapes import infer_shapes

    g = two_layer_relu_lesson().graph
    shapes = infer_shapes(g)
    titles = {s.node: s.title for s in relu_net.steps if s.phase == "matrix"}
    assert set(titles) == {"w1", "w2", "z1", "h1", "z2"}
    for name, title in titles.items():
        assert title.endswith(f"[{'×'.join(shapes[name])}]"), (name, title)
    assert shapes["w1"] == tuple(g.shapes["w1"]) and len(shapes["h1"]) == 2


# -- fan-out, rendering ----------------------------------------------------------------------

FAN_OUT = """
schema = 1
id = "fan-out"
title = "One node, two consumers"

[[explain]]
title = "Fan-out"
text = "a feeds b and c."

[graph]
inputs = ["x"]
params = ["w"]

[[graph.nodes]]
name = "a"
expr = "w*x"

[[graph.nodes]]
name = "b"
expr = "2*a"

[[graph.nodes]]
name = "c"
expr = "a + 1"

[[graph.nodes]]
name = "L"
expr = "b*c"

[graph.point]
x = 3.0
w = 0.5
"""


def test_fan_out_gradients_add_up():
    deriv = derive(loads(FAN_OUT))
    [step] = [s for s in deriv.steps if s.phase == "backward" and s.node == "a"]
    assert "add up" in step.note
    assert "b" in step.note and "c" in step.note
    # ∂L/∂a = c·2 + b·1 = 2(a + 1) + 2a; at a = 1.5: 5 + 3 = 8
    assert deriv.grads["a"] == pytest.approx(8.0)
    assert deriv.grads["w"] == pytest.approx(24.0)
    a = sym("a")
    assert same(deriv.grad_exprs["a"].xreplace({sym("b"): 2 * a, sym("c"): a + 1}), 4 * a + 2)
    assert all(c.ok for c in deriv.checks)
    # a node with one consumer says nothing about adding up
    [b_step] = [s for s in deriv.steps if s.phase == "backward" and s.node == "b"]
    assert "add up" not in b_step.note


@pytest.mark.parametrize("lesson_id", ["single-neuron", "two-layer-relu"])
def test_render_fits_width_40(lesson_id):
    deriv = derive(load(lesson_path(lesson_id)))
    for i, step in enumerate(deriv.steps):
        text = render(deriv, i, width=40)
        assert text.strip(), step.title
        for line in text.splitlines():
            assert len(line) <= 40, f"step {i} ({step.title}): {len(line)} columns: {line!r}"


@pytest.mark.parametrize("lesson_id", ["single-neuron", "two-layer-relu"])
@pytest.mark.parametrize("width", [40, 80])
def test_render_ascii_is_pure_ascii(lesson_id, width):
    deriv = derive(load(lesson_path(lesson_id)))
    for i, _step in enumerate(deriv.steps):
        text = render(deriv, i, width=width, ascii=True)
        assert text.isascii(), [c for c in text if not c.isascii()]
        # nothing was lost on the way: no character became the '?' of an unknown symbol
        assert text.count("?") == render(deriv, i, width=width).count("?"), text
    # the Unicode rendering does use Unicode (so ascii=True changed something)
    assert not all(render(deriv, i, width=width).isascii() for i in range(len(deriv.steps)))


def test_render_is_cached():
    deriv = derive(load(lesson_path("single-neuron")))
    assert render(deriv, 0, 40) is render(deriv, 0, 40)


# -- random graphs: the derived gradient equals torch autograd --------------------------------

LEAVES = ("x", "w1", "w2")


def _expr(names: tuple[str, ...]):
    base = st.one_of(st.sampled_from(names), st.sampled_from(["0.5", "2", "3", "1.5"]))

    def grow(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) / (1 + ({t[1]})**2)"),
            st.tuples(inner, st.sampled_from([2, 3])).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(st.sampled_from(["relu", "sigmoid", "tanh", "exp"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            inner.map(lambda s: f"log(1 + ({s})**2)"),
            st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
        )

    return st.recursive(base, grow, max_leaves=4)


@st.composite
def graphs(draw):
    count = draw(st.integers(1, 3))
    names = list(LEAVES)
    nodes = []
    for i in range(count):
        nodes.append((f"n{i + 1}", draw(_expr(tuple(names)))))
        names.append(f"n{i + 1}")
    # the loss uses the last node, so every node can reach it; w1 and w2 always reach it
    last = draw(_expr(tuple(names)))
    nodes.append(("L", f"({last}) + (n{count}) * w1 + w2**2"))
    point = {n: draw(st.floats(0.2, 1.8) | st.floats(-1.8, -0.2)) for n in LEAVES}
    return nodes, point


def lesson_text(nodes, point) -> str:
    parts = [
        "schema = 1",
        'id = "random-graph"',
        'title = "A random graph"',
        "",
        "[[explain]]",
        'title = "Random"',
        'text = "generated"',
        "",
        "[graph]",
        'inputs = ["x"]',
        'params = ["w1", "w2"]',
        "",
    ]
    for name, expr in nodes:
        parts += ["[[graph.nodes]]", f'name = "{name}"', f'expr = "{expr}"', ""]
    parts.append("[graph.point]")
    parts += [f"{k} = {v!r}" for k, v in point.items()]
    return "\n".join(parts) + "\n"


def kinks(expr, env, ops):
    """Distances from the kinks of every relu(a) and max(a, b) in `expr` at the point."""
    out = []
    if not isinstance(expr, Apply):
        return out
    if expr.op == "relu":
        out.append(abs(float(evaluate(expr.args[0], env, ops))))
    if expr.op == "max":
        a = float(evaluate(expr.args[0], env, ops))
        b = float(evaluate(expr.args[1], env, ops))
        out.append(abs(a - b))
    for child in expr.args:
        out += kinks(child, env, ops)
    return out


@settings(
    max_examples=examples(),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(graphs())
def test_random_graph_gradient_matches_autograd(graph):
    nodes, point = graph
    lesson = loads(lesson_text(nodes, point))
    g = lesson.graph
    with np.errstate(all="ignore"):
        values = forward_values(g)
        assume(all(math.isfinite(v) and abs(v) < 1e4 for v in values.values()))
        env = {k: np.float64(v) for k, v in values.items()}
        ops = Numpy()
        assume(all(k > 1e-3 for node in g.nodes for k in kinks(node.expr, env, ops)))
    deriv = derive(lesson)
    assert {c.param for c in deriv.checks} == {"w1", "w2"}
    for chk in deriv.checks:
        derived = deriv.grads[chk.param]
        assert chk.symbolic == derived
        assert math.isfinite(derived)
        assert abs(derived - chk.autograd) <= 1e-7 * max(1.0, abs(derived), abs(chk.autograd)), (
            chk,
            lesson_text(nodes, point),
        )
        # central differences agree too, to what a step of 1e-6 can resolve
        assert abs(derived - chk.numeric) <= 1e-4 * max(1.0, abs(derived), abs(values["L"])), chk
