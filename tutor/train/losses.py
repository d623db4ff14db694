"""The one table of losses, as tutor/train/layers.py is for layers. Each entry keeps side by side:

    grad        the hand-written loss and its gradient ∂loss/∂prediction on `xp` arrays (the numpy and
                torch-manual backends, the playground)
    torch       torch's own function (the autograd backend; the reference its tests check `grad` on)
    nn          the torch.nn loss module, as (class, arguments), and how the nn backends apply it
    lines, torch_text, nn_text
                the exported script's lines, written operation for operation as the run computes
    labels      its targets are class indices (else arrays of the prediction's shape)
    cut         a two-class loss on one raw output: the output above `cut` is class 1 (the accuracy)

Adding a loss is one `LossKind(...)` entry below, its word in tutor/lesson/vocabulary.py's LOSSES and
its line in lessons/README.md; tests/unit/test_losses.py checks every entry against torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tutor.train.layers import softmax


@dataclass(frozen=True)
class LossKind:
    name: str
    grad: Callable[
        [Any, Any, Any], tuple[Any, Any]
    ]  # (xp, prediction, target) → (loss, ∂loss/∂prediction)
    torch: Callable[[Any, Any, Any], Any]  # (torch, prediction, target) → loss
    nn: tuple[str, dict[str, Any]]  # the nn module: class and keyword arguments
    nn_apply: Callable[[Any, Any, Any, Any], Any]  # (torch, module, prediction, target) → loss
    lines: Callable[
        [dict[str, str], str], tuple[list[str], list[str]]
    ]  # (xp spellings, prediction) → (loss, gradient)
    torch_text: str  # the autograd script's loss, of `pred` and `yb`
    nn_text: str  # the nn script's loss, of `criterion`, `pred` and `yb`
    labels: bool = False
    cut: float | None = None


def _copy(xp: Any, a: Any) -> Any:
    return a.clone() if hasattr(a, "clone") else a.copy()


def _size(a: Any) -> int:
    return int(a.shape[0] * a.shape[1])


def _sse(xp: Any, pred: Any, y: Any) -> tuple[Any, Any]:
    d = pred - y
    return (d * d).sum(), 2 * d


def _mse(xp: Any, pred: Any, y: Any) -> tuple[Any, Any]:
    d = pred - y
    return (d * d).mean(), 2 * d / _size(d)


def _bce(xp: Any, pred: Any, y: Any) -> tuple[Any, Any]:  # on logits: ∂L/∂z = (σ(z) − y) / N
    p = 1 / (1 + xp.exp(-pred))
    loss = (pred * (pred > 0) - pred * y + xp.log(1 + xp.exp(-abs(pred)))).mean()
    return loss, (p - y) / _size(pred)


def _ce(mean: bool) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    def grad(
        xp: Any, pred: Any, y: Any
    ) -> tuple[Any, Any]:  # on logits: ∂L/∂z = softmax(z) − onehot(y), over N for the mean
        rows = xp.arange(pred.shape[0])
        s = softmax(xp, pred)
        picked = -xp.log(s[rows, y])
        g = _copy(xp, s)
        g[rows, y] -= 1
        return (picked.mean(), g / pred.shape[0]) if mean else (picked.sum(), g)

    return grad


def _nll(
    xp: Any, pred: Any, y: Any
) -> tuple[Any, Any]:  # on log-probabilities: ∂L/∂logp = −onehot(y) / N
    rows = xp.arange(pred.shape[0])
    g = xp.zeros_like(pred)
    g[rows, y] = -1.0 / pred.shape[0]
    return -pred[rows, y].mean(), g


def _hinge(xp: Any, pred: Any, y: Any) -> tuple[Any, Any]:
    """CS231n's multiclass SVM: per sample Σ_{j≠y} max(0, s_j − s_y + 1), the mean over the batch."""
    rows = xp.arange(pred.shape[0])
    margins = pred - pred[rows, y].reshape(-1, 1) + 1
    margins[rows, y] = 0  # the correct class has no margin against itself
    g = xp.zeros_like(pred)
    g[margins > 0] = 1  # each violated margin pulls its class's score down…
    g[rows, y] = -g.sum(1)  # …and the correct class's up, once per violation
    return (margins * (margins > 0)).sum() / pred.shape[0], g / pred.shape[0]


def _max_margin(xp: Any, pred: Any, y: Any) -> tuple[Any, Any]:
    """micrograd's max-margin: relu(1 − s·score) with s = 2y − 1 (labels 0, 1 as −1, +1), the mean."""
    m = 1 - (2 * y - 1) * pred
    active = m > 0
    return (m * active).mean(), -(2 * y - 1) * active / _size(pred)


def _sq_lines(mean: bool) -> Callable[[dict[str, str], str], tuple[list[str], list[str]]]:
    def lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
        head = [f"d = {pred} - yb", f"loss = (d * d).{'mean' if mean else 'sum'}()"]
        return head, [f"g = 2 * d / {xp['size'].format('d')}" if mean else "g = 2 * d"]

    return lines


def _bce_lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
    return (
        [
            f"p = 1 / (1 + {xp['exp']}(-{pred}))",
            f"loss = ({pred} * ({pred} > 0) - {pred} * yb + {xp['log']}(1 + {xp['exp']}(-abs({pred})))).mean()",
        ],
        [f"g = (p - yb) / ({pred}.shape[0] * {pred}.shape[1])"],
    )


