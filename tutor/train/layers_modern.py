"""The hand-written rules of today's layers (GELU exact and tanh-approximated, SiLU, softplus, layer
normalisation), forward and backward side by side on `xp` arrays, with their exported scripts' lines.
Their entries are in tutor/train/layers.py's table."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

LN_EPS = 1e-5  # nn.LayerNorm's eps
GELU_C = math.sqrt(2 / math.pi)
GELU_A = 0.044715


class GELU:
    """x·Φ(x), Φ the standard normal's CDF: ½·x·(1 + erf(x/√2))."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.x = x
        self.cdf = 0.5 * (1 + self.xp.erf(x / math.sqrt(2)))
        return x * self.cdf

    def backward(self, g: Any) -> Any:  # Φ(x) + x·φ(x)
        pdf = self.xp.exp(-0.5 * self.x * self.x) / math.sqrt(2 * math.pi)
        return g * (self.cdf + self.x * pdf)


class GELUTanh:
    """The tanh approximation: ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.x = x
        self.t = self.xp.tanh(GELU_C * (x + GELU_A * x * x * x))
        return 0.5 * x * (1 + self.t)

    def backward(self, g: Any) -> Any:
        du = GELU_C * (1 + 3 * GELU_A * self.x * self.x)
        return g * (0.5 * (1 + self.t) + 0.5 * self.x * (1 - self.t * self.t) * du)


class SiLU:
    """x·σ(x) (also called swish)."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.x = x
        self.s = 1 / (1 + self.xp.exp(-x))
        return x * self.s

    def backward(self, g: Any) -> Any:  # σ(x)·(1 + x·(1 − σ(x)))
        return g * self.s * (1 + self.x * (1 - self.s))


class Softplus:
    """log(1 + eˣ), written as max(x, 0) + log(1 + e^−|x|) so that no exponential overflows."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any) -> Any:
        self.x = x
        return x * (x > 0) + self.xp.log(1 + self.xp.exp(-abs(x)))

    def backward(self, g: Any) -> Any:  # σ(x)
        return g / (1 + self.xp.exp(-self.x))


class LayerNorm:
    """Layer normalisation, as nn.LayerNorm: each sample (row) centred by its mean over the features
    and scaled by 1/√(var + eps) with the biased variance, then a learned scale gamma and shift beta
    per feature. Unlike batchnorm, the samples do not mix."""

    def __init__(self, xp: Any, gamma: Any, beta: Any) -> None:
        self.xp, self.gamma, self.beta = xp, gamma, beta

    def forward(self, x: Any) -> Any:
        n = x.shape[1]
        xc = x - self.xp.rowsum(x) / n
        var = self.xp.rowsum(xc * xc) / n
        self.inv = 1 / (var + LN_EPS) ** 0.5
        self.xhat = xc * self.inv
        return self.gamma * self.xhat + self.beta

    def backward(self, g: Any) -> Any:
        n = g.shape[1]
        self.dgamma = (g * self.xhat).sum(0)
        self.dbeta = g.sum(0)
        dxhat = g * self.gamma
        rowsum = self.xp.rowsum
        return self.inv / n * (n * dxhat - rowsum(dxhat) - self.xhat * rowsum(dxhat * self.xhat))


class Dropout:
    """Inverted dropout: in training each unit is kept with probability 1 − rate and scaled by
    1/(1 − rate), so that evaluation (which keeps every unit, unscaled) sees the same expected value.
    `mask` is the step's keep-mask already scaled (None in evaluation), handed in by the model from
    `DropMasks`: every backend draws the same masks."""

    rate = 0.0
    mask = None

    def forward(self, x: Any) -> Any:
        return x if self.mask is None else x * self.mask

    def backward(self, g: Any) -> Any:
        return g if self.mask is None else g * self.mask


class Residual:
    """A skip connection: this layer's input plus an earlier layer's output (`other`, handed in by
    the model). Its backward passes g on unchanged; the model adds the same g to the gradient of
    the earlier layer's output."""

    other = None

    def forward(self, x: Any) -> Any:
        return x + self.other

    def backward(self, g: Any) -> Any:
        return g


