"""Scores of a fitted pipeline on held-out rows.

Every trial records the searched metric plus balanced accuracy, accuracy and macro F1 on each
inner fold. Those three come from one prediction and one confusion matrix: the values
scikit-learn's scorers give, without their per-call input validation, which cost more than
predicting with a small model. Any other scikit-learn scorer name goes through scikit-learn.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.metrics import check_scoring

from abauto.errors import SettingsError

REPORTED = ("balanced_accuracy", "accuracy", "f1_macro")
LABEL_METRICS = {"accuracy", "balanced_accuracy", "matthews_corrcoef"} | {
    f"{m}_{a}" for m in ("f1", "precision", "recall", "jaccard") for a in ("macro", "micro", "weighted")}


def confusion(y_true, y_pred) -> np.ndarray:
    """Counts of (true, predicted) over the labels either side holds, in sorted order."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    n = int(codes.max()) + 1 if len(codes) else 0
    pairs = codes[:len(y_true)] * n + codes[len(y_true):]
    return np.bincount(pairs, minlength=n * n).reshape(n, n)


def _balanced_accuracy(c: np.ndarray) -> float:
    support = c.sum(axis=1)
    seen = support > 0  # a label only predicted has no recall (scikit-learn drops it too)
    return float(np.mean(np.diag(c)[seen] / support[seen]))


def _f1_macro(c: np.ndarray) -> float:
    tp = np.diag(c)
    return float(np.mean(2 * tp / (c.sum(axis=0) + c.sum(axis=1))))


FROM_CONFUSION: dict[str, Callable[[np.ndarray], float]] = {
    "balanced_accuracy": _balanced_accuracy,
    "accuracy": lambda c: float(np.trace(c) / c.sum()),
    "f1_macro": _f1_macro,
}


class Scorer:
    """``scorer(estimator, X, y)`` -> {metric: score} for ``metric`` and the REPORTED ones."""

    def __init__(self, metric: str):
        self.names = list(dict.fromkeys([metric, *REPORTED]))
        self.probability = metric not in LABEL_METRICS  # the search needs predict_proba
        others = [m for m in self.names if m not in FROM_CONFUSION]
        try:
            self.others = check_scoring(None, scoring=others) if others else None
        except ValueError:
            raise SettingsError(f"--metric {metric!r} is not a scikit-learn scorer name") from None

    def __call__(self, estimator, X, y, y_pred=None) -> dict[str, float]:
        """``y_pred``: the estimator's predictions for ``X`` when already made."""
        c = confusion(y, estimator.predict(X) if y_pred is None else y_pred)
        scores: dict[str, Any] = {m: f(c) for m, f in FROM_CONFUSION.items()}
        if self.others is not None:
            scores.update(self.others(estimator, X, y))
        return {m: float(scores[m]) for m in self.names}
