"""The one table of layer kinds, as tutor/expr/ops.py is for operations. Each entry keeps, side by
side, everything the tutor needs to know about a kind of layer:

    params      its parameters' roles, in order (a linear layer's weight and bias, a batchnorm's
                gamma and beta); `fixed` the constant start of parameters nothing draws
    make        the hand-written layer: forward and backward rules on `xp` arrays (numpy or torch),
                the code the numpy and torch-manual backends run and the playground trains with
    torch       torch's own function for the autograd backend (and the reference the tests check
                each hand-written backward against)
    nn          the torch.nn module, as (class, arguments), and where its parameters live in it
    forward_lines, backward_lines, torch_lines
                the exported script's lines, written operation for operation as `make` computes
    health      what the doctor measures on it: "distinct" units (linear), "dead" units, or
                "saturated" outputs within snapshot.SATURATED_WITHIN of `bounds`
    kink        where its derivative jumps (the tests keep inputs away from it)
    final       nothing after it is measured (softmax, log_softmax end a model)

Adding a layer kind is one `LayerKind(...)` entry below (with its hand-written class) and its word
in tutor/lesson/vocabulary.py's LAYER_TYPES; tests/unit/test_layer_table.py checks every entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tutor.train import layers_modern as m

BN_EPS = 1e-5  # nn.BatchNorm1d's eps: every backend and the exported code use this one
BN_MOMENTUM = 0.1  # nn.BatchNorm1d's momentum: how far a training batch moves the running ones


# --- the hand-written layers: forward and backward side by side ---------------------------------


class Linear:
    def __init__(self, W: Any, b: Any = None, first: bool = False) -> None:
        self.W, self.b = W, b
        self.first = first  # the input layer: nobody needs ∂L/∂x

    def forward(self, x: Any) -> Any:
        self.x = x
        z = x @ self.W
        return z + self.b if self.b is not None else z

    def backward(self, g: Any) -> Any:
        self.dW = self.x.T @ g  # ∂L/∂W = xᵀ · g
        if self.b is not None:
            self.db = g.sum(0)  # ∂L/∂b = 1ᵀ · g  (the bias was broadcast over rows)
        if self.first:
            return None
        return g @ self.W.T  # ∂L/∂x = g · Wᵀ


class ReLU:
    def forward(self, x: Any) -> Any:
        self.mask = x > 0
        return x * self.mask

    def backward(self, g: Any) -> Any:
        return g * self.mask  # 1[z > 0]


class Sigmoid:
    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.s = 1 / (1 + self.xp.exp(-x))
        return self.s

    def backward(self, g: Any) -> Any:
        return g * self.s * (1 - self.s)  # σ(z)(1 − σ(z))


class Tanh:
    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.t = self.xp.tanh(x)
        return self.t

    def backward(self, g: Any) -> Any:
        return g * (1 - self.t * self.t)


class RunningStats:
    """A batchnorm layer's running mean and variance, as nn.BatchNorm1d keeps them: they start at 0
    and 1, and each training batch moves them a tenth of the way (BN_MOMENTUM) to its mean and
    its unbiased variance (÷(N − 1)). In evaluation (`training` False) the layer uses them instead
    of the batch's own statistics, so a sample's output no longer depends on the rest of its
    batch."""

    def __init__(self, zeros: Any) -> None:
        self.mean = zeros  # numpy array or (detached) tensor, the layer's width
        self.var = zeros + 1
        self.training = True

    def update(self, mu: Any, var: Any, n: int) -> None:
        """After a training batch of `n` samples whose biased variance (÷N) is `var`."""
        self.mean = (1 - BN_MOMENTUM) * self.mean + BN_MOMENTUM * mu
        # nn.BatchNorm1d refuses a training batch of one sample; here it leaves the variance as ÷N
        self.var = (1 - BN_MOMENTUM) * self.var + BN_MOMENTUM * (var * (n / max(n - 1, 1)))


class BatchNorm:
    """Batch normalisation, as nn.BatchNorm1d computes it: in training each feature centred by
    the batch's mean and scaled by 1/√(var + eps) with the batch's biased variance (÷N), then a
    learned scale gamma and shift beta; the batch's statistics also move the running ones
    (`stats`), which evaluation uses in their place (`stats.training` False, set by the model)."""

    def __init__(self, gamma: Any, beta: Any) -> None:
        self.gamma, self.beta = gamma, beta
        self.stats = RunningStats(gamma * 0)

    def forward(self, x: Any) -> Any:
        if not self.stats.training:  # evaluation: the running statistics, nothing to remember
            return (
                self.gamma * ((x - self.stats.mean) / (self.stats.var + BN_EPS) ** 0.5) + self.beta
            )
        mu = x.mean(0)  # the batch mean of each feature
        xc = x - mu  # centred
        var = (xc * xc).mean(0)  # biased variance: ÷N
        self.stats.update(mu, var, x.shape[0])
        self.inv = 1 / (var + BN_EPS) ** 0.5  # inverse standard deviation
        self.xhat = xc * self.inv  # normalised
        return self.gamma * self.xhat + self.beta

    def backward(self, g: Any) -> Any:
        n = g.shape[0]
        self.dgamma = (g * self.xhat).sum(0)  # ∂L/∂gamma = Σ_batch g ⊙ xhat
        self.dbeta = g.sum(0)  # ∂L/∂beta = Σ_batch g
        dxhat = g * self.gamma
        # the fused rule: every sample's x moves the mean and the variance, which the last two terms undo
        return self.inv / n * (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0))


def softmax(xp: Any, z: Any) -> Any:  # the array library, its array
    e = xp.exp(z - xp.rowmax(z))
    return e / xp.rowsum(e)


class Softmax:
    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.s = softmax(self.xp, x)
        return self.s

    def backward(self, g: Any) -> Any:  # the Jacobian diag(s) − s sᵀ, applied row by row
        return self.s * (g - self.xp.rowsum(g * self.s))


class LogSoftmax:
    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        shifted = x - self.xp.rowmax(x)
        out = shifted - self.xp.log(self.xp.rowsum(self.xp.exp(shifted)))
        self.s = self.xp.exp(out)
        return out

    def backward(self, g: Any) -> Any:
        return g - self.s * self.xp.rowsum(g)


# --- the table -------------------------------------------------------------------------------------

Lines = Callable[..., list[str]]


@dataclass(frozen=True)
class LayerKind:
    name: str
    make: Callable[
        [Any, tuple[Any, ...], bool], Any
    ]  # (xp, parameter arrays, first layer?) → a layer
    torch: Callable[[Any, Any, tuple[Any, ...]], Any]  # (torch, x, parameter tensors) → output
    nn: Callable[
        [Any], tuple[str, tuple[Any, ...], dict[str, Any]]
    ]  # planned layer → (nn class, args, kwargs)
    forward_lines: Lines  # (xp spellings, h, out, parameter names) → lines
    backward_lines: Lines  # (xp spellings, h, out, parameter names, first) → lines
    torch_lines: Lines  # (h, out, parameter names) → the autograd lines
    params: tuple[str, ...] = ()  # roles, in order; each a variable name in `make`'s layer
    grads: tuple[str, ...] = ()  # the layer's attribute holding each one's gradient
    nn_params: tuple[
        tuple[str, bool], ...
    ] = ()  # each role's nn attribute, and whether stored transposed
    fixed: tuple[str, ...] = ()  # numpy constructors of parameters nothing draws
    resizes: bool = False  # its output width is its own `out` (linear)
    bias_switch: bool = False  # the run's `bias` setting turns its bias on or off
    health: str | None = None  # "distinct", "dead" or "saturated"
    bounds: tuple[float, float] | None = None  # a saturating output's range
    kink: Callable[[Any], Any] | None = None  # numpy: distance of each input from a kink
    final: bool = False  # nothing after it is measured
    prefix: str = "h"  # its output's name in a script: z1, h1, ...
    erf: bool = False  # its numpy rules need erf (scipy.special's)
    random: bool = False  # draws a mask at each training pass (DropMasks)
    skip: bool = False  # adds an earlier layer's output (a residual connection)
    running: bool = False  # keeps running statistics (RunningStats): eval differs
    start_lines: Callable[[str, tuple[Any, ...], bool], list[str]] | None = (
        None  # (out, names, autograd?): before the loop
    )
    eval_lines: Callable[[str, str, tuple[Any, ...], bool], list[str]] | None = (
        None  # (h, out, names, autograd?): evaluation
    )


def _linear_make(xp: Any, p: Any, first: bool) -> Any:
    return Linear(p[0], p[1], first=first)


def _linear_forward(xp: Any, h: str, out: str, names: tuple[Any, ...]) -> list[str]:
    w, b = names
    return [f"{out} = {h} @ {w}" + (f" + {b}" if b else "")]


def _linear_backward(xp: Any, h: str, out: str, names: tuple[Any, ...], first: bool) -> list[str]:
    w, b = names
    lines = [f"d{w} = {h}.T @ g"] + ([f"d{b} = g.sum(0)"] if b else [])
    return lines if first else lines + [f"g = g @ {w}.T"]


def _linear_torch(t: Any, x: Any, p: Any) -> Any:
    x = x @ p[0]
    return x + p[1] if p[1] is not None else x


def _bn_update(h: str, n: str, detach: str = "") -> list[str]:
    """The running statistics' update after a training batch, as RunningStats.update writes it."""
    keep, m = 1 - BN_MOMENTUM, BN_MOMENTUM
    return [
        f"running_mean{n} = {keep!r} * running_mean{n} + {m!r} * mu{n}{detach}      # running statistics",
        f"running_var{n} = {keep!r} * running_var{n} + {m!r} * (var{n}{detach} * ({h}.shape[0] / "
        f"max({h}.shape[0] - 1, 1)))      # the unbiased variance",
    ]


