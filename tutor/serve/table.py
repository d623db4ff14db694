"""The teacher's view of a class directory: learners × lessons (parts seen, exercises solved of
total, attempts) and, per exercise, how many solved it and the slips the checker named most often.

Each learner's folder (tutor.progress.learner_dir) holds progress.json and learner.json (the name
as typed). Everything is read with the progress module's own reader: a record it cannot read is
listed as unreadable, never a crash. Names and ids are shown through `printable`."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from tutor.fmt import printable
from tutor.progress import LEARNER_FILE, MAX_BYTES, NAME_MAX, Unreadable, read_record

TOP_SLIPS = 3  # slips named per exercise


@dataclass(frozen=True)
class LessonRow:
    learner: str
    lesson: str
    parts: tuple[str, ...]  # the parts seen, in the lesson's order
    solved: int
    total: int  # the lesson's exercises
    attempts: int  # answers checked, right or not


@dataclass
class ExerciseRow:
    lesson: str
    exercise: str
    solved: int = 0  # learners who solved it
    tried: int = 0  # learners who answered it at least once (or solved it)
    attempts: int = 0
    slips: dict[str, int] = field(default_factory=dict)  # verdict kind → times, "correct" left out

    def top(self) -> list[tuple[str, int]]:
        return sorted(self.slips.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SLIPS]


@dataclass
class ClassView:
    directory: Path
    learners: list[str]
    rows: list[LessonRow]
    exercises: list[ExerciseRow]
    unreadable: list[str]  # "folder: why" for each learner whose record could not be read


def _lessons() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(id, parts, exercise ids) of every shipped lesson that loads, in the list's order."""
    from tutor.errors import LessonError
    from tutor.lesson import catalogue, load

    out = []
    for item in catalogue():
        if item.error:
            continue
        try:
            lesson = load(item.path)
        except LessonError:
            continue
        out.append((lesson.id, tuple(lesson.parts), tuple(ex.id for ex in lesson.exercises)))
    return out


def _name(folder: Path) -> str:
    """The learner's name from learner.json, else the folder's name."""
    try:
        with open(folder / LEARNER_FILE, "rb") as f:
            data = json.loads(f.read(MAX_BYTES).decode("utf-8"))
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and name.strip():
            return printable(" ".join(name.split()))[:NAME_MAX]
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        pass
    return printable(folder.name)


def read_class(directory: Path) -> ClassView:
    """The class at `directory` (which must exist): one learner per folder holding progress.json."""
    lessons = _lessons()
    rows: list[LessonRow] = []
    unreadable: list[str] = []
    learners: list[str] = []
    exercises = {(lid, ex): ExerciseRow(lid, ex) for lid, _, ids in lessons for ex in ids}
    folders = sorted(p for p in Path(directory).iterdir() if p.is_dir() and not p.is_symlink())
    for folder in folders:
        if not (folder / "progress.json").exists():
            continue
        try:
            record = read_record(folder / "progress.json")
        except (OSError, Unreadable) as exc:
            unreadable.append(printable(f"{folder.name}: {getattr(exc, 'strerror', None) or exc}"))
            continue
        if record is None:
            continue
        name = _name(folder)
        learners.append(name)
        for lid, parts, ids in lessons:
            entry = record["lessons"].get(lid)
            if not entry:
                continue
            verdicts = entry.get("verdicts", {})
            solved = [ex for ex in ids if ex in entry.get("solved", [])]
            rows.append(
                LessonRow(
                    name,
                    lid,
                    tuple(p for p in parts if p in entry.get("parts", [])),
                    len(solved),
                    len(ids),
                    sum(sum(kinds.values()) for ex, kinds in verdicts.items() if ex in ids),
                )
            )
            for ex in ids:
                kinds = verdicts.get(ex, {})
                row = exercises[(lid, ex)]
                row.solved += ex in solved
                row.tried += bool(kinds) or ex in solved
                row.attempts += sum(kinds.values())
                for kind, n in kinds.items():
                    if kind != "correct":
                        row.slips[printable(kind)] = row.slips.get(printable(kind), 0) + n
    order = {lid: i for i, (lid, _, _) in enumerate(lessons)}
    rows.sort(key=lambda r: (r.learner.casefold(), order[r.lesson]))
    return ClassView(
        Path(directory),
        sorted(learners, key=str.casefold),
        rows,
        [row for row in exercises.values() if row.tried],
        unreadable,
    )


def slips_text(row: ExerciseRow) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in row.top()) or "-"


def text(view: ClassView) -> str:
    """The two tables as plain text, for a terminal or a log."""
    if not view.learners:
        out = [f"No learners in {printable(str(view.directory))} yet."]
    else:
        plural = "s" if len(view.learners) != 1 else ""
        out = [f"{len(view.learners)} learner{plural} in {printable(str(view.directory))}", ""]
        out += _columns(
            ["learner", "lesson", "parts seen", "exercises", "attempts"],
            [
                [
                    r.learner,
                    r.lesson,
                    ", ".join(r.parts) or "-",
                    f"{r.solved}/{r.total}",
                    str(r.attempts),
                ]
                for r in view.rows
            ],
        )
        if view.exercises:
            out += [""] + _columns(
                ["exercise", "solved", "attempts", "slips named most often"],
                [
                    [
                        f"{e.lesson}/{e.exercise}",
                        f"{e.solved}/{e.tried}",
                        str(e.attempts),
                        slips_text(e),
                    ]
                    for e in view.exercises
                ],
            )
    out += [f"unreadable: {u}" for u in view.unreadable]
    return "\n".join(out) + "\n"


def _columns(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
        for row in [head] + body
    ]


def to_csv(view: ClassView) -> str:
    """One row per learner and lesson, then one per exercise (`kind` says which), for a spreadsheet."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(
        [
            "kind",
            "learner",
            "lesson",
            "exercise",
            "parts_seen",
            "solved",
            "total",
            "attempts",
            "slips",
        ]
    )
    for r in view.rows:
        out.writerow(
            [
                "lesson",
                _cell(r.learner),
                r.lesson,
                "",
                " ".join(r.parts),
                r.solved,
                r.total,
                r.attempts,
                "",
            ]
        )
    for e in view.exercises:
        out.writerow(
            [
                "exercise",
                "",
                e.lesson,
                e.exercise,
                "",
                e.solved,
                e.tried,
                e.attempts,
                " ".join(f"{k}={n}" for k, n in e.top()),
            ]
        )
    return buf.getvalue()


def _cell(value: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula: a name is text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_json(view: ClassView) -> str:
    return (
        json.dumps(
            {
                "class": str(view.directory),
                "learners": [
                    {
                        "name": name,
                        "lessons": [
                            {
                                "lesson": r.lesson,
                                "parts_seen": list(r.parts),
                                "solved": r.solved,
                                "total": r.total,
                                "attempts": r.attempts,
                            }
                            for r in view.rows
                            if r.learner == name
                        ],
                    }
                    for name in view.learners
                ],
                "exercises": [
                    {
                        "lesson": e.lesson,
                        "exercise": e.exercise,
                        "solved": e.solved,
                        "tried": e.tried,
                        "attempts": e.attempts,
                        "slips": [{"kind": k, "count": n} for k, n in e.top()],
                    }
                    for e in view.exercises
                ],
                "unreadable": view.unreadable,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
