"""The confusion-matrix metrics equal scikit-learn's scorers."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import get_scorer

from abauto.errors import SettingsError
from abauto.scoring import Scorer


class Fixed:
    """An 'estimator' whose predictions are given."""

    def __init__(self, y_pred):
        self.y_pred = np.asarray(y_pred)

    def predict(self, X):
        return self.y_pred


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(20))
def test_label_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = np.array(["blues", "jazz", "rock", "pop"])[: rng.integers(2, 5)]
    y = rng.choice(labels, size=rng.integers(3, 40))
    y_pred = rng.choice(np.append(labels, "metal"), size=len(y))  # a label never true: dropped by recall
    scores = Scorer("balanced_accuracy")(Fixed(y_pred), None, y)
    for name in ("balanced_accuracy", "accuracy", "f1_macro"):
        expected = get_scorer(name)._score_func(y, y_pred, **get_scorer(name)._kwargs)
        assert scores[name] == pytest.approx(expected, abs=1e-12), name


def test_other_metrics_go_through_sklearn():
    X, y = np.zeros((12, 1)), np.array([0, 1] * 6)
    clf = DummyClassifier(strategy="prior").fit(X, y)
    scores = Scorer("roc_auc_ovr")(clf, X, y)
    assert list(scores) == ["roc_auc_ovr", "balanced_accuracy", "accuracy", "f1_macro"]
    assert scores["roc_auc_ovr"] == 0.5 and Scorer("roc_auc_ovr").probability
    assert not Scorer("matthews_corrcoef").probability


def test_unknown_metric_is_a_settings_error():
    with pytest.raises(SettingsError, match="'nope' is not a scikit-learn scorer"):
        Scorer("nope")


@pytest.mark.parametrize("metric", ["roc_auc", "f1", "precision", "recall", "jaccard", "r2"])
def test_binary_only_metric_refused_on_multiclass(metric):
    with pytest.raises(SettingsError) as exc:
        Scorer(metric).check_task(["blues", "jazz", "rock"])
    message = str(exc.value)
    assert "\n" not in message and f"--metric {metric!r}" in message and "3 classes" in message
    assert "roc_auc_ovr" in message and "balanced_accuracy" in message


def test_roc_auc_suggests_ovr_and_fits_multiclass():
    with pytest.raises(SettingsError, match="use 'roc_auc_ovr'"):
        Scorer("roc_auc").check_task(["a", "b", "c"])
    for metric in ("roc_auc_ovr", "balanced_accuracy", "neg_log_loss", "f1_macro"):
        Scorer(metric).check_task(["a", "b", "c"])
    Scorer("roc_auc").check_task(["bad", "good"])  # binary: fine


def test_search_refuses_before_any_work(tmp_path, dataset_path):
    from abauto.data import load_dataset
    from abauto.search_engine import SearchSettings, search

    dataset = load_dataset(dataset_path("iris"))
    with pytest.raises(SettingsError, match="roc_auc_ovr"):
        search(dataset, SearchSettings(metric="roc_auc", trials=2, outer="kfold:2", inner_folds=2),
               run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_search_checks_the_metric_on_the_codes_it_scores(tmp_path, dataset_path):
    """Studies score label codes 0..k-1, so 'f1' (pos_label=1) suits binary data with text labels."""
    from abauto.data import load_dataset
    from abauto.search_engine import SearchSettings, search

    result = search(load_dataset(dataset_path("credit_g")),
                    SearchSettings(metric="f1", trials=2, outer="kfold:2", inner_folds=2, plugins=["gaussian_nb"]),
                    run_dir=tmp_path / "run")
    assert result.leaderboard["best"]["outer_mean"] is not None
