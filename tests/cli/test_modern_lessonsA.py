"""The modern lessons of issue 29 written by lessonsA: every figure their text quotes, computed here
independently (torch autograd on the same data and the same drawn weights, or closed forms written
in the test), then the lesson's own headless runs held to those independent figures. Tolerances:
quoted figures within a unit of their last digit; the tutor's float32 runs against float64 torch
within 1e-3 relative (200 float32 steps of gradient descent, far inside it)."""

from __future__ import annotations

import functools
import itertools
import math
import tomllib

import numpy as np
import pytest

from tests.support import events_of, headless_json, lesson_path, run_cli


def lesson_text(lesson: str) -> str:
    data = tomllib.loads(lesson_path(lesson).read_text(encoding="utf-8"))
    pages = "\n".join(page["text"] for page in data["explain"])
    notes = "\n".join(v.get("note", "") for v in [data.get("train", {}), *data.get("variants", [])])
    return pages + "\n" + notes


# ---------------------------------------------------------------- residual-connections, independently


def digits():
    """scikit-learn's digits, split 70/30 stratified with seed 0 and standardised on the training part."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    xt, xv, yt, yv = train_test_split(
        bunch.data.astype(np.float64),
        bunch.target.astype(np.int64),
        test_size=0.3,
        stratify=bunch.target,
        random_state=0,
    )
    mean, std = xt.mean(0), xt.std(0)
    std[std == 0] = 1.0
    return (xt - mean) / std, yt, (xv - mean) / std, yv


def torch_default_weights(sizes):
    """nn.Linear's range ±1/√fan-in, each layer's bias then its weight, from one RandomState(0)."""
    rng = np.random.RandomState(0)
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / math.sqrt(fan_in)
        b = rng.uniform(-bound, bound, fan_out)
        layers.append((rng.uniform(-bound, bound, (fan_in, fan_out)), b))
    return layers


def train_residual(skips: bool, steps: int = 200):
    """Six linear layers, sigmoids between them, skips around the four middle blocks or none: torch
    autograd in float64, full-batch gradient descent, lr 0.1, mean cross-entropy."""
    import torch

    xt, yt, xv, yv = digits()
    params = [
        (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
        for w, b in torch_default_weights([64, 32, 32, 32, 32, 32, 10])
    ]
    x, y, xval = torch.tensor(xt), torch.tensor(yt), torch.tensor(xv)

    def forward(inputs):
        h = torch.sigmoid(inputs @ params[0][0] + params[0][1])
        for w, b in params[1:5]:
            f = torch.sigmoid(h @ w + b)
            h = h + f if skips else f
        streams.append(float(h.detach().norm()))  # what W6 reads
        return h @ params[5][0] + params[5][1]

    streams: list[float] = []

    first = None
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(forward(x), y)
        grads = torch.autograd.grad(loss, [w for w, _ in params] + [b for _, b in params])
        if first is None:
            first = [float(g.norm()) for g in grads[:6]]
        with torch.no_grad():
            for p, g in zip([w for w, _ in params] + [b for _, b in params], grads, strict=False):
                p -= 0.1 * g
    with torch.no_grad():
        final = float(torch.nn.functional.cross_entropy(forward(x), y))
        predicted = forward(xval).argmax(1).numpy()
    return {
        "first": first,
        "final_loss": final,
        "accuracy": float((predicted == yv).mean()),
        "stream": streams[0],
        "predicted": predicted,
        "train_labels": yt,
    }


@pytest.fixture(scope="module")
def plain():
    return train_residual(skips=False)


@pytest.fixture(scope="module")
def skips():
    return train_residual(skips=True)


def test_the_plain_deep_nets_figures(plain):
    w = plain["first"]
    for got, quoted in zip(w, [6.7e-05, 7.8e-05, 5.2e-04, 3.9e-03, 0.033, 0.207], strict=False):
        assert got == pytest.approx(quoted, rel=0.01)  # the quoted figures' last digit
    assert 3050 < w[5] / w[0] < 3150  # "about 3,100 times smaller"
    assert w[4] / w[0] == pytest.approx(490, abs=5)  # "spanned a factor of about 490"
    assert w[0] / w[5] == pytest.approx(0.00032, abs=5e-6)
    assert plain["final_loss"] == pytest.approx(2.30248, abs=5e-6)
    counts = np.bincount(plain["train_labels"], minlength=10) / len(plain["train_labels"])
    entropy = -float((counts * np.log(counts)).sum())  # the class frequencies' entropy
    assert entropy == pytest.approx(2.30248, abs=5e-6) and entropy < math.log(10)
    assert plain["accuracy"] == pytest.approx(0.102, abs=5e-4)
    assert len(set(plain["predicted"].tolist())) == 1  # one digit for every image


def test_the_skips_keep_the_gradient_level(skips, plain):
    w = skips["first"]
    for got, quoted in zip(w, [0.202, 0.192, 0.370, 0.470, 0.623, 5.64], strict=False):
        assert got == pytest.approx(quoted, rel=0.002)
    assert max(w[:5]) / min(w[:5]) == pytest.approx(3.25, abs=0.05)  # "within a factor of 3.3"
    assert (
        2 < math.log10(plain["first"][4] / plain["first"][0]) < 3
    )  # "two to three orders of magnitude"
    assert w[0] / w[5] == pytest.approx(0.036, abs=5e-4)
    assert skips["stream"] > 4 * plain["stream"]  # the stream W6 reads has grown
    assert skips["final_loss"] == pytest.approx(0.628, abs=5e-4)
    assert skips["accuracy"] == pytest.approx(0.872, abs=5e-4)


def test_the_residual_text_quotes_these_figures():
    text = lesson_text("residual-connections")
    for quoted in [
        "W1 6.7e-05   W2 7.8e-05   W3 5.2e-04   W4 3.9e-03   W5 0.033   W6 0.207",
        "about 3,100 times",
        "W1 0.202   W2 0.192   W3 0.370   W4 0.470   W5 0.623   W6 5.64",
        "factor of 3.3",
        "about 490",
        "0.036 with the skips and 0.00032 without",
        "plain       2.30248      0.102",
        "skips       0.628        0.872",
        "0.5⁴ = 0.0625",
        "1.5⁴ = 5.0625",
        "∂L/∂h2 = −1.0118",
        "f′ = (1 − a2²)·w2 = −0.459547",
        "−1.0118 × −0.459547 = 0.46497",
        "−1.0118 × (1 − 0.459547) = −0.546831",
    ]:
        assert quoted in text, quoted


def test_the_residual_derive_point_in_closed_form():
    x, y, w1, w2, w3 = 0.5, 1.0, 0.8, -0.6, 0.7
    a1 = math.tanh(x * w1)
    h1 = x + a1
    a2 = math.tanh(h1 * w2)
    h2 = h1 + a2
    z = h2 * w3
    dh2 = 2 * (z - y) * w3
    slope = (1 - a2**2) * w2
    assert dh2 == pytest.approx(-1.0118, abs=5e-5) and slope == pytest.approx(-0.459547, abs=5e-7)
    assert a2 == pytest.approx(-0.483827, abs=5e-7)
    assert dh2 * slope == pytest.approx(0.46497, abs=5e-6)  # the block's path alone
    assert dh2 * (1 + slope) == pytest.approx(-0.546831, abs=5e-7)  # both paths
    assert 1 + slope == pytest.approx(0.5404533386, abs=1e-9)  # the block-factor exercise
    assert 0.5**4 == 0.0625 and 1.5**4 == 5.0625


def test_the_residual_lesson_checks_and_derives_the_same_figures():
    rc, out, err = run_cli("--check", str(lesson_path("residual-connections")))
    assert rc == 0 and out.strip().endswith("residual-connections.toml: ok"), out + err
    rc, out, err = run_cli("residual-connections", "--headless", "--no-train")
    assert rc == 0, err
    assert "upstream × local = -1.0118 × -0.459547 = 0.46497" in out
    assert "∂L/∂h1 = 0.46497 − 1.0118 = -0.546831" in out
    assert "fused vs the rules above = relative error" in out and "MISMATCH" not in out


@pytest.mark.parametrize("variant", [None, "skips"])
def test_the_residual_lessons_runs_agree_with_torch(variant, plain, skips):
    expected = skips if variant else plain
    events = headless_json(
        "residual-connections",
        "--no-derive",
        "--backend",
        "numpy",
        "--log-every",
        "100",
        *(["--variant", variant] if variant else []),
    )
    first = {
        row["layer"]: row["grad_norm"]
        for row in events_of(events, "train")[0]["layers"]
        if "grad_norm" in row
    }
    assert list(first) == [f"W{i}" for i in range(1, 7)]
    assert list(first.values()) == pytest.approx(expected["first"], rel=1e-3)
    done = events_of(events, "done")[0]
    assert done["final_loss"] == pytest.approx(expected["final_loss"], rel=1e-3)
    assert done["val_accuracy"] == pytest.approx(
        expected["accuracy"], abs=2 / 540
    )  # a sample either way


def test_the_residual_lesson_runs_headless_as_text():
    rc, out, err = run_cli(
        "residual-connections",
        "--headless",
        "--no-derive",
        "--backend",
        "numpy",
        "--variant",
        "skips",
        "--log-every",
        "100",
    )
    assert rc == 0, err
    assert "residual4" in out and "step 1: ‖∂W1‖ / ‖∂W6‖ = " in out


# ---------------------------------------------------------------- activations, independently

ACTIVATIONS = ("relu", "gelu", "gelu-tanh", "silu", "softplus", "tanh", "sigmoid")
# the lesson's table: final loss, held-out accuracy (tanh's saturation and relu's dead units below)
QUOTED = {
    "relu": (0.00622, 0.970),
    "gelu": (0.00809, 0.967),
    "gelu-tanh": (0.00809, 0.967),
    "silu": (0.0132, 0.963),
    "softplus": (0.0373, 0.956),
    "tanh": (0.0216, 0.969),
    "sigmoid": (2.29969, 0.135),
}


def torch_activation(name: str):
    import torch

    f = torch.nn.functional
    return {
        "relu": torch.relu,
        "gelu": f.gelu,
        "gelu-tanh": lambda t: f.gelu(t, approximate="tanh"),
        "silu": f.silu,
        "softplus": f.softplus,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
    }[name]


def train_activation(name: str, steps: int = 200, lr: float = 0.5):
    """64 → 32 → 32 → 32 → 10 with `name` after each hidden layer: torch autograd in float64, full-batch
    gradient descent, mean cross-entropy; the final loss, held-out accuracy and each hidden layer's
    outputs on the training set."""
    import torch

    act = torch_activation(name)
    xt, yt, xv, yv = digits()
    params = [
        p
        for w, b in torch_default_weights([64, 32, 32, 32, 10])
        for p in (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
    ]
    x, y, xval = torch.tensor(xt), torch.tensor(yt), torch.tensor(xv)

    def forward(h):
        hidden = []
        for i in range(3):
            h = act(h @ params[2 * i] + params[2 * i + 1])
            hidden.append(h)
        return h @ params[6] + params[7], hidden

    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(forward(x)[0], y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=False):
                p -= lr * g
    with torch.no_grad():
        scores, hidden = forward(x)
        return {
            "final_loss": float(torch.nn.functional.cross_entropy(scores, y)),
            "accuracy": float((forward(xval)[0].argmax(1).numpy() == yv).mean()),
            "hidden": [h.numpy() for h in hidden],
        }


@functools.cache
def trained_one(name: str) -> dict:
    """One activation's torch run, once per test process (each test asks only for what it needs)."""
    return train_activation(name)


