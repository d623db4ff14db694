"""When the exit watchdog ends a tutor whose terminal is still there, the terminal is put back as
it was: on a loaded machine the grace time can run out while Textual is still leaving its
alternate screen (it waits on its input thread first)."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys

from tests.support import ROOT, wait_for

PROBE = """
import sys, termios, types
from tutor.cli.common import _restore_terminal
before = termios.tcgetattr(0)
raw = list(before); raw[3] &= ~termios.ECHO
termios.tcsetattr(0, termios.TCSANOW, raw)                 # as an app leaves it: no echo
_restore_terminal(types.SimpleNamespace(_driver=types.SimpleNamespace(attrs_before=before)))
print("echo", bool(termios.tcgetattr(0)[3] & termios.ECHO), flush=True)
"""


def test_the_watchdog_puts_a_live_terminal_back(tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    os.close(slave)
    out = bytearray()

    def read(seconds: float = 0.0) -> None:
        while select.select([master], [], [], seconds)[0]:
            with contextlib.suppress(OSError):  # EIO: the other side is closed
                data = os.read(master, 65536)
                if data:
                    out.extend(data)
                    continue
            return

    try:
        assert wait_for(lambda: proc.poll() is not None, poll=read)
        read()
    finally:
        os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    assert (
        b"\x1b[?1049l" in out and b"\x1b[?25h" in out and b"\x1b[?1000l" in out
    )  # out of the alternate screen
    assert b"echo True" in out  # the modes as before
