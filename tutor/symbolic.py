"""`Expr` trees → sympy, in the scalar view (one sample: `sum` and `mean` are the identity).

Built node by node from the parser's whitelisted tree, so no lesson text ever reaches sympy's
own parser. Importing this module imports sympy: only derive.py and exercises.py do.
"""

from __future__ import annotations

from functools import lru_cache

import sympy

from tutor.mathexpr import Expr


class sigmoid(sympy.Function):
    """σ(z) = 1 / (1 + e^(−z)), kept whole so that its derivative reads σ(z)(1 − σ(z))."""

    @classmethod
    def eval(cls, z):
        if z.is_Number:
            return 1 / (1 + sympy.exp(-z))
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sympy.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real


def indicator(z: sympy.Expr) -> sympy.Expr:
    """1[z > 0], written as a piecewise: ReLU's derivative."""
    return sympy.Piecewise((sympy.Integer(1), z > 0), (sympy.Integer(0), True))


@lru_cache(maxsize=4096)
def sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def to_sympy(expr: Expr) -> sympy.Expr:
    op = expr[0]
    if op == "num":
        v = expr[1]
        if float(v).is_integer():
            return sympy.Integer(int(v))
        return sympy.nsimplify(v) if abs(v) < 1e6 else sympy.Float(v)  # 0.5 reads as 1/2
    if op == "sym":
        return sym(expr[1])
    if op == "neg":
        return -to_sympy(expr[1])
    if op == "T":
        return to_sympy(expr[1])          # a scalar is its own transpose
    if op == "fn":
        a = to_sympy(expr[2])
        name = expr[1]
        if name == "relu":
            return sympy.Max(a, 0)
        if name == "step":
            return indicator(a)
        if name == "sigmoid":
            return sigmoid(a)
        if name in ("sum", "mean"):
            return a
        if name == "abs":
            return sympy.Abs(a)
        return getattr(sympy, name)(a)    # tanh, exp, log, sqrt: names checked by the parser
    if op == "max":
        return sympy.Max(to_sympy(expr[1]), to_sympy(expr[2]))
    a, b = to_sympy(expr[1]), to_sympy(expr[2])
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op in ("mul", "matmul"):
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        return a ** b
    raise ValueError(op)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Readable form: step functions as the indicator piecewise (Heaviside(z) → 1[z > 0]) and
    common factors pulled out (2·(y_pred − y), not 2·y_pred − 2·y)."""
    if expr.has(sympy.Heaviside):
        expr = expr.replace(sympy.Heaviside, lambda arg, *rest: indicator(arg))
    return sympy.factor_terms(expr)


def diff(expr: sympy.Expr, name: str) -> sympy.Expr:
    return tidy(sympy.diff(expr, sym(name)))


def value(expr: sympy.Expr, env: dict[str, float]) -> float:
    """Evaluate at a point (every free symbol must be in env)."""
    subs = {sym(k): sympy.Float(v, 30) for k, v in env.items()}
    out = expr.xreplace(subs)
    out = out.rewrite(sympy.exp) if out.has(sigmoid) else out
    return float(sympy.N(out, 30))


def simplify_small(expr: sympy.Expr, limit: int = 120) -> sympy.Expr:
    """sympy.simplify where it is cheap; big expressions are left as they are."""
    if sympy.count_ops(expr) > limit:
        return expr
    return sympy.simplify(expr)


def is_zero(expr: sympy.Expr, names: list[str], trials: int = 6, seed: int = 0) -> bool:
    """Whether `expr` is identically zero. Evaluation at random points comes first: it is fast
    whatever the answer looks like, and a learner's (a + b)**16 must not stall simplify.
    Only when every point is undefined does sympy.simplify decide, on small expressions."""
    import random

    rng = random.Random(seed)
    evaluated = 0
    for _ in range(trials):
        env = {n: rng.uniform(0.3, 1.7) * rng.choice((1, -1)) for n in names}
        try:
            v = value(expr, env)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if v != v:            # nan: undefined at this point (log of a negative, say)
            continue
        evaluated += 1
        if not abs(v) < 1e-9:
            return False
    if evaluated:
        return True
    try:
        return simplify_small(expr, 120) == 0
    except Exception:  # noqa: BLE001 - sympy can fail on odd input: then it is not shown to be zero
        return False
