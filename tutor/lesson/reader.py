"""Reading TOML tables with exact errors: every `take` marks a key as known; `done` rejects the rest."""

from __future__ import annotations

from collections.abc import Collection
from types import EllipsisType
from typing import Any, Literal, overload

from tutor.errors import LessonError
from tutor.expr import NAME_RE
from tutor.lesson.limits import MAX_TEXT


class Table:
    """A TOML table being read: every `take` marks a key as known; `done` rejects the rest."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise LessonError(f"expected a table, found {kind_of(data)}", key=path)
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def take(self, name: str, types: type | tuple[type, ...], default: Any = ...) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ...:
                typo = self._misspelt(name)
                if typo is not None:  # epocs = 50: name the key that is there
                    raise LessonError(
                        f"unknown key '{typo}' (did you mean {name}?)", key=self.key(typo)
                    )
                raise LessonError("required key is missing", key=self.key(name))
            return default
        value = self.data[name]
        types = types if isinstance(types, tuple) else (types,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in types:
            raise LessonError(f"expected {_names(types)}, found a boolean", key=self.key(name))
        if not isinstance(value, types):
            raise LessonError(
                f"expected {_names(types)}, found {kind_of(value)}", key=self.key(name)
            )
        return value

    def text(self, name: str, default: Any = ..., limit: int = MAX_TEXT) -> str:
        value: str = self.take(name, str, default)
        if isinstance(value, str) and len(value) > limit:
            raise LessonError(
                f"text is {len(value)} characters; the limit is {limit}", key=self.key(name)
            )
        return value

    # A default of None makes the key optional and the result None where it is absent; the
    # overloads say so to the callers.
    @overload
    def number(
        self, name: str, default: None, lo: float | None = None, hi: float | None = None
    ) -> float | None: ...
    @overload
    def number(
        self,
        name: str,
        default: float | EllipsisType = ...,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float: ...

    def number(
        self, name: str, default: Any = ..., lo: float | None = None, hi: float | None = None
    ) -> float | None:
        value = self.take(name, (int, float), default)
        if value is None:
            return value
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise LessonError("expected a finite number", key=self.key(name))
        self._range(name, value, lo, hi)
        return value

    @overload
    def integer(
        self, name: str, default: None, lo: int | None = None, hi: int | None = None
    ) -> int | None: ...
    @overload
    def integer(
        self,
        name: str,
        default: int | EllipsisType = ...,
        lo: int | None = None,
        hi: int | None = None,
    ) -> int: ...

    def integer(
        self, name: str, default: Any = ..., lo: int | None = None, hi: int | None = None
    ) -> int | None:
        value: int | None = self.take(name, int, default)
        if value is not None:
            self._range(name, value, lo, hi)
        return value

    @overload
    def choice(self, name: str, options: Collection[str], default: None) -> str | None: ...
    @overload
    def choice(
        self, name: str, options: Collection[str], default: str | EllipsisType = ...
    ) -> str: ...

    def choice(self, name: str, options: Collection[str], default: Any = ...) -> str | None:
        value: str | None = self.take(name, str, default)
        if value is not None and value not in options:
            raise LessonError(f"'{value}' is not one of: {', '.join(options)}", key=self.key(name))
        return value

    def names(self, name: str, default: Any = ...) -> tuple[str, ...]:
        value = self.take(name, list, default)
        out = []
        for i, item in enumerate(value or ()):
            if not isinstance(item, str) or not NAME_RE.match(item) or item.startswith("_"):
                raise LessonError(
                    f"expected a name (letters, digits, _), found {item!r}",
                    key=f"{self.key(name)}[{i}]",
                )
            out.append(item)
        return tuple(out)

    @overload
    def sub(self, name: str, required: Literal[True]) -> Table: ...
    @overload
    def sub(self, name: str, required: bool = False) -> Table | None: ...

    def sub(self, name: str, required: bool = False) -> Table | None:
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise LessonError("required table is missing", key=self.key(name))
            return None
        return Table(self.data[name], self.key(name))

    def array(self, name: str, required: bool = False, limit: int = 1000) -> list[Table]:
        value = self.take(name, list, ... if required else [])
        if len(value) > limit:
            raise LessonError(f"{len(value)} entries; the limit is {limit}", key=self.key(name))
        return [Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def _range(self, name: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            raise LessonError(f"{value:g} is below the minimum {lo:g}", key=self.key(name))
        if hi is not None and value > hi:
            raise LessonError(f"{value:g} is above the limit {hi:g}", key=self.key(name))

    def _misspelt(self, known: str) -> str | None:
        """A key of this table that nothing reads and that is close to `known`."""
        import difflib

        strays = [k for k in self.data if k not in self.seen and isinstance(k, str)]
        close = difflib.get_close_matches(known, strays, n=1, cutoff=0.75)
        return close[0] if close else None

    def done(self) -> None:
        import difflib

        for name in self.data:
            if name not in self.seen:
                allowed = ", ".join(sorted(self.seen))
                close = difflib.get_close_matches(str(name), sorted(self.seen), n=1, cutoff=0.75)
                hint = f"did you mean {close[0]}? " if close else ""
                raise LessonError(
                    f"unknown key ({hint}allowed here: {allowed})", key=self.key(name)
                )


def kind_of(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _names(types: tuple[type, ...]) -> str:
    words = {
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
        bool: "a boolean",
    }
    return " or ".join(dict.fromkeys(words.get(t, t.__name__) for t in types))
