"""The writer an exported script is built with, and the array-library spellings it uses."""

from __future__ import annotations

from dataclasses import dataclass

BACKWARD_MARK = "  # <- backward"


@dataclass(frozen=True)
class Script:
    text: str
    backward: frozenset[int]  # 0-based numbers of the lines that compute the backward pass
    backend: str


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.backward: set[int] = set()
        self.indent = 0

    def __call__(self, *lines: str, back: bool = False) -> None:
        for line in lines:
            text = ("    " * self.indent + line) if line else ""
            if back:
                self.backward.add(len(self.lines))
                text += BACKWARD_MARK
            self.lines.append(text)


# Array-library spellings: the same manual code on numpy arrays and on torch tensors.
NP = dict(
    exp="np.exp",
    log="np.log",
    tanh="np.tanh",
    sqrt="np.sqrt",
    arange="np.arange({})",
    zeros_like="np.zeros_like",
    rowmax="{}.max(axis=1, keepdims=True)",
    rowsum="{}.sum(axis=1, keepdims=True)",
    copy="{}.copy()",
    size="{}.size",
    erf="erf",
    indices="{}.astype(np.int64)",
    scatter_add="np.add.at({}, {}, {})",
)
TORCH = dict(
    exp="torch.exp",
    log="torch.log",
    tanh="torch.tanh",
    sqrt="torch.sqrt",
    arange="torch.arange({})",
    zeros_like="torch.zeros_like",
    rowmax="{}.max(dim=1, keepdim=True).values",
    rowsum="{}.sum(dim=1, keepdim=True)",
    copy="{}.clone()",
    size="{}.numel()",
    erf="torch.erf",
    indices="{}.long()",
    scatter_add="{}.index_add_(0, {}, {})",
)
