"""The backends behind one small interface, each written the way a learner would write it:

    numpy         forward and backward by hand (manual.py) on numpy arrays
    torch-manual  the same hand-written rules on torch tensors
    autograd      tensors with requires_grad, loss.backward(), the update by hand under no_grad
    nn            torch.nn.Sequential and a loss module, the update by hand
    optim         nn plus a torch.optim optimizer

Their interface is tutor/train/registry.py's `Backend` protocol, and the registry there lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tutor.train.layers import LAYERS, RunningStats, nn_sequential
from tutor.train.layers_modern import DropMasks
from tutor.train.losses import LOSS_KINDS, nn_criterion
from tutor.train.manual import ManualModel, NumpyXP, TorchXP
from tutor.train.optimizers import (
    HandOptimizer,
    clip_coef,
    torch_optimizer,
    torch_penalty,
    torch_scheduler,
)

if TYPE_CHECKING:
    import numpy as np

    from tutor.train.spec import Planned, RunSpec


class DeviceError(Exception):
    """The device asked for does not exist here; the message says what to use instead."""


def resolve_device(name: str, dtype: str = "float32") -> str:
    """The device a run asked to use `name` trains on. `auto` picks one that can run a lesson of
    `dtype`: CUDA, else MPS for float32 lessons (Apple's MPS has no float64), else the CPU."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return fit_dtype(name, "mps" if _mps_here() else "cpu", dtype)
    if name == "cuda" and not torch.cuda.is_available():
        why = (
            "this torch build has no CUDA support"
            if torch.version.cuda is None
            else "no CUDA GPU is visible"
        )
        raise DeviceError(
            f"Device cuda was asked for, but CUDA is not available ({why}, torch {torch.__version__}). "
            "Choose cpu, or auto for whatever exists (--device cpu or auto on the command line)."
        )
    if name == "mps" and not _mps_here():
        raise DeviceError(
            "Device mps was asked for, but Apple's MPS is not available here. Choose cpu, "
            "or auto for whatever exists (--device cpu or auto on the command line)."
        )
    return fit_dtype(name, name, dtype)


def _mps_here() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def fit_dtype(asked: str, device: str, dtype: str) -> str:
    """MPS has no float64: `auto` then means the CPU; mps asked for by name is refused (one line)."""
    if device != "mps" or dtype != "float64":
        return device
    if asked == "auto":
        return "cpu"
    raise DeviceError(
        "Device mps cannot run this lesson: it computes in float64, which Apple's MPS does not "
        "support. Choose cpu, or auto, which picks the CPU for it (--device cpu or auto)."
    )


SMALL_FOR_ONE_THREAD = 1_000_000  # weights; below this, more CPU threads only add overhead
_blas_limited = False


def _cpu_threads(n_weights: int, torch_too: bool = True, gpu: bool = False) -> None:
    """The lessons' models are small: extra CPU threads then cost more than they save.
    torch: a 64→50→10 MLP's step took 0.37 ms on one thread, 3.7 ms on two (measured here).
    numpy's OpenBLAS (snapshots, the numpy backend): its idle threads spin after each matmul and
    take the core the training thread needs; held to one thread the mlp-digits optim run went
    from 241 to 527 steps/s on a 2-core machine (bench/bench_torch_trainer.py)."""
    global _blas_limited
    if (
        n_weights >= SMALL_FOR_ONE_THREAD and not gpu
    ):  # on a GPU numpy only feeds it: one thread always
        return
    if not _blas_limited:
        _blas_limited = True
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # scikit-learn brings it; without it we only lose speed
            pass
        else:
            threadpool_limits(
                limits=1, user_api="blas"
            )  # process-wide and kept: a setting, not a scope
    if torch_too:
        import torch

        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)


class ManualBackend:
    def __init__(
        self, xp: Any, spec: RunSpec, plan: tuple[Planned, ...], weights: dict[str, np.ndarray]
    ) -> None:
        self.xp = xp
        self.model = ManualModel(xp, spec, plan, weights)
        self.device = xp.device

    def step(self, x: Any, y: Any, record: bool = False) -> Any:
        return self.model.step(x, y)

    def grads(self) -> dict[str, np.ndarray]:
        return self.model.grads()

    def params(self) -> dict[str, np.ndarray]:
        return {k: self.xp.to_numpy(v).copy() for k, v in self.model.params.items()}

    def param_tensors(self) -> dict[str, Any]:
        return self.model.params

    def grad_tensors(self) -> dict[str, Any]:
        return self.model.grad_arrays()

    def evaluate(self, x: Any, y: Any) -> tuple[Any, Any]:
        return self.model.evaluate(x, y)

    def predict(self, x: Any) -> Any:
        return self.model.forward(x)


def _loss_fn(kind: str) -> Callable[[Any, Any], Any]:
    import torch

    fn = LOSS_KINDS[kind].torch
    return lambda p, y: fn(torch, p, y)


