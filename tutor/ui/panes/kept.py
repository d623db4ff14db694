"""A run kept on the Train plot (o), as the progress record holds it, and back: a restart finds
the kept curves where they were, and the next run is still compared with them."""

from __future__ import annotations

import math

from tutor.present.run import Kept

SETTINGS = ("lr", "momentum", "epochs", "hidden", "seed", "optimizer", "device")


def kept_record(kept: Kept, variant: str) -> dict:
    """`kept` (run under the variant named `variant`, "" for none) as JSON-ready data."""
    with kept.history.lock:
        rows = [[*r[:5], None if not math.isfinite(r[5]) else r[5]] for r in kept.history.rows]
    settings = {k: getattr(kept.spec, k) for k in SETTINGS if getattr(kept.spec, k) is not None}
    return {
        "label": kept.label,
        "backend": kept.spec.backend,
        "variant": variant,
        "step": kept.step,
        "total": kept.total,
        "settings": settings,
        "rows": rows,
    }


def from_kept_record(lesson, record: dict) -> Kept | None:
    """The Kept run again, or None where the lesson no longer has its backend, variant or settings
    (the lesson file changed since)."""
    from tutor.errors import LessonError
    from tutor.train.snapshot import History
    from tutor.train.spec import backends_for, resolve

    try:
        variant = lesson.variant(record["variant"]) if record["variant"] else None
        if record["backend"] not in backends_for(lesson, variant):
            return None
        spec = resolve(lesson, record["backend"], variant, **record["settings"])
    except (LessonError, KeyError, TypeError, ValueError):
        return None
    history = History()
    history.rows = [[*r[:5], float("nan") if r[5] is None else r[5]] for r in record["rows"]]
    while len(history.rows) > history.capacity:  # as History.add would have merged them
        history.width *= 2
        rows = history.rows
        history.rows = [
            [a[0], b[1], min(a[2], b[2]), max(a[3], b[3]), b[4], b[5]]
            for a, b in zip(rows[::2], rows[1::2], strict=False)
        ] + ([rows[-1]] if len(rows) % 2 else [])
    return Kept(record["label"], history, spec, record["step"], record["total"])
