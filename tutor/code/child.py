"""Runs a learner's code, in its own process: `python -I child.py PARENT_PID`, started by check.py
in a fresh empty working directory, in its own session. Nothing here imports the tutor.

The task (the learner's source, the function's name, the input arrays) arrives on stdin, framed
(MAGIC below; runner.py writes and reads it); the result leaves on the descriptor stdout was,
framed the same way, and the parent validates it. Before the learner's code is compiled the process confines itself (jail.py: the kernel's
isolation where the system has it, resource limits, and an audit hook as the floor everywhere),
and it holds nothing the learner could use to pass: the expected gradients are never sent here.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import struct
import sys
import traceback
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import Any

OUTPUT_LIMIT = 4000  # characters of the learner's printed output kept
INPUT_LIMIT = 64 << 20  # bytes of task read from stdin
MAGIC = b"BPT1"  # a frame: MAGIC, the header's length (8 bytes, big-endian), the JSON
#                            header, then the arrays' bytes in the header's order


class Bounded:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: object) -> int:
        text = str(text)
        if self.size < OUTPUT_LIMIT:
            self.parts.append(text[: OUTPUT_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: what is printed is kept in memory, up to OUTPUT_LIMIT."""

    def text(self) -> str:
        out = "".join(self.parts)
        return out + (
            f"\n… ({self.size - OUTPUT_LIMIT} more characters not kept)"
            if self.size > OUTPUT_LIMIT
            else ""
        )


def _guarded_import(
    allowed: set[str], real_import: Callable[..., ModuleType]
) -> Callable[..., ModuleType]:
    def guarded(
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: tuple[str, ...] = (),
        level: int = 0,
    ) -> ModuleType:
        root = name.split(".")[0]
        if level != 0 or root not in allowed:
            raise ImportError(
                f"import {name}: only {', '.join(sorted(allowed))} can be imported here"
            )
        return real_import(name, globals, locals, fromlist, level)

    return guarded


def _learner_line(tb: TracebackType | None, path: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def _error(exc: BaseException, path: str) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "line": _learner_line(exc.__traceback__, path),
    }


def _read_task() -> tuple[dict[str, Any], memoryview]:
    chunks, size = [], 0
    while size <= INPUT_LIMIT:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if data[:4] != MAGIC or size > INPUT_LIMIT:
        os._exit(4)
    (length,) = struct.unpack(">Q", data[4:12])
    return json.loads(data[12 : 12 + length]), memoryview(data)[12 + length :]


def _frame(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    head = json.dumps(header).encode()
    return MAGIC + struct.pack(">Q", len(head)) + head + b"".join(blobs)


def _jail() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tutor_code_jail", os.path.join(os.path.dirname(__file__), "jail.py")
    )
    assert spec is not None and spec.loader is not None  # a .py file's path always has both
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(parent: int) -> None:
    task, raw = _read_task()
    jail = _jail()
    work = os.getcwd()
    level = jail.confine(work, task["hide"], task["read_roots"], parent, task["kernel"])
    if task.get("numpy_home") and task["numpy_home"] not in sys.path:
        sys.path.append(task["numpy_home"])
    import numpy as np  # loaded before the limits: its libraries map a lot of address space

    arrays, at = {}, 0
    for a in task["inputs"]:
        n = int(np.prod(a["shape"], dtype=np.int64)) * np.dtype(a["dtype"]).itemsize
        arrays[a["key"]] = (
            np.frombuffer(raw[at : at + n], dtype=a["dtype"]).reshape(a["shape"]).copy()
        )
        at += n
    del raw
    out_fd = os.dup(1)  # the result's way out; stdout itself now goes nowhere
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    level["limits"] = jail.limit(task["memory_bytes"], task["cpu_seconds"])
    os.write(2, b"\x06")  # runner.STARTED: the learner's wall time counts from here
    jail.guard(work, task["read_roots"])
    level["audit_hook"] = True
    result = {"runs": [], "sandbox": level}
    saved: dict[str, Any] = {}
    out, err = Bounded(), Bounded()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        for label, path, source in task["sources"]:
            safe = dict(vars(builtins))
            for name in ("open", "input", "breakpoint", "exit", "quit", "help"):
                safe.pop(name, None)
            safe["__import__"] = _guarded_import(set(task["allowed"]), builtins.__import__)
            env = {"__builtins__": safe, "__name__": "learner"}
            run = {"label": label, "outputs": [], "error": None}
            result["runs"].append(run)
            try:
                exec(compile(source, path, "exec"), env)
                fn = env.get(task["function"])
                if not callable(fn):
                    run["error"] = {
                        "type": "NameError",
                        "message": f"there is no function {task['function']}()",
                        "line": None,
                    }
                    continue
                for seed in range(task["seeds"]):
                    args = [arrays[f"{seed}/{a}"].copy() for a in task["args"]]
                    args = [a[()] if a.ndim == 0 else a for a in args]  # scalars as numpy floats
                    got = fn(*args)
                    if len(task["wrt"]) == 1 and not isinstance(got, (tuple, list)):
                        got = (got,)
                    run["outputs"].append(_describe(got, seed, label, saved, np))
            except SyntaxError as exc:
                run["error"] = {"type": "SyntaxError", "message": exc.msg, "line": exc.lineno}
            except MemoryError as exc:
                run["error"] = {
                    "type": "MemoryError",
                    "message": str(exc)[:200],
                    "line": _learner_line(exc.__traceback__, path),
                }
            except Exception as exc:  # noqa: BLE001 - the learner's exception, reported with their line
                run["error"] = _error(exc, path)
            except (SystemExit, KeyboardInterrupt) as exc:
                run["error"] = {
                    "type": type(exc).__name__,
                    "message": "the code tried to end the process",
                    "line": _learner_line(exc.__traceback__, path),
                }
            if label == "learner" and run["error"] is not None:
                break
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
    result["stdout"], result["stderr"] = out.text(), err.text()
    result["arrays"] = [
        {"key": k, "dtype": a.dtype.str, "shape": list(a.shape)} for k, a in saved.items()
    ]
    frame = memoryview(_frame(result, [a.tobytes() for a in saved.values()]))
    while frame:
        frame = frame[os.write(out_fd, frame) :]


def _describe(
    got: object, seed: int, label: str, saved: dict[str, Any], np: ModuleType
) -> dict[str, Any]:
    """What the function returned, one entry per value: an array (saved) or what it was instead."""
    if not isinstance(got, (tuple, list)):
        return {"count": None, "type": type(got).__name__}
    items = []
    for i, value in enumerate(got):
        if value is Ellipsis:
            items.append({"type": "ellipsis"})
            continue
        try:
            a = np.asarray(value)
        except Exception:  # noqa: BLE001
            a = None
        if a is None or a.dtype.kind not in "biufc" or a.size > 1_000_000:
            items.append({"type": type(value).__name__})
            continue
        key = f"{label}/{seed}/{i}"
        saved[key] = a
        items.append({"type": "array", "key": key, "dtype": str(a.dtype)})
    return {"count": len(got), "items": items}


if __name__ == "__main__":
    main(int(sys.argv[1]))
