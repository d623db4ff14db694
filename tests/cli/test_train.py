"""Training: the figures CURRICULUM.md asks each lesson to reproduce, read from the headless
runner's JSON lines; devices; and the Session loop itself (cancellation, failing backends,
the bounded loss history)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import (
    events_of,
    flat,
    headless_json,
    headless_run,
    lesson_path,
    parse_json_lines,
    run_cli,
)


def only(events, kind, **match):
    found = events_of(events, kind, **match)
    assert len(found) == 1, f"{len(found)} '{kind}' events matching {match}"
    return found[0]


def train_steps(events, backend):
    return {e["step"]: e for e in events_of(events, "train", backend=backend)}


def losses(events, backend):
    return [
        e["loss"]
        for e in sorted(events_of(events, "train", backend=backend), key=lambda e: e["step"])
    ]


def agree(a, b, rel):
    assert len(a) == len(b) and a
    for i, (x, y) in enumerate(zip(a, b, strict=False), 1):
        assert abs(x - y) <= rel * max(abs(x), abs(y)), f"step {i}: {x} vs {y}"


def torch_cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return torch.cuda.is_available()


SINGLE_NEURON_BACKENDS = ["numpy", "torch-manual", "autograd", "nn", "optim"]
ONE_DIGIT = 1 / 540  # mlp-digits validates on 540 digits: another BLAS may flip one of them


@pytest.mark.parametrize("backend", SINGLE_NEURON_BACKENDS)
def test_single_neuron_one_step(backend):
    """The row is the state the step starts from (w = 1: loss 1.0, gradient −2.0); the done
    event the state after it (w = 1.2: loss 0.64)."""
    events = headless_json("single-neuron", "--no-derive")
    step1 = train_steps(events, backend)[1]
    assert step1["loss"] == 1.0
    assert flat(step1["grads"]["w"]) == [-2.0]
    assert flat(step1["params"]["w"]) == [1.0]
    done = only(events, "done", backend=backend)
    assert done["steps"] == 1
    assert done["final_loss"] == pytest.approx(0.64, abs=1e-6)
    assert flat(done["params"]["w"]) == [pytest.approx(1.2, abs=1e-6)]
    assert done["diverged"] is False and done["error"] is None


def test_single_neuron_forgetting_zero_grad_swings_and_never_settles():
    """30 steps without zeroing: −2.0, −3.6, −4.48 …; w overshoots 2 and keeps swinging between
    about 0.99 and 3.01, the loss back above 1.0 every 7 steps, as the variant's note says."""
    from tutor.lesson import load

    events = headless_json("single-neuron", "--no-derive", "--variant", "forget-zero-grad")
    steps = train_steps(events, "autograd")
    assert sorted(steps) == list(range(1, 31))
    assert flat(steps[1]["grads"]["w"]) == [-2.0]
    assert flat(steps[2]["grads"]["w"]) == [pytest.approx(-3.6, abs=1e-6)]
    assert flat(steps[3]["grads"]["w"]) == [pytest.approx(-4.48, abs=1e-5)]
    assert {e["backend"] for e in events_of(events, "train")} == {"autograd"}
    ws = [flat(steps[k]["params"]["w"])[0] for k in range(1, 31)]
    assert min(ws) == pytest.approx(0.99, abs=0.005) and max(ws) == pytest.approx(
        3.01, abs=0.005
    )  # "about"
    assert [k for k in range(1, 31) if steps[k]["loss"] > 1.0] == [7, 14, 21, 28]
    done = only(events, "done", backend="autograd")
    assert done["final_loss"] == pytest.approx(0.14544, rel=1e-4)  # float32, 30 steps
    note = load(lesson_path("single-neuron")).variant("forget-zero-grad").changes["note"]
    for figure in ("−2.0", "−3.6", "−4.48", "0.99 and 3.01", "7, 14, 21 and 28", "0.14544"):
        assert figure in note
    zeroed = headless_json(
        "single-neuron", "--no-derive", "--variant", "two-steps", "--epochs", "30"
    )
    done = only(zeroed, "done", backend="autograd")
    assert flat(done["params"]["w"])[0] == pytest.approx(1.99876, rel=1e-5)
    assert done["final_loss"] == pytest.approx(
        1.5e-06, rel=0.05
    )  # a difference of near-equal floats
    assert "w = 1.99876, loss 1.5e-06" in note


