"""The learner's progress: which lesson they were in, which parts they saw, which exercises they
solved. Stored as JSON in the user's data directory, written atomically (temporary file, fsync,
rename) so a crash never leaves half a file; a file that cannot be read (not JSON, nested too
deeply, too large, not a regular file) is set aside as a backup with a notice, and the tutor
carries on with a fresh record.

Two tutors may run at once (two terminals): each save takes a lock on a file beside the record,
reads what the other wrote and merges it in (parts seen and exercises solved are united; for
anything else, and for the last lesson, the value this tutor changed since it last read wins).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tutor.fmt import printable

VERSION = 1
NOT_STARTED, IN_PROGRESS, DONE = "not started", "in progress", "done"
MAX_BYTES = 10_000_000  # a progress record is a few kilobytes; anything this big is not one
LOCK_WAIT = 10.0  # seconds a save waits for another tutor's save before going ahead alone
# (a loaded machine's fsync can take seconds; a shorter wait loses updates)
UNITED = ("parts", "solved")  # per-lesson lists that two tutors' saves unite
VERDICTS = "verdicts"  # per lesson: {exercise id: {verdict kind: how many times}} (the kind only, never the text)


def default_path() -> Path:
    override = os.environ.get("BACKPROP_TUTOR_HOME")
    if override:
        return Path(override) / "progress.json"
    import platformdirs

    return Path(platformdirs.user_data_dir("backprop-tutor")) / "progress.json"


# -- a class: one folder per learner under the class directory ----------------------------------

CLASS_ENV = "BACKPROP_TUTOR_CLASS"  # set (by `serve`): the tutor asks the learner's name, progress in this class
NAME_MAX = 40  # characters in a learner's name (after normalising)
LEARNER_FILE = "learner.json"  # beside progress.json in a learner's folder: the name as typed


def default_class_dir() -> Path:
    """`serve` and `class` without a directory: class/ in the user data directory."""
    return default_path().parent / "class"


def learner_name(raw: str) -> str:
    """A learner's name as it is shown: Unicode NFKC, runs of white space as one space. Raises
    ValueError with the reason for a name that is empty, too long or holds control characters."""
    import unicodedata

    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not name:
        raise ValueError("Type your name.")
    if len(name) > NAME_MAX:
        raise ValueError(f"A name has at most {NAME_MAX} characters.")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError("A name cannot hold control characters.")
    return name


def learner_dir(class_dir: Path, name: str) -> Path:
    """The folder of the learner called `name` (see learner_name) inside `class_dir`. The same
    person gets the same folder whatever the case or Unicode form typed; its name is made of
    a-z, 0-9 and '-' only (a readable part, then a hash of the whole name), so no name reaches
    another learner's folder or leaves the class directory."""
    import hashlib
    import re
    import unicodedata

    key = unicodedata.normalize("NFKC", learner_name(name)).casefold()
    key = unicodedata.normalize("NFKC", key)  # casefolding can leave a form NFKC would change
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    plain = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:24].strip("-") or "learner"
    return Path(class_dir) / f"{slug}-{digest}"


def learner_progress(class_dir: Path, name: str) -> Progress:
    """The progress of a learner in a class, their name kept beside it for the teacher's view."""
    folder = learner_dir(class_dir, name)
    progress = Progress(folder / "progress.json")
    label = folder / LEARNER_FILE
    if progress.writable and not label.exists():
        try:
            write_atomic(label, json.dumps({"name": learner_name(name)}, ensure_ascii=False))
        except OSError as exc:
            progress.notice = f"Your name could not be saved in {folder} ({exc.strerror})."
    return progress


def write_atomic(path: Path, text: str) -> None:
    """`text` as the whole of `path`, or the file as it was: a temporary file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _clean_entry(entry: dict) -> dict:
    """Keep what a lesson's record may hold, with the right types; drop the rest."""
    out: dict = {}
    for key in ("parts", "solved"):
        value = entry.get(key)
        if isinstance(value, list):
            out[key] = [v for v in value if isinstance(v, str)]
    if entry.get("done") is True:
        out["done"] = True
    place = _clean_place(entry.get("place"))
    if place:
        out["place"] = place
    verdicts = _clean_verdicts(entry.get(VERDICTS))
    if verdicts:
        out[VERDICTS] = verdicts
    return out


