"""The backends' interface and their registry: what a training session needs of a backend, and for
each backend where its arrays live, how it is built and which loop its exported script writes.

Adding a backend is one `BackendKind(...)` entry below (its class in backends.py), its word in
tutor/lesson/vocabulary.py's BACKENDS, and its tests; tests/unit/test_registry.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from tutor.train.spec import Planned, RunSpec

Plan = tuple["Planned", ...]
Weights = dict[str, np.ndarray]


@runtime_checkable
class Arrays(Protocol):
    """Where a backend's arrays live (tutor/train/manual.py's NumpyXP, TorchXP)."""

    name: str  # "numpy" or "torch"
    device: str  # "cpu", "cuda", "mps"
    host: bool  # True: its numbers are host numbers already (a loss needs no copy)

    def array(self, a: Any) -> Any: ...
    def labels(self, a: Any) -> Any: ...
    def to_numpy(self, a: Any) -> np.ndarray: ...
    def copy(self, a: Any) -> Any: ...
    def scalar(self, a: Any) -> float: ...
    def isfinite(self, a: Any) -> bool: ...


@runtime_checkable
class Backend(Protocol):
    """One training run's model on one backend. `step` returns the loss of this step's forward
    pass as a backend scalar (never turned into a Python float there); `grads()` and `params()`
    are float64 numpy arrays (logged steps only), `*_tensors()` the same where they live."""

    @property
    def xp(self) -> Arrays: ...
    @property
    def device(self) -> str: ...
    def step(self, x: Any, y: Any, record: bool = False) -> Any: ...
    def grads(self) -> dict[str, np.ndarray]: ...
    def params(self) -> dict[str, np.ndarray]: ...
    def param_tensors(self) -> dict[str, Any]: ...
    def grad_tensors(self) -> dict[str, Any]: ...
    def evaluate(self, x: Any, y: Any) -> tuple[Any, Any]: ...
    def predict(self, x: Any) -> Any: ...


@dataclass(frozen=True)
class BackendKind:
    name: str
    arrays: Callable[[RunSpec, int], Arrays]  # (spec, number of weights) → where its arrays live
    make: Callable[
        [Any, RunSpec, Plan, Weights], Backend
    ]  # (arrays, spec, plan, initial weights) → the backend
    torch: bool  # needs torch (a device, and `import torch` in its script)
    script: str  # its exported loop: "manual", "autograd" or "nn"
    torch_optim: bool = False  # the update is torch.optim's, not written by hand


def _numpy(spec: RunSpec, n: int) -> Arrays:
    from tutor.train.backends import numpy_arrays

    return numpy_arrays(spec, n)


def _torch(spec: RunSpec, n: int) -> Arrays:
    from tutor.train.backends import torch_arrays

    return torch_arrays(spec, n)


def _manual(xp: Any, spec: RunSpec, plan: Plan, weights: Weights) -> Backend:
    from tutor.train.backends import ManualBackend

    return ManualBackend(xp, spec, plan, weights)


def _autograd(xp: Any, spec: RunSpec, plan: Plan, weights: Weights) -> Backend:
    from tutor.train.backends import AutogradBackend

    return AutogradBackend(xp, spec, plan, weights)


def _nn(xp: Any, spec: RunSpec, plan: Plan, weights: Weights) -> Backend:
    from tutor.train.backends import NNBackend

    return NNBackend(xp, spec, plan, weights, use_optim=BACKEND_KINDS[spec.backend].torch_optim)


BACKEND_KINDS: dict[str, BackendKind] = {
    k.name: k
    for k in (
        BackendKind("numpy", _numpy, _manual, torch=False, script="manual"),
        BackendKind("torch-manual", _torch, _manual, torch=True, script="manual"),
        BackendKind("autograd", _torch, _autograd, torch=True, script="autograd"),
        BackendKind("nn", _torch, _nn, torch=True, script="nn"),
        BackendKind("optim", _torch, _nn, torch=True, script="nn", torch_optim=True),
    )
}


def make_backend(spec: RunSpec, plan: Plan, weights: Weights) -> Backend:
    kind = BACKEND_KINDS[spec.backend]
    return kind.make(kind.arrays(spec, sum(w.size for w in weights.values())), spec, plan, weights)
