"""The Explain part's equations as the tutor shows them: the author's equation as written,
typeset on one line (same order, same operations), never re-derived by sympy."""

from __future__ import annotations

from tutor.expr.text import pretty
from tutor.lesson import Lesson


def typeset_equations(lesson: Lesson, ascii: bool = False) -> dict[str, str]:
    """'page title/name' → 'name = typeset expression', for every equation of every page."""
    return {
        f"{page.title}/{eq.name}": f"{eq.name} = {pretty(eq.expr, ascii=ascii)}"
        for page in lesson.explain
        for eq in page.equations
    }
