"""Safe parsing of the expressions that lesson files and learners type.

Text is parsed with `ast.parse` (which builds a tree and runs nothing) and walked against a
whitelist into our own typed tree (`tutor.expr.nodes`). Nothing here calls `eval`, `exec`,
`sympify` or `parse_expr`, and nothing here imports sympy, numpy or torch.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Collection

from tutor.errors import LessonError
from tutor.expr.nodes import Apply, Expr, Num, Sym, neg
from tutor.expr.ops import FUNCTIONS, INFIX

MAX_LENGTH = 2000  # characters in one expression
MAX_DEPTH = 40  # nesting of brackets and operators
MAX_NODES = 400  # operations in one expression
MAX_EXPONENT = 16  # |n| in a ** n, and n must be a literal number
MAX_NUMBER = 1e12  # |literal|
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**"}
# The learner's shorthand for ReLU's derivative, `relu'(z)`, is not Python: rewrite it first.
_RELU_PRIME = re.compile(r"\brelu'\s*\(")
# Characters the tutor itself prints (and learners copy) read as their ASCII operators.
_TYPED = str.maketrans({"−": "-", "·": "*", "⋅": "*", "×": "*"})


def normalise(text: str) -> str:
    """U+2212 minus and the dots the tutor prints (·, ⋅) as - and *."""
    return text.translate(_TYPED)


def parse(text: object, *, names: Collection[str] | None = None, key: str = "") -> Expr:
    """Parse `text` into an expression, or raise `LessonError` saying what is not allowed.

    `names`, when given, is the set of symbols the expression may use.
    """
    if not isinstance(text, str):
        raise LessonError(
            f"expected an expression as a string, found {type(text).__name__}", key=key
        )
    if len(text) > MAX_LENGTH:
        raise LessonError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", key=key
        )
    if "\x00" in text:
        raise LessonError("expression contains a NUL character", key=key)
    stripped = text.strip()
    if not stripped:
        raise LessonError("expression is empty", key=key)
    _check_bracket_depth(stripped, key)
    source = _RELU_PRIME.sub("step(", stripped)
    try:
        with (
            warnings.catch_warnings()
        ):  # "invalid decimal literal" and friends: our message says it
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter(
                "ignore", DeprecationWarning
            )  # Python 3.11's "invalid escape sequence"
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise LessonError(
            f"not a valid expression: {exc.msg} (column {exc.offset or 0})", key=key
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise LessonError(
            f"expression could not be parsed: {type(exc).__name__}", key=key
        ) from None
    return _Builder(names, key).build(tree.body, 0)


def _check_bracket_depth(text: str, key: str) -> None:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise LessonError(
                    f"expression is nested more than {MAX_DEPTH} levels deep", key=key
                )
        elif ch in ")]}":
            depth -= 1


def _allowed() -> str:
    return ", ".join(sorted(FUNCTIONS))


class _Builder:
    def __init__(self, names: Collection[str] | None, key: str):
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
                return (
                    neg(self.build(node.operand, d))
                    if not isinstance(node.operand, ast.Constant)
                    else Num(-self.number(node.operand.value).value)
                )
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, d)
            raise self.fail(f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.BinOp):
            symbol = _BINOPS.get(type(node.op))
            if symbol is None:
                raise self.fail(
                    f"operator {type(node.op).__name__} is not allowed (use + - * / @ **)"
                )
            left = self.build(node.left, d)
            right = self.exponent(node.right) if symbol == "**" else self.build(node.right, d)
            return Apply(INFIX[symbol], (left, right))
        if isinstance(node, ast.Call):
            return self.call(node, d)
        if isinstance(node, ast.Attribute):
            if node.attr == "T":
                return Apply("T", (self.build(node.value, d),))
            raise self.fail(
                f"attribute access '.{node.attr}' is not allowed (only '.T', the transpose)"
            )
        raise self.fail(f"{type(node).__name__} is not allowed in an expression")

    def number(self, value: object) -> Num:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"constant {value!r} is not a number")
        if isinstance(value, int) and value.bit_length() > 64:
            raise self.fail("number is too large")
        value = float(value)
        if not (abs(value) <= MAX_NUMBER):
            raise self.fail(f"number {value!r} is out of range (|n| ≤ {MAX_NUMBER:g})")
        return Num(value)

    def symbol(self, name: str) -> Sym:
        if name.startswith("_") or not NAME_RE.match(name):
            raise self.fail(f"name '{name}' is not allowed")
        if name in FUNCTIONS:
            raise self.fail(f"'{name}' is a function: call it as {name}(...)")
        if self.names is not None and name not in self.names:
            known = ", ".join(sorted(self.names)) or "none"
            raise self.fail(f"unknown name '{name}' (known: {known})")
        return Sym(name)

    def exponent(self, node: ast.AST) -> Num:
        value = node
        sign = 1.0
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
            sign, value = -1.0, value.operand
        if (
            not isinstance(value, ast.Constant)
            or isinstance(value.value, bool)
            or not isinstance(value.value, (int, float))
        ):
            raise self.fail("an exponent must be a literal number, such as x**2")
        if not abs(value.value) <= MAX_EXPONENT:
            raise self.fail(f"exponent {value.value!r} is too large (|n| ≤ {MAX_EXPONENT})")
        return Num(sign * float(value.value))

    def call(self, node: ast.Call, d: int) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only the named functions may be called: " + _allowed())
        name = node.func.id
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments")
        arity = FUNCTIONS.get(name)
        if arity is None:
            raise self.fail(f"unknown function '{name}' (allowed: {_allowed()})")
        if len(node.args) != arity:
            want = "one argument" if arity == 1 else f"{arity} arguments"
            raise self.fail(f"{name}() takes {want}, found {len(node.args)}")
        return Apply(name, tuple(self.build(a, d) for a in node.args))
