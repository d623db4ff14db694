"""Safe parsing of the expressions that lesson files and learners type.

Text is parsed with `ast.parse` (which builds a tree and runs nothing) and walked against a
whitelist into our own small tree of tuples, `Expr`. Nothing here calls `eval`, `exec`,
`sympify` or `parse_expr`, and nothing here imports sympy: `to_sympy` lives in `symbolic.py`,
loaded only when a derivation is built.

An `Expr` is a nested tuple whose first item names the operation:
    ("num", 2.0)  ("sym", "w1")  ("neg", a)  ("T", a)
    ("add"|"sub"|"mul"|"div"|"matmul", a, b)  ("pow", a, ("num", n))
    ("fn", name, a)        unary functions in FUNCTIONS
    ("max", a, b)
Tuples are hashable and cheap, so trees can be cached and compared.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Iterator

from tutor.errors import LessonError

Expr = tuple

# Unary functions an expression may call, with the meaning each has in every view.
FUNCTIONS = {
    "relu": "max(a, 0)",
    "step": "the indicator 1[a > 0] (the derivative of relu)",
    "sigmoid": "1 / (1 + exp(-a))",
    "tanh": "hyperbolic tangent",
    "exp": "e to the power a",
    "log": "natural logarithm",
    "sqrt": "square root",
    "abs": "absolute value",
    "sum": "sum over the batch (a single sample in the scalar view)",
    "mean": "mean over the batch (a single sample in the scalar view)",
}
BINARY_FUNCTIONS = {"max"}

MAX_LENGTH = 2000         # characters in one expression
MAX_DEPTH = 40            # nesting of brackets and operators
MAX_NODES = 400           # operations in one expression
MAX_EXPONENT = 16         # |n| in a ** n, and n must be a literal number
MAX_NUMBER = 1e12         # |literal|
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul", ast.Pow: "pow"}
# The learner's shorthand for ReLU's derivative, `relu'(z)`, is not Python: rewrite it first.
_RELU_PRIME = re.compile(r"\brelu'\s*\(")


def parse(text: object, *, names: set[str] | frozenset[str] | None = None, key: str = "") -> Expr:
    """Parse `text` into an `Expr`, or raise `LessonError` saying what is not allowed.

    `names`, when given, is the set of symbols the expression may use.
    """
    if not isinstance(text, str):
        raise LessonError(f"expected an expression as a string, found {type(text).__name__}", key=key)
    if len(text) > MAX_LENGTH:
        raise LessonError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", key=key)
    if "\x00" in text:
        raise LessonError("expression contains a NUL character", key=key)
    stripped = text.strip()
    if not stripped:
        raise LessonError("expression is empty", key=key)
    _check_bracket_depth(stripped, key)
    source = _RELU_PRIME.sub("step(", stripped)
    try:
        with warnings.catch_warnings():       # "invalid decimal literal" and friends: our message says it
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)    # Python 3.11's "invalid escape sequence"
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise LessonError(f"not a valid expression: {exc.msg} (column {exc.offset or 0})", key=key) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise LessonError(f"expression could not be parsed: {type(exc).__name__}", key=key) from None
    builder = _Builder(names, key)
    return builder.build(tree.body, 0)


def _check_bracket_depth(text: str, key: str) -> None:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise LessonError(f"expression is nested more than {MAX_DEPTH} levels deep", key=key)
        elif ch in ")]}":
            depth -= 1


class _Builder:
    def __init__(self, names, key: str):
        self.names = names
        self.key = key
        self.count = 0

    def fail(self, message: str) -> LessonError:
        return LessonError(message, key=self.key)

    def build(self, node: ast.AST, depth: int) -> Expr:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"expression has more than {MAX_NODES} operations")
        if depth > MAX_DEPTH:
            raise self.fail(f"expression is nested more than {MAX_DEPTH} levels deep")
        d = depth + 1
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            return self.symbol(node.id)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                inner = self.build(node.operand, d)
                if inner[0] == "num":
                    return ("num", -inner[1])
                return ("neg", inner)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, d)
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed (use + - * / @ **)")
            left = self.build(node.left, d)
            if op == "pow":
                return ("pow", left, self.exponent(node.right))
            return (op, left, self.build(node.right, d))
        if isinstance(node, ast.Call):
            return self.call(node, d)
        if isinstance(node, ast.Attribute):
            if node.attr == "T":
                return ("T", self.build(node.value, d))
            raise self.fail(f"attribute access '.{node.attr}' is not allowed (only '.T', the transpose)")
        raise self.fail(f"{type(node).__name__} is not allowed in an expression")

    def number(self, value: object) -> Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"constant {value!r} is not a number")
        if isinstance(value, int) and value.bit_length() > 64:
            raise self.fail("number is too large")
        value = float(value)
        if not (abs(value) <= MAX_NUMBER):
            raise self.fail(f"number {value!r} is out of range (|n| ≤ {MAX_NUMBER:g})")
        return ("num", value)

    def symbol(self, name: str) -> Expr:
        if name.startswith("_") or not NAME_RE.match(name):
            raise self.fail(f"name '{name}' is not allowed")
        if name in FUNCTIONS or name in BINARY_FUNCTIONS:
            raise self.fail(f"'{name}' is a function: call it as {name}(...)")
        if self.names is not None and name not in self.names:
            known = ", ".join(sorted(self.names)) or "none"
            raise self.fail(f"unknown name '{name}' (known: {known})")
        return ("sym", name)

    def exponent(self, node: ast.AST) -> Expr:
        value = node
        sign = 1.0
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
            sign, value = -1.0, value.operand
        if not isinstance(value, ast.Constant) or isinstance(value.value, bool) \
                or not isinstance(value.value, (int, float)):
            raise self.fail("an exponent must be a literal number, such as x**2")
        n = sign * float(value.value) if abs(value.value) <= MAX_EXPONENT else None
        if n is None:
            raise self.fail(f"exponent {value.value!r} is too large (|n| ≤ {MAX_EXPONENT})")
        return ("num", n)

    def call(self, node: ast.Call, d: int) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only the named functions may be called: " + ", ".join(sorted(FUNCTIONS) + ["max"]))
        name = node.func.id
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments")
        if name in FUNCTIONS:
            if len(node.args) != 1:
                raise self.fail(f"{name}() takes one argument, found {len(node.args)}")
            return ("fn", name, self.build(node.args[0], d))
        if name in BINARY_FUNCTIONS:
            if len(node.args) != 2:
                raise self.fail(f"max() takes two arguments, found {len(node.args)}")
            return ("max", self.build(node.args[0], d), self.build(node.args[1], d))
        raise self.fail(f"unknown function '{name}' (allowed: {', '.join(sorted(FUNCTIONS) + ['max'])})")


def symbols(expr: Expr) -> Iterator[str]:
    """Every symbol name in `expr`, in order of appearance (with repeats)."""
    op = expr[0]
    if op == "sym":
        yield expr[1]
    elif op == "num":
        return
    else:
        for arg in expr[1:]:
            if isinstance(arg, tuple):
                yield from symbols(arg)


def children(expr: Expr) -> list[Expr]:
    return [a for a in expr[1:] if isinstance(a, tuple)]


def to_text(expr: Expr) -> str:
    """Plain text of `expr` in the syntax `parse` reads (used for messages and round trips)."""
    op = expr[0]
    if op == "num":
        v = expr[1]
        text = str(int(v)) if float(v).is_integer() else repr(v)
        return f"({text})" if v < 0 else text      # (-2)**2 is not -(2**2)
    if op == "sym":
        return expr[1]
    if op == "neg":
        return f"(-({to_text(expr[1])}))"
    if op == "T":
        return f"({to_text(expr[1])}).T"
    if op == "fn":
        return f"{expr[1]}({to_text(expr[2])})"
    if op == "max":
        return f"max({to_text(expr[1])}, {to_text(expr[2])})"
    sym = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}[op]
    return f"({to_text(expr[1])} {sym} {to_text(expr[2])})"


def evaluate(expr: Expr, env: dict, ops) -> object:
    """Evaluate `expr` numerically with the array library `ops` (see `tutor.numeric`)."""
    op = expr[0]
    if op == "num":
        return ops.const(expr[1])
    if op == "sym":
        return env[expr[1]]
    if op == "neg":
        return -evaluate(expr[1], env, ops)
    if op == "T":
        return ops.transpose(evaluate(expr[1], env, ops))
    if op == "fn":
        return ops.fn(expr[1], evaluate(expr[2], env, ops))
    if op == "max":
        return ops.maximum(evaluate(expr[1], env, ops), evaluate(expr[2], env, ops))
    a = evaluate(expr[1], env, ops)
    b = evaluate(expr[2], env, ops)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "matmul":
        return ops.matmul(a, b)
    if op == "pow":
        return ops.power(a, b)
    raise LessonError(f"cannot evaluate operation {op}")
