"""The sandbox: a graph typed as node lines, a point and the parameters → a lesson, derived.

    fields.py   the typed fields → nodes, leaves, point and parameters (SandboxError at a line
                and column), through the safe parser only
    graph.py    Sketch: what parsed, as lesson TOML read back by the lesson loader
    files.py    saving a sketch as a lesson file
    derive.py   the derivation call (streamed, cancellable)

Free of Textual, and of sympy until `derivation` runs.
"""

from tutor.sandbox.derive import derivation
from tutor.sandbox.fields import (
    FIELDS,
    NodeLine,
    Piece,
    SandboxError,
    parse_graph,
    parse_point,
    parse_wrt,
    split,
)
from tutor.sandbox.files import save, save_path
from tutor.sandbox.graph import EXAMPLE, SMALL_GRAPH, Sketch, lesson_toml, sketch

__all__ = [
    "EXAMPLE",
    "FIELDS",
    "SMALL_GRAPH",
    "NodeLine",
    "Piece",
    "SandboxError",
    "Sketch",
    "derivation",
    "lesson_toml",
    "parse_graph",
    "parse_point",
    "parse_wrt",
    "save",
    "save_path",
    "sketch",
    "split",
]
