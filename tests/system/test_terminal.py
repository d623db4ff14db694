"""The terminal around the tutor: resized to almost nothing and back while a run trains, quit
mid-run, and the real program in a pseudo-terminal ended by SIGTERM (kill) or SIGHUP (an SSH
session dropped): it exits at once with status 0, progress saved, terminal restored."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.support import HANG_BOUND, lesson_path, wait_for

LEAVE_ALT_SCREEN = b"\x1b[?1049l"

CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def tutor_command() -> list[str]:
    script = Path(sys.executable).with_name("backprop-tutor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutor"]


class PtyTutor:
    """`backprop-tutor ARGS` on a 100×30 pseudo-terminal; everything it writes is kept."""

    def __init__(self, home: Path, *args: str):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NO_COLOR", "TEXTUAL", "COLUMNS", "LINES")
        }
        env.update(BACKPROP_TUTOR_HOME=str(home), TERM="xterm-256color", PYTHONIOENCODING="utf-8")
        self.proc = subprocess.Popen(
            tutor_command() + list(args),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=home,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.out = bytearray()
        self.eof = False

    def seen(self, text: bytes, since: int = 0) -> bool:
        """`text` written after offset `since`, reading past escape sequences (colours, moves)."""
        return text in CSI.sub(b"", bytes(self.out[since:]))

    def pump(self, seconds: float, until: bytes | None = None, since: int = 0) -> bool:
        """Read for up to `seconds`; True once `until` has appeared (after offset `since`)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.eof:
            if until is not None and self.seen(until, since):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the other side is closed
                    data = b""
                if not data:
                    self.eof = True
                    break
                self.out.extend(data)
        return until is not None and self.seen(until, since)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self, seconds: float = HANG_BOUND) -> bool:
        """Whether the process ends within `seconds` (a bound for a hang), reading its output meanwhile."""
        return wait_for(lambda: self.proc.poll() is not None, seconds, poll=self.pump)

    def drain(self) -> None:
        """Read what is left once the process has ended, up to the end of its output."""
        self.pump(HANG_BOUND)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.master)


def start_training(tutor: PtyTutor, long_run: bool) -> None:
    assert tutor.pump(60, b"Explain"), f"no lesson screen: {bytes(tutor.out[-2000:])!r}"
    mark = len(tutor.out)
    tutor.send(b"t")
    assert tutor.pump(60, b"Press space", since=mark), (
        f"Train did not get ready: {bytes(tutor.out[-2000:])!r}"
    )
    mark = len(tutor.out)
    tutor.send(b" ")
    wanted = b"steps/s" if long_run else b"done"
    assert tutor.pump(60, wanted, since=mark), (
        f"training did not start: {bytes(tutor.out[-2000:])!r}"
    )
    if long_run:
        assert not tutor.seen(b"\xc2\xb7 done", since=mark), "the long run is still going"


