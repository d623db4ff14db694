"""Issue 26, part 1: the one table of layer kinds (tutor/train/layers.py). Every entry's hand-written
forward and backward, on numpy arrays and on torch tensors, agrees with torch autograd through the
entry's own torch function and through its nn module; the vocabulary names exactly the table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tutor.lesson.vocabulary import LAYER_TYPES, PARAM_LAYERS
from tutor.train.layers import LAYERS, nn_module
from tutor.train.manual import NumpyXP, TorchXP
from tutor.train.spec import Planned

N, WIDTH, OUT = 6, 4, 3


def test_the_vocabulary_names_every_kind_of_the_table():
    assert set(LAYER_TYPES) == set(LAYERS)
    assert set(PARAM_LAYERS) == {name for name, kind in LAYERS.items() if kind.params}


def case(name: str, seed: int = 0):
    """An input away from the kind's kinks, its parameters and an upstream gradient, float64."""
    kind = LAYERS[name]
    rng = np.random.RandomState(seed)
    x = (
        rng.randn(N, WIDTH)
        if name != "embedding"
        else rng.randint(0, WIDTH, (N, 1)).astype(np.float64)
    )
    if kind.kink is not None:  # no entry within 0.05 of a kink: both sides agree there
        x = np.where(kind.kink(x) < 0.05, x + 0.2, x)
        assert (kind.kink(x) >= 0.05).all()
    out = OUT if kind.resizes else WIDTH
    shapes = {"weight": (WIDTH, out), "bias": (out,), "gamma": (WIDTH,), "beta": (WIDTH,)}
    params = tuple(rng.randn(*shapes[role]) for role in kind.params)
    g = rng.randn(N, out)
    return kind, x, params, g


MASK = (np.random.RandomState(9).rand(N, WIDTH) >= 0.3) / 0.7  # a dropout layer's training mask
OTHER = np.random.RandomState(10).randn(N, WIDTH)  # an earlier output a residual adds


def autograd(kind, x, params, g):
    """The forward value and ∂(Σ g ⊙ out)/∂(x, params) by torch autograd through the kind's torch function."""
    xt = torch.tensor(x, requires_grad=True)
    pt = tuple(torch.tensor(p, requires_grad=True) for p in params)
    other = torch.tensor(OTHER, requires_grad=True)
    out = kind.torch(
        torch, xt, (torch.tensor(MASK),) if kind.random else (other,) if kind.skip else pt
    )
    (out * torch.tensor(g)).sum().backward()
    if kind.skip:  # the earlier output's gradient: the model adds it there (test below)
        assert np.array_equal(other.grad.numpy(), g)
    return (
        out.detach().numpy(),
        xt.grad.numpy() if xt.grad is not None else None,
        [p.grad.numpy() for p in pt],
    )


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize(
    "xp", [NumpyXP("float64"), TorchXP("float64", "cpu")], ids=["numpy", "torch-manual"]
)
def test_each_hand_written_backward_agrees_with_autograd(name, xp):
    kind, x, params, g = case(name)
    want_out, want_dx, want_dp = autograd(kind, x, params, g)
    layer = kind.make(xp, tuple(xp.array(p) for p in params), False)
    if kind.random:
        layer.mask = xp.array(MASK)
    if kind.skip:
        layer.other = xp.array(OTHER)
    out = layer.forward(xp.array(x))
    dx = layer.backward(xp.array(g))
    np.testing.assert_allclose(xp.to_numpy(out), want_out, rtol=1e-12, atol=1e-12)
    if want_dx is None:  # an embedding's input is an index: no gradient below it
        assert dx is None
    else:
        np.testing.assert_allclose(xp.to_numpy(dx), want_dx, rtol=1e-10, atol=1e-12)
    for attr, want in zip(kind.grads, want_dp, strict=False):
        np.testing.assert_allclose(xp.to_numpy(getattr(layer, attr)), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n, k in LAYERS.items() if not (k.random or k.skip)])
def test_each_nn_module_computes_the_torch_function(name):
    kind, x, params, g = case(name, seed=1)
    planned = Planned(
        name, None, 1, WIDTH, OUT if kind.resizes else WIDTH, *(("p0", "p1") if kind.params else ())
    )
    module = nn_module(torch.nn, planned).double()
    with torch.no_grad():
        for value, (attr, transposed) in zip(params, kind.nn_params, strict=False):
            t = torch.tensor(value)
            getattr(module, attr).copy_(t.T if transposed else t)
    want = kind.torch(torch, torch.tensor(x), tuple(torch.tensor(p) for p in params))
    np.testing.assert_allclose(
        module(torch.tensor(x)).detach().numpy(), want.numpy(), rtol=1e-12, atol=1e-12
    )


def test_the_first_layer_computes_no_input_gradient():
    kind, x, params, g = case("linear")
    layer = kind.make(NumpyXP("float64"), params, True)
    layer.forward(x)
    assert layer.backward(g) is None and layer.dW.shape == (WIDTH, OUT)


