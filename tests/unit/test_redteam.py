"""The red team's findings (issue 21), each as a class: small lesson files within the documented
limits that used to give tracebacks, hangs or runaway memory, files that are not files, and
lesson strings that carried terminal escapes. Every case asserts the exact `FILE:LINE: KEY:
message` that `--check` prints, or that what `--check` accepts runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import LESSONS_DIR, lesson_path
from tutor.cli import check_file
from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.lesson import MAX_INT, loads

HEAD = """schema = 1
id = "{id}"
title = "Red team"
order = 5

[[explain]]
title = "Page"
text = "Text."

[train]
backends = ["numpy"]
loss = "mse"
lr = 0.01
epochs = 5
"""


ONE_LAYER = """
[[train.layers]]
type = "linear"
out = 1
"""


POINTS = """
[train.dataset]
kind = "points"
x = [1.0, 2.0, 3.0]
y = [2.0, 4.0, 6.0]
"""


def write(tmp_path, text: str, lesson_id: str = "red") -> str:
    path = tmp_path / f"{lesson_id}.toml"
    path.write_text(HEAD.format(id=lesson_id) + text, encoding="utf-8")
    return str(path)


def line_of(path: str, start: str) -> int:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return 1 + next(i for i, line in enumerate(lines) if line.startswith(start))


def problems(path: str) -> list[str]:
    return [str(p) for p in check_file(path)]


def test_the_base_lesson_is_sound(tmp_path):
    assert problems(write(tmp_path, POINTS + ONE_LAYER)) == []


@pytest.mark.parametrize("digits", [400, 4_000, 5_000, 100_000])
def test_an_integer_of_hundreds_to_thousands_of_digits(tmp_path, digits):
    """Over 308 digits overflowed a float; over 4,300 tomllib itself refused with a ValueError."""
    path = write(tmp_path, POINTS + ONE_LAYER)
    text = (
        Path(path)
        .read_text(encoding="utf-8")
        .replace("order = 5", "order = 1" + "0" * (digits - 1))
    )
    Path(path).write_text(text, encoding="utf-8")
    assert problems(path) == [
        f"{path}:4: order: an integer of {digits:,} digits; integers stay within ±{MAX_INT:,}"
    ]


def test_a_huge_integer_inside_an_array(tmp_path):
    path = write(
        tmp_path, POINTS.replace("x = [1.0, 2.0, 3.0]", "x = [1, " + "9" * 400 + ", 3]") + ONE_LAYER
    )
    assert problems(path) == [
        f"{path}:{line_of(path, 'x =')}: train.dataset.x[1]: an integer of 400 digits; "
        f"integers stay within ±{MAX_INT:,}"
    ]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1" + "0" * 400 + ".0"])
def test_a_number_that_is_not_finite_inside_an_array(tmp_path, value):
    path = write(
        tmp_path, POINTS.replace("y = [2.0, 4.0, 6.0]", f"y = [2.0, {value}, 6.0]") + ONE_LAYER
    )
    assert problems(path) == [
        f"{path}:{line_of(path, 'y =')}: train.dataset.y[1]: expected a finite number"
    ]


def expect(tmp_path, body: str, start: str, key: str, message: str) -> None:
    path = write(tmp_path, body)
    assert problems(path) == [f"{path}:{line_of(path, start)}: {key}: {message}"]


def test_ragged_rows(tmp_path):
    expect(
        tmp_path,
        POINTS.replace("x = [1.0, 2.0, 3.0]", "x = [[1.0, 2.0], [3.0], [4.0, 5.0]]") + ONE_LAYER,
        "x =",
        "train.dataset.x[1]",
        "rows must be equally long: row 0 has 2 numbers, row 1 has 1",
    )


def test_rows_mixed_with_numbers(tmp_path):
    expect(
        tmp_path,
        POINTS.replace("x = [1.0, 2.0, 3.0]", "x = [[1.0], 2.0, 3.0]") + ONE_LAYER,
        "x =",
        "train.dataset.x",
        "expected a list of numbers, or a list of rows of numbers (not a mix)",
    )


def test_rows_of_rows(tmp_path):
    expect(
        tmp_path,
        POINTS.replace("x = [1.0, 2.0, 3.0]", "x = [[[1.0]], [[2.0]], [[3.0]]]") + ONE_LAYER,
        "x =",
        "train.dataset.x[0][0]",
        "expected a number, found an array",
    )


def test_a_weight_of_the_wrong_size(tmp_path):
    expect(
        tmp_path,
        POINTS + ONE_LAYER + "weight = [[1.0, 2.0]]\n",
        "weight =",
        "train.layers[0].weight",
        "the weight is 1 × 2; this layer takes 1 inputs to 1 outputs, so it needs 1 × 1",
    )


def test_a_flat_weight_of_the_wrong_size(tmp_path):
    expect(
        tmp_path,
        POINTS + ONE_LAYER + "weight = [1.0, 2.0, 3.0]\n",
        "weight =",
        "train.layers[0].weight",
        "the weight is 3 numbers; this layer takes 1 inputs to 1 outputs, so it needs 1 × 1",
    )


def test_a_bias_of_the_wrong_size(tmp_path):
    expect(
        tmp_path,
        POINTS + ONE_LAYER + "bias_init = [1.0, 2.0]\n",
        "bias_init =",
        "train.layers[0].bias_init",
        "the bias has 2 numbers; this layer has 1 outputs",
    )


def test_a_weight_on_a_hidden_layer(tmp_path):
    body = POINTS + ONE_LAYER.replace("out = 1", 'out = "hidden"') + "weight = [[1.0, 2.0]]\n"
    expect(
        tmp_path,
        body.replace("[train.dataset]", "hidden = 2\n\n[train.dataset]"),
        "weight =",
        "train.layers[0].weight",
        "an explicit weight needs fixed sizes, and a learner can change 'hidden'",
    )


def test_a_weight_that_does_not_fit_a_variants_dataset(tmp_path):
    body = (
        POINTS
        + ONE_LAYER
        + "weight = [[1.0]]\n"
        + '\n[[variants]]\nname = "wide"\n\n[variants.dataset]\nkind = "points"\nx = [[1.0, 2.0]]\ny = [1.0]\n'
    )
    expect(
        tmp_path,
        body,
        "[variants.dataset]",
        "variants[0].dataset",
        "on this dataset, layer 0: the weight is 1 × 1; this layer takes 2 inputs to 1 outputs, so it needs 2 × 1",
    )


def test_a_probe_wider_than_the_data(tmp_path):
    body = POINTS + ONE_LAYER
    expect(
        tmp_path,
        body.replace("[train.dataset]", "probe = [5.0, [1.0, 2.0]]\n\n[train.dataset]"),
        "probe =",
        "train.probe[1]",
        "a probe has 2 inputs, but the data has 1 input columns",
    )


def test_a_probe_row_of_rows(tmp_path):
    body = POINTS + ONE_LAYER
    expect(
        tmp_path,
        body.replace("[train.dataset]", "probe = [[[1.0]]]\n\n[train.dataset]"),
        "probe =",
        "train.probe",
        "up to ten inputs (numbers, or rows of numbers)",
    )


def test_validation_rows_of_another_width(tmp_path):
    body = POINTS + "x_val = [[1.0, 2.0]]\ny_val = [1.0]\n" + ONE_LAYER
    expect(tmp_path, body, "x_val =", "train.dataset.x_val", "'x_val' has 2 columns and 'x' has 1")


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
@pytest.mark.parametrize("kind", ["synthetic-linear", "iris", "digits"])
def test_a_dataset_seed_outside_numpys_range(tmp_path, seed, kind):
    extra = "w = [1.0]\n" if kind == "synthetic-linear" else ""
    body = f'\n[train.dataset]\nkind = "{kind}"\n{extra}seed = {seed}\n' + ONE_LAYER
    expect(tmp_path, body, "seed =", "train.dataset.seed", "a seed is within 0..4294967295")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("noise", "1e308", "1e+308 is outside ±1e+12"),
        ("noise", "-0.5", "noise is a standard deviation, at least 0"),
        ("b", "-1e300", "-1e+300 is outside ±1e+12"),
    ],
)
def test_synthetic_recipe_numbers(tmp_path, key, value, message):
    body = f'\n[train.dataset]\nkind = "synthetic-linear"\nw = [1.0]\n{key} = {value}\n' + ONE_LAYER
    body = body.replace("[train.dataset]", 'baseline = "sklearn-linear"\n\n[train.dataset]')
    expect(tmp_path, body, f"{key} =", f"train.dataset.{key}", message)


def test_two_layers_with_the_same_name(tmp_path):
    body = POINTS + ONE_LAYER + 'name = "w"\n' + ONE_LAYER.replace("out = 1", 'out = 1\nname = "w"')
    path = write(tmp_path, body)
    second = [
        i + 1
        for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines())
        if line == 'name = "w"'
    ][1]
    assert problems(path) == [
        f"{path}:{second}: train.layers[1].name: 'w' is already the name of a parameter of "
        "layer 0: every weight and bias needs its own name"
    ]


def test_a_default_name_taken_by_another_layer(tmp_path):
    body = POINTS + ONE_LAYER + 'name = "W2"\n' + ONE_LAYER
    path = write(tmp_path, body)
    second = [
        i + 1
        for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines())
        if line == "[[train.layers]]"
    ][1]
    assert problems(path) == [
        f"{path}:{second}: train.layers[1].name: 'W2' is already the name of a parameter of "
        "layer 0: every weight and bias needs its own name"
    ]


def test_a_classifier_baseline_on_regression_data(tmp_path):
    body = (
        POINTS.replace("[train.dataset]", 'baseline = "sklearn-mlp"\n\n[train.dataset]') + ONE_LAYER
    )
    expect(
        tmp_path,
        body,
        "baseline =",
        "train.baseline",
        "the baseline 'sklearn-mlp' is a classifier, and 'points' has no classes (classes: digits, mnist, "
        "python-names)",
    )


@pytest.mark.timeout(20)  # the old pattern took 12.6 s for 3 KB and over 120 s for 30 KB
@pytest.mark.parametrize("width", [3_000, 30_000, 900_000])
def test_a_line_of_brackets_and_spaces_inside_an_array(tmp_path, width):
    body = POINTS + ONE_LAYER.replace("out = 1", 'out = "many"')
    body = body.replace(
        "x = [1.0, 2.0, 3.0]", "x = [\n[" + " " * width + "1.0,\n2.0], [3.0, 4.0], [5.0, 6.0]]"
    )
    expect(
        tmp_path,
        body,
        'out = "many"',
        "train.layers[0].out",
        "expected a size, 'hidden' or 'outputs'",
    )


def test_a_row_inside_a_multi_line_array_is_not_a_table_header(tmp_path):
    body = (
        POINTS.replace("x = [1.0, 2.0, 3.0]", "x = [\n  [1.0],\n  [2.0],\n  [3.0]\n]") + ONE_LAYER
    )
    expect(
        tmp_path,
        body.replace("out = 1", "out = 0"),
        "out = 0",
        "train.layers[0].out",
        "a layer of 0 units is outside 1..4096",
    )


def test_a_synthetic_set_of_many_samples_and_features(tmp_path):
    body = (
        '\n[train.dataset]\nkind = "synthetic-linear"\nn = 100000\nfeatures = 1000\ntrain = 80000\nw = ['
        + ", ".join(["1.0"] * 1000)
        + "]\n"
        + ONE_LAYER
    )
    expect(
        tmp_path,
        body,
        "[train.dataset]",
        "train.dataset",
        "100,000 samples × 1,001 values each (the inputs and every layer's outputs) is 100,100,000; "
        "the limit is 25,000,000",
    )


def test_one_wide_point_into_a_wide_layer(tmp_path):
    """The size check used to assume one input: 30,000 features into 4,096 units passed."""
    body = (
        '\n[train.dataset]\nkind = "points"\nx = [['
        + ", ".join(["0.0"] * 30_000)
        + "]]\ny = [1.0]\n"
        + ONE_LAYER.replace("out = 1", "out = 4096")
    )
    expect(
        tmp_path,
        body,
        "[[train.layers]]",
        "train.layers",
        "the model would have 122,884,096 weights; the limit is 20,000,000",
    )


def test_many_samples_through_two_wide_layers(tmp_path):
    body = (
        '\n[train.dataset]\nkind = "synthetic-linear"\nn = 100000\ntrain = 80000\nw = [1.0]\n'
        + ONE_LAYER.replace("out = 1", "out = 4096")
        + '\n[[train.layers]]\ntype = "relu"\n'
        + ONE_LAYER.replace("out = 1", "out = 4096")
    )
    expect(
        tmp_path,
        body,
        "[train.dataset]",
        "train.dataset",
        "100,000 samples × 12,289 values each (the inputs and every layer's outputs) is 1,228,900,000; "
        "the limit is 25,000,000",
    )


def test_a_variants_dataset_is_bounded_too(tmp_path):
    body = (
        POINTS
        + ONE_LAYER.replace("out = 1", "out = 4096")
        + ONE_LAYER
        + '\n[[variants]]\nname = "big"\n\n[variants.dataset]\nkind = "synthetic-linear"\nn = 10000\n'
        "train = 8000\nw = [1.0]\n"
    )
    expect(
        tmp_path,
        body,
        "[variants.dataset]",
        "variants[0].dataset",
        "10,000 samples × 4,098 values each (the inputs and every layer's outputs) is 40,980,000; "
        "the limit is 25,000,000",
    )


def test_a_file_that_grows_past_the_limit_is_cut_off_while_reading(tmp_path, monkeypatch):
    """The size is enforced on the bytes read, not on what stat said before reading."""
    import tutor.lesson.files

    path = write(tmp_path, POINTS + ONE_LAYER)
    monkeypatch.setattr(tutor.lesson.loading, "MAX_FILE_BYTES", 100)  # the file is over 100 bytes
    real_fstat = os.fstat
    monkeypatch.setattr(
        tutor.lesson.files.os,
        "fstat",
        lambda fd: os.stat_result((*real_fstat(fd)[:6], 0, *real_fstat(fd)[7:])),
    )
    assert problems(path) == [f"{path}: (file): file is over 0.0001 MB; the limit is 0.0001 MB"]


HOSTILE = r"Hi\u001b]0;PWNED\u0007 \u001b]52;c;Y2xpcA==\u001b\\there\u001b[2J\u009b31m\u0007\r"


def test_lesson_strings_lose_escapes_and_control_characters():
    text = (
        lesson_path("linear-1d")
        .read_text(encoding="utf-8")
        .replace('title = "', f'title = "{HOSTILE} ', 1)
    )
    lesson = loads(text, "linear-1d.toml")
    assert lesson.title.startswith("Hi there31m ")


def test_printable_keeps_newlines_tabs_and_unicode():
    assert printable("a\n\tb ∂L/∂w ✓") == "a\n\tb ∂L/∂w ✓"
    assert (
        printable("\x1b[31mred\x1b[0m\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x7f\x85") == "redlink"
    )


def test_an_id_that_is_not_the_file_name(tmp_path):
    text = lesson_path("two-layer-relu").read_text(encoding="utf-8")
    path = tmp_path / "stranger.toml"
    path.write_text(text, encoding="utf-8")
    assert problems(str(path)) == [
        f"{path}:{line_of(str(path), 'id =')}: id: the id 'two-layer-relu' must equal "
        "the file name without .toml ('stranger')"
    ]


def test_every_shipped_lesson_is_named_after_its_id():
    for path in sorted(LESSONS_DIR.glob("*.toml")):
        assert check_file(str(path), derivation=False) == (), path


def test_a_progress_file_nested_100000_deep_is_set_aside_once(tmp_path):
    from tutor.progress import Progress

    path = tmp_path / "progress.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    first = Progress(path)
    assert first.notice.startswith(
        "Your progress file could not be read (it is nested too deeply). It was kept as "
    )
    first.visit("linear-1d", "explain")
    later = Progress(path)  # the next start reads the fresh record
    assert later.notice == "" and later.last_lesson == "linear-1d"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("what", ["fifo", "directory"])
def test_a_progress_path_that_is_not_a_file_is_set_aside_without_waiting(tmp_path, what):
    from tutor.progress import Progress

    path = tmp_path / "progress.json"
    os.mkfifo(path) if what == "fifo" else path.mkdir()
    progress = Progress(path)  # a FIFO used to block here for good
    assert progress.notice.startswith(
        "Your progress file could not be read (it is not a regular file). "
    )
    progress.visit("linear-1d", "derive")
    assert json.loads(path.read_text(encoding="utf-8"))["lessons"] == {
        "linear-1d": {"parts": ["derive"]}
    }


def test_a_progress_file_with_a_byte_order_mark_is_read(tmp_path):
    from tutor.progress import Progress

    path = tmp_path / "progress.json"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(
            {
                "version": 1,
                "last_lesson": "linear-1d",
                "lessons": {"linear-1d": {"parts": ["train"]}},
            }
        ).encode()
    )
    progress = Progress(path)
    assert progress.notice == "" and progress.last_lesson == "linear-1d"
    assert progress.data["lessons"] == {"linear-1d": {"parts": ["train"]}}
    assert list(tmp_path.glob("progress.unreadable-*")) == []


def test_two_tutors_at_once_keep_both_learners_updates(tmp_path):
    """Two tutors opened on the same record, each saving in turn: nothing either did is lost."""
    from tutor.progress import Progress

    path = tmp_path / "progress.json"
    Progress(path).visit("linear-1d", "explain")
    a, b = Progress(path), Progress(path)
    a.visit("linear-1d", "derive")
    b.visit("linear-1d", "train")
    b.solve("single-neuron", "dw", 2)
    a.solve("single-neuron", "db", 2)
    a.visit("two-layer-relu", "explain")  # a's last lesson, then b saves without moving
    b.solve("linear-1d", "grad", 3)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["lessons"] == {
        "linear-1d": {"parts": ["explain", "train", "derive"], "solved": ["grad"]},
        "single-neuron": {"solved": ["db", "dw"]},  # two of two: done, by count
        "two-layer-relu": {"parts": ["explain"]},
    }
    assert data["last_lesson"] == "two-layer-relu"
    assert b.last_lesson == "two-layer-relu" and b.state("single-neuron", 2) == "done"


def test_a_learners_hidden_size_is_bounded_as_a_lesson_files_is():
    """--hidden and the Train field can ask for 4,096 hidden units: on MNIST that is samples ×
    widths beyond the bound a lesson file gets, so it is refused with the same kind of message."""
    from tutor.lesson import load
    from tutor.train.spec import resolve

    lesson = load(LESSONS_DIR / "mlp-digits.toml")
    mnist = lesson.variant("mnist")
    with pytest.raises(LessonError) as info:
        resolve(lesson, "numpy", mnist, hidden=4096)
    assert info.value.key == "hidden"
    assert info.value.message.startswith("4096 hidden units is too many here: ")
    assert "the limit is 25,000,000" in info.value.message
    assert resolve(lesson, "numpy", mnist, hidden=50).hidden == 50
