"""Expressions as DAGs: a graph whose nodes reuse the previous one twice (a_i = a_(i−1)·a_(i−1) +
a_(i−1)) written out as a tree triples at every node, so anything that walks it as a tree takes
3^n steps. Every walk goes through `tutor.expr.nodes.fold`, once per distinct node: the tests count
those visits and find them growing linearly with the chain."""

from __future__ import annotations

import sys

import pytest

from tutor.derive import derive, forward_trees
from tutor.expr import nodes
from tutor.expr.calculus import diff
from tutor.expr.evaluate import Numpy, evaluate
from tutor.expr.nodes import Apply, Sym, dag_size, names, size
from tutor.expr.sympy_bridge import canonical, expansion_terms, to_sympy
from tutor.expr.text import pretty, to_text
from tutor.sandbox import sketch


def reuse_chain(n: int) -> str:
    """n nodes, each the previous one squared plus itself; the last is the loss."""
    lines = ["a1 = w*x"] + [f"a{i} = a{i - 1}*a{i - 1} + a{i - 1}" for i in range(2, n)]
    return "; ".join(lines + [f"L = a{n - 1}*a{n - 1} + a{n - 1}"])


POINT = "w = 0.01, x = 0.2"


def chain_lesson(n: int):
    return sketch(reuse_chain(n), POINT, "w").lesson()


@pytest.fixture
def visits(monkeypatch):
    """Counts the nodes that every `fold` in the tutor computes (each module's imported name too)."""
    count = [0]
    real = nodes.fold

    def counting(expr, f, memo=None):
        def counted(e, args):
            count[0] += 1
            return f(e, args)

        return real(expr, counted, memo)

    for name, module in list(sys.modules.items()):
        if name.startswith("tutor.") and getattr(module, "fold", None) is real:
            monkeypatch.setattr(module, "fold", counting)
    return count


def test_the_whole_derivation_visits_a_number_of_nodes_linear_in_the_chain(visits, monkeypatch):
    import tutor.derive

    monkeypatch.setattr(tutor.derive, "SYMBOLIC_BUDGET", 1e9)  # the same tidying at every length
    counts = {}
    for n in (16, 32, 64):
        visits[0] = 0
        deriv = derive(chain_lesson(n), use_cache=False)
        assert [c.ok for c in deriv.checks] == [True]
        counts[n] = visits[0]
    # twice the nodes, about twice the visits (a tree walk would square them; a per-node pass
    # over all later nodes would make them four times)
    assert counts[32] <= 2.3 * counts[16] and counts[64] <= 2.3 * counts[32], counts


def test_the_forward_tree_is_written_out_at_two_to_the_n_but_costs_its_nodes(visits):
    lesson = chain_lesson(62)
    g = lesson.graph
    visits[0] = 0
    loss = forward_trees(g)[g.loss]
    # w·x is 3 operations; each node makes 3·s + 2 of s (a·a + a)
    s = 3
    for _ in range(61):
        s = 3 * s + 2
    assert size(loss) == s and s > 3**61
    assert dag_size(loss) == 3 + 2 * 61 and names(loss) == ["w", "x"]
    walked = visits[0]
    assert walked <= 10 * 62, walked
    # each walk of the 5·10^29-operation tree costs its 125 nodes, and so do its repr and hash
    for work in (
        lambda: diff(loss, "w"),
        lambda: evaluate(loss, {"w": 0.01, "x": 0.2}, Numpy()),
        lambda: to_sympy(loss),
        lambda: expansion_terms(loss),
        lambda: pretty(loss, limit=200),
        lambda: to_text(loss, limit=200),
        lambda: repr(loss),
        lambda: hash(loss),
    ):
        visits[0] = 0
        work()
        assert visits[0] <= 4 * dag_size(loss) + 10, visits[0]


def test_the_value_and_gradient_of_the_shared_dag_are_the_chains():
    import torch

    loss = forward_trees(chain_lesson(62).graph)["L"]
    w, x = (
        torch.tensor(0.01, dtype=torch.float64, requires_grad=True),
        torch.tensor(0.2, dtype=torch.float64),
    )
    a = w * x
    for _ in range(61):
        a = a * a + a
    a.backward()
    env = {"w": 0.01, "x": 0.2}
    assert float(evaluate(loss, env, Numpy())) == pytest.approx(float(a.detach()), rel=1e-12)
    assert float(evaluate(diff(loss, "w"), env, Numpy())) == pytest.approx(float(w.grad), rel=1e-12)


def test_text_of_a_huge_dag_is_cut_and_sympy_refuses_it_by_size():
    loss = forward_trees(chain_lesson(62).graph)["L"]
    text = pretty(loss, limit=80)
    assert len(text) == 80 and text.endswith("…")
    tidy, why = canonical(loss)
    assert (
        tidy is loss
        and why.startswith("not simplified: ")
        and why.endswith(" operations (the limit is 400)")
    )


def test_a_tree_without_sharing_is_written_as_before():
    e = Apply("add", (Apply("mul", (Sym("a"), Sym("a"))), Sym("a")))
    assert to_text(e) == "((a * a) + a)" and pretty(e) == "a·a + a"
    assert size(e) == 5 and dag_size(e) == 5
    shared = Apply("add", (Apply("mul", (e, e)), e))
    assert size(shared) == 17 and dag_size(shared) == 7
    assert pretty(shared) == "(a·a + a)·(a·a + a) + a·a + a"


def test_a_cancelled_derivation_stops_at_its_next_step_and_is_kept_nowhere():
    import tutor.derive
    from tutor.derive import Cancelled, cache
    from tutor.sandbox import derivation

    lesson = sketch(
        reuse_chain(18), "w = 0.0123, x = 0.3", "w"
    ).lesson()  # a point no other test derives
    seen: list[int] = []
    with pytest.raises(Cancelled):
        derivation(lesson, lambda deriv, i: seen.append(i), cancelled=lambda: len(seen) >= 3)
    assert seen == [0, 1, 2]  # the fourth step was not derived
    assert cache.key(lesson) not in tutor.derive._MEMORY and cache.load(lesson) is None
    whole = derivation(lesson, lambda deriv, i: seen.append(i), cancelled=lambda: False)
    assert seen[3:] == list(range(len(whole.steps))) and [c.ok for c in whole.checks] == [True]
