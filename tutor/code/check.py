"""Checking a learner's `code` exercise: their file runs in a separate Python process (child.py,
sandboxed by jail.py, driven by runner.py), on random float64 arrays at small check sizes
(several seeds, every relu argument away from 0); each returned gradient is compared with the
tutor's own (torch autograd through the graph, tutor.derive.check.autograd) and the common slips
are named (slips.py).

The tutor's process never executes the learner's code: it writes the inputs, starts the child,
and reads back arrays."""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tutor.code.slips import factor_of, lost_repeats, slip_message, slipped
from tutor.code.template import CodeTask, graph_of, reference, task_for
from tutor.fmt import printable

if TYPE_CHECKING:
    from tutor.code.runner import Unreadable
    from tutor.lesson import Exercise, Graph, Lesson

WALL_SECONDS = 10.0  # the child is killed after this long (twice the CPU limit: a loaded machine)
CPU_SECONDS = 5  # RLIMIT_CPU
MEMORY_BYTES = 1 << 30  # RLIMIT_AS: 1 GiB of address space
ALLOWED = ("numpy", "math")  # what the learner's code may import
SEEDS = 4  # even seeds put a scalar relu's input above 0, odd below
APPROX = 1e-7  # relative error up to which a gradient counts as right
EXACT = 1e-12  # up to this, "exact": only float64 rounding (summation order) differs
DTYPE_CLOSE = 1e-3  # a float32 (or integer) result this close is a dtype slip, not a wrong rule
MAX_SOURCE = 200_000  # characters of a learner's file
KINK_MARGIN = 1e-9  # every kink's argument is at least this far from 0 (rounding is ~1e-15)
CHECK_SIZES = (
    6,
    4,
    5,
    3,
    7,
    8,
)  # a lesson's dimension above 8 is checked at one of these, each different


@dataclass
class Output:
    name: str  # dw1
    shape: tuple[int, ...] | None
    expected_shape: tuple[int, ...]
    rel_error: float | None = None
    max_abs_diff: float | None = None
    where: tuple[int, ...] | None = None  # the index of the largest difference
    exact: bool = False
    verdict: str = (
        "ok"  # ok, transposed, shape, dtype, nan, factor-2, factor-N, sign, wrong, missing,
    )
    #                                 lost-repeats, or a slip variant's (slips.SLIP_VERDICTS)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape) if self.shape is not None else None,
            "expected_shape": list(self.expected_shape),
            "rel_error": self.rel_error,
            "max_abs_diff": self.max_abs_diff,
            "verdict": self.verdict,
        }


@dataclass
class Result:
    exercise: str
    outputs: list[Output] = field(default_factory=list)
    error: str | None = None  # one line: an exception, a limit, a missing function
    stdout: str = ""
    sandbox: dict[str, Any] = field(
        default_factory=dict
    )  # what confined the code (child.py reports it)
    pid: int | None = None  # the process that ran the code
    sizes: dict[str, int] = field(default_factory=dict)  # dimension → the size it was checked at

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.outputs) and all(o.ok for o in self.outputs)

    @property
    def kind(self) -> str:
        """The check as one word for the teacher's view: correct, error (the code did not run
        to the end), or the first gradient's verdict that is not ok (transposed, factor-2, ...)."""
        if self.ok:
            return "correct"
        if self.error is not None:
            return "error"
        return next((o.verdict for o in self.outputs if not o.ok), "missing")


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape)) if shape else "a scalar"


