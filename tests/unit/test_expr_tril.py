"""The causal mask `tril(a)` (issue 29's attention lesson): its shape rule, its numpy and torch
forms, its matrix-form backward (the mask applied to the upstream gradient) against autograd and
finite differences, and the code exercise's reference written with it; exact_error, which lets a
gradient that is 0 in exact arithmetic carry rounding; (A ⊙ B)·C bracketed in matrix text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support import LESSONS_DIR
from tests.unit.test_derive_reductions import lesson
from tutor.derive.check import exact_error, rel_error
from tutor.derive.matrix import matrix_backward
from tutor.expr.evaluate import Numpy, Torch, evaluate
from tutor.expr.ops import OPS, ShapeError
from tutor.expr.parser import parse
from tutor.expr.text import pretty
from tutor.lesson import load, loads


def test_tril_is_one_entry_of_the_table_with_a_square_shape_rule():
    op = OPS["tril"]
    assert op.function and op.backward is not None and op.arity == 1
    assert op.shape(("T", "T")) == ("T", "T") and op.shape(()) == ()
    with pytest.raises(
        ShapeError, match=r"tril\(a\) needs a square array \(positions × positions\): a is T×D"
    ):
        op.shape(("T", "D"))
    with pytest.raises(ShapeError, match="a is T$"):
        op.shape(("T",))


def test_tril_keeps_entries_up_to_the_diagonal_in_numpy_and_torch():
    a = np.arange(1.0, 10.0).reshape(3, 3)
    want = np.array([[1.0, 0, 0], [4, 5, 0], [7, 8, 9]])
    expr = parse("tril(a)")
    assert np.array_equal(evaluate(expr, {"a": a}, Numpy()), want)
    assert np.array_equal(evaluate(expr, {"a": torch.tensor(a)}, Torch()).numpy(), want)
    assert (
        float(evaluate(expr, {"a": np.float64(2.5)}, Numpy())) == 2.5
    )  # the scalar view: one position


def test_tril_in_a_batch_graph_matches_autograd_and_a_masked_entry_gets_no_gradient():
    nodes = [("a", "x @ w.T"), ("L", "sum(tril(exp(a))**2)")]
    g = loads(lesson(nodes, 'x = ["N", "K"]\nw = ["N", "K"]')).graph
    result = matrix_backward(g)
    [chk] = result.checks
    assert chk.ok and chk.grade == "good" and chk.autograd_error <= 1e-12, chk
    entry = next(e for e in result.entries if e.name == "a")
    assert dict(entry.lines)["∂L/∂a"] == "tril(2·tril(exp(a))) ⊙ exp(a)"
    # the rule's value: upper-triangle entries of ∂L/∂a are exactly 0, as autograd's are
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    w = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    a = (x @ w.T).requires_grad_(True)
    (torch.tril(torch.exp(a)) ** 2).sum().backward()
    lower = torch.ones(4, 4, dtype=torch.bool).tril()
    assert torch.all(a.grad[~lower] == 0) and torch.all(a.grad[lower] != 0)


def test_the_code_reference_masks_the_upstream_gradient_and_writes_k_for_kt_transposed():
    from tutor.code.template import code, reference

    assert code(parse("tril(exp(a))")) == "np.tril(np.exp(a))"
    attn = load(LESSONS_DIR / "attention-backward.toml")
    solution = reference(attn, next(e for e in attn.exercises if e.id == "backward"))
    assert "    dm = np.sum(-(np.tril(de) * np.exp(S - m)), axis=-1, keepdims=True)\n" in solution
    assert "    dQ = dS / 8 @ K\n" in solution and "(K.T).T" not in solution


def test_exact_error_forgives_rounding_in_an_entry_that_cancels_to_zero_only():
    a = np.array([1.5, 0.0, -0.7])
    b = np.array([1.5, 5.6e-17, -0.7])
    assert rel_error(a, b) > 1e-9  # elementwise, the cancelled entry counts fully
    assert exact_error(a, b) < 1e-10  # against 1e-4 of the largest entry: rounding
    assert exact_error(a, np.array([1.5, 1e-3, -0.7])) > 1e-2  # a real difference still shows
    assert exact_error(np.zeros(3), np.zeros(3)) == 0.0


def test_an_elementwise_product_on_the_left_of_a_matrix_product_is_bracketed():
    assert pretty(parse("(P*D) @ K"), matrix=True) == "(P ⊙ D)·K"
    assert pretty(parse("P*(D @ K)"), matrix=True) == "P ⊙ (D·K)"
    assert pretty(parse("P @ K*D"), matrix=True) == "P·K ⊙ D"
    assert pretty(parse("2*x.T @ (z - y)/(N*K)"), matrix=True) == "2·xᵀ·(z − y) ⊘ (N ⊙ K)"
