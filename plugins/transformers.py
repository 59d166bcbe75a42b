"""Small scikit-learn transformers the built-in preprocessing plugins need and sklearn lacks."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.utils.validation import check_is_fitted, validate_data


class SparseColumnImputer(TransformerMixin, BaseEstimator):
    """Drop columns missing in more than ``max_missing`` of the rows, impute the rest.

    strategy: ``mean``, ``median``, ``most_frequent`` or ``zero`` (a constant 0).
    """

    def __init__(self, strategy: str = "mean", max_missing: float = 1.0):
        self.strategy = strategy
        self.max_missing = max_missing

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        self.keep_ = np.isnan(X).mean(axis=0) <= self.max_missing
        if not self.keep_.any():  # never drop everything: keep the least-missing column
            self.keep_[np.argmin(np.isnan(X).mean(axis=0))] = True
        if self.strategy == "zero":
            self.imputer_ = SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)
        else:
            self.imputer_ = SimpleImputer(strategy=self.strategy, keep_empty_features=True)
        self.imputer_.fit(X[:, self.keep_])
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return self.imputer_.transform(X[:, self.keep_])

    def get_feature_names_out(self, input_features=None):
        names = np.asarray(input_features if input_features is not None else
                           getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]))
        return names[self.keep_]


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clip each column to bounds learnt on the training data (missing values pass through).

    method: ``quantile`` clips to the ``[q, 1 - q]`` quantiles; ``iqr`` winsorises to
    ``[Q1 - k * IQR, Q3 + k * IQR]``.
    """

    def __init__(self, method: str = "quantile", q: float = 0.01, k: float = 1.5):
        self.method = method
        self.q = q
        self.k = k

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.method == "quantile":
            self.lower_, self.upper_ = np.nanquantile(X, [self.q, 1.0 - self.q], axis=0)
        elif self.method == "iqr":
            q1, q3 = np.nanquantile(X, [0.25, 0.75], axis=0)
            self.lower_, self.upper_ = q1 - self.k * (q3 - q1), q3 + self.k * (q3 - q1)
        else:
            raise ValueError(f"OutlierClipper: unknown method {self.method!r}")
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return np.clip(X, self.lower_, self.upper_)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else
                          getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]))