def inputs(lesson: Lesson, task: CodeTask, seed: int) -> dict[str, np.ndarray]:
    """float64 arrays of the task's (check) shapes for one seed, redrawn until every kink's argument
    (a relu's input, …) is clear of 0, so that the gradient is defined everywhere. Where a kink's
    argument is a single number, even seeds draw it positive and odd seeds negative, so that both
    sides of every relu are tried (an array has both signs anyway)."""
    from tutor.derive.check import forward
    from tutor.expr.evaluate import Numpy, kink_arguments

    rng = np.random.default_rng(1000 + seed)
    want = 1.0 if seed % 2 == 0 else -1.0
    fallback = None
    graph = graph_of(lesson)
    classes = label_inputs(graph, task)
    for _ in range(200):
        env = {
            a: (
                rng.integers(0, classes[a], size=task.shape(a)).astype(np.float64)
                if a in classes
                else rng.standard_normal(task.shape(a))
            )
            for a in task.args
        }
        values = forward(graph, env)
        kinks = [
            np.asarray(v) for n in graph.nodes for v in kink_arguments(n.expr, values, Numpy())
        ]
        if not all(np.min(np.abs(k)) > KINK_MARGIN for k in kinks if k.size):
            continue
        if all(k.size != 1 or np.sign(k).item() == want for k in kinks):
            return env
        fallback = fallback or env
    if fallback is None:
        raise RuntimeError("could not draw inputs away from the graph's kinks")
    return fallback


def label_inputs(graph: Graph, task: CodeTask) -> dict[str, int]:
    """Inputs that are class numbers (the labels y of onehot(y, z)): name → the number of classes,
    the last dimension of z. They are drawn as whole classes, not as floats."""
    from tutor.expr.nodes import Apply, Expr, Sym
    from tutor.expr.ops import Shape
    from tutor.expr.shapes import infer_shapes

    found: dict[str, int] = {}
    shapes: dict[str, Shape] | None = None

    def walk(e: Expr) -> None:
        nonlocal shapes
        if isinstance(e, Apply):
            if e.op == "onehot" and isinstance(e.args[0], Sym) and e.args[0].name in task.args:
                shapes = shapes or infer_shapes(graph)
                scores = shapes.get(e.args[1].name) if isinstance(e.args[1], Sym) else None
                if scores:
                    found[e.args[0].name] = task.dims.get(scores[-1], 2)
            for a in e.args:
                walk(a)

    for node in graph.nodes:
        walk(node.expr)
    return found


def expected(lesson: Lesson, task: CodeTask, env: dict[str, np.ndarray]) -> list[np.ndarray]:
    from tutor.derive.check import autograd

    params, nodes = autograd(graph_of(lesson), env)
    return [np.asarray(params[w] if w in params else nodes[w], dtype=np.float64) for w in task.wrt]


def small(task: CodeTask) -> CodeTask:
    """The task at check sizes, whatever the lesson's: each dimension above CHECK_SIZES[-1] gets the
    next size of CHECK_SIZES not already taken, so that two dimensions differ (a missing transpose
    shows even where the lesson's sizes are equal) and the arrays stay small."""
    taken = {n for n in task.dims.values() if n <= max(CHECK_SIZES)}
    free = [n for n in CHECK_SIZES if n not in taken]
    dims = {}
    for d, n in task.dims.items():
        if n <= max(CHECK_SIZES):
            dims[d] = n
        else:
            dims[d] = free.pop(0) if free else min(CHECK_SIZES)
    return replace(task, dims=dims)


def run_child(
    task: CodeTask,
    sources: list[tuple[str, str, str]],
    envs: Sequence[Mapping[str, np.ndarray]],
) -> tuple[dict[str, Any] | None, dict[str, np.ndarray], str | None]:
    """Run `sources` [(label, shown path, code)] in the sandbox on each seed's inputs:
    (the result's header, its arrays, None) or (None, {}, one line saying why not)."""
    from tutor.code import runner

    arrays = {
        f"{s}/{a}": np.asarray(env[a], dtype=np.float64)
        for s, env in enumerate(envs)
        for a in task.args
    }
    try:
        header, got, pid = runner.run(
            {
                "sources": sources,
                "function": task.function,
                "args": list(task.args),
                "wrt": list(task.wrt),
                "seeds": SEEDS,
                "allowed": list(ALLOWED),
            },
            arrays,
            WALL_SECONDS,
            MEMORY_BYTES,
            CPU_SECONDS,
        )
    except TimeoutError:
        return (
            None,
            {},
            f"stopped after {WALL_SECONDS:g} s (the time limit): does a loop never end?",
        )
    except runner.Unreadable as exc:
        return None, {}, _why_no_result(exc)
    header["pid"] = pid
    return header, got, None


