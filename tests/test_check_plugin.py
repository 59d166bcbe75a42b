"""abauto.testing.check_plugin catches each way a plugin can break the contract, precisely.

Every broken plugin below has exactly one fault; the check must name the plugin and the fault
in a one-line message. They run on check_plugin's built-in generated data (no ../shared).
"""

from __future__ import annotations

import itertools
import re
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from abauto import Kind, Plugin
from abauto.registry import load_registry
from abauto.testing import PluginCheckError, check_plugin

C = Kind.CLASSIFIER


def logreg_space(trial, ctx):
    return {"C": trial.suggest_float("C", 1e-2, 1e2, log=True)}


def good_build(params, ctx):
    return LogisticRegression(**params, max_iter=500, random_state=ctx.random_state)


def fails(plugin: Plugin, pattern: str, **kw) -> str:
    with pytest.raises(PluginCheckError) as info:
        check_plugin(plugin, n_samples=kw.pop("n_samples", 8), **kw)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{plugin.name}: "), message
    assert re.search(pattern, message), message
    return message


# -- plugins that keep the contract -----------------------------------------------------------

def test_a_good_plugin_passes_and_gets_a_summary():
    summary = check_plugin(Plugin("good", C, good_build, logreg_space))
    assert re.fullmatch(r"20 configurations fitted, \d+\.\d s \(slowest fit \d+\.\d\d s\)", summary)


def test_data_may_be_an_x_y_pair_of_arrays():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = np.where(X[:, 0] > 0, "a", "b")
    assert check_plugin(Plugin("good", C, good_build, logreg_space), data=(X, y), n_samples=3)


def test_a_plugin_can_be_named_and_an_ensemble_gets_the_registry_members():
    registry = load_registry(entry_points=True)
    assert check_plugin("voting", registry, n_samples=2).startswith("2 configurations")


@pytest.mark.parametrize("kind, build, flags", [
    (Kind.SCALER, lambda p, ctx: StandardScaler(), {"handles_missing": True}),
    (Kind.ENCODER, lambda p, ctx: __import__("sklearn.preprocessing").preprocessing.OneHotEncoder(
        handle_unknown="ignore", sparse_output=False), {"nonnegative_output": True}),
])
def test_good_preprocessing_plugins_pass(kind, build, flags):
    assert check_plugin(Plugin("prep", kind, build, **flags), n_samples=3)


# -- one fault each ---------------------------------------------------------------------------

def test_space_that_samples_an_invalid_combination_names_the_config():
    def space(trial, ctx):
        return {"criterion": trial.suggest_categorical("criterion", ["gini", "entropy", "bogus"]),
                "max_depth": trial.suggest_int("max_depth", 2, 8)}

    plugin = Plugin("bad_combo", C, lambda p, ctx: DecisionTreeClassifier(**p, random_state=ctx.random_state), space)
    fails(plugin, r"fit failed: .*bogus.* for config \{bad_combo\.criterion='bogus', bad_combo\.max_depth=\d+\}", n_samples=20)


def test_space_that_raises():
    def space(trial, ctx):
        kernel = trial.suggest_categorical("kernel", ["rbf", "poly"])
        return {"kernel": kernel, "degree": {"rbf": None}[kernel]}  # KeyError for poly

    fails(Plugin("bad_space", C, lambda p, ctx: SVC(), space),
          r"space raised KeyError: 'poly' for config \{bad_space\.kernel='poly'\}")


@pytest.mark.parametrize("defaults, pattern", [
    ({"C": 1e3}, r"defaults: ValueError: C=1000.0 is outside FloatDistribution"),
    ({}, r"defaults: ValueError: .*'bad_defaults\.C'"),
    ({"C": 1.0, "tol": 1e-4}, r"defaults: 'tol' is not a parameter its space suggests"),
])
def test_defaults_outside_or_beside_the_space(defaults, pattern):
    plugin = Plugin("bad_defaults", C, good_build, logreg_space, defaults=lambda ctx: defaults)
    fails(plugin, pattern)
    # loading refuses the plugin with the same specific reason, named by plugin and package
    registry = load_registry(extra=[_registering(plugin)])
    assert "bad_defaults" not in registry
    assert [e.package for e in registry.errors] == ["<extra>"]
    assert re.fullmatch(r"'bad_defaults': invalid search space: " + pattern + ".*", registry.errors[0].message), \
        registry.errors[0].message


def _registering(plugin: Plugin):
    """A plugin module registering ``plugin``."""
    import abauto

    class Module:
        @staticmethod
        @abauto.hookimpl
        def register_classifiers(register):
            register(plugin)
    return Module


def test_defaults_are_the_first_configuration_fitted():
    fitted = []

    def build(params, ctx):
        fitted.append(params["C"])
        return good_build(params, ctx)
    check_plugin(Plugin("with_defaults", C, build, logreg_space, defaults=lambda ctx: {"C": 0.5}), n_samples=2)
    assert fitted[0] == 0.5


