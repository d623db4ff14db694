"""The safe expression parser: a whitelist, never an evaluator.

Hostile strings must each give a LessonError; a fuzz run of 10,000+ generated strings must give
either a tree made only of whitelisted operations or a LessonError, with no other exception,
no file written, no module imported, and no parse slower than 100 ms.
"""

from __future__ import annotations

import gc
import os
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tutor.expr.parser as mathexpr  # the parser's limits (MAX_NUMBER, NAME_RE, …)
from tests.support import examples
from tutor.errors import LessonError
from tutor.expr.nodes import Apply, Num, Sym, symbols
from tutor.expr.ops import FUNCTIONS, OPS
from tutor.expr.parser import parse
from tutor.expr.text import to_text


def assert_whitelisted(tree, names=None) -> None:
    """Walk a parsed tree: every node must be one the operation table documents, with sane leaves."""
    if isinstance(tree, Num):
        assert isinstance(tree.value, float) and not isinstance(tree.value, bool)
        assert abs(tree.value) <= mathexpr.MAX_NUMBER
    elif isinstance(tree, Sym):
        assert isinstance(tree.name, str)
        assert mathexpr.NAME_RE.match(tree.name) and not tree.name.startswith("_")
        assert tree.name not in FUNCTIONS
        if names is not None:
            assert tree.name in names
    elif isinstance(tree, Apply):
        assert tree.op in OPS, tree
        assert len(tree.args) == OPS[tree.op].arity
        for i, arg in enumerate(tree.args):
            if i in OPS[tree.op].literal:
                assert isinstance(arg, Num) and abs(arg.value) <= mathexpr.MAX_EXPONENT
            else:
                assert_whitelisted(arg, names)
    else:
        raise AssertionError(f"not an expression node: {tree!r}")


def A(op, *args):
    return Apply(op, tuple(args))


# -- what is allowed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, tree",
    [
        ("w*x", A("mul", Sym("w"), Sym("x"))),
        ("(y_pred - y)**2", A("pow", A("sub", Sym("y_pred"), Sym("y")), Num(2.0))),
        ("-x", A("neg", Sym("x"))),
        ("-2", Num(-2.0)),
        ("+x", Sym("x")),
        ("x @ W1", A("matmul", Sym("x"), Sym("W1"))),
        ("x.T", A("T", Sym("x"))),
        ("a / b", A("div", Sym("a"), Sym("b"))),
        ("x**-1", A("pow", Sym("x"), Num(-1.0))),
        ("x**0.5", A("pow", Sym("x"), Num(0.5))),
        ("relu(z1)", A("relu", Sym("z1"))),
        ("max(z1, 0)", A("max", Sym("z1"), Num(0.0))),
        ("sigmoid(a) + tanh(b)", A("add", A("sigmoid", Sym("a")), A("tanh", Sym("b")))),
        ("mean(e**2)", A("mean", A("pow", Sym("e"), Num(2.0)))),
        ("relu'(z)", A("step", Sym("z"))),
        ("  1.5e3  ", Num(1500.0)),
    ],
)
def test_allowed(text, tree):
    assert parse(text) == tree
    assert_whitelisted(parse(text))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_is_callable(name):
    args = ", ".join("xyz"[: FUNCTIONS[name]])
    assert parse(f"{name}({args})") == Apply(name, tuple(Sym(a) for a in "xyz"[: FUNCTIONS[name]]))


def test_names_restrict_symbols():
    assert parse("w*x", names={"w", "x"}) == A("mul", Sym("w"), Sym("x"))
    with pytest.raises(LessonError) as info:
        parse("w*q", names={"w", "x"}, key="graph.nodes[0].expr")
    assert info.value.key == "graph.nodes[0].expr"
    assert info.value.message == "unknown name 'q' (known: w, x)"


def test_round_trip_through_to_text():
    for text in [
        "w*x",
        "(y_pred - y)**2",
        "relu(x @ W1) @ W2",
        "-(a + b) / c",
        "max(a, 0.25) - x.T",
    ]:
        tree = parse(text)
        assert parse(to_text(tree)) == tree


