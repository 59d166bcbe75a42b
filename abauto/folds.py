"""Fold planning: the outer splits of a search (one study each, plus the final study on all
rows), their fingerprint, the inner CV splits of a study, and the feature matrix they index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from abauto.data import Dataset, check_folds
from abauto.ensemble import Choice
from abauto.errors import DataError
from abauto.settings import SearchSettings


@dataclass
class FoldJob:
    """One study: tune on ``train``; if ``test`` is given, score each family's best on it."""

    name: str
    index: int | None
    train: np.ndarray
    test: np.ndarray | None

    @property
    def offset(self) -> int:
        """Added to the search's seed for this study's sampler: each study samples its own way,
        the same way on every run."""
        return 1000 if self.index is None else self.index


@dataclass
class FamilyResult:
    """A family's best trial in a study, refit on the outer training part and scored on its test
    part: ``scores`` (metric -> score) and the seconds, or the ``error`` the refit raised. The
    ensemble's row also has its ``members`` and counts the members it had to refit (``fits``)."""

    trial: int
    params: dict
    pipeline: list[dict]
    inner_mean: float
    inner_std: float
    scores: dict[str, float] | None = None
    error: str | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    fits: int = 1
    members: list[dict] | None = None


@dataclass
class FoldOutcome:
    """What one study (:class:`FoldJob`) gives the leaderboard: each family's
    :class:`FamilyResult` (none for the final study, which has no test part), the family the
    study picks (``best_family``, ``"ensemble"`` when the selected ensemble wins), that
    ensemble, and the picked pipeline's predictions on the ``test`` rows (the user's labels)."""

    name: str
    fold: int | None
    families: dict[str, FamilyResult] = field(default_factory=dict)
    best_family: str | None = None
    ensemble: Choice | None = None
    y_pred: list | None = None
    test: list[int] | None = None


def outer_splits(dataset: Dataset, settings: SearchSettings) -> tuple[list[FoldJob], list[str]]:
    kind, value = settings.outer_spec()
    notes = []
    y = dataset.y
    if kind == "holdout":
        idx = np.arange(len(y))
        train, test = train_test_split(idx, test_size=value, stratify=y, random_state=settings.seed)
        splits = [(np.sort(train), np.sort(test))]
    else:
        folds, note = check_folds(dataset, int(value), "outer CV")
        if note:
            notes.append(note)
        if dataset.groups is not None:
            cv = StratifiedGroupKFold(folds, shuffle=True, random_state=settings.seed)
            splits = list(cv.split(np.zeros(len(y)), y, dataset.groups))
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
            splits = list(cv.split(np.zeros(len(y)), y))
    jobs = [FoldJob(f"{settings.study_name}.outer{k}", k, tr, te) for k, (tr, te) in enumerate(splits)]
    jobs.append(FoldJob(f"{settings.study_name}.final", None, np.arange(len(y)), None))
    return jobs, notes


def folds_fingerprint(jobs: Sequence[FoldJob], y: np.ndarray) -> str:
    """SHA-256 of the outer test parts and their labels: two leaderboards pair fold by fold
    (``abauto leaderboard diff``) only when this matches."""
    h = hashlib.sha256()
    for j in jobs:
        if j.test is not None:
            h.update(np.asarray(j.test, dtype=np.int64).tobytes())
            h.update("\x1f".join(map(str, y[j.test])).encode())
    return h.hexdigest()


def features(dataset: Dataset):
    """The feature matrix in the form pipelines take: float array, or a frame with categoricals."""
    if dataset.categorical:
        return dataset.X
    return dataset.X.to_numpy(dtype=np.float64)


def take(X, idx):
    """Rows ``idx`` of a feature matrix (array or frame)."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def inner_rows(job: FoldJob, settings: SearchSettings) -> int:
    """Rows an inner training part of ``job`` holds (at most one fold fewer)."""
    n = len(job.train)
    return n - -(-n // settings.inner_folds)


def inner_splits(train: np.ndarray, y: np.ndarray, settings: SearchSettings,
                 groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner CV folds of a study tuned on rows ``train``, as positions into ``train``:
    stratified, and grouped like the outer folds when ``groups`` is given (excerpts of one
    track never straddle an inner split either)."""
    folds = min(settings.inner_folds, min(np.unique(y[train], return_counts=True)[1]))
    if groups is not None:
        folds = min(folds, len(np.unique(groups[train])))
    if folds < 2:
        raise DataError("a class (or the groups) has fewer than 2 members in an outer training part; "
                        "lower --outer folds")
    if groups is not None:
        cv = StratifiedGroupKFold(folds, shuffle=True, random_state=settings.seed)
        return list(cv.split(train, y[train], groups[train]))
    cv = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
    return list(cv.split(train, y[train]))