@pytest.mark.timeout(900)  # seven full-batch trainings: generous on a loaded 2-core machine
def test_the_activations_table_from_torch():
    trained = {name: trained_one(name) for name in ACTIVATIONS}
    for name, (loss, accuracy) in QUOTED.items():
        got = trained[name]
        assert got["final_loss"] == pytest.approx(loss, rel=5e-3 if loss < 1 else 5e-6), (
            name
        )  # the quoted digits
        assert got["accuracy"] == pytest.approx(accuracy, abs=5e-4), name
    dead = {
        name: [float((h == 0).all(axis=0).mean()) for h in t["hidden"]]
        for name, t in trained.items()
    }
    assert dead["relu"] == [0.0, 0.0, 2 / 32]  # 2 of 32 in the third layer
    assert all(dead[name] == [0.0, 0.0, 0.0] for name in ACTIVATIONS if name != "relu")
    saturated = [float((np.abs(h) > 0.99).mean()) for h in trained["tanh"]["hidden"]]
    assert 0.02 < max(saturated) <= 0.025  # "at most 2.5% of a layer's outputs"
    gap = abs(trained["gelu"]["final_loss"] - trained["gelu-tanh"]["final_loss"])
    assert gap < 5e-7 and trained["gelu"]["accuracy"] == trained["gelu-tanh"]["accuracy"]
    assert min(t["final_loss"] for t in trained.values()) == trained["relu"]["final_loss"]
    assert (
        trained["sigmoid"]["final_loss"] < math.log(10)
        and 2.3026 - trained["sigmoid"]["final_loss"] < 0.004
    )


