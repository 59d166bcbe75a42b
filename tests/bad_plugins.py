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
