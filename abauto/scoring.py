"""Scores of a fitted pipeline on held-out rows.

Every trial records the searched metric plus balanced accuracy, accuracy and macro F1 on each
inner fold. Those three come from one prediction and one confusion matrix: the values
scikit-learn's scorers give, without their per-call input validation, which cost more than
predicting with a small model. Any other scikit-learn scorer name goes through scikit-learn.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.metrics import check_scoring, get_scorer_names

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

    def check_task(self, classes: Sequence) -> None:
        """Refuse a metric that cannot score this task before any work (``--metric roc_auc`` on three
        classes would fail every trial): :func:`task_problem` of each metric, naming the metrics
        that can and the one to use instead. ``classes``: the class labels as the search sees them."""
        for name in self.names:
            problem = task_problem(name, classes)
            if problem:
                valid = [m for m in get_scorer_names() if task_problem(m, classes) is None]
                instead = next((m for m in (f"{name}_ovr", f"{name}_macro") if m in valid), "balanced_accuracy")
                raise SettingsError(f"--metric {name!r} cannot score {_task(classes)} ({problem}); use {instead!r} "
                                    f"or another of: {', '.join(valid)}")

    def __call__(self, estimator, X, y, y_pred=None) -> dict[str, float]:
        """``y_pred``: the estimator's predictions for ``X`` when already made."""
        c = confusion(y, estimator.predict(X) if y_pred is None else y_pred)
        scores: dict[str, Any] = {m: f(c) for m, f in FROM_CONFUSION.items()}
        if self.others is not None:
            scores.update(self.others(estimator, X, y))
        return {m: float(scores[m]) for m in self.names}


def _task(classes: Sequence) -> str:
    return f"{'binary' if len(classes) == 2 else 'multiclass'} data with {len(classes)} classes"


def task_problem(metric: str, classes: Sequence) -> str | None:
    """Why the scikit-learn scorer ``metric`` fails on labels ``classes`` (None when it scores them).

    Tried, not looked up: the scorer is called on a prior-predicting dummy classifier fitted on
    every class twice. That catches binary-only scorers (``roc_auc``, ``f1``, ``precision``,
    ``average_precision``, ``neg_brier_score``, ...) on multiclass labels, a default
    ``pos_label=1`` among text labels, and regression scorers."""
    classes = np.asarray(list(classes))
    y = np.concatenate([classes, classes])
    X = np.zeros((len(y), 1))
    try:
        scorer = check_scoring(None, scoring=metric)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scorer(DummyClassifier(strategy="prior").fit(X, y), X, y)
    except Exception as exc:  # noqa: BLE001 - any failure means the metric cannot score this task
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text.split(". ")[0].rstrip(".")[:120]
    return None
