"""The learner's progress: which lesson they were in, which parts they saw, which exercises they
solved. Stored as JSON in the user's data directory, written atomically (temporary file, fsync,
rename) so a crash never leaves half a file; a file that cannot be read is set aside as a
backup with a notice, and the tutor carries on with a fresh record.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

VERSION = 1
NOT_STARTED, IN_PROGRESS, DONE = "not started", "in progress", "done"


def default_path() -> Path:
    override = os.environ.get("BACKPROP_TUTOR_HOME")
    if override:
        return Path(override) / "progress.json"
    import platformdirs

    return Path(platformdirs.user_data_dir("backprop-tutor")) / "progress.json"


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
    return out


def _clean_place(place) -> dict:
    """Where the learner was in a lesson: its part, derivation step and training fields."""
    if not isinstance(place, dict):
        return {}
    out: dict = {}
    if isinstance(place.get("part"), str):
        out["part"] = place["part"]
    if isinstance(place.get("step"), int) and not isinstance(place["step"], bool) and place["step"] >= 0:
        out["step"] = place["step"]
    if isinstance(place.get("train"), dict):
        out["train"] = {k: v for k, v in place["train"].items() if isinstance(k, str) and isinstance(v, str)}
    return out


class Progress:
    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self.notice = ""                  # what the learner should be told, once
        self.data = {"version": VERSION, "last_lesson": None, "lessons": {}}
        self.writable = True
        self._lock = threading.Lock()        # guards self.data
        self._write_lock = threading.Lock()  # one write at a time, each with the newest data
        self._load()

    # -- reading ------------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            raw_bytes = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.notice = f"Progress could not be read ({exc.strerror}); starting afresh for this session."
            self.writable = False
            return
        try:
            data = json.loads(raw_bytes.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
                raise ValueError("not a progress record")
            version = data.get("version")
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError("its format version is not a number")
            if version > VERSION:
                raise ValueError(f"written by a newer tutor (format {version})")
            last = data.get("last_lesson")
            self.data = {"version": VERSION, "last_lesson": last if isinstance(last, str) else None,
                         "lessons": {k: _clean_entry(v) for k, v in data["lessons"].items() if isinstance(v, dict)}}
        except (ValueError, UnicodeDecodeError) as exc:
            backup = self._backup()
            self.notice = (f"Your progress file could not be read ({exc}). It was kept as {backup.name} "
                           f"and a fresh one started.")

    def _backup(self) -> Path:
        stamp = time.strftime('%Y%m%d-%H%M%S')
        backup = self.path.with_name(f"progress.unreadable-{stamp}.json")
        n = 1
        while backup.exists():             # never overwrite an earlier backup
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

    def save(self) -> None:
        """Atomic: another tutor writing at the same time leaves one whole file, never a mix."""
        if not self.writable:
            return
        # Taking the snapshot inside the write lock keeps an older snapshot from being renamed
        # over a newer one when two threads save at once.
        with self._write_lock:
            self._write()

    def _write(self) -> None:
        with self._lock:
            payload = json.dumps(self.data, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(payload)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:
            self.writable = False
            self.notice = f"Progress cannot be saved in {self.path.parent} ({exc.strerror}); it lasts this session only."
