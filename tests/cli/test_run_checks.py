"""Runs that passed `--check` and then misbehaved (issue 25, item 8): each is now refused by `--check`
with FILE:LINE: KEY (and the headless run says the same line), or it works."""

from __future__ import annotations

import re

import pytest

from tests.support import parse_json_lines, run_cli

LESSON = """schema = 1
id = "{id}"
title = "t"

[[explain]]
title = "p"
text = "t"

[train]
backends = ["numpy", "autograd"]
loss = "{loss}"
lr = 0.1
epochs = 3

[train.dataset]
{dataset}

[[train.layers]]
type = "linear"
out = {out}
{more}"""
POINTS = 'kind = "points"\nx = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]\ny = [0.0, 1.0, 1.0, 0.0]'


def lesson(
    tmp_path, loss: str, dataset: str = POINTS, out: str = '"outputs"', more: str = ""
) -> tuple[str, str]:
    """(the file, its text)."""
    text = LESSON.format(id="mine", loss=loss, dataset=dataset, out=out, more=more)
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return str(path), text


def line_of(text: str, start: str, after: str = "") -> int:
    """The line number of the first line that starts with `start` (after the line `after`)."""
    lines = text.splitlines()
    begin = lines.index(after) if after else 0
    return next(i for i, line in enumerate(lines) if i >= begin and line.startswith(start)) + 1


def refused(path: str, expected: str) -> None:
    """--check prints `expected` alone; the headless run stops before training with the same line."""
    assert run_cli("--check", path) == (2, expected + "\n", "")
    rc, out, err = run_cli(path, "--headless", "--no-derive")
    assert (rc, out, err) == (2, "", f"backprop-tutor: {expected}\n")


CE = (
    "takes class labels (whole numbers, the index of each sample's class), and a '{kind}' dataset has targets, "
    "not classes (datasets with classes: digits, mnist, python-names); for two classes labelled 0/1, use loss = "
    '"bce"'
)


@pytest.mark.parametrize("loss", ["ce", "nll", "ce-sum"])
def test_a_class_loss_on_points_is_refused(tmp_path, loss):
    path, text = lesson(tmp_path, loss)
    refused(
        path,
        f'{path}:{line_of(text, "loss =")}: train.loss: loss = "{loss}" '
        + CE.format(kind="points"),
    )


@pytest.mark.parametrize("kind", ["circle", "plane"])
def test_a_class_loss_on_a_plane_dataset_is_refused(tmp_path, kind):
    path, text = lesson(tmp_path, "ce", dataset=f'kind = "{kind}"')
    refused(
        path, f'{path}:{line_of(text, "loss =")}: train.loss: loss = "ce" ' + CE.format(kind=kind)
    )


def test_a_variant_that_switches_to_a_class_loss_is_refused(tmp_path):
    path, text = lesson(tmp_path, "bce", more='\n[[variants]]\nname = "ce"\nloss = "ce"\n')
    line = line_of(text, "loss =", after="[[variants]]")
    refused(
        path,
        f'{path}:{line}: variants[0].loss: on this dataset, loss = "ce" '
        + CE.format(kind="points"),
    )


def test_an_output_wider_than_the_target_is_refused(tmp_path):
    path, text = lesson(tmp_path, "mse", out="3")
    refused(
        path,
        f"{path}:{line_of(text, 'out =')}: train.layers[0].out: the model ends in 3 outputs, and the data "
        'has 1 target column: the last linear layer needs out = 1 (or "outputs")',
    )


def test_a_class_loss_needs_one_output_per_class(tmp_path):
    path, text = lesson(tmp_path, "ce", dataset='kind = "digits"', out="3")
    refused(
        path,
        f"{path}:{line_of(text, 'out =')}: train.layers[0].out: the model ends in 3 outputs, and digits "
        'has 10 classes: the last linear layer needs out = 10 (or "outputs")',
    )


def test_bce_on_points_without_a_validation_set_runs_and_shows_the_training_accuracy(tmp_path):
    path, _ = lesson(tmp_path, "bce")
    assert run_cli("--check", path) == (0, f"{path}: ok\n", "")
    rc, out, err = run_cli(path, "--headless", "--no-derive")
    assert (rc, "Traceback" in err) == (0, False), err
    steps = [line for line in out.splitlines() if line.startswith("  step ")]
    assert len(steps) == 6 and all(
        re.search(r"  loss \S+  acc \d\.\d{3}  ", line) for line in steps
    ), steps
    done = [line for line in out.splitlines() if line.startswith("  done: ")]
    assert len(done) == 2 and all(
        re.search(r"final loss \S+, accuracy \d\.\d{3}$", line) for line in done
    ), done
    rc, out, err = run_cli(path, "--headless", "--no-derive", "--json")
    finals = [e for e in parse_json_lines(out) if e["event"] == "done"]
    assert (
        rc == 0
        and [(e["val_accuracy"], 0 <= e["accuracy"] <= 1) for e in finals] == [(None, True)] * 2
    )
