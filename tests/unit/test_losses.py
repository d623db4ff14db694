"""Issue 26, part 2: the one table of losses (tutor/train/losses.py). Every entry's hand-written loss
and gradient, on numpy arrays and on torch tensors, agree with torch autograd through the entry's
torch function and through its nn module; the vocabulary names exactly the table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tutor.lesson.vocabulary import LOSSES
from tutor.train.losses import LOSS_KINDS, nn_criterion
from tutor.train.manual import NumpyXP, TorchXP

N, C = 7, 4


def test_the_vocabulary_names_every_loss_of_the_table():
    assert tuple(LOSS_KINDS) == LOSSES


def case(name: str, seed: int = 0):
    """A prediction, its targets (class indices, 0/1 labels or numbers), float64; no hinge within
    0.05 of its kink."""
    kind = LOSS_KINDS[name]
    rng = np.random.RandomState(seed)
    if kind.labels:
        return rng.randn(N, C) * 2, rng.randint(0, C, N)
    if kind.cut is not None:
        pred, y = rng.randn(N, 1) * 2, rng.randint(0, 2, (N, 1)).astype(np.float64)
        if name == "max-margin":  # 1 − s·score away from 0
            pred = np.where(np.abs(1 - (2 * y - 1) * pred) < 0.05, pred + 0.2, pred)
        return pred, y
    return rng.randn(N, C), rng.randn(N, C)


def hinge_clear(pred, y) -> bool:
    margins = pred - pred[np.arange(N), y][:, None] + 1
    margins[np.arange(N), y] = 5.0
    return bool((np.abs(margins) > 0.05).all())


def reference(name, pred, y, module: bool):
    p = torch.tensor(pred, requires_grad=True)
    yt = torch.tensor(y)
    kind = LOSS_KINDS[name]
    loss = (
        kind.nn_apply(torch, nn_criterion(torch.nn, name), p, yt)
        if module
        else kind.torch(torch, p, yt)
    )
    loss.backward()
    return loss.item(), p.grad.numpy()


@pytest.mark.parametrize("name", list(LOSS_KINDS))
@pytest.mark.parametrize(
    "xp", [NumpyXP("float64"), TorchXP("float64", "cpu")], ids=["numpy", "torch-manual"]
)
@pytest.mark.parametrize("module", [False, True], ids=["function", "nn"])
def test_each_hand_written_loss_and_gradient_agree_with_torch(name, xp, module):
    pred, y = case(name)
    if name == "hinge":
        assert hinge_clear(pred, y)
    want_loss, want_grad = reference(name, pred, y, module)
    labels = xp.labels if LOSS_KINDS[name].labels else xp.array
    loss, g = LOSS_KINDS[name].grad(xp, xp.array(pred), labels(y))
    assert xp.scalar(loss) == pytest.approx(want_loss, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(xp.to_numpy(g), want_grad, rtol=1e-10, atol=1e-14)


def test_the_hinge_loss_is_cs231ns_svm_loss():
    """CS231n's worked example: scores (3.2, 5.1, −1.7), (1.3, 4.9, 2.0), (2.2, 2.5, −3.1) for the
    classes cat, car, frog, the correct ones cat, car, frog: losses 2.9, 0 and 12.9, mean 5.27."""
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    loss, _ = LOSS_KINDS["hinge"].grad(NumpyXP("float64"), scores, np.array([0, 1, 2]))
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3, rel=1e-12)


def test_the_max_margin_loss_reads_labels_0_and_1_as_minus_and_plus_one():
    loss, g = LOSS_KINDS["max-margin"].grad(
        NumpyXP("float64"), np.array([[0.5], [0.5], [2.0]]), np.array([[1.0], [0.0], [1.0]])
    )
    assert loss == pytest.approx((0.5 + 1.5 + 0.0) / 3, rel=1e-12)
    np.testing.assert_allclose(g, [[-1 / 3], [1 / 3], [0.0]], rtol=1e-12)
