"""The one table of operations. Each entry keeps, side by side, everything the tutor needs to know
about an operation, as micrograd's engine keeps each op's backward beside its forward:

    d         its local derivative ∂op/∂argᵢ, as a tree in the arguments (the scalar view's
              chain rule, the exercise checker and the elementwise matrix rules all use it)
    numpy     its float64 evaluation (finite differences, forward values, the matrix form)
    torch     its torch evaluation (autograd, the reference every derived gradient is checked on)
    sympy     its faithful sympy form (tests prove `d` against sympy.diff of it)
    shape     its shape rule, from its arguments' shapes
    backward  its matrix-form rule, where it is not elementwise (elementwise operations multiply
              the upstream gradient by `d`, reduced over broadcast axes: see tutor.derive.matrix)
    kink      where its derivative jumps (relu, max, abs, …): the gradient check reads it

Adding a function is one `Op(...)` entry below plus its tests; the parser, evaluation, shapes,
derivation, matrix form, exercises and lessons/README's list all follow from this table.
Nothing here imports numpy, torch or sympy: each rule receives the library it works in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tutor.expr.nodes import ONE, ZERO, Apply, Expr, Num, call, div, literal, mul, neg, power, sub

# The rules compute in the library they are handed (numpy, torch or sympy: nothing here imports
# one), on that library's values; to this module both are Any.
Lib = Any
Value = Any
Rule = Callable[..., Value]  # (library, *argument values) → a value


class ShapeError(ValueError):
    """Shapes that do not fit an operation (the message says how)."""


Shape = tuple[str, ...]


def show_shape(shape: Shape) -> str:
    return "×".join(shape) if shape else "scalar"


ONE_DIM = "1"  # a dimension of size 1 (a row reduction's kept axis): it broadcasts as numpy's does


def broadcast(a: Shape, b: Shape, what: str) -> Shape:
    if not a:
        return b
    if not b or a == b:
        return a
    long, short = (a, b) if len(a) >= len(b) else (b, a)
    tail = long[len(long) - len(short) :]
    out = []
    for x, y in zip(tail, short, strict=False):
        if x != y and ONE_DIM not in (x, y):
            raise ShapeError(
                f"shapes {show_shape(a)} and {show_shape(b)} do not match for '{what}'"
            )
        out.append(y if x == ONE_DIM else x)
    return long[: len(long) - len(short)] + tuple(out)


def _elementwise(*shapes: Shape) -> Shape:
    out: Shape = ()
    for s in shapes:
        out = broadcast(out, s, "an elementwise operation")
    return out


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    if not a or not b:
        raise ShapeError(
            f"@ needs two arrays, found a scalar ({show_shape(a)} @ {show_shape(b)}): "
            "use * to multiply by a scalar"
        )
    if a[-1] != b[0]:
        raise ShapeError(
            f"shapes do not multiply: {show_shape(a)} @ {show_shape(b)} "
            f"(inner dimensions {a[-1]} and {b[0]} differ)"
        )
    return a[:-1] + b[1:]


class BackwardContext(Protocol):
    """What a matrix rule's backward asks of its caller (tutor.derive.matrix gives it): each
    argument's value, shape and matrix-notation text."""

    @property
    def np(self) -> Lib: ...
    def value(self, expr: Expr) -> Value: ...
    def shape(self, expr: Expr) -> Shape: ...
    def text(self, expr: Expr) -> str: ...
    def wrap(self, expr: Expr) -> str: ...
    def paren(self, text: str) -> str: ...
    def swap(self, G: Value) -> Value: ...


