"""What a library answers for the same data: scikit-learn's fitted model, shown as a reference
value or line next to the learner's own training (never a live curve). It is fitted with the
lesson's own settings, never the learner's changes, so it stays put while they experiment; its
`settings` say exactly what the library ran, defaults included."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tutor.lesson import Train
from tutor.train.data import Data

MLP_SEED = 1  # scikit-learn's random_state: its initial weights and its shuffling


def fit_baseline(
    kind: str, data: Data, train: Train | None = None, seed: int = MLP_SEED
) -> dict[str, Any]:
    """A JSON-ready dict: name, model, settings, and the figures to compare with. `train`: the
    lesson's [train] (hidden size, epochs, batch size, learning rate of the MLP)."""
    if kind == "sklearn-linear":
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(data.x_train, data.y_train)
        out = {
            "name": kind,
            "model": "LinearRegression",
            "settings": "least squares, solved exactly",
            "coef": np.ravel(model.coef_).tolist(),
            "intercept": np.ravel(model.intercept_).tolist(),
            "loss": float(np.mean((model.predict(data.x_train) - data.y_train) ** 2)),
        }
        if data.x_val is not None:
            out["val_loss"] = float(np.mean((model.predict(data.x_val) - data.y_val) ** 2))
        return out
    if kind == "sklearn-logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(max_iter=2000).fit(
                data.x_train, data.y_train
            )  # multinomial for >2 classes
        return {
            "name": kind,
            "model": "LogisticRegression (multinomial)",
            "settings": "lbfgs to convergence (max 2000 iterations), L2 penalty C = 1",
            "loss": float(
                log_loss(data.y_train, model.predict_proba(data.x_train), labels=model.classes_)
            ),
            "val_loss": float(
                log_loss(data.y_val, model.predict_proba(data.x_val), labels=model.classes_)
            ),
            "accuracy": float(model.score(data.x_train, data.y_train)),
            "val_accuracy": float(model.score(data.x_val, data.y_val)),
        }
    if kind == "sklearn-mlp":
        from sklearn.metrics import log_loss
        from sklearn.neural_network import MLPClassifier

        hidden = (train.hidden if train else None) or 50
        epochs = train.epochs if train else 10
        batch = (train.batch_size if train else 0) or 64
        lr = train.lr if train else 0.01
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after 10 epochs is expected
            # momentum 0.9 with Nesterov and Glorot's initialisation are MLPClassifier's defaults,
            # written out so that the settings below are the ones it ran
            model = MLPClassifier(
                hidden_layer_sizes=(hidden,),
                solver="sgd",
                learning_rate_init=lr,
                momentum=0.9,
                nesterovs_momentum=True,
                batch_size=batch,
                max_iter=epochs,
                alpha=1e-4,
                tol=1e-4,
                random_state=seed,
            ).fit(data.x_train, data.y_train)
        return {
            "name": kind,
            "model": f"MLPClassifier(hidden={hidden}, sgd)",
            "settings": f"lr {lr:g}, momentum 0.9 (Nesterov; effective step {lr / 0.1:g}), batch {batch}, "
            f"{epochs} epochs, Glorot-uniform init, L2 alpha 1e-4, random_state {seed}",
            "loss": float(model.loss_curve_[-1]),
            "val_loss": float(
                log_loss(data.y_val, model.predict_proba(data.x_val), labels=model.classes_)
            ),
            "accuracy": float(model.score(data.x_train, data.y_train)),
            "val_accuracy": float(model.score(data.x_val, data.y_val)),
            "loss_curve": [float(v) for v in model.loss_curve_],
        }
    raise ValueError(f"unknown baseline {kind}")
