"""The one error type a lesson file (or a learner's typed answer) can cause."""

from __future__ import annotations


class LessonError(Exception):
    """A problem a teacher or learner can act on: which file, which line, which key, what is wrong.

    `str()` gives the `FILE:LINE: KEY: message` form that `--check` prints.
    """

    def __init__(self, message: str, *, key: str = "", file: str = "", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.key = key
        self.file = file
        self.line = line

    def located(self, *, file: str | None = None, line: int | None = None, key: str | None = None) -> "LessonError":
        """A copy with the location filled in where it was missing."""
        return LessonError(
            self.message,
            key=self.key or (key or ""),
            file=self.file or (file or ""),
            line=self.line if self.line is not None else line,
        )

    def __str__(self) -> str:
        where = self.file or "<lesson>"
        if self.line is not None:
            where += f":{self.line}"
        key = self.key or "(file)"
        return f"{where}: {key}: {self.message}"