def _bn_forward(xp: Any, h: str, out: str, names: tuple[Any, ...]) -> list[str]:
    g, b, n = *names, out[1:]
    return [
        f"mu{n} = {h}.mean(0)",
        f"xc{n} = {h} - mu{n}",
        f"var{n} = (xc{n} * xc{n}).mean(0)   # biased: ÷N",
        *_bn_update(h, n),
        f"inv{n} = 1 / (var{n} + {BN_EPS!r}) ** 0.5",
        f"xhat{n} = xc{n} * inv{n}",
        f"{out} = {g} * xhat{n} + {b}",
    ]


def _bn_start(out: str, names: tuple[Any, ...], autograd: bool) -> list[str]:
    """Before the loop: the running statistics start at mean 0 and variance 1 (RunningStats)."""
    g, n = names[0], out[1:]
    return [
        f"running_mean{n} = {g}{'.detach()' if autograd else ''} * 0      # batchnorm's running statistics",
        f"running_var{n} = running_mean{n} + 1",
    ]


def _bn_eval(h: str, out: str, names: tuple[Any, ...], autograd: bool) -> list[str]:
    """Evaluation mode: the running statistics in place of the batch's (BatchNorm, _bn_torch)."""
    g, b, n = *names, out[1:]
    root = (
        f"torch.sqrt(running_var{n} + {BN_EPS!r})"
        if autograd
        else f"(running_var{n} + {BN_EPS!r}) ** 0.5"
    )
    return [f"{out} = {g} * (({h} - running_mean{n}) / {root}) + {b}"]


