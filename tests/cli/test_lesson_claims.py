"""The sentences and figures issue 28 corrected in the further lessons, each checked against the
lesson's own text and a figure computed here independently: numpy or torch on the lesson's data
and starting weights (the tutor's draw is the input; the forward and backward passes, the loss and
the finite differences are written out here), and, where the text quotes a run, the headless run.
Tolerances: a few units in the last quoted digit, or what float32 training can move."""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pytest

from tests.support import events_of, headless_json, lesson_path, run_cli


def page(lesson_id: str, title: str) -> str:
    """One Explain page's text, with its line breaks folded to spaces."""
    data = tomllib.loads(lesson_path(lesson_id).read_text(encoding="utf-8"))
    [text] = [p["text"] for p in data["explain"] if p["title"] == title]
    return " ".join(text.split())


def note(lesson_id: str, variant: str) -> str:
    data = tomllib.loads(lesson_path(lesson_id).read_text(encoding="utf-8"))
    [v] = [v for v in data["variants"] if v["name"] == variant]
    return v["note"]


def quoted(text: str, pattern: str) -> float:
    """The number the regular expression's group catches in the text (− read as -)."""
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in the text"
    return float(m.group(1).replace("−", "-"))


def start(lesson_id: str, variant: str | None = None):
    """The lesson's (or variant's) data and the weights every backend starts from."""
    from tutor.lesson import load
    from tutor.train.datasets import load as load_data
    from tutor.train.spec import dataset_for, initial_weights, resolve

    lesson = load(lesson_path(lesson_id))
    v = next(x for x in lesson.variants if x.name == variant) if variant else None
    spec = resolve(lesson, "numpy", v)
    data = load_data(dataset_for(lesson, v))
    return data, initial_weights(spec, data.inputs, data.outputs)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def done_of(lesson_id: str, *args: str) -> dict:
    return events_of(headless_json(lesson_id, "--no-derive", "--backend", "numpy", *args), "done")[
        0
    ]


# -- item 1: initialisation --------------------------------------------------------------------------


