"""How numbers and symbols are written: one place, so the screen, the log and the tests agree."""

from __future__ import annotations

import math
import re

_ASCII = {
    "∂": "d",
    "·": "*",
    "⊙": ".*",
    "⊘": "./",
    "ᵀ": ".T",
    "𝟙": "1",
    "σ": "sigmoid",
    "−": "-",
    "‖": "||",
    "×": "x",
    "≤": "<=",
    "≥": ">=",
    "²": "^2",
    "→": "->",
    "←": "<-",
    "–": "-",
    "—": "-",
    "…": "...",
    "Σ": "sum",
    "│": "|",
    "─": "-",
    "┌": "+",
    "┐": "+",
    "└": "+",
    "┘": "+",
    "┤": "+",
    "┬": "+",
    "▶": ">",
    "◀": "<",
    "●": "*",
    "❚": "|",
    "Δ": "d",
    "⏎": "enter",
    "✓": "ok",
    "✗": "X",
    "≈": "~",
    "⁻": "^-",
    "⁰": "^0",
    "¹": "1",
    "₀": "0",
    "ŷ": "yhat",
    # a histogram's bars, lowest to tallest (tutor/train/activations.py)
    "▁": ".",
    "▂": ":",
    "▃": "-",
    "▄": "=",
    "▅": "+",
    "▆": "*",
    "▇": "#",
    "█": "@",
}


def number(v: float | None) -> str:
    """-2.0 stays '-2.0' (a figure a learner compares with the curriculum), 0.64 stays '0.64',
    9e-13 stays '9e-13' (never '0.0'), and other values get six significant digits."""
    if v is None:
        return "—"
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v != 0 and abs(v) < SMALL:  # 9e-13 is not 0.0: a small number keeps its magnitude
        return f"{v:.6g}"
    if abs(v) < 1e6 and abs(v - round(v)) <= 1e-9 * max(1.0, abs(v)):
        return f"{round(v):.1f}"
    return f"{v:.6g}"


SMALL = 0.5  # below this magnitude a value keeps its own digits, never rounded to 0.0


def number_within(v: float | None, width: int) -> str:
    """`number(v)`, or the same value with fewer digits when that is wider than `width` (a table
    column): 5.18563e-05 becomes 5.19e-05, never a cut-off 5.1856e-."""
    text = number(v)
    for digits in range(5, 0, -1):
        if len(text) <= width or v is None:
            break
        text = f"{float(v):.{digits}g}"
    return text


def numbers_within(values, width: int) -> str:
    """As many of `values` as fit in `width` columns, comma-separated, then "…" when some do not:
    a table cell never drops a value silently."""
    texts = [number(v) for v in values]
    for n in range(len(texts), -1, -1):
        shown = ", ".join(texts[:n]) + ("" if n == len(texts) else (", …" if n else "…"))
        if len(shown) <= width:
            return shown
    return "…"


def plural(n: int, word: str) -> str:
    """1 step, 2 steps."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def asciify(text: str) -> str:
    """The same text for a terminal without UTF-8."""
    if text.isascii():
        return text
    return "".join(_ASCII.get(ch, ch if ch.isascii() else "?") for ch in text)


# Terminal control sequences (CSI, OSC, DCS and the like, then any lone ESC with the character
# after it), and the control characters left over: C0 but newline and tab, DEL and C1. A lesson,
# a file name or a progress file could otherwise set the window title, write the clipboard or
# clear the screen. The patterns have no nested repetition, so the time is linear.
_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)", re.DOTALL
)
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def printable(text: str) -> str:
    """`text` without terminal escapes and control characters (newlines and tabs stay)."""
    if text.isprintable():
        return text
    return _ESCAPES.sub("", text).translate(_CONTROLS)
