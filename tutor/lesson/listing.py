"""Finding the shipped lessons and listing them without building derivations or trainers.

The listing is kept in the cache directory (JSON, keyed by every shipped file's name, size and
mtime and by the code that reads them), so the lesson list at start-up parses no TOML and imports
no parser: reading twenty lessons was a tenth of the tutor's start. A stale, corrupt or tampered
entry is rebuilt; the worst it can do is list wrong text, never run code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.lesson.vocabulary import GROUPS

CACHE_FORMAT = 1


def lessons_dir() -> Path:
    """The shipped lessons: inside the package when installed from a wheel, else the repository's."""
    here = Path(__file__).resolve().parents[1]  # tutor/
    packaged = here / "lessons"
    return packaged if packaged.is_dir() else here.parent / "lessons"


def lesson_paths() -> list[Path]:
    return sorted(lessons_dir().glob("*.toml"))


@dataclass(frozen=True)
class Listing:
    """What the lesson list shows, read without building derivations or trainers."""

    id: str
    title: str
    summary: str
    order: int
    path: Path
    exercises: int
    error: str | None = None
    parts: tuple[str, ...] = (
        "explain",
    )  # Lesson.parts; only Explain for a file that does not load
    group: str = GROUPS[-1]  # a file that does not load is listed last


def catalogue() -> list[Listing]:
    """Every shipped lesson in curriculum order; a broken file is listed with its error."""
    paths = lesson_paths()
    key = _cache_key(paths)
    cached = _read_cache(key, paths)
    if cached is not None:
        return cached
    items = _read_lessons(paths)
    _write_cache(key, items)
    return items


def _read_lessons(paths: list[Path]) -> list[Listing]:
    from tutor.lesson.loading import load

    items = []
    for p in paths:
        try:
            lesson = load(p)
            items.append(
                Listing(
                    lesson.id,
                    lesson.title,
                    lesson.summary,
                    lesson.order,
                    p,
                    len(lesson.exercises),
                    parts=lesson.parts,
                    group=lesson.group,
                )
            )
        except LessonError as exc:
            more = f" (and {len(exc.more)} more)" if exc.more else ""
            name = printable(p.stem)  # a file name is a stranger's text too
            items.append(Listing(name, name, "", 100_000, p, 0, f"{exc}{more}"))
    return sorted(items, key=lambda i: (GROUPS.index(i.group), i.order, i.id))


def resolve(name: str) -> Path:
    """A lesson id or a path to a .toml file → the file's path, or a LessonError listing the ids."""
    candidate = Path(name)
    if name.endswith(".toml") or candidate.exists():
        if not candidate.is_file():
            raise LessonError(f"no such lesson file: {name}")
        return candidate
    for p in lesson_paths():
        if p.stem == name:
            return p
    known = ", ".join(i.id for i in catalogue())
    raise LessonError(f"unknown lesson '{name}'. Known lessons: {known}")


def _cache_file() -> Path:
    override = os.environ.get("BACKPROP_TUTOR_CACHE")
    if override:
        return Path(override) / "catalogue.json"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("backprop-tutor")) / "catalogue.json"


def _cache_key(paths: list[Path]) -> str:
    """The lesson files and what lies beside them (a lesson's CSV) as they are now, and the code
    that reads them: an edited file or reader lists afresh."""
    from tutor import __version__

    digest = hashlib.sha256(f"{CACHE_FORMAT} {__version__}".encode())
    code = Path(__file__).resolve().parents[1]
    sources = [*code.joinpath("lesson").glob("*.py"), *code.joinpath("expr").glob("*.py")]
    for path in sorted(sources):
        digest.update(path.read_bytes())
    files = set(paths)
    for folder in {p.parent for p in paths}:
        with contextlib.suppress(OSError):
            files.update(Path(e.path) for e in os.scandir(folder) if e.is_file())
    for path in sorted(files):
        try:
            st = path.stat()
            digest.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path} missing\n".encode())
    digest.update(repr([str(p) for p in paths]).encode())
    return digest.hexdigest()


def _read_cache(key: str, paths: list[Path]) -> list[Listing] | None:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        known = {str(p): p for p in paths}
        return [_listing(row, known) for row in data["items"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _listing(row: dict[str, Any], known: dict[str, Path]) -> Listing:
    """One cached row, its types checked and its file one of the lessons (else a TypeError: the
    listing is rebuilt)."""
    texts = [row["id"], row["title"], row["summary"], row["path"], row["group"]]
    error, parts = row["error"], row["parts"]
    shaped = (
        all(isinstance(t, str) for t in texts)
        and isinstance(row["order"], int)
        and isinstance(row["exercises"], int)
        and (error is None or isinstance(error, str))
        and isinstance(parts, list)
        and all(isinstance(p, str) for p in parts)
        and row["group"] in GROUPS
        and row["path"] in known
    )
    if not shaped:
        raise TypeError("a cached listing row of the wrong shape")
    return Listing(
        row["id"],
        row["title"],
        row["summary"],
        row["order"],
        known[row["path"]],
        row["exercises"],
        error,
        tuple(parts),
        row["group"],
    )


def _write_cache(key: str, items: list[Listing]) -> None:
    import tempfile

    rows = [{**asdict(item), "path": str(item.path), "parts": list(item.parts)} for item in items]
    target = _cache_file()
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".catalogue-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"key": key, "items": rows}, out)
        os.replace(tmp, target)
    except OSError:  # a read-only cache: the list is read from the lessons each time
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
