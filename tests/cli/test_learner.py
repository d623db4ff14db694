"""Issue 20: the TUI as a learner meets it. Each test presses the keys a learner would and reads
the screen as drawn (every character of it), not the widgets' state alone."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT


def _cli(*args: str, encoding: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_headless_text_on_a_latin1_stdout_falls_back_to_ascii():
    run = _cli("single-neuron", "--headless", encoding="latin-1")
    assert run.returncode == 0, run.stderr.decode("latin-1")[-2000:]
    out = run.stdout.decode("ascii")  # nothing but ASCII: no UnicodeEncodeError, no '?'
    assert "Traceback" not in run.stderr.decode("latin-1")
    assert "dL/dw at the point = -2.0" in out and "step      1  epoch    1  loss 1.0" in out
    ascii_run = _cli("single-neuron", "--headless", "--ascii", encoding="utf-8").stdout.decode(
        "ascii"
    )

    def timeless(text: str) -> list[str]:  # the speed lines differ from run to run
        return [line for line in text.splitlines() if "steps/s" not in line]

    assert timeless(out) == timeless(ascii_run)


def test_headless_text_names_the_variant_and_shows_its_line_not_the_lessons_note():
    run = _cli(
        "single-neuron",
        "--headless",
        "--no-derive",
        "--variant",
        "forget-zero-grad",
        encoding="utf-8",
    )
    out = run.stdout.decode("utf-8")
    assert run.returncode == 0
    assert out.startswith("One weight, one step  [single-neuron, variant forget-zero-grad]\n")
    assert (
        "Note: Without zero_grad, w.grad keeps every old gradient" in out
    )  # the variant's own note
    assert "0.64 after it" not in out  # the lesson's note is about its own run
