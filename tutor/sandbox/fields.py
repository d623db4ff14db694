"""The sandbox's three typed fields, parsed: node lines and leaves, a point, the parameters
(`tutor.sandbox.graph.sketch` puts them together as a Sketch).

    graph   c = a + b; L = (c*w - y)**2        node lines (newlines or ';'); the last is the loss
    point   a = 1, b = 2, w = 0.5, y = 3       a number for every leaf (commas, ';' or newlines)
    wrt     w, a                               the parameters; the other leaves are inputs
                                               (blank: every leaf is a parameter)

Every expression goes through the safe parser here (`_parse_names`, the one call into
tutor.expr), so that a problem is reported at the line and column where it was typed
(`SandboxError`); nothing typed reaches eval or sympify.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tutor import lesson as lesson_format
from tutor.errors import LessonError

FIELDS = ("graph", "point", "wrt")

_SEPARATORS = re.compile(r"[;\n]")
_POINT_SEPARATORS = re.compile(r"[,;\n]")


class SandboxError(LessonError):
    """A problem in what was typed: which field (graph, point, wrt), line and column (1-based)."""

    def __init__(self, message: str, *, field: str, line: int = 1, column: int = 1):
        super().__init__(message, key=field, line=line)
        self.field, self.column = field, column

    def where(self, multiline: bool = True) -> str:
        """'line 2, column 7', or 'column 7' for a one-line field."""
        return f"line {self.line}, column {self.column}" if multiline else f"column {self.column}"

    def __str__(self) -> str:
        return f"{self.field}, {self.where()}: {self.message}"


@dataclass(frozen=True)
class Piece:
    """A run of typed text and where it starts (1-based line and column)."""

    text: str
    line: int
    column: int


def split(text: str, separators: re.Pattern) -> list[Piece]:
    """`text` cut at the separators, each non-blank piece stripped and placed."""
    pieces, line, column, start = [], 1, 1, 0
    for m in [*separators.finditer(text), None]:
        end = m.start() if m else len(text)
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        if raw.strip():
            pieces.append(Piece(raw.strip(), line, column + lead))
        if m is None:
            break
        if m.group() == "\n":
            line, column = line + 1, 1
        else:
            column += len(raw) + 1
        start = m.end()
    return pieces


@dataclass(frozen=True)
class NodeLine:
    name: str
    expr: str  # the right-hand side as typed, stripped
    line: int
    column: int  # of the name
    expr_column: int  # of the expression's first character


def parse_graph(text: str) -> tuple[tuple[NodeLine, ...], tuple[str, ...]]:
    """Node lines → (the nodes, the leaves in order of first use). Raises SandboxError."""
    statements = split(text, _SEPARATORS)
    if not statements:
        raise SandboxError(
            "write at least one node line, such as L = (w*x - y)**2 (the last line is the loss)",
            field="graph",
        )
    if len(statements) > lesson_format.MAX_NODES:
        extra = statements[lesson_format.MAX_NODES]
        raise SandboxError(
            f"more than {lesson_format.MAX_NODES} nodes",
            field="graph",
            line=extra.line,
            column=extra.column,
        )
    nodes: list[NodeLine] = []
    for st in statements:
        name, eq, rhs = st.text.partition("=")
        if not eq or rhs.startswith("="):
            raise SandboxError(
                "expected a node line 'name = expression'",
                field="graph",
                line=st.line,
                column=st.column,
            )
        name = name.strip()
        if not _usable_name(name):
            raise SandboxError(
                f"'{name}' is not a usable node name (a letter, then letters, digits or _; "
                "not a function name)",
                field="graph",
                line=st.line,
                column=st.column,
            )
        if any(n.name == name for n in nodes):
            raise SandboxError(
                f"'{name}' is defined twice", field="graph", line=st.line, column=st.column
            )
        lead = len(rhs) - len(rhs.lstrip())
        nodes.append(
            NodeLine(
                name,
                rhs.strip(),
                st.line,
                st.column,
                st.column + len(st.text.partition("=")[0]) + 1 + lead,
            )
        )
    defined = {n.name: i for i, n in enumerate(nodes)}
    leaves: dict[str, None] = {}
    for i, node in enumerate(nodes):
        for used in _parse_names(node):
            if used in defined and defined[used] >= i:
                what = "itself" if defined[used] == i else f"'{used}', defined on a later line"
                raise SandboxError(
                    f"'{node.name}' uses {what}: write nodes in forward order, without cycles",
                    field="graph",
                    line=node.line,
                    column=_column_of(node, used),
                )
            if used not in defined:
                leaves.setdefault(used)
    if not leaves:
        raise SandboxError(
            "the graph has no inputs or parameters: the loss must depend on at least one name",
            field="graph",
            line=nodes[-1].line,
            column=nodes[-1].expr_column,
        )
    return tuple(nodes), tuple(leaves)


def _column_of(node: NodeLine, name: str) -> int:
    m = re.search(rf"\b{re.escape(name)}\b", node.expr)
    return node.expr_column + (m.start() if m else 0)


def parse_point(text: str, leaves: tuple[str, ...]) -> dict[str, float]:
    """`a = 1, b = 2` → {leaf: value}, in the leaves' order; every leaf needs a value."""
    values: dict[str, float] = {}
    for piece in split(text, _POINT_SEPARATORS):
        name, eq, raw = piece.text.partition("=")
        name = name.strip()
        if not eq:
            raise SandboxError(
                f"expected 'name = number', found '{piece.text}'",
                field="point",
                line=piece.line,
                column=piece.column,
            )
        if name not in leaves:
            known = ", ".join(leaves)
            raise SandboxError(
                f"'{name}' is not an input or parameter of the graph (they are: {known})",
                field="point",
                line=piece.line,
                column=piece.column,
            )
        if name in values:
            raise SandboxError(
                f"'{name}' is given twice", field="point", line=piece.line, column=piece.column
            )
        value_column = (
            piece.column + len(piece.text.partition("=")[0]) + 1 + len(raw) - len(raw.lstrip())
        )
        try:
            value = float(raw.strip().replace("−", "-"))
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or "_" in raw:
            raise SandboxError(
                f"'{raw.strip()}' is not a finite number",
                field="point",
                line=piece.line,
                column=value_column,
            )
        values[name] = value
    missing = [n for n in leaves if n not in values]
    if missing:
        lines = text.split("\n")
        raise SandboxError(
            f"no value for {', '.join(repr(n) for n in missing)} (every input and parameter needs "
            "one, e.g. " + ", ".join(f"{n} = 1" for n in missing) + ")",
            field="point",
            line=len(lines),
            column=len(lines[-1]) + 1,
        )
    return {n: values[n] for n in leaves}


