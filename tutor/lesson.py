"""The lesson format: load a TOML file into typed, validated, immutable records.

Every problem is a `LessonError` naming the file, the line and the dotted key. Unknown keys are
errors, so a typo is never silently ignored. Lesson files are data from strangers: they are
parsed by `tomllib` and `tutor.expr`, never executed. The limits below are documented in
lessons/README.md; keep the two in step.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tutor.expr import FUNCTIONS, NAME_RE, Expr, parse as parse_expr, symbols
from tutor.expr.parser import MAX_NUMBER
from tutor.errors import LessonError
from tutor.fmt import printable
from tutor.playground.names import DATASETS as PLAYGROUND, MAX_CSV_BYTES, MAX_CSV_ROWS, MAX_NOISE, SAMPLES
from tutor.tomlpos import key_lines, line_of

SCHEMA_VERSION = 1

# Limits: a lesson file must stay small and cheap to check, derive and train.
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 64
MAX_PAGES = 40
MAX_TEXT = 50_000
MAX_LAYERS = 16
MAX_WIDTH = 4096          # units in one layer
MAX_PARAMS = 20_000_000   # weights in a model
MAX_EPOCHS = 100_000
MAX_STEPS = 10_000_000    # epochs × batches
MAX_POINTS = 10_000       # samples listed inline in a lesson
MAX_SAMPLES = 100_000     # samples of a synthetic data set
MAX_DIM = 10_000          # a dimension in [graph.dims]
MAX_EXERCISES = 50
MAX_INT = 2**53           # |an integer| anywhere in a file: exact as a float, never an overflow
MAX_VALUE = MAX_NUMBER   # |a number| in data: points, weights, probes, synthetic w, b, noise
MAX_CELLS = 25_000_000    # samples × (input width + every layer's width): the values one pass keeps
MAX_SEED = 2**32 - 1      # numpy's RandomState and scikit-learn take seeds in 0..2^32-1

BACKENDS = ("numpy", "torch-manual", "autograd", "nn", "optim")
BASELINES = ("sklearn-linear", "sklearn-logistic", "sklearn-mlp")
CLASSIFIERS = ("sklearn-logistic", "sklearn-mlp")      # baselines that need class labels
CLASSES = ("digits", "mnist")                          # the datasets that have them
LOSSES = ("sse", "mse", "bce", "ce", "nll")
OPTIMIZERS = ("gd", "sgd", "adam")
LAYER_TYPES = ("linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax")
INITS = ("randn", "zeros", "torch", "uniform")
DTYPES = ("float32", "float64")
DEVICES = ("cpu", "cuda", "mps", "auto")
DATASETS = {
    # kind: {field: (types, default)}; a default of ... means required
    "points": {"x": (list, ...), "y": (list, ...), "x_val": (list, None), "y_val": (list, None)},
    "synthetic-linear": {
        "n": (int, 100), "features": (int, 1), "x_dist": (str, "uniform"), "w": (list, ...),
        "b": ((int, float), 0.0), "noise": ((int, float), 0.1), "seed": (int, 42), "train": (int, 80),
    },
    "iris": {"seed": (int, 0)},
    "digits": {"seed": (int, 0), "test_fraction": ((int, float), 0.3)},
    "mnist": {"seed": (int, 0), "train_size": (int, 5000), "test_size": (int, 10000)},
    # the playground's 2-D sets (tutor/playground/datasets.py): noise and ratio in percent
    **{kind: {"noise": ((int, float), 0.0), "ratio": ((int, float), 50.0), "seed": (int, 0)} for kind in PLAYGROUND},
    # x1, x2, label (or target) rows in a file beside the lesson
    "csv": {"path": (str, ...), "ratio": ((int, float), 50.0), "seed": (int, 0)},
}
EXERCISE_KINDS = ("derivative", "value", "shape", "choice", "code")
LETTERS = "abcdefgh"       # a choice exercise's letters: at most eight choices
MAX_MISTAKES = 12          # known mistakes listed for one exercise
MAX_MESSAGE = 200          # characters in a response to an answer
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Equation:
    name: str
    expr: Expr
    text: str


@dataclass(frozen=True)
class Page:
    title: str
    text: str
    equations: tuple[Equation, ...] = ()


@dataclass(frozen=True)
class Node:
    name: str
    expr: Expr
    text: str


@dataclass(frozen=True)
class Graph:
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    nodes: tuple[Node, ...]
    point: dict[str, float]
    shapes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def loss(self) -> str:
        return self.nodes[-1].name

    @property
    def leaves(self) -> tuple[str, ...]:
        return self.inputs + self.params

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


@dataclass(frozen=True)
class Jacobian:
    title: str
    inputs: tuple[str, ...]
    outputs: tuple[Equation, ...]
    point: dict[str, float]
    upstream: tuple[float, ...]


@dataclass(frozen=True)
class Layer:
    type: str
    out: int | str | None = None          # an int, "hidden" or "outputs"
    bias: bool = True
    name: str | None = None               # the weight's name (default W1, W2, ...)
    bias_name: str | None = None          # the bias's name (default b1, b2, ...)
    weight: tuple | None = None           # explicit initial weight (nested lists, in × out)
    bias_init: tuple | None = None


@dataclass(frozen=True)
class Dataset:
    kind: str
    options: dict[str, Any]
    base: Path | None = None              # the lesson's folder, where a "csv" file lies


@dataclass(frozen=True)
class Train:
    backends: tuple[str, ...]
    dataset: Dataset
    layers: tuple[Layer, ...]
    loss: str
    optimizer: str = "gd"
    lr: float = 0.01
    momentum: float = 0.0
    epochs: int = 100
    batch_size: int = 0                    # 0: the whole training set in one batch
    seed: int = 0
    dtype: str = "float32"
    init: str = "randn"
    hidden: int | None = None
    log_every: int = 1
    zero_grad: bool = True
    baseline: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""
    probe: tuple = ()                      # inputs to predict after training, e.g. f(5)


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    id: str
    kind: str
    prompt: str
    answer: str
    step: str | None = None               # the graph node (or parameter) it belongs to
    hints: tuple[str, ...] = ()
    tolerance: float = 1e-6
    choices: tuple[str, ...] = ()
    explain: str = ""
    why: tuple[str, ...] = ()             # for a choice: why each choice is right or wrong
    mistakes: tuple[tuple[str, str], ...] = ()   # known wrong answers and what to say to each
    wrt: tuple[str, ...] = ()             # a code exercise: the gradients its function returns


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    summary: str
    order: int
    explain: tuple[Page, ...]
    graph: Graph | None
    jacobian: Jacobian | None
    train: Train | None
    variants: tuple[Variant, ...]
    exercises: tuple[Exercise, ...]
    path: Path

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts this lesson has: always Explain; Derive with a graph or a Jacobian; Train with [train]."""
        derive = self.graph is not None or self.jacobian is not None
        return ("explain",) + ("derive",) * derive + ("train",) * (self.train is not None)

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants) or "none"
        raise LessonError(f"unknown variant '{name}' (known: {known})", key="variants")


