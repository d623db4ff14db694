"""Saving a sandbox as a lesson file (ctrl+s in the sandbox)."""

from __future__ import annotations

from pathlib import Path

from tutor import lesson as lesson_format
from tutor.errors import LessonError
from tutor.sandbox.graph import Sketch, lesson_toml


def save_path(typed: str, cwd: Path | None = None) -> Path:
    """A typed file name → the lesson file's path: '.toml' added, relative to `cwd`."""
    typed = typed.strip()
    if not typed:
        raise LessonError("type a file name, such as my-graph.toml")
    path = Path(typed).expanduser()
    if path.suffix != ".toml":
        path = path.with_name(path.name + ".toml")
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    if not lesson_format.ID_RE.match(path.stem):
        raise LessonError(
            f"'{path.stem}' cannot be a lesson id: the file name must be lowercase letters, "
            "digits and '-' (the id is the file name)"
        )
    return path


def save(sk: Sketch, path: Path, overwrite: bool = False) -> Path:
    """Write the sketch as lesson `path` (its id is the file name). An existing file is kept
    unless `overwrite`. The text is read back by the loader before anything is written."""
    text = lesson_toml(sk, path.stem, f"Sandbox: {sk.nodes[-1].name} = {sk.nodes[-1].expr}")
    lesson_format.loads(text, display=str(path), path=path)
    if path.exists() and not overwrite:
        raise LessonError(f"{path} already exists: choose another name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LessonError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