@pytest.mark.parametrize("name", [n for n, k in LAYERS.items() if k.health == "saturated"])
def test_a_saturating_kind_stays_within_its_bounds(name):
    kind = LAYERS[name]
    out = kind.make(NumpyXP("float64"), (), False).forward(np.linspace(-30, 30, 61)[:, None])
    lo, hi = kind.bounds
    assert out.min() >= lo and out.max() <= hi and out.min() - lo < 1e-6 and hi - out.max() < 1e-6


def test_dropout_keeps_each_unit_with_one_minus_p_and_scales_it_in_training_only():
    from tutor.train.layers_modern import DropMasks

    kind, xp = LAYERS["dropout"], NumpyXP("float64")
    mask = DropMasks(0).draw(xp, (2000, 50), 0.3)
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert abs((mask > 0).mean() - 0.7) < 0.01  # 100,000 draws: 0.7 ± 0.0015 (one σ)
    module = nn_module(torch.nn, Planned("dropout", None, 0, WIDTH, WIDTH)).double()
    x = torch.tensor(np.random.RandomState(1).randn(N, WIDTH))
    module.mask = torch.tensor(MASK)
    np.testing.assert_array_equal(module(x).numpy(), (x * torch.tensor(MASK)).numpy())  # training
    module.eval()
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())  # evaluation
    layer = kind.make(xp, (), False)
    assert layer.forward(x.numpy()) is not None and np.array_equal(
        layer.forward(x.numpy()), x.numpy()
    )


def test_a_residual_connection_sends_its_gradient_to_both_paths():
    """x → linear → tanh → + (the linear's output) → linear: the hand-written model's gradients are
    autograd's, the skip's share included."""
    from tutor.lesson.records import Layer
    from tutor.train.manual import ManualModel
    from tutor.train.spec import RunSpec, initial_weights, layer_plan

    spec = RunSpec(
        "numpy",
        (
            Layer("linear", 4),
            Layer("tanh", bias=False),
            Layer("residual", bias=False, source=0),
            Layer("linear", 2),
        ),
        "sse",
        "gd",
        0.0001,
        0.0,
        1,
        0,
        0,
        "float64",
        "randn",
        None,
        True,
        "cpu",
    )
    weights = initial_weights(spec, 3, 2)
    x, y = np.random.RandomState(2).randn(5, 3), np.random.RandomState(3).randn(5, 2)
    model = ManualModel(
        NumpyXP("float64"), spec, layer_plan(spec, 3, 2), {k: v.copy() for k, v in weights.items()}
    )
    model.step(x, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    z1 = torch.tensor(x) @ t["W1"] + t["b1"]
    pred = (torch.tanh(z1) + z1) @ t["W2"] + t["b2"]
    ((pred - torch.tensor(y)) ** 2).sum().backward()
    for name, p in t.items():
        np.testing.assert_allclose(model.grads()[name], p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_an_embeddings_gradient_adds_up_the_rows_picked_twice():
    kind, xp = LAYERS["embedding"], NumpyXP("float64")
    E = np.arange(12.0).reshape(4, 3)
    layer = kind.make(xp, (E,), True)
    out = layer.forward(np.array([[2.0], [0.0], [2.0]]))
    np.testing.assert_array_equal(out, E[[2, 0, 2]])
    assert layer.backward(np.ones((3, 3))) is None
    np.testing.assert_array_equal(layer.dE, [[1, 1, 1], [0, 0, 0], [2, 2, 2], [0, 0, 0]])


@pytest.mark.parametrize(
    "xp", [NumpyXP("float64"), TorchXP("float64", "cpu")], ids=["numpy", "torch"]
)
def test_an_embedding_over_a_context_lays_the_rows_side_by_side_and_adds_every_position(xp):
    kind = LAYERS["embedding"]
    E = np.arange(12.0).reshape(4, 3)
    x = np.array(
        [[0.0, 2.0, 2.0], [2.0, 1.0, 0.0]]
    )  # two contexts of three; row 2 picked three times
    layer = kind.make(xp, (xp.array(E),), True)
    out = xp.to_numpy(layer.forward(xp.array(x)))
    np.testing.assert_array_equal(out, np.hstack([E[[0, 2]], E[[2, 1]], E[[2, 0]]]))
    g = np.arange(18.0).reshape(2, 9)
    assert layer.backward(xp.array(g)) is None
    parts = g.reshape(2, 3, 3)  # each position's gradient, 3 numbers
    want = np.zeros((4, 3))
    for n in range(2):
        for t in range(3):
            want[int(x[n, t])] += parts[n, t]
    np.testing.assert_array_equal(xp.to_numpy(layer.dE), want)
    assert want[2].tolist() == (parts[0, 1] + parts[0, 2] + parts[1, 0]).tolist()
    # torch's own function and the nn module agree with the hand-written forward
    tE = torch.tensor(E)
    np.testing.assert_array_equal(kind.torch(torch, torch.tensor(x), (tE,)).numpy(), out)
    module = nn_module(torch.nn, Planned("embedding", None, 1, 4, 3, "E1")).double()
    with torch.no_grad():
        module.weight.copy_(tE)
        np.testing.assert_array_equal(module(torch.tensor(x)).numpy(), out)