# ---------------------------------------------------------------------------------------------
# Reading tables with exact errors


class _Table:
    """A TOML table being read: every `take` marks a key as known; `done` rejects the rest."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise LessonError(f"expected a table, found {_kind(data)}", key=path)
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def take(self, name: str, types, default: Any = ...) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ...:
                typo = self._misspelt(name)
                if typo is not None:              # epocs = 50: name the key that is there
                    raise LessonError(f"unknown key '{typo}' (did you mean {name}?)", key=self.key(typo))
                raise LessonError("required key is missing", key=self.key(name))
            return default
        value = self.data[name]
        types = types if isinstance(types, tuple) else (types,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in types:
            raise LessonError(f"expected {_names(types)}, found a boolean", key=self.key(name))
        if not isinstance(value, types):
            raise LessonError(f"expected {_names(types)}, found {_kind(value)}", key=self.key(name))
        return value

    def text(self, name: str, default: Any = ..., limit: int = MAX_TEXT) -> str:
        value = self.take(name, str, default)
        if isinstance(value, str) and len(value) > limit:
            raise LessonError(f"text is {len(value)} characters; the limit is {limit}", key=self.key(name))
        return value

    def number(self, name: str, default: Any = ..., lo: float | None = None, hi: float | None = None) -> float:
        value = self.take(name, (int, float), default)
        if value is None:
            return value
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise LessonError("expected a finite number", key=self.key(name))
        self._range(name, value, lo, hi)
        return value

    def integer(self, name: str, default: Any = ..., lo: int | None = None, hi: int | None = None) -> int:
        value = self.take(name, int, default)
        if value is not None:
            self._range(name, value, lo, hi)
        return value

    def choice(self, name: str, options, default: Any = ...) -> str:
        value = self.take(name, str, default)
        if value is not None and value not in options:
            raise LessonError(f"'{value}' is not one of: {', '.join(options)}", key=self.key(name))
        return value

    def names(self, name: str, default: Any = ...) -> tuple[str, ...]:
        value = self.take(name, list, default)
        out = []
        for i, item in enumerate(value or ()):
            if not isinstance(item, str) or not NAME_RE.match(item) or item.startswith("_"):
                raise LessonError(f"expected a name (letters, digits, _), found {item!r}", key=f"{self.key(name)}[{i}]")
            out.append(item)
        return tuple(out)

    def sub(self, name: str, required: bool = False) -> "_Table | None":
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise LessonError("required table is missing", key=self.key(name))
            return None
        return _Table(self.data[name], self.key(name))

    def array(self, name: str, required: bool = False, limit: int = 1000) -> list["_Table"]:
        value = self.take(name, list, ... if required else [])
        if len(value) > limit:
            raise LessonError(f"{len(value)} entries; the limit is {limit}", key=self.key(name))
        return [_Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def _range(self, name, value, lo, hi):
        if lo is not None and value < lo:
            raise LessonError(f"{value:g} is below the minimum {lo:g}", key=self.key(name))
        if hi is not None and value > hi:
            raise LessonError(f"{value:g} is above the limit {hi:g}", key=self.key(name))

    def _misspelt(self, known: str) -> str | None:
        """A key of this table that nothing reads and that is close to `known`."""
        import difflib

        strays = [k for k in self.data if k not in self.seen and isinstance(k, str)]
        close = difflib.get_close_matches(known, strays, n=1, cutoff=0.75)
        return close[0] if close else None

    def done(self) -> None:
        import difflib

        for name in self.data:
            if name not in self.seen:
                allowed = ", ".join(sorted(self.seen))
                close = difflib.get_close_matches(str(name), sorted(self.seen), n=1, cutoff=0.75)
                hint = f"did you mean {close[0]}? " if close else ""
                raise LessonError(f"unknown key ({hint}allowed here: {allowed})", key=self.key(name))


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def _names(types) -> str:
    words = {int: "an integer", float: "a number", str: "a string", list: "an array", dict: "a table",
             bool: "a boolean"}
    return " or ".join(dict.fromkeys(words.get(t, t.__name__) for t in types))


# ---------------------------------------------------------------------------------------------
# Loading


def load(path: str | Path) -> Lesson:
    """Read, parse and validate one lesson file."""
    path = Path(path)
    display = str(path)
    raw = read_limited(path, MAX_FILE_BYTES, display)
    return loads(raw, display, path)


def read_limited(path: Path, limit: int, display: str) -> bytes:
    """A regular file's bytes, reading at most `limit` + 1: a FIFO, a device (a link to /dev/zero)
    or a directory is refused without waiting on it, and a file that grows is cut off."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise LessonError(f"cannot read the file: {exc.strerror or exc}", file=display) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise LessonError("not a regular file (a lesson is a .toml file)", file=display)
    with os.fdopen(fd, "rb") as f:
        too_big = f"file is over {limit / 1e6:g} MB; the limit is {limit / 1e6:g} MB"
        if info.st_size > limit:
            raise LessonError(f"file is {info.st_size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB", file=display)
        try:
            raw = f.read(limit + 1)
        except OSError as exc:
            raise LessonError(f"cannot read the file: {exc.strerror or exc}", file=display) from None
    if len(raw) > limit:
        raise LessonError(too_big, file=display)
    return raw


