"""Every shipped curriculum lesson with a graph, derived by tutor.derive, against expectations
written here by hand (issue 3, "Done means").

For each lesson: the local partial on every edge of its graph and the final chain ∂L/∂param for
every parameter are sympy-equal (simplify(a - b) == 0) to expressions typed in below from the
maths of CURRICULUM.md and the lesson's node expressions; the gradient of every node in the
backward pass too; the values at the lesson's concrete point equal numbers computed here with
plain Python floats; and each parameter's three-way check (sympy, torch autograd, central
differences) passes with a relative error of at most 1e-6. Lessons that declare shapes also get
their matrix-form rules checked: each rule as written, the shape of each entry and of each factor
of its matrix products, and its value on the check's random arrays against numpy written here.
Lessons with a [jacobian] get the Jacobian, its shape, its value and its vector–Jacobian product.

single-neuron and two-layer-relu have their scalar tests in test_derive.py; two-layer-relu's
matrix form is checked here.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy

from tests.support import CURRICULUM_IDS, lesson_path
from tutor.derive import derive, jacobian_matrix, jacobian_values
from tutor.derive.matrix import check_values
from tutor.expr.nodes import Apply, Num, Sym
from tutor.expr.shapes import infer_shapes
from tutor.expr.sympy_bridge import to_sympy
from tutor.lesson import load

TOL = 1e-6  # the three-way check's tolerance, as the issue states it
SCALAR_TESTED_ELSEWHERE = ("single-neuron", "two-layer-relu")


def S(names: str):
    """Real symbols, as the derivation makes them (so that they compare equal)."""
    out = tuple(sympy.Symbol(n, real=True) for n in names.split())
    return out if len(out) > 1 else out[0]


def sp(x):
    """A derivation's expression tree as its faithful sympy form (other values as they are)."""
    return to_sympy(x) if isinstance(x, (Num, Sym, Apply)) else sympy.sympify(x)


def same(a, b) -> bool:
    """simplify(a - b) == 0, each side in its faithful sympy form, rewritten in exp."""
    diff = sp(a) - sp(b)
    return sympy.simplify(diff.rewrite(sympy.exp)) == 0


def one(z):
    """1[z > 0], ReLU's derivative."""
    return sympy.Piecewise((1, z > 0), (0, True))


def sigma(z):
    return 1 / (1 + sympy.exp(-z))


def _is_one_of(item, items) -> bool:
    """Membership by identity (Check holds arrays, whose == is elementwise)."""
    return any(item is x for x in items)


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# The expectations, lesson by lesson. Each gives, in the node symbols of the lesson's graph:
#   local:   (node, input) → ∂node/∂input, for every edge of the graph
#   grads:   node or parameter → ∂L/∂(it), the backward pass multiplied out
#   forward: node → its expression in the leaves (to write the chains in the inputs)
#   at:      point → {name: value or gradient}, computed with floats


def linear_1d():
    x, y, w, y_pred = S("x y w y_pred")
    return dict(
        local={
            ("y_pred", "w"): x,
            ("y_pred", "x"): w,
            ("L", "y_pred"): 2 * (y_pred - y),
            ("L", "y"): -2 * (y_pred - y),
        },
        grads={"y_pred": 2 * (y_pred - y), "w": 2 * (y_pred - y) * x},
        forward={y_pred: w * x},
        at=lambda p: {
            "y_pred": p["w"] * p["x"],
            "L": (p["w"] * p["x"] - p["y"]) ** 2,
            "grad_y_pred": 2 * (p["w"] * p["x"] - p["y"]),
            "grad_w": 2 * (p["w"] * p["x"] - p["y"]) * p["x"],
        },
    )


