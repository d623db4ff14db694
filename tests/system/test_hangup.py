"""A closed terminal always ends the tutor (issue 21, finding 8): the tutor runs in a tmux session
on a long training run, and `tmux kill-session` (standing in for a dropped SSH session) closes
its terminal mid-run, 20 times. Each time the process must be gone (within HANG_BOUND seconds).

Before the fix, 2 of 11 such closes left the tutor running for good: its main thread blocked in
Textual's `WriterThread.stop()` once the terminal was gone. HANG_BOUND is a bound for a hang,
not a timing: a clean exit takes a fraction of a second, the exit watchdog fires after
`tutor.cli.common.EXIT_GRACE` (1.5 s) at the latest, and bench/bench_exit.py measures it. Each round
costs a start of the tutor (a few seconds, mostly importing torch).
"""

from __future__ import annotations

import os
import shlex
import signal

import psutil
import pytest

from tests.support import HANG_BOUND, ROOT, wait_for
from tests.system.test_terminal import Tmux, long_lesson, tutor_command

ROUNDS = int(os.environ.get("HANGUP_ROUNDS", 20))


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for its parent to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.timeout(ROUNDS * 90)
def test_killing_the_tmux_session_mid_run_always_ends_the_tutor(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    lesson = long_lesson(tmp_path)
    pidfile = tmp_path / "pid"
    script = tmp_path / "run.sh"
    script.write_text(f"echo $$ > {shlex.quote(str(pidfile))}\nexec {shlex.join(tutor_command())} "
                      f"{shlex.quote(str(lesson))}\n")
    tmux = Tmux(tmp_path)
    tmux.conf.write_text("set -g status off\nset -g exit-empty off\n")   # the server outlives each session
    pids: list[int] = []
    try:
        for round_ in range(ROUNDS):
            pidfile.unlink(missing_ok=True)
            tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "-e", f"BACKPROP_TUTOR_HOME={home}",
                 "-e", f"PYTHONPATH={ROOT}",           # this checkout's tutor, whichever one is installed
                 f"sh {shlex.quote(str(script))}")
            assert tmux.wait_screen("Explain", 60), tmux.screen()
            pid = int(pidfile.read_text().strip())
            pids.append(pid)
            tmux("send-keys", "-t", "t", "t")
            assert tmux.wait_screen("Press space", 60), tmux.screen()
            tmux("send-keys", "-t", "t", "Space")
            assert tmux.wait_screen("steps/s", 30), f"round {round_}: the run did not start\n{tmux.screen()}"
            assert not gone(pid)
            tmux("kill-session", "-t", "t")
            assert wait_for(lambda: gone(pid)), (
                f"round {round_}: the tutor (pid {pid}) still runs {HANG_BOUND:.0f} s after its terminal closed")
    finally:
        tmux.kill_server()
        for pid in pids:                                  # only the tutors this test started
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert len(pids) == ROUNDS
