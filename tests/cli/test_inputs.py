"""Files a stranger names (issue 25, item 5): `playground --data`, a lesson's CSV and `--code
ID=FILE` are read only when they are regular files, never past their limit, and a lesson's CSV only
from inside its folder (links resolved). Each case runs the real command and asserts its one line."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.support import HANG_BOUND, parse_json_lines, run_cli

LESSON = """schema = 1
id = "mine"
title = "Mine"

[[explain]]
title = "p"
text = "t"

[train]
backends = ["numpy"]
loss = "bce"
lr = 0.5
epochs = 50

[train.dataset]
kind = "csv"
path = "{path}"

[[train.layers]]
type = "linear"
out = "outputs"
"""
PATH_LINE = LESSON.splitlines().index('path = "{path}"') + 1


def points_csv(rows: int = 100) -> str:
    pts = np.random.RandomState(1).uniform(-1, 1, (rows, 2))
    return "x1,x2,y\n" + "".join(f"{a},{b},{int(a + b > 0)}\n" for a, b in pts)


def lesson_with(folder, path: str):
    f = folder / "mine.toml"
    f.write_text(LESSON.format(path=path))
    return f


def playground_data(path) -> tuple[int, str, str]:
    return run_cli(
        "playground", "--headless", "--epochs", "1", "--data", str(path), timeout=HANG_BOUND
    )


# --- playground --data ---------------------------------------------------------------------------


def test_data_from_dev_zero_is_refused_without_reading_it():
    rc, out, err = playground_data("/dev/zero")
    assert (rc, out, err) == (
        2,
        "",
        "backprop-tutor: /dev/zero:1: not a regular file (a CSV file of points)\n",
    )


@pytest.mark.timeout(HANG_BOUND * 2)
def test_data_from_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "points.csv"
    os.mkfifo(fifo)
    rc, out, err = playground_data(fifo)  # TimeoutExpired (a failure) if it waits on the FIFO
    assert (rc, out, err) == (
        2,
        "",
        f"backprop-tutor: {fifo}:1: not a regular file (a CSV file of points)\n",
    )


def test_data_over_the_limit_is_refused(tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("1,2,0\n" * 350_000)  # 2,100,000 bytes; the limit is 2,000,000
    rc, out, err = playground_data(big)
    assert (rc, out, err) == (
        2,
        "",
        f"backprop-tutor: {big}:1: file is 2.1 MB; the limit is 2 MB\n",
    )


def test_data_through_a_link_to_a_regular_file_is_read(tmp_path):
    (tmp_path / "real.csv").write_text(points_csv())
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    rc, out, err = run_cli(
        "playground", "--headless", "--json", "--epochs", "1", "--data", tmp_path / "link.csv"
    )
    assert rc == 0, err
    assert parse_json_lines(out)[0]["train"] == 50


# --- a lesson's CSV ------------------------------------------------------------------------------


def test_a_lessons_csv_linked_outside_its_folder_is_refused(tmp_path):
    (tmp_path / "outside.csv").write_text(points_csv())
    folder = tmp_path / "lesson"
    folder.mkdir()
    (folder / "points.csv").symlink_to(tmp_path / "outside.csv")
    f = lesson_with(folder, "points.csv")
    expected = f"{f}:{PATH_LINE}: train.dataset.path: the file is a link to a place outside the lesson's folder"
    rc, out, err = run_cli("--check", f)
    assert (rc, out.splitlines()) == (2, [expected])
    rc, out, err = run_cli(f, "--headless", "--no-derive")
    assert (rc, "Traceback" in err) == (2, False)
    assert expected in out + err


def test_a_lessons_csv_linked_to_dev_zero_or_etc_passwd_is_refused(tmp_path):
    for target in ("/dev/zero", "/etc/passwd"):
        link = tmp_path / "points.csv"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        rc, out, err = run_cli("--check", lesson_with(tmp_path, "points.csv"))
        expected = (
            f"{tmp_path / 'mine.toml'}:{PATH_LINE}: train.dataset.path: the file is a link to a place "
            "outside the lesson's folder"
        )
        assert (rc, out.splitlines(), err) == (2, [expected], ""), target


def test_a_lessons_csv_linked_inside_its_folder_is_read(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "points.csv").write_text(points_csv())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").symlink_to("../shared/points.csv")
    f = lesson_with(tmp_path, "data/points.csv")
    assert run_cli("--check", f) == (0, f"{f}: ok\n", "")
    rc, out, err = run_cli(f, "--headless", "--json", "--no-derive")
    assert rc == 0, err
    done = [e for e in parse_json_lines(out) if e["event"] == "done"]
    assert len(done) == 1 and done[0]["val_accuracy"] >= 0.8


@pytest.mark.timeout(HANG_BOUND * 2)
def test_a_lessons_csv_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "points.csv")
    f = lesson_with(tmp_path, "points.csv")
    rc, out, err = run_cli("--check", f, timeout=HANG_BOUND)
    expected = f"{f}:{PATH_LINE}: train.dataset.path: not a regular file (a CSV file of points)"
    assert (rc, out.splitlines(), err) == (2, [expected], "")


def test_a_lessons_csv_over_the_limit_is_refused(tmp_path):
    (tmp_path / "points.csv").write_text("1,2,0\n" * 350_000)
    f = lesson_with(tmp_path, "points.csv")
    rc, out, err = run_cli("--check", f)
    assert (rc, out.splitlines(), err) == (
        2,
        [f"{f}:{PATH_LINE}: train.dataset.path: file is 2.1 MB; the limit is 2 MB"],
        "",
    )


def test_a_link_swapped_in_after_loading_is_refused_when_the_data_is_read(tmp_path):
    """--check looked when the lesson was loaded; the run resolves the path again when it reads."""
    from tutor.lesson import load
    from tutor.train.data import DataError
    from tutor.train.datasets import load as load_data

    (tmp_path / "points.csv").write_text(points_csv())
    lesson = load(lesson_with(tmp_path, "points.csv"))
    (tmp_path / "points.csv").unlink()
    (tmp_path / "points.csv").symlink_to("/etc/passwd")
    with pytest.raises(DataError) as caught:
        load_data(lesson.train.dataset)
    assert (
        str(caught.value)
        == "points.csv:1: the file is a link to a place outside the lesson's folder"
    )


# --- --code ID=FILE ------------------------------------------------------------------------------


@pytest.mark.timeout(HANG_BOUND * 2)
def test_code_from_a_device_or_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "bw.py"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        rc, out, err = run_cli(
            "two-layer-relu", "--code", f"backward={path}", process=True, timeout=HANG_BOUND
        )
        assert (rc, out, err) == (
            2,
            "",
            f"backprop-tutor: {path}: not a regular file (a .py file)\n",
        )


# --- what was typed or read, echoed without terminal escapes (item 6) ------------------------------

OSC52 = "\x1b]52;c;Zm9v\x07"  # "set the clipboard to 'foo'" on many terminals


def test_a_csv_cell_with_an_escape_is_echoed_without_it(tmp_path):
    f = tmp_path / "points.csv"
    f.write_text(f"x1,x2,y\n1,2,0\n3,4{OSC52},1\n")
    rc, out, err = playground_data(f)
    assert (rc, err) == (2, f"backprop-tutor: {f}:3: '4' is not a number\n")


def test_a_lessons_csv_cell_with_an_escape_is_echoed_without_it(tmp_path):
    (tmp_path / "points.csv").write_text(f"x1,x2,y\n1,2,0\n{OSC52}oops,4,1\n")
    rc, out, err = run_cli(
        lesson_with(tmp_path, "points.csv"), "--headless", "--json", "--no-derive"
    )
    assert (rc, err) == (2, "backprop-tutor: points.csv:3: 'oops' is not a number\n")
    assert parse_json_lines(out)[-1] == {
        "event": "error",
        "message": "points.csv:3: 'oops' is not a number",
    }


def test_a_data_file_name_with_an_escape_is_echoed_without_it(tmp_path):
    rc, out, err = playground_data(tmp_path / f"a{OSC52}b.csv")
    assert (rc, err) == (
        2,
        f"backprop-tutor: {tmp_path}/ab.csv:1: cannot read the file: No such file or directory\n",
    )


@pytest.mark.parametrize("command", [("linear-1d",), ("playground", "--headless")])
def test_an_unknown_argument_is_echoed_without_its_escape(command):
    rc, out, err = run_cli(*command, f"extra{OSC52}", process=True)
    assert (
        rc == 2
        and err.splitlines()[-1]
        == f"backprop-tutor{' playground' * (len(command) > 1)}: error: "
        "unrecognized arguments: extra"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((f"x{OSC52}", "--headless"), "unknown lesson 'x'. Known lessons: "),
        (("linear-1d", "--headless", "--backend", f"b{OSC52}"), "unknown backend 'b' (known: "),
        (
            ("two-layer-relu", "--code", f"b{OSC52}=x.py"),
            "lesson two-layer-relu has no code exercise 'b' (its code ",
        ),
        (
            ("two-layer-relu", "--code", f"backward=m{OSC52}.py"),
            "m.py: cannot read the file: No such file or directory",
        ),
        (
            ("derive", f"c{OSC52}=a"),
            "the graph, column 1: expected a node line 'name = expression'",
        ),
    ],
)
def test_a_typed_value_is_echoed_without_its_escape(args, message):
    rc, out, err = run_cli(*args, process=True)
    assert rc == 2 and err.startswith(f"backprop-tutor: {message}"), err
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_typed_answer_with_an_escape_is_echoed_without_it():
    rc, out, err = run_cli("linear-1d", "--answer", f"grad-w=1{OSC52}", process=True)
    assert rc == 1 and out.splitlines()[-1] == (
        "grad-w: not yet. That could not be read: not a valid expression: "
        "invalid non-printable character U+001B (column 2)"
    )
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_data_file_whose_name_has_an_escape_is_named_without_it(tmp_path):
    f = tmp_path / f"a{OSC52}b.csv"
    f.write_text(points_csv())
    rc, out, err = run_cli("playground", "--headless", "--json", "--epochs", "1", "--data", f)
    assert rc == 0, err
    assert parse_json_lines(out)[0]["dataset"] == "ab.csv"
    rc, out, err = run_cli("playground", "--headless", "--epochs", "1", "--data", f)
    assert rc == 0 and out.startswith("Playground: ab.csv, 50 training and 50 test points")
