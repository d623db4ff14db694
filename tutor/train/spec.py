"""One training run, fully resolved: the lesson's [train], a backend's overrides, a variant and
the learner's changes (CLI flags or the Train screen's fields), merged in that order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.errors import LessonError
from tutor.lesson import (
    ADAMW_DECAY,
    DEVICES,
    MAX_WIDTH,
    OPTIMIZERS,
    Dataset,
    Layer,
    Lesson,
    Variant,
)
from tutor.train.layers import LAYERS


@dataclass(frozen=True)
class RunSpec:
    backend: str
    layers: tuple[Layer, ...]
    loss: str
    optimizer: str
    lr: float
    momentum: float
    epochs: int
    batch_size: int
    seed: int
    dtype: str
    init: str
    hidden: int | None
    zero_grad: bool
    device: str
    bias: bool | None = None  # force every linear layer's bias on or off (the nn lessons)
    l2: float = 0.0  # the update's settings (tutor/train/optimizers.py; lessons/README.md)
    l1: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    step_size: int = 1
    gamma: float = 0.1
    decay_steps: int = 1
    lr_end: float = 0.0
    warmup: int = 0
    clip: float | None = None

    def linear_layers(self) -> list[Layer]:
        return [lyr for lyr in self.layers if LAYERS[lyr.type].resizes]


UPDATE_KEYS = (
    "l2",
    "l1",
    "weight_decay",
    "schedule",
    "step_size",
    "gamma",
    "decay_steps",
    "lr_end",
    "warmup",
    "clip",
)


# What a learner may change, with the check each change gets.
EDITABLE = {
    "lr": (float, 0.0, 1e6),
    "epochs": (int, 1, 100_000),
    "hidden": (int, 1, MAX_WIDTH),
    "seed": (int, 0, 2**32 - 1),
    "batch_size": (int, 0, 100_000),
    "momentum": (float, 0.0, 0.999),
}


def parse_setting(name: str, text: str) -> Any:
    """A learner's typed value → a checked value, or LessonError with what is expected."""
    if name == "optimizer":
        if text not in OPTIMIZERS:
            raise LessonError(f"optimizer must be one of: {', '.join(OPTIMIZERS)}", key=name)
        return text
    if name == "device":
        if text not in DEVICES:
            raise LessonError(f"device must be one of: {', '.join(DEVICES)}", key=name)
        return text
    kind, lo, hi = EDITABLE[name]
    try:
        value = kind(float(text)) if kind is int and float(text).is_integer() else kind(text)
    except (TypeError, ValueError):
        raise LessonError(
            f"expected {'a whole number' if kind is int else 'a number'}, found {text!r}", key=name
        ) from None
    if not (lo <= value <= hi):
        shown: Callable[[float], str] = (lambda v: str(v)) if kind is int else (lambda v: f"{v:g}")
        raise LessonError(f"{shown(value)} is outside {shown(lo)}..{shown(hi)}", key=name)
    if name == "lr" and value == 0:
        raise LessonError(
            "must be above 0: it scales every step, and 0 would not move the weights", key=name
        )
    return value


def resolve(
    lesson: Lesson, backend: str, variant: Variant | None = None, **changes: Any
) -> RunSpec:
    train = lesson.train
    if train is None:
        raise LessonError("this lesson has no [train] section", key="train")
    values: dict[str, Any] = dict(
        backend=backend,
        layers=train.layers,
        loss=train.loss,
        optimizer=train.optimizer,
        lr=train.lr,
        momentum=train.momentum,
        epochs=train.epochs,
        batch_size=train.batch_size,
        seed=train.seed,
        dtype=train.dtype,
        init=train.init,
        hidden=train.hidden,
        zero_grad=train.zero_grad,
        device="cpu",
        **{k: getattr(train, k) for k in UPDATE_KEYS},
    )
    values.update(train.overrides.get(backend, {}))
    if variant is not None:
        values.update({k: v for k, v in variant.changes.items() if k in values})
    values.update({k: v for k, v in changes.items() if v is not None})
    if (
        values["optimizer"] == "adamw"
        and train.optimizer != "adamw"
        and changes.get("weight_decay") is None
    ):
        values["weight_decay"] = (
            ADAMW_DECAY  # a variant or learner picking adamw gets its default decay
        )
    if values["hidden"] != train.hidden:  # a learner's choice: bounded as a lesson file is
        from tutor.lesson import check_hidden

        check_hidden(train, dataset_for(lesson, variant), values["hidden"])
    return RunSpec(**{k: v for k, v in values.items() if k in RunSpec.__dataclass_fields__})


