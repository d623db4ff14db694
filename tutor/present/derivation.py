"""Steps of a derivation → text within a given width (never the real terminal's), Unicode or ASCII."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Sequence
from typing import Protocol

from tutor.expr.nodes import Apply, Expr, Num, Sym
from tutor.expr.text import pretty
from tutor.fmt import asciify


def _wrap(text: str, width: int, indent: str = "    ") -> str:
    return (
        "\n".join(
            textwrap.wrap(
                text, width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=True
            )
        )
        or text
    )


class Step(Protocol):
    """A derivation's step as shown (tutor.derive.steps.Step): labelled lines and a note."""

    @property
    def lines(self) -> Sequence[tuple[str, Expr | str]]: ...
    @property
    def note(self) -> str: ...


class Derivation(Protocol):
    """A derivation's steps (tutor.derive.steps.Derivation)."""

    @property
    def steps(self) -> Sequence[Step]: ...


def render_line(label: str, value: Expr | str, width: int, ascii: bool = False) -> str:
    if isinstance(value, (Num, Sym, Apply)):
        value = pretty(value, ascii=ascii)
    if ascii:
        label, value = asciify(label), asciify(value)
    if "\n" in value:  # a table (the gradient check's sweep): shown as laid out
        return f"{label}\n{value}"
    text = f"{label} = {value}" if value else label
    if len(text) <= width:
        return text
    if len(label) + 3 <= width // 2:
        return _wrap(text, width, " " * min(len(label) + 3, width // 2))
    return f"{label} =\n" + _wrap("  " + value, width, "  ")


def render_step(step: Step, width: int = 80, ascii: bool = False) -> str:
    width = max(24, width)
    parts = [render_line(label, value, width, ascii) for label, value in step.lines]
    if step.note:
        note = asciify(step.note) if ascii else step.note
        parts.append(_wrap(note, width, ""))
    return "\n\n".join(parts)


_RENDERED: dict[tuple[int, int, int, bool], tuple[Derivation, str]] = {}
_RENDERED_LOCK = threading.Lock()  # the Derive pane and the sandbox render from worker threads too
MAX_RENDERED = 4096  # steps kept rendered; then the memo starts afresh


def render(deriv: Derivation, index: int, width: int = 80, ascii: bool = False) -> str:
    """A step as text, memoised per derivation, width and alphabet: stepping back is free."""
    key = (id(deriv), index, width, ascii)
    with _RENDERED_LOCK:
        hit = _RENDERED.get(key)
    if hit is not None:
        return hit[1]
    text = render_step(deriv.steps[index], width, ascii)
    with _RENDERED_LOCK:
        if len(_RENDERED) > MAX_RENDERED:
            _RENDERED.clear()
        # the derivation is held beside its text, so its id cannot be reused while cached
        _RENDERED[key] = (deriv, text)
    return text
