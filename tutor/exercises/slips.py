"""What a wrong derivative answer slipped on: a node's name, an activation for its derivative,
a chain factor too many or too few, another node's gradient."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice

from tutor.exercises.points import Domain, Overflow, Points, same
from tutor.exercises.verdict import ACTIVATIONS, MAX_SLIPS, Verdict, typed
from tutor.expr.nodes import ONE, Apply, Expr, Num, Sym, call, literal, mul, power, sub, symbols
from tutor.lesson import Exercise, Graph


def other_gradient(
    graph: Graph | None, ex: Exercise, points: Points, given: list[float]
) -> str | None:
    from tutor.derive.scalar import gradient_trees

    if graph is None:
        return None
    for name, grad in gradient_trees(graph).items():
        if (
            grad is not None
            and name not in (ex.step, graph.loss)
            and same(given, points.values(grad))
        ):
            return name
    return None


def chain_factors(graph: Graph, name: str) -> set[Expr]:
    """The local partials on every path from `name` to the loss."""
    from tutor.derive.scalar import consumers, local_partials

    local = local_partials(graph)[0]
    used_by = consumers(graph)
    out, todo, seen = set(), [name], set()
    while todo:
        here = todo.pop()
        for c in used_by.get(here, ()):
            out.add(local[(c, here)])
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return {f for f in out if not isinstance(f, Num)}


def subtrees(tree: Expr) -> Iterator[Expr]:
    yield tree
    if isinstance(tree, Apply):
        for a in tree.args:
            yield from subtrees(a)


def on_own_chain(graph: Graph, asked: str | None, other: str, tree: Expr) -> bool:
    if asked is None:
        return False
    own = chain_factors(graph, asked) - chain_factors(graph, other)
    return any(t in own for t in subtrees(tree))


def name_slip(
    graph: Graph | None, points: Points, tree: Expr, expected: list[float]
) -> Verdict | None:
    """One name written where another belongs: the pre-activation z1 for the layer's input
    h1 = relu(z1), w1 for w2 when passing back through a layer, w for x. The answer with every
    appearance of that one name replaced by the other is the gradient."""
    if graph is None:
        return None
    from tutor.expr.nodes import substitute

    used = list(dict.fromkeys(symbols(tree)))
    names = list(graph.leaves) + [n.name for n in graph.nodes]
    for wrong in used:
        for right in names:
            if right == wrong or right == graph.loss:
                continue
            try:
                if same(points.values(substitute(tree, {wrong: Sym(right)})), expected):
                    return Verdict(
                        False,
                        f"You wrote {wrong} where {right} belongs ({what(graph, right)}).",
                        f"{wrong} for {right}",
                    )
            except (Overflow, Domain):
                continue
    return None


def what(graph: Graph, name: str) -> str:
    if name in graph.params:
        return f"{name} is a parameter"
    if name in graph.inputs:
        return f"{name} is an input"
    return f"{name} = {typed(graph.node(name).expr)}"


def times(a: list[float], b: list[float]) -> list[float]:
    return [x * y for x, y in zip(a, b, strict=False)]


def activation_slip(
    graph: Graph | None, points: Points, tree: Expr, expected: list[float]
) -> Verdict | None:
    """The activation written where its derivative belongs (relu(z1) for step(z1), or the node
    h1 = relu(z1) for it), or step(u) where relu(u) belongs: the answer with that one part
    swapped is the gradient. Checked before the chain factors, which would read relu(z1) for
    step(z1) as an extra factor h1 = ∂z2/∂w2 (relu(z1) = h1·step(z1))."""
    nodes: dict[str, Apply] = {}  # node name → its expression, for nodes that apply an activation
    for node in graph.nodes if graph is not None else ():
        if isinstance(node.expr, Apply) and node.expr.op in ACTIVATIONS:
            nodes[node.name] = node.expr
    for swapped, part in islice(swaps(tree, nodes), MAX_SLIPS):
        try:
            if same(points.values(swapped), expected):
                return slip_verdict(part, nodes)
        except (Overflow, Domain):
            continue
    return None


def swapped(part: Expr, nodes: Mapping[str, Apply]) -> Expr | None:
    """`part` of an answer with an activation put as its derivative, or step as relu; None if
    it is neither. Where the answer names a node (p = sigmoid(z)), the derivative uses the name:
    p*(1 - p)."""
    if isinstance(part, Sym) and part.name in nodes:
        act, u = nodes[part.name].op, nodes[part.name].args[0]
    elif isinstance(part, Apply) and part.op in ACTIVATIONS:
        act, u = part.op, part.args[0]
    elif isinstance(part, Apply) and part.op == "step":
        return call("relu", part.args[0])
    else:
        return None
    if act == "relu":
        return call("step", u)
    if act == "sigmoid":
        return mul(part, sub(ONE, part))
    return sub(ONE, power(part, 2))  # tanh


def swaps(tree: Expr, nodes: Mapping[str, Apply]) -> Iterator[tuple[Expr, Expr]]:
    """Each tree that differs from `tree` in one part swapped by swapped, with that part. Not
    in a denominator: a chain factor multiplies, and h1/step(z1) would pass for h1 (they differ
    only where step(z1) is 0 and the quotient is undefined)."""
    new = swapped(tree, nodes)
    if new is not None:
        yield new, tree
    if not isinstance(tree, Apply):
        return
    below = 1 if tree.op == "div" else 0 if tree.op == "pow" and literal(tree.args[1]) < 0 else None
    for i, arg in enumerate(tree.args):
        if i != below:
            for sub_tree, part in swaps(arg, nodes):
                yield Apply(tree.op, tree.args[:i] + (sub_tree,) + tree.args[i + 1 :]), part


def slip_verdict(part: Expr, nodes: Mapping[str, Apply]) -> Verdict:
    if isinstance(part, Sym):
        act, u = nodes[part.name].op, nodes[part.name].args[0]
    else:
        assert isinstance(part, Apply)  # swaps() yields a named node or a call, never a number
        act, u = part.op, part.args[0]
    a = typed(u)
    short = len(a) <= 40
    a = a if short else "…"
    if act == "step":
        held = next((n for n, e in nodes.items() if e == call("relu", u)), None)
        value = f"{held} = relu({a})" if held else f"relu({a})"
        return Verdict(
            False,
            f"step({a}) is the derivative of relu; the activation itself, {value}, belongs here.",
            "derivative for activation",
        )
    value = f"{act}({a})"
    what = f"{part.name} = {value}" if isinstance(part, Sym) else value
    name = part.name if isinstance(part, Sym) else value
    deriv = {
        "relu": f"step({a})" + (f" (1 where {a} > 0)" if short else ""),
        "sigmoid": f"{name}*(1 - {name})",
        "tanh": f"1 - {name}**2",
    }[act]
    return Verdict(
        False,
        f"{what} is the activation itself; its derivative {deriv} belongs here.",
        "activation for derivative",
    )


WORDS = {2: "both", 3: "all three", 4: "all four", 5: "all five", 6: "all six"}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def missing_branch(
    graph: Graph | None, name: str | None, points: Points, given: list[float]
) -> Verdict | None:
    """A variable used in several places (fan-out) gets the sum of its paths' gradients; an
    answer equal to the sum over some of the paths, not all, misses the others: say which. The
    paths and their products of local partials are the derivation's (`path_terms`)."""
    if graph is None or name is None:
        return None
    from tutor.derive.scalar import path_terms

    terms = path_terms(graph, name)
    if len(terms) < 2:
        return None
    try:
        values = [points.values(tree) for _, tree in terms]
    except (Overflow, Domain):
        return None
    n = len(terms)
    # the subsets that keep the most paths first: the fewest missing is the likeliest slip
    for mask in sorted(range(1, 2**n - 1), key=lambda m: -bin(m).count("1")):
        kept = [i for i in range(n) if mask >> i & 1]
        if same(given, [sum(values[i][k] for i in kept) for k in range(len(given))]):
            return _branch_verdict(name, [p for p, _ in terms], kept)
    return None


