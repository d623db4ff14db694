"""The [[explain]], [graph] and [jacobian] sections."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from tutor.errors import LessonError
from tutor.expr import FUNCTIONS, NAME_RE, symbols
from tutor.expr import parse as parse_expr
from tutor.expr.nodes import Expr
from tutor.lesson.graph_values import read_values
from tutor.lesson.limits import MAX_DIM, MAX_NODES
from tutor.lesson.reader import Table
from tutor.lesson.records import Equation, Graph, Jacobian, Node, Page


def _equation(text: object, key: str, names: Collection[str] | None = None) -> Equation:
    if not isinstance(text, str) or "=" not in text:
        raise LessonError("expected an equation 'name = expression'", key=key)
    name, _, rhs = text.partition("=")
    name = name.strip()
    if not NAME_RE.match(name):
        raise LessonError(f"'{name}' is not a name", key=key)
    return Equation(name, parse_expr(rhs, names=names, key=key), rhs.strip())


def read_page(t: Table) -> Page:
    title = t.text("title", limit=120)
    text = t.text("text")
    eqs = t.take("equations", list, [])
    equations = tuple(_equation(e, f"{t.key('equations')}[{i}]") for i, e in enumerate(eqs))
    t.done()
    return Page(title, text, equations)


def _point(t: Table, name: str, names: tuple[str, ...]) -> dict[str, float]:
    pt = t.sub(name, required=True)
    values = {n: pt.number(n) for n in names}
    pt.done()
    return values


def read_graph(t: Table) -> Graph:
    inputs = t.names("inputs")
    params = t.names("params")
    if not params:
        raise LessonError("a graph needs at least one parameter", key=t.key("params"))
    node_tables = t.array("nodes", required=True, limit=MAX_NODES)
    if not node_tables:
        raise LessonError(
            "a graph needs at least one node (the last one is the loss)", key=t.key("nodes")
        )
    leaves = inputs + params
    for i, name in enumerate(leaves):
        if leaves.index(name) != i:
            raise LessonError(
                f"'{name}' is declared twice", key=t.key("params" if i >= len(inputs) else "inputs")
            )
    # Read every node first, so that a reference to a later node can be told from a cycle.
    raw_nodes: list[tuple[Table, str, Expr]] = []
    for nt in node_tables:
        name = nt.take("name", str)
        if not NAME_RE.match(name) or name in FUNCTIONS:
            raise LessonError(f"'{name}' is not a usable node name", key=nt.key("name"))
        expr = parse_expr(nt.take("expr", str), key=nt.key("expr"))
        nt.done()
        raw_nodes.append((nt, name, expr))
    all_names = [n for _, n, _ in raw_nodes]
    nodes: list[Node] = []
    defined = set(leaves)
    for nt, name, expr in raw_nodes:
        if name in defined:
            what = "an input or parameter" if name in leaves else "another node"
            raise LessonError(f"duplicate name '{name}' (already {what})", key=nt.key("name"))
        for used in symbols(expr):
            if used in defined:
                continue
            if used in all_names:
                later = all_names.index(used)
                if _depends_on(raw_nodes, later, name):
                    raise LessonError(
                        f"'{name}' uses '{used}', which depends on '{name}': the graph has a cycle",
                        key=nt.key("expr"),
                    )
                raise LessonError(
                    f"'{used}' is used before it is defined (list nodes in forward order)",
                    key=nt.key("expr"),
                )
            here = ", ".join(sorted(defined))
            raise LessonError(f"unknown name '{used}' (known here: {here})", key=nt.key("expr"))
        defined.add(name)
        nodes.append(Node(name, expr, nt.data["expr"]))
    point = _point(t, "point", leaves)
    shapes_t = t.sub("shapes")
    shapes: dict[str, tuple[str, ...]] = {}
    if shapes_t:
        for name in list(shapes_t.data):
            if name not in leaves:
                raise LessonError(f"'{name}' is not an input or parameter", key=shapes_t.key(name))
            axes = shapes_t.names(name)
            if len(axes) > 2:
                raise LessonError("at most two dimensions (rows, columns)", key=shapes_t.key(name))
            shapes[name] = axes
        shapes_t.done()
    dims_t = t.sub("dims")
    dims: dict[str, int] = {}
    if dims_t:
        for name in list(dims_t.data):
            dims[name] = dims_t.integer(name, lo=1, hi=MAX_DIM)
        dims_t.done()
    checked = {key: t.names(key, ()) for key in ("expect_kink", "sweep")}
    for key, names in checked.items():
        for i, name in enumerate(names):
            if name not in params or names.index(name) != i:
                raise LessonError(
                    f"'{name}' is not a parameter of the graph (or is listed twice)",
                    key=f"{t.key(key)}[{i}]",
                )
    fused_t = t.sub("fused")
    fused: dict[str, Node] = {}
    if fused_t:
        if not shapes:
            raise LessonError(
                "a fused form belongs to the matrix form: give the graph [graph.shapes]",
                key=fused_t.key(next(iter(fused_t.data))),
            )
        targets = [n.name for n in nodes[:-1]] + list(params)
        known = set(leaves) | set(all_names) | (set(dims) - set(leaves) - set(all_names))
        for name in list(fused_t.data):
            if name not in targets:
                raise LessonError(
                    f"'{name}' is not a node (other than the loss) or a parameter",
                    key=fused_t.key(name),
                )
            text = fused_t.take(name, str)
            fused[name] = Node(name, parse_expr(text, names=known, key=fused_t.key(name)), text)
        fused_t.done()
    values_t, entries_t = t.sub("values"), t.sub("entries")
    t.done()
    graph = Graph(
        inputs,
        params,
        tuple(nodes),
        point,
        shapes,
        dims,
        expect_kink=checked["expect_kink"],
        sweep=checked["sweep"],
        fused=fused,
    )
    if shapes:
        from tutor.expr.shapes import infer_shapes, shape_of, show

        for i, _node in enumerate(nodes):
            try:
                env = infer_shapes(graph, upto=i)
            except LessonError as exc:
                raise LessonError(exc.message, key=f"{t.key('nodes')}[{i}].expr") from None
            for d in sum(shapes.values(), ()):
                if d not in dims:
                    raise LessonError(f"dimension '{d}' has no size", key=t.key("dims"))
        for name, f in fused.items():
            assert fused_t is not None  # a fused form was read from it
            dim_env = {**env, **{d: () for d in dims if d not in env}}
            try:
                got = shape_of(f.expr, dim_env)
            except LessonError as exc:
                raise LessonError(exc.message, key=f"{fused_t.key(name)}") from None
            if got != env[name]:
                raise LessonError(
                    f"the fused form is {show(got)}, but ∂L/∂{name} has the shape of {name}, "
                    f"{show(env[name])}",
                    key=fused_t.key(name),
                )
        if env[graph.loss]:
            raise LessonError(
                f"the loss '{graph.loss}' must be a scalar, but it is {show(env[graph.loss])}: "
                "reduce it with sum(...) or mean(...)",
                key=f"{t.key('nodes')}[{len(nodes) - 1}].expr",
            )
    reached = _reaching(graph)
    for p in params:
        if p not in reached:
            raise LessonError(
                f"the loss '{graph.loss}' does not depend on the parameter '{p}'",
                key=t.key("params"),
            )
    if values_t is not None or entries_t is not None:
        values, entries = read_values(values_t, entries_t, graph)
        graph = replace(graph, values=values, entries=entries)
    return graph


def _reaching(graph: Graph) -> set[str]:
    """The names the loss depends on."""
    need = {graph.loss}
    for node in reversed(graph.nodes):
        if node.name in need:
            need.update(symbols(node.expr))
    return need


def _depends_on(
    raw_nodes: list[tuple[Table, str, Expr]], index: int, target: str, seen: set[int] | None = None
) -> bool:
    seen = seen or set()
    if index in seen:
        return False
    seen.add(index)
    names = [n for _, n, _ in raw_nodes]
    for used in symbols(raw_nodes[index][2]):
        if used == target:
            return True
        if used in names and _depends_on(raw_nodes, names.index(used), target, seen):
            return True
    return False


def read_jacobian(t: Table) -> Jacobian:
    title = t.text("title", "A vector-to-vector function", limit=120)
    inputs = t.names("inputs")
    if not inputs:
        raise LessonError("needs at least one input", key=t.key("inputs"))
    outs = t.take("outputs", list)
    outputs = tuple(
        _equation(o, f"{t.key('outputs')}[{i}]", set(inputs)) for i, o in enumerate(outs)
    )
    if not outputs or len(outputs) > 8 or len(inputs) > 8:
        raise LessonError("between 1 and 8 inputs and outputs", key=t.key("outputs"))
    point = _point(t, "point", inputs)
    upstream = t.take("upstream", list)
    if len(upstream) != len(outputs) or not all(
        isinstance(u, (int, float)) and not isinstance(u, bool) for u in upstream
    ):
        raise LessonError(f"expected {len(outputs)} numbers, one per output", key=t.key("upstream"))
    t.done()
    return Jacobian(title, inputs, outputs, point, tuple(float(u) for u in upstream))
