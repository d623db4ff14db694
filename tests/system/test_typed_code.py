"""Issue 27, item 1: code typed in the editor is on disk however the tutor ends. The tutor runs in
tmux; the learner types a line into the code exercise's editor and the terminal is closed at
once (`tmux kill-session`, as a dropped SSH session): the line is in the file."""

from __future__ import annotations

import os
import shlex
import signal

from tests.support import ROOT, wait_for
from tests.system.test_hangup import gone
from tests.system.test_terminal import Tmux, tutor_command

LINE = "# typed just before the terminal closed"


def test_killing_the_terminal_keeps_the_typed_code(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    pidfile = tmp_path / "pid"
    script = tmp_path / "run.sh"
    script.write_text(
        f"echo $$ > {shlex.quote(str(pidfile))}\nexec {shlex.join(tutor_command())} two-layer-relu\n"
    )
    tmux = Tmux(tmp_path)
    tmux.conf.write_text("set -g status off\nset -g exit-empty off\n")
    pid = 0

    def keys(*k: str) -> None:
        tmux("send-keys", "-t", "t", *k)

    try:
        tmux(
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            "-e",
            f"BACKPROP_TUTOR_HOME={home}",
            "-e",
            f"PYTHONPATH={ROOT}",
            f"sh {shlex.quote(str(script))}",
        )
        assert tmux.wait_screen("Explain", 120), tmux.screen()
        pid = int(pidfile.read_text().strip())
        keys("d")
        assert tmux.wait_screen("Step 1/21", 120), tmux.screen()  # every step derived
        keys("End")
        assert tmux.wait_screen("Step 21/21", 60), tmux.screen()
        for _ in range(3):  # the last step's fourth exercise: backward
            keys("x")
        assert tmux.wait_screen("Exercise backward", 60), tmux.screen()
        keys("a")
        assert tmux.wait_screen("ctrl+r checks it", 60), tmux.screen()
        keys("-l", LINE)
        keys("Enter")
        assert tmux.wait_screen(LINE, 60), tmux.screen()
        tmux("kill-session", "-t", "t")
        assert wait_for(lambda: gone(pid)), "the tutor still runs after its terminal closed"
    finally:
        tmux.kill_server()
        if pid and not gone(pid):
            os.kill(pid, signal.SIGKILL)  # the tutor this test started, by its own pid
    text = (home / "code" / "two-layer-relu" / "backward.py").read_text(encoding="utf-8")
    assert text.startswith(LINE + "\n"), text[:200]
    assert "def backward(x, y, w1, w2):" in text
