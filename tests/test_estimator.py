"""``abauto.AbautoClassifier``: the scikit-learn conventions that make sense for a search
(sklearn's full ``check_estimator`` runs dozens of fits and demands behaviour, such as fitting
one-row data, that a nested-CV search refuses on purpose)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_get_params_invariance, check_no_attributes_set_in_init

import abauto
from abauto import AbautoClassifier

TINY = dict(trials=4, outer="kfold:2", inner_folds=2, plugins=("logreg", "gaussian_nb"))


def table(dataset_path, name) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(dataset_path(name))
    return frame.drop(columns="class"), frame["class"]


@pytest.fixture(scope="module")
def iris_frame_fit(dataset_path):
    X, y = table(dataset_path, "iris")
    return AbautoClassifier(**TINY).fit(X, y), X, y


def test_params_clone_and_set_params():
    clf = AbautoClassifier(trials=7, plugins=("svm",), time_budget=30.0)
    params = clf.get_params()
    assert params["trials"] == 7 and params["plugins"] == ("svm",) and params["time_budget"] == 30.0
    assert clf.plugins is params["plugins"]  # __init__ stores parameters unchanged
    twin = clone(clf)
    assert twin.get_params() == params and twin is not clf
    assert twin.set_params(trials=3, metric="accuracy") is twin and twin.trials == 3 and twin.metric == "accuracy"
    assert clf.trials == 7
    check_no_attributes_set_in_init("AbautoClassifier", AbautoClassifier())
    check_get_params_invariance("AbautoClassifier", AbautoClassifier())
    assert abauto.AbautoClassifier is AbautoClassifier and "AbautoClassifier" in abauto.__all__


def test_not_fitted():
    with pytest.raises(NotFittedError):
        AbautoClassifier().predict(np.zeros((2, 3)))


def test_dataframe_fit_predicts_without_warnings(iris_frame_fit, tmp_path):
    clf, X, y = iris_frame_fit
    assert list(clf.classes_) == sorted(y.unique()) and clf.n_features_in_ == 4
    assert list(clf.feature_names_in_) == list(X.columns)
    assert clf.leaderboard_["best"]["outer_mean"] > 0.8 and hasattr(clf.best_pipeline_, "predict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = clf.predict(X)
        proba = clf.predict_proba(X)
        assert list(clf.predict(X.to_numpy())) == list(pred)  # an array: columns by position
    assert set(pred) <= set(clf.classes_) and clf.score(X, y) > 0.9
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1)
    assert (clf.classes_[proba.argmax(axis=1)] == pred).mean() > 0.95
    with pytest.raises(ValueError, match="features"):
        clf.predict(X.iloc[:, :3])


def test_array_fit_with_string_labels_and_kept_run_dir(dataset_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a temporary run folder must not land in ./runs
    X, y = table(dataset_path, "wine")
    labels = y.map({"class_0": "barolo", "class_1": "grignolino", "class_2": "barbera"}).to_numpy()
    clf = AbautoClassifier(**TINY).fit(X.to_numpy(), labels)
    assert list(clf.classes_) == ["barbera", "barolo", "grignolino"] and not hasattr(clf, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clf.score(X.to_numpy(), labels) > 0.9
    assert not (tmp_path / "runs").exists() and not list(tmp_path.iterdir())
    kept = AbautoClassifier(**TINY, run_dir=tmp_path / "run").fit(X.to_numpy(), labels)
    assert (tmp_path / "run" / "leaderboard.json").exists() and kept.leaderboard_["final"] is not None
    pipeline, card = abauto.load_model(tmp_path / "run")
    assert card["features"][0]["name"] == "x0" and hasattr(pipeline, "predict")


def test_integer_labels_come_back_as_integers(dataset_path):
    X, y = table(dataset_path, "iris")
    codes = y.map({"setosa": 10, "versicolor": 2, "virginica": 7}).to_numpy()
    clf = AbautoClassifier(**TINY).fit(X, codes)
    assert list(clf.classes_) == [2, 7, 10] and clf.predict(X[:3]).dtype.kind == "i"
    assert clf.predict(X[:1])[0] == 10


@pytest.mark.slow
def test_cross_val_score(dataset_path):
    X, y = table(dataset_path, "iris")
    scores = cross_val_score(AbautoClassifier(**TINY), X, y, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.8


@pytest.mark.slow
def test_inside_a_pipeline(dataset_path):
    X, y = table(dataset_path, "wine")
    pipe = make_pipeline(StandardScaler(), AbautoClassifier(**TINY)).fit(X, y)  # the scaler hands on an array
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pipe.score(X, y) > 0.9
    assert pipe.get_params()["abautoclassifier__trials"] == 4


def test_dataframe_with_categorical_columns(dataset_path):
    X, y = table(dataset_path, "penguins")
    assert not all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes) and X.isna().any().any()
    clf = AbautoClassifier(**TINY).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = clf.predict(X)
    assert (pred == y.to_numpy()).mean() > 0.9