def _bn_backward(xp: Any, h: str, out: str, names: tuple[Any, ...], first: bool) -> list[str]:
    g, b, n = *names, out[1:]
    return [
        f"d{g} = (g * xhat{n}).sum(0)",
        f"d{b} = g.sum(0)",
        f"dxhat = g * {g}",
        "n = g.shape[0]",
        f"g = inv{n} / n * (n * dxhat - dxhat.sum(0) - xhat{n} * (dxhat * xhat{n}).sum(0))",
    ]


def _bn_torch(t: Any, x: Any, p: Any) -> Any:
    """As nn.BatchNorm1d: the batch's statistics, biased variance; with p's third entry, a layer's
    RunningStats (the autograd backend's), those move in training and replace them in evaluation."""
    stats = p[2] if len(p) > 2 else None
    if stats is not None and not stats.training:
        return p[0] * ((x - stats.mean) / t.sqrt(stats.var + BN_EPS)) + p[1]
    mu = x.mean(0)
    xc = x - mu
    var = (xc * xc).mean(0)
    if stats is not None:
        stats.update(mu.detach(), var.detach(), x.shape[0])
    return p[0] * (xc / t.sqrt(var + BN_EPS)) + p[1]


def _bn_text(h: str, out: str, names: tuple[Any, ...]) -> list[str]:
    g, b, n = *names, out[1:]
    return [
        f"mu{n} = {h}.mean(0)",
        f"xc{n} = {h} - mu{n}",
        f"var{n} = (xc{n} * xc{n}).mean(0)",
        *_bn_update(h, n, ".detach()"),
        f"{out} = {g} * (xc{n} / torch.sqrt(var{n} + {BN_EPS!r})) + {b}",
    ]


