"""The tutor's side of the sandbox: start child.py in a fresh empty folder and its own session,
send it the task on stdin, read its framed result from stdout (bounded), and kill its whole
process group on every way out: a result, an error, the wall-time limit (this process's watchdog,
which the child cannot stop), and the tutor ending (atexit here; on Linux the child also asked
the kernel to kill it when the tutor dies, whatever the way, crash and SIGKILL included)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

CHILD = Path(__file__).with_name("child.py")
MAGIC = b"BPT1"  # child.py's frame: MAGIC, 8-byte header length, JSON header, array bytes
RESULT_LIMIT = 16 << 20  # bytes of result read; more is a verdict, not an allocation
STDERR_KEPT = 4096  # the last bytes of the child's stderr kept for its error message
DTYPES = frozenset(
    np.dtype(t).str
    for t in ("f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1", "c16", "c8")
)
FLOOR = "BACKPROP_TUTOR_SANDBOX"  # "floor": no namespaces, no seccomp, as on a system without them

_live: set[int] = set()  # process groups of children still running
_lock = threading.Lock()


class Unreadable(ValueError):
    """The child's result is missing, too large or not what child.py writes (damaged or forged)."""

    status: int | None = None  # the child's exit status, and the end of its stderr
    stderr: str = ""


def _kill_all() -> None:
    with _lock:
        groups = list(_live)
    for pgid in groups:
        _killpg(pgid)


atexit.register(_kill_all)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(pgid, signal.SIGKILL)


def read_roots() -> list[str]:
    """What the child may read: Python's standard library and numpy's own files."""
    home = Path(np.__file__).resolve().parent
    roots = {
        sysconfig.get_path("stdlib"),
        sysconfig.get_path("platstdlib"),
        str(home),
        str(home.parent / "numpy.libs"),
    }
    return sorted(r for r in roots if r and os.path.isdir(r))


def hidden() -> list[str]:
    """Folders covered by an empty tmpfs in the child's mount namespace: the user's files."""
    return sorted({p for p in (os.environ.get("HOME"), "/home", "/root") if p and os.path.isabs(p)})


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    header = dict(
        header,
        inputs=[
            {"key": k, "dtype": a.dtype.str, "shape": list(a.shape)} for k, a in arrays.items()
        ],
    )
    head = json.dumps(header).encode()
    return (
        MAGIC
        + struct.pack(">Q", len(head))
        + head
        + b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values())
    )


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A result frame → (header, arrays), every array's dtype, shape and size checked."""
    if len(data) < 12 or data[:4] != MAGIC:
        raise Unreadable(
            "no result came back" if not data else "the result is not in the checker's format"
        )
    (length,) = struct.unpack(">Q", data[4:12])
    if length > len(data) - 12:
        raise Unreadable("the result is cut short")
    try:
        header = json.loads(data[12 : 12 + length])
    except (ValueError, RecursionError):
        raise Unreadable("the result's header is not JSON") from None
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("arrays"), list)
        or not isinstance(header.get("runs"), list)
    ):
        raise Unreadable("the result's header lacks its parts")
    arrays, at = {}, 12 + length
    for a in header["arrays"]:
        if (
            not isinstance(a, dict)
            or a.get("dtype") not in DTYPES
            or not isinstance(a.get("key"), str)
            or not isinstance(a.get("shape"), list)
            or len(a["shape"]) > 4
            or not all(isinstance(n, int) and 0 <= n <= RESULT_LIMIT for n in a["shape"])
        ):
            raise Unreadable("an array in the result has an unknown type or shape")
        dtype = np.dtype(a["dtype"])
        size = int(np.prod(a["shape"], dtype=np.int64)) * dtype.itemsize
        if size > len(data) - at:
            raise Unreadable("the result's arrays are cut short")
        arrays[a["key"]] = np.frombuffer(
            data, dtype=dtype, count=size // dtype.itemsize, offset=at
        ).reshape(a["shape"])
        at += size
    if at != len(data):
        raise Unreadable("the result has bytes after its arrays")
    return header, arrays