class AutogradBackend:
    """Tensors that record what is done to them; backward() fills every .grad."""

    def __init__(
        self, xp: TorchXP, spec: RunSpec, plan: tuple[Planned, ...], weights: dict[str, np.ndarray]
    ) -> None:
        import torch

        self.torch = torch
        self.xp = xp
        self.device = xp.device
        self.spec = spec
        self.params_t = {k: xp.array(v).requires_grad_(True) for k, v in weights.items()}
        self.plan = [
            (
                LAYERS[p.type].torch,
                p.names,
                p.layer.rate if LAYERS[p.type].random else None,
                p.layer.source if LAYERS[p.type].skip else None,
            )
            for p in plan
        ]
        self.masks = DropMasks(spec.seed)
        # batchnorm's running statistics, by layer position: the layer's torch function moves them
        # in training and uses them in evaluation (tutor/train/layers.py's RunningStats)
        self.stats: dict[int, RunningStats] = {}
        for i, p in enumerate(plan):
            if LAYERS[p.type].running:
                assert p.weight is not None  # a batchnorm layer owns its scale (gamma)
                self.stats[i] = RunningStats(xp.copy(self.params_t[p.weight]) * 0)
        self.chain = all(rate is None and source is None for _, _, rate, source in self.plan)
        self.loss_fn = _loss_fn(spec.loss)
        self.optimizer = HandOptimizer.for_run(xp, spec)

    def forward(self, x: Any, train: bool = False) -> Any:
        for stats in self.stats.values():
            stats.training = train
        if self.chain:  # no dropout, no residual: each layer's function in turn
            for i, (fn, names, _rate, _source) in enumerate(self.plan):
                x = fn(self.torch, x, self._params(i, names))
            return x
        outs: list[Any] = []
        for i, (fn, names, rate, source) in enumerate(self.plan):  # each layer's torch function
            if rate is not None:  # dropout: this training pass's mask, or none
                x = fn(self.torch, x, (self.masks.draw(self.xp, x.shape, rate) if train else None,))
            elif source is not None:  # a residual connection: an earlier output
                x = fn(self.torch, x, (outs[source],))
            else:
                x = fn(self.torch, x, self._params(i, names))
            outs.append(x)
        return x

    def _params(self, i: int, names: tuple[str | None, ...]) -> tuple[Any, ...]:
        """Layer i's parameter tensors, and its running statistics where it keeps them."""
        params = tuple(self.params_t[n] if n else None for n in names)
        return (*params, self.stats[i]) if i in self.stats else params

    def step(self, x: Any, y: Any, record: bool = False) -> Any:
        loss = self.loss_fn(self.forward(x, train=True), y)
        decay = torch_penalty(self.spec, self.params_t.values())
        if decay is not None:
            loss = loss + decay
        loss.backward()
        with self.torch.no_grad():
            if self.spec.clip is not None:  # by hand: every .grad scaled by one factor
                coef = clip_coef(self.xp, [p.grad for p in self.params_t.values()], self.spec.clip)
                for p in self.params_t.values():
                    p.grad *= coef
            self.optimizer.begin()
            for name, p in self.params_t.items():
                self.optimizer.update(name, p, p.grad)
            if record:  # keep what this step used before zeroing wipes it
                self.recorded = {k: p.grad.clone() for k, p in self.params_t.items()}
            if self.spec.zero_grad:
                for p in self.params_t.values():
                    p.grad.zero_()
        return loss.detach()

    def grads(self) -> dict[str, np.ndarray]:
        return {k: self.xp.to_numpy(g) for k, g in self.recorded.items()}

    def params(self) -> dict[str, np.ndarray]:
        return {k: self.xp.to_numpy(p) for k, p in self.params_t.items()}

    def param_tensors(self) -> dict[str, Any]:
        return {k: p.detach() for k, p in self.params_t.items()}

    def grad_tensors(self) -> dict[str, Any]:
        return self.recorded

    def evaluate(self, x: Any, y: Any) -> tuple[Any, Any]:
        with self.torch.no_grad():
            pred = self.forward(x)
            return pred, self.loss_fn(pred, y)

    def predict(self, x: Any) -> Any:
        with self.torch.no_grad():
            return self.forward(x)


