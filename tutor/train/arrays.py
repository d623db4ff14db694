"""What every dataset becomes: training and validation arrays (and DataError when it cannot be made)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(Exception):
    """A dataset could not be made; the message says what to do."""


@dataclass(frozen=True)
class Data:
    x_train: np.ndarray  # float64, samples × features
    y_train: np.ndarray  # float64 samples × outputs, or int64 class labels
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    classes: int = 0  # 0 for regression
    name: str = ""

    @property
    def inputs(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def outputs(self) -> int:
        return self.classes if self.classes else self.y_train.shape[1]
