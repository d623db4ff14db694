"""Derived steps kept on disk, so that re-opening a lesson shows its first step at once.

Entries live in the user cache directory, one JSON file per lesson content and tutor version.
JSON, not pickle: a tampered cache file can give wrong text at worst, never run code. A corrupt
or stale entry is ignored (and rewritten by the next derivation).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tutor import __version__
from tutor.derive.steps import Check, Derivation, Step
from tutor.expr.nodes import Apply, Expr, Num, Sym
from tutor.lesson import Lesson

Json = Any  # what json.load gives back: checked where it is read

FORMAT = 1


def directory() -> Path:
    override = os.environ.get("BACKPROP_TUTOR_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("backprop-tutor")) / "derive"


_CODE: list[str] = []


def _code() -> str:
    """A fingerprint of the code that derives (tutor/expr, tutor/derive): an edited tutor never
    reads steps an older one wrote, even at the same version number."""
    if not _CODE:
        digest = hashlib.sha256()
        root = Path(__file__).resolve().parent.parent
        for path in sorted(
            [*root.joinpath("expr").glob("*.py"), *root.joinpath("derive").glob("*.py")]
        ):
            digest.update(path.read_bytes())
        _CODE.append(digest.hexdigest()[:16])
    return _CODE[0]


def key(lesson: Lesson) -> str:
    text = repr((FORMAT, __version__, _code(), lesson.id, lesson.graph, lesson.jacobian))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _tree(e: Expr) -> Json:
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Sym):
        return {"s": e.name}
    return {"o": e.op, "a": [_tree(a) for a in e.args]}


def _untree(j: Json) -> Expr:
    if isinstance(j, (int, float)):
        return Num(float(j))
    if "s" in j:
        return Sym(str(j["s"]))
    return Apply(str(j["o"]), tuple(_untree(a) for a in j["a"]))


def _array(v: Any) -> Json:
    return {"array": np.asarray(v, dtype=np.float64).tolist()} if np.ndim(v) else float(v)


def _unarray(v: Json) -> np.ndarray | float:
    return np.asarray(v["array"], dtype=np.float64) if isinstance(v, dict) else float(v)


def _check(c: Check | None) -> Json:
    if c is None:
        return None
    return {
        "param": c.param,
        "symbolic": _array(c.symbolic),
        "autograd": _array(c.autograd),
        "numeric": _array(c.numeric),
        "rel_error": c.rel_error,
        "ok": c.ok,
        "blame": c.blame,
        "grade": c.grade,
        "kink": c.kink,
        "autograd_error": c.autograd_error,
    }


def _uncheck(j: Json) -> Check | None:
    if j is None:
        return None
    return Check(
        j["param"],
        _unarray(j["symbolic"]),
        _unarray(j["autograd"]),
        _unarray(j["numeric"]),
        float(j["rel_error"]),
        bool(j["ok"]),
        j["blame"],
        j["grade"],
        bool(j["kink"]),
        float(j["autograd_error"]),
    )


def _line(value: Expr | str) -> Json:
    return {"t": value} if isinstance(value, str) else {"e": _tree(value)}


def _unline(j: Json) -> Expr | str:
    return j["t"] if "t" in j else _untree(j["e"])


def _check_ref(deriv: Derivation, c: Check | None) -> Json:
    """A step's check as a reference into the derivation's lists, so that it comes back as the
    same object (a step's check *is* one of `checks` or `matrix_checks`)."""
    for name in ("checks", "matrix_checks", "values_checks"):
        for i, other in enumerate(getattr(deriv, name)):
            if other is c:
                return {"ref": name, "i": i}
    return _check(c)


def dump(deriv: Derivation) -> dict[str, Json]:
    return {
        "steps": [
            {
                "phase": s.phase,
                "node": s.node,
                "title": s.title,
                "note": s.note,
                "lines": [[label, _line(v)] for label, v in s.lines],
                "values": sorted(s.values),
                "grads": sorted(s.grads),
                "check": _check_ref(deriv, s.check),
                "table": None if s.table is None else _array(s.table),
            }
            for s in deriv.steps
        ],
        "values": deriv.values,
        "grads": deriv.grads,
        "trees": {k: None if v is None else _tree(v) for k, v in deriv.trees.items()},
        "local": [[a, b, _tree(v)] for (a, b), v in deriv.local_trees.items()],
        "checks": [_check(c) for c in deriv.checks],
        "matrix_checks": [_check(c) for c in deriv.matrix_checks],
        "problem": deriv.problem,
        "values_checks": [_check(c) for c in deriv.values_checks],
    }


def undump(lesson: Lesson, j: dict[str, Json]) -> Derivation:
    def listed(c: Json) -> Check:
        check = _uncheck(c)
        if check is None:  # each was dumped from a Check: the entry is corrupt (load() says so)
            raise ValueError("a derivation's check is missing")
        return check

    lists = {
        name: [listed(c) for c in j[name]] for name in ("checks", "matrix_checks", "values_checks")
    }

    def check(c: Json) -> Check | None:
        return lists[c["ref"]][c["i"]] if isinstance(c, dict) and "ref" in c else _uncheck(c)

    steps = [
        Step(
            i,
            s["phase"],
            s["node"],
            s["title"],
            tuple((label, _unline(v)) for label, v in s["lines"]),
            s["note"],
            frozenset(s["values"]),
            frozenset(s["grads"]),
            check(s["check"]),
            None if s["table"] is None else np.asarray(_unarray(s["table"])),
        )
        for i, s in enumerate(j["steps"])
    ]
    return Derivation(
        lesson.id,
        lesson.graph,
        steps,
        {k: float(v) for k, v in j["values"].items()},
        {k: float(v) for k, v in j["grads"].items()},
        {k: None if v is None else _untree(v) for k, v in j["trees"].items()},
        {(a, b): _untree(v) for a, b, v in j["local"]},
        lists["checks"],
        lists["matrix_checks"],
        str(j["problem"]),
        values_checks=lists["values_checks"],
    )


def load(lesson: Lesson) -> Derivation | None:
    path = directory() / f"{key(lesson)}.json"
    try:
        with open(path, encoding="utf-8") as f:
            return undump(lesson, json.load(f))
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a corrupt or stale entry is ignored, then rewritten
        from tutor.log import logged

        logged(exc, f"reading the cached derivation {path}")
        return None


def save(lesson: Lesson, deriv: Derivation) -> None:
    folder = directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(
                json.dumps(dump(deriv))
            )  # one shot: json's C encoder (json.dump is pure Python)
        os.replace(tmp, folder / f"{key(lesson)}.json")
    except OSError:
        pass  # a read-only or full cache: the derivation simply is not kept