def loads(raw: bytes | str, display: str = "<lesson>", path: Path | None = None) -> Lesson:
    if isinstance(raw, bytes):
        if len(raw) > MAX_FILE_BYTES:
            raise LessonError(f"file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:g} MB", file=display)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise LessonError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                              file=display, line=line) from None
    else:
        text = raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        message = getattr(exc, "msg", None) or re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LessonError(f"invalid TOML: {message}", file=display, line=line) from None
    except RecursionError:
        raise LessonError("invalid TOML: nested too deeply", file=display) from None
    except ValueError as exc:      # an integer beyond Python's 4,300-digit conversion limit
        raise _huge_literal(text, display, exc) from None
    try:
        return _build(data, path or Path(display), named=path is not None)
    except LessonError as exc:     # positions are scanned only now: the lesson list loads every file
        lines = key_lines(text)

        def locate(problem: LessonError) -> LessonError:
            return problem.located(file=display, line=line_of(lines, problem.key) if problem.key else None)

        found = sorted((locate(p) for p in exc.problems), key=lambda p: p.line or 0)  # stable: read order on ties
        found[0].more = tuple(found[1:])
        raise found[0] from None
    except RecursionError:
        raise LessonError("nested too deeply", file=display) from None


def _huge_literal(text: str, display: str, exc: ValueError) -> LessonError:
    """tomllib's ValueError for an integer of over 4,300 digits, at the line that has it."""
    runs = (m for m in re.finditer(r"[0-9_]+", text) if m.end() - m.start() > 4300)
    run = next(runs, None)
    if run is None:
        return LessonError(f"invalid TOML: {exc}", file=display)
    line = text.count("\n", 0, run.start()) + 1
    before = [(at, key) for key, at in key_lines(text).items() if at <= line]
    key = max(before)[1] if before else ""
    return LessonError(f"an integer of {run.end() - run.start():,} digits; integers stay within ±{MAX_INT:,}",
                       file=display, line=line, key=key)