def parse_wrt(
    text: str, leaves: tuple[str, ...], nodes: tuple[NodeLine, ...] = ()
) -> tuple[str, ...]:
    """The parameters; blank means every leaf."""
    pieces = split(text, _POINT_SEPARATORS)
    if not pieces:
        return leaves
    params: list[str] = []
    for piece in pieces:
        name = piece.text
        if name in params:
            raise SandboxError(
                f"'{name}' is listed twice", field="wrt", line=piece.line, column=piece.column
            )
        if name not in leaves:
            known = ", ".join(leaves)
            why = (
                f"'{name}' is a node; the parameters are leaves"
                if any(n.name == name for n in nodes)
                else f"unknown name '{name}'"
            )
            raise SandboxError(
                f"{why} (the graph's inputs and parameters: {known})",
                field="wrt",
                line=piece.line,
                column=piece.column,
            )
        params.append(name)
    return tuple(params)


# The safe parser and its name rules: the only calls into tutor.expr.


def _parse_names(node: NodeLine) -> list[str]:
    """The names `node`'s expression uses, in order, checked by the safe parser; a syntax or
    whitelist error becomes a SandboxError at the typed column."""
    from tutor.expr import parse, symbols

    try:
        return list(dict.fromkeys(symbols(parse(node.expr, key="graph"))))
    except LessonError as exc:
        m = re.search(r"\s*\(column (\d+)\)", exc.message)
        if m:
            at = int(m.group(1))  # 0: Python found the end of the text first
            column = node.expr_column + (at - 1 if at > 0 else len(node.expr))
            message = exc.message[: m.start()] + exc.message[m.end() :]
        else:
            quoted = re.search(r"'([^']+)'", exc.message)
            column = _column_of(node, quoted.group(1)) if quoted else node.expr_column
            message = exc.message
        raise SandboxError(message, field="graph", line=node.line, column=column) from None


def _usable_name(name: str) -> bool:
    from tutor.expr import FUNCTIONS, NAME_RE

    return bool(NAME_RE.match(name)) and name not in FUNCTIONS