@pytest.mark.parametrize("text", ["(-x)**2", "(-2)**2", "(-(a + b))**3"])
def test_round_trip_keeps_a_negated_base(text):
    """`**` binds tighter than unary minus: to_text must keep the brackets around a negated base,
    or (-2)**2 = 4 comes back as -(2**2) = -4."""
    tree = parse(text)
    assert tree.op == "pow"
    assert parse(to_text(tree)) == tree


def test_symbols_in_order():
    assert list(symbols(parse("w*x + w - max(y, 1)"))) == ["w", "x", "w", "y"]


# -- what is refused ---------------------------------------------------------------------------

HOSTILE = [
    "__import__('os').system('ls')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "9**9**9",
    "x**1000",
    "(" * 200 + "x" + ")" * 200,
    "open('f')",
    "x.__dict__",
    "[1,2]",
    "{1:2}",
    "{1, 2}",
    "x if y else z",
    "a[0]",
    'f"{x}"',
    '"abc"',
    "b'abc'",
    "x and y",
    "x or y",
    "not x",
    "x < y",
    "x == y",
    "import os",
    "(y := 2)",
    "*x",
    "f(*x)",
    "relu(*x)",
    "relu(x=1)",
    "x\x00",
    "\x00",
    "x" * 3000,
    "x + " * 700 + "x",
    "exec('1')",
    "eval('1')",
    "getattr(x, 'y')",
    "globals()",
    "__builtins__",
    "_x",
    "x.real",
    "x.T.__class__",
    "(x for x in y)",
    "[x for x in y]",
    "await x",
    "yield x",
    "x // 2",
    "x % 2",
    "x ^ 2",
    "x << 2",
    "~x",
    "1j",
    "True",
    "None",
    "...",
    "1e400",
    "10**20",
    "2**x",
    "x**y",
    "relu",
    "max(x)",
    "sum(x, y)",
    "",
    "   ",
    "x = 1",
    "x; y",
    "x\ny",
    "é",
    "a" * 33,
    "-" * 500 + "x",
    "relu(" * 45 + "x" + ")" * 45,
    "x.y.z",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:30]))
def test_hostile_strings_are_refused(text):
    with pytest.raises(LessonError) as info:
        parse(text, key="k")
    assert info.value.key == "k"
    assert info.value.message


@pytest.mark.parametrize("value", [None, 3, 2.5, b"x", ["x"], object()])
def test_non_strings_are_refused(value):
    with pytest.raises(LessonError):
        parse(value)


def test_refusals_say_what_is_wrong():
    def msg(text):
        with pytest.raises(LessonError) as info:
            parse(text)
        return info.value.message

    assert msg("x**1000") == "exponent 1000 is too large (|n| ≤ 16)"
    assert msg("open('f')").startswith("unknown function 'open'")
    assert msg("x.__dict__").startswith("attribute access '.__dict__' is not allowed")
    assert msg("x" * 3000) == "expression is 3000 characters long; the limit is 2000"
    assert msg("x\x00") == "expression contains a NUL character"
    assert "nested more than 40 levels" in msg("(" * 200 + "x" + ")" * 200)


