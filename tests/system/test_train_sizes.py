"""Issue 27, items 2, 3 and 7: the Train part at 80×24 and 160×48, in tmux, with keys only. At
80×24 every control is drawn (the variant drop-down with its value) and reachable by keys, the
divergence doctor's whole sentence and its fix can be read, the gradient table scrolls to its last
row, and the footer keeps `? Help`; at 160×48 the layout gives the confusion matrix its room."""

from __future__ import annotations

import re
import shlex

from tests.support import ROOT, events_of, headless_json
from tests.system.test_terminal import Tmux, tutor_command

EDGE = re.compile(r"[\s▁▂▃▄▅▆▇█▏▎▍▌▋▊▉▕]+$")  # a scrollbar at a line's end


def start(tmp_path, lesson: str, width: int, height: int) -> Tmux:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    tmux = Tmux(tmp_path)
    # COLUMNS and LINES (pytest may set them) would override the terminal's size in Textual
    tmux(
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        str(width),
        "-y",
        str(height),
        "-e",
        f"BACKPROP_TUTOR_HOME={home}",
        "-e",
        f"PYTHONPATH={ROOT}",
        shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *tutor_command(), lesson]),
    )
    assert tmux.wait_screen("Explain", 120), tmux.screen()
    return tmux


def visible(tmux: Tmux) -> list[str]:
    return tmux("capture-pane", "-p", "-t", "t").splitlines()


def prose(lines: list[str]) -> str:
    """The screen's lines as one text: scrollbars off, wrapped lines joined by one space."""
    return " ".join(" ".join(EDGE.sub("", line).split()) for line in lines)


def test_train_at_80x24_with_keys_only(tmp_path):
    [done] = events_of(
        headless_json("vanishing-gradients", "--no-derive", "--backend", "numpy"), "done"
    )
    from tutor.train.doctor import one_line

    sentence = one_line(done["diagnosis"])
    assert (
        sentence.startswith("Doctor: the run stalled: vanishing gradients") and " Fix: " in sentence
    )
    tmux = start(tmp_path, "vanishing-gradients", 80, 24)
    keys = lambda *k: tmux("send-keys", "-t", "t", *k)  # noqa: E731
    try:
        assert tmux.pane("#{window_width}x#{window_height}") == "80x24"
        keys("t")
        assert tmux.wait_screen("Press space", 120), tmux.screen()
        assert "variant standard" in tmux.screen()  # the drop-down, drawn with its value
        assert visible(tmux)[-1].rstrip().endswith("? Help")  # the footer keeps the help key
        keys("v")  # the variant drop-down, opened by its key
        assert tmux.wait_screen("Dismiss menu"), tmux.screen()
        keys("Down", "Enter")
        assert tmux.wait_screen("variant relu-he"), tmux.screen()
        assert tmux.wait_screen("numpy (variant relu-he) ready"), tmux.screen()
        keys("v")
        assert tmux.wait_screen("Dismiss menu"), tmux.screen()
        keys("Up", "Enter")  # back to the lesson's own settings
        assert tmux.wait_screen("the lesson's own settings"), tmux.screen()
        assert tmux.wait_screen("numpy ready"), tmux.screen()
        keys("Space")
        assert tmux.wait_screen("· done", 300), tmux.screen()
        assert tmux.wait_screen("Doctor:"), tmux.screen()
        assert sentence in prose(visible(tmux)), tmux.screen()  # the whole sentence, its fix too
        assert not any(line.lstrip().startswith("b7 ") for line in visible(tmux))
        keys("End")  # the view scrolls to the table's last row
        assert tmux.wait_screen(" b7 "), tmux.screen()
        last = [line for line in visible(tmux) if line.lstrip().startswith("b7 ")]
        assert last and "10" in last[0].split(), last  # b7: 10 numbers, its row whole
        assert visible(tmux)[-1].rstrip().endswith("? Help")
    finally:
        tmux.kill_server()


def test_train_at_160x48_shows_the_confusion_matrix(tmp_path):
    tmux = start(tmp_path, "batchnorm-backward", 160, 48)
    keys = lambda *k: tmux("send-keys", "-t", "t", *k)  # noqa: E731
    try:
        assert tmux.pane("#{window_width}x#{window_height}") == "160x48"
        keys("t")
        assert tmux.wait_screen("Press space", 120), tmux.screen()
        keys("Space")
        assert tmux.wait_screen("· done", 300), tmux.screen()
        assert tmux.wait_screen("rows: the true class"), tmux.screen()
        screen = tmux.screen()
        assert "val confusion:" in screen and "widen the window" not in screen
        head = next(
            line
            for line in screen.splitlines()
            if re.search(r"\b0 +1 +2 +3 +4 +5 +6 +7 +8 +9\b", line)
        )
        assert "predicted" in head  # the matrix with its column heading
        assert visible(tmux)[-1].rstrip().endswith("? Help")
    finally:
        tmux.kill_server()
