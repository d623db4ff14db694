"""Issue 28, item 12 (batchnorm): training and evaluation modes. The layer table's batchnorm keeps
running statistics as torch.nn.BatchNorm1d does (momentum 0.1, the unbiased variance) in every
backend, and evaluation (validation, predictions) uses them: checked against BatchNorm1d itself,
and against a model trained here with torch.nn alone, in float64."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.support import lesson_path
from tutor.lesson import load
from tutor.train.layers import BN_EPS, LAYERS, BatchNorm, RunningStats
from tutor.train.manual import NumpyXP, TorchXP

TIGHT = dict(rtol=1e-12, atol=1e-13)  # float64 rounding of a few dozen operations


def batches(rng: np.random.Generator) -> list[np.ndarray]:
    """Three training batches of 5 features, the last a short one, then an evaluation batch."""
    return [rng.normal(2.0, 3.0, size=(n, 5)) for n in (16, 16, 7, 4)]


def reference(gamma: np.ndarray, beta: np.ndarray) -> torch.nn.BatchNorm1d:
    bn = torch.nn.BatchNorm1d(5, eps=BN_EPS).double()  # torch's defaults: momentum 0.1
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    return bn


@pytest.mark.parametrize(
    "xp", [NumpyXP("float64"), TorchXP("float64", "cpu")], ids=["numpy", "torch-manual"]
)
def test_the_hand_written_layer_keeps_batchnorm1ds_running_statistics(xp):
    rng = np.random.default_rng(3)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    layer, bn = BatchNorm(xp.array(gamma), xp.array(beta)), reference(gamma, beta)
    *train, held_out = batches(rng)
    for x in train:  # training mode: the batch's statistics
        out = xp.to_numpy(layer.forward(xp.array(x)))
        assert np.allclose(out, bn(torch.tensor(x)).detach().numpy(), **TIGHT)
        assert np.allclose(xp.to_numpy(layer.stats.mean), bn.running_mean.numpy(), **TIGHT)
        assert np.allclose(xp.to_numpy(layer.stats.var), bn.running_var.numpy(), **TIGHT)
    layer.stats.training = False
    bn.eval()
    out = xp.to_numpy(layer.forward(xp.array(held_out)))
    assert np.allclose(out, bn(torch.tensor(held_out)).detach().numpy(), **TIGHT)
    # the running statistics are not the held-out batch's own: its training-mode output differs
    bn.train()
    assert not np.allclose(out, bn(torch.tensor(held_out)).detach().numpy(), rtol=1e-3)


def test_the_torch_function_with_running_statistics_matches_batchnorm1d():
    rng = np.random.default_rng(4)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    bn = reference(gamma, beta)
    g, b = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    stats = RunningStats(torch.zeros(5, dtype=torch.float64))
    *train, held_out = batches(rng)
    for x in train:
        xt, ref_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = LAYERS["batchnorm"].torch(torch, xt, (g, b, stats))
        ref = bn(ref_x)
        upstream = torch.tensor(rng.normal(size=x.shape))
        out.backward(upstream)
        ref.backward(upstream)
        assert np.allclose(out.detach().numpy(), ref.detach().numpy(), **TIGHT)
        assert np.allclose(xt.grad.numpy(), ref_x.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert np.allclose(stats.mean.numpy(), bn.running_mean.numpy(), **TIGHT)
        assert np.allclose(stats.var.numpy(), bn.running_var.numpy(), **TIGHT)
        assert not stats.mean.requires_grad and not stats.var.requires_grad
    stats.training = False
    bn.eval()
    with torch.no_grad():
        out = LAYERS["batchnorm"].torch(torch, torch.tensor(held_out), (g, b, stats))
        assert np.allclose(out.numpy(), bn(torch.tensor(held_out)).numpy(), **TIGHT)


def torch_nn_run(
    lesson, data, steps: int, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """The lesson's model trained by torch.nn alone, from the tutor's initial weights and batch
    order: its validation outputs in eval mode (the running statistics) and in train mode (the
    validation set's own)."""
    from tutor.train.batches import BatchOrder
    from tutor.train.spec import initial_weights, resolve

    spec = resolve(lesson, "numpy")
    w = initial_weights(spec, data.inputs, data.outputs)
    nn = torch.nn
    model = nn.Sequential(
        nn.Linear(64, 50), nn.BatchNorm1d(50, eps=BN_EPS), nn.ReLU(), nn.Linear(50, 10)
    ).to(dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(w["W1"]).T)
        model[0].bias.copy_(torch.tensor(w["b1"]))
        model[3].weight.copy_(torch.tensor(w["W2"]).T)
        model[3].bias.copy_(torch.tensor(w["b2"]))
    sgd = torch.optim.SGD(model.parameters(), lr=spec.lr)
    order = BatchOrder(len(data.x_train), spec.batch_size, spec.seed)
    x, y = torch.tensor(data.x_train, dtype=dtype), torch.tensor(data.y_train, dtype=torch.int64)
    for _ in range(steps):
        idx = torch.from_numpy(order.next())
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        sgd.step()
    xv = torch.tensor(data.x_val, dtype=dtype)
    with torch.no_grad():
        model.eval()
        evaluated = model(xv)
        model.train()
        return evaluated, model(xv)


@pytest.fixture(scope="module")
def digits():
    from tutor.train.datasets import load as load_data
    from tutor.train.spec import dataset_for

    lesson = load(lesson_path("batchnorm-backward"))
    return lesson, load_data(dataset_for(lesson))


@pytest.mark.parametrize("backend", ["numpy", "torch-manual", "autograd", "nn", "optim"])
def test_every_backend_evaluates_with_the_running_statistics(backend, digits):
    from tutor.train.session import LogPolicy, Session
    from tutor.train.spec import resolve

    lesson, data = digits
    steps = 25  # an epoch of 20 batches and 5 more
    spec = dataclasses.replace(resolve(lesson, backend), dtype="float64")
    session = Session(spec, data)
    session.run(policy=LogPolicy(every=10**6), until=steps)
    assert session.step == steps
    evaluated, batch_stats = (t.numpy() for t in torch_nn_run(lesson, data, steps))
    pred, _ = session.backend.evaluate(session.xv, session.yv)
    assert np.allclose(session.backend.xp.to_numpy(pred), evaluated, rtol=1e-9, atol=1e-10)
    assert not np.allclose(evaluated, batch_stats, rtol=1e-2)  # the two modes do differ here
    assert np.allclose(session.predict(data.x_val), evaluated, rtol=1e-9, atol=1e-10)
    # evaluating did not move the running statistics: a second evaluation gives the same outputs
    again, _ = session.backend.evaluate(session.xv, session.yv)
    assert np.array_equal(session.backend.xp.to_numpy(again), session.backend.xp.to_numpy(pred))