def _clean_verdicts(value) -> dict:
    """{exercise id: {kind: count}} with string keys and counts that are whole numbers ≥ 1."""
    if not isinstance(value, dict):
        return {}
    out: dict = {}
    for ex, kinds in value.items():
        if isinstance(ex, str) and isinstance(kinds, dict):
            counts = {
                k: n
                for k, n in kinds.items()
                if isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) and n > 0
            }
            if counts:
                out[ex] = counts
    return out


def _merge_verdicts(a: dict, b: dict) -> dict:
    """Two tutors' verdict counts: the larger count of each kind (never one attempt counted twice)."""
    out = copy.deepcopy(a)
    for ex, kinds in b.items():
        mine = out.setdefault(ex, {})
        for kind, n in kinds.items():
            mine[kind] = max(mine.get(kind, 0), n)
    return out


def _clean_place(place) -> dict:
    """Where the learner was in a lesson: its part, derivation step and training fields; the Train
    part's backend and variant and the runs kept on its plot."""
    if not isinstance(place, dict):
        return {}
    out: dict = {}
    if isinstance(place.get("part"), str):
        out["part"] = place["part"]
    if (
        isinstance(place.get("step"), int)
        and not isinstance(place["step"], bool)
        and place["step"] >= 0
    ):
        out["step"] = place["step"]
    if isinstance(place.get("train"), dict):
        out["train"] = {
            k: v for k, v in place["train"].items() if isinstance(k, str) and isinstance(v, str)
        }
    for key in (
        "backend",
        "variant",
    ):  # the Train part's drop-downs (the variant's name, "" for none)
        if isinstance(place.get(key), str) and len(place[key]) <= 64:
            out[key] = place[key]
    if isinstance(place.get("kept"), list):  # the runs kept on the plot (o)
        out["kept"] = [k for k in map(_clean_kept, place["kept"][:KEPT_MAX]) if k is not None]
    return out


KEPT_MAX = 6  # runs kept on the plot that a progress record remembers
KEPT_ROWS = 600  # rows of one kept run's loss history (History keeps at most 512)
SETTINGS = {
    "lr": float,
    "momentum": float,
    "epochs": int,
    "hidden": int,
    "seed": int,
    "optimizer": str,
    "device": str,
}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _clean_kept(kept) -> dict | None:
    """A run kept on the plot: its label, backend, variant, settings, how far it went, and its loss
    history's rows ([first step, last step, min, max, last loss, validation loss or None])."""
    if not isinstance(kept, dict):
        return None
    label, backend, variant = kept.get("label"), kept.get("backend"), kept.get("variant", "")
    step, total, rows, settings = (
        kept.get("step"),
        kept.get("total"),
        kept.get("rows"),
        kept.get("settings"),
    )
    if not (
        isinstance(label, str)
        and isinstance(backend, str)
        and isinstance(variant, str)
        and isinstance(step, int)
        and isinstance(total, int)
        and isinstance(rows, list)
        and isinstance(settings, dict)
    ):
        return None
    clean_rows = []
    for row in rows[:KEPT_ROWS]:
        if (
            isinstance(row, list)
            and len(row) == 6
            and all(_number(x) for x in row[:5])
            and (row[5] is None or _number(row[5]))
        ):
            clean_rows.append(row)
    clean_settings = {
        k: v
        for k, v in settings.items()
        if k in SETTINGS and (isinstance(v, str) if SETTINGS[k] is str else _number(v))
    }
    return {
        "label": label[:80],
        "backend": backend,
        "variant": variant,
        "step": step,
        "total": total,
        "settings": clean_settings,
        "rows": clean_rows,
    }


class Unreadable(ValueError):
    """The file at the progress path is not a progress record this tutor can read."""