def skip_sequential(nn: Any) -> Any:  # torch.nn → the SkipSequential class
    """nn.Sequential whose layer i may add the output of an earlier layer `skips[i]` (a residual
    connection) in place of calling its module."""

    class SkipSequential(nn.Sequential):  # type: ignore[misc]  # torch.nn is handed in (torch loads lazily)
        def __init__(self, skips: dict[int, int], *modules: Any) -> None:
            super().__init__(*modules)
            self.skips = skips

        def forward(self, x: Any) -> Any:
            outs: list[Any] = []
            for i, module in enumerate(self):
                x = x + outs[self.skips[i]] if i in self.skips else module(x)
                outs.append(x)
            return x

    return SkipSequential


SKIP_SEQUENTIAL_TEXT = [
    "class SkipSequential(nn.Sequential):",
    '    """nn.Sequential whose layer i may add the output of an earlier layer skips[i] (a residual connection)."""',
    "",
    "    def __init__(self, skips, *modules):",
    "        super().__init__(*modules)",
    "        self.skips = skips",
    "",
    "    def forward(self, x):",
    "        outs = []",
    "        for i, module in enumerate(self):",
    "            x = x + outs[self.skips[i]] if i in self.skips else module(x)",
    "            outs.append(x)",
    "        return x",
]


class Embedding:
    """A table lookup: each of the input's columns of whole numbers (one, or a context of
    several) picks a row of E, and a sample's rows are laid side by side (N × columns·out). Its
    gradient is a scatter-add: every row gets the sum of the gradients of every position, in any
    sample and any column, that picked it. It takes the model's input, so nothing below it needs
    a gradient."""

    def __init__(self, xp: Any, E: Any) -> None:
        self.xp, self.E = xp, E

    def forward(self, x: Any) -> Any:
        self.idx = self.xp.indices(x.reshape(-1))  # sample 0's columns, then sample 1's, ...
        return self.E[self.idx].reshape(x.shape[0], -1)

    def backward(self, g: Any) -> Any:
        self.dE = self.xp.zeros_like(self.E)
        # a row picked twice adds both positions' gradients
        self.xp.scatter_add(self.dE, self.idx, g.reshape(self.idx.shape[0], -1))
        return None


def column_embedding(nn: Any) -> Any:
    """nn.Embedding reading the indices from the input's (float) columns, as the others do."""

    class ColumnEmbedding(nn.Embedding):  # type: ignore[misc]  # torch.nn is handed in (torch loads lazily)
        def forward(self, x: Any) -> Any:
            return super().forward(x.long()).flatten(1)

    return ColumnEmbedding


COLUMN_EMBEDDING_TEXT = [
    "class ColumnEmbedding(nn.Embedding):",
    '    """nn.Embedding reading the input\'s columns of indices, their rows side by side."""',
    "",
    "    def forward(self, x):",
    "        return super().forward(x.long()).flatten(1)",
]


class DropMasks:
    """The one source of dropout masks: numpy's RandomState(seed + 1 mod 2³²), drawn on the host in
    layer order at each training forward pass, (samples × units) uniforms ≥ rate, scaled by 1/(1 − rate)."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self.rng = np.random.RandomState(drop_seed(seed))

    def draw(self, xp: Any, shape: Any, rate: float) -> Any:
        return xp.array((self.rng.rand(*shape) >= rate) / (1 - rate))


def drop_seed(seed: int) -> int:
    return (seed + 1) % 2**32


def masked_dropout(nn: Any) -> Any:
    """The nn backend's dropout module: nn.Dropout draws from torch's generator, so that every
    backend draws the same masks this one multiplies by the mask the loop hands it, in training only."""

    class MaskDropout(nn.Module):  # type: ignore[misc]  # torch.nn is handed in (torch loads lazily)
        def __init__(self) -> None:
            super().__init__()
            self.mask = None

        def forward(self, x: Any) -> Any:
            return x * self.mask if self.training and self.mask is not None else x

    return MaskDropout


MASK_DROPOUT_TEXT = [
    "class MaskDropout(nn.Module):",
    '    """Dropout whose mask the loop hands in (drawn from numpy, as every backend of the tutor draws it)."""',
    "",
    "    def __init__(self):",
    "        super().__init__()",
    "        self.mask = None",
    "",
    "    def forward(self, x):",
    "        return x * self.mask if self.training and self.mask is not None else x",
]


def mask_text(shape: str, rate: float, conv: Callable[[str], str]) -> str:
    """A step's mask of `shape`, as the scripts draw it (`conv` makes it an array of the run)."""
    return conv(f"((drop_rng.rand(*{shape}) >= {rate!r}) / (1 - {rate!r}))")


