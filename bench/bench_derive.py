"""Derivation cost, cold and from the disk cache (issue 13).

Cold: a fresh process derives a lesson (imports, sympy's tidying, the torch check, the matrix
form, every step rendered at width 100) with an empty cache. Baseline, measured in the same run:
a bare process that only runs `import sympy, torch`. Targets: every curriculum lesson ≤ 1.5×
the baseline; a nasty generated 64-node graph ≤ 3×.

Warm: a fresh process whose disk cache holds the lesson: the time until its first step is
rendered (what re-opening a lesson costs), against one 16 ms frame plus the same bare process
start (`import tutor`), reported as milliseconds beyond that start.

Reuse chain (issue 25): the 62-node graph a1 = w·x, a_i = a_(i−1)·a_(i−1) + a_(i−1) (3^62
operations written out as a tree; once exponential, over a minute at 18 nodes), each a whole
fresh process with an empty cache: `backprop-tutor --check FILE`, `backprop-tutor derive GRAPH`,
and the sandbox's derivation call (`tutor.sandbox.derivation`, every step rendered as the TUI
does), against a whole bare `python -c "import sympy, torch"` process in the same run. Target ≤ 3×.

    .venv/bin/python bench/bench_derive.py          # the lessons, then the reuse chain
    .venv/bin/python bench/bench_derive.py chain    # the reuse chain only
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROUNDS = 3

RUN = """
import sys, time
t0 = time.perf_counter()
from tutor.lesson import load
from tutor.derive import derive
from tutor.present.derivation import render_step
first = []
def arrived(step, deriv):
    render_step(step, 100)
    if not first:
        first.append(time.perf_counter() - t0)
d = derive(load(sys.argv[1]), on_step=arrived)
print(first[0], time.perf_counter() - t0)
"""


def timed(code: str, *args: str, cache: str) -> tuple[float, float]:
    env = dict(os.environ, BACKPROP_TUTOR_CACHE=cache, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    first, total = out.stdout.split()
    return float(first), float(total)


def bare(imports: str, cache: str) -> float:
    return timed(
        f"import time\nt0 = time.perf_counter()\nimport {imports}\nt = time.perf_counter() - t0\n"
        "print(t, t)",
        cache=cache,
    )[1]


def main() -> None:
    from tests.unit.test_derive_core import random_lesson

    targets = [(p.stem, str(p)) for p in sorted((ROOT / "lessons").glob("*.toml"))]
    nasty = Path(tempfile.mkdtemp()) / "nasty.toml"
    nasty.write_text(random_lesson(64, 100))
    targets.append(("nasty-64-node", str(nasty)))
    base = statistics.median(bare("sympy, torch", tempfile.mkdtemp()) for _ in range(ROUNDS))
    start = statistics.median(
        bare("tutor.lesson, tutor.derive", tempfile.mkdtemp()) for _ in range(ROUNDS)
    )
    print(
        f"baseline: bare `import sympy, torch` {base:.2f} s; bare `import tutor.derive` {start * 1000:.0f} ms"
    )
    print(f"{'lesson':24} {'cold s':>7} {'ratio':>6} {'target':>6} {'warm first step ms':>19}")
    for name, path in targets:
        colds, warms = [], []
        for _ in range(ROUNDS):
            cache = tempfile.mkdtemp()
            colds.append(timed(RUN, path, cache=cache)[1])
            warms.append(timed(RUN, path, cache=cache)[0])  # the same cache, now filled
        cold = statistics.median(colds)
        target = 3.0 if name.startswith("nasty") else 1.5
        print(
            f"{name:24} {cold:7.2f} {cold / base:6.2f} {target:6.1f} {statistics.median(warms) * 1000:19.0f}"
        )


CHAIN_NODES = 62
CHAIN_POINT = "w = 0.01, x = 0.2"
SANDBOX = """
import sys
from tutor.present.derivation import render
from tutor.sandbox import derivation, sketch
d = derivation(sketch(sys.argv[1], sys.argv[2], "w").lesson())
for i in range(len(d.steps)):
    render(d, i, 80)
assert all(c.ok for c in d.checks)
"""


def reuse_chain(n: int) -> str:
    lines = ["a1 = w*x"] + [f"a{i} = a{i - 1}*a{i - 1} + a{i - 1}" for i in range(2, n)]
    return "\n".join(lines + [f"L = a{n - 1}*a{n - 1} + a{n - 1}"])


def process(*args: str) -> float:
    """Seconds for a whole fresh process (interpreter start included), with an empty cache."""
    env = dict(os.environ, BACKPROP_TUTOR_CACHE=tempfile.mkdtemp(), PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], capture_output=True, check=True, cwd=ROOT, env=env, timeout=600
    )
    return time.perf_counter() - t


def chain() -> None:
    sys.path.insert(0, str(ROOT))
    from tutor.sandbox import save, save_path, sketch

    graph = reuse_chain(CHAIN_NODES)
    path = save(
        sketch(graph, CHAIN_POINT, "w"), save_path("reuse-chain", cwd=Path(tempfile.mkdtemp()))
    )
    runs = {
        "bare import sympy, torch": ("-c", "import sympy, torch"),
        "--check FILE": ("-m", "tutor", "--check", str(path)),
        "derive GRAPH": ("-m", "tutor", "derive", graph, "--at", CHAIN_POINT, "--wrt", "w"),
        "sandbox derivation": ("-c", SANDBOX, graph, CHAIN_POINT),
    }
    times = {
        name: statistics.median(process(*args) for _ in range(ROUNDS))
        for name, args in runs.items()
    }
    base = times.pop("bare import sympy, torch")
    print(
        f"\n{CHAIN_NODES}-node reuse chain, whole processes, median of {ROUNDS}; "
        f"baseline: bare `import sympy, torch` {base:.2f} s"
    )
    print(f"{'run':24} {'s':>6} {'ratio':>6} {'target':>6}")
    for name, t in times.items():
        print(f"{name:24} {t:6.2f} {t / base:6.2f} {3.0:6.1f}")


if __name__ == "__main__":
    if sys.argv[1:] != ["chain"]:
        main()
    chain()
