"""Pilot helpers: the one way a pilot test waits is for a state, never for a time."""

from __future__ import annotations

STATE_WAIT = 120.0         # seconds: a generous deadline for a state, on a loaded 2-core machine
POLL = 0.05                # how often a pilot test looks again (a poll, not a wait for a time)


async def until(pilot, condition, what: str, timeout: float = STATE_WAIT) -> None:
    """The one way pilot tests wait: for a state (`condition()` true), never for a time; fail
    naming `what` after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(POLL)
