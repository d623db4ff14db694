"""Resident memory after 10³ and after 10⁶ training steps of the numpy trainer with the UI's
policy (issue 7): the loss History kept, snapshots at 10 Hz plus every (total // 500)-th step as
TrainPane.train_worker logs them, and an `emit` that stores the latest snapshot in a slot.

Each run is a fresh process (psutil): RSS once the session is built (imports, data, weights), then
after the run, after gc.collect(); the peak RSS too. The long run is 10⁶ steps of single-neuron:
two-layer-relu trains at about 12,000 steps/s here, so its 10⁶ steps would take well over a minute;
two-layer-relu is measured at 10³ and 10⁵ steps as a second check on a model with 400 weights.

    .venv/bin/python bench/bench_memory.py    # RSS figures and the ratio 10⁶/10³ (target ≤ 1.2)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.2

DRIVER = r"""
import gc, json, sys, time
import psutil
from tutor.train.datasets import load
from tutor.lesson import lessons_dir, load as load_lesson
from tutor.train.session import LogPolicy, Session
from tutor.train.snapshot import History
from tutor.train.spec import resolve

lesson_id, steps = sys.argv[1], int(sys.argv[2])
proc = psutil.Process()
lesson = load_lesson(lessons_dir() / f"{lesson_id}.toml")
data = load(lesson.train.dataset)
spec = resolve(lesson, "numpy", epochs=1)
batches = Session(spec, data).batches_per_epoch
spec = resolve(lesson, "numpy", epochs=max(1, steps // batches))
session = Session(spec, data, History())
gc.collect()
before = proc.memory_info().rss
slot = {"latest": None, "count": 0}

def emit(snapshot):                     # the UI's slot: the latest snapshot only
    slot["latest"] = snapshot
    slot["count"] += 1

policy = LogPolicy(every=max(1, session.total // 500), interval=0.1)     # as TrainPane.train_worker
t = time.perf_counter()
final = session.run(emit=emit, policy=policy)
seconds = time.perf_counter() - t
gc.collect()
after = proc.memory_info().rss
import resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"steps": session.step, "before": before, "after": after, "peak": peak, "rows": len(session.history),
                  "snapshots": slot["count"], "seconds": seconds, "diverged": final.diverged, "error": final.error,
                  "loss": final.loss}))
"""


def measure(lesson_id: str, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, lesson_id, str(steps)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["steps"] == steps and not r["diverged"] and not r["error"], r
    return r


def mib(n: float) -> str:
    return f"{n / 2**20:7.1f} MiB"


def report(lesson_id: str, short: int, long: int) -> float:
    a, b = measure(lesson_id, short), measure(lesson_id, long)
    for r in (a, b):
        print(
            f"  {lesson_id:15s} {r['steps']:>9,} steps: RSS {mib(r['after'])} (built {mib(r['before'])}, "
            f"run added {(r['after'] - r['before']) / 2**20:+6.1f} MiB, max RSS {mib(r['peak'])} by getrusage)  "
            f"{r['rows']} history rows, {r['snapshots']} snapshots, {r['steps'] / r['seconds']:,.0f} steps/s"
        )
    ratio = b["after"] / a["after"]
    print(
        f"  ratio RSS {long:,}/{short:,} steps  {ratio:5.3f}   (max RSS {b['peak'] / a['peak']:5.3f})"
    )
    return ratio


def main() -> None:
    t = time.perf_counter()
    print(
        "numpy trainer, the UI's policy (History, 10 Hz snapshots, every total//500-th step, latest in a slot)"
    )
    print("long run on single-neuron (two-layer-relu's 10⁶ steps would take over a minute here):")
    ratio = report("single-neuron", 10**3, 10**6)
    print("second check on two-layer-relu (H = 100), 10³ and 10⁵ steps:")
    report("two-layer-relu", 10**3, 10**5)
    print(
        f"ratio 10⁶/10³ (single-neuron) {ratio:5.3f}  (target ≤ {TARGET})   [{time.perf_counter() - t:.0f} s]"
    )


if __name__ == "__main__":
    main()