# --- the exported script's lines (xp: the script's spellings; out's number tags what backward keeps) ----


def templated(
    forward: list[str], backward: list[str]
) -> tuple[Callable[[Any, str, str], list[str]], Callable[[Any, str, str], list[str]]]:
    """An activation's script lines from templates of {h} (its input), {out}, {n} (out's number, which
    tags what backward keeps) and the array library's spellings ({exp}, {tanh}, {log}, {erf})."""

    def fill(templates: list[str], xp: Any, h: str, out: str) -> list[str]:
        return [t.format(h=h, out=out, n=out[1:], **xp) for t in templates]

    return (lambda xp, h, out: fill(forward, xp, h, out)), (
        lambda xp, h, out: fill(backward, xp, h, out)
    )


gelu_lines, gelu_back = templated(
    [f"cdf{{n}} = 0.5 * (1 + {{erf}}({{h}} / {math.sqrt(2)!r}))", "{out} = {h} * cdf{n}"],
    [f"g = g * (cdf{{n}} + {{h}} * ({{exp}}(-0.5 * {{h}} * {{h}}) / {math.sqrt(2 * math.pi)!r}))"],
)
gelu_tanh_lines, gelu_tanh_back = templated(
    [
        f"t{{n}} = {{tanh}}({GELU_C!r} * ({{h}} + {GELU_A!r} * {{h}} * {{h}} * {{h}}))",
        "{out} = 0.5 * {h} * (1 + t{n})",
    ],
    [
        f"g = g * (0.5 * (1 + t{{n}}) + 0.5 * {{h}} * (1 - t{{n}} * t{{n}}) * ({GELU_C!r} * (1 + 3 * {GELU_A!r} * {{h}} * {{h}})))"
    ],
)
silu_lines, silu_back = templated(
    ["s{n} = 1 / (1 + {exp}(-{h}))", "{out} = {h} * s{n}"],
    ["g = g * s{n} * (1 + {h} * (1 - s{n}))"],
)
softplus_lines, softplus_back = templated(
    ["{out} = {h} * ({h} > 0) + {log}(1 + {exp}(-abs({h})))"], ["g = g / (1 + {exp}(-{h}))"]
)


def layernorm_lines(xp: Any, h: str, out: str, names: tuple[Any, ...]) -> list[str]:
    g, b, n = *names, out[1:]
    rs = xp["rowsum"].format
    return [
        f"xc{n} = {h} - {rs(h)} / {h}.shape[1]",
        f"var{n} = {rs(f'(xc{n} * xc{n})')} / {h}.shape[1]",
        f"inv{n} = 1 / (var{n} + {LN_EPS!r}) ** 0.5",
        f"xhat{n} = xc{n} * inv{n}",
        f"{out} = {g} * xhat{n} + {b}",
    ]


def layernorm_back(xp: Any, h: str, out: str, names: tuple[Any, ...], first: bool) -> list[str]:
    g, b, n = *names, out[1:]
    rs = xp["rowsum"].format
    return [
        f"d{g} = (g * xhat{n}).sum(0)",
        f"d{b} = g.sum(0)",
        f"dxhat = g * {g}",
        "n = g.shape[1]",
        f"g = inv{n} / n * (n * dxhat - {rs('dxhat')} - xhat{n} * {rs(f'(dxhat * xhat{n})')})",
    ]