def test_the_first_loss_check_is_one_sided_and_its_figures_are_the_starts():
    text = page("initialisation", "Check the first loss")
    assert "sane" not in text  # no longer calls the zeros start sane
    assert "The check is one-sided." in text
    assert quoted(text, r"zeros give exactly ln 10 \(([\d.]+)\)") == pytest.approx(
        math.log(10), abs=5e-6
    )
    data, w = start("initialisation", "tiny-normal")
    h = np.tanh(np.tanh(data.x_train @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"])
    tiny = cross_entropy(h @ w["W3"] + w["b3"], data.y_train)
    assert quoted(text, r"tiny-normal gives ([\d.]+)") == pytest.approx(tiny, abs=5e-6)


def test_a_zero_output_layer_breaks_no_symmetry_that_matters():
    text = page("initialisation", "All zeros: copies forever")
    assert "Biases may start at 0; weights may not" not in text
    data, w = start("initialisation", "zero-output")
    assert not w["W3"].any() and np.unique(w["W1"].round(12), axis=1).shape[1] == 32
    n = len(data.y_train)
    h1 = np.tanh(data.x_train @ w["W1"] + w["b1"])
    h2 = np.tanh(h1 @ w["W2"] + w["b2"])
    z = h2 @ w["W3"] + w["b3"]
    assert cross_entropy(z, data.y_train) == pytest.approx(math.log(10), abs=1e-12)  # every score 0
    dz = np.full((n, 10), 0.1)
    dz[np.arange(n), data.y_train] -= 1
    dz /= n
    dh2 = dz @ w["W3"].T
    assert not dh2.any()  # "W1 and W2 get no gradient" at the first step
    dW3 = h2.T @ dz
    assert (
        np.linalg.norm(dW3) > 0.1 and np.unique(dW3.round(9), axis=1).shape[1] == 10
    )  # each unit its own
    done = done_of("initialisation", "--variant", "zero-output", "--log-every", "100")
    units = {r["layer"]: (r["distinct"], r["units"]) for r in done["layers"] if "units" in r}
    assert units["W1"] == units["W2"] == (32, 32)
    said = quoted(text, r"the run reaches ([\d.]+) with 32 of 32 distinct units")
    assert done["val_accuracy"] == pytest.approx(said, abs=5e-4)
    assert quoted(note("initialisation", "zero-output"), r"first loss ([\d.]+)") == pytest.approx(
        math.log(10), abs=5e-6
    )


def test_scaling_the_output_layer_down_starts_at_ln_10():
    data, w = start("initialisation", "small-output")
    assert w["W3"].std() == pytest.approx(0.01, rel=0.1)
    h2 = np.tanh(np.tanh(data.x_train @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"])
    first = cross_entropy(h2 @ w["W3"] + w["b3"], data.y_train)
    said = note("initialisation", "small-output")
    assert quoted(said, r"first loss ([\d.]+)") == pytest.approx(first, abs=5e-6)
    assert abs(first - math.log(10)) < 0.01
    done = done_of("initialisation", "--variant", "small-output", "--log-every", "100")
    assert done["val_accuracy"] == pytest.approx(
        quoted(said, r"([\d.]+) validation accuracy"), abs=5e-4
    )


# -- item 2: vanishing-gradients ---------------------------------------------------------------------


def test_the_forward_signal_fades_as_the_page_says():
    text = page("vanishing-gradients", "Deep, and stuck")
    data, w = start("vanishing-gradients")
    h, spread = data.x_train, []
    for i in range(1, 7):
        h = 1 / (1 + np.exp(-(h @ w[f"W{i}"] + w[f"b{i}"])))
        spread.append(float(h.std(axis=0).mean()))  # each unit's spread across samples, averaged
    first = quoted(text, r"it falls from ([\d.]+) after the first sigmoid")
    sixth = quoted(text, r"to ([\d.e-]+) after the sixth")
    assert spread[0] == pytest.approx(first, abs=0.005) and spread[5] == pytest.approx(
        sixth, rel=0.01
    )
    per_layer = (spread[0] / spread[5]) ** (1 / 5)
    assert "about seven times less per layer" in text and 6.5 < per_layer < 7.5
    assert "Forward" in text and "Backward" in text  # both halves, not only the gradient


# -- item 3: xor ----------------------------------------------------------------------------------


def test_the_linear_models_loss_falls_to_its_floor_from_the_first_steps():
    text = page("xor-needs-a-hidden-layer", "A straight line cannot do it")
    assert "The loss stays at" not in text
    data, w = start("xor-needs-a-hidden-layer", "linear")
    x, y = data.x_train, data.y_train[:, 0]

    def bce(z):
        return float(np.mean(np.logaddexp(0, z) - y * z))

    assert quoted(text, r"The loss falls from ([\d.]+) at the first step") == pytest.approx(
        bce(x @ w["W1"][:, 0] + w["b1"][0]), abs=5e-7
    )
    p = y.mean()
    floor = -(p * math.log(p) + (1 - p) * math.log(1 - p))  # the best constant guess's loss
    assert quoted(text, r"first step to ([\d.]+)") == pytest.approx(floor, abs=5e-7)
    assert quoted(text, r"log 2 = ([\d.]+)") == pytest.approx(math.log(2), abs=5e-7)
    data, w = start("xor-needs-a-hidden-layer", "no-relu")
    z = (data.x_train @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]
    said = quoted(
        page("xor-needs-a-hidden-layer", "Take the ReLU out and it is linear again"),
        r"starts higher, at ([\d.]+)",
    )
    assert said == pytest.approx(bce(z[:, 0]), abs=5e-7)


def test_the_best_line_for_accuracy_gets_seventy_percent():
    text = page("xor-needs-a-hidden-layer", "A straight line cannot do it")
    data, _ = start("xor-needs-a-hidden-layer", "linear")
    x, y = data.x_train, data.y_train[:, 0]
    # every direction (0.009° apart) and every threshold along it, both orientations
    angles = np.linspace(0, np.pi, 20000, endpoint=False)
    proj = np.stack([np.cos(angles), np.sin(angles)], 1) @ x.T
    ys = y[np.argsort(proj, axis=1)]
    zeros_below = np.concatenate([np.zeros((len(angles), 1)), np.cumsum(1 - ys, 1)], 1)
    ones_above = ys.sum(1, keepdims=True) - np.concatenate(
        [np.zeros((len(angles), 1)), np.cumsum(ys, 1)], 1
    )
    right = (zeros_below + ones_above) / len(y)
    best = float(np.maximum(right, 1 - right).max())
    assert quoted(text, r"gets ([\d.]+) of the training points right") == pytest.approx(
        best, abs=0.005
    )


# -- item 4: batchnorm ----------------------------------------------------------------------------


def test_the_paths_of_x_agree_with_the_derive_step_and_the_fused_terms():
    text = page("batchnorm-backward", "Backwards, one intermediate at a time")
    assert "three ways" not in text and '"x is used 2 times"' in text
    derive = events_of(headless_json("batchnorm-backward", "--no-train"), "derive")
    assert any("x is used 2 times" in e["text"] for e in derive)
    # the four paths, by hand on a random batch; the mean-then-variance one adds 0
    rng = np.random.default_rng(0)
    n, d, eps = 7, 3, 1e-5
    x, g, gamma = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=d)
    xc = x - x.mean(0)
    var = (xc**2).mean(0)
    inv = 1 / np.sqrt(var + eps)
    xhat = xc * inv
    dxhat = g * gamma
    dvar = (dxhat * xc).sum(0) * -0.5 * (var + eps) ** -1.5
    direct = dxhat * inv
    through_var = dvar * 2 * xc / n
    through_mean = -direct.sum(0) / n * np.ones((n, 1))
    mean_then_var = -through_var.sum(0) / n * np.ones((n, 1))
    assert np.abs(mean_then_var).max() < 1e-12 * np.abs(through_var).max()
    fused = inv / n * (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0))
    np.testing.assert_allclose(direct + through_var + through_mean, fused, rtol=1e-10, atol=1e-12)
    import torch

    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.batch_norm(
        xt, None, None, torch.tensor(gamma), None, training=True, eps=eps
    )
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(fused, xt.grad.numpy(), rtol=1e-8, atol=1e-10)


# -- item 5: backprop-through-time -----------------------------------------------------------------


def test_the_shared_weight_sums_totals_times_locals_and_totals_twice_overcount():
    text = page("backprop-through-time", "A shared weight collects one gradient per step")
    assert "∂L/∂w = ∂L/∂h1 · ∂⁰h1/∂w + ∂L/∂h2 · ∂⁰h2/∂w + ∂L/∂h3 · ∂⁰h3/∂w" in text
    assert "∂L/∂w = ∂L/∂h1·∂h1/∂w" not in text
    w, u, xs, y = 0.5, 0.8, (1.0, -0.5, 2.0), 0.3

    def states(w):
        h = [0.0]
        for x in xs:
            h.append(math.tanh(w * h[-1] + u * x))
        return h

    h = states(w)
    total = {3: 2 * (h[3] - y)}
    total[2] = total[3] * w * (1 - h[3] ** 2)
    total[1] = total[2] * w * (1 - h[2] ** 2)
    local = {t: (1 - h[t] ** 2) * h[t - 1] for t in (1, 2, 3)}
    grad = sum(total[t] * local[t] for t in (1, 2, 3))
    e = 1e-6
    numeric = ((states(w + e)[3] - y) ** 2 - (states(w - e)[3] - y) ** 2) / (2 * e)
    assert grad == pytest.approx(numeric, rel=1e-8)
    assert quoted(text, r"= 0\.0 \+ 0\.0652761 \+ \(−0\.0134067\) = ([\d.]+)") == pytest.approx(
        grad, abs=5e-8
    )
    dh_dw = {
        t: (states(w + e)[t] - states(w - e)[t]) / (2 * e) for t in (1, 2, 3)
    }  # the total dh_t/dw
    over = sum(total[t] * dh_dw[t] for t in (1, 2, 3))
    assert quoted(text, r"here it gives ([\d.]+), more than twice") == pytest.approx(over, abs=5e-6)
    assert over > 2 * grad


# -- item 6: gradient-checking ---------------------------------------------------------------------


def test_the_kinks_central_difference_is_a_sixty_forty_mix_and_forward_passes():
    text = page("gradient-checking", "A kink within h: the check fails on purpose")
    x, y, w, v, h = 1.5, 0.2, 0.1, 2e-7, 1e-6
    data = tomllib.loads(lesson_path("gradient-checking").read_text(encoding="utf-8"))["graph"][
        "point"
    ]
    assert (data["x"], data["y"], data["v"]) == (x, y, v)
    w = data["w"]

    def loss(v):
        return (math.tanh(w * x) + max(v * x, 0.0) - y) ** 2

    grad = 2 * (math.tanh(w * x) + v * x - y) * x
    central = (loss(v + h) - loss(v - h)) / (2 * h)
    right = (v + h) / (2 * h)  # the share of [v − h, v + h] right of 0
    assert right == pytest.approx(0.6) and "(60%)" in text and "40% left of it" in text
    assert central == pytest.approx(right * grad, rel=1e-5)
    assert quoted(text, r"It gets ([\d.]+), about 0\.6") == pytest.approx(central, abs=5e-7)
    forward = (loss(v + h) - loss(v)) / h
    rel = abs(forward - grad) / max(abs(forward), abs(grad))
    assert quoted(text, r"error at h = 1e-6 is ([\d.e-]+),") == pytest.approx(rel, rel=0.05)
    said = page("gradient-checking", "float32 is not enough")
    assert '"only near a kink"; w has no kink, so for w it reads: not good enough.' in said
    [sweep] = [
        e
        for e in events_of(headless_json("gradient-checking", "--no-train"), "sweep")
        if e["param"] == "w"
    ]
    f32 = min(sweep["rel_error"]["central f32"])
    assert quoted(said, r"that best, ([\d.e-]+),") == pytest.approx(f32, rel=0.05)


# -- item 7: fan-out ----------------------------------------------------------------------------------


def test_fan_out_names_its_output_f_and_tells_the_total_from_the_local():
    rc, out, err = run_cli("fan-out", "--headless", "--no-train")
    assert rc == 0, err
    summary = out[out.index("Gradient check (derived") :].splitlines()[1:3]
    assert [line.split(":")[0].strip() for line in summary] == ["∂f/∂x", "∂f/∂y"]
    text = page("fan-out", "Three gate patterns")
    x, y = 3.0, -4.0
    num = x + 1 / (1 + math.exp(-y))
    assert quoted(text, r"with respect to invden \(num = ([\d.]+)\)") == pytest.approx(
        num, abs=5e-6
    )
    assert "the first factor is the total gradient at f (1" in text


# -- item 8: the doctor's verdict whatever the log frequency ---------------------------------------


@pytest.mark.parametrize("every", ["1", "10", "1000"])
def test_no_relu_gets_the_linear_verdict_at_any_log_frequency(every):
    done = done_of("xor-needs-a-hidden-layer", "--variant", "no-relu", "--log-every", every)
    assert done["diagnosis"]["kind"] == "linear-model"
    assert done["diagnosis"]["summary"] == "the model learns nothing it could not: it is linear"
    assert "accuracy 0.544, about what guessing gives (0.512)" in done["diagnosis"]["evidence"]


# -- item 12: what a teacher expects next ------------------------------------------------------------


def rnn(w: float = 0.5, u: float = 0.8, xs=(1.0, -0.5, 2.0)) -> list[float]:
    h = [0.0]
    for x in xs:
        h.append(math.tanh(w * h[-1] + u * x))
    return h


def test_bptt_a_loss_at_every_step_truncation_and_clipping():
    w, u, xs = 0.5, 0.8, (1.0, -0.5, 2.0)
    h = rnn()
    text = page("backprop-through-time", "A loss at every step")
    assert quoted(text, r"\(L = ([\d.]+)\)") == pytest.approx(
        sum((h[t] - 0.3) ** 2 for t in (1, 2, 3)), abs=5e-7
    )
    g3 = 2 * (h[3] - 0.3)
    own2, back2 = 2 * (h[2] - 0.3), g3 * w * (1 - h[3] ** 2)
    g2 = own2 + back2
    own1, back1 = 2 * (h[1] - 0.3), g2 * w * (1 - h[2] ** 2)
    g1 = own1 + back1
    assert quoted(text, r"∂L/∂h2 = (−[\d.]+) \+") == pytest.approx(own2, abs=5e-7)
    assert quoted(text, r"∂L/∂h2 = −[\d.]+ \+ ([\d.]+)") == pytest.approx(back2, abs=5e-7)
    assert quoted(text, r"∂L/∂h2 = .*?= (−[\d.]+)") == pytest.approx(g2, abs=5e-7)
    assert quoted(text, r"∂L/∂h1 = +([\d.]+)") == pytest.approx(own1, abs=5e-7)
    assert quoted(text, r"∂L/∂h1 = +[\d.]+ \+ \((−[\d.]+)\)") == pytest.approx(back1, abs=5e-7)
    assert quoted(text, r"∂L/∂h1 = .*?= +([\d.]+)") == pytest.approx(g1, abs=5e-7)
    dw = sum(g * (1 - h[t] ** 2) * h[t - 1] for t, g in ((1, g1), (2, g2), (3, g3)))
    du = sum(g * (1 - h[t] ** 2) * xs[t - 1] for t, g in ((1, g1), (2, g2), (3, g3)))
    e = 1e-6  # the every-step loss by finite differences: the figures are its gradient

    def every(w, u):
        hh = rnn(w, u)
        return sum((hh[t] - 0.3) ** 2 for t in (1, 2, 3))

    assert (every(w + e, u) - every(w - e, u)) / (2 * e) == pytest.approx(dw, rel=1e-7)
    assert quoted(text, r"collects ∂L/∂w = (−[\d.]+)") == pytest.approx(dw, abs=5e-7)
    assert quoted(text, r"\(∂L/∂u = ([\d.]+)\)") == pytest.approx(du, abs=5e-7)

    text = page("backprop-through-time", "Truncated backpropagation, and clipping")
    g = 2 * (h[3] - 0.3)
    terms = {3: g * (1 - h[3] ** 2) * h[2]}
    g *= w * (1 - h[3] ** 2)
    terms[2] = g * (1 - h[2] ** 2) * h[1]
    assert quoted(text, r"k = 1: +(−[\d.]+)") == pytest.approx(terms[3], abs=5e-8)
    assert quoted(text, r"k = 2: .*?= ([\d.]+)") == pytest.approx(terms[2] + terms[3], abs=5e-8)
    gw, gu = 0.05186945576436183, 0.3733550434
    norm = math.hypot(gw, gu)
    assert quoted(text, r"norm ([\d.]+)\. Clipped") == pytest.approx(norm, abs=5e-7)
    assert quoted(text, r"it becomes\s+\(([\d.]+),") == pytest.approx(gw * 0.1 / norm, abs=5e-8)
    assert quoted(text, r"it becomes\s+\([\d.]+, ([\d.]+)\)") == pytest.approx(
        gu * 0.1 / norm, abs=5e-8
    )
    assert "Wᵀ · diag(1 − h_t²) · ∂L/∂h_t" in page(
        "backprop-through-time", "The matrix form: Wᵀ·diag(1 − h²)"
    )


def test_softmax_jacobian_and_its_vector_jacobian_product():
    text = page("softmax-cross-entropy", "First, softmax's Jacobian: diag(p) − ppᵀ")
    z = np.array([2.0, 1.0, 0.1])
    p = np.exp(z) / np.exp(z).sum()
    jac = np.diag(p) - np.outer(p, p)
    import torch

    zt = torch.tensor(z)
    np.testing.assert_allclose(
        torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), zt).numpy(),
        jac,
        atol=1e-15,
    )
    shown = [
        float(v.replace("−", "-"))
        for v in re.findall(r"−?\d\.\d+", text[text.index("J = [") : text.index("The cross")])
    ]
    np.testing.assert_allclose(shown, jac.ravel(), atol=5e-7)
    vjp = np.array([-1 / p[0], 0, 0]) @ jac
    np.testing.assert_allclose(vjp, p - np.array([1, 0, 0]), atol=1e-15)
    got = re.search(r"= \((−[\d.]+), ([\d.]+), ([\d.]+)\)\s*The K", text)
    np.testing.assert_allclose([float(v.replace("−", "-")) for v in got.groups()], vjp, atol=5e-7)
    events = headless_json("softmax-cross-entropy", "--no-train")
    [vjp_step] = [
        e for e in events_of(events, "derive") if e["title"].startswith("Vector–Jacobian product")
    ]
    assert "= [-0.340999, 0.242433, 0.0985659]" in vjp_step["text"]