def _namer(paths: list[tuple[str, ...]]) -> tuple[Callable[[list[int]], str], bool]:
    """How to name a set of paths: by the use each starts with, or written out whole where several
    start with the same use."""
    firsts = [p[1] for p in paths]
    by_use = len(set(firsts)) == len(firsts)  # one path per use: name each by that use

    def which(indices: list[int]) -> str:
        noun = "path" if len(indices) == 1 else "paths"
        if by_use:
            return f"{noun} through {_listed([firsts[i] for i in indices])}"
        return f"{noun} {_listed([' → '.join(paths[i]) for i in indices])}"

    return which, by_use


def path_slip(
    graph: Graph | None, name: str | None, points: Points, given: list[float]
) -> Verdict | None:
    """A sum over paths with every path right but one, and that one slipped: its sign flipped, a
    whole number (the 2 of a square) lost or added, or one power of a node too few or too many
    (/den for /den**2). Say which path, and how."""
    if graph is None or name is None:
        return None
    from tutor.derive.scalar import local_partials, path_terms

    local = local_partials(graph)[0]
    terms = path_terms(graph, name, local)
    if len(terms) < 2:
        return None
    try:
        values = [points.values(tree) for _, tree in terms]
        nodes = {
            n: points.values(Sym(n)) for n in list(graph.leaves) + [n.name for n in graph.nodes]
        }
    except (Overflow, Domain):
        return None
    paths = [p for p, _ in terms]
    which, _ = _namer(paths)
    for i, own in enumerate(values):
        rest = [g - sum(v[k] for j, v in enumerate(values) if j != i) for k, g in enumerate(given)]
        if same(own, rest):
            return None  # this path is right: the slip is elsewhere
        where = f"The {which([i])}"
        right = "the other path is right" if len(paths) == 2 else "the other paths are right"
        if same(rest, [-v for v in own]):
            return Verdict(False, f"{where} has the wrong sign; {right}.", f"sign in {which([i])}")
        for k in range(2, 11):
            if same(rest, [v / k for v in own]):
                return Verdict(
                    False,
                    f"{where} is missing a constant factor {k}; {right}.",
                    f"factor {k} in {which([i])}",
                )
            if same(rest, [v * k for v in own]):
                return Verdict(
                    False,
                    f"{where} has an extra constant factor {k}; {right}.",
                    f"extra factor {k} in {which([i])}",
                )
        path = paths[i]
        for u, uv in nodes.items():
            for ratio, few in ((uv, True), ([1 / x if x else float("nan") for x in uv], False)):
                if not same(rest, times(own, ratio)):
                    continue
                holder = next(
                    (
                        (c, a)
                        for c, a in zip(path[1:], path[:-1], strict=False)
                        if u in set(symbols(local[(c, a)]))
                    ),
                    None,
                )
                rule = f" (∂{holder[0]}/∂{holder[1]} = {typed(local[holder])})" if holder else ""
                more = "few" if few else "many"
                return Verdict(
                    False,
                    f"{where} has one power of {u} too {more} in its denominator{rule}; {right}.",
                    f"power of {u} in {which([i])}",
                )
    return None


def _branch_verdict(name: str, paths: list[tuple[str, ...]], kept: list[int]) -> Verdict:
    firsts = [p[1] for p in paths]
    which, by_use = _namer(paths)

    miss = [i for i in range(len(paths)) if i not in kept]
    total = WORDS.get(len(paths), f"all {len(paths)}")
    why = (
        f"{name} is used by {_listed(firsts)}, and its gradient is the sum over {total}."
        if by_use
        else f"{name} reaches the loss along {len(paths)} paths, and its gradient is the sum over {total}."
    )
    message = f"You have the {which(kept)}; the {which(miss)} {'is' if len(miss) == 1 else 'are'} missing: {why}"
    return Verdict(False, message, f"missing {which(miss)}")
