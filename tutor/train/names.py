"""The `python-names` dataset and sampling from a model trained on it: makemore's character-level
set-up on a corpus that ships with the tutor (tutor/train/data/python_names.txt, frozen from Python
3.11's keywords, builtins and standard-library module names, so its figures never move).

Each name becomes one sample per character plus one for its end: the `block` characters before it
(padded with the end token '.') predict the next one. The names, not the samples, are split into
training and validation, so the validation names are unseen."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from tutor.train.arrays import Data

END = "."  # the end-of-name token, index 0; also what pads a context's start
SAMPLED = 10  # names sampled after a run
MAX_LENGTH = 30  # characters in one sampled name, at most (the corpus's longest: 25)
CORPUS = Path(__file__).parent / "data" / "python_names.txt"


@cache
def corpus() -> tuple[str, ...]:
    """The frozen names, in file order (sorted)."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


@cache
def alphabet() -> str:
    """The vocabulary: the end token, then every character the names use, sorted."""
    return END + "".join(sorted(set("".join(corpus()))))


def contexts(names: tuple[str, ...] | list[str], block: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): for every character of every name and its end, the `block` indices before it
    (float64, N × block) and its own index (int64, N)."""
    index = {c: i for i, c in enumerate(alphabet())}
    xs: list[list[int]] = []
    ys: list[int] = []
    for name in names:
        context = [0] * block
        for c in name + END:
            xs.append(context)
            ys.append(index[c])
            context = [*context[1:], index[c]]
    return np.asarray(xs, dtype=np.float64).reshape(-1, block), np.asarray(ys, dtype=np.int64)


def split(seed: int, ratio: float) -> tuple[list[str], list[str]]:
    """The names shuffled by numpy's RandomState(seed); the first `ratio` percent train."""
    names = list(corpus())
    order = np.random.RandomState(seed).permutation(len(names))
    cut = round(len(names) * ratio / 100)
    return [names[i] for i in order[:cut]], [names[i] for i in order[cut:]]


def load(block: int, seed: int, ratio: float) -> Data:
    train, val = split(seed, ratio)
    x, y = contexts(train, block)
    xv, yv = contexts(val, block)
    return Data(x, y, xv, yv, classes=len(alphabet()), name="python-names")


def train_count(block: int, seed: int, ratio: float) -> int:
    return sum(len(n) + 1 for n in split(seed, ratio)[0])


def script(block: int, seed: int, ratio: float) -> list[str]:
    """An exported script's lines making the same arrays, with the names written out."""
    return [
        f"names = {list(corpus())!r}",
        f"chars = {alphabet()!r}                  # '.' ends a name (index 0) and pads a context",
        "index = {c: i for i, c in enumerate(chars)}",
        f"order = np.random.RandomState({seed}).permutation(len(names))",
        f"cut = round(len(names) * {float(ratio)!r} / 100)",
        "",
        "",
        "def contexts(words):",
        "    xs, ys = [], []",
        "    for word in words:",
        f"        context = [0] * {block}",
        "        for c in word + '.':",
        "            xs.append(context)",
        "            ys.append(index[c])",
        "            context = context[1:] + [index[c]]",
        f"    x = np.array(xs, dtype=np.float64).reshape(-1, {block})",
        "    return x, np.array(ys, dtype=np.int64)",
        "",
        "",
        "x_train, y_train = contexts([names[i] for i in order[:cut]])",
        "x_val, y_val = contexts([names[i] for i in order[cut:]])",
    ]


def sample(
    logits: Callable[[np.ndarray], np.ndarray], block: int, count: int, seed: int
) -> list[str]:
    """`count` names drawn from a model: from a context of end tokens, each next character from
    softmax(logits(context)) by numpy's RandomState(seed), until the end token (or MAX_LENGTH)."""
    rng = np.random.RandomState(seed)
    chars, out = alphabet(), []
    for _ in range(count):
        context, name = [0] * block, ""
        for _ in range(MAX_LENGTH):
            z = np.asarray(
                logits(np.asarray([context], dtype=np.float64)), dtype=np.float64
            ).reshape(-1)
            p = np.exp(z - z.max())
            p /= p.sum()
            ix = min(
                int(np.searchsorted(np.cumsum(p), rng.rand() * p.sum(), side="right")), len(p) - 1
            )
            if ix == 0:
                break
            name += chars[ix]
            context = [*context[1:], ix]
        out.append(name)
    return out


@cache
def _known() -> frozenset[str]:
    return frozenset(corpus())


def is_new(name: str) -> bool:
    """Not one of the corpus's names (training or validation)."""
    return name not in _known()
