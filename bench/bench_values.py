"""The cost of Derive's values steps (issue 26, item 2): a graph derived at the teacher's arrays
([graph.values]) against the same graph without them, in this process, cache off, best of 3 each,
alternating. Both derive the scalar view and the matrix form; the values steps add a forward and
the matrix rules at the arrays, torch autograd, and central differences over at most
MAX_FD_ENTRIES (100) entries per parameter.

    cs231n-toy-net    the fixture: 5×4 inputs, 4×10 and 10×3 weights (83 entries, all moved)
    100×100 chain     x (100×100), W (100×100, 10,000 entries: 100 moved), 20 nodes tanh(h @ W)

Target: the toy ≤ 2.5× (83 entries moved, two forward passes each with the kink test, against the
bare matrix form's 4-cut random arrays); the chain ≤ 4× (200 forward passes of 20 matrix products
of 100×100 are its finite differences).

    .venv/bin/python bench/bench_values.py
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROUNDS = 3

CHAIN = """schema = 1
id = "chain"
title = "A chain of 20 matrix products"
summary = "Values at 100×100."

[[explain]]
title = "Chain"
text = "tanh(h @ W), twenty times."

[graph]
inputs = ["x"]
params = ["W"]
{nodes}
[[graph.nodes]]
name = "L"
expr = "sum(h19**2)"

[graph.point]
x = 0.3
W = 0.5

[graph.shapes]
x = ["N", "D"]
W = ["D", "D"]

[graph.dims]
N = 100
D = 100

[graph.values]
x = {{ recipe = "normal", seed = 0, scale = 1.0 }}
W = {{ recipe = "normal", seed = 1, scale = 0.1 }}
"""


def chain():
    from tutor.lesson import loads

    nodes = "".join(
        f'[[graph.nodes]]\nname = "h{i}"\nexpr = "tanh({"x" if i == 0 else f"h{i - 1}"} @ W)"\n\n'
        for i in range(20)
    )
    return loads(CHAIN.format(nodes=nodes), "chain.toml")


def best(lesson) -> float:
    from tutor.derive import derive

    start = time.perf_counter()
    derive(lesson, use_cache=False)
    return time.perf_counter() - start


def main() -> int:
    import sympy  # noqa: F401 - loaded before timing, as the TUI has them by the time it derives
    import torch  # noqa: F401

    from tutor.lesson import load

    toy = ROOT / "tests" / "fixtures" / "courses" / "cs231n-toy-net.toml"
    cases = [("cs231n-toy-net", load(toy), 2.5), ("100×100 chain", chain(), 4.0)]
    failed = False
    for name, lesson, target in cases:
        bare = replace(lesson, graph=replace(lesson.graph, values={}, entries={}))
        with_values, without = [], []
        for _ in range(ROUNDS):
            without.append(best(bare))
            with_values.append(best(lesson))
        ratio = min(with_values) / min(without)
        ok = ratio <= target
        failed |= not ok
        print(
            f"{name}: with values {min(with_values):.2f} s, without {min(without):.2f} s, "
            f"ratio {ratio:.2f} (target ≤ {target}) {'ok' if ok else 'OVER'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