def test_initialisations_activation_table_is_each_layers_statistics():
    text = page("initialisation", "Each layer's activations at the start, and the output layer")
    rows = {"Xavier": None, "standard normal": "standard-normal", "tiny N(0, 0.01²)": "tiny-normal"}
    for label, variant in rows.items():
        data, w = start("initialisation", variant)
        h = data.x_train
        for i in (1, 2):
            h = np.tanh(h @ w[f"W{i}"] + w[f"b{i}"])
            pattern = (
                rf"{re.escape(label)} +tanh1 +"
                if i == 1
                else rf"{re.escape(label)} +tanh1 .*? tanh2 +"
            ) + r"([\d.]+) +(\d+)% +(\d+)%"
            m = re.search(pattern, text)
            assert m, (label, i)
            spread, near0, saturated = float(m[1]), int(m[2]), int(m[3])
            assert spread == pytest.approx(h.std(), rel=5e-3)
            assert near0 == round(100 * float((np.abs(h) < 0.1).mean()))
            assert saturated == round(100 * float((np.abs(h) > 0.99).mean()))


def test_vanishing_gradients_names_residual_connections_and_normalisation():
    text = page("vanishing-gradients", "Two more fixes: residual connections and normalisation")
    assert quoted(
        text, r"six plain blocks scale the gradient by 0\.1⁶ = ([\d.e-]+)"
    ) == pytest.approx(0.1**6)
    assert quoted(text, r"six residual blocks by 1\.1⁶ ≈ ([\d.]*\d)") == pytest.approx(
        1.1**6, abs=0.005
    )
    assert "The batchnorm-backward lesson (*Batch normalisation, backwards*)" in text
    titles = [tomllib.loads(lesson_path("batchnorm-backward").read_text(encoding="utf-8"))["title"]]
    assert titles == ["Batch normalisation, backwards"]