def setting_for(lesson: Lesson, variant: Variant | None, name: str) -> Any:
    """One [train] setting as the variant changes it, or the lesson's own."""
    if variant is not None and name in variant.changes:
        return variant.changes[name]
    return getattr(lesson.train, name)


def backends_for(lesson: Lesson, variant: Variant | None = None) -> tuple[str, ...]:
    return tuple(setting_for(lesson, variant, "backends")) if lesson.train else ()


def dataset_for(lesson: Lesson, variant: Variant | None = None) -> Dataset:
    dataset: Dataset = setting_for(lesson, variant, "dataset")
    return dataset


@dataclass(frozen=True)
class Planned:
    """One layer of a run, resolved: sizes filled in and parameters named."""

    type: str  # a kind of tutor/train/layers.py's table
    layer: Layer
    index: int = 0  # among the layers of its kind that own parameters, from 1 (else 0)
    n_in: int = 0
    n_out: int = 0
    weight: str | None = (
        None  # the first parameter's name (a linear layer's weight, a batchnorm's gamma)
    )
    bias: str | None = None  # the second's (bias, beta); None where this run has no bias
    bias_name: str = ""  # the bias's name even where this run has none
    lesson_bias: bool = (
        False  # the lesson's own model has this bias (drawn even if this run drops it)
    )

    @property
    def names(self) -> tuple[str | None, ...]:
        """Its parameters' names in the order of its kind's `params` (None: absent in this run)."""
        return (self.weight, self.bias) if LAYERS[self.type].params else ()


def layer_plan(spec: RunSpec, inputs: int, outputs: int) -> tuple[Planned, ...]:
    """The one walk over a run's layers that every backend, the exported code and the reports share:
    'hidden' and 'outputs' filled in, parameters named (W1, b1, ... and gamma1, beta1, ... unless the
    lesson names them; each kind numbered apart)."""
    plan: list[Planned] = []
    counts: dict[str, int] = {}
    width = inputs
    for layer in spec.layers:
        kind = LAYERS[layer.type]
        if not kind.params:
            plan.append(Planned(layer.type, layer, n_in=width, n_out=width))
            continue
        counts[layer.type] = index = counts.get(layer.type, 0) + 1
        out = layer.out if kind.resizes else width
        if isinstance(out, str):
            out = {"hidden": spec.hidden, "outputs": outputs}.get(out, out)
        has_bias = layer.bias if spec.bias is None or not kind.bias_switch else spec.bias
        wname, bname = layer.param_names(index)
        n_in = (
            layer.vocab if layer.vocab is not None else width
        )  # an embedding's table: vocab × out
        assert isinstance(out, int)  # 'hidden' resolved above (check_hidden made sure there is one)
        plan.append(
            Planned(
                layer.type,
                layer,
                index,
                n_in,
                int(out),
                wname,
                bname if has_bias else None,
                bname,
                layer.bias,
            )
        )
        # an embedding looks up each of its input's columns (a context of characters) and lays
        # the rows side by side
        width = int(out) * (width if layer.type == "embedding" else 1)
    return tuple(plan)


def drawn_plan(spec: RunSpec, inputs: int, outputs: int) -> tuple[Planned, ...]:
    """The layers whose parameters are drawn from the seed (the linear layers)."""
    return tuple(
        p for p in layer_plan(spec, inputs, outputs) if p.names and not LAYERS[p.type].fixed
    )


def fixed_plan(spec: RunSpec, inputs: int, outputs: int) -> tuple[Planned, ...]:
    """The layers whose parameters start at constants (batchnorm's gamma = 1, beta = 0)."""
    return tuple(p for p in layer_plan(spec, inputs, outputs) if p.names and LAYERS[p.type].fixed)


def param_owners(plan: tuple[Planned, ...]) -> tuple[Planned, ...]:
    """The layers that own parameters: the drawn ones, then the fixed ones (the order parameters are listed in)."""
    owners = [p for p in plan if p.names]
    return tuple(sorted(owners, key=lambda p: bool(LAYERS[p.type].fixed)))


def param_names(spec: RunSpec, inputs: int, outputs: int) -> list[str]:
    """Every parameter: the drawn layers' (weights and biases), then the fixed ones (gamma and beta)."""
    return [n for p in param_owners(layer_plan(spec, inputs, outputs)) for n in p.names if n]