def test_space_that_does_not_return_a_dict():
    fails(Plugin("listy", C, good_build, lambda trial, ctx: [trial.suggest_float("C", 0.1, 1.0)]),
          r"space raised TypeError: .*returned list, not dict")


def test_unprefixed_parameter_names():
    def space(trial, ctx):  # bypasses the ScopedTrial: records "C", not "unprefixed.C"
        return {"C": trial.trial.suggest_float("C", 1e-2, 1e2, log=True)}

    fails(Plugin("unprefixed", C, good_build, space), r"parameter 'C' is not prefixed with 'unprefixed\.'")


def test_parameter_whose_distribution_changes_between_configs():
    counter = itertools.count()

    def space(trial, ctx):
        return {"C": trial.suggest_float("C", 1e-2, 1.0 + next(counter))}

    fails(Plugin("drifting", C, good_build, space), r"parameter 'drifting\.C' changed its distribution")


def test_build_that_returns_no_estimator():
    class NotAnEstimator:
        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.zeros(len(X))

    fails(Plugin("plain", C, lambda p, ctx: NotAnEstimator()),
          r"build returned NotAnEstimator, not a scikit-learn classifier")


class Doubling(ClassifierMixin, BaseEstimator):
    """Changes a parameter in __init__, which sklearn.base.clone refuses."""

    def __init__(self, C=1.0):
        self.C = C * 2

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_estimator_that_is_not_clonable():
    fails(Plugin("doubling", C, lambda p, ctx: Doubling(**p), logreg_space),
          r"not clonable by sklearn\.base\.clone: RuntimeError")


class Rounding(LogisticRegression):
    """set_params rounds C, so get_params -> set_params changes it."""

    def set_params(self, **params):
        if "C" in params:
            params["C"] = round(params["C"])
        return super().set_params(**params)


def test_get_params_set_params_round_trip_that_changes_params():
    fails(Plugin("rounding", C, lambda p, ctx: Rounding(**p), logreg_space),
          r"round trip changes parameter\(s\) 'C'")


class HalfProba(LogisticRegression):
    def predict_proba(self, X):
        return super().predict_proba(X) * 0.5


def test_predict_proba_rows_that_do_not_sum_to_one():
    fails(Plugin("half", C, lambda p, ctx: HalfProba(**p, max_iter=500), logreg_space),
          r"predict_proba rows must be probabilities summing to 1 \(row \d+ sums to 0\.5\) for config")


def test_has_predict_proba_claimed_without_predict_proba():
    fails(Plugin("no_proba", C, lambda p, ctx: SVC(**p), logreg_space),
          r"has_predict_proba is set but .* has no predict_proba")


class Scaling(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        X *= 2.0  # in place: the caller's array changes
        return super().fit(X, y, sample_weight)


def test_classifier_that_mutates_its_input():
    fails(Plugin("mutating", C, lambda p, ctx: Scaling(**p, max_iter=500), logreg_space),
          r"fit modified its input X or y in place")


def zero_first_column(X):
    if isinstance(X, pd.DataFrame):
        X.iloc[:, 0] = 0.0
    return np.asarray(X, dtype=float)


def test_transformer_that_mutates_its_input():
    plugin = Plugin("zeroing", Kind.SCALER, lambda p, ctx: FunctionTransformer(zero_first_column))
    fails(plugin, r"(fit|transform) modified its input X")


def test_classifier_that_ignores_random_state():
    plugin = Plugin("unseeded", C, lambda p, ctx: RandomForestClassifier(n_estimators=5))
    fails(plugin, r"two fits with the same Context\.random_state gave different results")


class Sleepy(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        time.sleep(0.05)
        return super().fit(X, y, sample_weight)


def test_too_slow():
    fails(Plugin("sleepy", C, lambda p, ctx: Sleepy(**p), logreg_space),
          r"too slow: fit took 0\.\d\d s on \d+ rows \(max_fit_seconds=0\.01\)", max_fit_seconds=0.01)


def test_imputer_that_leaves_missing_values():
    fails(Plugin("no_impute", Kind.IMPUTER, lambda p, ctx: FunctionTransformer()),
          r"the imputer's output still holds missing values")


def test_nonnegative_output_that_is_not():
    fails(Plugin("negative", Kind.SCALER, lambda p, ctx: StandardScaler(), nonnegative_output=True,
                 handles_missing=True),
          r"nonnegative_output is set but the output holds negative values")


def test_not_a_plugin_and_unknown_names():
    with pytest.raises(PluginCheckError, match=r"not an abauto\.Plugin"):
        check_plugin(object())
    with pytest.raises(PluginCheckError, match=r"^nope: no such plugin"):
        check_plugin("nope", load_registry(entry_points=False))
