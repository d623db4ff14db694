"""What every command shares: the argument parser that ends a --json run with an error event, and
the way the TUI is run (and the process ended) whichever command starts it."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time


class Parser(argparse.ArgumentParser):
    """argparse, plus the JSON error event for --json runs when the arguments do not parse."""

    json_errors = False

    def error(self, message):
        if self.json_errors:
            from tutor.headless import Printer

            Printer(sys.stdout, as_json=True, ascii=False).event("error", message=message)
        super().error(message)        # the usage line on stderr, exit 2



def run_app(app) -> int:
    import asyncio

    threading.Thread(target=_exit_watchdog, args=(app,), daemon=True, name="exit-watchdog").start()
    # Not app.run(): asyncio.run() would wait at the end for a worker thread still busy importing
    # torch or rendering with sympy. Those threads own nothing that needs saving.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(app.run_async())
    app.stopping.set()               # from here on, nothing may keep the process alive
    code = app.return_code or 0
    # The terminal is restored and progress saved by now. Skip the interpreter's teardown: with
    # torch and sympy loaded it takes about a second, and a SIGTERM or a dropped SSH session
    # should end the process at once. Training threads check cancellation and have stopped.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass                     # the terminal is gone
    os._exit(code)


EXIT_GRACE = 1.5      # seconds from a signal (or quitting) to the end of the process, at the most


def _exit_watchdog(app) -> None:
    """The process ends when its terminal goes away (a dropped SSH session, a killed tmux
    session), and at most EXIT_GRACE seconds after the app starts to stop, whatever happens.

    A clean exit takes a fraction of that. But once the terminal is gone, Textual's output thread
    dies on its first failed write, and the next writes block the main thread for good in
    `WriterThread.write()`/`stop()` → `queue.put`, deaf to further signals. So: poll the terminal
    for a hang-up (a tty reports POLLHUP once the other side has closed), and when it comes, or
    when the grace time is up, save progress (waiting on nothing for long) and `os._exit`.
    Nothing here writes to the terminal."""
    import select

    gone = select.POLLHUP | select.POLLERR | select.POLLNVAL
    poller = select.poll()
    try:
        poller.register(sys.__stdin__.fileno(), select.POLLHUP)     # POLLIN is not asked for: no input is taken
    except (AttributeError, OSError, ValueError):
        pass                                                         # no terminal: the grace time alone
    deadline = None
    while True:
        hung_up = any(events & gone for _, events in poller.poll(100))
        if deadline is None and app.stopping.is_set():
            deadline = time.monotonic() + EXIT_GRACE
        if hung_up or (deadline is not None and time.monotonic() > deadline):
            break
    if hung_up or not app.progress_saved:
        app.progress.save(timeout=0.5)
    os._exit(0)
