"""Ensemble selection over a study's trials (Caruana, Niculescu-Mizil, Crew & Ksikes 2004,
*Ensemble selection from libraries of models*, ICML), as auto-sklearn and AutoGluon do it.

Picking the single best of many noisy inner scores overfits on small data (the winner's curse).
Instead, each study keeps a **library**: the inner out-of-fold (OOF) class probabilities of its
best complete trials. The inner folds partition the study's training rows, so a trial's
validation-fold predictions form one matrix (rows x classes). :func:`select` then grows an
ensemble greedily *with replacement*: start from the best single model, and in each round add the
library model (possibly one already in) whose addition makes the averaged OOF probabilities
score best on the search's metric. After ``rounds`` rounds the ensemble of the round with the
best score is kept (the earliest such round, so ties keep the smaller ensemble: Caruana et al.,
section 2.3); each member's weight is how often it was picked.

Bounded memory (:class:`Library`): at most :data:`LIBRARY_SIZE` trials per study and at most
:data:`LIBRARY_BYTES` of float32 matrices (``rows x classes x 4`` bytes each), the worst-scoring
trial evicted first. With 800 rows and 10 classes that is 32 KB a trial, 1.6 MB a study.

Trials whose pipeline offers no ``predict_proba`` (``SVC`` without ``probability``, hard voting):
when it offers ``decision_function`` (SVC), the OOF decision values are turned into probabilities
by a multinomial logistic regression fitted *across the same inner folds* (each fold's rows are
calibrated by a model fitted on the other folds' OOF values, :func:`calibrate`), only for trials
that enter the library. Building the trial's SVC with ``probability=True`` instead
(``CalibratedClassifierCV(cv=3)``: 4 SVC fits instead of 1) would change the trial's own
predictions and inner score, and costs about as much: one thread, whole table, C=1, SVC fit /
calibrated fit / this regression over 5 folds' OOF values: breast_cancer 0.005 / 0.030 / 0.021 s,
gtzan_30s (1000 rows, 10 classes) 0.043 / 0.186 / 0.53 s. When the member is refit for the outer
test part or the final model it is built with ``probability=True`` (Platt-scaled, as its
probabilities are used there). Pipelines with neither method (hard voting) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, cross_val_predict

from abauto.scoring import FROM_CONFUSION, confusion

LIBRARY_SIZE = 50            # trials per study kept for selection (auto-sklearn's ensemble_nbest)
LIBRARY_BYTES = 256 * 2**20  # and at most this many bytes of OOF matrices per study
ROUNDS = 50                  # greedy rounds (auto-sklearn's ensemble_size)
FAMILY = "ensemble"          # the leaderboard family of the selected ensemble


@dataclass
class Choice:
    """The ensemble selected in a study: its members (dicts of ``trial``, ``weight``, ``family``,
    ``pipeline``, ``params``, ``inner_mean``; best-weighted first), its inner score, the greedy
    ``rounds`` and ``library`` size it came from, the ``seconds`` selection took, and whether it
    ``wins`` (beats the study's best single trial, so it is the study's pick)."""

    members: list[dict]
    inner_mean: float
    inner_std: float
    rounds: int
    library: int
    seconds: float
    wins: bool


def member_name(member: dict) -> str:
    """A member's name in the final ``VotingClassifier`` and the leaderboard: ``<family>_<trial>``."""
    return f"{member['family'].replace('__', '_')}_{member['trial']}"


def describe(members: Sequence[dict]) -> list[dict]:
    """The leaderboard ``pipeline`` of an ensemble: one classifier step, plugin ``ensemble``,
    whose params are the soft vote's weights by member name (the members' own pipelines are
    in the ``members`` field)."""
    weights = {member_name(m): m["weight"] for m in members}
    return [{"slot": "classifier", "plugin": FAMILY, "params": {"voting": "soft", "weights": weights}}]


