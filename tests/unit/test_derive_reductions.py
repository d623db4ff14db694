"""Reductions over one axis (rowsum, rowmean, rowmax, colsum, colmean) and onehot: their shape
rules, their numpy and torch forms, and their matrix-form backward rules checked against torch
autograd and finite differences, as every other operation of the table is."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tutor.derive import derive
from tutor.derive.matrix import check_values, label_leaves, matrix_backward
from tutor.errors import LessonError
from tutor.expr.evaluate import Numpy, Torch, evaluate
from tutor.expr.ops import OPS, ShapeError
from tutor.expr.parser import parse
from tutor.lesson import loads

NEW = ("rowsum", "rowmean", "rowmax", "colsum", "colmean", "onehot")


def lesson(
    nodes: list[tuple[str, str]],
    shapes: str,
    params=("w",),
    inputs=("x",),
    dims="N = 5\nK = 3",
    extra: str = "",
) -> str:
    body = "".join(f'[[graph.nodes]]\nname = "{n}"\nexpr = "{e}"\n' for n, e in nodes)
    point = "".join(f"{p} = 0.5\n" for p in params + inputs)
    return (
        f'id = "t"\ntitle = "t"\n[[explain]]\ntitle = "x"\ntext = "x"\n[graph]\n'
        f"inputs = {list(inputs)!r}\nparams = {list(params)!r}\n".replace("'", '"')
        + body
        + f"[graph.point]\n{point}[graph.shapes]\n{shapes}\n[graph.dims]\n{dims}\n{extra}"
    )


def test_every_new_op_is_one_entry_with_all_its_forms():
    for name in NEW:
        op = OPS[name]
        assert op.function and op.backward is not None and op.doc, name
        assert parse(f"{name}(a)" if op.arity == 1 else f"{name}(a, b)").op == name


@pytest.mark.parametrize(
    "name,shape,out",
    [
        ("rowsum", ("N", "K"), ("N", "1")),
        ("rowmean", ("N", "K"), ("N", "1")),
        ("rowmax", ("N", "K"), ("N", "1")),
        ("rowsum", ("K",), ("1",)),
        ("colsum", ("N", "D"), ("D",)),
        ("colmean", ("N", "D"), ("D",)),
        ("colsum", ("N",), ()),
        ("rowsum", (), ()),
        ("colmean", (), ()),
    ],
)
def test_shape_rules(name, shape, out):
    assert OPS[name].shape(shape) == out


def test_a_kept_axis_broadcasts_back_and_a_wrong_label_shape_is_refused():
    from tutor.expr.ops import broadcast

    assert broadcast(("N", "K"), ("N", "1"), "-") == ("N", "K")
    assert broadcast(("N", "D"), ("D",), "-") == ("N", "D")
    with pytest.raises(ShapeError, match="do not match"):
        broadcast(("N", "K"), ("N",), "-")
    assert OPS["onehot"].shape(("N",), ("N", "K")) == ("N", "K")
    with pytest.raises(ShapeError, match="one label per row of z: y is K, z is N×K"):
        OPS["onehot"].shape(("K",), ("N", "K"))


@pytest.mark.parametrize("name", ["rowsum", "rowmean", "rowmax", "colsum", "colmean"])
def test_numpy_and_torch_forms_agree_with_numpys_own_reduction(name):
    a = np.random.default_rng(3).normal(size=(4, 3))
    axis = -1 if name.startswith("row") else 0
    want = {"sum": a.sum, "mean": a.mean, "max": a.max}[name[3:]](axis=axis, keepdims=axis == -1)
    expr = parse(f"{name}(a)")
    assert np.array_equal(evaluate(expr, {"a": a}, Numpy()), want)
    got = evaluate(expr, {"a": torch.tensor(a)}, Torch()).numpy()
    assert np.allclose(got, want, rtol=1e-15, atol=0)
    assert (
        float(evaluate(expr, {"a": np.float64(2.5)}, Numpy())) == 2.5
    )  # the scalar view: the identity


def test_onehot_numpy_and_torch():
    y, z = np.array([2.0, 0.0, 1.0]), np.zeros((3, 4))
    want = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float64)
    expr = parse("onehot(y, z)")
    assert np.array_equal(evaluate(expr, {"y": y, "z": z}, Numpy()), want)
    assert np.array_equal(
        evaluate(expr, {"y": torch.tensor(y), "z": torch.tensor(z)}, Torch()).numpy(), want
    )
    assert float(evaluate(expr, {"y": np.float64(0), "z": np.float64(3.0)}, Numpy())) == 1.0


# Each op inside a small batch graph: the matrix rule against autograd and finite differences.
GRAPHS = {
    "rowsum": ([("a", "x * w"), ("L", "sum(rowsum(a)**2)")], 'x = ["N", "K"]\nw = ["N", "K"]'),
    "rowmean": (
        [("a", "x * w"), ("L", "sum(exp(rowmean(a)) * rowmean(a*a))")],
        'x = ["N", "K"]\nw = ["N", "K"]',
    ),
    "rowmax": (
        [("a", "x * w"), ("L", "sum((a - rowmax(a))**2 + rowmax(a)**3)")],
        'x = ["N", "K"]\nw = ["N", "K"]',
    ),
    "colsum": ([("a", "x * w"), ("L", "sum(colsum(a)**2)")], 'x = ["N", "K"]\nw = ["K"]'),
    "colmean": ([("c", "x - colmean(x*w)"), ("L", "mean(c**2 * w)")], 'x = ["N", "K"]\nw = ["K"]'),
    "onehot": (
        [("L", "-mean(rowsum(onehot(x, w) * (w - log(rowsum(exp(w))))))")],
        'x = ["N"]\nw = ["N", "K"]',
    ),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_matrix_rule_matches_autograd_and_finite_differences(name):
    nodes, shapes = GRAPHS[name]
    g = loads(lesson(nodes, shapes)).graph
    result = matrix_backward(g)
    [chk] = result.checks
    assert chk.ok and chk.grade == "good", chk
    assert chk.autograd_error <= 1e-12
    assert np.linalg.norm(chk.symbolic) > 0.1


def test_rowmax_rule_sends_each_rows_gradient_to_its_largest_entry():
    g = loads(lesson(*GRAPHS["rowmax"])).graph
    entry = next(e for e in matrix_backward(g).entries if e.name == "a")
    text = dict(entry.lines)["∂L/∂a"]
    assert text.startswith(
        "2·(a − rowmax(a))  +  (((−2·(a − rowmax(a)))·1)·1ᵀ) ⊙ 1[a = rowmax(a)]"
    ), text


def test_labels_of_onehot_are_drawn_as_classes():
    g = loads(lesson(*GRAPHS["onehot"])).graph
    assert label_leaves(g) == {"x": "K"}
    values = check_values(g)
    assert set(np.unique(values["x"])) <= {0.0, 1.0, 2.0} and values["x"].shape == (4,)


SOFTMAX = [
    ("z", "x @ W + b"),
    ("m", "rowmax(z)"),
    ("e", "exp(z - m)"),
    ("s", "rowsum(e)"),
    ("logp", "z - m - log(s)"),
    ("L", "-mean(rowsum(onehot(y, z) * logp))"),
]
SOFTMAX_SHAPES = 'x = ["N", "D"]\nW = ["D", "K"]\nb = ["K"]\ny = ["N"]'


def test_fused_softmax_cross_entropy_over_a_batch():
    text = lesson(
        SOFTMAX,
        SOFTMAX_SHAPES,
        params=("W", "b"),
        inputs=("x", "y"),
        dims="N = 8\nD = 3\nK = 5",
        extra='[graph.fused]\nz = "(e/s - onehot(y, z))/N"\n',
    ).replace("y = 0.5", "y = 0.0")
    deriv = derive(loads(text), use_cache=False)
    step = next(s for s in deriv.steps if s.phase == "matrix" and s.node == "z")
    lines = dict(step.lines)
    assert lines["∂L/∂z, fused"] == "(e ⊘ s − onehot(y, z)) ⊘ N"
    assert float(lines["fused vs the rules above"].split()[-1]) <= 1e-12
    assert float(lines["fused vs torch autograd"].split()[-1]) <= 1e-12
    assert step.note.startswith("The fused form is one expression for the same numbers")
    assert all(c.ok for c in deriv.matrix_checks)


def test_a_wrong_fused_form_is_called_a_mismatch():
    text = lesson(
        SOFTMAX,
        SOFTMAX_SHAPES,
        params=("W", "b"),
        inputs=("x", "y"),
        dims="N = 8\nD = 3\nK = 5",
        extra='[graph.fused]\nz = "e/s - onehot(y, z)"\n',
    )  # the 1/N of the mean forgotten
    step = next(
        s
        for s in derive(loads(text), use_cache=False).steps
        if s.phase == "matrix" and s.node == "z"
    )
    assert step.note.startswith("MISMATCH: the fused form given does not equal the gradient")


@pytest.mark.parametrize(
    "extra,message",
    [
        ('[graph.fused]\nq = "e"\n', "'q' is not a node (other than the loss) or a parameter"),
        (
            '[graph.fused]\nz = "rowsum(e)"\n',
            "the fused form is N×1, but ∂L/∂z has the shape of z, N×K",
        ),
        ('[graph.fused]\nz = "e/M"\n', "unknown name 'M'"),
    ],
)
def test_fused_forms_are_checked_when_the_file_is_read(extra, message):
    text = lesson(
        SOFTMAX,
        SOFTMAX_SHAPES,
        params=("W", "b"),
        inputs=("x", "y"),
        dims="N = 8\nD = 3\nK = 5",
        extra=extra,
    )
    with pytest.raises(LessonError, match=message.replace("(", r"\(").replace(")", r"\)")):
        loads(text)


def test_a_label_vector_that_is_not_one_per_row_is_refused():
    text = lesson([("L", "sum(onehot(x, w))")], 'x = ["K"]\nw = ["N", "K"]')
    with pytest.raises(LessonError, match="onehot"):
        loads(text)


def test_rowmax_kink_changes_sign_exactly_where_the_argmax_changes():
    """rowmax's kink argument: each entry against the largest of the others in its row, so it is
    never 0 away from a tie (the code checker draws inputs clear of every kink) and changes sign
    where the row's largest entry changes (the gradient check's kink detection)."""
    import numpy as np

    from tutor.expr.ops import OPS

    kink = OPS["rowmax"].kink
    before = kink(np, np.array([[1.0, 0.9, -2.0], [0.0, 3.0, 2.5]]))
    after = kink(np, np.array([[1.0, 1.1, -2.0], [0.0, 3.0, 2.5]]))
    assert np.allclose(before, [[0.1, -0.1, -3.0], [-3.0, 0.5, -0.5]])
    assert np.sign(before[0, :2]).tolist() == [1, -1] and np.sign(after[0, :2]).tolist() == [-1, 1]
    assert np.array_equal(np.sign(before[1]), np.sign(after[1]))  # that row's argmax stayed
    assert kink(np, np.array([[2.0, 2.0]])).tolist() == [[0.0, 0.0]]  # a tie is the kink itself
    assert kink(np, np.array([[5.0], [-1.0]])).tolist() == [
        [1.0],
        [1.0],
    ]  # one entry a row: no kink