def _scrub(value: Any, key: str) -> Any:
    """The parsed file, checked and cleaned once before it is read: strings lose terminal escapes and
    control characters (a title could otherwise set the window title or clear the screen),
    integers beyond ±MAX_INT and numbers that are not finite are refused wherever they are."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            digits = len(str(abs(value)))
            raise LessonError(f"an integer of {digits:,} digits; integers stay within ±{MAX_INT:,}", key=key)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LessonError("expected a finite number", key=key)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def _line_from_message(message: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


def _build(data: dict, path: Path, named: bool = False) -> Lesson:
    top = _Table(_scrub(data, ""), "")
    schema = top.integer("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:     # nothing else can be read against the wrong schema
        raise LessonError(f"schema {schema} is not supported (this tutor reads schema {SCHEMA_VERSION})", key="schema")
    # Independent parts are each read even when another is broken, so that --check lists every
    # broken part in one pass. A part that needs another (variants need [train], exercises the
    # graph's names) is skipped when that one is broken: its errors would be echoes.
    problems: list[LessonError] = []

    def part(read, *args):
        try:
            return read(*args)
        except LessonError as exc:
            problems.append(exc)
            return None

    lesson_id = part(_lesson_id, top, path if named else None)
    title = part(top.text, "title", ..., 120)
    summary = part(top.text, "summary", "", 300)
    order = part(top.integer, "order", 1000, 0, 100_000)
    page_tables = part(top.array, "explain", True, MAX_PAGES)
    pages = tuple(part(_page, t) for t in page_tables or ())
    if page_tables == []:
        problems.append(LessonError("a lesson needs at least one page", key="explain"))
    graph_t = part(top.sub, "graph")
    graph = part(_graph, graph_t) if graph_t else None
    jac_t = part(top.sub, "jacobian")
    jacobian = part(_jacobian, jac_t) if jac_t else None
    train_t = part(top.sub, "train")
    train = part(_train, train_t) if train_t else None
    variant_tables = part(top.array, "variants", False, 20) or ()
    variants = tuple(part(_variant, t, train) for t in variant_tables) if train or not train_t else ()
    if train is not None and named:            # a CSV dataset lies in the lesson's folder
        train = part(_anchor_train, train, path.parent) or train
        variants = tuple(v and (part(_anchor_variant, v, path.parent, i) or v) for i, v in enumerate(variants))
    exercise_tables = part(top.array, "exercises", False, MAX_EXERCISES) or ()
    exercises = ()
    if graph or not graph_t:
        names = set(graph.leaves + tuple(n.name for n in graph.nodes)) if graph else set()
        exercises = tuple(part(_exercise, t, names, graph) for t in exercise_tables)
    part(_unique, [v and v.name for v in variants], "variants", "name")
    part(_unique, [e and e.id for e in exercises], "exercises", "id")
    part(top.done)
    if problems:
        raise LessonError(problems[0].message, key=problems[0].key, line=problems[0].line, more=tuple(problems[1:]))
    return Lesson(lesson_id, title, summary, order, pages, graph, jacobian, train, variants, exercises, path)


def _lesson_id(top: _Table, path: Path | None) -> str:
    lesson_id = top.text("id", limit=64)
    if not ID_RE.match(lesson_id):
        raise LessonError(f"'{lesson_id}' is not a lesson id (lowercase letters, digits and '-')", key="id")
    # Progress is kept by id: a file may not pass itself off as another lesson.
    if path is not None and path.stem != lesson_id:
        raise LessonError(f"the id '{lesson_id}' must equal the file name without .toml ('{path.stem}')", key="id")
    return lesson_id


def _unique(values: list[str | None], array: str, name: str) -> None:
    seen = set()
    for i, value in enumerate(values):     # None: an entry already reported as broken
        if value is not None and value in seen:
            raise LessonError(f"duplicate {name} '{value}'", key=f"{array}[{i}].{name}")
        seen.add(value)


def _equation(text: object, key: str, names=None) -> Equation:
    if not isinstance(text, str) or "=" not in text:
        raise LessonError("expected an equation 'name = expression'", key=key)
    name, _, rhs = text.partition("=")
    name = name.strip()
    if not NAME_RE.match(name):
        raise LessonError(f"'{name}' is not a name", key=key)
    return Equation(name, parse_expr(rhs, names=names, key=key), rhs.strip())


def _page(t: _Table) -> Page:
    title = t.text("title", limit=120)
    text = t.text("text")
    eqs = t.take("equations", list, [])
    equations = tuple(_equation(e, f"{t.key('equations')}[{i}]") for i, e in enumerate(eqs))
    t.done()
    return Page(title, text, equations)


def _point(t: _Table, name: str, names: tuple[str, ...]) -> dict[str, float]:
    pt = t.sub(name, required=True)
    values = {n: pt.number(n) for n in names}
    pt.done()
    return values


def _graph(t: _Table) -> Graph:
    inputs = t.names("inputs")
    params = t.names("params")
    if not params:
        raise LessonError("a graph needs at least one parameter", key=t.key("params"))
    node_tables = t.array("nodes", required=True, limit=MAX_NODES)
    if not node_tables:
        raise LessonError("a graph needs at least one node (the last one is the loss)", key=t.key("nodes"))
    leaves = inputs + params
    for i, name in enumerate(leaves):
        if leaves.index(name) != i:
            raise LessonError(f"'{name}' is declared twice", key=t.key("params" if i >= len(inputs) else "inputs"))
    # Read every node first, so that a reference to a later node can be told from a cycle.
    raw_nodes = []
    for nt in node_tables:
        name = nt.take("name", str)
        if not NAME_RE.match(name) or name in FUNCTIONS:
            raise LessonError(f"'{name}' is not a usable node name", key=nt.key("name"))
        expr = parse_expr(nt.take("expr", str), key=nt.key("expr"))
        nt.done()
        raw_nodes.append((nt, name, expr))
    all_names = [n for _, n, _ in raw_nodes]
    nodes: list[Node] = []
    defined = set(leaves)
    for i, (nt, name, expr) in enumerate(raw_nodes):
        if name in defined:
            what = "an input or parameter" if name in leaves else "another node"
            raise LessonError(f"duplicate name '{name}' (already {what})", key=nt.key("name"))
        for used in symbols(expr):
            if used in defined:
                continue
            if used in all_names:
                later = all_names.index(used)
                if _depends_on(raw_nodes, later, name):
                    raise LessonError(f"'{name}' uses '{used}', which depends on '{name}': the graph has a cycle",
                                      key=nt.key("expr"))
                raise LessonError(f"'{used}' is used before it is defined (list nodes in forward order)",
                                  key=nt.key("expr"))
            known = ", ".join(sorted(defined))
            raise LessonError(f"unknown name '{used}' (known here: {known})", key=nt.key("expr"))
        defined.add(name)
        nodes.append(Node(name, expr, nt.data["expr"]))
    point = _point(t, "point", leaves)
    shapes_t = t.sub("shapes")
    shapes: dict[str, tuple[str, ...]] = {}
    if shapes_t:
        for name in list(shapes_t.data):
            if name not in leaves:
                raise LessonError(f"'{name}' is not an input or parameter", key=shapes_t.key(name))
            dims = shapes_t.names(name)
            if len(dims) > 2:
                raise LessonError("at most two dimensions (rows, columns)", key=shapes_t.key(name))
            shapes[name] = dims
        shapes_t.done()
    dims_t = t.sub("dims")
    dims: dict[str, int] = {}
    if dims_t:
        for name in list(dims_t.data):
            dims[name] = dims_t.integer(name, lo=1, hi=MAX_DIM)
        dims_t.done()
    t.done()
    graph = Graph(inputs, params, tuple(nodes), point, shapes, dims)
    if shapes:
        from tutor.expr.shapes import infer_shapes, show

        for i, node in enumerate(nodes):
            try:
                env = infer_shapes(graph, upto=i)
            except LessonError as exc:
                raise LessonError(exc.message, key=f"{t.key('nodes')}[{i}].expr") from None
            for d in sum(shapes.values(), ()):
                if d not in dims:
                    raise LessonError(f"dimension '{d}' has no size", key=t.key("dims"))
        if env[graph.loss]:
            raise LessonError(f"the loss '{graph.loss}' must be a scalar, but it is {show(env[graph.loss])}: "
                              "reduce it with sum(...) or mean(...)", key=f"{t.key('nodes')}[{len(nodes) - 1}].expr")
    reached = _reaching(graph)
    for p in params:
        if p not in reached:
            raise LessonError(f"the loss '{graph.loss}' does not depend on the parameter '{p}'", key=t.key("params"))
    return graph


def _reaching(graph) -> set[str]:
    """The names the loss depends on."""
    need = {graph.loss}
    for node in reversed(graph.nodes):
        if node.name in need:
            need.update(symbols(node.expr))
    return need


def _depends_on(raw_nodes, index: int, target: str, seen=None) -> bool:
    seen = seen or set()
    if index in seen:
        return False
    seen.add(index)
    names = [n for _, n, _ in raw_nodes]
    for used in symbols(raw_nodes[index][2]):
        if used == target:
            return True
        if used in names and _depends_on(raw_nodes, names.index(used), target, seen):
            return True
    return False


def _jacobian(t: _Table) -> Jacobian:
    title = t.text("title", "A vector-to-vector function", limit=120)
    inputs = t.names("inputs")
    if not inputs:
        raise LessonError("needs at least one input", key=t.key("inputs"))
    outs = t.take("outputs", list)
    outputs = tuple(_equation(o, f"{t.key('outputs')}[{i}]", set(inputs)) for i, o in enumerate(outs))
    if not outputs or len(outputs) > 8 or len(inputs) > 8:
        raise LessonError("between 1 and 8 inputs and outputs", key=t.key("outputs"))
    point = _point(t, "point", inputs)
    upstream = t.take("upstream", list)
    if len(upstream) != len(outputs) or not all(isinstance(u, (int, float)) and not isinstance(u, bool) for u in upstream):
        raise LessonError(f"expected {len(outputs)} numbers, one per output", key=t.key("upstream"))
    t.done()
    return Jacobian(title, inputs, outputs, point, tuple(float(u) for u in upstream))


def _layer(t: _Table) -> Layer:
    kind = t.choice("type", LAYER_TYPES)
    if kind != "linear":
        t.done()
        return Layer(kind, bias=False)
    out = t.take("out", (int, str))
    if isinstance(out, str) and out not in ("hidden", "outputs"):
        raise LessonError("expected a size, 'hidden' or 'outputs'", key=t.key("out"))
    if isinstance(out, int) and not 1 <= out <= MAX_WIDTH:
        raise LessonError(f"a layer of {out} units is outside 1..{MAX_WIDTH}", key=t.key("out"))
    bias = t.take("bias", bool, True)
    name = t.take("name", str, None)
    bias_name = t.take("bias_name", str, None)
    for label, value in (("name", name), ("bias_name", bias_name)):
        if value is not None and not NAME_RE.match(value):
            raise LessonError(f"'{value}' is not a name (a letter, then letters, digits, _)", key=t.key(label))
    weight = t.take("weight", list, None)
    bias_init = t.take("bias_init", list, None)
    for label, value in (("weight", weight), ("bias_init", bias_init)):
        if value is not None:
            _rows(value, t.key(label), flat_ok=True)
    t.done()
    return Layer("linear", out, bias, name, bias_name,
                 _freeze(weight) if weight is not None else None, _freeze(bias_init) if bias_init is not None else None)


def _rows(value: list, key: str, flat_ok: bool = True) -> tuple[int, int]:
    """A matrix of finite numbers within ±MAX_VALUE → (rows, columns): a list of numbers is one
    column (with `flat_ok`), a list of rows must be rectangular. Anything else is refused."""
    if not value:
        raise LessonError("expected at least one number", key=key)
    if all(isinstance(v, list) for v in value):
        width = len(value[0])
        for i, row in enumerate(value):
            if len(row) != width or not row:
                raise LessonError(f"rows must be equally long: row 0 has {width} numbers, row {i} has {len(row)}",
                                  key=f"{key}[{i}]")
            for j, v in enumerate(row):
                _value(v, f"{key}[{i}][{j}]")
        return len(value), width
    if not flat_ok or any(isinstance(v, list) for v in value):
        raise LessonError("expected a list of numbers, or a list of rows of numbers (not a mix)", key=key)
    for i, v in enumerate(value):
        _value(v, f"{key}[{i}]")
    return len(value), 1


def _value(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise LessonError(f"expected a number, found {_kind(v)}", key=key)
    if abs(v) > MAX_VALUE:
        raise LessonError(f"{v:g} is outside ±{MAX_VALUE:g}", key=key)
    return float(v)


def _numbers(value, depth: int = 0) -> bool:
    """Numbers nested at most to depth 3 (depth 0: anything up to a matrix of numbers)."""
    if depth > 3:
        return False
    if isinstance(value, list):
        return all(_numbers(v, depth + 1) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _anchor(dataset: Dataset, folder: Path, key: str) -> Dataset:
    """A "csv" dataset with its folder, once its file is known to be there and small enough."""
    if dataset.kind != "csv":
        return dataset
    file = folder / dataset.options["path"]
    try:
        size = file.stat().st_size
    except OSError:
        raise LessonError(f"no file '{dataset.options['path']}' beside the lesson", key=f"{key}.path") from None
    if size > MAX_CSV_BYTES:
        raise LessonError(f"the file is {size:,} bytes; the limit is {MAX_CSV_BYTES:,}", key=f"{key}.path")
    return replace(dataset, base=folder)


def _anchor_train(train: Train, folder: Path) -> Train:
    return replace(train, dataset=_anchor(train.dataset, folder, "train.dataset"))


def _anchor_variant(variant: Variant, folder: Path, i: int) -> Variant:
    if "dataset" not in variant.changes:
        return variant
    return replace(variant, changes={**variant.changes,
                                     "dataset": _anchor(variant.changes["dataset"], folder, f"variants[{i}].dataset")})


def _freeze(value):
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else float(value)


def _dataset(t: _Table) -> Dataset:
    kind = t.choice("kind", tuple(DATASETS))
    options = {}
    for name, (types, default) in DATASETS[kind].items():
        options[name] = t.take(name, types, default)
    t.done()
    _check_dataset(kind, options, t)
    return Dataset(kind, options)


def _check_dataset(kind: str, o: dict, t: _Table) -> None:
    if "seed" in o and not 0 <= o["seed"] <= MAX_SEED:
        raise LessonError(f"a seed is within 0..{MAX_SEED}", key=t.key("seed"))
    if kind == "points":
        widths = {}
        for a, b in (("x", "y"), ("x_val", "y_val")):
            if o[a] is None and o[b] is None:
                continue
            if o[a] is None or o[b] is None:
                raise LessonError(f"'{a}' and '{b}' go together", key=t.key(a))
            if len(o[a]) != len(o[b]) or not o[a]:
                raise LessonError(f"'{a}' has {len(o[a])} samples and '{b}' has {len(o[b])}", key=t.key(b))
            if len(o[a]) > MAX_POINTS:
                raise LessonError(f"{len(o[a])} samples; the limit inline is {MAX_POINTS}", key=t.key(a))
            for k in (a, b):
                widths[k] = _rows(o[k], t.key(k))[1]
        for k in ("x", "y"):
            if o[f"{k}_val"] is not None and widths[f"{k}_val"] != widths[k]:
                raise LessonError(f"'{k}_val' has {widths[k + '_val']} columns and '{k}' has {widths[k]}",
                                  key=t.key(f"{k}_val"))
    elif kind == "synthetic-linear":
        if not 1 <= o["n"] <= MAX_SAMPLES:
            raise LessonError(f"n must be within 1..{MAX_SAMPLES}", key=t.key("n"))
        if not 1 <= o["features"] <= 1000:
            raise LessonError("features must be within 1..1000", key=t.key("features"))
        if o["x_dist"] not in ("uniform", "normal"):
            raise LessonError("'uniform' or 'normal'", key=t.key("x_dist"))
        if len(o["w"]) != o["features"] or any(isinstance(v, list) for v in o["w"]):
            raise LessonError(f"expected {o['features']} numbers, one per feature", key=t.key("w"))
        _rows(o["w"], t.key("w"), flat_ok=True)
        for k in ("b", "noise"):
            _value(o[k], t.key(k))
        if o["noise"] < 0:
            raise LessonError("noise is a standard deviation, at least 0", key=t.key("noise"))
        if not 1 <= o["train"] < o["n"]:
            raise LessonError("train must leave at least one validation sample", key=t.key("train"))
    elif kind == "digits":
        if not 0.05 <= o["test_fraction"] <= 0.95:
            raise LessonError("test_fraction must be within 0.05..0.95", key=t.key("test_fraction"))
    elif kind in PLAYGROUND or kind == "csv":
        if kind != "csv" and not 0 <= o["noise"] <= MAX_NOISE:
            raise LessonError(f"noise is a percentage within 0..{MAX_NOISE}", key=t.key("noise"))
        if not 10 <= o["ratio"] <= 90:
            raise LessonError("ratio is the training share in percent, within 10..90", key=t.key("ratio"))
        if kind == "csv":
            p = o["path"]
            if not p or p.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", p) or ".." in re.split(r"[/\\]", p):
                raise LessonError("a path relative to the lesson's folder, without '..'", key=t.key("path"))
            if not p.endswith(".csv"):
                raise LessonError("a .csv file", key=t.key("path"))
    elif kind == "mnist":
        for k in ("train_size", "test_size"):
            if not 100 <= o[k] <= 60_000:
                raise LessonError(f"{k} must be within 100..60000", key=t.key(k))


_TRAIN_OVERRIDES = {"lr", "optimizer", "momentum", "epochs", "bias", "batch_size", "zero_grad"}


def _hyper(t: _Table) -> dict[str, Any]:
    """The hyper-parameters of [train]; overrides and variants change some of them."""
    return {
        "lr": t.number("lr", lo=0.0, hi=1e6),
        "optimizer": t.choice("optimizer", OPTIMIZERS, "gd"),
        "momentum": t.number("momentum", 0.0, lo=0.0, hi=0.999),
        "epochs": t.integer("epochs", lo=1, hi=MAX_EPOCHS),
        "batch_size": t.integer("batch_size", 0, lo=0, hi=MAX_SAMPLES),
        "zero_grad": t.take("zero_grad", bool, True),
    }


def _train(t: _Table) -> Train:
    backends = _backend_list(t)
    hyper = _hyper(t)
    loss = t.choice("loss", LOSSES)
    seed = t.integer("seed", 0, lo=0, hi=2**32 - 1)
    dtype = t.choice("dtype", DTYPES, "float32")
    init = t.choice("init", INITS, "randn")
    hidden = t.integer("hidden", None, lo=1, hi=MAX_WIDTH)
    log_every = t.integer("log_every", 1, lo=1, hi=MAX_STEPS)
    baseline = t.choice("baseline", BASELINES, None)
    note = t.text("note", "", limit=2000)
    probe = t.take("probe", list, [])
    if len(probe) > 10 or not _numbers(probe, 1):
        raise LessonError("up to ten inputs (numbers, or rows of numbers)", key=t.key("probe"))
    for i, x in enumerate(probe):
        for j, v in enumerate(x if isinstance(x, list) else [x]):
            _value(v, f"{t.key('probe')}[{i}]" + (f"[{j}]" if isinstance(x, list) else ""))
    dataset = _dataset(t.sub("dataset", required=True))
    layers = tuple(_layer(lt) for lt in t.array("layers", required=True, limit=MAX_LAYERS))
    _unique_params(layers, t.key("layers"))
    if not any(l.type == "linear" for l in layers):
        raise LessonError("a model needs at least one linear layer", key=t.key("layers"))
    if any(l.out == "hidden" for l in layers) and hidden is None:
        raise LessonError("a layer uses 'hidden' but [train] has no 'hidden' size", key=t.key("hidden"))
    overrides = {}
    ov = t.sub("overrides")
    if ov:
        for backend in list(ov.data):
            if backend not in BACKENDS:
                raise LessonError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})", key=ov.key(backend))
            bt = ov.sub(backend)
            overrides[backend] = _partial(bt, _TRAIN_OVERRIDES)
            bt.done()
        ov.done()
    t.done()
    train = Train(tuple(backends), dataset, layers, loss, hyper["optimizer"], hyper["lr"], hyper["momentum"],
                  hyper["epochs"], hyper["batch_size"], seed, dtype, init, hidden, log_every, hyper["zero_grad"],
                  baseline, overrides, note, _freeze(probe))
    _check_steps(train, t)
    _check_run(train, dataset, t.path)
    return train


def _partial(t: _Table, allowed: set[str]) -> dict[str, Any]:
    """Only the keys given, each checked like its counterpart in [train]."""
    out: dict[str, Any] = {}
    readers = {
        "lr": lambda: t.number("lr", lo=0.0, hi=1e6),
        "optimizer": lambda: t.choice("optimizer", OPTIMIZERS),
        "momentum": lambda: t.number("momentum", lo=0.0, hi=0.999),
        "epochs": lambda: t.integer("epochs", lo=1, hi=MAX_EPOCHS),
        "batch_size": lambda: t.integer("batch_size", lo=0, hi=MAX_SAMPLES),
        "zero_grad": lambda: t.take("zero_grad", bool),
        "bias": lambda: t.take("bias", bool),
        "backends": lambda: _backend_list(t),
    }
    for name in list(t.data):
        if name in allowed:
            out[name] = readers[name]()
    return out


def _backend_list(t: _Table) -> tuple[str, ...]:
    backends = t.take("backends", list)
    for i, b in enumerate(backends):
        if b not in BACKENDS:
            raise LessonError(f"unknown backend {b!r} (known: {', '.join(BACKENDS)})", key=f"{t.key('backends')}[{i}]")
    if not backends:
        raise LessonError("at least one backend", key=t.key("backends"))
    return tuple(backends)


def _check_steps(train: Train, t: _Table) -> None:
    if train.epochs * max(1, 60_000 // max(train.batch_size, 1) if train.batch_size else 1) > MAX_STEPS:
        raise LessonError(f"{train.epochs} epochs at this batch size exceed {MAX_STEPS:,} steps", key=t.key("epochs"))


def _unique_params(layers: tuple[Layer, ...], key: str) -> None:
    """Every weight and bias name (given, or W1, b1, ...) differs from the others: a backend keeps
    parameters by name. Bias names count even where `bias = false`, as an override may add one."""
    seen: dict[str, int] = {}
    linear = [(i, lyr) for i, lyr in enumerate(layers) if lyr.type == "linear"]
    for n, (i, lyr) in enumerate(linear, 1):
        for label, name in (("name", lyr.name or f"W{n}"), ("bias_name", lyr.bias_name or f"b{n}")):
            if name in seen:
                raise LessonError(f"'{name}' is already the name of a parameter of layer {seen[name]}: "
                                  "every weight and bias needs its own name", key=f"{key}[{i}].{label}")
            seen[name] = i


def dataset_shape(dataset: Dataset) -> tuple[int, int, int]:
    """(samples, input width, output width) of a dataset, known without loading it."""
    o = dataset.options
    if dataset.kind == "points":
        def width(rows):
            return len(rows[0]) if isinstance(rows[0], list) else 1
        samples = len(o["x"]) + (len(o["x_val"]) if o.get("x_val") else 0)
        return samples, width(o["x"]), width(o["y"])
    if dataset.kind == "synthetic-linear":
        return o["n"], o["features"], 1
    if dataset.kind == "iris":
        return 100, 2, 2
    if dataset.kind == "digits":
        return 1797, 64, 10
    if dataset.kind in PLAYGROUND:
        return SAMPLES, 2, 1
    if dataset.kind == "csv":
        return MAX_CSV_ROWS, 2, 1                           # at most
    return o["train_size"] + o["test_size"], 784, 10        # mnist


def _check_run(train: Train, dataset: Dataset, train_key: str, variant_key: str | None = None) -> None:
    """What a run on this dataset needs, from the data's real widths: explicit weights and biases of
    the right size, probes as wide as the inputs, and at most MAX_PARAMS weights and MAX_CELLS values
    per pass (samples × the widths of the input and of every layer's output). A variant's dataset
    is checked against [train]'s layers; its problems are reported at the variant's dataset."""
    samples, width, outputs = dataset_shape(dataset)
    variant = variant_key is not None
    data_key = variant_key or f"{train_key}.dataset"
    layers_key, probe_key = f"{train_key}.layers", f"{train_key}.probe"
    on = "on this dataset, " if variant else ""
    if train.baseline in CLASSIFIERS and dataset.kind not in CLASSES:
        raise LessonError(f"{on}the baseline '{train.baseline}' is a classifier, and '{dataset.kind}' has no classes "
                          f"(classes: {', '.join(CLASSES)})", key=data_key if variant else f"{train_key}.baseline")
    for i, x in enumerate(train.probe):
        given = len(x) if isinstance(x, tuple) else 1
        if given != width:
            raise LessonError(f"{on}a probe has {given} inputs, but the data has {width} input columns",
                              key=data_key if variant else f"{probe_key}[{i}]")
    widths, params, hidden_in = [width], 0, False
    for i, lyr in enumerate(train.layers):
        if lyr.type != "linear":
            widths.append(widths[-1])
            continue
        out = {"hidden": train.hidden, "outputs": outputs}.get(lyr.out, lyr.out) if isinstance(lyr.out, str) else lyr.out
        n_in, hidden_out = widths[-1], lyr.out == "hidden"
        where = f"{on}layer {i}: " if variant else ""

        def key(label: str) -> str:
            return data_key if variant else f"{layers_key}[{i}].{label}"

        if lyr.weight is not None:
            if hidden_in or hidden_out:
                raise LessonError(f"{where}an explicit weight needs fixed sizes, and a learner can change 'hidden'",
                                  key=key("weight"))
            rows, cols = _shape(lyr.weight)
            if (rows, cols) not in ((n_in, out), (n_in * out, 1)):
                given = f"{rows} × {cols}" if isinstance(lyr.weight[0], tuple) else f"{rows} numbers"
                raise LessonError(f"{where}the weight is {given}; this layer takes {n_in} inputs to {out} outputs, "
                                  f"so it needs {n_in} × {out}", key=key("weight"))
        if lyr.bias_init is not None:
            n = len(_flat(lyr.bias_init))
            if hidden_out:
                raise LessonError(f"{where}an explicit bias needs a fixed size, and a learner can change 'hidden'",
                                  key=key("bias_init"))
            if n != out:
                raise LessonError(f"{where}the bias has {n} numbers; this layer has {out} outputs", key=key("bias_init"))
        params += n_in * out + out
        widths.append(out)
        hidden_in = hidden_out
    if params > MAX_PARAMS:
        raise LessonError(f"{on}the model would have {params:,} weights; the limit is {MAX_PARAMS:,}",
                          key=data_key if variant else layers_key)
    cells = samples * sum(widths)
    if cells > MAX_CELLS:
        raise LessonError(f"{samples:,} samples × {sum(widths):,} values each (the inputs and every layer's outputs) "
                          f"is {cells:,}; the limit is {MAX_CELLS:,}", key=data_key)


def check_hidden(train: Train, dataset: Dataset, hidden: int) -> None:
    """A learner's `hidden` (a field, --hidden) within the same size bounds as a lesson file's."""
    from dataclasses import replace

    try:
        _check_run(replace(train, hidden=hidden), dataset, "train")
    except LessonError as exc:
        raise LessonError(f"{hidden} hidden units is too many here: {exc.message}", key="hidden") from None


def _shape(value: tuple) -> tuple[int, int]:
    return (len(value), len(value[0])) if isinstance(value[0], tuple) else (len(value), 1)


def _flat(value) -> list:
    return [x for v in value for x in _flat(v)] if isinstance(value, tuple) else [value]


def _variant(t: _Table, train: Train | None) -> Variant:
    if train is None:
        raise LessonError("a variant needs a [train] section to vary", key=t.path)
    name = t.take("name", str)
    if not ID_RE.match(name):
        raise LessonError(f"'{name}' is not a variant name (lowercase letters, digits and '-')", key=t.key("name"))
    title = t.text("title", name, limit=120)
    changes = _partial(t, _TRAIN_OVERRIDES - {"bias"} | {"backends"})
    if "note" in t.data:                   # the variant's own note about its runs, in place of [train]'s
        changes["note"] = t.text("note", "", limit=2000)
    if "layers" in t.data:                 # another model on the same data (e.g. without its ReLU)
        layers = tuple(_layer(lt) for lt in t.array("layers", limit=MAX_LAYERS))
        _unique_params(layers, t.key("layers"))
        if not any(l.type == "linear" for l in layers):
            raise LessonError("a model needs at least one linear layer", key=t.key("layers"))
        if any(l.out == "hidden" for l in layers) and train.hidden is None:
            raise LessonError("a layer uses 'hidden' but [train] has no 'hidden' size", key=t.key("layers"))
        changes["layers"] = layers
        _check_run(replace(train, layers=layers), train.dataset, "train", t.key("layers"))
    ds = t.sub("dataset")
    if ds:
        changes["dataset"] = _dataset(ds)
        _check_run(replace(train, layers=changes.get("layers", train.layers)), changes["dataset"], "train", ds.path)
    t.done()
    return Variant(name, title, changes)


def _exercise(t: _Table, names: set[str], graph: Graph | None = None) -> Exercise:
    ex_id = t.take("id", str)
    if not ID_RE.match(ex_id):
        raise LessonError(f"'{ex_id}' is not an exercise id (lowercase letters, digits and '-')", key=t.key("id"))
    kind = t.choice("kind", EXERCISE_KINDS)
    prompt = t.text("prompt", limit=2000)
    answer = t.take("answer", (str, int, float), "" if kind == "code" else ...)
    wrt = t.names("wrt", ()) if kind == "code" else ()
    step = t.take("step", str, None)
    hints = t.take("hints", list, [])
    if len(hints) > 3 or not all(isinstance(h, str) for h in hints):
        raise LessonError("up to three hints, each a string", key=t.key("hints"))
    tolerance = t.number("tolerance", 1e-6, lo=0.0, hi=1e6)
    choices = t.take("choices", list, [])
    explain = t.text("explain", "", limit=4000)
    why = t.take("why", list, [])
    mistakes = tuple(_mistake(m, kind, names) for m in t.array("mistakes", limit=MAX_MISTAKES))
    t.done()
    if step is not None and names and step not in names:
        raise LessonError(f"'{step}' is not a node or parameter of the graph", key=t.key("step"))
    if kind == "derivative":
        parse_expr(str(answer), names=names or None, key=t.key("answer"))
    elif kind == "value" and not isinstance(answer, (int, float)):
        raise LessonError("a value exercise's answer is a number", key=t.key("answer"))
    elif kind == "choice":
        if not 2 <= len(choices) <= len(LETTERS) or not all(isinstance(c, str) for c in choices):
            raise LessonError(f"a choice exercise needs 2 to {len(LETTERS)} choices (strings), one per letter "
                              f"a to {LETTERS[-1]}", key=t.key("choices"))
        if not (isinstance(answer, str) and answer in LETTERS[: len(choices)] and len(answer) == 1):
            raise LessonError(f"the answer is a letter, a to {LETTERS[len(choices) - 1]}", key=t.key("answer"))
        if why and (len(why) != len(choices) or not all(isinstance(w, str) for w in why)):
            raise LessonError(f"expected {len(choices)} strings, one per choice", key=t.key("why"))
    elif kind == "shape" and not (isinstance(answer, str) and re.match(r"^\s*\w+\s*(x\s*\w+\s*)?$", answer)):
        raise LessonError("a shape is written like 'D x H'", key=t.key("answer"))
    elif kind == "code":
        _code_exercise(wrt, graph, t)
    if why and kind != "choice":
        raise LessonError("only a choice exercise has a reason per choice", key=t.key("why"))
    return Exercise(ex_id, kind, prompt, str(answer) if not isinstance(answer, (int, float)) else repr(float(answer)),
                    step, tuple(hints), tolerance, tuple(choices), explain, why=tuple(why), mistakes=mistakes, wrt=wrt)


def _mistake(t: _Table, kind: str, names: set[str]) -> tuple[str, str]:
    """A known wrong answer and what to say to it: an expression for a derivative, a number for
    a value exercise."""
    answer = t.take("answer", (str, int, float))
    says = t.text("says", limit=MAX_MESSAGE)
    t.done()
    if kind == "derivative":
        parse_expr(str(answer), names=names or None, key=t.key("answer"))
    elif kind == "value":
        if isinstance(answer, str):
            raise LessonError("a value exercise's mistake is a number", key=t.key("answer"))
    else:
        raise LessonError("known mistakes belong to derivative and value exercises", key=t.key("answer"))
    return (str(answer) if isinstance(answer, str) else repr(float(answer)), says)


def _code_exercise(wrt: tuple[str, ...], graph: Graph | None, t: "_Table") -> None:
    """A code exercise names what to implement: the gradients (of parameters or nodes) that its
    `backward` function returns, from the graph's inputs and parameters (default: every parameter)."""
    if graph is None:
        raise LessonError("a code exercise needs a [graph]: its function is generated from it", key=t.key("kind"))
    for w in wrt:
        if w not in graph.params + tuple(n.name for n in graph.nodes[:-1]):
            raise LessonError(f"'{w}' is not a parameter or node of the graph (the loss has no gradient to "
                              "return)", key=t.key("wrt"))


# ---------------------------------------------------------------------------------------------
# Finding lessons


def lessons_dir() -> Path:
    """The shipped lessons: inside the package when installed from a wheel, else the repository's."""
    here = Path(__file__).resolve().parent
    packaged = here / "lessons"
    return packaged if packaged.is_dir() else here.parent / "lessons"


def lesson_paths() -> list[Path]:
    return sorted(lessons_dir().glob("*.toml"))


@dataclass(frozen=True)
class Listing:
    """What the lesson list shows, read without building derivations or trainers."""

    id: str
    title: str
    summary: str
    order: int
    path: Path
    exercises: int
    error: str | None = None
    parts: tuple[str, ...] = ("explain",)      # Lesson.parts; only Explain for a file that does not load


def catalogue() -> list[Listing]:
    """Every shipped lesson in curriculum order; a broken file is listed with its error."""
    items = []
    for p in lesson_paths():
        try:
            lesson = load(p)
            items.append(Listing(lesson.id, lesson.title, lesson.summary, lesson.order, p, len(lesson.exercises),
                                 parts=lesson.parts))
        except LessonError as exc:
            more = f" (and {len(exc.more)} more)" if exc.more else ""
            name = printable(p.stem)     # a file name is a stranger's text too
            items.append(Listing(name, name, "", 100_000, p, 0, f"{exc}{more}"))
    return sorted(items, key=lambda i: (i.order, i.id))


def resolve(name: str) -> Path:
    """A lesson id or a path to a .toml file → the file's path, or a LessonError listing the ids."""
    candidate = Path(name)
    if name.endswith(".toml") or candidate.exists():
        if not candidate.is_file():
            raise LessonError(f"no such lesson file: {name}")
        return candidate
    for p in lesson_paths():
        if p.stem == name:
            return p
    known = ", ".join(i.id for i in catalogue())
    raise LessonError(f"unknown lesson '{name}'. Known lessons: {known}")
