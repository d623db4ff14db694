"""Errors the learner is shown in one line are kept, with their traceback, in a log file in the
user's state directory (`backprop-tutor --debug` prints its path). The learner sees a sentence;
whoever fixes the bug gets the traceback.

The file is opened on the first error only: a session without errors never touches the disk.
"""

from __future__ import annotations

import logging
import os
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_BYTES = 1_000_000  # the file is rotated past this size, keeping one older file
_logger = logging.getLogger("backprop-tutor")
_logger.propagate = False  # never onto the terminal the TUI draws on
_lock = threading.Lock()


def log_path() -> Path:
    override = os.environ.get("BACKPROP_TUTOR_STATE")
    if override:
        return Path(override) / "tutor.log"
    import platformdirs

    return Path(platformdirs.user_state_dir("backprop-tutor")) / "tutor.log"


def _handler() -> bool:
    with _lock:
        if _logger.handlers:
            return True
        try:
            path = log_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=1, encoding="utf-8")
        except OSError:  # a read-only home: the learner still sees the message
            _logger.addHandler(logging.NullHandler())
            return False
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        _logger.addHandler(handler)
        _logger.setLevel(logging.INFO)
        return True


def logged(exc: BaseException, where: str) -> str:
    """Write `exc` and its traceback to the log; return the line the learner is shown."""
    _handler()
    _logger.error(
        "%s: %s: %s", where, type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__)
    )
    return f"{type(exc).__name__}: {exc}"
