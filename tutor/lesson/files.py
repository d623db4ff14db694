"""The one way a file a stranger names is read: a lesson, its CSV, `--data`, `--code ID=FILE`.

Only a regular file is read, as the opened descriptor says (a name checked first could be swapped
for a FIFO or /dev/zero before it is opened), the open never waits (O_NONBLOCK: a FIFO with no
writer would hang it), and at most `limit` + 1 bytes are read, whatever stat said: /dev/zero and
/proc files report 0 bytes, and a file may grow while it is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)


class Unreadable(Exception):
    """The file cannot be read as data; the message says why, without the file's name."""


def too_large(size: int | None, limit: int) -> str:
    """'file is 1.2 MB; the limit is 1 MB', or 'file is over 1 MB; …' when the size is not known."""
    said = f"over {limit / 1e6:g}" if size is None else f"{size / 1e6:.1f}"
    return f"file is {said} MB; the limit is {limit / 1e6:g} MB"


def read_regular(path: str | os.PathLike[str], limit: int, hint: str = "") -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, else Unreadable (`hint`
    follows "not a regular file": what the file should be)."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"not a regular file{hint}")
        if info.st_size > limit:
            raise Unreadable(too_large(info.st_size, limit))
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise Unreadable(f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise Unreadable(too_large(None, limit))
    return raw


def inside(folder: str | os.PathLike[str], relative: str) -> Path:
    """`folder`/`relative` with every link resolved, when it lies within `folder` (resolved too);
    else Unreadable. A lesson's data file is one it ships: a link out of its folder (to
    /etc/passwd, to the learner's files) is refused as a '..' would be."""
    root = Path(os.path.realpath(folder))
    target = Path(os.path.realpath(root / relative))
    if target != root and root not in target.parents:
        raise Unreadable("the file is a link to a place outside the lesson's folder")
    return target
