"""The two-layer-relu derivation, cold and cached (issue 3).

Cold: a fresh Python process imports the tutor and sympy, builds the whole derivation (sympy's
partials, the chains, the gradient check with torch, the matrix form) and renders every step at
width 100 — what the Derive tab costs the first time, off the UI thread. Measured as the child's
own wall time from its first line, and as the parent's wall time for the whole process.

Cached: once `derive()` has built it and every step has been rendered (as DerivePane.build does),
stepping is `derive(lesson)` (a cache hit keyed by the lesson's content) plus
`Derivation.render(i, 100)` (a cache hit per (index, width, ascii)). That is what a key press in
Derive costs, and it must fit in a 16 ms frame.

    .venv/bin/python bench/bench_derive.py   # cold time, cached per-step time, cached/16 ms (target ≤ 1)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = "two-layer-relu"
WIDTH = 100
FRAME = 0.016            # one frame at 60 Hz
ROUNDS = 3               # cold runs (each a fresh process); alternated with the cached measurement
CACHED_PASSES = 2_000    # passes over every step per cached measurement

COLD = f"""
import time
t0 = time.perf_counter()
from tutor.lesson import lessons_dir, load
from tutor.derive import derive
lesson = load(lessons_dir() / "{LESSON}.toml")
d = derive(lesson)
for i in range(len(d.steps)):
    d.render(i, {WIDTH})
print(len(d.steps), time.perf_counter() - t0)
"""


def cold() -> tuple[int, float, float]:
    """(steps, the child's own seconds from its first line, the parent's wall seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t
    steps, inner = out.stdout.split()
    return int(steps), float(inner), wall


def cached(lesson, passes: int) -> tuple[float, float]:
    """(seconds per step for derive()+render() on a warm cache, seconds per render() alone)."""
    from tutor.derive import derive

    d = derive(lesson)
    n = len(d.steps)
    for i in range(n):
        d.render(i, WIDTH)
    t = time.perf_counter()
    for _ in range(passes):
        for i in range(n):
            derive(lesson).render(i, WIDTH)
    both = (time.perf_counter() - t) / (passes * n)
    t = time.perf_counter()
    for _ in range(passes):
        for i in range(n):
            d.render(i, WIDTH)
    render_only = (time.perf_counter() - t) / (passes * n)
    return both, render_only


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tutor.derive import derive
    from tutor.lesson import lessons_dir, load

    lesson = load(lessons_dir() / f"{LESSON}.toml")
    t = time.perf_counter()
    derive(lesson)                      # warm this process's cache (not part of any figure below)
    warmup = time.perf_counter() - t
    best_inner = best_wall = best_step = best_render = float("inf")
    steps = 0
    for _ in range(ROUNDS):
        steps, inner, wall = cold()
        best_inner, best_wall = min(best_inner, inner), min(best_wall, wall)
        step, render_only = cached(lesson, CACHED_PASSES)
        best_step, best_render = min(best_step, step), min(best_render, render_only)
    print(f"lesson {LESSON}: {steps} steps, rendered at width {WIDTH}")
    print(f"cold, in the child     {best_inner:10.3f} s  (import tutor + sympy, derive, render all; best of {ROUNDS})")
    print(f"cold, process wall     {best_wall:10.3f} s  (interpreter start included)")
    print(f"  (for reference, the first derive() in this process, sympy imported, torch not: {warmup:.3f} s)")
    print(f"cached step            {best_step * 1e6:10.2f} µs (derive() cache hit + render() cache hit)")
    print(f"cached render() alone  {best_render * 1e6:10.2f} µs")
    print(f"ratio cached/frame     {best_step / FRAME:10.5f}  (16 ms budget; target ≤ 1)")
    print(f"ratio cold/cached      {best_inner / best_step:10,.0f}×")


if __name__ == "__main__":
    main()