def test_single_neuron_zeroing_gives_the_fresh_gradient():
    events = headless_json("single-neuron", "--no-derive", "--variant", "two-steps")
    steps = train_steps(events, "autograd")
    assert flat(steps[2]["grads"]["w"]) == [pytest.approx(-1.6, abs=1e-6)]
    assert steps[2]["loss"] == pytest.approx(0.64, abs=1e-6)
    assert flat(steps[2]["params"]["w"]) == [pytest.approx(1.2, abs=1e-6)]
    done = only(events, "done", backend="autograd")
    assert flat(done["params"]["w"]) == [pytest.approx(1.36, abs=1e-6)]
    assert done["final_loss"] == pytest.approx(0.4096, abs=1e-6)


def test_single_neuron_text_log_shows_signed_gradients():
    rc, out, err = run_cli("single-neuron", "--headless", "--no-derive", "--variant", "two-steps")
    assert rc == 0, err
    assert "loss 1.0  ∂w -2.0" in out
    assert "loss 0.64  ∂w -1.6" in out
    assert "‖∂w‖" not in out


@pytest.mark.parametrize("backend", ["numpy", "autograd", "nn", "optim"])
def test_linear_1d_first_step_and_prediction(backend):
    events = headless_json("linear-1d", "--no-derive", "--log-every", "1")
    steps = train_steps(events, backend)
    assert steps[1]["loss"] == pytest.approx(30.0, rel=1e-7)
    assert flat(steps[1]["grads"]["w"]) == [pytest.approx(-30.0, rel=1e-7)]
    assert flat(steps[1]["params"]["w"]) == [0.0]
    assert flat(steps[2]["params"]["w"]) == [pytest.approx(0.3, abs=1e-6)]
    done = only(events, "done", backend=backend)
    assert done["steps"] == 100
    [pred] = done["predictions"]
    assert pred["x"] == 5.0
    assert flat(pred["y"])[0] == pytest.approx(10.0, abs=5e-4)


def test_linear_1d_backends_agree_step_by_step():
    events = headless_json(
        "linear-1d",
        "--no-derive",
        "--log-every",
        "1",
        "--backend",
        "numpy",
        "--backend",
        "autograd",
        "--backend",
        "optim",
    )
    numpy_losses = losses(events, "numpy")
    assert len(numpy_losses) == 100
    agree(numpy_losses, losses(events, "autograd"), 1e-6)  # float32: equal to rounding
    agree(numpy_losses, losses(events, "optim"), 1e-6)
    w_numpy = [flat(e["params"]["w"])[0] for e in events_of(events, "train", backend="numpy")]
    w_auto = [flat(e["params"]["w"])[0] for e in events_of(events, "train", backend="autograd")]
    agree(w_numpy, w_auto, 1e-6)


def test_linear_1d_loops_get_shorter_and_end_with_optim():
    """numpy, autograd, nn (nn.Linear and a loss module), optim (nn.Linear + torch.optim.SGD):
    the order the Explain page gives, one weight each, the same path."""
    from tutor.lesson import load

    lesson = load(lesson_path("linear-1d"))
    assert lesson.train.backends == ("numpy", "autograd", "nn", "optim")
    page = lesson.explain[2].text
    assert (
        page.index("**numpy**")
        < page.index("**autograd**")
        < page.index("**nn**")
        < page.index("**optim**")
    )
    assert "torch.optim.SGD" in page.split("**optim**")[1]
    events = headless_json("linear-1d", "--no-derive")
    for backend in lesson.train.backends:
        done = only(events, "done", backend=backend)
        assert set(done["params"]) == {"w"}
        assert flat(done["predictions"][0]["y"])[0] == pytest.approx(10.0, abs=5e-4)