def test_gradient_checking_gives_cs231ns_practical_advice():
    text = page("gradient-checking", "Checking a real network: practical advice")
    for point in (
        "**Keep the data loss in view.**",
        "**Turn off the randomness.**",
        "**Check a few dimensions at a time.**",
        "**Mind the relative error near zero.**",
    ):
        assert point in text


def test_batchnorm_makes_the_bias_before_it_redundant():
    text = page("batchnorm-backward", "Training and evaluation, and the bias before it")
    import torch

    torch.manual_seed(0)
    x = torch.randn(16, 5, dtype=torch.float64)
    lin = torch.nn.Linear(5, 4).double()
    out = torch.nn.functional.batch_norm(lin(x), None, None, training=True)
    (out * torch.randn(16, 4, dtype=torch.float64)).sum().backward()
    assert lin.bias.grad.abs().max() < 1e-14 < lin.weight.grad.abs().max()
    rows = events_of(
        headless_json(
            "batchnorm-backward", "--no-derive", "--backend", "numpy", "--log-every", "10"
        ),
        "train",
    )
    first = rows[0]["grad_norm"]
    assert first["b1"] < 1e-7 and "‖∂b1‖ is below 1e-07" in text
    assert quoted(text, r"‖∂W1‖ is ([\d.]+)") == pytest.approx(first["W1"], abs=5e-4)
    bn = torch.nn.BatchNorm1d(4)
    assert bn.momentum == 0.1 and "running_mean ← 0.9·running_mean + 0.1·mu" in text


