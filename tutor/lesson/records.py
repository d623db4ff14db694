"""The typed, immutable records a lesson file becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.errors import LessonError
from tutor.expr import Expr
from tutor.lesson.vocabulary import GROUPS, NORM_LAYERS


@dataclass(frozen=True)
class Node:
    """A named expression and the text it was read from: a graph's node, or a page's equation."""

    name: str
    expr: Expr
    text: str


Equation = Node


@dataclass(frozen=True)
class Page:
    title: str
    text: str
    equations: tuple[Equation, ...] = ()


@dataclass(frozen=True)
class LeafValues:
    """A leaf's array at [graph.values]: listed (`listed`, rows of numbers, or one number for a
    scalar), or drawn by `recipe` from numpy's RandomState(seed), times `scale`."""

    shape: tuple[int, ...]
    listed: Any = None  # nested tuples of floats, or a float
    recipe: str = ""  # normal | uniform | zeros (RECIPES)
    seed: int = 0
    scale: float = 1.0

    def describe(self) -> str:
        if self.recipe == "zeros":
            return "zeros"
        if self.recipe:
            return f"{self.recipe}, seed {self.seed}, scale {self.scale:g}"
        return "listed in the file"


@dataclass(frozen=True)
class Graph:
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    nodes: tuple[Node, ...]
    point: dict[str, float]
    shapes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    expect_kink: tuple[str, ...] = ()  # parameters whose check straddles a kink on purpose
    sweep: tuple[str, ...] = ()  # parameters whose check is swept over the step h
    fused: dict[str, Node] = field(
        default_factory=dict
    )  # [graph.fused]: name → a closed form of ∂L/∂name
    values: dict[str, LeafValues] = field(default_factory=dict)  # [graph.values]: leaf → array
    entries: dict[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)  # named ones

    @property
    def loss(self) -> str:
        return self.nodes[-1].name

    @property
    def leaves(self) -> tuple[str, ...]:
        return self.inputs + self.params

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


@dataclass(frozen=True)
class Jacobian:
    title: str
    inputs: tuple[str, ...]
    outputs: tuple[Equation, ...]
    point: dict[str, float]
    upstream: tuple[float, ...]


@dataclass(frozen=True)
class Layer:
    type: str
    out: int | str | None = None  # an int, "hidden" or "outputs"
    bias: bool = True
    name: str | None = None  # the weight's name (default W1, W2, ...)
    bias_name: str | None = None  # the bias's name (default b1, b2, ...)
    weight: tuple[Any, ...] | None = (
        None  # explicit initial weight (nested tuples of floats, in × out)
    )
    bias_init: tuple[Any, ...] | None = None
    init: str | None = None  # this layer's draw (INITS or "normal"); None: the run's `init`
    std: float | None = None  # the standard deviation of a "normal" draw
    rate: float | None = None  # a dropout layer's probability of dropping a unit
    source: int | None = None  # a residual layer's: the index of the layer whose output it adds
    vocab: int | None = None  # an embedding's rows: its inputs are whole numbers 0..vocab − 1

    def param_names(self, index: int) -> tuple[str, str]:
        """(weight, bias) names of the `index`-th linear layer (from 1): given, or W1 and b1; of the
        `index`-th batchnorm layer, its scale and shift: given, or gamma1 and beta1."""
        if self.type == "embedding":  # a table E1, E2, …; its "bias" name is never used
            return self.name or f"E{index}", self.bias_name or f"E{index}_bias"
        if self.type in NORM_LAYERS:  # layernorm's: ln_gamma1, ln_beta1 (apart from batchnorm's)
            prefix = "ln_" if self.type == "layernorm" else ""
            return self.name or f"{prefix}gamma{index}", self.bias_name or f"{prefix}beta{index}"
        return self.name or f"W{index}", self.bias_name or f"b{index}"


@dataclass(frozen=True)
class Dataset:
    kind: str
    options: dict[str, Any]
    base: Path | None = None  # the lesson's folder, where a "csv" file lies


@dataclass(frozen=True)
class Train:
    backends: tuple[str, ...]
    dataset: Dataset
    layers: tuple[Layer, ...]
    loss: str
    optimizer: str = "gd"
    lr: float = 0.01
    momentum: float = 0.0
    epochs: int = 100
    batch_size: int = 0  # 0: the whole training set in one batch
    seed: int = 0
    dtype: str = "float32"
    init: str = "randn"
    hidden: int | None = None
    log_every: int = 1
    zero_grad: bool = True
    baseline: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""
    probe: tuple[Any, ...] = ()  # inputs to predict after training, e.g. f(5)
    l2: float = 0.0  # the penalty l2·Σp² on every parameter, added to the loss
    l1: float = 0.0  # the penalty l1·Σ|p|
    weight_decay: float = 0.0  # AdamW's decoupled decay
    schedule: str = "constant"  # the lr schedule (tutor/train/optimizers.py)
    step_size: int = 1  # step: the lr is multiplied by gamma every step_size steps
    gamma: float = 0.1
    decay_steps: int = 1  # linear, cosine: the steps from lr to lr·lr_end
    lr_end: float = 0.0
    warmup: int = 0  # steps whose lr rises as (k + 1)/warmup before the schedule
    clip: float | None = None  # the gradients' global norm is clipped to this
    workers: int | None = (
        None  # data-parallel worker processes (tutor/train/parallel.py); None: none
    )


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    id: str
    kind: str
    prompt: str
    answer: str
    step: str | None = None  # the graph node (or parameter) it belongs to
    hints: tuple[str, ...] = ()
    tolerance: float = 1e-6
    choices: tuple[str, ...] = ()
    explain: str = ""
    why: tuple[str, ...] = ()  # for a choice: why each choice is right or wrong
    mistakes: tuple[tuple[str, str], ...] = ()  # known wrong answers and what to say to each
    wrt: tuple[str, ...] = ()  # a code exercise: the gradients its function returns


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    summary: str
    order: int
    explain: tuple[Page, ...]
    graph: Graph | None
    jacobian: Jacobian | None
    train: Train | None
    variants: tuple[Variant, ...]
    exercises: tuple[Exercise, ...]
    path: Path
    group: str = GROUPS[0]

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts this lesson has: always Explain; Derive with a graph or a Jacobian; Train with [train]."""
        derive = self.graph is not None or self.jacobian is not None
        return ("explain",) + ("derive",) * derive + ("train",) * (self.train is not None)

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants) or "none"
        raise LessonError(f"unknown variant '{name}' (known: {known})", key="variants")
