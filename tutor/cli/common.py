"""What every command shares: the argument parser that ends a --json run with an error event, the
way an output that cannot be written ends a command, and the way the TUI is run (and the process
ended) whichever command starts it."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from tutor.fmt import printable


class Parser(argparse.ArgumentParser):
    """argparse, plus the JSON error event for --json runs when the arguments do not parse, and
    the arguments it quotes ("unrecognized arguments: …") without terminal escapes."""

    json_errors = False

    def error(self, message):
        message = printable(message)
        if self.json_errors:
            from tutor.headless import Printer

            Printer(sys.stdout, as_json=True, ascii=False).event("error", message=message)
        super().error(message)  # the usage line on stderr, exit 2


class OutputError(BaseException):
    """Standard output cannot be written: a full disk (`> /dev/full`), a closed descriptor (`>&-`),
    a closed pipe (`| head -1`). A BaseException, as KeyboardInterrupt is, so that it passes every
    `except Exception` on the way (a derivation's "failed at this point" among them) to `guarded`."""

    def __init__(self, error: OSError):
        super().__init__(error)
        self.error = error


class _Guarded:
    """sys.stdout as the commands see it: its write and flush raise OutputError, not OSError (nor,
    when the descriptor was closed before the start and Python left sys.stdout None, nothing)."""

    def __init__(self, stream):
        self._stream = stream

    def _call(self, name: str, *args):
        if self._stream is None:
            raise OutputError(OSError(errno.EBADF, "standard output is closed"))
        try:
            return getattr(self._stream, name)(*args)
        except OSError as exc:
            raise OutputError(exc) from None

    def write(self, text: str) -> int:
        return self._call("write", text)

    def flush(self) -> None:
        self._call("flush")

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def guarded(command: Callable[[], int]) -> int:
    """`command()`, whatever it prints: where the output cannot be written, one line on stderr and
    exit status 2, never a traceback; a closed pipe (`| head -1`) ends it quietly with 0."""
    original = sys.stdout
    if original is None:
        _hold_descriptor(1)
    sys.stdout = _Guarded(original)
    try:
        code = command()
        sys.stdout.flush()
        return code
    except OutputError as exc:
        return _output_failed(exc.error, original)
    finally:
        sys.stdout = original


def _output_failed(error: OSError, stream: TextIO | None) -> int:
    if stream is sys.__stdout__ and stream is not None:
        # What is still buffered would be written (and fail again, "Exception ignored …") when the
        # interpreter exits: the descriptor now leads to /dev/null.
        with contextlib.suppress(OSError, ValueError):
            _hold_descriptor(stream.fileno(), always=True)
    if isinstance(error, BrokenPipeError):
        return 0  # the reader has what it wanted: not an error
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(f"backprop-tutor: cannot write the output: {error.strerror or error}\n")
        sys.stderr.flush()
    return 2


def _hold_descriptor(fd: int, always: bool = False) -> None:
    """/dev/null on descriptor `fd` (when it is closed, or `always`): a file the command opens later
    must not take the number of standard output and receive what is meant for it."""
    if not always:
        try:
            os.fstat(fd)
            return
        except OSError:
            pass
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def run_app(app) -> int:
    import asyncio

    threading.Thread(target=_exit_watchdog, args=(app,), daemon=True, name="exit-watchdog").start()
    # Not app.run(): asyncio.run() would wait at the end for a worker thread still busy importing
    # torch or rendering with sympy. Those threads own nothing that needs saving.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(app.run_async())
    app.stopping.set()  # from here on, nothing may keep the process alive
    if not app.progress_saved:  # an exit other than ctrl+q or a signal (a served tab closed)
        app.progress.save(timeout=0.5)
    code = app.return_code or 0
    # The terminal is restored and progress saved by now. Skip the interpreter's teardown: with
    # torch and sympy loaded it takes about a second, and a SIGTERM or a dropped SSH session
    # should end the process at once. Training threads check cancellation and have stopped.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, OutputError):  # the terminal is gone
            stream.flush()
    os._exit(code)


EXIT_GRACE = 1.5  # seconds from a signal (or quitting) to the end of the process, at the most


def _exit_watchdog(app) -> None:
    """The process ends when its terminal goes away (a dropped SSH session, a killed tmux
    session), and at most EXIT_GRACE seconds after the app starts to stop, whatever happens.

    A clean exit takes a fraction of that. But once the terminal is gone, Textual's output thread
    dies on its first failed write, and the next writes block the main thread for good in
    `WriterThread.write()`/`stop()` → `queue.put`, deaf to further signals. So: poll the terminal
    for a hang-up (a tty reports POLLHUP once the other side has closed), and when it comes, or
    when the grace time is up, save progress (waiting on nothing for long) and `os._exit`.
    A terminal that hung up is never written to; one still there, whose restore the grace time
    may have cut short (a loaded machine: Textual waits on its input thread before leaving the
    alternate screen), gets it again from here."""
    import select

    gone = select.POLLHUP | select.POLLERR | select.POLLNVAL
    poller = select.poll()
    stdin = sys.__stdin__
    with contextlib.suppress(
        AttributeError, OSError, ValueError
    ):  # no terminal: the grace time alone
        if stdin is not None:
            poller.register(
                stdin.fileno(), select.POLLHUP
            )  # POLLIN is not asked for: no input is taken
    deadline = None
    while True:
        hung_up = any(events & gone for _, events in poller.poll(100))
        if deadline is None and app.stopping.is_set():
            deadline = time.monotonic() + EXIT_GRACE
        if hung_up or (deadline is not None and time.monotonic() > deadline):
            break
    with contextlib.suppress(Exception):  # code typed in the editor and not yet written
        getattr(app, "save_typed", lambda: None)()
    if hung_up or not app.progress_saved:
        app.progress.save(timeout=0.5)
    if not hung_up:
        _restore_terminal(app)
    os._exit(0)


# What Textual's driver writes when it stops: the Kitty keyboard protocol off, out of the alternate
# screen, the cursor shown, focus reports, the mouse and bracketed paste off, line wrap on.
RESTORE = b"\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?7h"


def _restore_terminal(app) -> None:
    """The terminal as it was before the app: its modes (termios) and the escape sequences above,
    written without blocking. Each is harmless where Textual has already done it."""
    import termios

    stdin, stdout = sys.__stdin__, sys.__stdout__
    with contextlib.suppress(OSError, ValueError, AttributeError, termios.error):
        attrs = getattr(app._driver, "attrs_before", None)
        if attrs is not None and stdin is not None:
            termios.tcsetattr(stdin.fileno(), termios.TCSANOW, attrs)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stdout.fileno() if stdout is not None else -1
        if fd >= 0 and os.isatty(fd):
            os.set_blocking(fd, False)  # a stopped terminal (ctrl+s) must not hold the exit
            os.write(fd, RESTORE)
