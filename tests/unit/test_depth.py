"""Per-layer initialisation and the by-depth statistics (issue 15): a linear layer's own `init`
(normal with a std, xavier, he, zeros) checked like every key, drawn by the one rule the exported
code mirrors; a 7-layer stack of mixed activations trains the same on every backend; each
snapshot carries every layer's ‖∂W‖, distinct units and dead or saturated fraction, measured in
numpy from the weights; the doctor names copied units and gradients that vanish with depth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.errors import LessonError
from tutor.lesson import BACKENDS, loads
from tutor.train.copies import distinct_units
from tutor.train.datasets import load as load_data
from tutor.train.health import layer_health
from tutor.train.session import LogPolicy, Session
from tutor.train.snapshot import SATURATED_WITHIN
from tutor.train.spec import initial_weights, layer_plan, resolve

HEAD = """schema = 1
id = "deep"
title = "deep"
[[explain]]
title = "x"
text = "x"
[train]
backends = ["numpy"]
loss = "ce"
lr = 0.1
epochs = 3
dtype = "float64"
init = "{init}"
[train.dataset]
kind = "digits"
"""


def lesson(layers: str, init: str = "torch"):
    return loads(HEAD.format(init=init) + layers, "deep.toml")


def linear(out, **keys) -> str:
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in keys.items())
    return f'[[train.layers]]\ntype = "linear"\nout = {out if isinstance(out, int) else chr(34) + out + chr(34)}\n{extra}'


def act(kind: str) -> str:
    return f'[[train.layers]]\ntype = "{kind}"\n'


# the 7-layer mixed stack: every activation a hidden layer can have, and every per-layer init
MIXED = (
    linear(24, init="he")
    + act("relu")
    + linear(20, init="xavier")
    + act("tanh")
    + linear(16, init="normal", std=0.2)
    + act("sigmoid")
    + linear(16)
    + act("relu")
    + linear(12, init="randn")
    + act("tanh")
    + linear(12, init="uniform")
    + act("sigmoid")
    + linear("outputs", init="zeros")
)


@pytest.mark.parametrize(
    "layer, message",
    [
        (
            linear(8, init="normal"),
            'train.layers[0].init: init = "normal" needs the standard deviation of its draw: '
            "add 'std' (e.g. std = 0.01)",
        ),
        (
            linear(8, std=0.1),
            "train.layers[0].std: 'std' belongs to init = \"normal\"; other draws set their own scale",
        ),
        (linear(8, init="normal", std=-1.0), "train.layers[0].std:"),
        (linear(8, init="normal", std=1000.0), "train.layers[0].std:"),
        (
            linear(8, init="glorot"),
            "train.layers[0].init: 'glorot' is not one of: randn, zeros, torch, uniform, "
            "xavier, he, normal",
        ),
        (
            linear(2, init="he", weight=[1.0] * 128),
            "train.layers[0].init: the layer gives its 'weight', so there is "
            "nothing to draw: drop 'init' or 'weight'",
        ),
    ],
)
def test_a_bad_layer_init_is_named_with_its_key(layer, message):
    with pytest.raises(LessonError) as err:
        lesson(layer + act("relu") + linear("outputs"))
    assert str(err.value).startswith("deep.toml:") and message in str(err.value)


def test_each_layer_draws_by_its_own_init_and_the_run_init_is_the_default():
    les = lesson(MIXED, init="torch")
    spec = resolve(les, "numpy")
    w = initial_weights(spec, 64, 10)
    # he: N(0, 2/fan-in); xavier: U(±√(6/(in + out))); normal: N(0, std²); their biases start at 0
    assert np.std(w["W1"]) == pytest.approx(math.sqrt(2 / 64), rel=0.1) and not w["b1"].any()
    assert np.abs(w["W2"]).max() <= math.sqrt(6 / (24 + 20)) and np.abs(
        w["W2"]
    ).max() > 0.9 * math.sqrt(6 / 44)
    assert not w["b2"].any()
    assert np.std(w["W3"]) == pytest.approx(0.2, rel=0.15) and not w["b3"].any()
    # no init of its own: the run's (torch's range ±1/√fan-in), bias drawn too
    assert np.abs(w["W4"]).max() <= 1 / math.sqrt(16) and np.abs(w["b4"]).max() > 0
    assert np.std(w["W5"]) == pytest.approx(1.0, rel=0.2)
    assert not w["W7"].any() and not w["b7"].any()
    # the same seed, the same draws: every backend and the exported script start here
    again = initial_weights(resolve(les, "optim"), 64, 10)
    assert all(np.array_equal(w[k], again[k]) for k in w)
    # a run-wide xavier, with no layer of its own, draws xavier everywhere
    plain = initial_weights(
        resolve(lesson(linear(16) + act("tanh") + linear("outputs"), init="xavier"), "numpy"),
        64,
        10,
    )
    assert np.abs(plain["W1"]).max() <= math.sqrt(6 / 80) and not plain["b1"].any()


def test_a_seven_layer_mixed_stack_trains_the_same_on_every_backend():
    les = lesson(MIXED)
    data = load_data(les.train.dataset)
    runs = {}
    for backend in BACKENDS:
        session = Session(resolve(les, backend), data)
        rows = []
        final = session.run(
            emit=lambda s: rows.append(s) if not s.done else None, policy=LogPolicy(every=1)
        )
        assert not final.error and not final.diverged, (backend, final.status)
        runs[backend] = (rows, final)
    base_rows, base_final = runs["numpy"]
    assert [s.layer for s in base_final.layers] == [
        "W1",
        "relu1",
        "W2",
        "tanh1",
        "W3",
        "sigmoid1",
        "W4",
        "relu2",
        "W5",
        "tanh2",
        "W6",
        "sigmoid2",
        "W7",
    ]
    for backend, (rows, final) in runs.items():
        assert len(rows) == 3
        for a, b in zip(rows, base_rows, strict=False):
            assert a.loss == pytest.approx(b.loss, rel=1e-6), backend
            for x, y in zip(
                a.layers, b.layers, strict=False
            ):  # the same statistics, whatever computed the step
                assert x.layer == y.layer
                for key in ("grad_norm", "dead", "saturated"):
                    if getattr(y, key) is not None:
                        assert getattr(x, key) == pytest.approx(
                            getattr(y, key), rel=1e-5, abs=1e-9
                        ), (backend, key)
                assert x.distinct == y.distinct
        assert final.loss == pytest.approx(base_final.loss, rel=1e-6), backend


def test_layer_health_counts_dead_saturated_and_copied_units():
    les = lesson(
        linear(4, init="zeros")
        + act("sigmoid")
        + linear(3)
        + act("relu")
        + linear(2)
        + act("tanh")
        + linear("outputs")
    )
    spec = resolve(les, "numpy")
    plan = layer_plan(spec, 2, 10)
    params = initial_weights(spec, 2, 10)
    params["W2"] = np.array([[1.0, -1.0, 5.0]] * 4)  # sigmoid(0) = 0.5 in, so 0.5·(sum) out
    params["b2"] = np.array([0.0, 0.0, 0.0])
    params["W3"] = np.array([[100.0, 0.001], [0.0, 0.0], [0.0, 0.0]])
    params["b3"] = np.array([0.0, 0.0])
    health = layer_health(plan, params, np.ones((5, 2)))
    assert health["W1"] == ("distinct", 1)  # four zero units: one unit four times
    assert health["sigmoid1"] == ("saturated", 0.0)  # 0.5 is far from 0 and 1
    assert health["relu1"] == (
        "dead",
        pytest.approx(1 / 3),
    )  # the unit fed 2·(−1) never switches on
    # tanh of 2·100 is 1 (saturated), tanh of 2·0.001 is not
    assert health["tanh1"] == ("saturated", 0.5)
    assert SATURATED_WITHIN == 0.01
    assert distinct_units(np.array([[1.0, 1.0, 2.0], [3.0, 3.0, 3.0]])) == 2
    assert distinct_units(np.random.RandomState(0).randn(64, 32)) == 32


@pytest.mark.parametrize("rows, units", [(3, 4096), (33, 32), (65, 32), (785, 128)])
def test_copies_that_differ_by_rounding_noise_are_one_unit(rows, units):
    """Copies of one unit computed in another order differ in their last float32 bits: they stay
    one unit, also where 6 significant digits would round them apart (…45 against …55)."""
    rng = np.random.RandomState(rows)
    unit = rng.randn(rows, 1)
    unit[0] = 0.1234565  # on a 6-digit rounding boundary
    noisy = unit * (1 + np.finfo(np.float32).eps * 8 * rng.uniform(-1, 1, (rows, units)))
    assert distinct_units(noisy) == 1
    assert distinct_units(noisy * 1e-300) == 1 and distinct_units(noisy * 1e300) == 1  # any scale
    two = noisy.copy()
    two[rows // 2, units // 2 :] += (
        1e-3 * np.abs(unit).max()
    )  # half the units moved 0.1% of the scale
    assert distinct_units(two) == 2
    spread = rng.randn(rows, units) / np.sqrt(rows)
    assert distinct_units(spread) == units  # independent units are all counted
    assert distinct_units(np.zeros((rows, units))) == 1 and distinct_units(np.zeros((rows, 0))) == 0
    # a device counts where the weights live (torch's path, run here on the CPU): the same counts
    import torch

    from tutor.train.rows import Reader, TorchOps

    for w, want in ((noisy, 1), (two, 2), (spread, units), (np.zeros((rows, units)), 1)):
        reader, ops = Reader(), TorchOps("cpu")
        kind, i = ops.distinct(reader, torch.from_numpy(w))
        assert (kind, reader.read(ops)[i][0]) == ("distinct", want)


def test_a_unit_is_a_copy_within_the_tolerance_the_dtype_and_fan_in_give():
    from tutor.train.copies import COPY_ULPS

    tol = COPY_ULPS * np.finfo(np.float32).eps * np.sqrt(5)  # fan-in 4 and the bias row
    w = np.ones((5, 2))
    w[2, 1] = 1 + 0.9 * tol
    assert distinct_units(w) == 1
    w[2, 1] = 1 + 1.1 * tol
    assert distinct_units(w) == 2
    assert distinct_units(w, eps=np.finfo(np.float64).eps) == 2
    w[2, 1] = 1 + 1e-14  # within 64·eps·√5 = 3.2e-14 in float64
    assert distinct_units(w, eps=np.finfo(np.float64).eps) == 1


def test_the_doctor_names_copied_units_and_gradients_that_vanish_with_depth():
    zeros = loads(
        HEAD.format(init="torch").replace("epochs = 3", "epochs = 60")
        + "".join(linear(16, init="zeros") + act("sigmoid") for _ in range(2))
        + linear("outputs", init="zeros"),
        "deep.toml",
    )
    data = load_data(zeros.train.dataset)
    session = Session(resolve(zeros, "numpy"), data)
    session.run()
    assert session.diagnosis["kind"] == "symmetric"
    assert (
        "W1: its 16 units have identical weights, so they compute the same thing and get the same gradient: "
        "they can never differ"
    ) in session.diagnosis["evidence"]
    deep = loads(
        HEAD.format(init="torch").replace("epochs = 3", "epochs = 60")
        + "".join(linear(32) + act("sigmoid") for _ in range(6))
        + linear("outputs"),
        "deep.toml",
    )
    session = Session(resolve(deep, "numpy"), data)
    session.run()
    assert session.diagnosis["kind"] == "vanishing-gradients"
    [line] = [
        e for e in session.diagnosis["evidence"] if e.startswith("at step 1 the gradient reaching")
    ]
    assert (
        "(‖∂W1‖)" in line
        and "(‖∂W7‖)" in line
        and line.endswith("the layers near the input barely learn")
    )
