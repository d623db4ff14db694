"""The model's output over the plane as terminal cells, with the data points over it.

Three looks, one layout: `colour` draws two grid rows per cell with the upper half-block (its
foreground the upper value, its background the lower), orange for class 0 / negative through
white to blue for class 1 / positive, as TF Playground does; `shade` (NO_COLOR) and `ascii` draw
one grid row per cell as a density character. Points keep their class in their glyph, so the
picture reads without colour too. Rich text only: no Textual here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    from rich.color import Color

LOOKS = ("colour", "shade", "ascii")
LEVELS = 24  # colour steps each side of white
SHADES = {"shade": " ░▒▓█", "ascii": " .:-=+*#%@"}
POINT = {  # (look, test?, class 1?) → glyph
    ("unicode", False, True): "●",
    ("unicode", False, False): "○",
    ("unicode", True, True): "◆",
    ("unicode", True, False): "◇",
    ("ascii", False, True): "X",
    ("ascii", False, False): "O",
    ("ascii", True, True): "x",
    ("ascii", True, False): "o",
}
PLAIN = Style()  # a segment always has a style: Textual's NO_COLOR filter reads it
BLUE, ORANGE, WHITE = (8, 119, 189), (245, 147, 34), (232, 234, 235)


def grid_rows(rows: int, look: str) -> int:
    """How many grid rows `rows` terminal rows show."""
    return rows * 2 if look == "colour" else rows


def level(values: np.ndarray, classify: bool) -> np.ndarray:
    """Values → −1..1 (class 0 / negative .. class 1 / positive); nan stays nan."""
    t = values * 2 - 1 if classify else values
    clipped: np.ndarray = np.clip(t, -1, 1)
    return clipped


@cache
def _rgb(q: int) -> tuple[int, int, int]:
    end = BLUE if q > 0 else ORANGE
    f = abs(q) / LEVELS
    r, g, b = (round(WHITE[i] + (end[i] - WHITE[i]) * f) for i in range(3))
    return r, g, b


@cache
def _cell_style(top: int, bottom: int) -> Style:
    return Style.from_color(_colour(top), _colour(bottom))


@cache
def _colour(q: int) -> Color:
    from rich.color import Color

    return Color.from_rgb(*_rgb(q))


@cache
def _point_style(positive: bool, bottom: int) -> Style:
    from rich.color import Color

    dark = (0, 60, 120) if positive else (150, 70, 0)
    return Style(color=Color.from_rgb(*dark), bgcolor=_colour(bottom), bold=True)


def _quantise(t: np.ndarray) -> np.ndarray:
    q: np.ndarray = np.rint(np.nan_to_num(t, nan=0.0) * LEVELS).astype(np.int64)
    return q


Mark = tuple[float, float, float, bool]  # (x1, x2, label, is it a test point)


def draw(
    values: np.ndarray,
    look: str,
    classify: bool,
    points: Iterable[Mark] = (),
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
) -> list[list[Segment]]:
    """`values`: grid_rows(rows) × cols, row 0 at the top. `points`: (x1, x2, label, is_test) rows.
    One list of segments per terminal row; neighbouring cells of one style share a segment."""
    t = level(np.asarray(values, dtype=np.float64), classify)
    rows = t.shape[0] // 2 if look == "colour" else t.shape[0]
    cols = t.shape[1]
    marks = _marks(points, rows, cols, x_range, y_range, classify, look)
    lines: list[list[Segment]] = []
    if look == "colour":
        q = _quantise(t).tolist()
        for r in range(rows):
            top, bottom = q[2 * r], q[2 * r + 1]
            row: list[Segment] = []
            run, run_style = 0, None
            for c in range(cols):
                mark = marks.get((r, c))
                if mark is None:
                    style = _cell_style(top[c], bottom[c])
                    if style is run_style:
                        run += 1
                        continue
                    if run:
                        row.append(Segment("▀" * run, run_style))
                    run, run_style = 1, style
                else:
                    if run:
                        row.append(Segment("▀" * run, run_style))
                    run, run_style = 0, None
                    glyph, positive = mark
                    row.append(Segment(glyph, _point_style(positive, (top[c] + bottom[c]) // 2)))
            if run:
                row.append(Segment("▀" * run, run_style))
            lines.append(row)
        return lines
    chars = SHADES[look]
    idx = np.clip(
        ((np.nan_to_num(t, nan=0.0) + 1) / 2 * (len(chars) - 1)).round().astype(np.int64),
        0,
        len(chars) - 1,
    )
    for r in range(rows):
        cells = [chars[i] for i in idx[r]]
        for c in range(cols):
            mark = marks.get((r, c))
            if mark is not None:
                cells[c] = mark[0]
        lines.append([Segment("".join(cells), PLAIN)])
    return lines


def plain(lines: list[list[Segment]]) -> list[str]:
    """The rows as text, without their styles."""
    return ["".join(seg.text for seg in row) for row in lines]


def resample(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A coarse grid (at most 64×64) spread over rows × cols cells, nearest value."""
    if grid.shape == (rows, cols):
        return grid
    ri = np.minimum((np.arange(rows) * grid.shape[0]) // rows, grid.shape[0] - 1)
    ci = np.minimum((np.arange(cols) * grid.shape[1]) // cols, grid.shape[1] - 1)
    return grid[np.ix_(ri, ci)]


def _marks(
    points: Iterable[Mark],
    rows: int,
    cols: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    classify: bool,
    look: str,
) -> dict[tuple[int, int], tuple[str, bool]]:
    (x0, x1), (y0, y1) = x_range, y_range
    kind = "ascii" if look == "ascii" else "unicode"
    marks: dict[tuple[int, int], tuple[str, bool]] = {}
    for x, y, label, test in points:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        c = int((x - x0) / (x1 - x0) * cols)
        r = int((y1 - y) / (y1 - y0) * rows)
        if 0 <= r < rows and 0 <= c < cols:
            positive = label > 0.5 if classify else label > 0
            key = (r, c)
            if key not in marks or not test:  # a training point wins a shared cell
                marks[key] = (POINT[(kind, bool(test), bool(positive))], positive)
    return marks


def weight_glyph(w: float, biggest: float, ascii: bool) -> tuple[str, str]:
    """A weight by sign and size: ('+●', 'blue') … ('−·', 'orange'); size relative to `biggest`."""
    f = abs(w) / biggest if biggest > 0 and math.isfinite(w) else 0.0
    sizes = ".oO" if ascii else "·•●"
    size = sizes[0] if f < 1 / 3 else sizes[1] if f < 2 / 3 else sizes[2]
    sign = "+" if w >= 0 else ("-" if ascii else "−")
    return sign + size, "#0877bd" if w >= 0 else "#f59322"