def _why_no_result(exc: Unreadable) -> str:
    code, tail = exc.status, exc.stderr.strip().splitlines()
    if code == -signal.SIGXCPU or code == -signal.SIGKILL:
        return f"stopped after {CPU_SECONDS} s of CPU time (the time limit): does a loop never end?"
    if any("MemoryError" in line for line in tail):
        return memory_message()
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = {
            "SIGXFSZ": " (it wrote more than the 1 MB allowed)",
            "SIGSEGV": " (a crash: a recursion too deep?)",
        }
        return f"the process running your code was stopped by {name}{why.get(name, '')}"
    if code:
        return f"the checking process failed (exit {code}): {printable(tail[-1]) if tail else 'no message'}"
    return f"the checking process's result could not be read ({exc}): was it written over?"


def memory_message() -> str:
    return f"ran out of memory: the limit is {MEMORY_BYTES >> 20} MiB (is something allocated in a loop that never ends?)"


def check_source(
    lesson: Lesson, exercise: Exercise, source: str, path: str = "backward.py"
) -> Result:
    """Check the learner's file `source` (shown to them as `path`) against `exercise`."""
    result = Result(exercise.id)
    if len(source) > MAX_SOURCE:
        result.error = f"the file has {len(source):,} characters; the limit is {MAX_SOURCE:,}"
        return result
    full = task_for(lesson, exercise)
    task = small(full)
    result.sizes = {d: n for d, n in task.dims.items() if full.dims[d] != n}
    try:
        envs = [inputs(lesson, task, s) for s in range(SEEDS)]
    except RuntimeError as exc:  # a graph whose kinks no random draw avoids: the lesson's problem
        result.error = f"{exc}: the lesson's graph cannot be checked at random points"
        return result
    wanted = [expected(lesson, task, env) for env in envs]
    data, arrays, failure = run_child(task, [("learner", path, source)], envs)
    if failure or data is None:  # data is None only with a failure
        result.error = failure
        return result
    try:
        _read(result, task, data, arrays, wanted, lesson, exercise, envs)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # only a result written over by the learner's code gets here: the child writes these parts
        result.outputs, result.error = (
            [],
            f"the checking process's result could not be read ({type(exc).__name__}): was it written over?",
        )
    return result


def _read(
    result: Result,
    task: CodeTask,
    data: dict[str, Any],
    arrays: dict[str, np.ndarray],
    wanted: list[list[np.ndarray]],
    lesson: Lesson,
    exercise: Exercise,
    envs: list[dict[str, np.ndarray]],
) -> None:
    sandbox = data.get("sandbox")
    result.sandbox = (
        {str(k)[:40]: v for k, v in sandbox.items() if isinstance(v, (bool, str, list))}
        if isinstance(sandbox, dict)
        else {}
    )
    result.stdout = str(data.get("stdout", ""))[:5000]
    result.pid = data["pid"]
    learner = data["runs"][0]
    if learner["error"]:
        result.error = error_line(learner["error"])
        return
    slips = _slips(lesson, exercise, task, envs, learner, arrays, wanted)
    for i, w in enumerate(task.wrt):
        out = None
        for seed in range(SEEDS):
            this = _compare(
                f"d{w}",
                w,
                i,
                seed,
                learner["outputs"][seed],
                wanted[seed][i],
                arrays,
                slips,
                lesson,
                envs[seed],
                task.dims,
            )
            if out is None or (out.ok and not this.ok):
                out = this
            elif this.ok and out.ok:
                # an output that is ok was compared: its figures are set
                assert out.rel_error is not None and this.rel_error is not None
                assert out.max_abs_diff is not None and this.max_abs_diff is not None
                out.rel_error = max(out.rel_error, this.rel_error)
                out.max_abs_diff = max(out.max_abs_diff, this.max_abs_diff)
                out.exact = out.exact and this.exact
        assert out is not None  # SEEDS ≥ 1: the loop compared at least once
        result.outputs.append(out)


