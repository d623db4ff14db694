"""The one error type a lesson file (or a learner's typed answer) can cause."""

from __future__ import annotations

from tutor.fmt import printable


class LessonError(Exception):
    """A problem a teacher or learner can act on: which file, which line, which key, what is wrong.

    `str()` gives the `FILE:LINE: KEY: message` form that `--check` prints. A file with problems
    in several independent parts raises the first, carrying the others in `more` so that `--check`
    can list them all in one pass. The message, key and file name may quote a stranger's text, so
    they are kept without terminal escapes or control characters wherever they are shown.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str = "",
        file: str = "",
        line: int | None = None,
        more: tuple[LessonError, ...] = (),
    ):
        message = printable(message)
        super().__init__(message)
        self.message = message
        self.key = printable(key)
        self.file = printable(file)
        self.line = line
        self.more = more

    @property
    def problems(self) -> tuple[LessonError, ...]:
        return (self, *self.more)

    def located(
        self, *, file: str | None = None, line: int | None = None, key: str | None = None
    ) -> LessonError:
        """A copy with the location filled in where it was missing."""
        return LessonError(
            self.message,
            key=self.key or (key or ""),
            file=self.file or (file or ""),
            line=self.line if self.line is not None else line,
            more=tuple(other.located(file=file) for other in self.more),
        )

    def __str__(self) -> str:
        where = self.file or "<lesson>"
        if self.line is not None:
            where += f":{self.line}"
        key = self.key or "(file)"
        return f"{where}: {key}: {self.message}"
