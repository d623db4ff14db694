"""A `code` exercise's files, generated from the lesson's graph (never from lesson text run as
code): the starting file (signature, each argument's shape in the docstring, the forward pass
given, the backward left to write), the reference solution (reverse mode over the graph's
expression trees, written as numpy), and the slip variants the checker compares against (the
reference with relu's mask left out)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tutor.expr.nodes import ONE, Apply, Expr, Num, Sym, div, mul
from tutor.expr.ops import ONE_DIM, OPS, broadcast
from tutor.expr.shapes import infer_shapes, shape_of
from tutor.expr.text import number_text
from tutor.lesson import Exercise, Graph, Lesson

# numpy spelling of each function of the operation table ({0}, {1}: its arguments, as code)
CALLS = {
    "relu": "np.maximum({0}, 0)",
    "step": "({0} > 0)",
    "leaky_relu": "np.where({0} > 0, {0}, {1} * {0})",
    "leaky_step": "np.where({0} > 0, 1.0, {1})",
    "max": "np.maximum({0}, {1})",
    "abs": "np.abs({0})",
    "sign": "np.sign({0})",
    "sigmoid": "(1 / (1 + np.exp(-{0})))",
    "softplus": "np.logaddexp(0, {0})",
    "tanh": "np.tanh({0})",
    "exp": "np.exp({0})",
    "log": "np.log({0})",
    "sqrt": "np.sqrt({0})",
    "sum": "np.sum({0})",
    "mean": "np.mean({0})",
    "rowsum": "np.sum({0}, axis=-1, keepdims=True)",
    "rowmean": "np.mean({0}, axis=-1, keepdims=True)",
    "rowmax": "np.max({0}, axis=-1, keepdims=True)",
    "colsum": "np.sum({0}, axis=0)",
    "colmean": "np.mean({0}, axis=0)",
    "tril": "np.tril({0})",
    "onehot": "(np.arange({1}.shape[-1]) == {0}[:, None]).astype(float)",
}
INFIX = {"add": " + ", "sub": " - ", "mul": " * ", "div": " / ", "matmul": " @ ", "pow": " ** "}


def code(e: Expr) -> str:
    """`e` as numpy code, bracketed only where Python's precedence needs it."""
    if isinstance(e, Num):
        text = number_text(e.value)
        return f"({text})" if e.value < 0 else text
    if isinstance(e, Sym):
        return e.name
    if e.op == "neg":
        return "-" + _wrap(e.args[0], 30, True)
    if e.op == "T":
        return _wrap(e.args[0], 50, True) + ".T"
    if e.op in INFIX:
        p = OPS[e.op].prec
        strict = e.op in ("sub", "div", "matmul", "pow")
        return _wrap(e.args[0], p, e.op == "pow") + INFIX[e.op] + _wrap(e.args[1], p, strict)
    return CALLS[e.op].format(*(code(a) for a in e.args))


def _prec(e: Expr) -> int:
    if isinstance(e, Num):
        return 100 if e.value >= 0 else 30
    if isinstance(e, Sym) or e.op not in INFIX and e.op not in ("neg", "T"):
        return 100
    return OPS[e.op].prec


def _wrap(e: Expr, outer: int, strict: bool = False) -> str:
    inner, text = _prec(e), code(e)
    return f"({text})" if inner < outer or (strict and inner == outer) else text


@dataclass(frozen=True)
class CodeTask:
    """What the learner's function is: its name, arguments (with shapes) and returned gradients."""

    lesson_id: str
    exercise_id: str
    function: str
    args: tuple[str, ...]
    wrt: tuple[str, ...]
    shapes: dict[str, tuple[str, ...]]  # name → tuple of dimension names (() for a scalar)
    dims: dict[str, int]  # dimension → size

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.dims[d] for d in self.shapes.get(name, ()))

    def shape_text(self, name: str) -> str:
        dims = self.shapes.get(name, ())
        if not dims:
            return "a scalar"
        return f"{' x '.join(dims)} = {' x '.join(str(self.dims[d]) for d in dims)}"