def test_xor_derives_its_hidden_layer_and_asks_about_it():
    events = headless_json("xor-needs-a-hidden-layer", "--no-train")
    checks = {e["param"]: e for e in events_of(events, "gradcheck") if e["form"] == "scalar"}
    x, y, w1, b1, w2, b2 = 1.5, 1.0, 0.8, 0.1, -0.5, 0.2
    z1 = x * w1 + b1
    h = max(z1, 0.0)
    z2 = h * w2 + b2
    dz2 = 1 / (1 + math.exp(-z2)) - y
    want = {"W2": dz2 * h, "b2": dz2, "W1": dz2 * w2 * (z1 > 0) * x, "b1": dz2 * w2 * (z1 > 0)}
    for name, value in want.items():
        assert checks[name]["ok"] and checks[name]["symbolic"] == pytest.approx(value, rel=1e-12)
    assert {e["param"] for e in events_of(events, "gradcheck") if e["form"] == "matrix"} == set(
        want
    )
    text = page("xor-needs-a-hidden-layer", "The backward pass through the hidden layer")
    assert quoted(text, r"∂L/∂z2 = σ\(−0\.45\) − 1 = (−[\d.]*\d)") == pytest.approx(dz2, abs=5e-7)
    rc, out, err = run_cli("xor-needs-a-hidden-layer", "--answer", "grad-w1=(sigmoid(z2) - y)*W2*x")
    assert rc == 1 and "Your answer is missing ∂h1/∂z1 = step(z1)." in out, out + err
    rc, out, _ = run_cli(
        "xor-needs-a-hidden-layer", "--answer", "grad-w1=(sigmoid(z2) - y)*W2*step(z1)*x"
    )
    assert rc == 0 and "grad-w1: correct: that is the chain rule multiplied out." in out


