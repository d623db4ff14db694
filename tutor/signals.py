"""Ending a foreground run cleanly on a hangup or a kill: one definition for the code check's child
and the data-parallel workers, so every way out runs the caller's cleanup."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """While it is held (from the main thread), SIGHUP and SIGTERM end the program by SystemExit,
    as ctrl+c's KeyboardInterrupt does, so that the caller's `finally` kills its children's process
    group and removes their folder; the previous handlers come back after."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    sigs = [getattr(signal, n) for n in ("SIGHUP", "SIGTERM") if hasattr(signal, n)]
    main = threading.current_thread() is threading.main_thread()
    before = {sig: signal.signal(sig, leave) for sig in sigs} if main else {}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
