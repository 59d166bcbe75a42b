"""Deliberately broken classifier plugins for the reliability tests."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

import abauto
from abauto import Kind, Plugin


class Raises(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("boom from a buggy plugin")


class Sleeps(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        time.sleep(3600)
        return self


class FailsOnMany(ClassifierMixin, BaseEstimator):
    """Fits on at most ``MANY`` rows: on iris (150 rows) with ``--outer kfold:2 --inner-folds 3``
    the outer folds' studies fit it on 50 rows and refit it on 75, the final study on 100."""

    MANY = 80

    def fit(self, X, y):
        if len(X) > self.MANY:
            raise RuntimeError(f"refuses more than {self.MANY} rows")
        self.classes_ = np.unique(y)
        self.majority_ = self.classes_[np.argmax([np.sum(y == c) for c in self.classes_])]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


class Hungry(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        blocks = []
        for _ in range(1000):  # up to ~100 GB, 100 MB at a time
            blocks.append(np.ones(100 * 2**20 // 8))
        return self


@abauto.hookimpl
def register_classifiers(register):
    register(Plugin("raises", Kind.CLASSIFIER, lambda p, ctx: Raises()))
    register(Plugin("sleeps", Kind.CLASSIFIER, lambda p, ctx: Sleeps()))
    register(Plugin("hungry", Kind.CLASSIFIER, lambda p, ctx: Hungry()))
    register(Plugin("fails_on_many", Kind.CLASSIFIER, lambda p, ctx: FailsOnMany(), has_predict_proba=False))
