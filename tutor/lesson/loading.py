"""File → Lesson: read with a size limit, parse, scrub, build every part, locate errors by line."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.lesson.datasets import anchor_train, anchor_variant
from tutor.lesson.exercise import read_exercise
from tutor.lesson.files import Unreadable, read_regular, too_large
from tutor.lesson.graph import read_graph, read_jacobian, read_page
from tutor.lesson.limits import MAX_EXERCISES, MAX_FILE_BYTES, MAX_INT, MAX_PAGES, SCHEMA_VERSION
from tutor.lesson.reader import Table
from tutor.lesson.records import Lesson
from tutor.lesson.tomlpos import key_lines, line_of
from tutor.lesson.training import read_train, read_variant
from tutor.lesson.vocabulary import GROUPS, ID_RE


def load(path: str | Path) -> Lesson:
    """Read, parse and validate one lesson file."""
    path = Path(path)
    display = str(path)
    raw = read_limited(path, MAX_FILE_BYTES, display)
    return loads(raw, display, path)


def read_limited(path: Path, limit: int, display: str) -> bytes:
    """A lesson file's bytes, read as every file a stranger names is (tutor/lesson/files.py)."""
    try:
        return read_regular(path, limit, hint=" (a lesson is a .toml file)")
    except Unreadable as exc:
        raise LessonError(str(exc), file=display) from None


def loads(raw: bytes | str, display: str = "<lesson>", path: Path | None = None) -> Lesson:
    if isinstance(raw, bytes):
        if len(raw) > MAX_FILE_BYTES:
            raise LessonError(too_large(len(raw), MAX_FILE_BYTES), file=display)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise LessonError(
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                file=display,
                line=line,
            ) from None
    else:
        text = raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at: int | None = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        message = getattr(exc, "msg", None) or re.sub(
            r"\s*\(at line \d+, column \d+\)", "", str(exc)
        )
        raise LessonError(f"invalid TOML: {message}", file=display, line=at) from None
    except RecursionError:
        raise LessonError("invalid TOML: nested too deeply", file=display) from None
    except ValueError as exc:  # an integer beyond Python's 4,300-digit conversion limit
        raise _huge_literal(text, display, exc) from None
    try:
        return _build(data, path or Path(display), named=path is not None)
    except LessonError as exc:  # positions are scanned only now: the lesson list loads every file
        lines = key_lines(text)

        def locate(problem: LessonError) -> LessonError:
            return problem.located(
                file=display, line=line_of(lines, problem.key) if problem.key else None
            )

        found = sorted(
            (locate(p) for p in exc.problems), key=lambda p: p.line or 0
        )  # stable: read order on ties
        found[0].more = tuple(found[1:])
        raise found[0] from None
    except RecursionError:
        raise LessonError("nested too deeply", file=display) from None


def _huge_literal(text: str, display: str, exc: ValueError) -> LessonError:
    """tomllib's ValueError for an integer of over 4,300 digits, at the line that has it."""
    runs = (m for m in re.finditer(r"[0-9_]+", text) if m.end() - m.start() > 4300)
    run = next(runs, None)
    if run is None:
        return LessonError(f"invalid TOML: {exc}", file=display)
    line = text.count("\n", 0, run.start()) + 1
    before = [(at, key) for key, at in key_lines(text).items() if at <= line]
    key = max(before)[1] if before else ""
    return LessonError(
        f"an integer of {run.end() - run.start():,} digits; integers stay within ±{MAX_INT:,}",
        file=display,
        line=line,
        key=key,
    )