def graph_of(lesson: Lesson) -> Graph:
    assert lesson.graph is not None  # a code exercise's lesson has a graph (checked on loading)
    return lesson.graph


def task_for(lesson: Lesson, exercise: Exercise) -> CodeTask:
    g = graph_of(lesson)
    shapes = infer_shapes(g) if g.shapes else {}
    return CodeTask(
        lesson.id,
        exercise.id,
        "backward",
        g.inputs + g.params,
        exercise.wrt or g.params,
        {k: tuple(v) for k, v in shapes.items()},
        dict(g.dims),
    )


def _dims_line(task: CodeTask, body: str) -> list[str]:
    """`N, D = x.shape`-style lines for the dimensions that `body` uses (a mean divides by N)."""
    import re

    used = set(re.findall(r"\b[A-Za-z_]\w*\b", body))
    lines = []
    seen: set[str] = set()
    for a in task.args:
        dims = task.shapes.get(a, ())
        if any(d in used and d not in seen for d in dims):
            names = [d if d in used and d not in seen else "_" for d in dims]
            lines.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = {a}.shape")
            seen.update(n for n in names if n != "_")
    return lines


def _forward(lesson: Lesson) -> list[str]:
    return [f"{n.name} = {code(n.expr)}" for n in graph_of(lesson).nodes]


def template(lesson: Lesson, exercise: Exercise) -> str:
    """The starting file: the forward pass given, the backward pass to write."""
    task = task_for(lesson, exercise)
    doc = [f"{a}: {task.shape_text(a)}" for a in task.args]
    returns = ", ".join(f"d{w}" for w in task.wrt)
    lines = [
        # lesson text reaches code only as a literal written by repr(): a title is never code
        repr(f"{lesson.title}: exercise {exercise.id}. Write the backward pass."),
        "",
        "import numpy as np",
        "",
        "",
        f"def {task.function}({', '.join(task.args)}):",
        f'    """Return {", ".join(f"∂L/∂{w}" for w in task.wrt)}: each has the shape of its variable.',
        "",
        *(f"    {d}" for d in doc),
        "",
        "    The check calls it on smaller arrays than these: take sizes from .shape.",
        '    """',
        "    # forward (given)",
        *(f"    {line}" for line in _forward(lesson)),
        "",
        "    # backward: your code here",
        *(f"    d{w} = ...    # {task.shape_text(w)}" for w in task.wrt),
        f"    return {returns}",
        "",
    ]
    return "\n".join(lines)


def reference(
    lesson: Lesson, exercise: Exercise, slip: str | None = None, info: dict[str, Any] | None = None
) -> str:
    """The tutor's own solution, or with one slip the checker recognises when a learner makes it
    (SLIPS); `info` collects where slips can be made (slip_names)."""
    task = task_for(lesson, exercise)
    body = _forward(lesson) + [""] + _backward(lesson, task, slip, info if info is not None else {})
    lines = [
        repr(f"{lesson.title}: exercise {exercise.id}, the reference solution."),
        "",
        "import numpy as np",
        "",
        "",
        f"def {task.function}({', '.join(task.args)}):",
    ]
    lines += [f"    {d}" for d in _dims_line(task, "\n".join(body))]
    lines += [f"    {line}" if line else "" for line in body]
    lines.append(f"    return {', '.join(f'd{w}' for w in task.wrt)}")
    return "\n".join(lines) + "\n"


def _size(shape: tuple[str, ...]) -> Expr:
    out: Expr = ONE
    for d in shape:
        out = mul(out, Sym(d)) if out != ONE else Sym(d)
    return out


