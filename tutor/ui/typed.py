"""What a learner typed and the tutor has not yet written: code files, kept until they are on disk.

The code editor writes its file a moment after typing pauses; until then the text waits here, and
every way out writes it: ctrl+q and the signal handler (TutorApp.save_typed), and the command
line's exit watchdog when the terminal has gone (tutor/cli/common.py). Writes are atomic (a
temporary file renamed over the old one) and serialised by a lock, as the watchdog thread may
write while the app does."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_lock = threading.Lock()


def write_code(path: Path, text: str) -> None:
    """`text` into `path`, atomically: a reader sees the old file or the new one, never half."""
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def write_all(typed: dict[Path, str]) -> None:
    """Write every pending text; one that cannot be written is kept in the error log."""
    from tutor.log import logged

    for path, text in list(typed.items()):
        try:
            write_code(path, text)
        except OSError as exc:
            logged(exc, f"saving typed code to {path}")
            continue
        if typed.get(path) == text:
            typed.pop(path, None)
