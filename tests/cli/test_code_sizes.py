"""Issue 25, item 3: a code exercise is checked at small sizes whatever the lesson's, as `--check`
checks the derivation: a correct solution passes for a lesson whose layers are 1000×200 and for
one whose layers are 10,000 wide, and only small arrays cross between the processes."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_code_exercise import CORRECT
from tutor.cli import main
from tutor.code.check import CHECK_SIZES, small
from tutor.code.template import CodeTask
from tutor.lesson import catalogue

DIMS = "[graph.dims]\nN = 50\nD = 2\nH = 100\nK = 2\n"


@pytest.mark.parametrize(
    "sizes",
    [(1000, 1000, 200, 10), (10_000, 10_000, 10_000, 10_000)],
    ids=["1000x200", "10000-wide"],
)
def test_a_correct_solution_passes_at_any_lesson_size(sizes, tmp_path, capsys):
    text = next(i.path for i in catalogue() if i.id == "two-layer-relu").read_text()
    assert DIMS in text
    lesson = tmp_path / "two-layer-relu.toml"
    lesson.write_text(
        text.replace(
            DIMS,
            "[graph.dims]\n" + "".join(f"{d} = {n}\n" for d, n in zip("NDHK", sizes, strict=False)),
        )
    )
    solution = tmp_path / "backward.py"
    solution.write_text(CORRECT)
    assert main(["--check", str(lesson)]) == 0
    capsys.readouterr()
    assert main([str(lesson), "--code", f"backward={solution}", "--json"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["ok"] is True and event["error"] is None
    shapes = [tuple(o["shape"]) for o in event["outputs"]]
    assert shapes == [(4, 5), (5, 3)]  # D × H and H × K at N = 6, D = 4, H = 5, K = 3
    assert all(n <= max(CHECK_SIZES) for s in shapes for n in s)
    assert main([str(lesson), "--code", f"backward={solution}"]) == 0
    out = capsys.readouterr().out
    assert "read sizes from .shape, never the lesson's numbers" in out
    assert out.endswith(
        "backward: correct: every gradient matches the tutor's on 4 random draws.\n"
    )


def test_check_sizes_are_distinct_and_keep_small_dimensions():
    task = CodeTask(
        "l", "e", "backward", ("x",), ("w",), {}, {"N": 64, "D": 64, "K": 2, "one": 1, "H": 3}
    )
    assert small(task).dims == {"N": 6, "D": 4, "K": 2, "one": 1, "H": 3}