def _backward(lesson: Lesson, task: CodeTask, slip: str | None, info: dict[str, Any]) -> list[str]:
    """Reverse mode over every node's tree, from the loss down: one line per gradient. `slip`
    (SLIPS) makes one mistake on purpose; `info` records where each kind could be made."""
    kind, _, where = (slip or "").partition(":")
    info.update(transposes=0, terms={}, factors=set(), cuts=[], masks=False)
    g = graph_of(lesson)
    shapes = task.shapes
    nodes = {n.name for n in g.nodes}
    needed = _needed(g, task.wrt)
    parts: dict[str, list[tuple[Expr, tuple[str, ...]]]] = {}
    lines: list[str] = []
    last_user: dict[str, int] = {}
    for i, n in enumerate(g.nodes):
        for s in _syms(n.expr):
            last_user.setdefault(s, i)  # reverse order: the earliest user is processed last

    def shape(e: Expr) -> tuple[str, ...]:
        return shape_of(e, shapes)

    def walk(e: Expr, G: Expr, gs: tuple[str, ...]) -> None:
        """Send the upstream gradient G (whose code has shape gs) down through e."""
        if isinstance(e, Num):
            return
        if isinstance(e, Sym):
            if e.name in needed:
                parts.setdefault(e.name, []).append((G, gs))
            return
        a = e.args
        if e.op == "matmul":
            sa, sb = shape(a[0]), shape(a[1])
            if not sa or not sb:
                walk(a[0], mul(G, a[1]), broadcast(gs, sb, "*"))
                walk(a[1], mul(G, a[0]), broadcast(gs, sa, "*"))
                return
            ga = (
                Apply("matmul", (G, transposed(a[1])))
                if len(sb) >= 2
                else Apply("outer", (G, a[1]))
            )
            gb = (
                Apply("matmul", (transposed(a[0]), G))
                if len(sa) >= 2
                else Apply("outer", (a[0], G))
            )
            walk(a[0], ga, sa)
            walk(a[1], gb, sb)
        elif e.op == "T":
            walk(a[0], Apply("T", (G,)), tuple(reversed(gs)))
        elif e.op == "tril" and shape(a[0]):
            walk(a[0], Apply("tril", (G,)), gs)  # masked entries pass nothing back
        elif e.op == "sum":
            walk(a[0], G, gs)  # copied to every element: expanded at the variable
        elif e.op == "mean":
            walk(a[0], div(G, _size(shape(a[0]))) if shape(a[0]) else G, gs)
        elif e.op in REDUCTIONS and shape(a[0]):
            sa = shape(a[0])
            if e.op == "rowmean":
                G = div(G, Sym(sa[-1]))
            elif e.op == "colmean":
                G = div(G, Sym(sa[0]))
            elif e.op == "rowmax":  # to each row's largest entry (ties share it)
                G = mul(G, Apply("argmax_mask", (a[0],)))
            # copied back along the reduced axis: made full size where it reaches its variable
            walk(a[0], G, broadcast(gs, sa, "*") if e.op == "rowmax" else gs)
        else:
            for arg, d in zip(a, OPS[e.op].d(a), strict=True):
                if isinstance(d, Apply) and d.op == "step" and e.op == "relu":
                    info["masks"] = True
                    slips: dict[str, Expr] = {
                        "no-mask": ONE,
                        "mask-grad": Apply("step", (G,)),
                        "mask-out": e,
                    }
                    d = slips.get(kind, d)
                if isinstance(d, Sym) and d.name in g.params:
                    info["factors"].add(d.name)
                    d = ONE if kind == "drop" and where == d.name else d
                walk(arg, mul(G, d), broadcast(gs, shape(d), "*"))

    def transposed(e: Expr) -> Expr:
        info["transposes"] += 1
        if kind == "no-T" and where == str(info["transposes"]):
            return e
        return e.args[0] if isinstance(e, Apply) and e.op == "T" else Apply("T", (e,))  # K.T.T is K

    def emit(name: str) -> None:
        terms: list[str] = []
        for G, s in parts.get(name, []):
            target = shapes.get(name, ())
            if len(s) < len(target):
                G, s = mul(G, Apply("ones_like", (Sym(name),))), target
            negative = isinstance(G, Apply) and G.op == "neg" and bool(terms)  # a − b, not a + −b
            G = G.args[0] if negative and isinstance(G, Apply) else G
            extra = len(s) - len(target)
            if target and s and target[-1] == ONE_DIM and s[-1] != ONE_DIM:
                G, s = (
                    Apply("sum_kept", (G,)),
                    s[:-1] + (ONE_DIM,),
                )  # the variable is N×1: sum each row
            if not target and s:
                text = f"np.sum({code(G)})"
            elif extra > 0:
                text = f"({code(G)}).sum({tuple(range(extra)) if extra > 1 else 0})"
            else:
                text = (
                    _wrap(G, OPS["sub"].prec, strict=True)
                    if negative
                    else number_text(G.value)
                    if isinstance(G, Num)
                    else code(G)
                )
            terms.append(("- " if negative else "+ ") + text if terms else text)
        if len(terms) > 1:
            info["terms"][name] = len(terms)
            if kind == "flip" and where.rpartition(".")[0] == name:
                k = int(where.rpartition(".")[2])
                terms[k] = (
                    f"{'+' if terms[k][0] == '-' else '-'} ({terms[k][2:]})"
                    if k
                    else f"-({terms[k]})"
                )
        lines.append(f"d{name} = {' '.join(terms) if terms else '0.0'}")

    emitted = set()
    for i in range(len(g.nodes) - 1, -1, -1):
        n = g.nodes[i]
        if n.name == g.loss:
            G: Expr = ONE
        elif n.name in needed:
            emit(n.name)
            emitted.add(n.name)
            G = Sym(f"d{n.name}")
            info["cuts"].append(n.name)
            if kind == "cut" and where == n.name:
                continue  # its gradient stops here: a path left out
        else:
            continue
        walk(n.expr, G, () if n.name == g.loss else shapes.get(n.name, ()))
        for s, first in last_user.items():
            if first == i and s in needed and s not in nodes and s not in emitted:
                emit(s)
                emitted.add(s)
    for w in task.wrt:
        if w not in emitted:
            emit(w)
    return lines


