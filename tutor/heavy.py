"""The heavy libraries (sympy, torch, scikit-learn), imported by one thread at a time.

Workers that need them start at once on different threads (the background warm-up, Derive's
derivation, Train's data). torch imports sympy itself, so two threads importing them at the same
moment can each hold a module lock the other needs; Python breaks such a deadlock by handing one
of them a partially initialised module ("partially initialized module 'torch' has no attribute
…"). Every thread goes through `load()` first, so the imports happen once, in order, under one lock.
"""

from __future__ import annotations

import importlib
import threading

ORDER = ("sympy", "torch", "sklearn.model_selection")
_LOCK = threading.Lock()


def load(*names: str) -> None:
    """Import `names` (default: all of ORDER), in ORDER, holding the one import lock."""
    with _LOCK:
        for name in (
            ORDER
            if not names
            else [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
        ):
            importlib.import_module(name)