def _slips(
    lesson: Lesson,
    exercise: Exercise,
    task: CodeTask,
    envs: list[dict[str, np.ndarray]],
    learner: dict[str, Any],
    arrays: dict[str, np.ndarray],
    wanted: list[list[np.ndarray]],
) -> dict[str, dict[str, Any]]:
    """The slip variants' runs (template.slip_names), in a sandbox of their own (so that nothing
    near the answer is in the learner's process), and only where some gradient is wrong and no
    simpler relation (a factor, the sign) already names why."""
    from tutor.code.template import slip_names

    probe = [
        _compare(
            f"d{w}",
            w,
            i,
            s,
            learner["outputs"][s],
            wanted[s][i],
            arrays,
            {},
            lesson,
            envs[s],
            task.dims,
        )
        for s in range(SEEDS)
        for i, w in enumerate(task.wrt)
    ]
    if not any(o.verdict == "wrong" for o in probe):
        return {}
    base = reference(lesson, exercise)
    sources = [
        (name, f"<{name}>", text)
        for name in slip_names(lesson, exercise)
        if (text := reference(lesson, exercise, slip=name)) != base
    ]
    if not sources:
        return {}
    data, got, failure = run_child(task, sources, envs)
    if failure or data is None:
        return {}
    arrays.update(got)
    return {run["label"]: run for run in data["runs"] if not run["error"]}


