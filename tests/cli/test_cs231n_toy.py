"""Issue 26, done means: CS231n's two-layer toy net (tests/fixtures/courses/cs231n-toy-net.toml: the
assignment's toy model and data, written out with the teacher's own numbers) gives the published
loss 1.30378789133 at reg 0.05 on every backend, and its hand-written gradients agree with autograd
and with central finite differences to CS231n's relative error below 1e-8."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.support import FIXTURES_DIR
from tutor import headless
from tutor.lesson import load
from tutor.train.datasets import load as load_data
from tutor.train.registry import make_backend
from tutor.train.spec import dataset_for, initial_weights, layer_plan, resolve

PUBLISHED = 1.30378789133  # two_layer_net.ipynb: "correct_loss = 1.30378789133"
BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")


@pytest.fixture(scope="module")
def toy():
    return load(FIXTURES_DIR / "courses" / "cs231n-toy-net.toml")


def rel_error(x, y) -> float:
    """CS231n's: max |x − y| / max(1e-8, |x| + |y|)."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_first_loss_is_the_published_figure(toy, backend):
    out = io.StringIO()
    assert (
        headless.run(
            toy,
            headless.Options(backends=[backend], json=True, derive=False),
            out=out,
            err=io.StringIO(),
        )
        == 0
    )
    first = [e for e in map(json.loads, out.getvalue().splitlines()) if e["event"] == "train"][0]
    assert (
        first["step"] == 1 and abs(first["loss"] - PUBLISHED) < 5e-12
    )  # it is published to 11 decimals


def gradients(toy, backend: str):
    spec = resolve(toy, backend)
    data = load_data(dataset_for(toy))
    b = make_backend(
        spec,
        layer_plan(spec, data.inputs, data.outputs),
        initial_weights(spec, data.inputs, data.outputs),
    )
    b.step(b.xp.array(data.x_train), b.xp.labels(data.y_train), True)
    return b.grads(), data


def loss_at(w: dict, x: np.ndarray, y: np.ndarray, reg: float = 0.05) -> float:
    """The assignment's loss, written out in numpy: softmax cross-entropy + reg·(ΣW1² + ΣW2²)."""
    s = np.maximum(x @ w["W1"] + w["b1"], 0) @ w["W2"] + w["b2"]
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(
        -logp[np.arange(len(y)), y].mean() + reg * ((w["W1"] ** 2).sum() + (w["W2"] ** 2).sum())
    )


def test_the_hand_written_gradients_agree_with_autograd_and_finite_differences(toy):
    hand, data = gradients(toy, "numpy")
    auto, _ = gradients(toy, "autograd")
    spec = resolve(toy, "numpy")
    start = initial_weights(spec, data.inputs, data.outputs)
    assert loss_at(start, data.x_train, data.y_train) == pytest.approx(PUBLISHED, abs=5e-12)
    for name, g in hand.items():
        assert rel_error(g, auto[name]) < 1e-8, name
        numeric = np.zeros_like(g)
        for i in np.ndindex(g.shape):  # central differences, h = 1e-5, as the assignment
            w = {k: v.copy() for k, v in start.items()}
            w[name][i] += 1e-5
            up = loss_at(w, data.x_train, data.y_train)
            w[name][i] -= 2e-5
            numeric[i] = (up - loss_at(w, data.x_train, data.y_train)) / 2e-5
        assert rel_error(g, numeric) < 1e-8, name


# Issue 26, item 2: the graph at the teacher's own arrays ([graph.values]). Derive's values steps
# are checked against an independent torch computation of the notebook's loss, written here from the
# fixture's [train] numbers (the arrays as the notebook printed them), never from the graph.

TOY_PATH = FIXTURES_DIR / "courses" / "cs231n-toy-net.toml"
PARAMS = ("W1", "b1", "W2", "b2")
SIX_DIGITS = 5e-6  # a number shown with six significant digits is within this, relatively


def toy_reference() -> tuple[float, dict[str, np.ndarray]]:
    """The loss and every gradient by torch autograd in float64, from the [train] part's arrays."""
    import tomllib

    import torch

    raw = tomllib.loads(TOY_PATH.read_text("utf-8"))["train"]
    X = torch.tensor(raw["dataset"]["x"], dtype=torch.float64)
    y = torch.tensor(raw["dataset"]["y"])
    w = {
        "W1": torch.tensor(raw["layers"][0]["weight"], dtype=torch.float64, requires_grad=True),
        "b1": torch.zeros(10, dtype=torch.float64, requires_grad=True),
        "W2": torch.tensor(raw["layers"][2]["weight"], dtype=torch.float64, requires_grad=True),
        "b2": torch.zeros(3, dtype=torch.float64, requires_grad=True),
    }
    scores = torch.relu(X @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]
    reg = 0.05 * ((w["W1"] ** 2).sum() + (w["W2"] ** 2).sum())
    loss = torch.nn.functional.cross_entropy(scores, y) + reg
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy().copy() for k, v in w.items()}


