"""The modern lessons of issue 29 written by this branch, headless: layernorm-backward (every
intermediate over each sample's features, the fused formula, the layer on every backend).
Every figure their text states is computed here independently (torch autograd or a closed form)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.support import events_of, headless_json, lesson_path
from tutor.lesson import load

LAYERNORM = "layernorm-backward"
EPS = 1e-5  # nn.LayerNorm's default, which the lesson states


def explain_text(lesson_id: str) -> str:
    return "\n".join(p.text for p in load(lesson_path(lesson_id)).explain)


def exercises(lesson_id: str) -> dict:
    return {e.id: e for e in load(lesson_path(lesson_id)).exercises}


def done(events, backend):
    [d] = events_of(events, "done", backend=backend)
    assert d["diverged"] is False and d["diagnosis"] is None, d
    return d


def losses(events, backend):
    return np.array([e["loss"] for e in events_of(events, "train", backend=backend)])


# --- layernorm-backward ---------------------------------------------------------------------


def test_layernorm_derives_every_intermediate_over_the_rows_then_the_fused_formula():
    events = headless_json(LAYERNORM, "--no-train")
    matrix = {e["node"]: e["text"] for e in events_of(events, "derive", phase="matrix")}
    assert list(matrix) == ["out", "xhat", "inv", "var", "xc", "mu", "x", "gamma", "beta"]
    assert "Matrix form" not in matrix["mu"] and "shape = N×1 (the shape of mu)" in matrix["mu"]
    assert "shape = N×1 (the shape of inv)" in matrix["inv"]
    assert "∂L/∂x = ∂L/∂xc  +  ∂L/∂mu·1ᵀ/D" in matrix["x"]
    assert (
        "∂L/∂x, fused = inv ⊘ D ⊙ (D ⊙ gamma ⊙ g − rowsum(gamma ⊙ g) − xhat ⊙ rowsum(gamma ⊙ g ⊙ xhat))"
        in matrix["x"]
    )
    for name in ("x", "gamma", "beta"):
        errors = [
            float(line.rsplit(" ", 1)[1])
            for line in matrix[name].splitlines()
            if line.startswith("fused vs")
        ]
        assert len(errors) == 2 and max(errors) < 1e-14, (name, errors)  # "within 1e-14" in Explain
    assert "agree to within\n1e-14 (rounding)" in explain_text(LAYERNORM)
    checks = events_of(events, "gradcheck", form="matrix")
    assert {c["param"] for c in checks} == {"x", "gamma", "beta"} and all(c["ok"] for c in checks)
    scalar = {c["param"]: c["symbolic"] for c in events_of(events, "gradcheck", form="scalar")}
    assert scalar == {"x": 0.0, "gamma": 0.0, "beta": 0.5}  # one feature: dx = 0 exactly


def layernorm_torch(x: torch.Tensor, gamma, beta) -> torch.Tensor:
    """The six lines of the first Explain page, written out on tensors."""
    xc = x - x.mean(dim=-1, keepdim=True)
    inv = 1 / torch.sqrt((xc * xc).mean(dim=-1, keepdim=True) + EPS)
    return gamma * (xc * inv) + beta


def test_the_six_lines_and_the_fused_formula_match_nn_layernorm_in_float64():
    gen = torch.Generator().manual_seed(0)
    n, d = 7, 5
    x = torch.randn(n, d, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(n, d, generator=gen, dtype=torch.float64)
    gamma = torch.randn(d, generator=gen, dtype=torch.float64)
    beta = torch.randn(d, generator=gen, dtype=torch.float64)
    ln = torch.nn.LayerNorm(d, eps=EPS).double()
    with torch.no_grad():
        ln.weight.copy_(gamma)
        ln.bias.copy_(beta)
    ref = ln(x)
    (ref * g).sum().backward()
    ours = layernorm_torch(x.detach(), gamma, beta)
    assert torch.allclose(ours, ref.detach(), rtol=0, atol=1e-12)
    xd = x.detach()
    xc = xd - xd.mean(1, keepdim=True)
    inv = 1 / torch.sqrt((xc * xc).mean(1, keepdim=True) + EPS)
    xhat = xc * inv
    dxhat = g * gamma
    fused = (
        inv
        / d
        * (d * dxhat - dxhat.sum(1, keepdim=True) - xhat * (dxhat * xhat).sum(1, keepdim=True))
    )
    assert torch.allclose(fused, x.grad, rtol=1e-10, atol=1e-12)
    assert torch.allclose((g * xhat).sum(0), ln.weight.grad, rtol=1e-12, atol=1e-12)
    assert torch.allclose(g.sum(0), ln.bias.grad, rtol=1e-12, atol=1e-12)
    # the claims of "What changes": no batch statistics, the same in eval mode, no running averages
    other_g = g.clone()
    other_g[[0, 1, 3]] = torch.randn(
        3, d, generator=gen, dtype=torch.float64
    )  # other rows' upstream
    x2 = x.detach().clone().requires_grad_(True)
    (ln(x2) * other_g).sum().backward()
    assert torch.equal(x2.grad[2], x.grad[2])  # row 2's gradient gathers nothing from the others
    alone = ln(xd[2:3])
    assert torch.allclose(alone, ref.detach()[2:3], rtol=0, atol=1e-12)
    ln.eval()
    assert torch.allclose(ln(xd), ref.detach(), rtol=0, atol=0)
    assert not any("running" in name for name, _ in ln.named_buffers())
    # a bias before it: only its mean over the features is wasted, so its gradient sums to 0
    b = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    (ln(xd + b) * g).sum().backward()
    assert b.grad.abs().max() > 1e-3 and abs(float(b.grad.sum())) < 1e-12 * float(
        b.grad.abs().sum()
    )
    text = explain_text(LAYERNORM)
    assert "the gradient of the linear layer's bias sums to 0 over its entries" in " ".join(
        text.split()
    )


def test_the_layernorm_exercises_numbers():
    x = torch.tensor([[1.0, 2.0, 6.0]], dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    (torch.nn.functional.layer_norm(x, (3,), eps=EPS) * g).sum().backward()
    ex = exercises(LAYERNORM)
    assert math.isclose(float(ex["fused-dx"].answer), float(x.grad[0, 0]), rel_tol=1e-12)
    inv = 1 / math.sqrt(14 / 3 + EPS)  # the hint's 0.46291
    assert f"{inv:.5f}" == "0.46291" and f"{float(x.grad[0, 0]):.6f}" == "0.176347"
    assert [float(a) for a, _ in ex["fused-dx"].mistakes] == pytest.approx(
        [inv, inv * 2 / 3], rel=1e-12
    )
    # the same number as batch normalisation's exercise: one feature over a batch of three
    xb = torch.tensor([[1.0], [2.0], [6.0]], dtype=torch.float64, requires_grad=True)
    bn = torch.nn.BatchNorm1d(1, eps=EPS, track_running_stats=False).double()
    (bn(xb) * g.T).sum().backward()
    assert math.isclose(float(xb.grad[0, 0]), float(x.grad[0, 0]), rel_tol=1e-12)
    # the scalar view: one feature, so the row's mean is x itself and dx = 0
    one = torch.tensor([[1.2]], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.layer_norm(
        one,
        (1,),
        torch.tensor([1.5], dtype=torch.float64),
        torch.tensor([0.1], dtype=torch.float64),
        eps=EPS,
    )
    (out * 0.5).sum().backward()
    assert (
        float(one.grad) == 0.0
        and float(ex["scalar-dx"].answer) == 0.0
        and float(out.detach()) == pytest.approx(0.1)
    )
    assert float(ex["scalar-dx"].mistakes[0][0]) == pytest.approx(
        1.5 * 0.5 / math.sqrt(EPS), rel=1e-12
    )
    assert f"{1 / math.sqrt(EPS):.1f}" == "316.2"
    assert float(ex["scalar-dx"].mistakes[1][0]) == 1.5 * 0.5


def test_layernorm_trains_alike_on_all_five_backends_and_its_variants_run():
    events = headless_json(LAYERNORM, "--no-derive", "--log-every", "1")
    backends = ("numpy", "torch-manual", "autograd", "nn", "optim")
    runs = {b: losses(events, b) for b in backends}
    for b in backends:
        assert len(runs[b]) == 100  # 20 batches of 64 an epoch, 5 epochs
        assert np.allclose(runs[b], runs["numpy"], rtol=1e-5, atol=0), b
    finals = [done(events, b) for b in backends]
    assert all(math.isclose(d["final_loss"], finals[0]["final_loss"], rel_tol=1e-5) for d in finals)
    assert runs["numpy"][-1] < 0.5 * runs["numpy"][0]
    grads = events_of(events, "train", backend="optim")[0]["grad_norm"]
    assert set(grads) == {"W1", "b1", "W2", "b2", "gamma", "beta"}
    for variant in ("no-layernorm", "batchnorm"):
        other = headless_json(LAYERNORM, "--no-derive", "--variant", variant)
        assert [done(other, b)["final_loss"] for b in ("numpy", "optim")] == [
            pytest.approx(done(other, "numpy")["final_loss"], rel=1e-5)
        ] * 2, variant


LAYERNORM_FUSED = """import numpy as np


