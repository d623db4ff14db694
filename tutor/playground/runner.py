"""The playground's run loop, shared by the screen (a thread worker) and the headless CLI: steps in
chunks, with a look at cancellation between and within them, and a frame made at a pace (at most
`fps` a second, for a screen) or every `every` steps (for a log). Free of Textual.

The callback `on_frame(steps_per_second)` is called outside the lock: it may take the lock itself
to read the run (the screen's capture does)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from tutor.playground.model import Boundary, Playground, Stats

CHUNK = 25  # steps between the loop's looks at the clock (cancellation is seen within)
FRAMES_PER_SECOND = 5  # a screen's boundary evaluations per second while training
CANCELLED, DIVERGED, DONE = "cancelled", "diverged", "done"


@dataclass(frozen=True)
class Frame:
    """What a screen draws of a run at one moment."""

    boundary: Boundary
    stats: Stats
    diagnosis: dict[str, Any] | None
    steps_per_second: float


def frame_of(pg: Playground, cols: int, rows: int, steps_per_second: float = 0.0) -> Frame:
    """The run's state now: its boundary over a cols × rows grid, its figures, and the doctor's
    verdict once there are enough steps to judge."""
    stats = pg.stats()
    return Frame(
        pg.boundary(cols, rows),
        stats,
        pg.diagnosis(stats) if pg.step >= 10 else None,
        steps_per_second,
    )


class Runner:
    """Trains `pg` (under `lock`, shared with whoever reads it) until cancelled, diverged or at
    step `until`, calling `on_frame` at the pace asked for and once as it ends by itself."""

    def __init__(
        self,
        pg: Playground,
        lock: AbstractContextManager[object] | None = None,
        *,
        fps: float | None = None,
        every: int | None = None,
        chunk: int = CHUNK,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if every is not None and every < 1:
            raise ValueError("every: at least 1 step")
        self.pg, self.lock = pg, lock if lock is not None else nullcontext()
        self.gap = 1.0 / fps if fps else math.inf
        self.every, self.chunk, self.clock = every, chunk, clock

    def run(
        self,
        on_frame: Callable[[float], object],
        cancelled: Callable[[], bool] = lambda: False,
        until: int | None = None,
    ) -> str:
        """→ CANCELLED, DIVERGED or DONE (step `until` reached)."""
        pg, clock = self.pg, self.clock
        next_frame = (
            clock() if self.gap < math.inf else math.inf
        )  # paced: the first chunk's frame at once
        mark, mark_step, sps = clock(), pg.step, 0.0
        while True:
            if cancelled():
                return CANCELLED
            n = self.chunk
            if until is not None:
                n = min(n, until - pg.step)
            if self.every:
                n = min(n, self.every - pg.step % self.every)
            with self.lock:
                pg.run(max(n, 0), cancelled)
                diverged, step = pg.diverged, pg.step
            ended = diverged or (until is not None and step >= until)
            now = clock()
            if ended or now >= next_frame or (self.every and step % self.every == 0):
                if now > mark:
                    sps, mark, mark_step = (step - mark_step) / (now - mark), now, step
                if not cancelled() or ended:
                    on_frame(sps)
                next_frame = clock() + self.gap
            if ended:
                return DIVERGED if diverged else DONE
