"""Exercises through the command line: one headless `--answer ID=EXPR --json` run per kind of
answer, with the verdicts the unit tables (tests/unit/test_exercises.py) give in-process."""

from __future__ import annotations

from tests.support import LESSONS_DIR, events_of, parse_json_lines, run_cli
from tests.unit.test_exercises import RELU_FOR_STEP, S_TRANSPOSED


def _answers(lesson_id: str, *pairs: str, expect_rc: int) -> list[dict]:
    args = [lesson_id, "--json"]
    for p in pairs:
        args += ["--answer", p]
    rc, out, err = run_cli(*args, timeout=120)
    assert rc == expect_rc, f"exit status {rc}, expected {expect_rc}\n{err[-2000:]}"
    assert "Traceback" not in err
    events = parse_json_lines(out)
    answers = events_of(events, "answer")
    assert len(answers) == len(pairs)
    for event, pair in zip(answers, pairs, strict=False):
        ex_id, _, answer = pair.partition("=")
        assert event["id"] == ex_id and event["answer"] == answer
        assert isinstance(event["correct"], bool)
        assert isinstance(event["message"], str) and event["message"]
        assert isinstance(event["feedback"], str)
    return answers


def test_headless_derivative():
    [ok] = _answers("two-layer-relu", "grad-w1=2*(z2 - y)*w2*relu'(z1)*x", expect_rc=0)
    assert ok["correct"] is True
    wrong, right, slip = _answers(
        "two-layer-relu",
        "grad-w1=2*(z2 - y)*w2*x",
        "grad-w1=x.T @ (2*(z2 - y) @ w2.T * step(z1))",
        "grad-w1=2*(z2 - y)*w2*relu(z1)*x",
        expect_rc=1,
    )
    assert wrong["correct"] is False
    assert wrong["message"] == "Your answer is missing ∂h1/∂z1 = step(z1)."
    assert wrong["feedback"] == "missing ∂h1/∂z1"
    assert right["correct"] is True
    assert slip["correct"] is False
    assert (slip["message"], slip["feedback"]) == (RELU_FOR_STEP.message, RELU_FOR_STEP.feedback)


def test_headless_value():
    ok, worked = _answers(
        "linear-1d", "first-step=0.30000", "first-step=0 - 0.01*(-30)", expect_rc=0
    )
    assert ok["correct"] is True and ok["message"] == "Correct."
    assert worked["correct"] is True and worked["message"] == "Correct."
    sign, far = _answers("linear-1d", "first-step=-0.3", "first-step=-30", expect_rc=1)
    assert (sign["correct"], sign["message"], sign["feedback"]) == (
        False,
        "Check the sign.",
        "sign",
    )
    assert (far["correct"], far["message"]) == (False, "Not that value.")


def test_headless_shape():
    [ok] = _answers("two-layer-relu", "shape-dw1=D×H", expect_rc=0)
    assert ok["correct"] is True
    [t] = _answers("two-layer-relu", "shape-dw1=H x D", expect_rc=1)
    assert (t["correct"], t["feedback"]) == (False, "transposed")
    assert t["message"] == S_TRANSPOSED.message


def test_headless_choice():
    [ok] = _answers("single-neuron", "why-minus-3-6=d", expect_rc=0)
    assert ok["correct"] is True
    b, d = _answers("single-neuron", "why-minus-3-6=b", "why-minus-3-6=D", expect_rc=1)
    assert (b["correct"], b["message"]) == (
        False,
        "Not that one: after the step the loss fell to 0.64; the second gradient alone is −1.6.",
    )
    assert d["correct"] is True


def test_headless_hostile_answer_runs_nothing(tmp_path):
    rc, out, err = run_cli(
        str(LESSONS_DIR / "single-neuron.toml"),
        "--json",
        "--answer",
        "grad-w=__import__('os').system('touch pwned')",
        timeout=120,
        cwd=tmp_path,
    )
    assert rc == 1
    assert "Traceback" not in err
    [event] = events_of(parse_json_lines(out), "answer")
    assert event["correct"] is False and event["feedback"] == "syntax"
    assert list(tmp_path.iterdir()) == []


def test_headless_unknown_exercise_exits_2():
    rc, out, err = run_cli("linear-1d", "--json", "--answer", "no-such=1", timeout=120)
    assert rc == 2
    assert "no-such" in err and "grad-w" in err
    assert "Traceback" not in err
