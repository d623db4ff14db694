"""Steps of a derivation → text within a given width (never the real terminal's), Unicode or ASCII."""

from __future__ import annotations

import textwrap

from tutor.fmt import asciify


def pretty(expr, width: int, ascii: bool = False) -> str:
    import sympy

    text = sympy.pretty(expr, use_unicode=not ascii, num_columns=max(20, width), wrap_line=True)
    return asciify(text) if ascii else text


def render_line(label: str, value, width: int, ascii: bool = False) -> str:
    label = asciify(label) if ascii else label
    if isinstance(value, str):
        value = asciify(value) if ascii else value
        text = f"{label} = {value}" if value else label
        return "\n".join(textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False)) or text
    body = pretty(value, width - len(label) - 3, ascii)
    if "\n" not in body and len(label) + 3 + len(body) <= width:
        return f"{label} = {body}"
    return f"{label} =\n" + textwrap.indent(pretty(value, width - 2, ascii), "  ")


def render_step(step, width: int = 80, ascii: bool = False) -> str:
    width = max(24, width)
    parts = []
    for label, value in step.lines:
        parts.append(render_line(label, value, width, ascii))
    if step.note:
        note = asciify(step.note) if ascii else step.note
        parts.append("\n".join(textwrap.wrap(note, width)))
    return "\n\n".join(parts)
