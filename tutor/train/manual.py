"""Backpropagation written out by hand: each layer's backward rule next to its forward rule,
as micrograd does. The same code runs on numpy arrays (backend `numpy`) and on torch tensors
(backend `torch-manual`): the array library is passed in as `xp`, which is exactly the
notebooks' point that torch tensors are numpy arrays that can live on a GPU.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tutor.train.layers import LAYERS
from tutor.train.layers_modern import DropMasks
from tutor.train.losses import LOSS_KINDS
from tutor.train.optimizers import HandOptimizer, clip_coef, penalty

if TYPE_CHECKING:
    import numpy as np

    from tutor.train.spec import Planned, RunSpec


class NumpyXP:
    name = "numpy"
    host = True  # its numbers are on the host already

    def __init__(self, dtype: str):
        import numpy as np

        self.np = np
        self.dtype = np.dtype(dtype)
        self.device = "cpu"

    def array(self, a: Any) -> Any:
        return self.np.asarray(a, dtype=self.dtype)

    def labels(self, a: Any) -> Any:
        return self.np.asarray(a, dtype=self.np.int64)

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.np.asarray(a, dtype=self.np.float64)

    def scalar(self, a: Any) -> float:
        return float(a)

    def exp(self, a: Any) -> Any:
        return self.np.exp(a)

    def log(self, a: Any) -> Any:
        return self.np.log(a)

    def tanh(self, a: Any) -> Any:
        return self.np.tanh(a)

    def sign(self, a: Any) -> Any:
        return self.np.sign(a)

    def erf(self, a: Any) -> Any:
        from scipy.special import erf  # numpy has none; scipy comes with scikit-learn

        return erf(a)

    def indices(self, a: Any) -> Any:
        return a.astype(self.np.int64)

    def scatter_add(self, target: Any, idx: Any, values: Any) -> Any:
        self.np.add.at(target, idx, values)

    def sqrt(self, a: Any) -> Any:
        return self.np.sqrt(a)

    def rowmax(self, a: Any) -> Any:
        return a.max(axis=1, keepdims=True)

    def rowsum(self, a: Any) -> Any:
        return a.sum(axis=1, keepdims=True)

    def arange(self, n: int) -> Any:
        return self.np.arange(n)

    def zeros_like(self, a: Any) -> Any:
        return self.np.zeros_like(a)

    def argmax(self, a: Any) -> Any:
        return a.argmax(axis=1)

    def isfinite(self, a: Any) -> bool:
        return math.isfinite(a)  # a numpy scalar: far cheaper than np.isfinite

    def copy(self, a: Any) -> Any:
        return a.copy()


class TorchXP:
    name = "torch"
    host = False  # its numbers live on a device until copied (even the CPU's: a tensor)

    def __init__(self, dtype: str, device: str):
        import torch

        self.torch = torch
        self.dtype = getattr(torch, dtype)
        self.device = device

    def array(self, a: Any) -> Any:
        return self.torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def labels(self, a: Any) -> Any:
        return self.torch.as_tensor(a, dtype=self.torch.int64, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        # copy=True: a float64 CPU tensor would otherwise come back as a view of itself, and a
        # parameter read before a step would change with the step (Δw/w 0, health of the new weights)
        host: np.ndarray = a.detach().to("cpu", self.torch.float64, copy=True).numpy()
        return host

    def scalar(self, a: Any) -> float:
        return float(a.item())

    def exp(self, a: Any) -> Any:
        return self.torch.exp(a)

    def log(self, a: Any) -> Any:
        return self.torch.log(a)

    def tanh(self, a: Any) -> Any:
        return self.torch.tanh(a)

    def sign(self, a: Any) -> Any:
        return self.torch.sign(a)

    def erf(self, a: Any) -> Any:
        return self.torch.erf(a)

    def indices(self, a: Any) -> Any:
        return a.long()

    def scatter_add(self, target: Any, idx: Any, values: Any) -> Any:
        target.index_add_(0, idx, values)

    def sqrt(self, a: Any) -> Any:
        return self.torch.sqrt(a)

    def rowmax(self, a: Any) -> Any:
        return a.max(dim=1, keepdim=True).values

    def rowsum(self, a: Any) -> Any:
        return a.sum(dim=1, keepdim=True)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, device=self.device)

    def zeros_like(self, a: Any) -> Any:
        return self.torch.zeros_like(a)

    def argmax(self, a: Any) -> Any:
        return a.argmax(dim=1)

    def isfinite(self, a: Any) -> bool:
        return math.isfinite(
            a.item()
        )  # one read of the number: cheaper than torch.isfinite(a).item()

    def copy(self, a: Any) -> Any:
        return a.detach().clone()


# --- losses: (prediction, target) → (loss, ∂loss/∂prediction) ----------------------------------


def loss_and_grad(xp: Any, kind: str, pred: Any, y: Any) -> tuple[Any, Any]:
    return LOSS_KINDS[kind].grad(xp, pred, y)  # tutor/train/losses.py's table


class ManualModel:
    """A Sequential model whose backward pass is the layers' hand-written rules in reverse."""

    def __init__(
        self, xp: Any, spec: RunSpec, plan: tuple[Planned, ...], weights: dict[str, np.ndarray]
    ) -> None:
        self.xp = xp
        self.loss_kind = spec.loss
        self.layers: list[Any] = []  # each layer kind's module (tutor/train/layers.py)
        self.params: dict[str, object] = {}
        self.owners: dict[str, tuple[object, str]] = {}
        self.walk: list[tuple[Any, float | None]] = []  # (layer, its dropout rate or None)
        self.skips: list[
            int | None
        ] = []  # per layer: the earlier layer whose output it adds, or None
        for p in plan:  # each layer as tutor/train/layers.py's table writes it
            kind = LAYERS[p.type]
            arrays = tuple(xp.array(weights[n]) if n else None for n in p.names)
            mod = kind.make(xp, arrays, not self.layers)
            for name, array, attr in zip(p.names, arrays, kind.grads, strict=False):
                if name:
                    self.params[name] = array
                    self.owners[name] = (mod, attr)
            self.layers.append(mod)
            self.walk.append((mod, p.layer.rate if kind.random else None))
            self.skips.append(p.layer.source if kind.skip else None)
        # batchnorm's running statistics: moved by training passes, used by evaluation ones
        self.stats = [
            mod.stats for mod, p in zip(self.layers, plan, strict=False) if LAYERS[p.type].running
        ]
        self.masks = DropMasks(spec.seed)
        self.spec = spec
        self.optimizer = HandOptimizer.for_run(xp, spec)
        self.zero_grad = spec.zero_grad
        self.acc: dict[str, object] = {}
        self.slots = [(name, p, *self.owners[name]) for name, p in self.params.items()]
        self.backward_layers = self.layers[::-1]
        # the common case, kept as lean as the hand-written loop it teaches: a chain of layers (no
        # dropout mask, no residual connection) whose gradients go straight into the update
        self.chain = all(rate is None for _, rate in self.walk) and all(
            s is None for s in self.skips
        )
        self.straight = spec.zero_grad and not (spec.l2 or spec.l1) and spec.clip is None
        self.used: dict[str, Any] | None = None

    def forward(self, x: Any, train: bool = False) -> Any:
        """The model's output; in training (`train`) each dropout layer gets this pass's mask, and
        each batchnorm layer uses the batch's statistics (else its running ones)."""
        for stats in self.stats:
            stats.training = train
        if self.chain:
            for layer in self.layers:
                x = layer.forward(x)
            return x
        outs: list[Any] = []
        for (layer, rate), source in zip(self.walk, self.skips, strict=False):
            if rate is not None:
                layer.mask = self.masks.draw(self.xp, x.shape, rate) if train else None
            if source is not None:
                layer.other = outs[source]
            x = layer.forward(x)
            outs.append(x)
        return x

    def step(self, x: Any, y: Any) -> Any:
        pred = self.forward(x, train=True)
        loss, g = loss_and_grad(self.xp, self.loss_kind, pred, y)
        if self.straight:
            self.backward(g)
            optimizer = self.optimizer
            optimizer.begin()
            for name, p, mod, attr in self.slots:
                optimizer.update(name, p, getattr(mod, attr))
            return loss
        extra, decay = penalty(self.xp, self.spec, self.params)  # weight decay as a penalty: l2, l1
        if decay:
            loss = loss + extra
        self.backward(g)
        used = {}
        for name, _p, mod, attr in self.slots:
            grad = getattr(mod, attr)
            if decay:
                grad = grad + decay[name]
            if not self.zero_grad:  # what forgetting zero_grad() does: gradients add up
                grad = self.acc[name] + grad if name in self.acc else grad
            used[name] = grad
        if self.spec.clip is not None:  # one factor for all, from their global norm
            coef = clip_coef(self.xp, used.values(), self.spec.clip)
            used = {name: grad * coef for name, grad in used.items()}
        if not self.zero_grad:
            self.acc = used
        self.used = used
        self.optimizer.begin()
        for name, p, _mod, _attr in self.slots:
            self.optimizer.update(name, p, used[name])
        return loss

    def backward(self, g: Any) -> None:
        """Each layer's rule from the loss down (residual connections send g down both paths)."""
        if self.chain:
            for layer in self.backward_layers:
                if g is None:
                    break
                g = layer.backward(g)
            return
        pending: dict[int, Any] = {}  # gradients that residual connections send to earlier outputs
        for i in reversed(range(len(self.layers))):
            if i in pending:
                g = g + pending.pop(i)
            if g is None:
                break
            source = self.skips[i]
            if source is not None:
                pending[source] = pending[source] + g if source in pending else g
            g = self.layers[i].backward(g)

    def grads(self) -> dict[str, np.ndarray]:
        return {name: self.xp.to_numpy(g) for name, g in self.grad_arrays().items()}

    def grad_arrays(self) -> dict[str, Any]:
        """The last step's gradients where they live (numpy arrays or device tensors): what the
        update used (with the penalty's, summed over steps when zero_grad is off, clipped)."""
        if self.straight:
            return {name: getattr(mod, attr) for name, p, mod, attr in self.slots}
        return self.used or {}

    def evaluate(self, x: Any, y: Any) -> tuple[Any, Any]:
        pred = self.forward(x)
        loss, _ = loss_and_grad(self.xp, self.loss_kind, pred, y)
        return pred, loss