def _embedding_forward(xp: Any, h: str, out: str, n: tuple[Any, ...]) -> list[str]:
    i = out[1:]
    return [
        f"idx{i} = {xp['indices'].format(f'{h}.reshape(-1)')}",
        f"{out} = {n[0]}[idx{i}].reshape({h}.shape[0], -1)   # each column's row, side by side",
    ]


def _embedding_backward(xp: Any, h: str, out: str, n: tuple[Any, ...], first: bool) -> list[str]:
    i = out[1:]
    add = xp["scatter_add"].format(f"d{n[0]}", f"idx{i}", f"g.reshape(idx{i}.shape[0], -1)")
    return [
        f"d{n[0]} = {xp['zeros_like']}({n[0]})",
        add + "      # a row picked twice adds both gradients",
    ]


def _softmax_forward(xp: Any, h: str, out: str) -> list[str]:
    n = out[1:]
    return [
        f"e{n} = {xp['exp']}({h} - {xp['rowmax'].format(h)})",
        f"{out} = e{n} / {xp['rowsum'].format(f'e{n}')}",
    ]


def _log_softmax_forward(xp: Any, h: str, out: str) -> list[str]:
    n = out[1:]
    return [
        f"shifted{n} = {h} - {xp['rowmax'].format(h)}",
        f"{out} = shifted{n} - {xp['log']}({xp['rowsum'].format(xp['exp'] + f'(shifted{n})')})",
        f"s{n} = {xp['exp']}({out})",
    ]


def _activation(
    name: str,
    make: Callable[..., Any],
    torch: Callable[..., Any],
    nn: Any,
    forward: Callable[..., list[str]],
    backward: Callable[..., list[str]],
    text: Callable[[str], str],
    **more: Any,
) -> LayerKind:
    """An entry for a layer without parameters."""
    return LayerKind(
        name,
        lambda xp, p, first: make(xp),
        torch,
        lambda plan: (nn[0], (), nn[1]),
        lambda xp, h, out, names: forward(xp, h, out),
        lambda xp, h, out, names, first: backward(xp, h, out),
        lambda h, out, names: [f"{out} = {text(h)}"],
        **more,
    )


