"""Finding the shipped lessons and listing them without building derivations or trainers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.lesson.loading import load
from tutor.lesson.vocabulary import GROUPS


def lessons_dir() -> Path:
    """The shipped lessons: inside the package when installed from a wheel, else the repository's."""
    here = Path(__file__).resolve().parents[1]     # tutor/
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
    parts: tuple[str, ...] = ("explain",)      # Lesson.parts; only Explain for a file that does not load
    group: str = GROUPS[-1]                    # a file that does not load is listed last


def catalogue() -> list[Listing]:
    """Every shipped lesson in curriculum order; a broken file is listed with its error."""
    items = []
    for p in lesson_paths():
        try:
            lesson = load(p)
            items.append(Listing(lesson.id, lesson.title, lesson.summary, lesson.order, p, len(lesson.exercises),
                                 parts=lesson.parts, group=lesson.group))
        except LessonError as exc:
            more = f" (and {len(exc.more)} more)" if exc.more else ""
            name = printable(p.stem)     # a file name is a stranger's text too
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
