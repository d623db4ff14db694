"""How soon the tutor exits on SIGTERM or SIGHUP (a kill, a dropped SSH session): the real program
on a 100×30 pseudo-terminal, on two-layer-relu after a finished run and in the middle of a
100,000-epoch run, from the signal to the process gone; against a baseline in the same run: a
plain Python process with the same heavy modules loaded (torch, sympy, textual) that ends with
`sys.exit(0)` from its signal handler (the interpreter's ordinary teardown).

    python bench/bench_exit.py      # worst and median exit per case (target ≤ 1 s), the baseline, the ratio

tests/system/test_terminal.py and test_hangup.py check that the tutor exits (within a bound for
a hang), with status 0 and the terminal restored; the figure is measured here.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.system.test_terminal import PtyTutor, long_lesson, start_training  # noqa: E402

ROUNDS = 3  # per case; each round starts the tutor (a few seconds, mostly torch)
TARGET = 1.0  # seconds from the signal to the process gone

BASELINE = """
import signal, sys
import torch, sympy, textual.app
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.signal(signal.SIGHUP, lambda *a: sys.exit(0))
print("ready", flush=True)
signal.pause()
"""


def gone_after(proc: subprocess.Popen, poll) -> float:
    """Seconds from now to the process ended (`poll(seconds)` reads its output meanwhile)."""
    started = time.perf_counter()
    while proc.poll() is None:
        poll(0.001)
    return time.perf_counter() - started


def tutor_exit(signame: str, long_run: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        target = str(long_lesson(Path(tmp))) if long_run else "two-layer-relu"
        tutor = PtyTutor(home, target)
        try:
            start_training(tutor, long_run)
            os.kill(tutor.proc.pid, getattr(signal, signame))
            took = gone_after(tutor.proc, tutor.pump)
            assert tutor.proc.returncode == 0, tutor.proc.returncode
            return took
        finally:
            tutor.close()


def baseline_exit(signame: str) -> float:
    proc = subprocess.Popen([sys.executable, "-c", BASELINE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, getattr(signal, signame))
    took = gone_after(proc, time.sleep)
    proc.stdout.close()
    return took


def main() -> None:
    cases = [(signame, long_run) for signame in ("SIGTERM", "SIGHUP") for long_run in (False, True)]
    tutor = {case: [] for case in cases}
    base = {signame: [] for signame in ("SIGTERM", "SIGHUP")}
    for _ in range(ROUNDS):  # alternate: load on the machine hits both alike
        for signame, long_run in cases:
            tutor[signame, long_run].append(tutor_exit(signame, long_run))
            base[signame].append(baseline_exit(signame))
    for (signame, long_run), times in tutor.items():
        worst, median, floor = (
            max(times),
            statistics.median(times),
            statistics.median(base[signame]),
        )
        what = "mid-run" if long_run else "after a run"
        print(
            f"{signame} {what:11}: exit worst {worst:.3f} s, median {median:.3f} s "
            f"(target ≤ {TARGET:.0f} s: {'met' if worst <= TARGET else 'MISSED'}); "
            f"baseline (plain python, same imports, sys.exit) {floor:.3f} s; median/baseline {median / floor:.2f}"
        )


if __name__ == "__main__":
    main()