LAYERS: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind(
            "linear",
            _linear_make,
            _linear_torch,
            lambda p: ("Linear", (p.n_in, p.n_out), {"bias": bool(p.bias)}),
            _linear_forward,
            _linear_backward,
            lambda h, out, n: _linear_forward(None, h, out, n),
            params=("weight", "bias"),
            grads=("dW", "db"),
            nn_params=(("weight", True), ("bias", False)),
            resizes=True,
            bias_switch=True,
            health="distinct",
            prefix="z",
        ),
        LayerKind(
            "batchnorm",
            lambda xp, p, first: BatchNorm(p[0], p[1]),
            _bn_torch,
            # the batch's statistics in training, the running ones in evaluation, as every backend computes it
            lambda p: ("BatchNorm1d", (p.n_out,), {"eps": BN_EPS, "momentum": BN_MOMENTUM}),
            _bn_forward,
            _bn_backward,
            _bn_text,
            params=("gamma", "beta"),
            grads=("dgamma", "dbeta"),
            nn_params=(("weight", False), ("bias", False)),
            fixed=("ones", "zeros"),
            running=True,
            start_lines=_bn_start,
            eval_lines=_bn_eval,
        ),
        _activation(
            "relu",
            lambda xp: ReLU(),
            lambda t, x, p: x.clamp(min=0),
            ("ReLU", {}),
            lambda xp, h, out: [f"mask{out[1:]} = {h} > 0", f"{out} = {h} * mask{out[1:]}"],
            lambda xp, h, out: [f"g = g * mask{out[1:]}"],
            lambda h: f"{h}.clamp(min=0)",
            health="dead",
            kink=lambda x: abs(x),
        ),
        _activation(
            "sigmoid",
            Sigmoid,
            lambda t, x, p: t.sigmoid(x),
            ("Sigmoid", {}),
            lambda xp, h, out: [f"{out} = 1 / (1 + {xp['exp']}(-{h}))"],
            lambda xp, h, out: [f"g = g * {out} * (1 - {out})"],
            lambda h: f"torch.sigmoid({h})",
            health="saturated",
            bounds=(0.0, 1.0),
        ),
        _activation(
            "tanh",
            Tanh,
            lambda t, x, p: t.tanh(x),
            ("Tanh", {}),
            lambda xp, h, out: [f"{out} = {xp['tanh']}({h})"],
            lambda xp, h, out: [f"g = g * (1 - {out} * {out})"],
            lambda h: f"torch.tanh({h})",
            health="saturated",
            bounds=(-1.0, 1.0),
        ),
        _activation(
            "softmax",
            Softmax,
            lambda t, x, p: t.softmax(x, dim=1),
            ("Softmax", {"dim": 1}),
            _softmax_forward,
            lambda xp, h, out: [f"g = {out} * (g - {xp['rowsum'].format(f'(g * {out})')})"],
            lambda h: f"torch.softmax({h}, dim=1)",
            final=True,
        ),
        _activation(
            "log_softmax",
            LogSoftmax,
            lambda t, x, p: t.log_softmax(x, dim=1),
            ("LogSoftmax", {"dim": 1}),
            _log_softmax_forward,
            lambda xp, h, out: [f"g = g - s{out[1:]} * {xp['rowsum'].format('g')}"],
            lambda h: f"torch.log_softmax({h}, dim=1)",
            final=True,
        ),
        _activation(
            "gelu",
            m.GELU,
            lambda t, x, p: t.nn.functional.gelu(x),
            ("GELU", {}),
            m.gelu_lines,
            m.gelu_back,
            lambda h: f"torch.nn.functional.gelu({h})",
            erf=True,
        ),
        _activation(
            "gelu_tanh",
            m.GELUTanh,
            lambda t, x, p: t.nn.functional.gelu(x, approximate="tanh"),
            ("GELU", {"approximate": "tanh"}),
            m.gelu_tanh_lines,
            m.gelu_tanh_back,
            lambda h: f'torch.nn.functional.gelu({h}, approximate="tanh")',
        ),
        _activation(
            "silu",
            m.SiLU,
            lambda t, x, p: t.nn.functional.silu(x),
            ("SiLU", {}),
            m.silu_lines,
            m.silu_back,
            lambda h: f"torch.nn.functional.silu({h})",
        ),
        # torch's softplus returns x itself above 20 (threshold): log(1 + e^−x) < 2.1e-9 there
        _activation(
            "softplus",
            m.Softplus,
            lambda t, x, p: t.nn.functional.softplus(x),
            ("Softplus", {}),
            m.softplus_lines,
            m.softplus_back,
            lambda h: f"torch.nn.functional.softplus({h})",
        ),
        # the mask comes in as the layer's one "parameter" (None in evaluation): see layers_modern.DropMasks
        LayerKind(
            "dropout",
            lambda xp, p, first: m.Dropout(),
            lambda t, x, p: x if p[0] is None else x * p[0],
            lambda p: ("MaskDropout", (), {}),
            lambda xp, h, out, n: [f"{out} = {h} * mask{out[1:]}"],
            lambda xp, h, out, n, first: [f"g = g * mask{out[1:]}"],
            lambda h, out, n: [f"{out} = {h} * mask{out[1:]}"],
            random=True,
        ),
        # the earlier output comes in as the layer's one "parameter" (its name, in a script)
        LayerKind(
            "residual",
            lambda xp, p, first: m.Residual(),
            lambda t, x, p: x + p[0],
            lambda p: ("Identity", (), {}),
            lambda xp, h, out, n: [f"{out} = {h} + {n[0]}      # the residual connection"],
            lambda xp, h, out, n, first: [],
            lambda h, out, n: [f"{out} = {h} + {n[0]}      # the residual connection"],
            skip=True,
        ),
        # each of the input's columns of whole numbers picks a row of E (vocab × out), the rows side
        # by side; it must be the first layer
        LayerKind(
            "embedding",
            lambda xp, p, first: m.Embedding(xp, p[0]),
            lambda t, x, p: t.nn.functional.embedding(x.long(), p[0]).flatten(1),
            lambda p: ("ColumnEmbedding", (p.n_in, p.n_out), {}),
            _embedding_forward,
            _embedding_backward,
            lambda h, out, n: [
                f"{out} = torch.nn.functional.embedding({h}.long(), {n[0]}).flatten(1)"
            ],
            params=("weight",),
            grads=("dE",),
            nn_params=(("weight", False),),
            resizes=True,
            prefix="e",
        ),
        LayerKind(
            "layernorm",
            lambda xp, p, first: m.LayerNorm(xp, p[0], p[1]),
            lambda t, x, p: t.nn.functional.layer_norm(x, (x.shape[1],), p[0], p[1], m.LN_EPS),
            lambda p: ("LayerNorm", (p.n_out,), {"eps": m.LN_EPS}),
            m.layernorm_lines,
            m.layernorm_back,
            lambda h, out, n: [
                f"{out} = torch.nn.functional.layer_norm({h}, ({h}.shape[1],), {n[0]}, {n[1]}, {m.LN_EPS!r})"
            ],
            params=("gamma", "beta"),
            grads=("dgamma", "dbeta"),
            nn_params=(("weight", False), ("bias", False)),
            fixed=("ones", "zeros"),
        ),
    )
}


