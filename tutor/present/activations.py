"""Activation histograms as text (tutor/train/activations.py's figures): one line per layer, a
sparkline of its bins and its spread, near-0 and saturated fractions. Headless prints them after
a deep model's run, at the start and at the end; the Train part's histogram shows the same
figures under its bars. Textual-free."""

from __future__ import annotations

from tutor.fmt import number
from tutor.train.activations import NEAR_ZERO, Histogram

BARS = "▁▂▃▄▅▆▇█"  # tutor/fmt.py's asciify writes them .:-=+*#@


def sparkline(counts: tuple[int, ...]) -> str:
    """One character per bin, its height the bin's share of the tallest (an empty bin a space)."""
    marks = BARS
    top = max(counts) if counts else 0
    if top == 0:
        return " " * len(counts)
    return "".join(
        " " if c == 0 else marks[min(len(marks) - 1, c * len(marks) // (top + 1))] for c in counts
    )


def figures(h: Histogram) -> str:
    """'spread 0.637, |h| < 0.1: 8%, saturated 2%' (saturated only for a bounded activation)."""
    text = f"spread {number(round(h.spread, 4))}, |h| < {NEAR_ZERO}: {percent(h.near_zero)}"
    return text + (f", saturated {percent(h.saturated)}" if h.saturated is not None else "")


def percent(fraction: float) -> str:
    """0.7028 → '70%'; a fraction that is not 0 but rounds to 0% says '<1%', so 0% means none."""
    if 0 < fraction < 0.005:
        return "<1%"
    return f"{fraction:.0%}"


def histogram_lines(
    start: list[Histogram], end: list[Histogram], start_label: str, end_label: str
) -> list[str]:
    """Per layer: its sparkline, the range its bins cover, and its figures, at the start and at
    the end (a bounded activation's bins cover its bounds; another's, its outputs' range)."""
    lines = ["activations on the training set, a histogram each (its bins from low to high):"]
    label = max(len(start_label), len(end_label))
    for a, b in zip(start, end, strict=True):
        lines.append(f"  {a.layer}")
        for tag, h in ((start_label, a), (end_label, b)):
            lines.append(f"    {tag:<{label}}  |{sparkline(h.counts)}|  {span(h)}: {figures(h)}")
    return lines


def span(h: Histogram) -> str:
    """The range the bins cover: '-1.0 … 1.0'."""
    return f"{number(round(h.lo, 4))} … {number(round(h.hi, 4))}"