def regression():
    """linear-regression and multivariate-regression share a graph: ŷ = b + x·w, e = y − ŷ."""
    x, y, b, w, yhat, e = S("x y b w yhat e")

    def at(p):
        yh = p["b"] + p["x"] * p["w"]
        err = p["y"] - yh
        return {
            "yhat": yh,
            "e": err,
            "L": err**2,
            "grad_e": 2 * err,
            "grad_yhat": -2 * err,
            "grad_b": -2 * err,
            "grad_w": -2 * err * p["x"],
        }

    return dict(
        local={
            ("yhat", "b"): 1,
            ("yhat", "w"): x,
            ("yhat", "x"): w,
            ("e", "y"): 1,
            ("e", "yhat"): -1,
            ("L", "e"): 2 * e,
        },
        # ∂MSE/∂b = −2·mean(y − ŷ), ∂MSE/∂w = −2·mean(x(y − ŷ)): one sample of each mean
        grads={"e": 2 * e, "yhat": -2 * e, "b": -2 * e, "w": -2 * e * x},
        forward={yhat: b + x * w, e: y - (b + x * w)},
        at=at,
    )


def logistic_regression():
    x, y, w, b, z, p = S("x y w b z p")

    def at(q):
        zz = q["x"] * q["w"] + q["b"]
        pp = 1 / (1 + math.exp(-zz))
        dp = -q["y"] / pp + (1 - q["y"]) / (1 - pp)
        return {
            "z": zz,
            "p": pp,
            "L": -(q["y"] * math.log(pp) + (1 - q["y"]) * math.log(1 - pp)),
            "grad_p": dp,
            "grad_z": pp - q["y"],
            "grad_w": (pp - q["y"]) * q["x"],
            "grad_b": pp - q["y"],
        }

    dL_dp = -y / p + (1 - y) / (1 - p)
    dp_dz = sigma(z) * (1 - sigma(z))
    return dict(
        local={
            ("z", "x"): w,
            ("z", "w"): x,
            ("z", "b"): 1,
            ("p", "z"): dp_dz,
            ("L", "p"): dL_dp,
            ("L", "y"): -sympy.log(p) + sympy.log(1 - p),
        },
        grads={"p": dL_dp, "z": dL_dp * dp_dz, "w": dL_dp * dp_dz * x, "b": dL_dp * dp_dz},
        forward={z: x * w + b, p: sigma(x * w + b)},
        at=at,
    )


def vector_derivatives():
    x1, x2, x3, y, w1, w2, w3, z = S("x1 x2 x3 y w1 w2 w3 z")

    def at(p):
        zz = p["w1"] * p["x1"] + p["w2"] * p["x2"] + p["w3"] * p["x3"]
        g = 2 * (zz - p["y"])
        return {
            "z": zz,
            "L": (zz - p["y"]) ** 2,
            "grad_z": g,
            "grad_w1": g * p["x1"],
            "grad_w2": g * p["x2"],
            "grad_w3": g * p["x3"],
        }

    return dict(
        local={
            ("z", "w1"): x1,
            ("z", "w2"): x2,
            ("z", "w3"): x3,
            ("z", "x1"): w1,
            ("z", "x2"): w2,
            ("z", "x3"): w3,
            ("L", "z"): 2 * (z - y),
            ("L", "y"): -2 * (z - y),
        },
        # the gradient with respect to the vector w is the vector of partials 2(z − y)·x
        grads={
            "z": 2 * (z - y),
            "w1": 2 * (z - y) * x1,
            "w2": 2 * (z - y) * x2,
            "w3": 2 * (z - y) * x3,
        },
        forward={z: w1 * x1 + w2 * x2 + w3 * x3},
        at=at,
    )