# (ctx, args, G, G's text) → per argument (its gradient, its text), or None where nothing flows
Grads = list[tuple[Value, str] | None]
Backward = Callable[[BackwardContext, tuple[Expr, ...], Value, str], Grads]


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    doc: str  # what it means, for lessons/README and messages
    d: Callable[[tuple[Expr, ...]], tuple[Expr, ...]]  # args → (∂/∂arg₀, ∂/∂arg₁, …) as trees
    numpy: Rule
    torch: Rule
    sympy: Rule
    shape: Callable[..., Shape] = _elementwise
    backward: Backward | None = None  # (ctx, args, G, text) → [(Gᵢ, textᵢ) | None]
    kink: Rule | None = None  # (np, *values) → array whose sign change is a kink
    infix: str = ""  # "+" for operators; "" for functions called by name
    prec: int = 100  # binding strength of an infix operator
    literal: tuple[int, ...] = ()  # argument positions that must be literal numbers
    show: str = ""  # the name as the tutor writes it (σ for sigmoid)
    function: bool = True  # callable by name in expressions
    gate: str = ""  # CS231n's name for how it passes gradients back

    @property
    def label(self) -> str:
        return self.show or self.name


def _step(a: Expr) -> Expr:
    return call("step", a)


def _sigmoid_d(args: tuple[Expr, ...]) -> tuple[Expr, ...]:
    s = call("sigmoid", args[0])
    return (mul(s, sub(ONE, s)),)


def _np_sigmoid(np: Lib, a: Value) -> Value:
    return 1.0 / (1.0 + np.exp(-a))


def _np_softplus(np: Lib, a: Value) -> Value:
    return np.logaddexp(0.0, a)


def _np_leaky(np: Lib, a: Value, k: Value) -> Value:
    return np.where(a > 0, a, k * a)


def _t_leaky(t: Lib, a: Value, k: Value) -> Value:
    return t.where(a > 0, a, k * a)


def _sp_leaky(sp: Lib, a: Value, k: Value) -> Value:
    return sp.Piecewise((a, a > 0), (k * a, True))


def _pow_d(args: tuple[Expr, ...]) -> tuple[Expr, ...]:
    a, n = args
    return (mul(n, power(a, literal(n) - 1)), ZERO)


def _np_pow(np: Lib, a: Value, n: Value) -> Value:
    return np.power(a, n)


# Non-elementwise matrix rules. `ctx` gives each argument's value and its matrix-notation text.


