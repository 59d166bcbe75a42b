"""Class labels: every fit sees integer codes, every output the user's labels.

abauto reads labels as text (``-1``, ``0.5``, ``jazz``). Plugins are fitted on their
:class:`~sklearn.preprocessing.LabelEncoder` codes (classes sorted, codes ``0..k-1``) instead:
scikit-learn's forests with ``class_weight="balanced"`` fail on text labels that look like
integers ("The classes, [-1, 1], are not in class_weight": ``compute_class_weight`` turns the
class ``'-1'`` into the integer ``-1`` before looking it up), and a third-party plugin may
stumble on text labels in other ways. The engine encodes the target once per study
(:func:`encode`), so inner folds, outer refits and their scores all use one coding, and decodes
predictions before they reach the leaderboard.

The saved model is an :class:`EncodedTargetClassifier` around the final scikit-learn
``Pipeline``: ``predict`` and ``classes_`` give the user's labels back. Its ``estimator_`` is the
plain fitted ``Pipeline`` (it predicts codes: ``classes_[code]`` is the label).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted


def encode(y) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)`` of the labels ``y``: classes sorted, ``classes[codes] == y``."""
    encoder = LabelEncoder()
    codes = encoder.fit_transform(np.asarray(y))
    return encoder.classes_, codes


def _estimator_has(name: str):
    return lambda self: hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, name)


class EncodedTargetClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit ``estimator`` on the label codes of ``y`` (:func:`encode`); predict the labels.

    The classifier counterpart of scikit-learn's ``TransformedTargetRegressor``: ``classes_``
    holds the labels in code order, ``predict`` returns labels, and ``predict_proba`` /
    ``decision_function`` are the fitted ``estimator_``'s (columns in ``classes_`` order).
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        self.classes_, codes = encode(y)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def _codes(self, X) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict(X)).astype(np.intp)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self._codes(X)]

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @property
    def n_features_in_(self) -> int:
        return self.estimator_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags = inner.input_tags
        return tags