GOOD_STAGED = """import numpy as np


def backward(x, y):
    sigy = 1 / (1 + np.exp(-y))
    num = x + sigy
    sigx = 1 / (1 + np.exp(-x))
    xpy = x + y
    den = sigx + xpy ** 2
    invden = 1 / den
    dnum, dinvden = invden, num
    dden = -dinvden / den ** 2
    dxpy = 2 * xpy * dden
    dx = dnum + sigx * (1 - sigx) * dden + dxpy
    dy = sigy * (1 - sigy) * dnum + dxpy
    return dx, dy
"""


def test_fan_outs_staged_backward_is_a_code_exercise(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(GOOD_STAGED, encoding="utf-8")
    rc, out, err = run_cli("fan-out", "--code", f"staged-backward={good}")
    assert rc == 0 and "staged-backward: correct" in out, out + err
    bad = tmp_path / "bad.py"  # the path through sigx dropped: written with =, not +=
    bad.write_text(
        GOOD_STAGED.replace("dx = dnum + sigx * (1 - sigx) * dden + dxpy", "dx = dnum + dxpy"),
        encoding="utf-8",
    )
    rc, out, _ = run_cli("fan-out", "--code", f"staged-backward={bad}")
    assert rc == 1 and "staged-backward: not yet." in out
    rc, out, _ = run_cli("fan-out", "--code", "staged-backward", "--template")
    assert rc == 0 and "def backward(x, y):" in out and "dx = ..." in out


def test_the_derive_steps_mark_the_losss_own_local_slope_apart_from_the_total():
    """Item 7: at the gate that is the output itself, the local derivative is written ∂⁰ (as
    backprop-through-time writes local slopes), so no step reads ∂f/∂invden = ∂f/∂f · ∂f/∂invden."""
    rc, out, err = run_cli("fan-out", "--headless", "--no-train")
    assert rc == 0, err
    assert (
        "∂f/∂invden = ∂f/∂f · ∂⁰f/∂invden" in out and "∂f/∂invden = ∂f/∂f · ∂f/∂invden" not in out
    )
    assert "∂⁰f/∂invden (local) = num" in out and "∂⁰f/∂num (local) = invden" in out
    assert "∂f/∂den = ∂f/∂invden · ∂invden/∂den" in out  # below f the symbols differ anyway
    assert "the step for invden reads ∂f/∂invden = ∂f/∂f · ∂⁰f/∂invden" in page(
        "fan-out", "Three gate patterns"
    )
    rc, out, err = run_cli("fan-out", "--headless", "--no-train", "--ascii")
    assert rc == 0 and "df/dinvden = df/df * d^0f/dinvden" in out, err