def mlp_digits():
    """Two classes whose logits are z2 (the true one) and c: L = −log softmax(z2)."""
    x, c, w1, b1, w2, b2, z1, h1, z2, logp = S("x c w1 b1 w2 b2 z1 h1 z2 logp")
    soft = sympy.exp(z2) / (sympy.exp(z2) + sympy.exp(c))  # softmax of the true class
    gz2 = soft - 1  # softmax(z) − onehot(y)

    def at(p):
        zz1 = p["x"] * p["w1"] + p["b1"]
        hh1 = max(zz1, 0.0)
        zz2 = hh1 * p["w2"] + p["b2"]
        s = math.exp(zz2) / (math.exp(zz2) + math.exp(p["c"]))
        lp = zz2 - math.log(math.exp(zz2) + math.exp(p["c"]))
        g2 = s - 1
        g1 = g2 * p["w2"] * (1.0 if zz1 > 0 else 0.0)
        return {
            "z1": zz1,
            "h1": hh1,
            "z2": zz2,
            "logp": lp,
            "L": -lp,
            "grad_logp": -1.0,
            "grad_z2": g2,
            "grad_h1": g2 * p["w2"],
            "grad_z1": g1,
            "grad_w1": g1 * p["x"],
            "grad_b1": g1,
            "grad_w2": g2 * hh1,
            "grad_b2": g2,
        }

    fz1 = x * w1 + b1
    fz2 = sympy.Max(fz1, 0) * w2 + b2
    return dict(
        local={
            ("z1", "x"): w1,
            ("z1", "w1"): x,
            ("z1", "b1"): 1,
            ("h1", "z1"): one(z1),
            ("z2", "h1"): w2,
            ("z2", "w2"): h1,
            ("z2", "b2"): 1,
            ("logp", "z2"): 1 - soft,
            ("logp", "c"): -sympy.exp(c) / (sympy.exp(z2) + sympy.exp(c)),
            ("L", "logp"): -1,
        },
        grads={
            "logp": -1,
            "z2": gz2,
            "h1": gz2 * w2,
            "z1": gz2 * w2 * one(z1),
            "w1": gz2 * w2 * one(z1) * x,
            "b1": gz2 * w2 * one(z1),
            "w2": gz2 * h1,
            "b2": gz2,
        },
        forward={
            z1: fz1,
            h1: sympy.Max(fz1, 0),
            z2: fz2,
            logp: fz2 - sympy.log(sympy.exp(fz2) + sympy.exp(c)),
        },
        at=at,
    )


EXPECTED = {
    "linear-1d": linear_1d(),
    "linear-regression": regression(),
    "multivariate-regression": regression(),
    "logistic-regression": logistic_regression(),
    "vector-derivatives": vector_derivatives(),
    "mlp-digits": mlp_digits(),
}
PARAMS = {
    "linear-1d": ["w"],
    "linear-regression": ["b", "w"],
    "multivariate-regression": ["b", "w"],
    "logistic-regression": ["w", "b"],
    "vector-derivatives": ["w1", "w2", "w3"],
    "mlp-digits": ["w1", "b1", "w2", "b2"],
}
SCALAR_LESSONS = sorted(EXPECTED)


@pytest.fixture(scope="module")
def derived():
    cache = {}

    def get(lesson_id):
        if lesson_id not in cache:
            lesson = load(lesson_path(lesson_id))
            cache[lesson_id] = (lesson, derive(lesson))
        return cache[lesson_id]

    return get


def test_every_curriculum_lesson_with_a_graph_is_covered():
    with_graph = [i for i in CURRICULUM_IDS if load(lesson_path(i)).graph is not None]
    assert sorted(with_graph) == sorted(SCALAR_LESSONS + list(SCALAR_TESTED_ELSEWHERE))


