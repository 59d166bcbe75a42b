"""Columns that should not be features: identifiers, constants and single-column leaks of the label.

:func:`inspect_columns` looks at the feature columns of a Dataset (called by
:func:`abauto.data.dataset_from_frame`, so ``abauto search``, ``profile`` and the Python API see the
same result) and reports, as notes for the leaderboard and the terminal:

* **id-like** columns, dropped (as AutoGluon does): a distinct value in every row that is not a
  float: text (a file name, an MBID) or integers forming a near-sequence (a row number). Such a
  value never recurs in new rows, so a model can only learn the row order or memorise rows from it.
  Continuous float features are all distinct too and are never taken for ids.
* **constant** columns, dropped: one value (missing included) in every row carries no information.
* **leaks**, kept but named with their score: a column that alone predicts the class almost
  perfectly (:data:`LEAK_SCORE` balanced accuracy in :data:`LEAK_FOLDS`-fold cross-validation of a
  one-column rule: a per-value majority class for text, a tree with as many leaves as classes for
  numbers). That is usually the label joined in again, or something computed from it; if it is a
  real feature the search is easy and the note says so.

Columns the user named with ``--drop``, ``--id``, ``--groups`` or ``--target`` never reach here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

LEAK_SCORE = 0.98   # balanced accuracy of a one-column rule that makes the column a leak
LEAK_FOLDS = 3
LEAK_MAX_ROWS = 5_000  # rows (a seeded sample) the leak check looks at: it stays cheap on big tables
MIN_ROWS_IDS = 20   # fewer rows: all-distinct values are no evidence of an identifier
MIN_ROWS_LEAK = 30  # fewer rows: a perfect one-column rule is no evidence of a leak
NEAR_SEQUENCE = 2.0  # integers are a near-sequence when their range is at most this many times the row count


@dataclass
class Findings:
    """What :func:`inspect_columns` found; ``drop`` are the columns to leave out of the features."""

    ids: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)
    leaks: dict[str, float] = field(default_factory=dict)
    only: list[str] = field(default_factory=list)  # id-like or constant, but no other feature: kept

    @property
    def drop(self) -> list[str]:
        return [*self.ids, *self.constant]

    def notes(self) -> list[str]:
        notes = []
        if self.ids:
            notes.append(f"dropped id-like {_names(self.ids)} (a distinct value in every row, not a measurement: "
                         f"it cannot carry over to new rows); pass it as --id to keep it beside predictions, or as "
                         f"--groups if rows sharing it must stay together")
        if self.constant:
            notes.append(f"dropped constant {_names(self.constant)} (one value in every row)")
        if self.only:
            notes.append(f"every feature is id-like or constant ({_names(self.only)}): kept, but a model cannot "
                         f"learn much from them")
        for column, score in self.leaks.items():
            notes.append(f"possible label leak: column {column!r} alone predicts the class with balanced accuracy "
                         f"{score:.3f} ({LEAK_FOLDS}-fold CV of a one-column rule); if it is derived from the label, "
                         f"leave it out with --drop {column!r}")
        return notes


def _names(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:5])
    return f"column{'s' if len(columns) > 1 else ''} {shown}{f' and {len(columns) - 5} more' if len(columns) > 5 else ''}"


def is_constant(series: pd.Series) -> bool:
    """One value in every row (missing counts as a value: a column half empty is not constant)."""
    return series.nunique(dropna=False) <= 1


def is_id_like(series: pd.Series) -> bool:
    """A distinct, present value in every row that is text or an integer of a near-sequence
    (range at most :data:`NEAR_SEQUENCE` times the row count); floats never are."""
    n = len(series)
    if n < MIN_ROWS_IDS or series.isna().any() or series.nunique() < n:
        return False
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_float_dtype(series.dtype):
        return False
    if pd.api.types.is_integer_dtype(series.dtype):
        span = float(series.max()) - float(series.min()) + 1
        return span <= NEAR_SEQUENCE * n
    values = series.astype(str).str.strip()
    return not pd.to_numeric(values, errors="coerce").notna().all()  # numbers held as text are measurements


def _value_rule_predictions(codes: np.ndarray, y: np.ndarray, k: int, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-value majority class learned on ``train`` (``codes``: the values as integers, ``y``:
    classes ``0..k-1``); values not seen there get the training part's majority class."""
    counts = np.zeros((int(codes.max()) + 1, k))
    np.add.at(counts, (codes[train], y[train]), 1)
    rule = counts.argmax(axis=1)
    rule[counts.sum(axis=1) == 0] = np.bincount(y[train], minlength=k).argmax()
    return rule[codes[test]]


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Mean per-class recall of integer labels ``0..k-1`` (what scikit-learn computes, without its
    input checks, which cost more than the rule itself here)."""
    hits = np.bincount(y[pred == y], minlength=k)
    return float(np.mean(hits / np.bincount(y, minlength=k)))


def _label_runs(matrix: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per column of ``matrix``: the runs of equal labels along the rows sorted by value (ties by
    label, missing values last). A rule of ``k`` intervals that errs on ``m`` rows leaves at most
    ``k + 2m`` runs, so a count far above that rules the column out without fitting anything."""
    by_label = np.argsort(y, kind="stable")
    order = np.argsort(matrix[by_label], axis=0, kind="stable")  # stable: ties stay in label order
    labels = y[by_label][order]
    return 1 + np.count_nonzero(np.diff(labels, axis=0), axis=0)


