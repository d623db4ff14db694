"""`backprop-tutor class DIR`: the teacher's table as text, CSV and JSON against a class directory
made here; `backprop-tutor serve`'s refusals of bad arguments."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support import run_cli
from tutor.progress import learner_dir, learner_progress


@pytest.fixture
def classroom(tmp_path):
    """Two learners: Ana saw Explain and Derive of two-layer-relu, slipped twice on grad-w1 and
    solved it; "=cmd|Bob" (a name a spreadsheet would run) answered grad-w1 wrong twice and
    opened single-neuron."""
    ana = learner_progress(tmp_path, "Ana")
    ana.visit("two-layer-relu", "explain")
    ana.visit("two-layer-relu", "derive")
    for kind in ("sign", "missing-factor", "correct"):
        ana.record("two-layer-relu", "grad-w1", kind)
    ana.solve("two-layer-relu", "grad-w1", 6)
    bob = learner_progress(tmp_path, "=cmd|Bob")
    bob.record("two-layer-relu", "grad-w1", "missing-factor")
    bob.record("two-layer-relu", "grad-w1", "missing-factor")
    bob.visit("single-neuron", "explain")
    return tmp_path


def test_the_table_as_text(classroom):
    rc, out, err = run_cli("class", classroom, "--text")
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        f"2 learners in {classroom}",
        "",
        "learner   lesson          parts seen       exercises  attempts",
        "=cmd|Bob  single-neuron   explain          0/3        0",
        "=cmd|Bob  two-layer-relu  -                0/6        2",
        "Ana       two-layer-relu  explain, derive  1/6        3",
        "",
        "exercise                solved  attempts  slips named most often",
        "two-layer-relu/grad-w1  1/2     5         missing-factor 3, sign 1",
    ]


def test_the_table_as_csv(classroom):
    rc, out, _ = run_cli("class", classroom, "--csv")
    assert rc == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        [
            "kind",
            "learner",
            "lesson",
            "exercise",
            "parts_seen",
            "solved",
            "total",
            "attempts",
            "slips",
        ],
        ["lesson", "'=cmd|Bob", "single-neuron", "", "explain", "0", "3", "0", ""],
        ["lesson", "'=cmd|Bob", "two-layer-relu", "", "", "0", "6", "2", ""],
        ["lesson", "Ana", "two-layer-relu", "", "explain derive", "1", "6", "3", ""],
        ["exercise", "", "two-layer-relu", "grad-w1", "", "1", "2", "5", "missing-factor=3 sign=1"],
    ]


def test_the_table_as_json(classroom):
    rc, out, _ = run_cli("class", classroom, "--json")
    assert rc == 0
    view = json.loads(out)
    assert view["class"] == str(classroom)
    assert view["learners"] == [
        {
            "name": "=cmd|Bob",
            "lessons": [
                {
                    "lesson": "single-neuron",
                    "parts_seen": ["explain"],
                    "solved": 0,
                    "total": 3,
                    "attempts": 0,
                },
                {
                    "lesson": "two-layer-relu",
                    "parts_seen": [],
                    "solved": 0,
                    "total": 6,
                    "attempts": 2,
                },
            ],
        },
        {
            "name": "Ana",
            "lessons": [
                {
                    "lesson": "two-layer-relu",
                    "parts_seen": ["explain", "derive"],
                    "solved": 1,
                    "total": 6,
                    "attempts": 3,
                }
            ],
        },
    ]
    assert view["exercises"] == [
        {
            "lesson": "two-layer-relu",
            "exercise": "grad-w1",
            "solved": 1,
            "tried": 2,
            "attempts": 5,
            "slips": [{"kind": "missing-factor", "count": 3}, {"kind": "sign", "count": 1}],
        }
    ]
    assert view["unreadable"] == []


def test_an_unreadable_record_is_named_and_the_rest_still_shown(classroom):
    (learner_dir(classroom, "Ana") / "progress.json").write_text("{ not json")
    rc, out, _ = run_cli("class", classroom, "--json")
    assert rc == 0
    view = json.loads(out)
    assert [learner["name"] for learner in view["learners"]] == ["=cmd|Bob"]
    [bad] = view["unreadable"]
    assert bad.startswith(f"{learner_dir(classroom, 'Ana').name}: ")


def test_an_empty_class_and_a_missing_one(tmp_path):
    assert run_cli("class", tmp_path, "--text") == (0, f"No learners in {tmp_path} yet.\n", "")
    rc, out, err = run_cli("class", tmp_path / "nope")
    assert (rc, out) == (2, "")
    assert (
        err
        == f"backprop-tutor class: {tmp_path / 'nope'} is not a class directory (no such folder)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port must be within 0..65535, not 70000"),
        (["--max-learners", "0"], "--max-learners must be at least 1"),
        (["--code", " "], "--code must be one printable word of at most 64 characters"),
    ],
)
def test_serve_refuses_bad_arguments_in_one_line(args, message):
    assert run_cli("serve", *args) == (2, "", f"backprop-tutor serve: {message}\n")
