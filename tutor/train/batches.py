"""The one mini-batch order every backend and the exported scripts share."""

from __future__ import annotations

import math

import numpy as np


class BatchOrder:
    """The one mini-batch sampler: each epoch a fresh permutation of the training set from
    `numpy.random.RandomState(seed)`, cut into batches of `size` indices (the last may be short)."""

    def __init__(self, n: int, size: int, seed: int):
        self.n, self.size = n, size
        self.rng = np.random.RandomState(seed)
        self.order: np.ndarray | None = None
        self.position = n  # start of the next batch within `order`

    def next(self) -> np.ndarray:
        if self.position >= self.n or self.order is None:  # None only before the first batch
            self.order = self.rng.permutation(self.n)
            self.position = 0
        idx: np.ndarray = self.order[self.position : self.position + self.size]
        self.position += self.size
        return idx

    def __len__(self) -> int:
        return math.ceil(self.n / self.size)
