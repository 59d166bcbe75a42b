"""Fold planning: the outer splits of a search (one study each, plus the final study on all
rows), their fingerprint, the inner CV splits of a study, and the feature matrix they index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Sequence

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
    model: Any = None  # the picked single family's refit on the outer training part (label codes)


def outer_splits(dataset: Dataset, settings: SearchSettings) -> tuple[list[FoldJob], list[str]]:
    """The studies of a search and notes about its folds. K-fold: one study per outer fold, then
    the final study on all rows that selects the saved model. Holdout (grouped under ``--groups``,
    like the k folds): one study, whose selected pipeline, refitted on the outer training part, is
    scored on the holdout and saved as is (a second study and an all-row fit would cost twice as
    much for 25 % more rows: what matters on a large table)."""
    kind, value = settings.outer_spec()
    notes = []
    y = dataset.y
    if kind == "holdout" and dataset.groups is not None:
        splits, note = _grouped_holdout(dataset, value, settings.seed)
        notes.append(note)
    elif kind == "holdout":
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
    if kind == "kfold":  # a holdout's one study also selects the final model (refit on all rows)
        jobs.append(FoldJob(f"{settings.study_name}.final", None, np.arange(len(y)), None))
    return jobs, notes


def _grouped_holdout(dataset: Dataset, share: float, seed: int) -> tuple[list, str]:
    """A holdout that keeps every group (``--groups``) on one side: the first fold of a stratified
    group k-fold with k = 1/share, so the test part holds about ``share`` of the rows."""
    k = max(2, round(1 / share))
    n_groups = len(np.unique(dataset.groups))
    if n_groups < k:
        raise DataError(f"{dataset.source}: {n_groups} groups cannot give a grouped holdout of {share:g} "
                        f"(it needs at least {k}); lower the holdout share or drop --groups")
    cv = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    train, test = next(cv.split(np.zeros(len(dataset.y)), dataset.y, dataset.groups))
    return [(train, test)], (f"grouped holdout: the test part is one of {k} stratified group folds, "
                             f"{len(test)} of {len(dataset.y)} rows ({len(test) / len(dataset.y):.0%}), no group on both sides")


def folds_fingerprint(jobs: Sequence[FoldJob], y: np.ndarray) -> str:
    """SHA-256 of the outer test parts and their labels: two leaderboards pair fold by fold
    (``abauto leaderboard diff``) only when this matches."""
    h = hashlib.sha256()
    for j in jobs:
        if j.test is not None:
            h.update(np.asarray(j.test, dtype=np.int64).tobytes())
            h.update("\x1f".join(map(str, y[j.test])).encode())
    return h.hexdigest()


def features(dataset: Dataset, settings: SearchSettings | None = None):
    """The feature matrix in the form pipelines take: float array, or a frame with categoricals.
    A large table (:func:`inner_holdout` under ``settings``) is held as float32, half the memory
    (as LightGBM and AutoGluon hold it), unless a value would not fit in float32."""
    if dataset.categorical:
        return dataset.X
    X = dataset.X.to_numpy(dtype=np.float64)
    if settings is not None and inner_holdout(len(X), settings) and np.nanmax(np.abs(X), initial=0.0) < 1e38:
        return X.astype(np.float32)
    return X


def take(X, idx):
    """Rows ``idx`` of a feature matrix (array or frame)."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


RUNG_FACTOR = 4         # each rung of a trial on an inner holdout trains on 4x the rows of the one before
MIN_RUNG_ROWS = 5_000   # the smallest rung


def inner_holdout(n_rows: int, settings: SearchSettings) -> bool:
    """Whether a search on ``n_rows`` rows validates inside each study on one stratified holdout
    (one of the ``inner_folds`` folds) instead of inner k-fold CV: from
    ``settings.inner_holdout_rows`` rows on, as AutoGluon and FLAML switch on large tables.
    Decided once per search, from all rows, so every study validates alike."""
    return n_rows >= settings.inner_holdout_rows


def inner_rows(job: FoldJob, settings: SearchSettings) -> int:
    """Rows an inner training part of ``job`` holds (at most one fold fewer)."""
    n = len(job.train)
    return n - -(-n // settings.inner_folds)


def inner_splits(train: np.ndarray, y: np.ndarray, settings: SearchSettings,
                 groups: np.ndarray | None = None, holdout: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """The inner CV folds of a study tuned on rows ``train``, as positions into ``train``:
    stratified, and grouped like the outer folds when ``groups`` is given (excerpts of one
    track never straddle an inner split either). ``holdout``: only the first fold (a stratified
    holdout of ``1/inner_folds`` of the rows, see :func:`inner_holdout`)."""
    folds = min(settings.inner_folds, min(np.unique(y[train], return_counts=True)[1]))
    if groups is not None:
        folds = min(folds, len(np.unique(groups[train])))
    if folds < 2:
        raise DataError("a class (or the groups) has fewer than 2 members in an outer training part; "
                        "lower --outer folds")
    if groups is not None:
        cv = StratifiedGroupKFold(folds, shuffle=True, random_state=settings.seed)
        splits = cv.split(train, y[train], groups[train])
    else:
        cv = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
        splits = cv.split(train, y[train])
    return [next(splits)] if holdout else list(splits)


def rungs(fit_rows: np.ndarray, y: np.ndarray, seed: int, cap: int | None = None) -> list[np.ndarray]:
    """The training rows of each rung of a trial on an inner holdout, smallest first: stratified
    samples of ``fit_rows`` of 1/RUNG_FACTOR**k of them (at least ``MIN_RUNG_ROWS``), then all of
    them. ``cap``: the pipeline fits on at most that many rows anyway (a costly family, see
    :class:`abauto.space.RowCap`), so no rung above it but the last. A trial climbs the rungs
    while the pruner and the time budget let it (successive halving on rows, as Hyperband's
    resource)."""
    n = len(fit_rows)
    sizes, size = [], n // RUNG_FACTOR
    while size >= MIN_RUNG_ROWS:
        if cap is None or size < cap:
            sizes.append(size)
        size //= RUNG_FACTOR
    return [*(stratified_sample(fit_rows, y, size, seed) for size in sorted(sizes)), fit_rows]


def stratified_sample(rows: np.ndarray, y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` of ``rows`` (all of them if fewer), sorted, with the class shares of ``y[rows]``."""
    if len(rows) <= size:
        return rows
    try:
        part, _ = train_test_split(rows, train_size=size, stratify=y[rows], random_state=seed)
    except ValueError:  # a class too rare to stratify
        part, _ = train_test_split(rows, train_size=size, random_state=seed)
    return np.sort(part)
