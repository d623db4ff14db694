"""The python-names dataset (tutor/train/names.py): the frozen corpus against the vocabulary's
constants, makemore's contexts, the split by names, and sampling from a model's logits."""

from __future__ import annotations

import numpy as np

from tutor.lesson.limits import NAMES_MAX_BLOCK
from tutor.lesson.vocabulary import NAMES_CHARS, NAMES_SAMPLES
from tutor.train import names


def test_the_vocabularys_constants_are_the_corpus_counts():
    words = names.corpus()
    assert len(words) == 398 and list(words) == sorted(set(words))
    assert len(names.alphabet()) == NAMES_CHARS and names.alphabet()[0] == names.END == "."
    assert sum(len(w) + 1 for w in words) == NAMES_SAMPLES
    assert len(names.contexts(words, NAMES_MAX_BLOCK)[0]) == NAMES_SAMPLES


def test_contexts_pad_with_the_end_token_and_end_each_name():
    x, y = names.contexts(["ab", "c"], 2)
    a, b, c = (names.alphabet().index(ch) for ch in "abc")
    assert x.tolist() == [[0, 0], [0, a], [a, b], [0, 0], [0, c]]
    assert y.tolist() == [a, b, 0, c, 0] and x.dtype == np.float64 and y.dtype == np.int64


def test_the_split_is_by_names_and_seeded():
    train, val = names.split(0, 80)
    assert len(train) == 318 and len(val) == 80 and not set(train) & set(val)
    assert names.split(0, 80) == (train, val) and names.split(1, 80) != (train, val)
    data = names.load(3, 0, 80)
    assert data.classes == NAMES_CHARS and data.inputs == 3
    assert len(data.x_train) == names.train_count(3, 0, 80) == sum(len(w) + 1 for w in train)


def test_sampling_follows_the_softmax_and_the_seed():
    V = NAMES_CHARS
    z = np.full(V, -50.0)
    z[names.alphabet().index("a")] = 50.0  # "a" three times, then the end
    seen: list[list[float]] = []

    def logits(context):
        seen.append(context[0].tolist())
        out = z.copy() if len(seen) % 4 else np.where(np.arange(V) == 0, 50.0, -50.0)
        return out[None]

    assert names.sample(logits, 2, 1, seed=0) == ["aaa"]
    a = float(names.alphabet().index("a"))
    assert seen == [[0, 0], [0, a], [a, a], [a, a]]  # the context shifts in each drawn character
    flat = names.sample(lambda c: np.zeros((1, V)), 3, 5, seed=7)
    assert flat == names.sample(lambda c: np.zeros((1, V)), 3, 5, seed=7) and len(flat) == 5
    assert all(len(w) <= names.MAX_LENGTH for w in flat)
    assert names.sample(lambda c: np.zeros((1, V)), 3, 5, seed=8) != flat


def test_a_name_is_new_only_when_the_corpus_lacks_it():
    assert not names.is_new("zipfile") and not names.is_new("argparse")
    assert names.is_new("zipfilex") and names.is_new("")
