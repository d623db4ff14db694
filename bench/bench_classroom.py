"""A class of simulated learners on one `backprop-tutor serve` (127.0.0.1 only): each connects
over the websocket, gives a name, opens single-neuron and takes a derivation step; the server
answers each. Reported: memory per learner at the name screen (idle: no torch, sympy or
scikit-learn) and after the step (sympy loaded for Derive), the whole class's, and how long
after the clients close every tutor process is gone (target ≤ 5 s), against a baseline in the
same run: one learner alone closing.

    python bench/bench_classroom.py [LEARNERS]      # 20 by default

tests/system/test_classroom_serve.py runs a smaller class (4) and asserts that the processes are
gone within a bound for a hang; the figures are measured here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.system.test_classroom_serve import Served, visit  # noqa: E402
from tutor.serve.probe import Learner  # noqa: E402

LEARNERS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
BOUND = 600.0  # seconds for the whole class to arrive: a bound for a hang
TARGET = 5.0  # seconds from the clients closing to every tutor process gone


def rss_mb(served: Served) -> list[float]:
    out = []
    for p in served.tutors():
        with contextlib.suppress(Exception):  # gone meanwhile
            out.append(p.memory_info().rss / 2**20)
    return out


async def gone_after_close(served: Served, learners: list[Learner]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(one.close() for one in learners))
    while served.tutors():
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        served = Served(Path(tmp), "--max-learners", str(LEARNERS + 1))
        try:
            # baseline: one learner, idle at the name screen, then closing
            one = Learner(served.base)
            await one.connect()
            await one.wait_for("Type your name", timeout=BOUND)
            alone = await gone_after_close(served, [one])

            learners = [Learner(served.base) for _ in range(LEARNERS)]
            started = time.perf_counter()
            for learner in learners:
                await learner.connect()
            await asyncio.wait_for(
                asyncio.gather(
                    *(one.wait_for("Type your name", timeout=BOUND) for one in learners)
                ),
                BOUND,
            )
            idle = rss_mb(served)
            await asyncio.wait_for(
                asyncio.gather(
                    *(one.press(f"learner {i}", "enter") for i, one in enumerate(learners))
                ),
                BOUND,
            )
            await asyncio.gather(*(one.close() for one in learners))
            while served.tutors():
                await asyncio.sleep(0.01)

            learners = [Learner(served.base) for _ in range(LEARNERS)]
            await asyncio.wait_for(
                asyncio.gather(*(visit(one, f"learner {i}") for i, one in enumerate(learners))),
                BOUND,
            )
            arrived = time.perf_counter() - started
            stepped = rss_mb(served)
            gone = await gone_after_close(served, learners)
        finally:
            served.stop()
    print(
        f"{LEARNERS} learners on one server (127.0.0.1), each answered; the class arrived and stepped in "
        f"{arrived:.1f} s"
    )
    print(
        f"memory per learner, idle at the name screen: {sum(idle) / len(idle):.0f} MB "
        f"(max {max(idle):.0f}), the class {sum(idle):.0f} MB"
    )
    print(
        f"memory per learner, after a Derive step:     {sum(stepped) / len(stepped):.0f} MB "
        f"(max {max(stepped):.0f}), the class {sum(stepped):.0f} MB"
    )
    print(
        f"every process gone {gone:.2f} s after the {LEARNERS} clients closed (target ≤ {TARGET:.0f} s: "
        f"{'met' if gone <= TARGET else 'MISSED'}); one learner alone: {alone:.2f} s, ratio {gone / alone:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
