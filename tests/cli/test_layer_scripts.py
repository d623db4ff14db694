"""Issue 26, part 1: every kind of the layer table, in a model of its own, trains on every backend,
and the exported script of each backend prints the headless run's losses (1e-6 relative)."""

from __future__ import annotations

import pytest

from tests.cli.layer_lessons import BACKENDS, points_lesson
from tests.cli.test_code_export import agrees, headless_losses, run_scripts
from tutor.code.export import export
from tutor.lesson import load
from tutor.train.layers import LAYERS


def lesson_with(kind: str, directory):
    path = directory / f"layer-{kind.replace('_', '-')}.toml"
    layer = {"type": kind, **({"p": 0.3} if LAYERS[kind].random else {})}
    if kind == "embedding":  # whole numbers 0..4 pick rows of a 5 × 4 table
        path.write_text(
            points_lesson(
                path.stem,
                [
                    {"type": kind, "vocab": 5, "out": 4},
                    {"type": "tanh"},
                    {"type": "linear", "out": "outputs"},
                ],
                x=[[0], [1], [2], [3], [4], [1], [2], [0]],
            )
        )
        return load(path)
    if LAYERS[kind].skip:  # z1 → tanh → + z1
        path.write_text(
            points_lesson(
                path.stem,
                [
                    {"type": "linear", "out": 4},
                    {"type": "tanh"},
                    {"type": kind, "from": 0},
                    {"type": "linear", "out": "outputs"},
                ],
            )
        )
        return load(path)
    path.write_text(
        points_lesson(
            path.stem, [{"type": "linear", "out": 4}, layer, {"type": "linear", "out": "outputs"}]
        )
    )
    return load(path)


@pytest.mark.parametrize("kind", [k for k in LAYERS if k != "linear"])
def test_each_layer_kinds_scripts_reproduce_the_headless_losses(kind, tmp_path):
    lesson = lesson_with(kind, tmp_path)
    scripts = {b.replace("-", "_"): export(lesson, b).text for b in BACKENDS}
    printed = run_scripts(scripts, tmp_path)
    runs = {b: headless_losses(lesson, b, lesson.train.epochs) for b in BACKENDS}
    assert len(runs["numpy"]) == 6  # 3 epochs of 2 batches
    for backend in BACKENDS:
        agrees(printed[backend.replace("-", "_")], runs[backend])
        agrees(runs[backend], runs["numpy"])  # float64: every backend computes the same run
