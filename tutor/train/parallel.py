"""Data-parallel training on this machine: start N worker processes
(tutor/train/parallel_worker.py), read rank 0's reports, and make sure every worker is gone on
every way out.

The workers meet through a file store in a fresh temporary folder (no port to pick or race for) and
talk over gloo on the loopback interface only. They form one process group of their own, which is
killed when the run ends, fails or is cancelled, and at exit; on Linux each also asks the kernel to
kill it when the thread that started it ends (a crash or SIGKILL of the tutor included). A worker
that fails to start is an error within STARTUP_BOUND seconds, never a hang.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from tutor.lesson import MAX_WORKERS

STARTUP_BOUND = 120.0  # seconds for every worker to import torch, load the lesson and join
STALL_BOUND = 120.0  # seconds without a report once running: a worker is stuck
STDERR_KEPT = 2000  # characters of a failed worker's stderr in the error

_live: set[int] = set()  # process groups of workers still running
_lock = threading.Lock()


class ParallelError(Exception):
    """The workers could not start or stopped; the message says why, in one line."""


def check_workers(n: int) -> str | None:
    """What is wrong with `n` workers, or None."""
    if not 1 <= n <= MAX_WORKERS:
        return f"--workers must be within 1..{MAX_WORKERS}, found {n}"
    return None


def _kill(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(pgid, signal.SIGKILL)


def _kill_all() -> None:
    with _lock:
        groups = list(_live)
    for pgid in groups:
        _kill(pgid)


atexit.register(_kill_all)


def live_groups() -> list[int]:
    """The process groups of the workers running now (tests look for them)."""
    with _lock:
        return sorted(_live)


def _environment(rank: int, workers: int) -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds the tutor package
    env = dict(
        os.environ,
        RANK=str(rank),
        WORLD_SIZE=str(workers),
        LOCAL_RANK=str(rank),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
    )
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # gloo's sockets on the loopback interface only
    for key in ("MASTER_ADDR", "MASTER_PORT"):  # the file store replaces them
        env.pop(key, None)
    return env


def run(
    lesson_path: str,
    workers: int,
    variant: str | None = None,
    epochs: int | None = None,
    log_every: int | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Run the lesson's model on `workers` processes; yields rank 0's reports (parallel_worker.py:
    "ready", then "step" for the logged steps, then "done"). Raises ParallelError."""
    problem = check_workers(workers)
    if problem:
        raise ParallelError(problem)
    folder = tempfile.mkdtemp(prefix="backprop-tutor-workers-")
    command = [
        sys.executable,
        "-m",
        "tutor.train.parallel_worker",
        str(Path(lesson_path).resolve()),
        "--json",
        "--init",
        Path(folder, "store").as_uri(),
        "--parent",
        str(os.getpid()),
    ]
    for flag, value in (("--variant", variant), ("--epochs", epochs), ("--log-every", log_every)):
        if value is not None:
            command += [flag, str(value)]
    procs: list[subprocess.Popen[bytes]] = []
    errs: list[TextIO] = []
    try:
        for rank in range(workers):
            log = Path(folder, f"stderr-{rank}")
            errs.append(open(log, "w+", encoding="utf-8", errors="replace"))  # noqa: SIM115

            group = procs[0].pid if procs else 0  # rank 0 leads a new group; the rest join it
            out = subprocess.PIPE if rank == 0 else subprocess.DEVNULL
            procs.append(
                subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    cwd=folder,
                    stdout=out,
                    stderr=errs[-1],
                    env=_environment(rank, workers),
                    close_fds=True,
                    process_group=group,
                )
            )
            if rank == 0:
                with _lock:
                    _live.add(procs[0].pid)
        yield from _reports(procs, errs, cancelled)
    finally:
        if procs:
            _kill(procs[0].pid)  # rank 0 is not reaped yet: its group id cannot be reused
            for proc in procs:
                proc.wait()
            with _lock:
                _live.discard(procs[0].pid)
            if procs[0].stdout is not None:
                procs[0].stdout.close()
        for err in errs:
            err.close()
        shutil.rmtree(folder, ignore_errors=True)


def _reports(
    procs: list[subprocess.Popen[bytes]], errs: list[TextIO], cancelled: Callable[[], bool]
) -> Iterator[dict[str, Any]]:
    out = procs[0].stdout
    assert out is not None
    sel = selectors.DefaultSelector()
    sel.register(out, selectors.EVENT_READ)
    buffer, started, last = b"", False, time.monotonic()
    try:
        while True:
            if cancelled():
                return
            ready = sel.select(0.2)
            if ready:
                chunk = os.read(out.fileno(), 65536)
                if not chunk:
                    _failed(procs, errs, "rank 0 stopped before the run ended")
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    last, started = time.monotonic(), True
                    yield event
                    if event.get("event") == "done":
                        return
            for rank, proc in enumerate(procs):
                if proc.poll() not in (None, 0):  # a worker that ended well waits for nothing
                    _failed(procs, errs, f"worker {rank} stopped (exit status {proc.returncode})")
            bound = STALL_BOUND if started else STARTUP_BOUND
            if time.monotonic() - last > bound:
                what = "started" if not started else "reported"
                _failed(procs, errs, f"the workers have not {what} within {bound:.0f} s")
    finally:
        sel.close()


def _failed(procs: list[subprocess.Popen[bytes]], errs: list[TextIO], what: str) -> None:
    _kill(procs[0].pid)
    for proc in procs:
        proc.wait()
    tails = []
    for rank, err in enumerate(errs):
        err.seek(0)
        text = err.read()[-STDERR_KEPT:].strip()
        if text:
            tails.append(f"worker {rank}: {text.splitlines()[-1]}")
    why = f" ({'; '.join(tails[:2])})" if tails else ""
    raise ParallelError(f"data-parallel run failed: {what}{why}")