STARTED = b"\x06"  # the child's first byte on stderr: confined, the learner's code runs next
STARTUP_BOUND = 120.0  # seconds for the child to start and confine itself (imports, namespaces)


def run(
    task: dict[str, Any], arrays: dict[str, np.ndarray], wall: float, memory: int, cpu: int
) -> tuple[dict[str, Any], dict[str, np.ndarray], int]:
    """Run the child on `task`; (header, arrays, the child's pid). Raises Unreadable for a result that
    is missing or malformed, TimeoutError past `wall` seconds (the child is killed either way)."""
    work = tempfile.mkdtemp(prefix="backprop-tutor-code-")
    payload = pack(
        dict(
            task,
            memory_bytes=memory,
            cpu_seconds=cpu,
            read_roots=read_roots(),
            hide=hidden(),
            kernel=os.environ.get(FLOOR) != "floor",
            numpy_home=str(Path(np.__file__).resolve().parent.parent),
        ),
        arrays,
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
        "HOME": work,
    }
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=work,
            start_new_session=True,
            close_fds=True,
        )
        with _lock:
            _live.add(proc.pid)
        try:
            out, err, timed_out = _exchange(proc, payload, wall)
        finally:
            _killpg(proc.pid)  # the child is not reaped yet: its group id cannot have been reused
            proc.wait()
            with _lock:
                _live.discard(proc.pid)
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f is not None:  # never None: the three are pipes
                    f.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if timed_out:
        raise TimeoutError
    if len(out) > RESULT_LIMIT:
        raise Unreadable(f"the result is larger than {RESULT_LIMIT >> 20} MiB")
    try:
        header, got = unpack(bytes(out))
    except Unreadable as exc:
        exc.status, exc.stderr = proc.returncode, err.decode("utf-8", "replace")
        raise
    return header, got, proc.pid


def _exchange(
    proc: subprocess.Popen[bytes], payload: bytes, wall: float
) -> tuple[bytearray, bytes, bool]:
    """Write the task, read stdout (up to RESULT_LIMIT + 1 bytes) and stderr's tail, until both
    close or the deadline: this loop is the wall-time watchdog. The learner's `wall` seconds count
    from the child's STARTED byte (sent once it is confined, just before the learner's code runs):
    a loaded machine's slow interpreter start is not the learner's time, and is bounded apart."""
    deadline, started = time.monotonic() + STARTUP_BOUND, False
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    assert stdin is not None and stdout is not None and stderr is not None  # run() made three pipes
    sel = selectors.DefaultSelector()
    for pipe in (stdin, stdout, stderr):
        os.set_blocking(pipe.fileno(), False)
    sel.register(stdin, selectors.EVENT_WRITE)
    sel.register(stdout, selectors.EVENT_READ)
    sel.register(stderr, selectors.EVENT_READ)
    view, out, err = memoryview(payload), bytearray(), b""
    try:
        while any(k.fileobj is not stdin for k in sel.get_map().values()):
            left = deadline - time.monotonic()
            if left <= 0:
                return out, err, True
            for key, _ in sel.select(left):
                f = key.fileobj
                if f is stdin:
                    try:
                        view = view[os.write(key.fd, view[: 1 << 16]) :]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        view = view[:0]  # the child ended early: its exit status says why
                    if not view:
                        sel.unregister(f)
                        stdin.close()
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(f)
                elif f is stdout:
                    out += chunk
                    if len(out) > RESULT_LIMIT:
                        return out, err, False
                else:
                    at = -1 if started else chunk.find(STARTED)
                    if at >= 0:
                        started, chunk = True, chunk[:at] + chunk[at + len(STARTED) :]
                        deadline = time.monotonic() + wall
                    err = (err + chunk)[-STDERR_KEPT:]
        return out, err, False
    finally:
        sel.close()
