"""Issue 26: `--check` on the new [train] keys and losses: each mistake is one FILE:LINE: KEY: message
line and exit status 2; the settings it accepts reach the run."""

from __future__ import annotations

import pytest

from tests.cli.layer_lessons import points_lesson
from tutor.cli import main
from tutor.lesson import load
from tutor.train.spec import resolve

NET = [{"type": "linear", "out": "outputs"}]
BAD = {  # [train] settings → (key, message)
    "foreign-schedule-key": (
        {"schedule": "linear", "decay_steps": 5, "step_size": 3},
        (
            "train.step_size",
            "'step_size' belongs to schedule = 'step'; this run's schedule is 'linear'",
        ),
    ),
    "missing-decay-steps": (
        {"schedule": "cosine"},
        ("train.decay_steps", "required key is missing"),
    ),
    "unknown-schedule": (
        {"schedule": "exponential"},
        ("train.schedule", "'exponential' is not one of: constant, step, linear, cosine"),
    ),
    "warmup-of-one": (
        {"warmup": 1},
        ("train.warmup", "a warm-up of 1 step starts at the full lr: use 0 (none) or at least 2"),
    ),
    "weight-decay-without-adamw": (
        {"weight_decay": 0.1},
        (
            "train.weight_decay",
            "'weight_decay' is AdamW's decoupled decay: use optimizer = "
            '"adamw", or l2 for a penalty in the loss',
        ),
    ),
    "negative-l2": ({"l2": -0.1}, ("train.l2", "-0.1 is below the minimum 0")),
    "zero-clip": (
        {"clip": 0},
        ("train.clip", "must be above 0: a norm of 0 would stop every update"),
    ),
    "gamma-above-one": (
        {"schedule": "step", "step_size": 2, "gamma": 2},
        ("train.gamma", "2 is above the limit 1"),
    ),
    "hinge-without-classes": (
        {"loss": "hinge"},
        (
            "train.loss",
            'loss = "hinge" takes class labels (whole numbers, the index of each '
            "sample's class), and a 'points' dataset has targets, not classes "
            "(datasets with classes: digits, mnist, python-names); for two classes "
            'labelled 0/1, use loss = "bce"',
        ),
    ),
    "max-margin-on-two-outputs": (
        {"loss": "max-margin"},
        (
            "train.loss",
            "the loss 'max-margin' scores two classes on one output (labels 0 "
            "and 1), and 'points' has 2 outputs",
        ),
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_mistake_is_one_located_line(case, tmp_path, capsys):
    settings, (key, message) = BAD[case]
    path = tmp_path / f"{case}.toml"
    text = points_lesson(case, NET, settings)
    path.write_text(text)
    assert main(["--check", str(path)]) == 2
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert len(lines) == 1, lines
    where, _, said = lines[0].partition(f": {key}: ")
    assert said == message
    line = int(where.rsplit(":", 1)[1])
    name = key.split(".")[-1]
    shown = text.splitlines()[line - 1]
    assert shown.startswith(f"{name} =") or shown == "[train]", shown


def test_the_settings_reach_the_run(tmp_path):
    settings = {
        "optimizer": "adamw",
        "weight_decay": 0.2,
        "schedule": "step",
        "step_size": 4,
        "gamma": 0.5,
        "warmup": 3,
        "clip": 2.0,
        "l2": 0.01,
        "l1": 0.001,
    }
    path = tmp_path / "settings.toml"
    path.write_text(points_lesson("settings", NET, settings))
    spec = resolve(load(path), "numpy")
    assert {k: getattr(spec, k) for k in settings} == settings
    assert (spec.decay_steps, spec.lr_end) == (
        1,
        0.0,
    )  # another schedule's keys keep their defaults


RESIDUAL = {  # the residual layer's `from` → the message at its line
    2: "'from' names layer 2, which is not before this one (layer 2)",
    1: None,
    0: "layer 0 gives 4 values and this layer's input has 3: a residual connection adds two of the same width",
}


@pytest.mark.parametrize("source", list(RESIDUAL))
def test_a_residual_connection_adds_an_earlier_output_of_its_width(source, tmp_path, capsys):
    layers = [
        {"type": "linear", "out": 4},
        {"type": "linear", "out": 3},
        {"type": "residual", "from": source},
        {"type": "linear", "out": "outputs"},
    ]
    path = tmp_path / f"residual-{source}.toml"
    text = points_lesson(path.stem, layers)
    path.write_text(text)
    rc = main(["--check", str(path)])
    out = capsys.readouterr()
    if RESIDUAL[source] is None:
        assert rc == 0 and out.out.strip() == f"{path}: ok"
        return
    assert rc == 2
    where, _, said = (out.out + out.err).strip().partition(": train.layers[2].from: ")
    assert said == RESIDUAL[source]
    assert text.splitlines()[int(where.rsplit(":", 1)[1]) - 1] == f"from = {source}"


EMBEDDING = {  # (layers, x) → (key, message)
    "not-first": (
        [{"type": "linear", "out": 2}, {"type": "embedding", "vocab": 4, "out": 2}],
        [[0], [1]],
        ("train.layers[1].type", "an embedding takes the model's input, so it is the first layer"),
    ),
    "out-of-range": (
        [{"type": "embedding", "vocab": 4, "out": 2}, {"type": "linear", "out": "outputs"}],
        [[0], [4]],
        ("train.layers[0].vocab", "x[1] is 4: an embedding's inputs are whole numbers within 0..3"),
    ),
    "not-whole": (
        [{"type": "embedding", "vocab": 4, "out": 2}, {"type": "linear", "out": "outputs"}],
        [[0], [1.5]],
        (
            "train.layers[0].vocab",
            "x[1] is 1.5: an embedding's inputs are whole numbers within 0..3",
        ),
    ),
    "context-out-of-range": (
        [{"type": "embedding", "vocab": 4, "out": 2}, {"type": "linear", "out": "outputs"}],
        [[0, 1], [2, 5]],
        (
            "train.layers[0].vocab",
            "x[1] is [2, 5]: an embedding's inputs are whole numbers within 0..3",
        ),
    ),
}


@pytest.mark.parametrize("case", list(EMBEDDING))
def test_an_embedding_reads_whole_numbers_as_its_first_layer(case, tmp_path, capsys):
    layers, x, (key, message) = EMBEDDING[case]
    path = tmp_path / f"embedding-{case}.toml"
    path.write_text(points_lesson(path.stem, layers, samples=2, x=x))
    assert main(["--check", str(path)]) == 2
    out = capsys.readouterr()
    assert (out.out + out.err).strip().partition(f": {key}: ")[2] == message


def test_points_with_classes_take_whole_number_labels(tmp_path, capsys):
    path = tmp_path / "points-classes.toml"
    data = {"kind": "points", "classes": 3, "x": [[0.5, 1.0], [1.5, -1.0]], "y": [0, 3]}
    path.write_text(points_lesson(path.stem, NET, {"loss": "ce"}, dataset=data))
    assert main(["--check", str(path)]) == 2
    out = capsys.readouterr()
    assert (out.out + out.err).strip().partition(": train.dataset.y: ")[
        2
    ] == "y[1] is 3: with classes = 3 each label is one whole number within 0..2"
    data["y"] = [0, 2]
    path.write_text(points_lesson(path.stem, NET, {"loss": "ce"}, dataset=data))
    assert main(["--check", str(path)]) == 0
    spec = resolve(load(path), "numpy")
    assert spec.loss == "ce"


def test_a_variant_changes_the_weight_decay_and_clipping(tmp_path, capsys):
    path = tmp_path / "decay-variant.toml"
    text = (
        points_lesson(path.stem, NET, {"l2": 0.01})
        + '\n[[variants]]\nname = "no-decay"\nl2 = 0.0\nclip = 1.5\n'
    )
    path.write_text(text)
    lesson = load(path)
    plain, varied = resolve(lesson, "numpy"), resolve(lesson, "numpy", lesson.variant("no-decay"))
    assert (plain.l2, plain.clip, varied.l2, varied.clip) == (0.01, None, 0.0, 1.5)
    path.write_text(text.replace("clip = 1.5", "clip = 0"))
    assert main(["--check", str(path)]) == 2
    out = capsys.readouterr()
    assert (
        (out.out + out.err)
        .strip()
        .endswith(": variants[0].clip: must be above 0: a norm of 0 would stop every update")
    )