@pytest.mark.parametrize("text", ["1or x", "1if x else 2", "0x1Fin y", "2and w"])
def test_refusals_are_silent(text):
    """Python warns about literals such as `1or` while parsing; the parser must not let that
    warning reach the learner's terminal (or `--check`'s output) next to its own message."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(LessonError):
            parse(text)
    assert [str(w.message) for w in caught] == []


def test_hostile_strings_run_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in [
        "__import__('os').system('touch pwned')",
        "open('pwned', 'w')",
        "().__class__.__base__.__subclasses__()",
    ]:
        with pytest.raises(LessonError):
            parse(text)
    assert list(tmp_path.iterdir()) == []


# -- fuzzing -----------------------------------------------------------------------------------

TOKENS = [
    "x",
    "y",
    "w",
    "w1",
    "W2",
    "z1",
    "h1",
    "L",
    "y_pred",
    "b",
    "0",
    "1",
    "2",
    "0.5",
    "1e3",
    "1e400",
    "16",
    "17",
    "1000",
    "9" * 30,
    "0x1F",
    "1_000",
    "1j",
    ".5",
    "+",
    "-",
    "*",
    "/",
    "**",
    "@",
    "//",
    "%",
    "^",
    "&",
    "|",
    "~",
    "<<",
    ">",
    "==",
    "!=",
    "=",
    ":=",
    "(",
    ")",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "...",
    "'",
    '"',
    "'''",
    "\\",
    "#",
    "`",
    "relu",
    "step",
    "sigmoid",
    "tanh",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sum",
    "mean",
    "max",
    "min",
    "relu'",
    ".T",
    ".real",
    "__import__",
    "__class__",
    "__dict__",
    "__builtins__",
    "_x",
    "os",
    "sys",
    "open",
    "eval",
    "exec",
    "getattr",
    "lambda",
    "if",
    "else",
    "for",
    "in",
    "not",
    "and",
    "or",
    "is",
    "import",
    "from",
    "yield",
    "await",
    "async",
    "None",
    "True",
    "False",
    "print",
    "f'",
    "b'",
    "r'",
    " ",
    " ",
    "  ",
    "\t",
    "\n",
    "\x00",
    "é",
    "∂",
    "·",
]

token_strings = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map("".join)
spaced_tokens = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map(" ".join)
raw_text = st.text(max_size=200)
long_text = st.text(alphabet=st.sampled_from("x+*-()[]1 ._"), min_size=1500, max_size=2600)
fuzz_strings = st.one_of(token_strings, spaced_tokens, raw_text, long_text)

FUZZ_EXAMPLES = examples(50)  # 2,000 strings by default, 5,000 where CI=true
PARSE_LIMIT_S = (
    1.0  # CPU time of one parse (thread time, so a busy machine cannot fail it): a bound
)
# for runaway (super-linear) parsing on any CPU, not a speed figure


def test_fuzz_parse_never_escapes_the_whitelist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parse("relu(x) + 1")  # warm up: anything imported lazily is imported now
    seen: list[int] = []
    slowest = [0.0, ""]
    accepted = [0]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_strings)
    def one(text):
        seen.append(1)
        modules = len(sys.modules)
        gc.disable()  # time the parser, not a collection of hypothesis's garbage
        started = time.thread_time()
        try:
            tree = parse(text)
        except LessonError as exc:
            tree = None
            assert isinstance(exc.message, str) and exc.message
        finally:
            cpu = time.thread_time() - started
            gc.enable()
        if tree is not None:
            assert_whitelisted(tree)
            accepted[0] += 1
        if cpu > slowest[0]:
            slowest[:] = [cpu, text]
        assert len(sys.modules) == modules, f"parse({text!r}) imported modules"

    one()
    assert len(seen) >= FUZZ_EXAMPLES, f"only {len(seen)} strings were tried"
    assert accepted[0] > 100, "the generator should also produce valid expressions"
    assert slowest[0] < PARSE_LIMIT_S, f"parse took {slowest[0] * 1000:.1f} ms on {slowest[1]!r}"
    assert os.listdir(tmp_path) == []
    assert not os.path.exists("/tmp/pwned")


@settings(max_examples=examples(7.5), deadline=None, derandomize=True, database=None)
@given(
    st.recursive(
        st.one_of(st.sampled_from(["x", "w", "y1"]), st.integers(0, 99).map(str)),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "@"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(
                st.sampled_from(sorted(f for f, n in FUNCTIONS.items() if n == 1)), inner
            ).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
            st.tuples(inner, st.integers(-16, 16)).map(lambda t: f"({t[0]})**{t[1]}"),
            inner.map(lambda s: f"-({s})"),
        ),
        max_leaves=12,
    )
)
def test_fuzz_valid_grammar_round_trips(text):
    tree = parse(text)
    assert_whitelisted(tree, names={"x", "w", "y1"})
    assert parse(to_text(tree)) == tree