def test_the_activations_derivatives_in_closed_form():
    import torch
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import erf, expit

    sig = expit
    assert sig(-4) * (1 - sig(-4)) == pytest.approx(0.017663, abs=5e-7)
    assert 1 - math.tanh(2.5) ** 2 == pytest.approx(0.026592, abs=5e-7)

    def silu_slope(t):
        return sig(t) * (1 + t * (1 - sig(t)))

    assert brentq(silu_slope, -3, 0) == pytest.approx(-1.2785, abs=5e-5)
    low = minimize_scalar(silu_slope, bounds=(-6, -1.3), method="bounded", options={"xatol": 1e-9})
    assert low.x == pytest.approx(-2.3994, abs=5e-4) and low.fun == pytest.approx(-0.0998, abs=5e-5)
    assert silu_slope(2.3993586671964864) == pytest.approx(1.0998, abs=5e-5)
    z = 0.8
    assert sig(z) == pytest.approx(0.689974, abs=5e-7) and z * sig(z) * (
        1 - sig(z)
    ) / z == pytest.approx(0.21391, abs=5e-6)
    assert silu_slope(z) == pytest.approx(0.861102, abs=5e-7)
    # the Derive point: x = 1, w = 0.8, v = -0.5, y = 1
    o = z * sig(z) * -0.5
    dh = 2 * (o - 1) * -0.5
    assert dh == pytest.approx(1.27599, abs=5e-6) and dh * sig(z) == pytest.approx(0.8804, abs=5e-5)
    assert dh * z * sig(z) * (1 - sig(z)) == pytest.approx(0.218357, abs=5e-7)
    assert dh * silu_slope(z) == pytest.approx(1.09876, abs=5e-6)

    def phi(t):
        return math.exp(-t * t / 2) / math.sqrt(2 * math.pi)

    def gelu_slope(t):
        return 0.5 * (1 + erf(t / math.sqrt(2))) + t * phi(t)

    assert gelu_slope(1.0) == pytest.approx(1.0833, abs=5e-5)
    assert 0.5 * (1 + erf(1 / math.sqrt(2))) == pytest.approx(0.841345, abs=5e-7) and phi(
        1
    ) == pytest.approx(0.241971, abs=5e-7)
    r2 = math.sqrt(2)
    assert gelu_slope(-r2) == pytest.approx(-0.1289, abs=5e-5) and gelu_slope(r2) == pytest.approx(
        1.1289, abs=5e-5
    )
    assert gelu_slope(-r2 + 1e-3) > gelu_slope(-r2) < gelu_slope(-r2 - 1e-3)  # a minimum there
    grid = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    f = torch.nn.functional
    assert 0.00047 < float((f.gelu(grid) - f.gelu(grid, approximate="tanh")).abs().max()) < 0.00048
    assert sig(0.5) == pytest.approx(0.622459, abs=5e-7)
    # the tanh form's slope as the text writes it, against torch autograd at a few points
    c = math.sqrt(2 / math.pi)

    def tanh_form_slope(t):
        th = math.tanh(c * (t + 0.044715 * t**3))
        return 0.5 * (1 + th) + 0.5 * t * (1 - th * th) * c * (1 + 0.134145 * t * t)

    points = torch.tensor([-3.0, -1.0, 0.3, 1.0, 2.5], dtype=torch.float64, requires_grad=True)
    f.gelu(points, approximate="tanh").sum().backward()
    assert [tanh_form_slope(t) for t in points.tolist()] == pytest.approx(
        points.grad.tolist(), abs=1e-12
    )
    assert tanh_form_slope(1.0) == pytest.approx(1.0830, abs=5e-5)


