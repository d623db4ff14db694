"""The playground's 2-D datasets: TensorFlow Playground's recipes (circle, xor, two gaussians,
spiral; plane and multi-gaussian for regression), scikit-learn's moons, and CSV files.

Every generated set comes from one `numpy.random.RandomState(seed)`, so the same seed, noise and
ratio give the same points on any machine; nothing reaches the network. A CSV file is read with
hard limits and any problem is a `DataError` whose text is `FILE:LINE: message`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.fmt import printable
from tutor.lesson import CLASSIFY, MAX_CSV_BYTES, MAX_CSV_ROWS, SAMPLES, Dataset, files
from tutor.lesson import PLAYGROUND as DATASETS
from tutor.train.arrays import DataError

DOMAIN = 6.0  # generated points lie (mostly) within [-DOMAIN, DOMAIN]²
MAX_NOISE = 0.5  # the noise knob as a fraction: 0 .. 50 %


@dataclass(frozen=True)
class Points:
    """A 2-D dataset split in two: labels 0/1 (classification) or targets (regression)."""

    x_train: np.ndarray  # n × 2, float64
    y_train: np.ndarray  # n, float64: 0/1 or a target
    x_test: np.ndarray
    y_test: np.ndarray
    classify: bool
    name: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]


def generate(
    name: str, noise: float = 0.0, train_ratio: float = 0.5, seed: int = 0, n: int = SAMPLES
) -> Points:
    """One of DATASETS, `noise` in 0..0.5, `train_ratio` of the points for training."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}' (known: {', '.join(DATASETS)})")
    if not 0 <= noise <= MAX_NOISE:
        raise DataError(f"noise must be within 0..{MAX_NOISE:g} (0 to 50%)")
    if not 0.1 <= train_ratio <= 0.9:
        raise DataError("the train ratio must be within 0.1..0.9")
    rng = np.random.RandomState(seed)
    x, y = _RECIPES[name](rng, n, noise)
    # shuffled two by two: a recipe that lists mirror images side by side (xor) keeps both of each
    # pair on the same side of the split, so each side stays as symmetric as the recipe made it
    pairs = rng.permutation(len(y) // 2)
    order = np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel()
    x, y = x[order], y[order]
    return split(x, y, name in CLASSIFY, name, train_ratio, (-DOMAIN, DOMAIN), (-DOMAIN, DOMAIN))


def split(
    x: np.ndarray,
    y: np.ndarray,
    classify: bool,
    name: str,
    train_ratio: float,
    xr: tuple[float, float] | None = None,
    yr: tuple[float, float] | None = None,
) -> Points:
    cut = max(1, min(len(y) - 1, 2 * int(round(len(y) * train_ratio / 2))))
    if xr is None or yr is None:  # the ranges come together or not at all
        xr, yr = _span(x[:, 0]), _span(x[:, 1])
    return Points(x[:cut], y[:cut], x[cut:], y[cut:], classify, name, xr, yr)


def _span(v: np.ndarray) -> tuple[float, float]:
    lo, hi = float(v.min()), float(v.max())
    pad = 0.1 * (hi - lo) or 1.0
    return lo - pad, hi + pad


def _circle(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    r = 5.0
    pts, labels = [], []
    for inside in (True, False):
        for _ in range(n // 2):
            radius = rng.uniform(0, r * 0.5) if inside else rng.uniform(r * 0.7, r)
            angle = rng.uniform(0, 2 * math.pi)
            px, py = radius * math.sin(angle), radius * math.cos(angle)
            nx, ny = rng.uniform(-r, r) * noise, rng.uniform(-r, r) * noise
            pts.append((px, py))
            labels.append(1.0 if math.hypot(px + nx, py + ny) < r * 0.5 else 0.0)
    return np.array(pts), np.array(labels)


def _xor(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Each point next to its mirror image through the origin (the same label): a straight line
    can then do no better than guessing, which is the point of this dataset."""
    x = rng.uniform(-5, 5, size=(n // 2, 2))
    x += np.where(x > 0, 0.3, -0.3)  # keep points off the axes
    noisy = x + rng.uniform(-5, 5, size=(n // 2, 2)) * noise
    x, noisy = (
        np.stack([x, -x], axis=1).reshape(-1, 2),
        np.stack([noisy, -noisy], axis=1).reshape(-1, 2),
    )
    return x, (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.float64)


def _gauss(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4.0 - 0.5) * (noise / MAX_NOISE)  # TF: lerp(0.5, 4, noise)
    a = rng.normal(2, math.sqrt(variance), size=(n // 2, 2))
    b = rng.normal(-2, math.sqrt(variance), size=(n - n // 2, 2))
    return np.vstack([a, b]), np.r_[np.ones(len(a)), np.zeros(len(b))]


def _spiral(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    pts, labels = [], []
    half = n // 2
    for delta, label in ((0.0, 1.0), (math.pi, 0.0)):
        for i in range(half):
            r = i / half * 5
            t = 1.75 * i / half * 2 * math.pi + delta
            pts.append(
                (
                    r * math.sin(t) + rng.uniform(-1, 1) * noise,
                    r * math.cos(t) + rng.uniform(-1, 1) * noise,
                )
            )
            labels.append(label)
    return np.array(pts), np.array(labels)


def _moons(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=rng.randint(0, 2**31 - 1))
    x = (x - np.array([0.5, 0.25])) * 3.0  # centred, on the playground's scale
    return x, y.astype(np.float64)


def _plane(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-DOMAIN, DOMAIN, size=(n, 2))
    noisy = x + rng.uniform(-DOMAIN, DOMAIN, size=(n, 2)) * noise
    return x, (noisy[:, 0] + noisy[:, 1]) / (2 * DOMAIN)  # a target in [-1, 1]


_CENTRES = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def _multi_gauss(rng: np.random.RandomState, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-DOMAIN, DOMAIN, size=(n, 2))
    noisy = x + rng.uniform(-DOMAIN, DOMAIN, size=(n, 2)) * noise
    y = np.zeros(n)
    for cx, cy, sign in _CENTRES:  # the nearest centre's bump wins
        bump = sign * np.exp(-((noisy[:, 0] - cx) ** 2 + (noisy[:, 1] - cy) ** 2) / 2)
        y = np.where(np.abs(bump) > np.abs(y), bump, y)
    return x, y


_RECIPES = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "multi-gauss": _multi_gauss,
}


def points(spec: Dataset, base: Path | None) -> Points:
    """A lesson's [train.dataset] of a playground kind or "csv" (tutor/lesson checked it)."""
    o = spec.options
    if spec.kind == "csv":
        if base is None:
            raise DataError(
                "a CSV dataset is read from the lesson's folder, and this lesson has none"
            )
        try:
            file = files.inside(
                base, o["path"]
            )  # --check looked, but the folder may have changed since
        except files.Unreadable as exc:
            raise DataError(f"{o['path']}:1: {exc}") from None
        pts = read_csv(file, o["ratio"] / 100, o["seed"], display=o["path"])
    else:
        pts = generate(spec.kind, o["noise"] / 100, o["ratio"] / 100, o["seed"])
    return pts


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(
    path: str | Path, train_ratio: float = 0.5, seed: int = 0, display: str | None = None
) -> Points:
    """Two feature columns and a label or target, comma-separated, an optional header row.
    Labels that are all 0/1 (or −1/1) make a classification set; anything else is a regression
    target. Rows are shuffled with `seed`, then split at `train_ratio`."""
    path = Path(path)
    where = printable(display or str(path))  # a name, like a cell, may carry terminal escapes
    try:
        raw = files.read_regular(path, MAX_CSV_BYTES, hint=" (a CSV file of points)")
    except files.Unreadable as exc:
        raise DataError(f"{where}:1: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where}:{at}: not UTF-8 text") from None
    rows: list[tuple[float, ...]] = []  # (x1, x2, label): three columns, checked below
    header_seen = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 3:
            raise DataError(
                f"{where}:{number}: expected 3 columns (x1, x2, label), found {len(cells)}"
            )
        try:
            values = tuple(float(c) for c in cells)
        except ValueError:
            if not rows and not header_seen:
                header_seen = True  # the header row
                continue
            bad = next(c for c in cells if not _is_number(c))
            raise DataError(f"{where}:{number}: '{printable(bad)[:40]}' is not a number") from None
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"{where}:{number}: numbers must be finite")
        if any(abs(v) > 1e6 for v in values):
            raise DataError(f"{where}:{number}: a value beyond ±1e6")
        rows.append(values)
        if len(rows) > MAX_CSV_ROWS:
            raise DataError(f"{where}:{number}: more than {MAX_CSV_ROWS:,} rows")
    if len(rows) < 4:
        raise DataError(f"{where}:1: needs at least 4 data rows, found {len(rows)}")
    a = np.array(rows)
    x, y = a[:, :2], a[:, 2]
    labels = set(np.unique(y).tolist())
    classify = labels <= {0.0, 1.0} or labels <= {-1.0, 1.0}
    if classify:
        y = (y > 0).astype(np.float64)
    order = np.random.RandomState(seed).permutation(len(y))
    return split(
        x[order], y[order], classify, printable(path.name), train_ratio
    )  # the name is shown


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