def error_line(err: dict[str, Any]) -> str:
    where = f"line {int(err['line'])}: " if err.get("line") else ""
    if err["type"] == "MemoryError":
        return f"{where}{memory_message()}"
    err = {k: printable(str(err[k]))[:500] for k in ("type", "message")}
    text = f"{where}{err['type']}: {err['message']}"
    if err["type"] == "ValueError" and "matmul" in err["message"]:
        text += " (the shapes of a product do not fit: is a .T missing, or one too many?)"
    if err["type"] == "ImportError" and "can be imported here" in err["message"]:
        text = f"{where}{err['message']}"
    return text


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference relative to the larger array's largest entry: unlike an elementwise
    ratio, rounding in an entry that cancels to almost 0 does not count against the learner."""
    scale = max(
        float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)), 1e-300
    )
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def _compare(
    name: str,
    wrt: str,
    i: int,
    seed: int,
    returned: dict[str, Any],
    want: np.ndarray,
    arrays: dict[str, np.ndarray],
    slips: dict[str, dict[str, Any]],
    lesson: Lesson,
    env: dict[str, np.ndarray],
    dims: dict[str, int],
) -> Output:
    out = Output(name, None, want.shape)
    expect = f"∂L/∂{wrt} is {shape_text(want.shape)}"
    if returned.get("count") is None:
        out.verdict, out.message = (
            "missing",
            f"{name}: the function returned a {returned['type']}, not the gradients",
        )
        return out
    if returned["count"] <= i:
        out.verdict, out.message = (
            "missing",
            f"{name}: not returned (the function returned {returned['count']} values)",
        )
        return out
    item = returned["items"][i]
    if item["type"] == "ellipsis":
        out.verdict, out.message = "missing", f"{name} is still ... : write it"
        return out
    if item["type"] != "array":
        out.verdict, out.message = "missing", f"{name} is a {item['type']}, not an array of numbers"
        return out
    got = arrays[item["key"]]
    out.shape = got.shape
    if got.shape != want.shape:
        if got.ndim >= 2 and got.shape == want.shape[::-1]:
            out.verdict = "transposed"
            out.message = f"{name}: you returned {shape_text(got.shape)}, {expect}: transposed?"
        else:
            out.verdict, out.message = (
                "shape",
                f"{name}: you returned {shape_text(got.shape)}, {expect}",
            )
        return out
    if got.dtype.kind == "c" or not np.all(np.isfinite(got)):
        out.verdict, out.message = "nan", f"{name} contains NaN or infinity"
        return out
    g = got.astype(np.float64)
    diff = np.abs(g - want)
    out.rel_error, out.max_abs_diff = rel_error(g, want), float(np.max(diff, initial=0.0))
    out.where = (
        tuple(int(k) for k in np.unravel_index(int(np.argmax(diff)), diff.shape))
        if diff.size
        else ()
    )
    out.exact = out.rel_error <= EXACT
    if got.dtype != np.float64 and out.rel_error <= DTYPE_CLOSE:
        out.verdict = "dtype"
        out.message = (
            f"{name} is {got.dtype} (its values agree to {out.rel_error:.0e}): the inputs are float64, "
            "and so must the gradient be"
        )
        return out
    if out.rel_error <= APPROX:
        return out

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return rel_error(a, b) <= 1e-6

    if close(2 * g, want):
        out.verdict, out.message = (
            "factor-2",
            f"{name} is half the right value: a factor of 2 is missing (d/du u² = 2u)",
        )
    elif close(g, 2 * want):
        out.verdict, out.message = (
            "factor-2",
            f"{name} is twice the right value: one factor of 2 too many",
        )
    elif close(g, -want):
        out.verdict, out.message = "sign", f"{name} has the wrong sign"
    elif factor := factor_of(g, want, dims, close):
        out.verdict = "factor-N"
        d, n, fewer = factor
        out.message = (
            f"{name} is 1/{d} of the right value ({d} = {n} here): a division by {d} too many, "
            "or a mean where the sum is needed"
            if fewer
            else f"{name} is {d} times the right value ({d} = {n} here): a division by {d} is missing, "
            "or a sum where the mean is needed"
        )
    elif lost_repeats(g, want, env, lesson, close):
        out.verdict = "lost-repeats"
        out.message = (
            f"{name} is right on the rows picked once and wrong where a row is picked "
            f"more than once: {name}[ix] += ... writes each repeated row once (the last "
            f"write wins); np.add.at({name}, ix, ...) adds every one"
        )
    elif slip := next(
        (k for k, run in slips.items() if slipped(run, seed, i, arrays, g, want, close)), None
    ):
        out.verdict, out.message = slip_message(slip, name, lesson)
    else:
        out.verdict = "wrong"
        out.message = f"{name}: relative error {out.rel_error:.1e}, largest difference {out.max_abs_diff:.3g} at {list(out.where)}"
    return out


def table(result: Result) -> str:
    """The ninja notebook's cmp, one line per gradient, then what to fix."""
    if result.error:
        return f"{result.exercise}: {result.error}"
    lines = [f"{'name':<8} {'exact':<6} {'approx':<7} {'rel error':>10} {'max diff':>10}  where"]
    for o in result.outputs:
        if o.rel_error is None:
            lines.append(f"{o.name:<8} {'-':<6} {'-':<7} {'-':>10} {'-':>10}  -")
            continue
        lines.append(
            f"{o.name:<8} {str(o.exact):<6} {str(o.rel_error <= APPROX):<7} {o.rel_error:>10.1e} "
            f"{o.max_abs_diff:>10.2e}  {list(o.where or ())}"
        )
    lines += [o.message for o in result.outputs if o.message]
    if result.stdout.strip():
        lines.append("your code printed: " + result.stdout.strip()[:500])
    if result.sizes:
        lines.append(
            "checked at small sizes ("
            + ", ".join(f"{d} = {n}" for d, n in result.sizes.items())
            + "): read sizes from .shape, never the lesson's numbers"
        )
    lines.append(
        f"{result.exercise}: "
        + (
            f"correct: every gradient matches the tutor's on {SEEDS} random draws."
            if result.ok
            else "not yet."
        )
    )
    return "\n".join(lines)
