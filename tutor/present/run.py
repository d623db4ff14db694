"""A training run in words, for both views: the headless log's lines and the Train pane's status
line are built from the same pieces, so they cannot drift apart.

The headless log joins the pieces with two spaces, one line per logged step; the Train pane joins
them with " · " on its status line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tutor.fmt import number
from tutor.lesson import Layer

COMPARED = (
    "lr",
    "optimizer",
    "momentum",
    "epochs",
    "batch_size",
    "seed",
    "hidden",
    "zero_grad",
    "loss",
    "dtype",
)
AGREE = 1e-3  # relative difference below which two runs' losses are said to agree
BASELINE_FIGURES = (
    "coef",
    "intercept",
    "loss",
    "val_loss",
    "accuracy",
    "val_accuracy",
)  # in the order shown


# What these texts read of a run. The run's own types live in tutor.train, beside this layer and
# not below it, so they are described here by what is read (tutor.train's Snapshot, GradStat,
# RunSpec, History and Session have these members).


class Grad(Protocol):
    """A parameter's gradient figures (tutor.train.snapshot.GradStat)."""

    @property
    def value(self) -> float | None: ...  # signed, when the parameter is one number
    @property
    def norm(self) -> float: ...
    @property
    def shape(self) -> tuple[int, ...]: ...


class Reached(Protocol):
    """Where a run stopped: a lesson's Snapshot, a playground's Stats."""

    @property
    def step(self) -> int: ...
    @property
    def loss(self) -> float: ...


class Figures(Reached, Protocol):
    """A logged row of a run (tutor.train.snapshot.Snapshot)."""

    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def epoch(self) -> int: ...
    @property
    def total_steps(self) -> int: ...
    @property
    def val_loss(self) -> float | None: ...
    @property
    def accuracy(self) -> float | None: ...
    @property
    def val_accuracy(self) -> float | None: ...
    @property
    def grads(self) -> Mapping[str, Grad]: ...
    @property
    def params(self) -> Mapping[str, Any] | None: ...
    @property
    def steps_per_second(self) -> float: ...
    @property
    def done(self) -> bool: ...
    @property
    def diverged(self) -> bool: ...
    @property
    def error(self) -> str: ...


class Settings(Protocol):
    """A run's settings (tutor.train.spec.RunSpec): those COMPARED, the optimizer's and the model's."""

    @property
    def backend(self) -> str: ...
    @property
    def optimizer(self) -> str: ...
    @property
    def lr(self) -> float: ...
    @property
    def momentum(self) -> float: ...
    @property
    def layers(self) -> Sequence[Layer]: ...
    @property
    def bias(self) -> bool | None: ...


class Series(Protocol):
    """A run's logged losses (tutor.train.snapshot.History)."""

    def series(self) -> tuple[list[int], list[float], list[float], list[float]]: ...


class Run(Protocol):
    """A run being compared (tutor.train.session.Session)."""

    @property
    def spec(self) -> Settings: ...
    @property
    def history(self) -> Series: ...


def values_text(v: object) -> str:
    """A parameter or prediction: one number, or a flat list of numbers, to 5 decimals."""
    if isinstance(v, (list, tuple)):
        flat = list(_flat(v))
        return (
            "[" + ", ".join(f"{x:.5f}" for x in flat) + "]" if len(flat) > 1 else f"{flat[0]:.5f}"
        )
    return f"{v:.5f}" if isinstance(v, float) else str(v)


def _flat(v: Iterable[Any]) -> Iterator[Any]:
    for x in v:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def grad_text(name: str, g: Grad) -> str:
    """A parameter's gradient: signed for a single number (∂w −2.0), else its norm (and for an
    embedding table the rows the step's batch picked: ‖∂C‖ 0.2 (rows 27/32))."""
    if g.value is not None:
        return f"∂{name} {number(g.value)}"
    rows = getattr(g, "rows", None)
    picked = f" (rows {rows}/{g.shape[0]})" if rows is not None else ""
    return f"‖∂{name}‖ {number(g.norm)}{picked}"


def optimizer_text(spec: Settings) -> str:
    """gd, lr 0.1 · sgd, lr 0.01, momentum 0.9 (effective step lr/(1 − momentum) = 0.1)."""
    text = f"{spec.optimizer}, lr {spec.lr:g}"
    if spec.optimizer == "sgd" and spec.momentum:
        text += f", momentum {spec.momentum:g} (effective step lr/(1 − momentum) = {spec.lr / (1 - spec.momentum):.3g})"
    return text


def params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {values_text(v)}" for k, v in params.items())


def prediction_text(pr: Mapping[str, Any]) -> str:
    return f"f({values_text(pr['x'])}) = {values_text(pr['y'])}"


def samples_text(samples: Iterable[Mapping[str, Any]]) -> str:
    """A character model's sampled names, each one that is not in its corpus marked (new)."""
    return "sampled: " + ", ".join(s["name"] + (" (new)" if s["new"] else "") for s in samples)


def loss_figures(snap: Figures, final: bool = False) -> list[str]:
    """loss, validation loss and accuracy of a snapshot, as short pieces."""
    out = [f"{'final loss' if final else 'loss'} {number(snap.loss)}"]
    if snap.val_loss is not None:
        out.append(f"val {number(snap.val_loss)}")
    if snap.accuracy is not None:
        out.append(f"acc {accuracy_text(snap.accuracy, snap.val_accuracy, '/')}")
    return out