def leak_scores(X: pd.DataFrame, y: np.ndarray, categorical: Sequence[str] = (), seed: int = 0) -> dict[str, float]:
    """Balanced accuracy of a one-column rule (see module doc) in :data:`LEAK_FOLDS`-fold stratified
    CV on at most :data:`LEAK_MAX_ROWS` rows, for every column that could reach
    :data:`LEAK_SCORE`: a numeric column is cross-validated only when its sorted values leave few
    enough label runs (:func:`_label_runs`) and its rule fits all the rows at least that well
    (a rule does worse on unseen rows), which keeps the check cheap on thousands of columns.
    Empty when the data is too small or a class has fewer than :data:`LEAK_FOLDS` members."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier

    classes, y, counts = np.unique(np.asarray(y).astype(str), return_inverse=True, return_counts=True)
    k = len(classes)
    if len(y) < MIN_ROWS_LEAK or k < 2 or counts.min() < LEAK_FOLDS:
        return {}
    rows = np.arange(len(y))
    if len(rows) > LEAK_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, LEAK_MAX_ROWS, replace=False))
        y = y[rows]
        counts = np.bincount(y, minlength=k)
        if counts.min() < LEAK_FOLDS:
            return {}
    folds = list(StratifiedKFold(LEAK_FOLDS, shuffle=True, random_state=seed).split(rows, y))
    # sum over classes of (errors / class size) <= k (1 - LEAK_SCORE): at most that many errors in the largest class
    max_runs = k + 2 * (1 - LEAK_SCORE) * k * counts.max()
    text = set(categorical)
    scores = {}
    for column in [c for c in X.columns if c in text]:
        codes = pd.factorize(X[column].to_numpy()[rows], use_na_sentinel=False)[0]  # missing: a value of its own
        pred = np.empty(len(y), dtype=int)
        for train, test in folds:
            pred[test] = _value_rule_predictions(codes, y, k, train, test)
        scores[column] = _balanced_accuracy(y, pred, k)
    numeric = X.loc[:, [c not in text for c in X.columns]]
    matrix = numeric.to_numpy(dtype=float)[rows]
    tree = DecisionTreeClassifier(max_leaf_nodes=max(2, k), random_state=seed)
    for j in np.flatnonzero(_label_runs(matrix, y) <= max_runs):
        values = matrix[:, [j]]
        if _balanced_accuracy(y, tree.fit(values, y).predict(values), k) < LEAK_SCORE:
            continue
        pred = np.empty(len(y), dtype=int)
        for train, test in folds:
            pred[test] = tree.fit(values[train], y[train]).predict(values[test])
        scores[numeric.columns[j]] = _balanced_accuracy(y, pred, k)
    return scores


def inspect_columns(X: pd.DataFrame, y: np.ndarray, categorical: Sequence[str] = ()) -> Findings:
    """Id-like and constant columns of ``X`` (to drop) and the remaining columns that leak the class."""
    found = Findings()
    text = set(categorical)
    floats = [c for c, dtype in X.dtypes.items() if c not in text and pd.api.types.is_float_dtype(dtype)]
    constant: set[str] = set()
    if floats:  # most columns: constant or not in one pass; floats are never ids
        matrix = X[floats].to_numpy(dtype=float)
        same = (matrix == matrix[0]) | (np.isnan(matrix) & np.isnan(matrix[0]))
        constant = {c for c, flat in zip(floats, same.all(axis=0)) if flat}
    floats = set(floats)
    for column in X.columns:
        if column in floats:
            if column in constant:
                found.constant.append(column)
        elif is_constant(X[column]):
            found.constant.append(column)
        elif is_id_like(X[column]):
            found.ids.append(column)
    if found.drop and len(found.drop) == X.shape[1]:  # nothing would be left: say so, let later checks speak
        return Findings(only=found.drop)
    rest = X.drop(columns=found.drop)
    found.leaks = {c: s for c, s in leak_scores(rest, y, [c for c in categorical if c in rest.columns]).items()
                   if s >= LEAK_SCORE}
    return found