def long_lesson(directory: Path) -> Path:
    """two-layer-relu itself, with 100,000 epochs: the run is still going when the signal comes.
    (The file keeps the lesson's name, as a lesson's id must equal its file name.)"""
    text = lesson_path("two-layer-relu").read_text(encoding="utf-8")
    assert "\nepochs = 50\n" in text
    path = directory / "two-layer-relu.toml"
    path.write_text(text.replace("\nepochs = 50\n", "\nepochs = 100000\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("long_run", [False, True], ids=["after-a-run", "mid-run"])
def test_signal_ends_the_tutor_in_a_pty(tmp_path, signame, long_run):
    home = tmp_path / "home"
    home.mkdir()
    target = str(long_lesson(tmp_path)) if long_run else "two-layer-relu"
    tutor = PtyTutor(home, target)
    try:
        start_training(tutor, long_run)
        assert tutor.proc.poll() is None
        mark = len(tutor.out)
        os.kill(tutor.proc.pid, getattr(signal, signame))
        assert tutor.wait_exit(), (
            "the tutor did not exit after the signal"
        )  # how soon: bench/bench_exit.py
        assert tutor.proc.returncode == 0
        tutor.drain()
        tail = bytes(tutor.out[mark:])
        assert LEAVE_ALT_SCREEN in tail, f"the alternate screen was not left: {tail[-400:]!r}"
        assert tail.rfind(LEAVE_ALT_SCREEN) > tail.rfind(b"\x1b[?1049h"), "left, then re-entered?"
        assert b"\x1b[?25h" in tail, "the cursor is shown again"
        assert f"stopped by {signame}".encode() in tail
        assert b"Traceback" not in tutor.out
    finally:
        tutor.close()
    data = json.loads((home / "progress.json").read_text(encoding="utf-8"))
    assert data["last_lesson"] == "two-layer-relu"
    assert "train" in data["lessons"]["two-layer-relu"]["parts"]
    assert list(home.glob(".progress-*")) == []


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("when", ["lesson-just-opened", "train-loading"])
def test_signal_while_the_tutor_is_busy_loading(tmp_path, signame, when):
    """The signal comes while a thread worker is still busy (sympy rendering the Explain page's
    equations, or torch and scikit-learn loading for Train): the tutor still ends at once."""
    home = tmp_path / "home"
    home.mkdir()
    tutor = PtyTutor(home, "two-layer-relu")
    try:
        assert tutor.pump(60, b"Explain"), f"no lesson screen: {bytes(tutor.out[-2000:])!r}"
        if when == "train-loading":
            mark = len(tutor.out)
            tutor.send(b"t")  # the Train part is drawn at once, its data loads in a thread
            assert tutor.pump(60, b"epochs", since=mark), (
                f"no Train part: {bytes(tutor.out[-2000:])!r}"
            )
        mark = len(tutor.out)
        os.kill(tutor.proc.pid, getattr(signal, signame))
        assert tutor.wait_exit(), (
            "the tutor did not exit after the signal"
        )  # how soon: bench/bench_exit.py
        assert tutor.proc.returncode == 0
        tutor.drain()
        assert LEAVE_ALT_SCREEN in bytes(tutor.out[mark:])
    finally:
        tutor.close()
    data = json.loads((home / "progress.json").read_text(encoding="utf-8"))
    assert data["last_lesson"] == "two-layer-relu"


class Tmux:
    def __init__(self, tmp_path: Path):
        self.socket = f"bpt-test-{os.getpid()}-{time.monotonic_ns()}"
        self.conf = tmp_path / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g status off\n")

    def __call__(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check:
            assert out.returncode == 0, out.stderr
        return out.stdout

    def screen(self) -> str:
        """The pane's text, its scrollback included (the remain-on-exit line scrolls it)."""
        return self("capture-pane", "-p", "-S", "-200", "-t", "t")

    def wait_screen(self, text: str, seconds: float = HANG_BOUND) -> bool:
        return wait_for(lambda: text in self.screen(), seconds, every=0.1)

    def pane(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "t", fmt).strip()

    def kill_server(self) -> None:
        self("kill-server", check=False)


def process_state(pid: int) -> tuple[str, int | None]:
    """('R'/'S'/…, None) while it runs; ('Z', wait status) once it has exited but is not yet
    reaped (tmux reaps when it gets to it); ('gone', None) after."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return "gone", None
    fields = stat[stat.rindex(")") + 2 :].split()
    state = fields[0]
    return state, (int(fields[49]) if state == "Z" and len(fields) > 49 else None)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_ends_the_tutor_in_tmux(tmp_path, signame):
    home = tmp_path / "home"
    home.mkdir()
    pidfile = tmp_path / "pid"
    script = tmp_path / "run.sh"
    script.write_text(
        f"echo $$ > {shlex.quote(str(pidfile))}\nexec {shlex.join(tutor_command())} two-layer-relu\n"
    )
    tmux = Tmux(tmp_path)
    pid = 0
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
            f"sh {shlex.quote(str(script))}",
        )
        assert tmux.wait_screen("Explain", 60), tmux.screen()
        pid = int(pidfile.read_text().strip())
        assert tmux.pane("#{pane_pid}") == str(pid), (
            "the pidfile names the pane's process (the exec'd tutor)"
        )
        tmux("send-keys", "-t", "t", "t")
        assert tmux.wait_screen("Press space", 60), tmux.screen()
        tmux("send-keys", "-t", "t", "Space")
        assert tmux.wait_screen("step 50/50", 30), tmux.screen()
        assert process_state(pid)[0] not in ("Z", "gone")
        os.kill(pid, getattr(signal, signame))
        exited = wait_for(
            lambda: process_state(pid)[0] in ("Z", "gone")
        )  # how soon: bench/bench_exit.py
        state, wait_status = process_state(pid)
        assert exited and state in ("Z", "gone"), "the tutor did not exit"
        if wait_status is None:  # tmux reaped it first: it knows the status
            wait_for(lambda: tmux.pane("#{pane_dead_status}") != "")
            assert tmux.pane("#{pane_dead_status}") == "0"
        else:
            assert wait_status == 0, f"wait status {wait_status:#x} (signal {wait_status & 0x7F})"
        screen = tmux.screen()
        assert f"backprop-tutor: stopped by {signame}" in screen, screen
        assert "Traceback" not in screen
    finally:
        tmux.kill_server()
        if pid and process_state(pid)[0] not in ("Z", "gone"):
            os.kill(pid, signal.SIGKILL)  # the tutor this test started, by its own pid
    data = json.loads((home / "progress.json").read_text(encoding="utf-8"))
    assert data["last_lesson"] == "two-layer-relu"
    assert "train" in data["lessons"]["two-layer-relu"]["parts"]