@pytest.mark.parametrize("backend", ["numpy", "autograd"])
def test_linear_1d_seed004_variant(backend):
    """The variant's note quotes what it runs: 24.8 and −24.8 at step 1, w = 0.248 after it,
    w = 1.98997, f(5) = 9.94986 and loss 0.000623 after 40 steps."""
    from tutor.lesson import load

    events = headless_json("linear-1d", "--no-derive", "--variant", "seed004", "--log-every", "1")
    steps = train_steps(events, backend)
    assert steps[1]["loss"] == pytest.approx(24.8, rel=1e-6)
    assert flat(steps[1]["grads"]["w"]) == [pytest.approx(-24.8, rel=1e-6)]
    assert flat(steps[2]["params"]["w"]) == [pytest.approx(0.248, rel=1e-6)]
    done = only(events, "done", backend=backend)
    assert done["steps"] == 40
    assert flat(done["predictions"][0]["y"])[0] == pytest.approx(9.94986, rel=1e-5)
    assert flat(done["params"]["w"])[0] == pytest.approx(1.98997, rel=1e-5)
    assert done["final_loss"] == pytest.approx(
        0.000623, rel=2e-3
    )  # (1.98997·x − 2x)²: few digits survive
    note = load(lesson_path("linear-1d")).variant("seed004").changes["note"]
    for figure in ("24.8", "−24.8", "0.248", "w = 1.98997", "f(5) = 9.94986", "0.000623"):
        assert figure in note
    assert "30.0" not in note and "10.000" not in note
    [lesson_event] = events_of(events, "lesson")
    assert lesson_event["note"] == note  # the variant's note, not the lesson's


def _to5(value, figure):
    assert abs(value - figure) <= 5e-6, f"{value} is not {figure} to 5 decimals"


@pytest.mark.parametrize("backend", ["numpy", "autograd", "optim"])
def test_linear_regression_final_weights(backend):
    events = headless_json("linear-regression", "--no-derive")
    done = only(events, "done", backend=backend)
    assert done["steps"] == 1000
    _to5(flat(done["params"]["w"])[0], 1.96896)
    _to5(flat(done["params"]["b"])[0], 1.02354)
    base = only(events, "baseline")
    _to5(flat(base["coef"])[0], 1.96896)
    _to5(flat(base["intercept"])[0], 1.02354)
    _to5(flat(base["coef"])[0], flat(done["params"]["w"])[0])
    _to5(flat(base["intercept"])[0], flat(done["params"]["b"])[0])
    assert done["final_val_loss"] is not None


MULTI_W = [1.11102, 0.59754, 0.07637, 0.21518, -0.10523]


@pytest.mark.parametrize("backend", ["numpy", "autograd", "optim"])
def test_multivariate_regression_final_weights(backend):
    events = headless_json("multivariate-regression", "--no-derive")
    done = only(events, "done", backend=backend)
    w = flat(done["params"]["w"])
    assert len(w) == 5
    for got, want in zip(w, MULTI_W, strict=False):
        _to5(got, want)
    _to5(flat(done["params"]["b"])[0], 0.87879)
    base = only(events, "baseline")
    for got, want in zip(flat(base["coef"]), MULTI_W, strict=False):
        _to5(got, want)
    _to5(flat(base["intercept"])[0], 0.87879)


@pytest.mark.parametrize("lesson_id", ["logistic-regression", "mlp-digits"])
def test_classifiers_report_accuracy_and_a_baseline(lesson_id):
    events = headless_json(lesson_id, "--no-derive")
    dones = events_of(events, "done")
    assert dones
    for done in dones:
        for key in ("accuracy", "val_accuracy"):
            assert 0.0 <= done[key] <= 1.0, (done["backend"], key)
        assert done["final_val_loss"] is not None
    for e in events_of(events, "train"):
        assert "accuracy" in e and "val_accuracy" in e
    base = only(events, "baseline")
    assert base["val_accuracy"] > 0.85
    assert base["name"] in ("sklearn-logistic", "sklearn-mlp")
    assert "loss_curve" not in base


