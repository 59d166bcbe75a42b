"""abauto as a scikit-learn classifier: :class:`AbautoClassifier`.

``fit(X, y)`` runs abauto's nested cross-validated search (:func:`abauto.search_engine.search`)
on a :class:`~abauto.data.Dataset` built from ``X`` and ``y`` by
:func:`abauto.data.dataset_from_frame` (the same checks and notes as ``abauto search``: id-like
and constant columns dropped, text columns categorical), then predicts with the final pipeline.
It follows scikit-learn's conventions (``__init__`` only stores its parameters, ``clone``,
``get_params``/``set_params``, ``classes_`` holding the user's labels), so it works in
``cross_val_score``, ``GridSearchCV`` and a ``Pipeline``, as auto-sklearn's, FLAML's and TPOT's
estimators do::

    from abauto import AbautoClassifier
    clf = AbautoClassifier(trials=20, outer="kfold:3").fit(X_train, y_train)
    clf.predict(X_test); clf.leaderboard_["best"]["outer_mean"]

A search is expensive: each ``fit`` runs one (``trials`` per study, over the outer folds and the
final study). With ``run_dir=None`` it runs in a temporary folder that is removed afterwards;
give a folder to keep the run (``leaderboard.json``, ``best_pipeline.skops``, ...).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from abauto.errors import ModelError

__all__ = ["AbautoClassifier"]


class AbautoClassifier(ClassifierMixin, BaseEstimator):
    """A nested cross-validated abauto search as a scikit-learn classifier.

    trials: trials per study (each outer fold, and the final study on all rows).
    time_budget: seconds for the whole search (studies, refits, final fit), as ``--time-budget``;
        None for the trial budget only (time budgets are not reproducible).
    plugins, exclude: plugin names to restrict the search to / leave out (as ``--plugins``,
        ``--exclude``).
    metric: the scikit-learn scorer the search optimises (``score`` is accuracy, as for every
        scikit-learn classifier).
    outer: ``"kfold:K"`` or ``"holdout:FRACTION"``; inner_folds: folds of the inner CV.
    seed, n_jobs: as ``abauto search --seed/--n-jobs``.
    run_dir: folder for the run (kept), or None for a temporary one (removed after ``fit``).

    Fitted attributes: ``classes_`` (the labels of ``y``), ``best_pipeline_`` (the final
    scikit-learn pipeline), ``leaderboard_`` (the leaderboard dict, see docs/leaderboard.md),
    ``n_features_in_``, ``feature_names_in_`` (when ``X`` was a DataFrame with text column
    names) and ``notes_`` (what was said about the data: dropped columns, possible leaks).
    """

    def __init__(self, trials: int = 20, time_budget: float | None = None, plugins=(), exclude=(),
                 metric: str = "balanced_accuracy", outer: str = "kfold:5", inner_folds: int = 5, seed: int = 0,
                 n_jobs: int = 1, run_dir: str | Path | None = None):
        self.trials = trials
        self.time_budget = time_budget
        self.plugins = plugins
        self.exclude = exclude
        self.metric = metric
        self.outer = outer
        self.inner_folds = inner_folds
        self.seed = seed
        self.n_jobs = n_jobs
        self.run_dir = run_dir

    # ------------------------------------------------------------------ inputs

    def _names(self, n: int) -> list[str]:
        return [f"x{i}" for i in range(n)]

    def _as_frame(self, X, fitting: bool) -> pd.DataFrame:
        """``X`` as a DataFrame with the column names of ``fit`` (positions ``x0, x1, ...`` for arrays)."""
        if isinstance(X, pd.DataFrame):
            frame = X.reset_index(drop=True)
            frame.columns = [str(c) for c in frame.columns]
        else:
            array = np.asarray(X)
            if array.ndim != 2:
                raise ValueError(f"Expected a 2-dimensional X, got an array of shape {array.shape}")
            frame = pd.DataFrame(array, columns=self._names(array.shape[1]))
        if fitting:
            self.n_features_in_ = frame.shape[1]
            if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
            self._columns = list(frame.columns)
            return frame
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        if not isinstance(X, pd.DataFrame) or list(frame.columns) != self._columns:
            # an array after a DataFrame fit (or the reverse): columns by position, as fitted
            missing = [c for c in self._columns if c not in frame.columns]
            if missing or not isinstance(X, pd.DataFrame):
                frame = frame.set_axis(self._columns, axis=1)
            else:
                frame = frame[self._columns]
        return frame

    # ------------------------------------------------------------------ fit / predict

    def fit(self, X, y):
        """Run the search on ``X``, ``y`` and keep its final pipeline."""
        from abauto.data import dataset_from_frame
        from abauto.model import model_card
        from abauto.search_engine import search
        from abauto.settings import SearchSettings

        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        check_classification_targets(y)
        frame = self._as_frame(X, fitting=True)
        if len(frame) != len(y):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y)}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        width = len(str(len(self.classes_)))
        target = "_abauto_target"
        while target in frame.columns:
            target += "_"
        frame[target] = [f"{c:0{width}d}" for c in codes]  # zero-padded codes: sorted as the classes
        dataset = dataset_from_frame(frame, Path("X"), target=target, name="X")
        settings = SearchSettings(trials=self.trials, time_budget=self.time_budget, outer=self.outer,
                                  inner_folds=self.inner_folds, metric=self.metric, seed=self.seed, n_jobs=self.n_jobs,
                                  plugins=list(self.plugins or ()), exclude=list(self.exclude or ()))
        with tempfile.TemporaryDirectory(prefix="abauto-") as tmp:
            run_dir = Path(self.run_dir) if self.run_dir is not None else Path(tmp) / "run"
            result = search(dataset, settings, run_dir=run_dir, command="",
                            inputs={"data": "(in memory: AbautoClassifier.fit)"})
        if result.pipeline is None:
            raise ModelError(f"every trial failed ({len(result.leaderboard['failures'])} failures); no model to fit "
                             f"(see leaderboard_['failures'])")
        self.leaderboard_ = result.leaderboard
        self.best_pipeline_ = result.pipeline
        self.notes_ = list(dataset.notes)
        self._card = model_card(dataset, result.leaderboard, result.pipeline)
        self._codes = np.asarray([int(c) for c in result.pipeline.classes_])  # pipeline's class order as codes
        return self

    def _features(self, X):
        from abauto.model import align

        check_is_fitted(self, "best_pipeline_")
        return align(self._as_frame(X, fitting=False), self._card, "X")

    def predict(self, X) -> np.ndarray:
        """The predicted labels (values of ``classes_``)."""
        X = self._features(X)
        predicted = self.best_pipeline_.predict(X)
        return self.classes_[np.asarray([int(p) for p in predicted])]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        X = self._features(X)
        proba = np.asarray(self.best_pipeline_.predict_proba(X))
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, self._codes] = proba
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True      # the imputer plugins handle missing values
        tags.input_tags.categorical = True    # text columns of a DataFrame are categorical features
        tags.input_tags.string = True
        tags.non_deterministic = self.time_budget is not None
        return tags
