"""The headless runner's contract (`--headless [--json]`): one strict JSON object a line, the
events in order (lesson, derive, gradcheck, jacobian, train, done, baseline, answer), and the
exit status: 0 ok, 1 a wrong answer, 2 bad arguments, 3 a run that diverged or failed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import (
    CURRICULUM_IDS,
    events_of,
    headless_json,
    headless_run,
    lesson_path,
    parse_json_lines,
    run_cli,
)

EVENTS = {
    "lesson",
    "derive",
    "gradcheck",
    "jacobian",
    "train",
    "done",
    "baseline",
    "answer",
    "error",
}


PHASES = {"forward", "backward", "chain", "check", "matrix", "jacobian"}


def kinds(events):
    return [e["event"] for e in events]


@pytest.mark.parametrize("lesson_id", CURRICULUM_IDS)
def test_derivation_events_and_gradient_checks(lesson_id):
    from tutor.derive import derive
    from tutor.lesson import load

    lesson = load(lesson_path(lesson_id))
    events = headless_json(lesson_id, "--no-train")
    assert set(kinds(events)) <= EVENTS
    first = events[0]
    note = (lesson.train.note or None) if lesson.train is not None else None
    assert first == {
        "event": "lesson",
        "id": lesson_id,
        "title": lesson.title,
        "variant": None,
        "note": note,
    }
    assert not events_of(events, "train") and not events_of(events, "done")
    steps = events_of(events, "derive")
    deriv = derive(lesson)
    assert [e["step"] for e in steps] == list(range(1, len(deriv.steps) + 1))
    for e, step in zip(steps, deriv.steps, strict=False):
        assert e["phase"] in PHASES
        assert (e["phase"], e["node"], e["title"]) == (step.phase, step.node, step.title)
        assert isinstance(e["text"], str) and e["text"].strip()
    checks = events_of(events, "gradcheck")
    if lesson.graph is not None:
        scalar = [c for c in checks if c["form"] == "scalar"]
        assert {c["param"] for c in scalar} == set(lesson.graph.params)
        for c in checks:
            assert c["ok"] is True, c
            assert c["rel_error"] <= 1e-6
    if lesson.graph is not None and lesson.graph.shapes:
        assert {c["param"] for c in checks if c["form"] == "matrix"} == set(lesson.graph.params)
    # the order: lesson, every derive step, then the checks, then the Jacobian (if any)
    order = [k for k in kinds(events)]
    assert order[0] == "lesson"
    last_derive = max(i for i, k in enumerate(order) if k == "derive")
    assert all(k in ("gradcheck", "jacobian") for k in order[last_derive + 1 :])
    assert bool(events_of(events, "jacobian")) == (lesson.jacobian is not None)


def test_jacobian_event_matches_finite_differences():
    from tutor.expr.evaluate import Numpy, evaluate
    from tutor.lesson import load

    lesson = load(lesson_path("vector-derivatives"))
    jac = lesson.jacobian
    assert jac is not None
    events = headless_json("vector-derivatives", "--no-train")
    [e] = events_of(events, "jacobian")
    m, n = len(jac.outputs), len(jac.inputs)
    assert e["shape"] == [m, n]
    J = np.array(e["jacobian"])
    assert J.shape == (m, n)

    def f(point):
        env = {k: np.float64(v) for k, v in point.items()}
        return np.array([float(evaluate(o.expr, env, Numpy())) for o in jac.outputs])

    h = 1e-6
    numeric = np.zeros((m, n))
    for j, name in enumerate(jac.inputs):
        up, down = dict(jac.point), dict(jac.point)
        up[name] += h
        down[name] -= h
        numeric[:, j] = (f(up) - f(down)) / (2 * h)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-8)
    assert e["upstream"] == list(jac.upstream)
    np.testing.assert_allclose(e["vjp"], np.array(jac.upstream) @ numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("lesson_id", ["single-neuron", "linear-1d", "two-layer-relu"])
def test_training_events_per_backend(lesson_id):
    from tutor.lesson import load

    lesson = load(lesson_path(lesson_id))
    events = headless_json(lesson_id, "--no-derive")
    assert not events_of(events, "derive") and not events_of(events, "gradcheck")
    backends = [e["backend"] for e in events_of(events, "done")]
    assert backends == list(lesson.train.backends)
    # each backend's train events, then its done event, before the next backend starts
    position = 1
    for backend in backends:
        run = []
        while position < len(events) and events[position]["event"] == "train":
            run.append(events[position])
            position += 1
        assert run and all(e["backend"] == backend for e in run)
        steps = [e["step"] for e in run]
        assert steps == sorted(steps) and steps[0] == 1
        assert events[position]["event"] == "done" and events[position]["backend"] == backend
        done = events[position]
        assert done["steps"] == steps[-1]
        assert done["device"] == "cpu" and done["diverged"] is False and done["error"] is None
        for e in run:
            assert set(e) >= {"backend", "device", "step", "epoch", "loss", "val_loss", "grad_norm"}
            assert set(e["grad_norm"]) <= set(done.get("params", e["grad_norm"]))
        position += 1
    assert kinds(events[position:]) in ([], ["baseline"])


def test_log_every_thins_the_train_events():
    events = headless_json("linear-1d", "--no-derive", "--backend", "numpy", "--log-every", "10")
    steps = [e["step"] for e in events_of(events, "train")]
    assert steps == [1] + list(range(10, 101, 10))


def test_epochs_and_seed_flags():
    events = headless_json(
        "two-layer-relu",
        "--no-derive",
        "--backend",
        "numpy",
        "--epochs",
        "3",
        "--seed",
        "7",
        "--hidden",
        "8",
    )
    [done] = events_of(events, "done")
    assert done["steps"] == 3
    other = headless_json(
        "two-layer-relu", "--no-derive", "--backend", "numpy", "--epochs", "3", "--hidden", "8"
    )
    first = [e["loss"] for e in events_of(events, "train")]
    assert first != [e["loss"] for e in events_of(other, "train")]  # the seed changes the start


def test_text_mode_is_readable_and_not_json():
    rc, out, err = run_cli("single-neuron", "--headless", "--backend", "numpy", timeout=300)
    assert rc == 0, err
    assert "One weight, one step  [single-neuron]" in out
    assert "Gradient check" in out
    assert "final loss 0.64" in out
    assert not any(line.lstrip().startswith("{") for line in out.splitlines())


def test_ascii_text_mode_is_pure_ascii():
    rc, out, err = run_cli(
        "two-layer-relu",
        "--headless",
        "--ascii",
        "--backend",
        "numpy",
        "--epochs",
        "2",
        timeout=300,
    )
    assert rc == 0, err
    assert out.isascii(), sorted({c for c in out if not c.isascii()})
    assert "dL/dw1" in out


def test_pipe_closed_early_is_not_an_error():
    import subprocess
    import sys

    cmd = f"{sys.executable} -m tutor linear-1d --headless --json --log-every 1 | head -n 2"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=300
    )
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "BrokenPipeError" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--hidden", "0"], "--hidden must be at least 1"),
        (["--log-every", "0"], "--log-every must be at least 1"),
        (["--lr", "0"], "--lr must be a positive number"),
        (["--lr", "-1"], "--lr must be a positive number"),
        (["--lr", "nan"], "--lr must be a positive number"),
        (
            ["--backend", "tensorflow"],
            "unknown backend 'tensorflow' (known: numpy, torch-manual, autograd, nn, optim)",
        ),
        (
            ["--backend", "numpy", "--backend", "jax"],
            "unknown backend 'jax' (known: numpy, torch-manual, autograd, nn, optim)",
        ),
        (
            ["--variant", "no-such-variant"],
            "unknown variant 'no-such-variant' (known: forget-zero-grad, two-steps)",
        ),
    ],
)
def test_bad_arguments(args, message):
    """With --json the refusal is the one stdout line, the error event; stderr has the same message."""
    rc, out, err = run_cli(
        "single-neuron", "--headless", "--json", "--no-derive", *args, timeout=120
    )
    assert rc == 2, (rc, err)
    assert err == f"backprop-tutor: {message}\n"
    assert parse_json_lines(out) == [{"event": "error", "message": message}]


def test_bad_arguments_text_mode_keep_stdout_empty():
    rc, out, err = run_cli("single-neuron", "--headless", "--backend", "jax", timeout=120)
    assert rc == 2
    assert (
        err
        == "backprop-tutor: unknown backend 'jax' (known: numpy, torch-manual, autograd, nn, optim)\n"
    )
    assert out == ""


def test_unparsable_argument_in_json_mode():
    rc, out, err = run_cli("single-neuron", "--headless", "--json", "--epochs", "many", timeout=120)
    assert rc == 2
    assert (
        err.splitlines()[-1]
        == "backprop-tutor: error: argument --epochs: invalid int value: 'many'"
    )
    assert "Traceback" not in err
    assert parse_json_lines(out) == [
        {"event": "error", "message": "argument --epochs: invalid int value: 'many'"}
    ]


def test_unknown_lesson_id_in_json_mode():
    from tutor.lesson import catalogue

    rc, out, err = run_cli("no-such-lesson", "--headless", "--json", timeout=60)
    assert rc == 2
    message = (
        f"unknown lesson 'no-such-lesson'. Known lessons: {', '.join(i.id for i in catalogue())}"
    )
    assert err == f"backprop-tutor: {message}\n"
    assert parse_json_lines(out) == [{"event": "error", "message": message}]


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["single-neuron", "--variant", "forget-zero-grad", "--lr", "5", "--json"],
            "backprop-tutor: --json, --lr, --variant only apply with --headless",
        ),
        (
            ["single-neuron", "--no-train"],
            "backprop-tutor: --no-train only applies with --headless",
        ),
        (
            [
                "two-layer-relu",
                "--no-derive",
                "--log-every",
                "5",
                "--hidden",
                "3",
                "--seed",
                "0",
                "--epochs",
                "2",
                "--backend",
                "numpy",
                "--device",
                "cpu",
                "--ascii",
            ],
            "backprop-tutor: --backend, --epochs, --seed, --hidden, --log-every, --no-derive only apply with --headless",
        ),
        (["--list", "--json"], "backprop-tutor: --json only applies with --headless"),
    ],
)
def test_headless_only_flags_need_headless(args, line, monkeypatch, capsys):
    from tutor import cli

    monkeypatch.setattr(cli, "_tui", lambda args: pytest.fail("the TUI started"))
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", line + "\n")


def test_device_and_ascii_still_open_the_tui(monkeypatch, capsys):
    from tutor import cli

    opened = []
    monkeypatch.setattr(
        cli, "_tui", lambda args: opened.append((args.lesson, args.device, args.ascii)) or 0
    )
    assert cli.main(["two-layer-relu", "--device", "cuda", "--ascii"]) == 0
    assert opened == [("two-layer-relu", "cuda", True)]
    assert capsys.readouterr() == ("", "")


def test_headless_needs_a_lesson():
    rc, out, err = run_cli("--headless", timeout=60)
    assert rc == 2
    assert err == "backprop-tutor: --headless needs a LESSON (see --list)\n"
    assert out == ""
    rc, out, err = run_cli("--headless", "--json", timeout=60)
    assert rc == 2
    assert parse_json_lines(out) == [
        {"event": "error", "message": "--headless needs a LESSON (see --list)"}
    ]


def test_lesson_file_path_runs_headless(tmp_path):
    source = lesson_path("single-neuron").read_text(encoding="utf-8")
    path = tmp_path / "my-copy.toml"  # a file is named after its id
    path.write_text(source.replace('id = "single-neuron"', 'id = "my-copy"'), encoding="utf-8")
    events = headless_json(str(path), "--no-derive", "--backend", "numpy")
    assert events[0]["id"] == "my-copy"
    assert events_of(events, "done")[0]["final_loss"] == pytest.approx(0.64, abs=1e-6)


def test_broken_lesson_file_headless_gives_the_check_line():
    from tests.support import FIXTURES_DIR

    path = FIXTURES_DIR / "cycle.toml"
    message = f"{path}:18: graph.nodes[0].expr: 'y_pred' uses 'L', which depends on 'y_pred': the graph has a cycle"
    rc, out, err = run_cli(str(path), "--headless", "--json", timeout=60)
    assert rc == 2
    assert err == f"backprop-tutor: {message}\n"
    assert parse_json_lines(out) == [{"event": "error", "message": message}]
    rc, out, err = run_cli(str(path), "--headless", timeout=60)
    assert (rc, out, err) == (2, "", f"backprop-tutor: {message}\n")


def test_correct_answer():
    rc, events, err = headless_run("linear-1d", "--answer", "grad-w=2*x*(y_pred - y)", expect_rc=0)
    [answer] = events_of(events, "answer")
    assert answer["id"] == "grad-w" and answer["correct"] is True
    assert isinstance(answer["message"], str)


def test_wrong_answer_exits_1():
    rc, events, err = headless_run("linear-1d", "--answer", "grad-w=2*x*(y_pred + y)", expect_rc=1)
    [answer] = events_of(events, "answer")
    assert answer["correct"] is False
    assert answer["message"]


def test_hostile_answer_is_not_run(tmp_path):
    rc, out, err = run_cli(
        "linear-1d",
        "--headless",
        "--json",
        "--answer",
        "grad-w=__import__('os').system('touch pwned')",
        timeout=120,
        cwd=tmp_path,
    )
    assert rc in (1, 2)
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_exercise_exits_2():
    rc, out, err = run_cli(
        "linear-1d", "--headless", "--json", "--answer", "no-such=1", timeout=120
    )
    assert rc == 2
    message = (
        "unknown exercise 'no-such' (known: grad-w, first-step, first-loss, why-zero, backward)"
    )
    assert err == f"backprop-tutor: {message}\n"
    assert kinds(parse_json_lines(out)) == ["lesson", "error"]
    assert parse_json_lines(out)[-1] == {"event": "error", "message": message}


def test_answer_without_equals_sign_exits_2():
    rc, out, err = run_cli("linear-1d", "--json", "--answer", "grad-w", timeout=120)
    assert rc == 2
    assert err == "backprop-tutor: --answer takes ID=ANSWER, found 'grad-w'\n"
    assert parse_json_lines(out)[-1] == {
        "event": "error",
        "message": "--answer takes ID=ANSWER, found 'grad-w'",
    }


def test_answer_text_lines_do_not_repeat_the_verdict():
    rc, out, err = run_cli(
        "linear-1d",
        "--answer",
        "first-step=0.3",
        "--answer",
        "grad-w=2*x*(y_pred - y)",
        "--answer",
        "first-step=-0.3",
        timeout=120,
    )
    assert rc == 1, err
    assert out.splitlines()[2:] == [
        "first-step: correct.",
        "grad-w: correct: that is the chain rule multiplied out.",
        "first-step: not yet. Check the sign.",
    ]


def test_text_mode_note_once_and_singular_counts():
    from tutor.lesson import load

    note = load(lesson_path("single-neuron")).train.note
    assert note
    rc, out, err = run_cli(
        "single-neuron",
        "--headless",
        "--no-derive",
        "--backend",
        "numpy",
        "--backend",
        "autograd",
        timeout=300,
    )
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[3:7] == [
        "Training on points: 1 training sample",
        f"Note: {note}",
        "",
        "numpy on cpu: gd, lr 0.1, 1 step",
    ]
    assert out.count("Note: ") == 1
    assert "autograd on cpu: gd, lr 0.1, 1 step" in lines
    done = [line for line in lines if line.startswith("  done: ")]
    assert len(done) == 2 and all(line.startswith("  done: 1 step in ") for line in done)
    assert "steps " not in out.replace("steps/s", "")


def test_text_mode_plural_counts():
    rc, out, err = run_cli(
        "two-layer-relu",
        "--headless",
        "--no-derive",
        "--backend",
        "numpy",
        "--epochs",
        "2",
        timeout=300,
    )
    assert rc == 0, err
    lines = out.splitlines()
    assert "Training on iris: 50 training samples, 50 validation" in lines
    assert "numpy on cpu: gd, lr 0.0001, 2 steps" in lines
    assert any(line.startswith("  done: 2 steps in ") for line in lines)


def test_json_note_in_the_lesson_event():
    from tutor.lesson import load

    note = load(lesson_path("single-neuron")).train.note
    events = headless_json("single-neuron", "--no-derive", "--backend", "numpy")
    assert events[0] == {
        "event": "lesson",
        "id": "single-neuron",
        "title": "One weight, one step",
        "variant": None,
        "note": note,
    }
    assert events_of(headless_json("vector-derivatives", "--no-train"), "lesson")[0]["note"] is None