# the tutor's own nn modules (where torch's would draw other masks or read other inputs): class, script text
CUSTOM_NN: dict[str, tuple[Callable[[Any], Any], list[str]]] = {
    "MaskDropout": (m.masked_dropout, m.MASK_DROPOUT_TEXT),
    "ColumnEmbedding": (m.column_embedding, m.COLUMN_EMBEDDING_TEXT),
}


def nn_module(nn: Any, planned: Any) -> Any:
    """The torch.nn module of a planned layer (tutor.train.spec.Planned)."""
    cls, args, kwargs = LAYERS[planned.type].nn(planned)
    return (CUSTOM_NN[cls][0](nn) if cls in CUSTOM_NN else getattr(nn, cls))(*args, **kwargs)


def nn_class_lines(plan: Sequence[Any]) -> list[str]:
    """The definitions of the tutor's own modules a plan uses, for a script."""
    used = dict.fromkeys(LAYERS[p.type].nn(p)[0] for p in plan)
    return [line for cls in used if cls in CUSTOM_NN for line in (*CUSTOM_NN[cls][1], "")]


def nn_sequential(nn: Any, plan: Sequence[Any]) -> Any:
    """The plan's modules in nn.Sequential, or in SkipSequential where a layer adds an earlier output."""
    modules = [nn_module(nn, p) for p in plan]
    skips = {i: p.layer.source for i, p in enumerate(plan) if LAYERS[p.type].skip}
    return m.skip_sequential(nn)(skips, *modules) if skips else nn.Sequential(*modules)


def nn_text(planned: Any) -> str:
    """The same module as a script writes it."""
    cls, args, kwargs = LAYERS[planned.type].nn(planned)
    return (
        f"{'' if cls in CUSTOM_NN else 'nn.'}{cls}("
        + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        + ")"
    )