def _ce_lines(mean: bool) -> Callable[[dict[str, str], str], tuple[list[str], list[str]]]:
    def lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
        return (
            [
                f"rows = {xp['arange'].format(f'{pred}.shape[0]')}",
                f"e = {xp['exp']}({pred} - {xp['rowmax'].format(pred)})",
                f"s = e / {xp['rowsum'].format('e')}",
                f"picked = -{xp['log']}(s[rows, yb])",
                f"loss = picked.{'mean' if mean else 'sum'}()",
            ],
            [f"g = {xp['copy'].format('s')}", "g[rows, yb] -= 1"]
            + ([f"g = g / {pred}.shape[0]"] if mean else []),
        )

    return lines


def _nll_lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
    return (
        [f"rows = {xp['arange'].format(f'{pred}.shape[0]')}", f"loss = -{pred}[rows, yb].mean()"],
        [f"g = {xp['zeros_like']}({pred})", f"g[rows, yb] = -1.0 / {pred}.shape[0]"],
    )


def _hinge_lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
    return (
        [
            f"rows = {xp['arange'].format(f'{pred}.shape[0]')}",
            f"margins = {pred} - {pred}[rows, yb].reshape(-1, 1) + 1",
            "margins[rows, yb] = 0",
            f"loss = (margins * (margins > 0)).sum() / {pred}.shape[0]",
        ],
        [
            f"g = {xp['zeros_like']}({pred})",
            "g[margins > 0] = 1",
            "g[rows, yb] = -g.sum(1)",
            f"g = g / {pred}.shape[0]",
        ],
    )


def _max_margin_lines(xp: dict[str, str], pred: str) -> tuple[list[str], list[str]]:
    return (
        [
            f"m = 1 - (2 * yb - 1) * {pred}     # labels 0, 1 as -1, +1",
            "active = m > 0",
            "loss = (m * active).mean()",
        ],
        [f"g = -(2 * yb - 1) * active / ({pred}.shape[0] * {pred}.shape[1])"],
    )


def _plain(t: Any, criterion: Any, pred: Any, y: Any) -> Any:
    return criterion(pred, y)


LOSS_KINDS: dict[str, LossKind] = {
    k.name: k
    for k in (
        LossKind(
            "sse",
            _sse,
            lambda t, p, y: ((p - y) ** 2).sum(),
            ("MSELoss", {"reduction": "sum"}),
            _plain,
            _sq_lines(False),
            "((pred - yb) ** 2).sum()",
            "criterion(pred, yb)",
        ),
        LossKind(
            "mse",
            _mse,
            lambda t, p, y: ((p - y) ** 2).mean(),
            ("MSELoss", {}),
            _plain,
            _sq_lines(True),
            "((pred - yb) ** 2).mean()",
            "criterion(pred, yb)",
        ),
        LossKind(
            "bce",
            _bce,
            lambda t, p, y: t.nn.functional.binary_cross_entropy_with_logits(p, y),
            ("BCEWithLogitsLoss", {}),
            _plain,
            _bce_lines,
            "F.binary_cross_entropy_with_logits(pred, yb)",
            "criterion(pred, yb)",
            cut=0.0,
        ),
        LossKind(
            "ce",
            _ce(True),
            lambda t, p, y: t.nn.functional.cross_entropy(p, y),
            ("CrossEntropyLoss", {}),
            _plain,
            _ce_lines(True),
            "F.cross_entropy(pred, yb)",
            "criterion(pred, yb)",
            labels=True,
        ),
        LossKind(
            "nll",
            _nll,
            lambda t, p, y: t.nn.functional.nll_loss(p, y),
            ("NLLLoss", {}),
            _plain,
            _nll_lines,
            "F.nll_loss(pred, yb)",
            "criterion(pred, yb)",
            labels=True,
        ),
        LossKind(
            "ce-sum",
            _ce(False),
            lambda t, p, y: t.nn.functional.cross_entropy(p, y, reduction="sum"),
            ("CrossEntropyLoss", {"reduction": "sum"}),
            _plain,
            _ce_lines(False),
            'F.cross_entropy(pred, yb, reduction="sum")',
            "criterion(pred, yb)",
            labels=True,
        ),
        # torch's multi-margin loss divides each sample's sum by the number of classes: × C / N undoes it
        LossKind(
            "hinge",
            _hinge,
            lambda t, p, y: (
                t.nn.functional.multi_margin_loss(p, y, reduction="sum") * p.shape[1] / p.shape[0]
            ),
            ("MultiMarginLoss", {"reduction": "sum"}),
            lambda t, c, p, y: c(p, y) * p.shape[1] / p.shape[0],
            _hinge_lines,
            'F.multi_margin_loss(pred, yb, reduction="sum") * pred.shape[1] / pred.shape[0]',
            "criterion(pred, yb) * pred.shape[1] / pred.shape[0]",
            labels=True,
        ),
        # nn's margin ranking loss max(0, −s·(x1 − x2) + 1) against x2 = 0 is micrograd's max-margin
        LossKind(
            "max-margin",
            _max_margin,
            lambda t, p, y: t.relu(1 - (2 * y - 1) * p).mean(),
            ("MarginRankingLoss", {"margin": 1.0}),
            lambda t, c, p, y: c(p, t.zeros_like(p), 2 * y - 1),
            _max_margin_lines,
            "torch.relu(1 - (2 * yb - 1) * pred).mean()",
            "criterion(pred, torch.zeros_like(pred), 2 * yb - 1)",
            cut=0.0,
        ),
    )
}


def nn_criterion(nn: Any, kind: str) -> Any:
    cls, kwargs = LOSS_KINDS[kind].nn
    return getattr(nn, cls)(**kwargs)


def nn_criterion_text(kind: str) -> str:
    cls, kwargs = LOSS_KINDS[kind].nn
    return f"nn.{cls}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
