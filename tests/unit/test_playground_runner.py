"""The playground's run loop (tutor/playground/runner.py), without Textual: chunked steps, a frame
every `every` steps or at a pace of a fake clock, cancellation seen within a chunk, divergence."""

from __future__ import annotations

import threading

import numpy as np

from tutor.playground.model import Config, Playground
from tutor.playground.runner import CANCELLED, DIVERGED, DONE, Runner, frame_of


def test_every_steps_a_frame_and_the_same_weights_as_one_long_run():
    pg, steps = Playground(Config()), []
    assert Runner(pg, every=40, chunk=25).run(lambda sps: steps.append(pg.step), until=130) == DONE
    assert steps == [40, 80, 120, 130] and pg.step == 130
    alone = Playground(Config())
    alone.run(130)
    assert np.array_equal(alone.linears[0].W, pg.linears[0].W)  # chunks change nothing of the run


def test_frames_at_the_clocks_pace_with_steps_per_second():
    pg, frames = Playground(Config()), []
    clock = lambda: pg.step / 64  # noqa: E731 - a clock on which each step takes 1/64 s (exact)
    Runner(pg, fps=4, chunk=8, clock=clock).run(
        lambda sps: frames.append((pg.step, sps)), until=100
    )
    # the first chunk's frame at once, then one per 1/4 s (16 steps) of this clock, the last at the end
    assert [step for step, _ in frames] == [8, 24, 40, 56, 72, 88, 100]
    assert [sps for _, sps in frames] == [64.0] * 7


def test_cancelled_within_a_chunk_and_no_frame_after():
    pg, frames = Playground(Config()), []
    budget = iter(range(7))
    cancelled = lambda: next(budget, None) is None  # noqa: E731 - true from the 8th look on
    lock = threading.Lock()
    assert (
        Runner(pg, lock, chunk=1000).run(lambda sps: frames.append(pg.step), cancelled) == CANCELLED
    )
    assert 0 < pg.step < 1000 and frames == [] and not lock.locked()


def test_a_diverging_run_ends_with_its_frame():
    pg, frames = Playground(Config(dataset="plane", lr=3.0)), []
    assert (
        Runner(pg, every=1000).run(lambda sps: frames.append(frame_of(pg, 4, 4)), until=5000)
        == DIVERGED
    )
    assert pg.diverged and frames[-1].stats.diverged and frames[-1].stats.step == pg.step < 5000