def fixed_weights(spec: RunSpec, inputs: int, outputs: int) -> dict[str, np.ndarray]:
    """The constant starts (nn.BatchNorm1d's gamma = 1 and beta = 0): nothing is drawn, so the
    linear layers' weights are the same with and without them."""
    return {
        n: getattr(np, how)(p.n_out)
        for p in fixed_plan(spec, inputs, outputs)
        for n, how in zip(p.names, LAYERS[p.type].fixed, strict=False)
        if n is not None
    }


def initial_weights(spec: RunSpec, inputs: int, outputs: int) -> dict[str, np.ndarray]:
    """Every parameter's starting value, drawn once in float64 from the run's seed so that every
    backend starts from the same place. Per layer the bias is drawn before the weight (the
    regression notebooks' order); a bias the lesson's own model lacks (added by a backend's
    override) starts at zero and draws nothing, so the weights stay the same. Each layer draws by
    its own `init` where it has one, else by the run's (`draw_rule`, which the exported code
    writes out too)."""
    rng = np.random.RandomState(spec.seed)
    out: dict[str, np.ndarray] = {}
    for p in drawn_plan(spec, inputs, outputs):
        bias_rule = draw_rule(spec, p, bias=True)
        b = _draw(bias_rule, rng, (p.n_out,)) if p.lesson_bias else None
        assert p.weight is not None  # a drawn layer has a weight
        if p.layer.weight is not None:
            out[p.weight] = np.array(p.layer.weight, dtype=np.float64).reshape(p.n_in, p.n_out)
        else:
            out[p.weight] = _draw(draw_rule(spec, p), rng, (p.n_in, p.n_out))
        if p.bias:
            if p.layer.bias_init is not None:
                b = np.array(p.layer.bias_init, dtype=np.float64).reshape(p.n_out)
            out[p.bias] = b if b is not None else np.zeros(p.n_out)
    out.update(fixed_weights(spec, inputs, outputs))
    return out


def layer_init(spec: RunSpec, p: Planned) -> str:
    """The draw a linear layer starts from: its own `init`, else the run's."""
    return p.layer.init or spec.init


def draw_rule(spec: RunSpec, p: Planned, bias: bool = False) -> tuple[str, str, float]:
    """How one parameter of a linear layer is drawn, as data both the tutor (`_draw`) and the
    exported script (tutor/code/script_data.py) follow: ("zeros", "", 0), ("normal", how, std)
    for rng.randn(...) * std (std 1: plain randn), or ("uniform", how, bound) for
    rng.uniform(-bound, bound); `how` is the scale as numpy code, written the way it is computed.
    Biases: randn, torch and uniform draw them like the weights; xavier, he and normal start them
    at zero (drawing nothing), as torch's init functions leave a bias to the layer."""
    init = layer_init(spec, p)
    fan_in, fan_out = max(p.n_in, 1), p.n_out
    if init == "zeros" or bias and init in ("xavier", "he", "normal"):
        return "zeros", "", 0.0
    if init == "randn":
        return "normal", "", 1.0
    if init == "normal":
        assert p.layer.std is not None  # init = "normal" needs its std (checked on loading)
        return "normal", repr(float(p.layer.std)), float(p.layer.std)
    if init == "he":  # Kaiming He: N(0, 2/fan-in), for ReLU layers
        return "normal", f"np.sqrt(2 / {fan_in})", float(np.sqrt(2 / fan_in))
    if init == "xavier":  # Glorot: U(±√(6/(fan-in + fan-out)))
        return (
            "uniform",
            f"np.sqrt(6 / ({fan_in} + {fan_out}))",
            float(np.sqrt(6 / (fan_in + fan_out))),
        )
    return (
        "uniform",
        f"1 / np.sqrt({fan_in})",
        float(1.0 / np.sqrt(fan_in)),
    )  # torch's nn.Linear range, "uniform"


def _draw(
    rule: tuple[str, str, float], rng: np.random.RandomState, shape: tuple[int, ...]
) -> np.ndarray:
    kind, _, scale = rule
    if kind == "zeros":
        return np.zeros(shape)
    if kind == "normal":
        return rng.randn(*shape) if scale == 1.0 and not rule[1] else rng.randn(*shape) * scale
    return rng.uniform(-scale, scale, size=shape)
