"""A closed terminal always ends the tutor (issue 21, finding 8): the tutor runs in a tmux session
on a long training run, and `tmux kill-session` (standing in for a dropped SSH session) closes
its terminal mid-run, 12 times (four at a time; HANGUP_ROUNDS asks for more). Each time the process must be gone (within HANG_BOUND seconds).

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
from pathlib import Path

import psutil
import pytest

from tests.support import HANG_BOUND, ROOT, wait_for
from tests.system.test_terminal import Tmux, long_lesson, tutor_command

ROUNDS = int(os.environ.get("HANGUP_ROUNDS", 12))
BATCH = 4  # tutors killed together


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
    tmux = Tmux(tmp_path)
    tmux.conf.write_text(
        "set -g status off\nset -g exit-empty off\n"
    )  # the server outlives each session

    def screen(name: str) -> str:
        return tmux("capture-pane", "-p", "-S", "-200", "-t", name)

    def start(name: str) -> Path:
        pidfile = tmp_path / f"{name}.pid"
        script = tmp_path / f"{name}.sh"
        script.write_text(
            f"echo $$ > {shlex.quote(str(pidfile))}\nexec {shlex.join(tutor_command())} "
            f"{shlex.quote(str(lesson))}\n"
        )
        tmux(
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            "-e",
            f"BACKPROP_TUTOR_HOME={home}",
            "-e",
            f"PYTHONPATH={ROOT}",  # this checkout's tutor, whichever one is installed
            f"sh {shlex.quote(str(script))}",
        )
        return pidfile

    pids: list[int] = []
    try:
        # the rounds run BATCH at a time, each tutor in its own session: a race in one process
        # does not need the others to be idle, and the test takes a fraction of the time
        for first in range(0, ROUNDS, BATCH):
            names = [f"t{i}" for i in range(first, min(first + BATCH, ROUNDS))]
            pidfiles = {name: start(name) for name in names}
            for name in names:
                assert wait_for(lambda: "Explain" in screen(name), 120), screen(name)
                pids.append(int(pidfiles[name].read_text().strip()))
                tmux("send-keys", "-t", name, "t")
            for name in names:
                assert wait_for(lambda: "Press space" in screen(name), 120), screen(name)
                tmux("send-keys", "-t", name, "Space")
            for name in names:
                assert wait_for(lambda: "steps/s" in screen(name), 60), (
                    f"{name}: the run did not start\n{screen(name)}"
                )
            batch = pids[-len(names) :]
            assert not any(gone(pid) for pid in batch)
            for name in names:
                tmux("kill-session", "-t", name)
            for name, pid in zip(names, batch, strict=False):
                assert wait_for(lambda: gone(pid)), (
                    f"{name}: the tutor (pid {pid}) still runs {HANG_BOUND:.0f} s after its terminal closed"
                )
    finally:
        tmux.kill_server()
        for pid in pids:  # only the tutors this test started
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
    assert len(pids) == ROUNDS