def capacity(n_rows: int, n_classes: int) -> int:
    """How many trials a study's library keeps: :data:`LIBRARY_SIZE`, fewer on large data."""
    return max(1, min(LIBRARY_SIZE, LIBRARY_BYTES // max(1, n_rows * n_classes * 4)))


class Library:
    """OOF probability matrices of a study's best trials: ``number -> (value, matrix)``, at most
    ``size`` of them; offering one more evicts the worst (lowest value, then latest trial)."""

    def __init__(self, size: int):
        self.size = size
        self.items: dict[int, tuple[float, np.ndarray]] = {}

    def admits(self, number: int, value: float) -> bool:
        """Whether a trial would be kept (so its OOF matrix is worth assembling)."""
        if len(self.items) < self.size:
            return True
        return (value, -number) > min((v, -n) for n, (v, _) in self.items.items())

    def offer(self, number: int, value: float, proba: np.ndarray) -> None:
        self.items[number] = (value, proba.astype(np.float32))
        if len(self.items) > self.size:
            worst = min(self.items, key=lambda n: (self.items[n][0], -n))
            del self.items[worst]

    def get(self, number: int) -> np.ndarray | None:
        item = self.items.get(number)
        return None if item is None else item[1]


def response(pipe) -> str | None:
    """The method that gives a pipeline's class scores: ``predict_proba``, else
    ``decision_function`` (calibrated afterwards), else ``None`` (left out of the library)."""
    for method in ("predict_proba", "decision_function"):
        if hasattr(pipe, method):
            return method
    return None


def oof_part(pipe, X_valid, classes: np.ndarray) -> tuple[str, np.ndarray] | None:
    """A fitted pipeline's class scores on a validation fold, as rows x ``classes`` columns, and
    the method that gave them."""
    method = response(pipe)
    if method is None:
        return None
    scores = np.asarray(getattr(pipe, method)(X_valid), dtype=np.float64)
    if scores.ndim == 1:  # binary decision_function: the score of classes_[1]
        scores = np.column_stack([-scores, scores])
    out = np.zeros((scores.shape[0], len(classes)))
    out[:, np.searchsorted(classes, np.asarray(pipe.classes_))] = scores
    return method, out


def calibrate(decision: np.ndarray, y: np.ndarray, folds: Sequence[np.ndarray]) -> np.ndarray:
    """Probabilities from OOF decision values: a multinomial logistic regression on them, each
    inner fold predicted by the regression fitted on the other folds (``folds``: the validation
    positions of each inner fold). One fold (an inner holdout): each half of it predicted by the
    regression fitted on the other half. Rows in no fold stay zero."""
    test_fold = np.full(len(y), -1)
    for k, va in enumerate(folds):
        test_fold[va] = k
    if len(folds) == 1:
        test_fold[folds[0]] = np.arange(len(folds[0])) % 2
    rows = test_fold >= 0
    proba = cross_val_predict(LogisticRegression(max_iter=1000), decision[rows], y[rows],
                              cv=PredefinedSplit(test_fold[rows]), method="predict_proba")
    out = np.zeros((len(y), proba.shape[1]))
    out[rows] = proba
    return out


class FixedProba(ClassifierMixin, BaseEstimator):
    """A "classifier" whose ``predict_proba(X)`` returns the rows ``X[:, 0]`` of a fixed
    probability matrix: lets scikit-learn's scorers score averaged probabilities."""

    def __init__(self, classes: np.ndarray, proba: np.ndarray):
        self.classes = classes
        self.proba = proba

    @property
    def classes_(self) -> np.ndarray:
        return self.classes

    def predict_proba(self, X) -> np.ndarray:
        return self.proba[np.asarray(X, dtype=np.int64).ravel()]

    def predict(self, X) -> np.ndarray:
        return self.classes[np.argmax(self.predict_proba(X), axis=1)]


def fold_scorer(metric: str, y: np.ndarray, classes: np.ndarray,
                folds: Sequence[np.ndarray]) -> Callable[[np.ndarray], list[float]]:
    """``score(proba) -> [metric on each fold]`` for OOF probabilities of rows ``y``: the
    argmax's labels for label metrics (confusion-matrix fast path as in :mod:`abauto.scoring`),
    the probabilities for the others (through scikit-learn's scorer)."""
    codes = np.searchsorted(classes, y)
    if metric in FROM_CONFUSION:
        f = FROM_CONFUSION[metric]

        def score(proba: np.ndarray) -> list[float]:
            pred = np.argmax(proba, axis=1)
            return [f(confusion(codes[va], pred[va])) for va in folds]
        return score

    from sklearn.metrics import get_scorer

    scorer = get_scorer(metric)

    def score_sklearn(proba: np.ndarray) -> list[float]:
        est = FixedProba(classes, proba)
        return [float(scorer(est, va.reshape(-1, 1), y[va])) for va in folds]
    return score_sklearn


@dataclass
class Selection:
    """An ensemble picked by :func:`select`: library indices and their selection counts."""

    members: list[int]
    weights: list[int]
    score: float                     # the mean fold score of the kept round (inner estimate)
    fold_scores: list[float]
    trajectory: list[float] = field(default_factory=list)  # the score after each round

    @property
    def rounds(self) -> int:
        return int(sum(self.weights))


def select(library: Sequence[np.ndarray], score: Callable[[np.ndarray], list[float]],
           rounds: int = ROUNDS) -> Selection:
    """Greedy forward selection with replacement (Caruana et al. 2004) over OOF probability
    matrices ``library`` (best trial first; ties go to the earlier one). ``score(proba)`` gives
    the per-fold scores of a probability matrix, greater is better; the mean is maximised."""
    if not library:
        raise ValueError("ensemble selection needs at least one model")
    counts = np.zeros(len(library), dtype=int)
    total = np.zeros(library[0].shape, dtype=np.float64)
    best: tuple[float, np.ndarray, list[float]] | None = None
    trajectory: list[float] = []
    for r in range(rounds):
        scored = [score((total + m) / (r + 1)) for m in library]
        means = [float(np.mean(s)) for s in scored]
        j = int(np.argmax(means))  # the first of equals: the better-ranked trial
        counts[j] += 1
        total += library[j]
        trajectory.append(means[j])
        if best is None or means[j] > best[0]:
            best = (means[j], counts.copy(), scored[j])
    value, kept, folds = best
    members = [int(i) for i in np.flatnonzero(kept)]
    return Selection(members, [int(kept[i]) for i in members], value, [float(s) for s in folds], trajectory)
