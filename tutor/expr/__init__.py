"""The safe expression language: typed nodes and the one operation table (nodes.py, ops.py),
the parser (parse.py), text (text.py), shapes (shapes.py), numeric evaluation (evaluate.py),
derivatives (calculus.py) and the sympy bridge (sympy_bridge.py, the only part that loads sympy).
"""

from tutor.expr.nodes import Apply, Expr, Num, Sym, symbols
from tutor.expr.ops import FUNCTIONS, OPS
from tutor.expr.parser import NAME_RE, normalise, parse
from tutor.expr.text import pretty, to_text

__all__ = [
    "Apply",
    "Expr",
    "Num",
    "Sym",
    "symbols",
    "FUNCTIONS",
    "OPS",
    "NAME_RE",
    "normalise",
    "parse",
    "pretty",
    "to_text",
]