def backward(g, x, gamma, beta):
    xc = x - x.mean(axis=1, keepdims=True)
    inv = 1 / np.sqrt((xc ** 2).mean(axis=1, keepdims=True) + 1e-05)
    xhat = xc * inv
    dxhat = g * gamma
    d = x.shape[1]
    dx = inv / d * (d * dxhat - dxhat.sum(axis=1, keepdims=True) - xhat * (dxhat * xhat).sum(axis=1, keepdims=True))
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)
"""


def test_the_layernorm_code_exercise_takes_the_fused_form_and_refuses_batchnorms_axis():
    from tutor.cli.code import code_exercise
    from tutor.code.check import check_source, table

    lesson = load(lesson_path(LAYERNORM))
    ex = code_exercise(lesson, "backward")
    result = check_source(lesson, ex, LAYERNORM_FUSED)  # the third hint's line, written out
    assert result.ok, table(result)
    assert [(o.name, o.verdict) for o in result.outputs] == [
        ("dx", "ok"),
        ("dgamma", "ok"),
        ("dbeta", "ok"),
    ]
    over_the_batch = LAYERNORM_FUSED.replace(
        "dxhat.sum(axis=1, keepdims=True)", "dxhat.sum(axis=0)"
    )
    wrong = check_source(lesson, ex, over_the_batch)
    assert not wrong.ok and [o.verdict == "ok" for o in wrong.outputs] == [False, True, True]


def test_the_layernorm_shape_answers_and_the_eps():
    x = torch.zeros(6, 4)
    assert tuple(x.mean(dim=-1, keepdim=True).shape) == (6, 1)  # mu: N × 1
    ln = torch.nn.LayerNorm(4)
    assert ln.eps == EPS and tuple(ln.weight.shape) == (4,)  # torch's default eps; gamma: D
    ex = exercises(LAYERNORM)
    assert ex["mu-shape"].answer == "N x 1" and ex["dgamma-shape"].answer == "D"
    assert (
        "eps = 1e-5 and the division by D (not D − 1) are what torch's `nn.LayerNorm`"
        in " ".join(explain_text(LAYERNORM).split())
    )


def test_the_layernorm_variants_start_from_the_same_linear_weights():
    from tutor.train.spec import initial_weights, resolve

    lesson = load(lesson_path(LAYERNORM))
    with_ln = initial_weights(resolve(lesson, "numpy"), 64, 10)
    assert [v.name for v in lesson.variants] == ["no-layernorm", "batchnorm"]
    for variant in lesson.variants:
        other = initial_weights(resolve(lesson, "numpy", variant), 64, 10)
        shared = set(with_ln) & set(other)
        assert {"W1", "b1", "W2", "b2"} <= shared, variant.name
        assert all(np.array_equal(with_ln[k], other[k]) for k in shared), variant.name
    assert "both from the same linear weights (neither layer draws anything)" in " ".join(
        explain_text(LAYERNORM).split()
    )


# --- adam-from-scratch ----------------------------------------------------------------------

ADAM = "adam-from-scratch"
B1, B2, ADAM_EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, which the lesson states


def adam_by_hand(w, grads, lr, decay=0.0, decoupled=False):
    """The first Explain page's update, written here in numpy: each step's weights."""
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for k, grad_of in enumerate(grads, start=1):
        g = grad_of(w)
        if decoupled:
            w = w - lr * decay * w  # AdamW: shrink first, outside the moments
        else:
            g = g + decay * w  # Adam(weight_decay): into the gradient
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g * g
        w = w - lr * (m / (1 - B1**k)) / (np.sqrt(v / (1 - B2**k)) + ADAM_EPS)
        out.append(w)
    return out


@pytest.mark.parametrize("kind", ["adam", "adam-decay", "adamw"])
def test_adam_by_hand_agrees_with_torch_optim_step_for_step_in_float64(kind):
    rng = np.random.default_rng(1)
    x, y, w0 = rng.normal(size=(30, 4)), rng.normal(size=(30, 1)), rng.normal(size=(4, 1))

    def grad(w):
        return 2 * x.T @ (x @ w - y) / len(x)

    decay = 0.0 if kind == "adam" else 0.01
    ours = adam_by_hand(w0, [grad] * 50, 0.05, decay, decoupled=kind == "adamw")
    wt = torch.tensor(w0, requires_grad=True)
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    opt = cls([wt], lr=0.05, weight_decay=decay)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for k in range(50):
        opt.zero_grad()
        ((xt @ wt - yt) ** 2).mean().backward()
        opt.step()
        assert np.allclose(ours[k], wt.detach().numpy(), rtol=1e-9, atol=1e-12), (
            kind,
            k,
        )  # "to within 1e-6"
    assert (
        torch.optim.AdamW([torch.zeros(1)]).defaults["weight_decay"] == 0.01
    )  # "λ = 0.01 by default"
    assert torch.optim.Adam([torch.zeros(1)]).defaults["betas"] == (B1, B2)
    assert torch.optim.Adam([torch.zeros(1)]).defaults["eps"] == ADAM_EPS


def test_adams_weight_decay_is_the_l2_penalty_of_half_its_size():
    rng = np.random.default_rng(2)
    x, y, w0 = rng.normal(size=(20, 3)), rng.normal(size=(20, 1)), rng.normal(size=(3, 1))
    runs = []
    for decay, l2 in ((0.01, 0.0), (0.0, 0.005)):
        w = torch.tensor(w0, requires_grad=True)
        opt = torch.optim.Adam([w], lr=0.1, weight_decay=decay)
        for _ in range(20):
            opt.zero_grad()
            (((torch.tensor(x) @ w - torch.tensor(y)) ** 2).mean() + l2 * (w * w).sum()).backward()
            opt.step()
        runs.append(w.detach().numpy())
    assert np.allclose(runs[0], runs[1], rtol=1e-10, atol=1e-12)
    text = " ".join(explain_text(ADAM).split())
    assert "(the Train part's `l2` key is that penalty written as l2·Σw², so l2 = λ/2)" in text


def test_the_adam_lessons_numbers_by_closed_form():
    text = " ".join(explain_text(ADAM).split())
    x, y, w, lr = 2.0, 1.0, 0.3, 0.1
    z = x * w
    g = 2 * (z - y) * x
    assert (z, (z - y) ** 2, g) == pytest.approx((0.6, 0.16, -1.6), rel=1e-12)
    assert "z = 0.6, L = 0.16 and ∂L/∂w = 2·(0.6 − 1)·2 = −1.6" in text
    assert w - lr * g == pytest.approx(0.46, rel=1e-12) and "w = 0.3 − 0.1·(−1.6) = 0.46" in text
    [corrected] = adam_by_hand(np.array(w), [lambda _: np.array(g)], lr)
    assert abs(corrected - 0.4) < 1e-9 and "w = 0.3 + 0.1·1.6/(1.6 + 1e-8) = 0.4 (to 1e-9)" in text
    m, v = (1 - B1) * g, (1 - B2) * g * g
    assert (m, v) == pytest.approx(
        (-0.16, 0.00256), rel=1e-12
    ) and f"{math.sqrt(v):.6g}" == "0.0505964"
    uncorrected = w - lr * m / (math.sqrt(v) + ADAM_EPS)
    assert f"{uncorrected:.6f}" == "0.616228"
    assert "m = −0.16, v = 0.00256, w = 0.3 + 0.1·0.16/0.0505964 = 0.616228" in text
    factor = (1 - B1) / math.sqrt(1 - B2)
    assert (
        f"{factor:.5f}" == "3.16228" and "(1 − beta1)/√(1 − beta2) = 3.16228 times too long" in text
    )
    assert f"{1 - B2**400:.3f}" == "0.330" and "(1 − 0.999^400 = 0.330)" in text
    assert pytest.approx(10) == 1 / (1 - 0.9) and "(10·lr for mu = 0.9)" in text
    # the first step is lr in size whatever g, and a gradient scaled by 100 gives the same steps
    for scale in (1e-3, 1.0, 1e3):
        [step] = adam_by_hand(np.array(0.0), [lambda _: np.array(scale)], lr)
        assert abs(-step - lr) <= lr * ADAM_EPS / scale + 1e-16  # lr·eps/(|g| + eps), and rounding
    rng = np.random.default_rng(3)
    gs = rng.normal(size=30)
    a = adam_by_hand(np.array(0.0), [lambda _, g=g: np.array(g) for g in gs], lr)
    b = adam_by_hand(np.array(0.0), [lambda _, g=g: np.array(100 * g) for g in gs], lr)
    assert np.allclose(a, b, rtol=1e-6, atol=0)
    ex = exercises(ADAM)
    assert float(ex["grad-w"].answer) == pytest.approx(g, rel=1e-12)
    assert float(ex["adam-first-step"].answer) == pytest.approx(float(corrected), rel=1e-12)
    assert [float(a) for a, _ in ex["adam-first-step"].mistakes] == pytest.approx(
        [0.46, uncorrected, 0.2], rel=1e-9
    )
    assert float(ex["uncorrected-factor"].answer) == pytest.approx(factor, rel=1e-12)
    assert float(ex["uncorrected-factor"].mistakes[0][0]) == pytest.approx(
        (1 - B1) / (1 - B2), rel=1e-12
    )
    assert [float(a) for a, _ in ex["grad-w"].mistakes] == pytest.approx(
        [2 * (z - y), -g], rel=1e-12
    )


def test_adam_derives_the_gradient_and_its_fused_form():
    events = headless_json(ADAM, "--no-train")
    checks = events_of(events, "gradcheck")
    assert {(c["param"], c["form"]) for c in checks} == {("w", "scalar"), ("w", "matrix")} and all(
        c["ok"] for c in checks
    )
    [scalar] = [c for c in checks if c["form"] == "scalar"]
    assert scalar["symbolic"] == pytest.approx(-1.6, rel=1e-12)
    [step] = [e for e in events_of(events, "derive", phase="matrix") if e["node"] == "w"]
    errors = [
        float(line.rsplit(" ", 1)[1])
        for line in step["text"].splitlines()
        if line.startswith("fused vs")
    ]
    assert len(errors) == 2 and max(errors) < 1e-14


def weights_by_step(events, backend):
    """Every step's starting weights (w and b), flattened, one row a step."""
    return np.array(
        [
            np.concatenate([np.ravel(e["params"]["w"]), np.ravel(e["params"]["b"])])
            for e in events_of(events, "train", backend=backend)
        ]
    )