def read_record(path: Path) -> dict | None:
    """The record at `path`, cleaned; None when there is no file. Raises Unreadable for anything
    that is not a record (also a FIFO or a device, which are never waited on), OSError when the
    file cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("it is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise Unreadable(f"it is over {MAX_BYTES // 1_000_000} MB")
    try:
        data = json.loads(raw.decode("utf-8-sig"))  # a BOM from a Windows editor is fine
    except RecursionError:
        raise Unreadable("it is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
        raise Unreadable("not a progress record")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise Unreadable("its format version is not a number")
    if version > VERSION:
        raise Unreadable(f"written by a newer tutor (format {version})")
    last = data.get("last_lesson")
    return {
        "version": VERSION,
        "last_lesson": last if isinstance(last, str) else None,
        "lessons": {k: _clean_entry(v) for k, v in data["lessons"].items() if isinstance(v, dict)},
    }


def merge(mine: dict, base: dict, theirs: dict) -> dict:
    """This tutor's record (`mine`, which was `base` when last read or written) merged with the one
    on disk now (`theirs`): a lesson's seen parts and solved exercises are united and `done` stays
    done; every other value is this tutor's where it changed it since `base`, else the disk's."""
    out = {
        k: (v if v != base.get(k) else theirs.get(k, v)) for k, v in mine.items() if k != "lessons"
    }
    lessons = {}
    for lid in {**theirs["lessons"], **mine["lessons"]}:
        m, t = mine["lessons"].get(lid), theirs["lessons"].get(lid)
        if m is None or t is None:
            lessons[lid] = copy.deepcopy(m if t is None else t)
            continue
        newer, older = (m, t) if m != base["lessons"].get(lid) else (t, m)
        entry = copy.deepcopy(newer)
        for key, value in older.items():
            if key not in entry:
                entry[key] = copy.deepcopy(value)
            elif key in UNITED and isinstance(value, list) and isinstance(entry[key], list):
                entry[key] += [v for v in value if v not in entry[key]]
            elif key == "done" and value is True:
                entry[key] = True
            elif key == VERDICTS and isinstance(value, dict) and isinstance(entry[key], dict):
                entry[key] = _merge_verdicts(entry[key], value)
        lessons[lid] = entry
    out["lessons"] = lessons
    return out


class Progress:
    def __init__(self, path: Path | None = None, saved: bool = True):
        """`saved=False`: a record in memory only, never read nor written (a served tutor before
        the learner gives their name)."""
        self.path = path or default_path()
        self.notice = ""  # what the learner should be told, once
        self.data: dict[str, Any] = {"version": VERSION, "last_lesson": None, "lessons": {}}
        self.writable = saved
        self._lock = threading.Lock()  # guards self.data
        self._write_lock = threading.Lock()  # one write at a time, each with the newest data
        if saved:
            self._load()
        self._base = copy.deepcopy(
            self.data
        )  # the record as last read or written: what changed since

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    # -- reading ------------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            record = read_record(self.path)
        except OSError as exc:
            self.notice = (
                f"Progress could not be read ({exc.strerror}); starting afresh for this session."
            )
            self.writable = False
            return
        except Unreadable as exc:
            backup = self._backup()
            self.notice = printable(
                f"Your progress file could not be read ({exc}). It was kept as {backup.name} "
                f"and a fresh one started."
            )
            return
        if record is not None:
            self.data = record

    def _backup(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"progress.unreadable-{stamp}.json")
        n = 1
        while backup.exists():  # never overwrite an earlier backup
            n += 1
            backup = self.path.with_name(f"progress.unreadable-{stamp}-{n}.json")
        try:
            os.replace(self.path, backup)
        except OSError:
            self.writable = False
        return backup

    def state(self, lesson_id: str, exercises: int = 0) -> str:
        entry = self.data["lessons"].get(lesson_id)
        if not entry:
            return NOT_STARTED
        solved = len(entry.get("solved", []))
        if entry.get("done") or (exercises and solved >= exercises):
            return DONE
        return IN_PROGRESS

    def solved(self, lesson_id: str) -> list[str]:
        return list(self.data["lessons"].get(lesson_id, {}).get("solved", []))

    def place(self, lesson_id: str) -> dict:
        """Where the learner was in the lesson (see `_clean_place`), for resuming exactly there."""
        with self._lock:
            return dict(self.data["lessons"].get(lesson_id, {}).get("place", {}))

    @property
    def last_lesson(self) -> str | None:
        return self.data.get("last_lesson")

    # -- writing ------------------------------------------------------------------------------

    def visit(self, lesson_id: str, part: str | None = None) -> None:
        with self._lock:
            entry = self.data["lessons"].setdefault(lesson_id, {})
            if part:
                parts = entry.setdefault("parts", [])
                if part not in parts:
                    parts.append(part)
            self.data["last_lesson"] = lesson_id
        self.save()

    def remember(self, lesson_id: str, **place) -> None:
        """Note where the learner is (part=, step=, train=); None forgets a key. Kept in memory and
        written with the next save (every visit, solved exercise and quit)."""
        with self._lock:
            entry = self.data["lessons"].setdefault(lesson_id, {})
            merged = {**entry.get("place", {}), **place}
            entry["place"] = _clean_place({k: v for k, v in merged.items() if v is not None})

    def solve(self, lesson_id: str, exercise_id: str, total: int) -> None:
        with self._lock:
            entry = self.data["lessons"].setdefault(lesson_id, {})
            solved = entry.setdefault("solved", [])
            if exercise_id not in solved:
                solved.append(exercise_id)
            if total and len(solved) >= total:
                entry["done"] = True
        self.save()

    def record(self, lesson_id: str, exercise_id: str, kind: str) -> None:
        """Count one checked answer by its verdict's kind ("correct", "sign", "transposed", ...):
        the teacher's view names the slips made most often. Written with the next save."""
        with self._lock:
            entry = self.data["lessons"].setdefault(lesson_id, {})
            kinds = entry.setdefault(VERDICTS, {}).setdefault(exercise_id, {})
            kinds[kind] = kinds.get(kind, 0) + 1
        self.save()

    def save(self, timeout: float | None = None) -> None:
        """Atomic: another tutor writing at the same time leaves one whole file, never a mix, and
        neither loses the other's progress. With a `timeout`, a save that waits longer than that
        for another thread's save gives up (the exit watchdog must never block)."""
        if not self.writable:
            return
        # Taking the snapshot inside the write lock keeps an older snapshot from being renamed
        # over a newer one when two threads save at once.
        if not self._write_lock.acquire(timeout=-1 if timeout is None else timeout):
            return
        try:
            self._write(LOCK_WAIT if timeout is None else min(timeout, LOCK_WAIT))
        finally:
            self._write_lock.release()

    def _write(self, lock_wait: float) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock(lock_wait):
                try:
                    theirs = read_record(self.path)
                except (OSError, Unreadable):
                    theirs = None  # nothing to merge: this save replaces it
                with self._lock:
                    if theirs is not None:
                        self.data = merge(self.data, self._base, theirs)
                    payload = json.dumps(self.data, indent=1, sort_keys=True)
                    written = copy.deepcopy(self.data)
                fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=self.path.parent)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as f:
                        f.write(payload)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):  # the temporary file, if it is still there
                        os.unlink(tmp)
                    raise
                self._base = written
        except OSError as exc:
            self.writable = False
            self.notice = f"Progress cannot be saved in {self.path.parent} ({exc.strerror}); it lasts this session only."

    @contextmanager
    def _file_lock(self, wait: float):
        """An exclusive lock on `progress.json.lock` among tutors, for up to `wait` seconds; after
        that (another tutor stuck mid-save) or where locks are not supported, the save goes ahead
        alone: the rename still keeps the file whole."""
        try:
            import fcntl

            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except (ImportError, OSError):
            yield
            return
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                except OSError:
                    break
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