@pytest.fixture(scope="module")
def derived(toy):
    """The headless Derive part's JSON events for the fixture."""
    out = io.StringIO()
    opts = headless.Options(json=True, train=False)
    assert headless.run(toy, opts, out=out, err=io.StringIO()) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def values_step(events, prefix: str, node: str) -> dict:
    found = [
        e
        for e in events
        if e["event"] == "derive"
        and e["phase"] == "values"
        and e["node"] == node
        and e["title"].startswith(prefix)
    ]
    assert len(found) == 1, (prefix, node)
    return found[0]


def test_derive_gives_the_published_loss_at_the_teachers_arrays(derived):
    step = values_step(derived, "Forward at the lesson's arrays", "L")
    reference, _ = toy_reference()
    # float64 carries the loss to about 1e-15; the published figure has 11 decimals
    assert step["table"] == pytest.approx(PUBLISHED, abs=5e-12)
    assert step["table"] == pytest.approx(reference, rel=1e-13)
    assert f"L at the lesson's arrays = {step['table']:.12g}" in step["text"]


def test_each_gradient_matrix_agrees_with_an_independent_autograd(derived):
    _, grads = toy_reference()
    for p in PARAMS:
        step = values_step(derived, "Gradient at the lesson's arrays", p)
        got = np.array(step["table"])
        assert got.shape == grads[p].shape
        assert rel_error(got, grads[p]) < 1e-8, p


def test_the_drawn_arrays_are_the_notebooks(derived):
    """X and W1 come from recipes (seed 1 × 10, seed 0 × 0.1): they are [train]'s listed arrays."""
    import tomllib

    raw = tomllib.loads(TOY_PATH.read_text("utf-8"))["train"]
    assert values_step(derived, "Values", "X")["table"] == raw["dataset"]["x"]
    assert values_step(derived, "Values", "W1")["table"] == raw["layers"][0]["weight"]


def grid_numbers(text: str) -> np.ndarray:
    """The array laid out after the 'entries' line: a header of column numbers, then the rows."""
    lines = text.split("entries\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return np.array([[float(v) for v in line.split()[1:]] for line in lines[1:]])


def test_the_text_shows_every_entry_and_the_named_ones(derived):
    _, grads = toy_reference()
    for p in PARAMS:
        text = values_step(derived, "Gradient at the lesson's arrays", p)["text"]
        shown = grid_numbers(text).reshape(grads[p].shape)
        assert np.allclose(shown, grads[p], rtol=SIX_DIGITS, atol=0), p
    text = values_step(derived, "Gradient at the lesson's arrays", "W1")["text"]
    for i, j in ((0, 3), (2, 4)):  # [graph.entries] W1 = [[0, 3], [2, 4]]
        line = next(x for x in text.splitlines() if x.startswith(f"∂L/∂W1[{i}, {j}] = "))
        assert float(line.split(" = ")[1]) == pytest.approx(grads["W1"][i, j], rel=SIX_DIGITS)


def test_the_values_check_moves_every_entry_and_grades_on_cs231n_bands(derived):
    _, grads = toy_reference()
    checks = {e["param"]: e for e in derived if e["event"] == "gradcheck" and e["form"] == "values"}
    assert sorted(checks) == sorted(PARAMS)
    for p, chk in checks.items():
        n = grads[p].size
        assert len(chk["entries"]) == n and chk["ok"], p  # MAX_FD_ENTRIES is 100: all move
        numeric = np.array(chk["numeric"]).reshape(grads[p].shape)
        # central differences, h = 1e-6, loss 1.3: round-off ~1e-10 against the floor 1.3e-3
        assert rel_error(numeric, grads[p]) < 1e-6, p
        assert rel_error(np.array(chk["autograd"]), grads[p]) < 1e-12, p
        assert chk["grade"] == "good" and not chk["kink"], p  # CS231n: below 1e-7
    step = values_step(derived, "Check at the lesson's arrays", "W1")
    assert "central, h = 1e-06, at all 40 entries" in step["text"]
    assert "below 1e-07 good; up to 0.0001 only near a kink" in step["text"]


def test_check_accepts_the_arrays_and_locates_a_bad_one(tmp_path):
    from tests.support import run_cli

    code, out, err = run_cli("--check", str(TOY_PATH))
    assert (code, out.strip()) == (0, f"{TOY_PATH}: ok") and "Traceback" not in err
    text = TOY_PATH.read_text("utf-8")
    row = text.split("\nW2 = [[", 1)[1].split("]", 1)[0]  # W2's first row, as listed
    short = row.rsplit(",", 1)[0]
    path = tmp_path / TOY_PATH.name  # a lesson id is its file name
    path.write_text(text.replace(f"\nW2 = [[{row}]", f"\nW2 = [[{short}]", 1), encoding="utf-8")
    line = text.split("\nW2 = [[")[0].count("\n") + 2
    code, out, err = run_cli("--check", str(path))
    assert code == 2 and "Traceback" not in err
    message = "row 0 should have 3 numbers (C = 3), found 2"
    assert out.strip() == f"{path}:{line}: graph.values.W2: {message}"
