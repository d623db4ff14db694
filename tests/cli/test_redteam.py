"""The red team's findings (issue 21), each as a class: small lesson files within the documented
limits that used to give tracebacks, hangs or runaway memory, files that are not files, and
lesson strings that carried terminal escapes. Every case asserts the exact `FILE:LINE: KEY:
message` that `--check` prints, or that what `--check` accepts runs."""

from __future__ import annotations

import os

import pytest

from tests.support import LESSONS_DIR, lesson_path, run_cli
from tests.unit.test_redteam import HOSTILE, problems, write


def test_every_accepted_edge_runs_headless(tmp_path):
    """Rows, explicit weight and bias, validation rows, a probe row, a baseline, numbers at the
    bound: --check says ok, and the headless run finishes (a divergence is reported, not raised)."""
    body = """probe = [[1.0, 2.0]]
baseline = "sklearn-linear"

[train.dataset]
kind = "points"
x = [[1.0, 2.0], [3.0, 4.0], [5.0, 7.0], [1e12, -1e12]]
y = [1.0, 2.0, 3.0, 1e12]
x_val = [[1.0, 1.0]]
y_val = [0.5]

[[train.layers]]
type = "linear"
out = 1
name = "w"
bias_name = "b"
weight = [[0.5], [0.25]]
bias_init = [0.1]
"""
    path = write(tmp_path, body, "edges")
    assert problems(path) == []
    rc, out, err = run_cli(
        path, "--headless", "--backend", "numpy", "--backend", "autograd", timeout=120
    )
    assert "Traceback" not in err, err
    assert rc == 3 and out.count("diverged at step") == 2, (
        out
    )  # 1e12 squared: a reported divergence
    assert "Baseline: LinearRegression" in out


@pytest.mark.timeout(60)
def test_check_refuses_a_fifo_a_device_link_and_a_directory(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.toml"
    zero.symlink_to("/dev/zero")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    rc, out, err = run_cli("--check", fifo, zero, folder, timeout=30)
    assert out.splitlines() == [
        f"{p}: (file): not a regular file (a lesson is a .toml file)" for p in (fifo, zero, folder)
    ]
    assert rc == 2 and "Traceback" not in err


def test_headless_plain_text_and_check_print_no_escapes(tmp_path):
    text = (
        lesson_path("linear-1d")
        .read_text(encoding="utf-8")
        .replace('title = "', f'title = "{HOSTILE} ', 1)
    )
    path = tmp_path / "linear-1d.toml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = run_cli(path, "--headless", "--no-train", "--no-derive", timeout=120)
    assert rc == 0, err
    assert out.startswith("Hi there31m ")
    assert "\x1b" not in out and "\x07" not in out and "PWNED" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '"\\u001b]0;PWNED\\u0007colour" = 1\n' + text.replace('id = "linear-1d"', 'id = "bad"'),
        encoding="utf-8",
    )
    rc, out, err = run_cli("--check", bad, timeout=60)
    assert rc == 2
    # the quoted key's escapes are gone from the message, so its line is not found: the file is named
    assert out.splitlines()[0].startswith(f"{bad}: colour: unknown key (allowed here:")
    assert "\x1b" not in out + err and "PWNED" not in out


def test_list_prints_no_escapes(tmp_path, monkeypatch, capsys):
    import tutor.lesson
    from tutor import cli

    text = (
        lesson_path("linear-1d")
        .read_text(encoding="utf-8")
        .replace('title = "', f'title = "{HOSTILE} ', 1)
    )
    (tmp_path / "linear-1d.toml").write_text(text, encoding="utf-8")
    (tmp_path / "b\x1b]0;X\x07.toml").write_text("broken = [", encoding="utf-8")
    monkeypatch.setattr(tutor.lesson.listing, "lessons_dir", lambda: tmp_path)
    assert cli.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    lines = out.splitlines()
    assert lines[0] == "linear-1d  Hi there31m Gradient descent on y = 2x", lines
    assert lines[1].startswith(
        f"b          b   (broken: {tmp_path}/b.toml: (file): invalid TOML: "
    ), lines


def test_heavy_imports_from_many_threads_at_once_all_succeed():
    """Warm-up, Derive and Train import torch and sympy on three threads at once; through
    tutor.heavy.load every thread gets whole modules (the hang-up test once saw "partially
    initialized module 'torch'"). Run in a fresh interpreter, where nothing is imported yet."""
    import subprocess
    import sys

    code = (
        "import threading, sys; from tutor.heavy import load\n"
        "errors = []\n"
        "def go(names):\n"
        "    try:\n"
        "        load(*names); import torch, sympy; torch.zeros(1); sympy.Symbol('x')\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "ts = [threading.Thread(target=go, args=(n,)) for n in [(), ('sympy', 'torch'), ('torch',), ('sympy',)]]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(errors)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=LESSONS_DIR.parent,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