def test_logistic_regression_accuracy_on_the_digits():
    events = headless_json("logistic-regression", "--no-derive")
    for done in events_of(events, "done"):
        assert done["val_accuracy"] > 0.85, done


@pytest.mark.parametrize("backend", ["numpy", "optim"])
def test_a_row_is_one_state_of_the_weights(backend):
    """logistic-regression's first row is the zero weights: loss and validation loss log 10,
    accuracy one class in ten, not the validation figures after the first update."""
    events = headless_json("logistic-regression", "--no-derive", "--backend", backend)
    first = train_steps(events, backend)[1]
    assert first["loss"] == pytest.approx(np.log(10), rel=1e-6)
    assert first["val_loss"] == pytest.approx(np.log(10), rel=1e-6)
    assert first["accuracy"] < 0.2 and first["val_accuracy"] < 0.2


def test_mlp_digits_accuracy():
    """Ten epochs with momentum 0.9 (the baseline's effective step) take the torch model past
    0.9 on the held-out digits: 0.941, as the note says; its numpy twin gives the same."""
    from tutor.lesson import load

    events = headless_json("mlp-digits", "--no-derive")
    by_backend = {d["backend"]: d for d in events_of(events, "done")}
    assert set(by_backend) >= {"optim", "numpy"}
    for done in by_backend.values():
        assert done["val_accuracy"] >= 0.9, done
        assert done["val_accuracy"] == pytest.approx(0.941, abs=ONE_DIGIT)
    base = only(events, "baseline")
    assert base["val_accuracy"] == pytest.approx(0.961, abs=ONE_DIGIT)
    note = load(lesson_path("mlp-digits")).train.note
    assert "0.941 validation accuracy" in note and "0.961" in note


@pytest.mark.parametrize(
    "variant, figure",
    [("forty-epochs", "0.972"), ("momentum-half", "0.798"), ("lr-ten-times", "0.948")],
)
def test_mlp_digits_variants_quote_their_figures(variant, figure):
    from tutor.lesson import load

    events = headless_json(
        "mlp-digits",
        "--no-derive",
        "--variant",
        variant,
        "--backend",
        "numpy",
        "--log-every",
        "1000",
    )
    [done] = events_of(events, "done")
    assert done["val_accuracy"] == pytest.approx(float(figure), abs=ONE_DIGIT)
    assert figure in load(lesson_path("mlp-digits")).variant(variant).changes["note"]
    page = " ".join(load(lesson_path("mlp-digits")).explain[3].text.split())
    assert f"`{variant}` variant" in page and figure in page
    assert "or the momentum, on the Train screen" not in page


def test_mlp_digits_momentum_option_and_effective_step():
    """--momentum changes the run (and says the effective step); the same effective step reached
    with lr 0.05 and momentum 0.5 gives 0.948, as the page says."""
    rc, out, err = run_cli(
        "mlp-digits",
        "--headless",
        "--no-derive",
        "--backend",
        "numpy",
        "--momentum",
        "0.5",
        "--lr",
        "0.05",
        "--log-every",
        "1000",
    )
    assert rc == 0, err
    assert "sgd, lr 0.05, momentum 0.5 (effective step lr/(1 − momentum) = 0.1)" in out
    assert "accuracy 0.972 / 0.948" in out
    rc, _, err = run_cli("mlp-digits", "--headless", "--momentum", "1.5")
    assert rc == 2 and "--momentum must be within 0..0.999" in err


def test_mlp_digits_baseline_states_its_settings_and_ignores_the_learners_epochs():
    events = headless_json("mlp-digits", "--no-derive", "--backend", "numpy", "--log-every", "1000")
    shorter = headless_json(
        "mlp-digits", "--no-derive", "--backend", "numpy", "--epochs", "2", "--log-every", "1000"
    )
    base, base2 = only(events, "baseline"), only(shorter, "baseline")
    assert base == base2
    assert base["settings"].startswith(
        "lr 0.01, momentum 0.9 (Nesterov; effective step 0.1), batch 64, 10 epochs"
    )
    assert "Glorot" in base["settings"]