@pytest.mark.parametrize("variant", [None, "adamw", "adam-l2", "momentum", "rmsprop", "gd"])
def test_the_hand_written_optimisers_take_torch_optims_steps(variant):
    args = ["--no-derive", "--log-every", "1", "--backend", "numpy", "--backend", "optim"]
    events = headless_json(ADAM, *args, *(["--variant", variant] if variant else []))
    by_hand, torch_optim = weights_by_step(events, "numpy"), weights_by_step(events, "optim")
    assert by_hand.shape == torch_optim.shape == (100, 3)
    assert np.abs(by_hand - torch_optim).max() < 1e-6, (
        variant
    )  # every step, float64: the lesson's 1e-6
    assert np.allclose(by_hand, torch_optim, rtol=1e-9, atol=1e-12), (
        variant
    )  # "in fact to rounding"
    assert np.abs(by_hand[-1] - by_hand[0]).max() > 0.1  # and the weights did move
    done(events, "numpy")
    done(events, "optim")
    if variant is None:  # Adam's first step: lr on every weight
        assert np.allclose(np.abs(by_hand[1] - by_hand[0]), 0.1, rtol=1e-6, atol=0)


def test_adamw_and_adam_l2_variants_decay():
    finals = {}
    for variant in (None, "adamw", "adam-l2"):
        events = headless_json(
            ADAM, "--no-derive", "--backend", "numpy", *(["--variant", variant] if variant else [])
        )
        finals[variant] = done(events, "numpy")["final_loss"]
    assert finals["adamw"] != finals[None] and finals["adam-l2"] != finals[None]
    from tutor.train.spec import resolve

    lesson = load(lesson_path(ADAM))
    variants = {v.name: v for v in lesson.variants}
    assert resolve(lesson, "numpy").weight_decay == 0.0  # Adam: no decoupled decay
    assert (
        resolve(lesson, "numpy", variants["adamw"]).weight_decay == 0.01
    )  # AdamW's default, as torch's
    assert resolve(lesson, "numpy", variants["adamw"], weight_decay=0.1).weight_decay == 0.1
