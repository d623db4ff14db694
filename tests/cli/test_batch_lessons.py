"""The two batch lessons of issue 15, headless: softmax-cross-entropy (the fused backward over a
batch, the float32 overflow and its fix, mean versus sum) and batchnorm-backward (every
intermediate, the fused formula, the batchnorm layer in every backend). Every figure their text
and notes state is computed here in float64 and asserted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.support import events_of, headless_json, lesson_path
from tutor.lesson import load
from tutor.train.layers import BN_EPS, BatchNorm

SOFTMAX = "softmax-cross-entropy"
BATCHNORM = "batchnorm-backward"


def text_of(lesson_id: str) -> str:
    lesson = load(lesson_path(lesson_id))
    return "\n".join(p.text for p in lesson.explain)


def done(events, backend):
    [d] = events_of(events, "done", backend=backend)
    assert d["diverged"] is False and d["diagnosis"] is None, d
    return d


# --- softmax-cross-entropy ------------------------------------------------------------------


def test_the_overflow_and_its_fix_with_the_numbers_on_screen():
    z32 = np.array([100, 98, 95], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        e32 = np.exp(z32)
        naive = e32 / e32.sum()
    assert np.all(np.isinf(e32)) and np.all(np.isnan(naive))
    big = float(np.finfo(np.float32).max)
    assert f"{big:.2g}" == "3.4e+38" and round(math.log(big), 1) == 88.7
    assert f"{math.exp(100):.2g}" == "2.7e+43"
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float64(1000))) and np.isfinite(np.exp(np.float64(100)))
    z = np.array([100.0, 98.0, 95.0])
    shifted = np.exp(z - z.max())
    s = shifted.sum()
    p = shifted / s
    loss = z.max() + math.log(s) - z[1]
    text = text_of(SOFTMAX)
    assert "exp(100) is about 2.7e43, but float32 stops at 3.4e38 (exp(88.7))" in text
    assert f"(1, {shifted[1]:.6f}, {shifted[2]:.8f})" == "(1, 0.135335, 0.00673795)"
    assert "(1, 0.135335,\n0.00673795)" in text
    assert f"{s:.5f}" == "1.14207" and f"{math.log(s):.6f}" == "0.132845"
    assert "Their sum is 1.14207, log of it is 0.132845" in text
    assert f"({p[0]:.6f}, {p[1]:.4f}, {p[2]:.7f})" == "(0.875601, 0.1185, 0.0058998)"
    assert "softmax(z) = (0.875601, 0.1185, 0.0058998)" in text
    assert f"{loss:.5f}" == "2.13285" and "100 + 0.132845 − 98 = 2.13285" in text
    ex = next(e for e in load(lesson_path(SOFTMAX)).exercises if e.id == "stable-loss")
    assert abs(float(ex.answer) - loss) < 1e-12


def test_the_matrix_form_shows_the_fused_backward_and_checks_it():
    events = headless_json(SOFTMAX, "--no-train")
    [step] = [e for e in events_of(events, "derive", phase="matrix") if e["node"] == "z"]
    text = step["text"]
    assert "∂L/∂logp  +  ∂L/∂e ⊙ exp(z − m)  +  (∂L/∂m·1ᵀ) ⊙ 1[z = rowmax(z)]" in text
    assert "∂L/∂z, fused = (e ⊘ s − onehot(y, z)) ⊘ N" in text
    errors = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("fused vs")
    ]
    assert len(errors) == 2 and max(errors) < 1e-15  # the Explain page: both below 1e-15
    assert "agrees with the rule-by-rule backward pass and with autograd" in " ".join(text.split())
    checks = events_of(events, "gradcheck", form="matrix")
    assert {c["param"] for c in checks} == {"W", "b"} and all(c["ok"] for c in checks)


def test_the_scalar_view_is_one_class_with_loss_zero():
    events = headless_json(SOFTMAX, "--no-train")
    scalar = events_of(events, "gradcheck", form="scalar")
    assert {c["param"]: c["symbolic"] for c in scalar} == {"W": 0.0, "b": 0.0}


def losses(events, backend="numpy"):
    return [e["loss"] for e in events_of(events, "train", backend=backend)]


def test_mean_and_sum_with_lr_over_n_take_the_same_steps_and_the_notes_figures():
    mean = headless_json(SOFTMAX, "--no-derive", "--backend", "numpy", "--log-every", "1")
    summed = headless_json(
        SOFTMAX, "--no-derive", "--backend", "numpy", "--log-every", "1", "--variant", "sum-loss"
    )
    a, b = np.array(losses(mean)), np.array(losses(summed))
    assert len(a) == len(b) == 200
    assert np.allclose(b, 64 * a, rtol=1e-10, atol=0)  # every step's loss: 64 times the mean's
    dm, ds = done(mean, "numpy"), done(summed, "numpy")
    assert dm["accuracy"] == ds["accuracy"] and dm["val_accuracy"] == ds["val_accuracy"]
    assert math.isclose(ds["final_loss"], 1280 * dm["final_loss"], rel_tol=1e-10)
    assert math.isclose(ds["final_val_loss"], 517 * dm["final_val_loss"], rel_tol=1e-10)
    lesson = load(lesson_path(SOFTMAX))
    assert dm["final_loss"] == pytest.approx(0.192568, rel=1e-4)  # float32, 200 steps
    assert round(dm["val_accuracy"] * 517) == 493  # a count: k/517·517 is k to 1e-13
    assert (
        "final loss 0.192568 on the 1,280 training digits, validation accuracy 0.954 (493 of 517"
        in lesson.train.note
    )
    note = next(v for v in lesson.variants if v.name == "sum-loss").changes["note"]
    assert ds["final_loss"] == pytest.approx(246.488, rel=1e-4) and ds[
        "final_val_loss"
    ] == pytest.approx(121.969, rel=1e-4)
    assert (
        dm["final_val_loss"] == pytest.approx(0.235916, rel=1e-4)
        and round(dm["accuracy"] * 1280) == 1240
    )
    assert (
        "(0.969 training, 0.954 validation); the final loss 246.488 is 1,280 × 0.192568 and the validation "
        "loss 121.969 is 517 × 0.235916" in note
    )


def test_the_sum_with_the_same_lr_steps_too_far():
    events = headless_json(SOFTMAX, "--no-derive", "--backend", "numpy", "--variant", "sum-same-lr")
    d = done(events, "numpy")
    assert (
        d["accuracy"] == pytest.approx(0.999, abs=1 / 1280)
        and round(d["val_accuracy"] * 517) == 492
    )
    assert d["final_val_loss"] == pytest.approx(300.933, rel=1e-4) and d[
        "final_val_loss"
    ] / 517 == pytest.approx(0.582, abs=5e-4)
    note = next(v for v in load(lesson_path(SOFTMAX)).variants if v.name == "sum-same-lr").changes[
        "note"
    ]
    assert (
        "training accuracy 0.999, but a validation loss of 300.933 (0.582 per digit, against 0.236) and "
        "validation accuracy 0.952" in note
    )


# --- batchnorm-backward ---------------------------------------------------------------------


def test_every_intermediate_then_the_fused_formula_checked_three_ways():
    events = headless_json(BATCHNORM, "--no-train")
    matrix = {e["node"]: e["text"] for e in events_of(events, "derive", phase="matrix")}
    assert list(matrix) == ["out", "xhat", "inv", "var", "xc", "mu", "x", "gamma", "beta"]
    assert "∂L/∂x = ∂L/∂xc  +  1·∂L/∂mu/N" in matrix["x"]
    assert (
        "∂L/∂x, fused = inv ⊘ N ⊙ (N ⊙ gamma ⊙ g − colsum(gamma ⊙ g) − xhat ⊙ colsum(gamma ⊙ g ⊙ xhat))"
        in matrix["x"]
    )
    for name in ("x", "gamma", "beta"):
        errors = [
            float(line.rsplit(" ", 1)[1])
            for line in matrix[name].splitlines()
            if line.startswith("fused vs")
        ]
        assert len(errors) == 2 and max(errors) < 1e-14, (name, errors)  # "within 1e-14" in Explain
    checks = events_of(events, "gradcheck", form="matrix")
    assert {c["param"] for c in checks} == {"x", "gamma", "beta"} and all(c["ok"] for c in checks)
    scalar = {c["param"]: c["symbolic"] for c in events_of(events, "gradcheck", form="scalar")}
    assert scalar == {"x": 0.0, "gamma": 0.0, "beta": 0.5}  # a batch of one: dx = 0 exactly


def test_the_exercises_numbers():
    x, g, n = np.array([1.0, 2.0, 6.0]), np.array([1.0, 0.0, 0.0]), 3
    t = torch.tensor(x, requires_grad=True)
    xc = t - t.mean()
    out = xc / torch.sqrt((xc * xc).mean() + BN_EPS)
    (out * torch.tensor(g)).sum().backward()
    exercises = {e.id: e for e in load(lesson_path(BATCHNORM)).exercises}
    assert math.isclose(float(exercises["fused-dx"].answer), float(t.grad[0]), rel_tol=1e-12)
    inv = 1 / math.sqrt(14 / 3 + BN_EPS)
    assert [float(a) for a, _ in exercises["fused-dx"].mistakes] == pytest.approx(
        [inv, inv * 2 / n], rel=1e-12
    )
    assert float(exercises["scalar-dx"].mistakes[0][0]) == pytest.approx(
        1.5 * 0.5 / math.sqrt(BN_EPS), rel=1e-12
    )


def test_the_hand_written_layer_matches_nn_batchnorm1d_in_float64():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(16, 5)), rng.normal(size=(16, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    layer = BatchNorm(gamma, beta)
    out = layer.forward(x)
    dx = layer.backward(g)
    bn = torch.nn.BatchNorm1d(5, eps=BN_EPS, track_running_stats=False).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    xt = torch.tensor(x, requires_grad=True)
    ref = bn(xt)
    ref.backward(torch.tensor(g))
    assert np.allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert np.allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(layer.dgamma, bn.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert np.allclose(layer.dbeta, bn.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_all_five_backends_agree_and_the_notes_figures():
    events = headless_json(BATCHNORM, "--no-derive", "--log-every", "1")
    backends = ("numpy", "torch-manual", "autograd", "nn", "optim")
    runs = {b: np.array(losses(events, b)) for b in backends}
    for b in backends:
        assert len(runs[b]) == 100
        assert np.allclose(runs[b], runs["numpy"], rtol=1e-6, atol=0), b
    finals = [done(events, b) for b in backends]
    assert all(math.isclose(d["final_loss"], finals[0]["final_loss"], rel_tol=1e-6) for d in finals)
    assert [d["val_accuracy"] for d in finals] == [pytest.approx(0.954, abs=1 / 517)] * len(
        finals
    )  # a sample either way
    grads = events_of(events, "train", backend="optim")[0]["grad_norm"]
    assert set(grads) == {"W1", "b1", "W2", "b2", "gamma", "beta"}
    plain = headless_json(BATCHNORM, "--no-derive", "--variant", "no-batchnorm")
    assert [done(plain, b)["val_accuracy"] for b in ("numpy", "optim")] == [
        pytest.approx(0.919, abs=1 / 517)
    ] * 2
    lesson = load(lesson_path(BATCHNORM))
    assert (
        "validation accuracy 0.954 with batch normalisation; the no-batchnorm variant, from the same linear "
        "weights: 0.919" in lesson.train.note
    )
    note = lesson.variants[0].changes["note"]
    assert "validation accuracy 0.919 after 100 updates, against 0.954 with it" in note


def test_with_and_without_batchnorm_start_from_the_same_linear_weights():
    from tutor.train.spec import initial_weights, resolve

    lesson = load(lesson_path(BATCHNORM))
    with_bn = initial_weights(resolve(lesson, "numpy"), 64, 10)
    without = initial_weights(resolve(lesson, "numpy", lesson.variants[0]), 64, 10)
    assert set(with_bn) - set(without) == {"gamma", "beta"}
    assert all(np.array_equal(with_bn[k], without[k]) for k in without)
    assert np.array_equal(with_bn["gamma"], np.ones(50)) and np.array_equal(
        with_bn["beta"], np.zeros(50)
    )


def test_the_validation_figures_with_running_statistics_and_with_the_batchs_own():
    """Issue 28, item 12: the "Two modes" page's figures, from a run of torch.nn alone (float32, the
    lesson's 100 updates): the running statistics' validation loss and count, and those of the
    validation set's own statistics."""
    from tests.cli.test_lesson_claims import page, quoted
    from tests.unit.test_batchnorm_running import torch_nn_run
    from tutor.train.datasets import load as load_data
    from tutor.train.spec import dataset_for

    lesson = load(lesson_path(BATCHNORM))
    data = load_data(dataset_for(lesson))
    yv = torch.tensor(data.y_val, dtype=torch.int64)
    evaluated, own = torch_nn_run(lesson, data, 100, torch.float32)
    text = page(BATCHNORM, "Training and evaluation, and the bias before it")
    n = len(data.y_val)
    assert n == 540 and "On the 540 validation digits" in text
    running_loss = torch.nn.functional.cross_entropy(evaluated, yv).item()
    own_loss = torch.nn.functional.cross_entropy(own, yv).item()
    assert quoted(text, r"validation loss is ([\d.]+)") == pytest.approx(running_loss, rel=1e-4)
    assert quoted(text, r"give a loss of ([\d.]+)") == pytest.approx(own_loss, rel=1e-4)
    right = [int((p.argmax(1) == yv).sum()) for p in (evaluated, own)]
    assert quoted(text, r"accuracy 0.954 \((\d+) of 540\)") == pytest.approx(
        right[0], abs=1
    )  # a sample either way
    assert "and the same 515 right" in text and right[1] == pytest.approx(515, abs=1)
    # the trainers' own figures: every backend's validation measured with the running statistics
    events = headless_json(BATCHNORM, "--no-derive", "--log-every", "1")
    for backend in ("numpy", "torch-manual", "autograd", "nn", "optim"):
        d = done(events, backend)
        assert d["final_val_loss"] == pytest.approx(running_loss, rel=1e-4), backend
        assert round(d["val_accuracy"] * n) == pytest.approx(right[0], abs=1), backend