def _back_T(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    return [(ctx.swap(G), f"({gt})ᵀ")]


def _back_matmul(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    a, b = args
    va, vb = ctx.value(a), ctx.value(b)
    np = ctx.np
    Ga = G @ np.swapaxes(vb, -1, -2) if vb.ndim >= 2 else np.outer(G, vb)
    Gb = np.swapaxes(va, -1, -2) @ G if va.ndim >= 2 else np.outer(va, G)
    return [
        (Ga, f"{ctx.paren(gt)}·{_transposed(ctx, b)}"),
        (Gb, f"{_transposed(ctx, a)}·{ctx.paren(gt)}"),
    ]


def _transposed(ctx: Any, e: Expr) -> str:
    """eᵀ as text; the transpose of a transpose (K.T in Q @ K.T) is written K, not Kᵀᵀ."""
    if isinstance(e, Apply) and e.op == "T":
        return str(ctx.wrap(e.args[0]))
    return f"{ctx.wrap(e)}ᵀ"


def _back_sum(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    va = ctx.value(args[0])
    return [(G * ctx.np.ones_like(va), gt)]  # copied to every element


def _back_mean(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    va = ctx.value(args[0])
    count = "·".join(d for d in ctx.shape(args[0]) if d != ONE_DIM) or "1"
    text = f"(1/{count})" if gt == "1" else f"({gt}/{count})"
    return [(G * ctx.np.ones_like(va) / max(va.size, 1), text if ctx.shape(args[0]) else gt)]


# Reductions over one axis. Rows: over the last axis (a row's K classes), the axis kept with size
# 1 so the result broadcasts back against the rows (z − rowmax(z)). Columns: over the first axis
# (the batch), dropped as a bias's is, so the result broadcasts against every row (x − colmean(x)).
# In the scalar view (one sample, one class, one feature) each is the identity.


def _row_shape(a: Shape) -> Shape:
    return a[:-1] + (ONE_DIM,) if a else a


def _col_shape(a: Shape) -> Shape:
    return a[1:]


def _unless_scalar(f: Rule) -> Rule:
    return lambda np, a: f(np, a) if np.ndim(a) else a


def _t_unless_scalar(f: Rule) -> Rule:
    return lambda t, a: f(t, a) if a.dim() else a


def _count(ctx: BackwardContext, expr: Expr, axis: int) -> str:
    shape = ctx.shape(expr)
    return shape[axis] if shape else "1"


def _spread(axis: int, mean: bool) -> Backward:
    """The backward of a sum (or a mean) along `axis`: the upstream gradient copied back along it
    (and divided by the count) — along each row for axis −1, to every row for axis 0."""

    def back(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
        va = ctx.value(args[0])
        if not va.ndim:
            return [(G, gt)]
        copied = f"{ctx.paren(gt)}·1ᵀ" if axis == -1 else f"1·{ctx.paren(gt)}"
        if mean:
            return [
                (
                    G * ctx.np.ones_like(va) / va.shape[axis],
                    f"{copied}/{_count(ctx, args[0], axis)}",
                )
            ]
        return [(G * ctx.np.ones_like(va), copied)]

    return back


def _back_rowmax(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    va = ctx.value(args[0])
    if not va.ndim:
        return [(G, gt)]
    hit = (va == va.max(axis=-1, keepdims=True)).astype(ctx.np.float64)
    a = ctx.text(args[0])  # the largest entry of each row takes it (ties share it)
    return [
        (G * hit / hit.sum(axis=-1, keepdims=True), f"({ctx.paren(gt)}·1ᵀ) ⊙ 1[{a} = rowmax({a})]")
    ]


def _kink_rowmax(np: Lib, a: Value) -> Value:
    # each entry against the largest of the others in its row: positive at the row's largest entry,
    # negative elsewhere, 0 only at a tie, so a change of sign is a change of argmax; a row of one
    # entry (and the scalar view) has no kink
    if not np.ndim(a) or np.shape(a)[-1] < 2:
        return np.ones_like(a)
    top = np.sort(a, axis=-1)[..., -2:]
    first, second = top[..., 1:], top[..., :1]
    return a - np.where(a == first, second, first)


def _onehot_shape(y: Shape, z: Shape) -> Shape:
    if y != z[:-1]:
        raise ShapeError(
            f"onehot(y, z) needs one label per row of z: y is {show_shape(y)}, z is {show_shape(z)}"
        )
    return z


def _np_onehot(np: Lib, y: Value, z: Value) -> Value:
    if not np.ndim(z):
        return np.float64(1.0)  # the scalar view: one class, and it is the true one
    return (np.arange(np.shape(z)[-1]) == np.asarray(y)[..., None]).astype(np.float64)


def _t_onehot(t: Lib, y: Value, z: Value) -> Value:
    if not z.dim():
        return t.ones_like(z)
    return (t.arange(z.shape[-1], device=z.device) == y.unsqueeze(-1)).to(z.dtype)


def _back_onehot(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    return [None, None]  # a constant: no gradient reaches the labels or the scores


# A causal mask: tril keeps each row's entries up to the diagonal (position i sees 0..i) and zeroes
# the later ones, as numpy's and torch's tril do. It is linear, so its backward is the same mask
# applied to the upstream gradient: a masked entry passes nothing back. In the scalar view (one
# position, which sees itself) it is the identity.


def _square_shape(a: Shape) -> Shape:
    if len(a) == 1 or len(a) == 2 and a[0] != a[1]:
        raise ShapeError(
            f"tril(a) needs a square array (positions × positions): a is {show_shape(a)}"
        )
    return a


def _back_tril(ctx: BackwardContext, args: tuple[Expr, ...], G: Value, gt: str) -> Grads:
    if not ctx.np.ndim(G):
        return [(G, gt)]
    return [(ctx.np.tril(G), f"tril({gt})")]


def _kink_first(np: Lib, a: Value, *rest: Value) -> Value:
    return a


def _t_max(t: Lib, a: Value, b: Value) -> Value:
    # at a tie autograd passes the gradient on as the derived rule 1[a − b > 0] does (all to b,
    # as relu's goes to its 0 at 0), not split in halves as torch.maximum's: the tie is a kink,
    # where any slope between the two is a subgradient, and the check says so as it does at relu(0)
    return t.where(a > b, a, b)


def _kink_max(np: Lib, a: Value, b: Value) -> Value:
    return a - b


def _np_scalar_matmul(np: Lib, a: Value, b: Value) -> Value:
    return np.matmul(a, b) if np.ndim(a) and np.ndim(b) else a * b


def _t_scalar_matmul(t: Lib, a: Value, b: Value) -> Value:
    return a @ b if a.dim() and b.dim() else a * b


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        # --- operators ---------------------------------------------------------------------------
        Op(
            "add",
            2,
            "a + b",
            lambda a: (ONE, ONE),
            lambda np, a, b: a + b,
            lambda t, a, b: a + b,
            lambda sp, a, b: a + b,
            infix="+",
            prec=10,
            function=False,
            gate="add distributes: it passes the upstream gradient unchanged to each input",
        ),
        Op(
            "sub",
            2,
            "a − b",
            lambda a: (ONE, Num(-1.0)),
            lambda np, a, b: a - b,
            lambda t, a, b: a - b,
            lambda sp, a, b: a - b,
            infix="-",
            prec=10,
            function=False,
            gate="subtract distributes: +upstream to the first input, −upstream to the second",
        ),
        Op(
            "mul",
            2,
            "a · b, elementwise",
            lambda a: (a[1], a[0]),
            lambda np, a, b: a * b,
            lambda t, a, b: a * b,
            lambda sp, a, b: a * b,
            infix="*",
            prec=20,
            function=False,
            gate="multiply swaps: each input's gradient is the upstream times the other input",
        ),
        Op(
            "div",
            2,
            "a / b, elementwise",
            lambda a: (div(ONE, a[1]), neg(div(a[0], power(a[1], 2)))),
            lambda np, a, b: a / b,
            lambda t, a, b: a / b,
            lambda sp, a, b: a / b,
            infix="/",
            prec=20,
            function=False,
        ),
        Op(
            "matmul",
            2,
            "matrix product (a product of scalars in the scalar view)",
            lambda a: (a[1], a[0]),
            _np_scalar_matmul,
            _t_scalar_matmul,
            lambda sp, a, b: a * b,
            shape=_matmul_shape,
            backward=_back_matmul,
            infix="@",
            prec=20,
            function=False,
        ),
        Op(
            "pow",
            2,
            "a ** n, n a literal number",
            _pow_d,
            _np_pow,
            lambda t, a, n: a**n,
            lambda sp, a, n: a**n,
            shape=lambda a, n: a,
            infix="**",
            prec=40,
            literal=(1,),
            function=False,
        ),
        Op(
            "neg",
            1,
            "−a",
            lambda a: (Num(-1.0),),
            lambda np, a: -a,
            lambda t, a: -a,
            lambda sp, a: -a,
            prec=30,
            function=False,
        ),
        Op(
            "T",
            1,
            "transpose, written a.T (a scalar is its own transpose)",
            lambda a: (ONE,),
            lambda np, a: np.swapaxes(a, -1, -2) if np.ndim(a) >= 2 else a,
            lambda t, a: a.transpose(-1, -2) if a.dim() >= 2 else a,
            lambda sp, a: a,
            shape=lambda a: tuple(reversed(a)),
            backward=_back_T,
            prec=50,
            function=False,
        ),
        # --- functions ---------------------------------------------------------------------------
        Op(
            "relu",
            1,
            "max(a, 0)",
            lambda a: (_step(a[0]),),
            lambda np, a: np.maximum(a, 0.0),
            lambda t, a: t.relu(a),
            lambda sp, a: sp.Max(a, 0),
            kink=_kink_first,
            gate="relu routes: the upstream gradient passes where the input is positive, else 0",
        ),
        Op(
            "step",
            1,
            "the indicator 1[a > 0] (relu's derivative; also written relu'(a))",
            lambda a: (ZERO,),
            lambda np, a: (np.asarray(a) > 0).astype(np.float64),
            lambda t, a: (a > 0).to(a.dtype),
            lambda sp, a: sp.Piecewise((1, a > 0), (0, True)),
            kink=_kink_first,
        ),
        Op(
            "leaky_relu",
            2,
            "a where a > 0, else k·a (k, the slope, is usually a small number)",
            lambda a: (call("leaky_step", a[0], a[1]), mul(a[0], sub(ONE, _step(a[0])))),
            _np_leaky,
            _t_leaky,
            _sp_leaky,
            kink=_kink_first,
        ),
        Op(
            "leaky_step",
            2,
            "leaky_relu's derivative: 1 where a > 0, else k",
            lambda a: (ZERO, sub(ONE, _step(a[0]))),
            lambda np, a, k: np.where(a > 0, 1.0, k),
            lambda t, a, k: t.where(a > 0, t.ones_like(a), k * t.ones_like(a)),
            lambda sp, a, k: sp.Piecewise((1, a > 0), (k, True)),
            kink=_kink_first,
        ),
        Op(
            "max",
            2,
            "the larger of a and b, elementwise",
            lambda a: (_step(sub(a[0], a[1])), sub(ONE, _step(sub(a[0], a[1])))),
            lambda np, a, b: np.maximum(a, b),
            _t_max,
            lambda sp, a, b: sp.Max(a, b),
            kink=_kink_max,
            gate="max routes: the whole upstream gradient goes to the larger input, none to the other",
        ),
        Op(
            "abs",
            1,
            "absolute value",
            lambda a: (call("sign", a[0]),),
            lambda np, a: np.abs(a),
            lambda t, a: t.abs(a),
            lambda sp, a: sp.Abs(a),
            kink=_kink_first,
        ),
        Op(
            "sign",
            1,
            "−1, 0 or 1 by the sign of a (abs's derivative)",
            lambda a: (ZERO,),
            lambda np, a: np.sign(a),
            lambda t, a: t.sign(a),
            lambda sp, a: sp.sign(a),
            kink=_kink_first,
        ),
        Op(
            "sigmoid",
            1,
            "1 / (1 + exp(−a))",
            _sigmoid_d,
            _np_sigmoid,
            lambda t, a: t.sigmoid(a),
            lambda sp, a: 1 / (1 + sp.exp(-a)),
            show="σ",
        ),
        Op(
            "softplus",
            1,
            "log(1 + exp(a)), a smooth relu",
            lambda a: (call("sigmoid", a[0]),),
            _np_softplus,
            lambda t, a: t.nn.functional.softplus(a),
            lambda sp, a: sp.log(1 + sp.exp(a)),
        ),
        Op(
            "tanh",
            1,
            "hyperbolic tangent",
            lambda a: (sub(ONE, power(call("tanh", a[0]), 2)),),
            lambda np, a: np.tanh(a),
            lambda t, a: t.tanh(a),
            lambda sp, a: sp.tanh(a),
        ),
        Op(
            "exp",
            1,
            "e to the power a",
            lambda a: (call("exp", a[0]),),
            lambda np, a: np.exp(a),
            lambda t, a: t.exp(a),
            lambda sp, a: sp.exp(a),
        ),
        Op(
            "log",
            1,
            "natural logarithm",
            lambda a: (div(ONE, a[0]),),
            lambda np, a: np.log(a),
            lambda t, a: t.log(a),
            lambda sp, a: sp.log(a),
        ),
        Op(
            "sqrt",
            1,
            "square root",
            lambda a: (div(ONE, mul(Num(2.0), call("sqrt", a[0]))),),
            lambda np, a: np.sqrt(a),
            lambda t, a: t.sqrt(a),
            lambda sp, a: sp.sqrt(a),
        ),
        Op(
            "sum",
            1,
            "sum over the batch (a single sample in the scalar view)",
            lambda a: (ONE,),
            lambda np, a: np.sum(a),
            lambda t, a: a.sum(),
            lambda sp, a: a,
            shape=lambda a: (),
            backward=_back_sum,
        ),
        Op(
            "mean",
            1,
            "mean over the batch (a single sample in the scalar view)",
            lambda a: (ONE,),
            lambda np, a: np.mean(a),
            lambda t, a: a.mean(),
            lambda sp, a: a,
            shape=lambda a: (),
            backward=_back_mean,
        ),
        Op(
            "rowsum",
            1,
            "each row's sum, kept as a column (N×K → N×1) to broadcast against the rows",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.sum(a, axis=-1, keepdims=True)),
            _t_unless_scalar(lambda t, a: a.sum(-1, keepdim=True)),
            lambda sp, a: a,
            shape=_row_shape,
            backward=_spread(-1, mean=False),
        ),
        Op(
            "rowmean",
            1,
            "each row's mean, kept as a column (N×K → N×1)",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.mean(a, axis=-1, keepdims=True)),
            _t_unless_scalar(lambda t, a: a.mean(-1, keepdim=True)),
            lambda sp, a: a,
            shape=_row_shape,
            backward=_spread(-1, mean=True),
        ),
        Op(
            "rowmax",
            1,
            "each row's largest entry, kept as a column (N×K → N×1)",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.max(a, axis=-1, keepdims=True)),
            _t_unless_scalar(lambda t, a: a.amax(-1, keepdim=True)),
            lambda sp, a: a,
            shape=_row_shape,
            backward=_back_rowmax,
            kink=_kink_rowmax,
            gate="rowmax routes: each row's upstream gradient goes to its largest entry",
        ),
        Op(
            "colsum",
            1,
            "the sum over the batch axis, per column (N×D → D)",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.sum(a, axis=0)),
            _t_unless_scalar(lambda t, a: a.sum(0)),
            lambda sp, a: a,
            shape=_col_shape,
            backward=_spread(0, mean=False),
        ),
        Op(
            "colmean",
            1,
            "the mean over the batch axis, per column (N×D → D)",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.mean(a, axis=0)),
            _t_unless_scalar(lambda t, a: a.mean(0)),
            lambda sp, a: a,
            shape=_col_shape,
            backward=_spread(0, mean=True),
        ),
        Op(
            "tril",
            1,
            "the causal mask: each row's entries up to the diagonal, the later ones set to 0 "
            "(the identity in the scalar view)",
            lambda a: (ONE,),
            _unless_scalar(lambda np, a: np.tril(a)),
            _t_unless_scalar(lambda t, a: t.tril(a)),
            lambda sp, a: a,
            shape=_square_shape,
            backward=_back_tril,
        ),
        Op(
            "onehot",
            2,
            "onehot(y, z): 1 where the column is row n's label y[n], else 0, shaped like the scores z "
            "(1 in the scalar view: one class, the true one)",
            lambda a: (ZERO, ZERO),
            _np_onehot,
            _t_onehot,
            lambda sp, y, z: sp.Integer(1),
            shape=_onehot_shape,
            backward=_back_onehot,
        ),
    )
}

# Names an expression may call, with their argument counts (the parser's whitelist).
FUNCTIONS: dict[str, int] = {name: op.arity for name, op in OPS.items() if op.function}
INFIX = {op.infix: name for name, op in OPS.items() if op.infix}


def local_derivatives(expr: Apply) -> tuple[Expr, ...]:
    """∂expr/∂(each argument), as trees in the arguments."""
    return OPS[expr.op].d(expr.args)


def is_kink(expr: Expr) -> bool:
    return isinstance(expr, Apply) and OPS[expr.op].kink is not None