def accuracy_text(train: float, val: float | None, sep: str) -> str:
    """'0.950/0.900': training, then validation accuracy; the training one alone where the data has
    no validation set (a `points` dataset without x_val)."""
    return f"{train:.3f}" + (f"{sep}{val:.3f}" if val is not None else "")


def diverged_text(snap: Reached, fix: str) -> str:
    """Why a run stopped: the step and the loss it reached, and what to change (`fix`)."""
    return f"diverged at step {snap.step}: the loss became {number(snap.loss)}. Lower the learning rate {fix}."


def step_line(snap: Figures) -> str:
    """One logged step of the headless log."""
    norms = "  ".join(grad_text(k, g) for k, g in snap.grads.items())
    # full-set figures come on a cadence (tutor/train/cadence.py): say when they are older than the row
    at = getattr(snap, "eval_step", None)
    older = (
        f"  (val{', acc' if snap.accuracy is not None else ''} of step {at})"
        if at is not None and at != snap.step and snap.val_loss is not None
        else ""
    )
    return (
        f"  step {snap.step:>6}  epoch {snap.epoch:>4}  "
        + "  ".join(loss_figures(snap))
        + f"  {norms}{older}"
    )


def status_line(
    snap: Figures,
    predictions: Iterable[Mapping[str, Any]] = (),
    samples: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The Train pane's one-line summary: the numbers of the headless log. A running run shows its
    last logged row (the state a step starts from: its loss, and the signed gradient of each
    one-number parameter); a finished one its final weights' figures, as the `done` event."""
    head = f"{snap.backend} on {snap.device} · step {snap.step}/{snap.total_steps} · epoch {snap.epoch}"
    if snap.error:
        return f"{head} · stopped: {snap.error}"
    if snap.diverged:
        return f"{head} · {diverged_text(snap, 'and press enter')}"
    text = " · ".join([head, *loss_figures(snap, final=snap.done)])
    if snap.done:  # a finished run shows its figures; the speed belongs to a live one
        if snap.params is not None:
            text += f" · {params_text(snap.params)}"
        text += "".join(f" · {prediction_text(pr)}" for pr in predictions)
        text += f" · {samples_text(list(samples))}" if samples else ""
        return text + " · done"
    text += "".join(f" · {grad_text(k, g)}" for k, g in snap.grads.items() if g.value is not None)
    return text + f" · {snap.steps_per_second:,.0f} steps/s"


def baseline_text(base: Mapping[str, Any], one_line: bool) -> str:
    """The library baseline: its model, what it ran with, and its figures to 5 decimals; on one
    line (the Train pane) or one figure per line (the headless log)."""
    figures = [(key, values_text(base[key])) for key in BASELINE_FIGURES if key in base]
    if one_line:
        return f"Baseline {base['model']} ({base['settings']}): " + " · ".join(
            f"{k} {v}" for k, v in figures
        )
    settings = f"\n  settings: {base['settings']}" if "settings" in base else ""
    return f"\nBaseline: {base['model']}{settings}" + "".join(f"\n  {k}: {v}" for k, v in figures)


@dataclass(frozen=True)
class Kept:
    """A run kept on the plot, with what is needed to compare the next run with it."""

    label: str
    history: Series
    spec: Settings
    step: int
    total: int


def _model(spec: Settings) -> tuple[tuple[str, bool], ...]:
    """The layers as built: each one's type and whether a linear layer has a bias."""
    return tuple(
        (lyr.type, (lyr.bias if spec.bias is None else spec.bias) and lyr.type == "linear")
        for lyr in spec.layers
    )


def agreement(session: Run, kept: Kept, label: str = "") -> str:
    """How the finished run compares with the kept one. The same start and settings give the same
    path whatever the backend; with other settings the losses are not expected to match."""
    name = f"{label or session.spec.backend} vs {kept.label}"
    changed = [
        f"{k} {getattr(kept.spec, k)}"
        for k in COMPARED
        if getattr(kept.spec, k) != getattr(session.spec, k)
    ]
    theirs, ours = _model(kept.spec), _model(session.spec)
    if theirs != ours:  # another model, e.g. nn's layers with biases and numpy's without
        same_layers = [t for t, _ in theirs] == [t for t, _ in ours]
        changed.append(
            ("biases" if any(b for _, b in theirs) else "no biases")
            if same_layers
            else "other layers"
        )
    if changed:
        return f"{name}: not comparable, {kept.label} ran with {', '.join(changed)}"
    steps, loss, _, _ = session.history.series()
    o_steps, o_loss, _, _ = kept.history.series()
    other = dict(zip(o_steps, o_loss, strict=True))
    diffs = [
        abs(a - other[s]) / max(abs(a), abs(other[s]), 1e-12)
        for s, a in zip(steps, loss, strict=True)
        if s in other
    ]
    if not diffs:
        return f"{name}: no logged steps in common"
    worst = max(diffs)
    over = f"over {len(diffs)} logged points" + (
        "" if kept.step == kept.total else f", {kept.label} stopped at step {kept.step}"
    )
    if worst < AGREE:
        return f"{name}: losses agree to {worst:.1e} (max relative difference {over})"
    return f"{name}: losses differ by up to {worst:.0%} ({over})"