# -- the scalar derivation ----------------------------------------------------------------------


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_parameters_are_the_curriculum_ones(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    assert list(lesson.graph.params) == PARAMS[lesson_id]
    assert list(deriv.chains) == PARAMS[lesson_id]


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_local_partial_of_every_edge(derived, lesson_id):
    _, deriv = derived(lesson_id)
    want = EXPECTED[lesson_id]["local"]
    assert set(deriv.local) == set(want), "the graph's edges"
    for edge, expr in want.items():
        assert same(deriv.local[edge], expr), (edge, deriv.local[edge], expr)


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_backward_gradient_of_every_node(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    want = EXPECTED[lesson_id]["grads"]
    nodes = [n.name for n in lesson.graph.nodes[:-1]]
    assert set(want) == set(nodes) | set(lesson.graph.params)
    for name in nodes:
        assert same(deriv.grad_exprs[name], want[name]), (name, deriv.grad_exprs[name], want[name])


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_final_chain_of_every_parameter(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    spec = EXPECTED[lesson_id]
    chain_steps = {s.node: s for s in deriv.steps if s.phase == "chain"}
    assert list(chain_steps) == PARAMS[lesson_id]
    for p in PARAMS[lesson_id]:
        want = spec["grads"][p]
        assert same(deriv.chains[p], want), (p, deriv.chains[p], want)
        lines = dict(chain_steps[p].lines)
        assert same(lines[f"∂L/∂{p} (multiplied out)"], want)
        # the same chain written in the inputs and parameters only
        in_leaves = sp(lines[f"∂L/∂{p} (in the inputs)"])
        assert {s.name for s in in_leaves.free_symbols} <= set(lesson.graph.leaves), in_leaves
        assert same(in_leaves, want.xreplace(spec["forward"])), (p, in_leaves)


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_values_and_gradients_at_the_point(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    mine = EXPECTED[lesson_id]["at"](dict(lesson.graph.point))
    for key, v in mine.items():
        if key.startswith("grad_"):
            name = key[len("grad_") :]
            assert close(deriv.grads[name], v), (name, deriv.grads[name], v)
        else:
            assert close(deriv.values[key], v), (key, deriv.values[key], v)
    assert deriv.grads["L"] == 1.0


@pytest.mark.parametrize("lesson_id", SCALAR_LESSONS)
def test_three_way_check_of_every_parameter(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    mine = EXPECTED[lesson_id]["at"](dict(lesson.graph.point))
    assert [c.param for c in deriv.checks] == PARAMS[lesson_id]
    check_steps = {
        s.node: s for s in deriv.steps if s.phase == "check" and _is_one_of(s.check, deriv.checks)
    }
    for chk in deriv.checks:
        want = mine[f"grad_{chk.param}"]
        assert chk.ok and chk.blame == "", chk
        assert chk.rel_error <= TOL, chk
        assert close(chk.symbolic, want), chk
        assert close(chk.autograd, want, 1e-9), chk
        assert close(chk.numeric, want, TOL), chk
        # the reported error is the worse of sympy-vs-autograd and sympy-vs-differences
        worst = max(
            abs(chk.symbolic - chk.autograd) / max(abs(chk.symbolic), abs(chk.autograd)),
            abs(chk.symbolic - chk.numeric) / max(abs(chk.symbolic), abs(chk.numeric)),
        )
        assert chk.rel_error == pytest.approx(worst, rel=1e-6, abs=1e-15)
        assert "all three agree" in check_steps[chk.param].title


# -- the curriculum's named results -------------------------------------------------------------


def test_logistic_regression_dL_dz_is_sigma_minus_y(derived):
    """CURRICULUM §5: ∂L/∂z = σ(z) − y, once p is written as σ(z)."""
    _, deriv = derived("logistic-regression")
    x, y, z, p = S("x y z p")
    assert same(deriv.grad_exprs["z"].xreplace({p: sigma(z)}), sigma(z) - y)
    assert same(deriv.chains["w"].xreplace({p: sigma(z)}), (sigma(z) - y) * x)
    assert same(deriv.chains["b"].xreplace({p: sigma(z)}), sigma(z) - y)


def test_mlp_digits_dL_dz2_is_softmax_minus_onehot(derived):
    """CURRICULUM §5/§8: through log_softmax and the NLL, ∂L/∂z = softmax(z) − onehot(y)."""
    _, deriv = derived("mlp-digits")
    c, z2, z1 = S("c z2 z1")
    softmax = sympy.exp(z2) / (sympy.exp(z2) + sympy.exp(c))
    assert same(deriv.grad_exprs["z2"], softmax - 1)
    # and the hidden ReLU really gates: with z1 < 0 nothing reaches w1 or b1
    assert deriv.chains["w1"].subs(z1, -1) == 0 and deriv.chains["b1"].subs(z1, -1) == 0
    assert deriv.chains["w1"].subs(z1, 1) != 0


def test_regression_gradients_are_minus_two_mean_residual(derived):
    """CURRICULUM §3: ∂MSE/∂b = −2·mean(y − ŷ), ∂MSE/∂w = −2·mean(x(y − ŷ)), here on one sample."""
    _, deriv = derived("linear-regression")
    x, y, yhat, e = S("x y yhat e")
    assert same(deriv.chains["b"].xreplace({e: y - yhat}), -2 * (y - yhat))
    assert same(deriv.chains["w"].xreplace({e: y - yhat}), -2 * x * (y - yhat))


def test_linear_1d_hand_gradient_gives_the_seed_figures(derived):
    """CURRICULUM §2: on X = [1, 2, 3, 4], Y = 2X, w = 0 the derived chain, averaged over the four
    samples (the mean's gradient), is mean(2x(wx − y)) = −30; the loss is 30 and one step of
    lr 0.01 gives w = 0.3."""
    lesson, deriv = derived("linear-1d")
    x, y, w = S("x y w")
    chain = sp(
        dict(next(s for s in deriv.steps if s.phase == "chain").lines)["∂L/∂w (in the inputs)"]
    )
    f = sympy.lambdify((x, y, w), chain, "numpy")
    X = np.array([1.0, 2.0, 3.0, 4.0])
    Y = 2 * X
    grad = float(np.mean(f(X, Y, 0.0)))
    assert grad == pytest.approx(float(np.mean(2 * X * (0.0 * X - Y))))
    assert grad == pytest.approx(-30.0)
    assert float(np.mean((0.0 * X - Y) ** 2)) == pytest.approx(30.0)
    assert 0.0 - 0.01 * grad == pytest.approx(0.3)


# -- the matrix form ----------------------------------------------------------------------------
# For each lesson that declares shapes: the shape of every leaf and node (by hand, from the
# curriculum: X is N×D, W1 is D×H, …), each entry's rule as the derivation writes it, the factors
# of its matrix product, and the gradient's numpy shape on the check's arrays (each dim cut to 4).

MATRIX = {
    "linear-1d": dict(
        shapes={"x": "N", "y": "N", "w": "scalar", "y_pred": "N", "L": "scalar"},
        rules={"y_pred": "(1/N)·2·(y_pred − y)", "w": "sum(∂L/∂y_pred ⊙ x)"},
        matmul={},
        grad_shapes={"w": ()},
    ),
    "linear-regression": dict(
        shapes={
            "x": "N×P",
            "w": "P",
            "y": "N",
            "b": "scalar",
            "yhat": "N",
            "e": "N",
            "L": "scalar",
        },
        rules={"e": "(1/N)·2·e", "yhat": "−∂L/∂e", "b": "sum(∂L/∂yhat)", "w": "xᵀ·∂L/∂yhat"},
        matmul={"w": ("xᵀ", "∂L/∂yhat")},
        grad_shapes={"b": (), "w": (1,)},
    ),
    "multivariate-regression": dict(
        shapes={
            "x": "N×P",
            "w": "P",
            "y": "N",
            "b": "scalar",
            "yhat": "N",
            "e": "N",
            "L": "scalar",
        },
        rules={"e": "(1/N)·2·e", "yhat": "−∂L/∂e", "b": "sum(∂L/∂yhat)", "w": "xᵀ·∂L/∂yhat"},
        matmul={"w": ("xᵀ", "∂L/∂yhat")},
        grad_shapes={"b": (), "w": (4,)},
    ),
    "logistic-regression": dict(
        shapes={"x": "N×D", "w": "D", "y": "N", "b": "scalar", "z": "N", "p": "N", "L": "scalar"},
        rules={
            "p": "−(1/N)·y·1/p  +  ((1/N)·(1 − y))·1/(1 − p)",
            "z": "∂L/∂p ⊙ σ(z) ⊙ (1 − σ(z))",
            "w": "xᵀ·∂L/∂z",
            "b": "sum(∂L/∂z)",
        },
        matmul={"w": ("xᵀ", "∂L/∂z")},
        grad_shapes={"w": (4,), "b": ()},
    ),
    "two-layer-relu": dict(
        shapes={
            "x": "N×D",
            "w1": "D×H",
            "w2": "H×K",
            "y": "N×K",
            "z1": "N×H",
            "h1": "N×H",
            "z2": "N×K",
            "L": "scalar",
        },
        rules={
            "z2": "2·(z2 − y)",
            "h1": "∂L/∂z2·w2ᵀ",
            "z1": "∂L/∂h1 ⊙ 1[z1 > 0]",
            "w1": "xᵀ·∂L/∂z1",
            "w2": "h1ᵀ·∂L/∂z2",
        },
        matmul={"h1": ("∂L/∂z2", "w2ᵀ"), "w1": ("xᵀ", "∂L/∂z1"), "w2": ("h1ᵀ", "∂L/∂z2")},
        grad_shapes={"w1": (2, 4), "w2": (4, 2)},
    ),
}


def _shape_text(shape: tuple) -> str:
    return "×".join(shape) if shape else "scalar"


def _factor_shape(factor: str, shapes: dict) -> tuple:
    """The shape of `x`, `xᵀ` or `∂L/∂z` (a gradient has the shape of its node)."""
    name = factor[len("∂L/∂") :] if factor.startswith("∂L/∂") else factor
    transpose = name.endswith("ᵀ")
    shape = tuple(shapes[name.rstrip("ᵀ")])
    return tuple(reversed(shape)) if transpose else shape


def _matmul(a: tuple, b: tuple) -> tuple:
    assert a and b and a[-1] == b[0], f"{a} · {b} do not multiply"
    return a[:-1] + b[1:]


@pytest.mark.parametrize("lesson_id", sorted(MATRIX))
def test_matrix_form_shapes(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    want = MATRIX[lesson_id]["shapes"]
    inferred = infer_shapes(lesson.graph)
    assert {k: _shape_text(v) for k, v in inferred.items()} == want
    entries = {s.node: s for s in deriv.steps if s.phase == "matrix"}
    assert set(entries) == set(MATRIX[lesson_id]["rules"])
    for name, step in entries.items():
        assert step.title.endswith(f"[{want[name]}]"), step.title
        assert dict(step.lines)["shape"] == f"{want[name]} (the shape of {name})"
        # where the note names shapes, each one is the one expected
        where = re.search(r"where (.*?);", step.note)
        for pair in where.group(1).split(", ") if where else ():
            sym_name, shape = pair.split(" is ")
            assert want[sym_name] == shape, (name, step.note)
        # and every matrix factor of the rule (xᵀ, w2ᵀ…) has its shape named
        for factor in MATRIX[lesson_id]["matmul"].get(name, ()):
            if not factor.startswith("∂L/∂"):
                base = factor.rstrip("ᵀ")
                assert f"{base} is {want[base]}" in step.note, (name, step.note)


@pytest.mark.parametrize("lesson_id", sorted(MATRIX))
def test_matrix_form_rules_and_their_factors(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    spec = MATRIX[lesson_id]
    rules = {s.node: dict(s.lines)[f"∂L/∂{s.node}"] for s in deriv.steps if s.phase == "matrix"}
    assert rules == spec["rules"]
    inferred = infer_shapes(lesson.graph)
    for name, (left, right) in spec["matmul"].items():
        assert rules[name] == f"{left}·{right}"
        product = _matmul(_factor_shape(left, inferred), _factor_shape(right, inferred))
        assert _shape_text(product) == spec["shapes"][name], (name, product)


def _numpy_gradients(lesson_id: str, v: dict) -> dict[str, np.ndarray]:
    """The matrix-form gradients, written out in numpy, on the check's random arrays."""
    if lesson_id == "linear-1d":
        x, y, w = v["x"], v["y"], v["w"]
        return {"w": np.mean(2 * x * (w * x - y))}
    if lesson_id in ("linear-regression", "multivariate-regression"):
        x, y, w, b = v["x"], v["y"], v["w"], v["b"]
        r = y - (b + x @ w)
        return {"b": -2 * np.mean(r), "w": -2 * x.T @ r / len(y)}
    if lesson_id == "logistic-regression":
        x, y, w, b = v["x"], v["y"], v["w"], v["b"]
        p = 1 / (1 + np.exp(-(x @ w + b)))
        return {"w": x.T @ (p - y) / len(y), "b": np.mean(p - y)}
    if lesson_id == "two-layer-relu":
        x, y, w1, w2 = v["x"], v["y"], v["w1"], v["w2"]
        z1 = x @ w1
        h1 = np.maximum(z1, 0)
        g2 = 2 * (h1 @ w2 - y)
        return {"w2": h1.T @ g2, "w1": x.T @ ((g2 @ w2.T) * (z1 > 0))}
    raise KeyError(lesson_id)


@pytest.mark.parametrize("lesson_id", sorted(MATRIX))
def test_matrix_form_gradients_three_ways(derived, lesson_id):
    lesson, deriv = derived(lesson_id)
    spec = MATRIX[lesson_id]
    mine = _numpy_gradients(lesson_id, check_values(lesson.graph))
    assert [c.param for c in deriv.matrix_checks] == list(lesson.graph.params)
    for chk in deriv.matrix_checks:
        rule = np.asarray(chk.symbolic)
        assert rule.shape == spec["grad_shapes"][chk.param]
        assert np.asarray(chk.autograd).shape == rule.shape == np.asarray(chk.numeric).shape
        np.testing.assert_allclose(rule, mine[chk.param], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(chk.autograd, mine[chk.param], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(chk.numeric, mine[chk.param], rtol=TOL, atol=1e-8)
        assert chk.ok and chk.rel_error <= TOL, chk
    check_titles = [
        s.title
        for s in deriv.steps
        if s.phase == "check" and _is_one_of(s.check, deriv.matrix_checks)
    ]
    assert len(check_titles) == len(lesson.graph.params)
    assert all(t.endswith("all three agree") for t in check_titles), check_titles


# -- Jacobians ----------------------------------------------------------------------------------


def _softmax(v):
    e = np.exp(v - np.max(v))
    return e / e.sum()


def test_vector_derivatives_jacobian(derived):
    """CURRICULUM §7: f(x) = (x1·x2 + x3², e^x1 + x2·x3) has the 2 × 3 Jacobian
    [[x2, x1, 2x3], [e^x1, x3, x2]]."""
    lesson, deriv = derived("vector-derivatives")
    x1, x2, x3 = S("x1 x2 x3")
    J = jacobian_matrix(lesson.jacobian)
    want = sympy.Matrix([[x2, x1, 2 * x3], [sympy.exp(x1), x3, x2]])
    assert J.shape == (2, 3)
    assert all(same(J[i, j], want[i, j]) for i in range(2) for j in range(3))
    p = lesson.jacobian.point
    Jv, vjp = jacobian_values(lesson.jacobian)
    mine = np.array([[p["x2"], p["x1"], 2 * p["x3"]], [math.exp(p["x1"]), p["x3"], p["x2"]]])
    np.testing.assert_allclose(Jv, mine, rtol=1e-12)
    np.testing.assert_allclose(vjp, np.asarray(lesson.jacobian.upstream) @ mine, rtol=1e-12)
    # the step says the shape, M × N
    [first] = [
        s for s in deriv.steps if s.phase == "jacobian" and s.title.startswith("Jacobian of")
    ]
    assert "M × N = 2 × 3" in first.note
    # each row written out, labelled with the function's own names
    lines = dict(first.lines)
    assert lines["(f1, f2)"] == "[x1·x2 + x3², exp(x1) + x2·x3]"
    assert lines["row 1: ∂f1/∂(x1, x2, x3)"] == "[x2, x1, 2·x3]"


def test_logistic_regression_log_softmax_jacobian(derived):
    """The Jacobian of log-softmax is I − 1·softmax(z)ᵀ; with the cross-entropy's upstream
    −onehot(y), its vector–Jacobian product is softmax(z) − onehot(y)."""
    lesson, deriv = derived("logistic-regression")
    zs = S("z1 z2 z3")
    J = jacobian_matrix(lesson.jacobian)
    total = sum(sympy.exp(z) for z in zs)
    assert J.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert same(J[i, j], (1 if i == j else 0) - sympy.exp(zs[j]) / total), (i, j, J[i, j])
    p = lesson.jacobian.point
    z = np.array([p["z1"], p["z2"], p["z3"]])
    s = _softmax(z)
    Jv, vjp = jacobian_values(lesson.jacobian)
    np.testing.assert_allclose(Jv, np.eye(3) - np.outer(np.ones(3), s), rtol=1e-12, atol=1e-15)
    upstream = np.asarray(lesson.jacobian.upstream)
    onehot = -upstream
    assert list(onehot) == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(vjp, s - onehot, rtol=1e-12, atol=1e-15)
    assert any(s.phase == "jacobian" and s.node == "vjp" for s in deriv.steps)