def _syms(e: Expr) -> Iterator[str]:
    if isinstance(e, Sym):
        yield e.name
    elif isinstance(e, Apply):
        for a in e.args:
            yield from _syms(a)


def _needed(g: Graph, wrt: Iterable[str]) -> set[str]:
    """The names whose gradient the wanted ones need: those on a path from them to the loss."""
    reach = set(wrt)
    changed = True
    while changed:
        changed = False
        for n in g.nodes:
            if n.name not in reach and any(s in reach for s in _syms(n.expr)):
                reach.add(n.name)
                changed = True
    return reach - {g.loss}


# matrix-rule helpers with no entry in the operation table
CALLS.update(
    outer="np.outer({0}, {1})",
    ones_like="np.ones_like({0})",
    argmax_mask="({0} == np.max({0}, axis=-1, keepdims=True))",
    sum_kept="np.sum({0}, axis=-1, keepdims=True)",
)
REDUCTIONS = ("rowsum", "rowmean", "rowmax", "colsum", "colmean")


def slip_names(lesson: Lesson, exercise: Exercise) -> list[str]:
    """Every slip this exercise's backward pass can be made with (SLIPS), each once."""
    info: dict[str, Any] = {}
    reference(lesson, exercise, info=info)
    names = ["no-mask", "mask-grad", "mask-out"] if info["masks"] else []
    users: dict[str, int] = {}
    for n in graph_of(lesson).nodes:
        for name in set(_syms(n.expr)):
            users[name] = users.get(name, 0) + 1
    # a path left out: only where the variable it starts from has another path to the loss
    names += [
        f"cut:{n}"
        for n in info["cuts"]
        if any(users.get(a, 0) > 1 for a in _syms(graph_of(lesson).node(n).expr))
    ]
    names += [f"drop:{p}" for p in sorted(info["factors"])]
    names += [f"flip:{v}.{k}" for v, n in info["terms"].items() for k in range(n)]
    names += [f"no-T:{k}" for k in range(1, info["transposes"] + 1)]
    return names
