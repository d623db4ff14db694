"""A parsed sandbox (`Sketch`) and the lesson it is: the text becomes lesson TOML built from data
(`lesson_toml`) and is read back by the lesson loader, so the sandbox accepts exactly what a lesson
file accepts; a loader error is placed back at the typed line it came from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tutor import lesson as lesson_format
from tutor.errors import LessonError
from tutor.sandbox.fields import NodeLine, SandboxError, parse_graph, parse_point, parse_wrt

SMALL_GRAPH = 10  # nodes; up to this many the TUI derives at once, beyond it steps stream in
EXAMPLE = ("c = a + b\nL = (c*w - y)**2", "a = 1, b = 2, w = 0.5, y = 3", "w, a")


@dataclass(frozen=True)
class Sketch:
    """A sandbox that parsed: its nodes in forward order, its leaves split into inputs and
    parameters, and a value for every leaf."""

    nodes: tuple[NodeLine, ...]
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    point: dict[str, float]

    @property
    def loss(self) -> str:
        return self.nodes[-1].name

    def lesson(self) -> lesson_format.Lesson:
        """The sketch as a lesson, read back by the lesson loader (which checks it once more)."""
        try:
            return lesson_format.loads(lesson_toml(self, "sandbox", "Sandbox"), display="<sandbox>")
        except LessonError as exc:
            raise self._locate(exc) from None

    def _locate(self, exc: LessonError) -> SandboxError:
        """A loader error about the generated TOML → the typed line it came from."""
        m = re.match(r"graph\.nodes\[(\d+)\]", exc.key or "")
        if m and int(m.group(1)) < len(self.nodes):
            node = self.nodes[int(m.group(1))]
            return SandboxError(exc.message, field="graph", line=node.line, column=node.expr_column)
        if (exc.key or "").startswith("graph.point"):
            return SandboxError(exc.message, field="point")
        if (exc.key or "").startswith("graph.params"):
            return SandboxError(exc.message, field="wrt")
        return SandboxError(exc.message, field="graph")


def sketch(graph: str, point: str, wrt: str = "") -> Sketch:
    """The three typed fields → a Sketch, or the first SandboxError (graph, then point, then wrt)."""
    nodes, leaves = parse_graph(graph)
    values = parse_point(point, leaves)
    params = parse_wrt(wrt, leaves, nodes)
    inputs = tuple(n for n in leaves if n not in params)
    return Sketch(nodes, inputs, tuple(n for n in leaves if n in params), values)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, plus DEL and the other controls."""
    out = json.dumps(text, ensure_ascii=False)
    return re.sub(r"[\x7f\x80-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", out)


def _toml_names(names) -> str:
    return "[" + ", ".join(_toml_string(n) for n in names) + "]"


def lesson_toml(sk: Sketch, lesson_id: str, title: str) -> str:
    """The sketch as a lesson file: header, one Explain page (a stub to write), the graph, the point."""
    equations = [f"{n.name} = {n.expr}" for n in sk.nodes]
    params = ", ".join(sk.params)
    inputs = ", ".join(sk.inputs) or "none"
    summary = f"Saved from the sandbox: loss {sk.loss}, parameters {params}."
    text = (
        f"This graph was saved from the sandbox. Its loss is `{sk.loss}`; the parameters are {params}, "
        f"the inputs {inputs}.\n\nReplace this page with what the graph teaches."
    )
    out = [
        "schema = 1",
        f"id = {_toml_string(lesson_id)}",
        f"title = {_toml_string(title[:120])}",
        f"summary = {_toml_string(summary[:300])}",
        "",
        "[[explain]]",
        f"title = {_toml_string('The graph')}",
        f"text = {_toml_string(text)}",
        "equations = [" + ", ".join(_toml_string(e) for e in equations) + "]",
        "",
        "[graph]",
        f"inputs = {_toml_names(sk.inputs)}",
        f"params = {_toml_names(sk.params)}",
    ]
    for n in sk.nodes:
        out += [
            "",
            "[[graph.nodes]]",
            f"name = {_toml_string(n.name)}",
            f"expr = {_toml_string(n.expr)}",
        ]
    out += ["", "[graph.point]"] + [f"{k} = {v!r}" for k, v in sk.point.items()]
    return "\n".join(out) + "\n"
