"""Runs a learner's code, in its own process: `python -I child.py DIR`. Nothing here imports the
tutor. The process first limits itself (CPU seconds, address space, file size), then executes
the learner's file with only the allowed modules importable and stdout/stderr kept to a few
kilobytes, calls its function on each seed's arrays (DIR/inputs.npz) and writes what came back to
DIR/result.json and DIR/result.npz. The tutor reads those; it never runs the learner's code.

This guards against mistakes (an endless loop, an allocation without bound, a stray import), not
against a deliberate attack: a determined learner can reach around any in-process restriction.
"""

import builtins
import contextlib
import json
import os
import resource
import sys
import traceback

OUTPUT_LIMIT = 4000        # characters of the learner's printed output kept


class Bounded:
    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, text):
        if self.size < OUTPUT_LIMIT:
            self.parts.append(str(text)[: OUTPUT_LIMIT - self.size])
        self.size += len(str(text))
        return len(text)

    def flush(self):
        """Nothing to flush: what is printed is kept in memory, up to OUTPUT_LIMIT."""

    def text(self):
        out = "".join(self.parts)
        return out + (f"\n… ({self.size - OUTPUT_LIMIT} more characters not kept)" if self.size > OUTPUT_LIMIT else "")


def _limit(task):
    mem = task["memory_bytes"]
    for kind, value in ((resource.RLIMIT_AS, (mem, mem)),
                        (resource.RLIMIT_CPU, (task["cpu_seconds"], task["cpu_seconds"] + 1)),
                        (resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))):
        # a limit this system lacks (macOS has no RLIMIT_AS) is skipped: the wall limit still holds
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, value)


def _guarded_import(allowed, real_import):
    def guarded(name, globals=None, locals=None, fromlist=(), level=0):
        root = name.split(".")[0]
        if level != 0 or root not in allowed:
            raise ImportError(f"import {name}: only {', '.join(sorted(allowed))} can be imported here")
        return real_import(name, globals, locals, fromlist, level)
    return guarded


def _learner_line(tb, path):
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def _error(exc, path):
    return {"type": type(exc).__name__, "message": str(exc)[:500], "line": _learner_line(exc.__traceback__, path)}


def main(folder):
    with open(os.path.join(folder, "task.json")) as f:
        task = json.load(f)
    if task.get("numpy_home") and task["numpy_home"] not in sys.path:
        sys.path.append(task["numpy_home"])
    import numpy as np               # loaded before the limits: its libraries map a lot of address space

    inputs = np.load(os.path.join(folder, "inputs.npz"))
    arrays = {k: inputs[k] for k in inputs.files}
    result = {"pid": os.getpid(), "runs": [], "error": None}
    saved = {}
    out, err = Bounded(), Bounded()
    _limit(task)
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        sources = [("learner", task["path"], task["source"])] + [(k, f"<{k}>", v) for k, v in task["variants"].items()]
        for label, path, source in sources:
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
                    run["error"] = {"type": "NameError", "message": f"there is no function {task['function']}()",
                                    "line": None}
                    continue
                for seed in range(task["seeds"]):
                    args = [arrays[f"{seed}/{a}"].copy() for a in task["args"]]
                    args = [a[()] if a.ndim == 0 else a for a in args]      # scalars as numpy floats
                    got = fn(*args)
                    if len(task["wrt"]) == 1 and not isinstance(got, (tuple, list)):
                        got = (got,)
                    run["outputs"].append(_describe(got, seed, label, saved, np))
            except SyntaxError as exc:
                run["error"] = {"type": "SyntaxError", "message": exc.msg, "line": exc.lineno}
            except MemoryError as exc:
                run["error"] = {"type": "MemoryError", "message": str(exc)[:200],
                                "line": _learner_line(exc.__traceback__, path)}
            except RecursionError as exc:
                run["error"] = _error(exc, path)
            except Exception as exc:  # noqa: BLE001 - the learner's exception, reported with their line
                run["error"] = _error(exc, path)
            except (SystemExit, KeyboardInterrupt) as exc:
                run["error"] = {"type": type(exc).__name__, "message": "the code tried to end the process",
                                "line": _learner_line(exc.__traceback__, path)}
            if label == "learner" and run["error"] is not None:
                break
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
    result["stdout"], result["stderr"] = out.text(), err.text()
    np.savez(os.path.join(folder, "result.npz"), **saved)
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(result, f)


def _describe(got, seed, label, saved, np):
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
        if a is None or a.dtype.kind not in "biufc":
            items.append({"type": type(value).__name__})
            continue
        key = f"{label}/{seed}/{i}"
        saved[key] = a
        items.append({"type": "array", "key": key, "dtype": str(a.dtype)})
    return {"count": len(got), "items": items}


if __name__ == "__main__":
    main(sys.argv[1])