class NNBackend:
    """torch.nn layers and a loss module; `use_optim` hands the update to torch.optim."""

    def __init__(
        self,
        xp: TorchXP,
        spec: RunSpec,
        plan: tuple[Planned, ...],
        weights: dict[str, np.ndarray],
        use_optim: bool,
    ) -> None:
        import torch
        from torch import nn

        self.torch = torch
        self.xp = xp
        self.device = xp.device
        self.spec = spec
        self.model = nn_sequential(nn, plan).to(device=xp.device, dtype=xp.dtype)
        self.names: dict[
            str, tuple[Any, str]
        ] = {}  # our name → (parameter, "T" if stored transposed)
        with torch.no_grad():
            for m, p in zip(self.model, plan, strict=False):
                for name, (attr, transposed) in zip(
                    p.names, LAYERS[p.type].nn_params, strict=False
                ):
                    if name:
                        value = xp.array(weights[name])
                        getattr(m, attr).copy_(
                            value.T if transposed else value
                        )  # nn.Linear keeps W as out × in
                        self.names[name] = (getattr(m, attr), "T" if transposed else "")
        self.masks = DropMasks(spec.seed)
        self.dropouts: list[tuple[Any, int, float]] = []
        for m, p in zip(self.model, plan, strict=False):
            if LAYERS[p.type].random:
                assert p.layer.rate is not None  # the loader reads a dropout layer's p
                self.dropouts.append((m, p.n_in, p.layer.rate))
        # dropout and batchnorm act differently in training and evaluation: switch the model's mode
        self.modes = bool(self.dropouts) or any(LAYERS[p.type].running for p in plan)
        module, apply = nn_criterion(nn, spec.loss), LOSS_KINDS[spec.loss].nn_apply
        self.criterion: Callable[[Any, Any], Any] = lambda p, y: apply(torch, module, p, y)
        if use_optim:  # torch.optim's optimizer and lr scheduler
            self.optim = torch_optimizer(self.model.parameters(), spec)
            self.scheduler = torch_scheduler(self.optim, spec)
            self.hand = None
        else:
            self.optim = None
            self.hand = HandOptimizer.for_run(xp, spec)

    def step(self, x: Any, y: Any, record: bool = False) -> Any:
        if self.modes:  # training: dropout's masks, batchnorm's batch statistics
            self.model.train()
        for module, width, rate in self.dropouts:  # this pass's masks, as every backend draws them
            module.mask = self.masks.draw(self.xp, (x.shape[0], width), rate)
        loss = self.criterion(self.model(x), y)
        decay = torch_penalty(self.spec, self.model.parameters())
        if decay is not None:
            loss = loss + decay
        if self.optim is not None:
            if self.spec.zero_grad:
                self.optim.zero_grad()
            loss.backward()
            self.clip()
            self.optim.step()
            if self.scheduler is not None:
                self.scheduler.step()
        else:
            loss.backward()
            self.clip()
            hand = self.hand
            assert hand is not None  # no torch.optim: the hand-written update
            with self.torch.no_grad():
                hand.begin()
                for i, p in enumerate(self.model.parameters()):
                    hand.update(str(i), p, p.grad)
        if record:  # keep what this step used before zeroing wipes it
            self.recorded = {
                k: p.grad.detach().clone() for k, (p, _) in self.names.items() if p.grad is not None
            }
        if self.optim is None and self.spec.zero_grad:
            self.model.zero_grad()
        return loss.detach()

    def clip(self) -> None:
        if self.spec.clip is not None:
            self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.clip)

    def _read(self, t: Any, how: str) -> np.ndarray:
        a = self.xp.to_numpy(t)
        return a.T.copy() if how == "T" else a

    def grads(self) -> dict[str, np.ndarray]:
        return {k: self._read(g, self.names[k][1]) for k, g in self.recorded.items()}

    def params(self) -> dict[str, np.ndarray]:
        return {k: self._read(p, how) for k, (p, how) in self.names.items()}

    def param_tensors(self) -> dict[str, Any]:
        return {k: p.detach().T if how == "T" else p.detach() for k, (p, how) in self.names.items()}

    def grad_tensors(self) -> dict[str, Any]:
        return {k: g.T if self.names[k][1] == "T" else g for k, g in self.recorded.items()}

    def evaluate(self, x: Any, y: Any) -> tuple[Any, Any]:
        with self.torch.no_grad():
            if self.modes:
                self.model.eval()  # dropout off, batchnorm's running statistics
            pred = self.model(x)
            return pred, self.criterion(pred, y)

    def predict(self, x: Any) -> Any:
        with self.torch.no_grad():
            if self.modes:
                self.model.eval()
            return self.model(x)


def numpy_arrays(spec: RunSpec, n_weights: int) -> NumpyXP:
    """Where the numpy backend's arrays live: numpy, on the host."""
    _cpu_threads(n_weights, torch_too=False)
    return NumpyXP(spec.dtype)


def torch_arrays(spec: RunSpec, n_weights: int) -> TorchXP:
    """Where a torch backend's tensors live: the run's device (auto resolved, its dtype checked)."""
    device = fit_dtype(spec.device, resolve_device(spec.device), spec.dtype)
    # numpy's BLAS (the data, the baseline) is held to one thread on every device: on a GPU its
    # spinning threads would take the core of the thread that launches the kernels
    _cpu_threads(n_weights, torch_too=device == "cpu", gpu=device != "cpu")
    return TorchXP(spec.dtype, device)