def test_mlp_digits_trains_on_minibatches():
    events = headless_json("mlp-digits", "--no-derive")
    for done in events_of(events, "done"):
        # 10 epochs of batches of 64 over the digits' training split (70% of 1,797 images)
        assert done["steps"] == 10 * -(-1257 // 64)
        epochs = {e["epoch"] for e in events_of(events, "train", backend=done["backend"])}
        assert epochs == set(range(1, 11))


def test_two_layer_relu_hand_written_backends_agree():
    events = headless_json(
        "two-layer-relu",
        "--no-derive",
        "--log-every",
        "1",
        "--backend",
        "numpy",
        "--backend",
        "torch-manual",
        "--backend",
        "autograd",
    )
    ref = losses(events, "numpy")
    assert len(ref) == 50
    agree(ref, losses(events, "torch-manual"), 1e-5)
    agree(ref, losses(events, "autograd"), 1e-5)
    val = [e["val_loss"] for e in events_of(events, "train", backend="numpy")]
    agree(val, [e["val_loss"] for e in events_of(events, "train", backend="autograd")], 1e-5)


def test_two_layer_relu_loss_falls_and_validation_is_separate():
    events = headless_json(
        "two-layer-relu", "--no-derive", "--log-every", "1", "--backend", "numpy"
    )
    train = losses(events, "numpy")
    assert train[0] > 1000  # "from thousands"
    assert train[0] > 10 * train[-1]
    assert train[-1] < 100
    for e in events_of(events, "train", backend="numpy"):
        assert e["val_loss"] is not None and e["val_loss"] != e["loss"]
    done = only(events, "done", backend="numpy")
    assert done["final_val_loss"] is not None
    assert done["final_val_loss"] != done["final_loss"]


def test_two_layer_relu_diverges_with_a_huge_learning_rate():
    rc, events, err = headless_run(
        "two-layer-relu", "--no-derive", "--lr", "10", "--backend", "numpy", expect_rc=3
    )
    done = only(events, "done", backend="numpy")
    assert done["diverged"] is True
    assert isinstance(done["steps"], int) and 1 <= done["steps"] < 50
    assert done["final_loss"] is None  # not NaN: JSON has none
    trains = events_of(events, "train", backend="numpy")
    assert all(e["step"] <= done["steps"] for e in trains)


def events_of_text(out, kind):
    return [e for e in parse_json_lines(out) if e["event"] == kind]


@pytest.mark.skipif(
    torch_cuda(), reason="this machine has CUDA; the error path is for machines without it"
)
def test_device_cuda_without_cuda_is_a_clear_usage_error():
    rc, out, err = run_cli(
        "mlp-digits",
        "--headless",
        "--json",
        "--no-derive",
        "--backend",
        "optim",
        "--device",
        "cuda",
        timeout=300,
    )
    assert rc == 2
    assert "Traceback" not in err
    assert "CUDA is not available" in err
    assert "--device cpu" in err
    assert events_of_text(out, "train") == []


def test_unknown_device_is_a_usage_error():
    rc, out, err = run_cli(
        "single-neuron",
        "--headless",
        "--json",
        "--no-derive",
        "--backend",
        "autograd",
        "--device",
        "banana",
        timeout=120,
    )
    assert rc == 2
    assert "Traceback" not in err
    assert "banana" in err


@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda(), reason="needs a CUDA device")
def test_mlp_digits_on_cuda():
    rc, out, err = run_cli(
        "mlp-digits",
        "--headless",
        "--json",
        "--no-derive",
        "--backend",
        "optim",
        "--device",
        "cuda",
        timeout=600,
    )
    assert rc == 0, err
    events = events_of_text(out, "done")
    [done] = events
    assert done["device"].startswith("cuda")
    assert done["val_accuracy"] > 0.85
    assert all(e["device"].startswith("cuda") for e in events_of_text(out, "train"))
