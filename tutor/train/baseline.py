"""What a library answers for the same data: scikit-learn's fitted model, shown as a reference
value or line next to the learner's own training (never a live curve)."""

from __future__ import annotations

import warnings

import numpy as np

from tutor.data import Data


def fit_baseline(kind: str, data: Data, hidden: int | None = None, epochs: int = 10, seed: int = 1) -> dict:
    """A JSON-ready dict: name, model, and the figures to compare with."""
    if kind == "sklearn-linear":
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(data.x_train, data.y_train)
        out = {"name": kind, "model": "LinearRegression",
               "coef": np.ravel(model.coef_).tolist(), "intercept": np.ravel(model.intercept_).tolist(),
               "loss": float(np.mean((model.predict(data.x_train) - data.y_train) ** 2))}
        if data.x_val is not None:
            out["val_loss"] = float(np.mean((model.predict(data.x_val) - data.y_val) ** 2))
        return out
    if kind == "sklearn-logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(max_iter=2000).fit(data.x_train, data.y_train)   # multinomial for >2 classes
        return {"name": kind, "model": "LogisticRegression (multinomial)",
                "loss": float(log_loss(data.y_train, model.predict_proba(data.x_train), labels=model.classes_)),
                "val_loss": float(log_loss(data.y_val, model.predict_proba(data.x_val), labels=model.classes_)),
                "accuracy": float(model.score(data.x_train, data.y_train)),
                "val_accuracy": float(model.score(data.x_val, data.y_val))}
    if kind == "sklearn-mlp":
        from sklearn.metrics import log_loss
        from sklearn.neural_network import MLPClassifier

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # ConvergenceWarning after 10 epochs is expected
            model = MLPClassifier(hidden_layer_sizes=(hidden or 50,), solver="sgd", learning_rate_init=0.01,
                                  batch_size=64, max_iter=epochs, alpha=1e-4, tol=1e-4,
                                  random_state=seed).fit(data.x_train, data.y_train)
        return {"name": kind, "model": f"MLPClassifier(hidden={hidden or 50}, sgd, lr 0.01, batch 64)",
                "loss": float(model.loss_curve_[-1]),
                "val_loss": float(log_loss(data.y_val, model.predict_proba(data.x_val), labels=model.classes_)),
                "accuracy": float(model.score(data.x_train, data.y_train)),
                "val_accuracy": float(model.score(data.x_val, data.y_val)),
                "loss_curve": [float(v) for v in model.loss_curve_]}
    raise ValueError(f"unknown baseline {kind}")
