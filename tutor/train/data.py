"""Datasets, all offline by default: inline points, the synthetic recipes of the regression
lessons (numpy's legacy seeded generator, bit for bit), iris and digits as bundled with
scikit-learn, and MNIST through fetch_openml only when a lesson asks for it.

scikit-learn is imported only by the loaders that need it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tutor.train.arrays import Data, DataError

__all__ = ["Data", "DataError"]


def synthetic_linear(
    n: int,
    features: int,
    x_dist: str,
    w: list[float],
    b: float,
    noise: float,
    seed: int,
    train: int,
) -> Data:
    """y = x·w + b + noise·ε, drawn from one legacy RandomState(seed), then shuffled by the
    same generator; the first `train` shuffled samples train, the rest validate."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n, features) if x_dist == "uniform" else rng.randn(n, features)
    y = x @ np.asarray(w, dtype=np.float64) + b + noise * rng.randn(n)
    idx = np.arange(n)
    rng.shuffle(idx)
    tr, va = idx[:train], idx[train:]
    y = y.reshape(-1, 1)
    return Data(x[tr], y[tr], x[va], y[va], name="synthetic-linear")


def iris(seed: int) -> Data:
    """Versicolor and virginica (setosa removed): sepal length and width predict petal length and
    width, both standardised over the 100 flowers; a 50/50 split stratified on species."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    bunch = load_iris()
    keep = bunch.target != 0
    x = bunch.data[keep][:, :2].astype(np.float64)
    y = bunch.data[keep][:, 2:].astype(np.float64)
    species = bunch.target[keep]
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    xt, xv, yt, yv = train_test_split(x, y, train_size=0.5, stratify=species, random_state=seed)
    return Data(xt, yt, xv, yv, name="iris")


def _standardise(xt: np.ndarray, xv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = xt.mean(0), xt.std(0)
    std[std == 0] = 1.0  # digits has pixels that are always blank
    return (xt - mean) / std, (xv - mean) / std


def digits(seed: int, test_fraction: float) -> Data:
    """scikit-learn's bundled 8×8 digits (1,797 images, no network), standardised."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    xt, xv, yt, yv = train_test_split(
        bunch.data.astype(np.float64),
        bunch.target.astype(np.int64),
        test_size=test_fraction,
        stratify=bunch.target,
        random_state=seed,
    )
    xt, xv = _standardise(xt, xv)
    return Data(xt, yt, xv, yv, classes=10, name="digits")


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("backprop-tutor"))


def mnist(seed: int, train_size: int, test_size: int) -> Data:
    """MNIST from OpenML, fetched once and cached in the user's cache directory."""
    from sklearn.datasets import fetch_openml
    from sklearn.model_selection import train_test_split

    try:
        x, y = fetch_openml(
            "mnist_784",
            version=1,
            return_X_y=True,
            as_frame=False,
            data_home=str(cache_dir() / "openml"),
        )
    except Exception as exc:  # noqa: BLE001 - network, HTTP and parse errors all mean the same here
        from tutor.log import logged

        raise DataError(
            f"MNIST could not be fetched ({logged(exc, 'fetching MNIST')}). It needs a network connection "
            f"the first time, then it is cached in {cache_dir()}. Without a network, use the bundled "
            "digits: run the lesson without the 'mnist' variant."
        ) from None
    xt, xv, yt, yv = train_test_split(
        x.astype(np.float64),
        y.astype(np.int64),
        train_size=train_size,
        test_size=test_size,
        random_state=seed,
    )
    xt, xv = _standardise(xt, xv)
    return Data(xt, yt, xv, yv, classes=10, name="mnist")
