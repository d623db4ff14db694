"""The classroom's core: learners' names → their folders (hostile names included), verdict kinds
recorded in progress (the kind only), and the teacher's table read from a class directory."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import examples, two_layer_relu_lesson
from tutor.progress import (
    NAME_MAX,
    Progress,
    learner_dir,
    learner_name,
    learner_progress,
    read_record,
)

FOLDER = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../..",
        "../../etc/passwd",
        "/",
        "/etc",
        "a/b",
        "a\\b",
        ".",
        "~",
        "$HOME",
        "progress.json",
        " .. ",
        "NUL",
        "con",
        "a/../../b",
        "名前",
        "😀",
    ],
)
def test_a_hostile_name_gets_a_folder_of_its_own_inside_the_class(tmp_path, name):
    classes = tmp_path / "class"
    folder = learner_dir(classes, name)
    assert folder.parent == classes
    assert FOLDER.match(folder.name), folder.name
    progress = learner_progress(classes, name)
    progress.visit("single-neuron", "explain")
    assert files_under(tmp_path) == [
        f"class/{folder.name}/learner.json",
        f"class/{folder.name}/progress.json",
        f"class/{folder.name}/progress.json.lock",
    ]
    assert json.loads((folder / "learner.json").read_text("utf-8")) == {"name": learner_name(name)}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "Type your name."),
        ("   \t ", "Type your name."),
        ("x" * (NAME_MAX + 1), f"A name has at most {NAME_MAX} characters."),
        ("a" * 10_000, f"A name has at most {NAME_MAX} characters."),
        ("ana\x00", "A name cannot hold control characters."),
        ("ana\x1b[31m", "A name cannot hold control characters."),
        ("\u202eevil", "A name cannot hold control characters."),
    ],
)
def test_an_empty_long_or_control_name_is_refused_with_its_reason(tmp_path, raw, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        learner_name(raw)
    with pytest.raises(ValueError, match=re.escape(why)):
        learner_dir(tmp_path, raw)


def test_the_same_person_whatever_the_case_width_or_unicode_form_gets_the_same_folder(tmp_path):
    same = ["Zoë Ana", "zoë ana", "ZOË ANA", "Zoe\u0308 Ana", "  Zoë   Ana ", "Ｚｏë Ａｎａ"]
    assert len({learner_dir(tmp_path, n) for n in same}) == 1
    assert learner_dir(tmp_path, "Straße") == learner_dir(tmp_path, "STRASSE")
    # names whose readable parts agree are still different learners
    different = ["ana", "aná", "a b", "a-b", "a_b", "a.b", "ana1", "ana 1"]
    assert len({learner_dir(tmp_path, n) for n in different}) == len(different)


def test_a_learner_resumes_from_their_own_file(tmp_path):
    first = learner_progress(tmp_path, "Ana")
    first.remember("two-layer-relu", part="derive", step=7)
    first.visit("two-layer-relu", "derive")
    first.solve("two-layer-relu", "grad-w1", 6)
    learner_progress(tmp_path, "Bob").visit("single-neuron", "explain")
    again = learner_progress(tmp_path, "ANA")
    assert again.place("two-layer-relu") == {"part": "derive", "step": 7}
    assert again.solved("two-layer-relu") == ["grad-w1"]
    assert again.last_lesson == "two-layer-relu"


@settings(max_examples=examples(5), deadline=None, derandomize=True, database=None)
@given(st.text(min_size=1, max_size=NAME_MAX))
def test_any_name_maps_inside_the_class_deterministically(tmp_path_factory, raw):
    root = tmp_path_factory.getbasetemp() / "any-name"
    try:
        name = learner_name(raw)
    except ValueError:
        return
    folder = learner_dir(root, raw)
    assert folder.parent == root and FOLDER.match(folder.name) and len(folder.name) <= 41
    assert (
        folder
        == learner_dir(root, name)
        == learner_dir(root, name.upper())
        == learner_dir(root, name.lower())
    )
    assert folder == learner_dir(root, unicodedata.normalize("NFD", name))


def test_verdict_kinds_are_recorded_never_the_answer(tmp_path):
    from tutor.exercises import check_answer
    from tutor.exercises.verdict import KINDS

    lesson = two_layer_relu_lesson()
    answers = {
        "-2*(z2-y)*w2*x*step(z1)": "sign",
        "(z2-y)*w2*x*step(z1)": "dropped-constant",
        "2*(z2-y)*x*step(z1)": "missing-factor",
        "2*(z2-y)*w2*x": "missing-factor",
        "2*(z2-": "unreadable",
        "2*(z2-y)*w1*x*step(z1)": "swapped-name",
        "2*(z2-y)*w2*x*step(z1)": "correct",
    }
    progress = Progress(tmp_path / "progress.json")
    for answer, kind in answers.items():
        verdict = check_answer(lesson, "grad-w1", answer)
        assert verdict.kind == kind, answer
        assert kind in KINDS
        progress.record(lesson.id, "grad-w1", verdict.kind)
    record = read_record(tmp_path / "progress.json")
    assert record["lessons"]["two-layer-relu"]["verdicts"] == {
        "grad-w1": {
            "sign": 1,
            "dropped-constant": 1,
            "missing-factor": 2,
            "unreadable": 1,
            "swapped-name": 1,
            "correct": 1,
        }
    }
    text = (tmp_path / "progress.json").read_text("utf-8")
    assert "z2" not in text and "step(" not in text


def test_two_tutors_verdict_counts_merge_without_counting_twice(tmp_path):
    path = tmp_path / "progress.json"
    a, b = Progress(path), Progress(path)
    a.record("fan-out", "dfdx", "missing-path")
    b.record("fan-out", "dfdx", "sign")
    a.record("fan-out", "dfdx", "missing-path")
    assert read_record(path)["lessons"]["fan-out"]["verdicts"] == {
        "dfdx": {"missing-path": 2, "sign": 1}
    }


def test_a_damaged_verdicts_key_is_cleaned_not_fatal(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "last_lesson": None,
                "lessons": {
                    "fan-out": {
                        "verdicts": {
                            "dfdx": {"sign": 2, "bad": -1, "worse": "x", "bool": True},
                            "gone": [],
                            "7": {},
                        }
                    }
                },
            }
        )
    )
    assert read_record(path)["lessons"]["fan-out"]["verdicts"] == {"dfdx": {"sign": 2}}


def test_the_teacher_table_reads_each_learner_and_names_the_slips(tmp_path):
    from tutor.serve.table import read_class, text

    ana = learner_progress(tmp_path, "Ana")
    ana.visit("two-layer-relu", "explain")
    ana.visit("two-layer-relu", "derive")
    for kind in ("sign", "missing-factor", "correct"):
        ana.record("two-layer-relu", "grad-w1", kind)
    ana.solve("two-layer-relu", "grad-w1", 6)
    bob = learner_progress(tmp_path, "Bob")
    for kind in ("missing-factor", "missing-factor"):
        bob.record("two-layer-relu", "grad-w1", kind)
    (tmp_path / "broken-0123").mkdir()
    (tmp_path / "broken-0123" / "progress.json").write_text("{not json")
    view = read_class(tmp_path)
    assert view.learners == ["Ana", "Bob"]
    assert [(r.learner, r.lesson, r.parts, r.solved, r.total, r.attempts) for r in view.rows] == [
        ("Ana", "two-layer-relu", ("explain", "derive"), 1, 6, 3),
        ("Bob", "two-layer-relu", (), 0, 6, 2),
    ]
    [ex] = view.exercises
    assert (ex.lesson, ex.exercise, ex.solved, ex.tried, ex.attempts, ex.top()) == (
        "two-layer-relu",
        "grad-w1",
        1,
        2,
        5,
        [("missing-factor", 3), ("sign", 1)],
    )
    assert view.unreadable and view.unreadable[0].startswith("broken-0123: ")
    assert text(view).splitlines()[:8] == [
        f"2 learners in {tmp_path}",
        "",
        "learner  lesson          parts seen       exercises  attempts",
        "Ana      two-layer-relu  explain, derive  1/6        3",
        "Bob      two-layer-relu  -                0/6        2",
        "",
        "exercise                solved  attempts  slips named most often",
        "two-layer-relu/grad-w1  1/2     5         missing-factor 3, sign 1",
    ]


def test_a_class_code_is_required_beyond_loopback():
    from tutor.cli.serve import address, class_code, loopback
    from tutor.serve.server import new_code

    assert [
        loopback(h)
        for h in (
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "localhost",
            "0.0.0.0",
            "::",
            "10.0.0.5",
            "example.org",
        )
    ] == [True, True, True, True, False, False, False, False]
    assert class_code("127.0.0.1", None, new_code) is None
    assert class_code("127.0.0.1", " owl42 ", new_code) == "owl42"
    assert class_code("0.0.0.0", "owl42", new_code) == "owl42"
    made = class_code("0.0.0.0", None, new_code)
    assert re.fullmatch(r"[a-hj-km-np-z2-9]{8}", made), made
    assert (
        address("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
        and address("::1", 80) == "http://[::1]:80/"
    )