def _scrub(value: Any, key: str) -> Any:
    """The parsed file, checked and cleaned once before it is read: strings lose terminal escapes and
    control characters (a title could otherwise set the window title or clear the screen),
    integers beyond ±MAX_INT and numbers that are not finite are refused wherever they are."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            digits = len(str(abs(value)))
            raise LessonError(
                f"an integer of {digits:,} digits; integers stay within ±{MAX_INT:,}", key=key
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LessonError("expected a finite number", key=key)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def _line_from_message(message: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


def _build(data: dict[str, Any], path: Path, named: bool = False) -> Lesson:
    top = Table(_scrub(data, ""), "")
    schema = top.integer("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:  # nothing else can be read against the wrong schema
        raise LessonError(
            f"schema {schema} is not supported (this tutor reads schema {SCHEMA_VERSION})",
            key="schema",
        )
    # Independent parts are each read even when another is broken, so that --check lists every
    # broken part in one pass. A part that needs another (variants need [train], exercises the
    # graph's names) is skipped when that one is broken: its errors would be echoes.
    problems: list[LessonError] = []

    # A part that fails gives None and a problem; with any problem the Lesson is never built, so
    # what part() returns is the reader's result where it is used: Any spares a cast at each use.
    def part(read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except LessonError as exc:
            problems.append(exc)
            return None

    lesson_id = part(_lesson_id, top, path if named else None)
    title = part(top.text, "title", ..., 120)
    summary = part(top.text, "summary", "", 300)
    order = part(top.integer, "order", 1000, 0, 100_000)
    group = part(top.choice, "group", GROUPS, GROUPS[0])
    page_tables = part(top.array, "explain", True, MAX_PAGES)
    pages = tuple(part(read_page, t) for t in page_tables or ())
    if page_tables == []:
        problems.append(LessonError("a lesson needs at least one page", key="explain"))
    graph_t = part(top.sub, "graph")
    graph = part(read_graph, graph_t) if graph_t else None
    jac_t = part(top.sub, "jacobian")
    jacobian = part(read_jacobian, jac_t) if jac_t else None
    train_t = part(top.sub, "train")
    train = part(read_train, train_t) if train_t else None
    variant_tables = part(top.array, "variants", False, 20) or ()
    variants = (
        tuple(part(read_variant, t, train) for t in variant_tables) if train or not train_t else ()
    )
    if train is not None and named:  # a CSV dataset lies in the lesson's folder
        train = part(anchor_train, train, path.parent) or train
        variants = tuple(
            v and (part(anchor_variant, v, path.parent, i) or v) for i, v in enumerate(variants)
        )
    exercise_tables = part(top.array, "exercises", False, MAX_EXERCISES) or ()
    exercises: tuple[Any, ...] = ()
    if graph or not graph_t:
        names = set(graph.leaves + tuple(n.name for n in graph.nodes)) if graph else set()
        exercises = tuple(part(read_exercise, t, names, graph) for t in exercise_tables)
    part(_unique, [v and v.name for v in variants], "variants", "name")
    part(_unique, [e and e.id for e in exercises], "exercises", "id")
    part(top.done)
    if problems:
        raise LessonError(
            problems[0].message,
            key=problems[0].key,
            line=problems[0].line,
            more=tuple(problems[1:]),
        )
    return Lesson(
        lesson_id,
        title,
        summary,
        order,
        pages,
        graph,
        jacobian,
        train,
        variants,
        exercises,
        path,
        group or GROUPS[0],
    )


def _lesson_id(top: Table, path: Path | None) -> str:
    lesson_id = top.text("id", limit=64)
    if not ID_RE.match(lesson_id):
        raise LessonError(
            f"'{lesson_id}' is not a lesson id (lowercase letters, digits and '-')", key="id"
        )
    # Progress is kept by id: a file may not pass itself off as another lesson.
    if path is not None and path.stem != lesson_id:
        raise LessonError(
            f"the id '{lesson_id}' must equal the file name without .toml ('{path.stem}')", key="id"
        )
    return lesson_id


def _unique(values: list[str | None], array: str, name: str) -> None:
    seen = set()
    for i, value in enumerate(values):  # None: an entry already reported as broken
        if value is not None and value in seen:
            raise LessonError(f"duplicate {name} '{value}'", key=f"{array}[{i}].{name}")
        seen.add(value)