def test_the_activations_text_quotes_these_figures():
    text = lesson_text("activations")
    for quoted in [
        "relu         0.00622      0.970               2 of 32 in the third layer (6%)",
        "gelu-tanh    0.00809      0.967",
        "silu         0.0132       0.963",
        "softplus     0.0373       0.956",
        "tanh         0.0216       0.969",
        "sigmoid      2.29969      0.135",
        "at most 2.5% of a layer's outputs saturated",
        "x < −1.2785",
        "−0.0998 at x = −2.3994",
        "1.0998 at x = 2.3994",
        "gelu′(1) = 1.0833",
        "−0.1289, at x = −√2",
        "1.1289, at x = √2",
        "At x = 1 it is 1.0830, against the exact 1.0833",
        "more than 0.00048",
        "within 5e-7",
        "0.017663",
        "0.026592",
        "silu′(0.8) = 0.689974 + 0.8 × 0.21391 = 0.861102",
        "1.27599 × 0.689974 = 0.8804",
        "∂L/∂z = 1.09876",
    ]:
        assert quoted in text, quoted


def test_the_activations_lesson_checks_and_derives():
    rc, out, err = run_cli("--check", str(lesson_path("activations")))
    assert rc == 0 and out.strip().endswith("activations.toml: ok"), out + err
    rc, out, err = run_cli("activations", "--headless", "--no-train")
    assert rc == 0, err
    assert (
        "∂L/∂z = 0.218357 + 0.8804 = 1.09876" in out
        and "upstream × local = 1.27599 × 0.689974 = 0.8804" in out
    )
    assert (
        "∂L/∂(u1, u2, u3, u4, u5) = (∂L/∂(r, k, p, t, q)) · J = [1.0, 0.01, 0.622459, 0.0265922, 0.0176627]"
        in out
    )


@pytest.mark.parametrize("variant", ["relu", "gelu-tanh", "sigmoid"])
def test_the_activations_runs_agree_with_torch(variant):
    trained = {variant: trained_one(variant)}
    events = headless_json(
        "activations",
        "--no-derive",
        "--backend",
        "numpy",
        "--log-every",
        "200",
        *(["--variant", variant] if variant != "relu" else []),
    )
    done = events_of(events, "done")[0]
    assert done["final_loss"] == pytest.approx(
        trained[variant]["final_loss"], rel=1e-9
    )  # float64 both
    assert done["val_accuracy"] == trained[variant]["accuracy"]
    if variant == "relu":
        assert [row["dead"] for row in done["layers"] if "dead" in row] == [0.0, 0.0, 2 / 32]
