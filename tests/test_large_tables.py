"""Large tables (issue 20): an inner holdout instead of inner k-fold from ``inner_holdout_rows``
rows on, trials that climb row rungs, costly families fitted on a row sample, and one study
under ``--outer holdout``. The tables are scikit-learn's ``make_classification`` (nothing to
download); the rung thresholds are lowered so that a table of a few thousand rows has rungs."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from abauto import folds
from abauto.ensemble import calibrate
from abauto.search_engine import SearchSettings, search
from abauto.space import RowCap


def _table(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=n, n_features=8, n_informative=5, n_classes=3, weights=[.6, .3, .1],
                               random_state=seed)


def test_rungs_grow_fourfold_up_to_all_rows_and_keep_the_class_shares():
    _, y = _table(20_000)
    rows = np.arange(20_000)
    sizes = [len(r) for r in folds.rungs(rows, y, seed=0)]
    assert sizes[-1] == 20_000 and sizes[:-1] == [20_000 // 4] and folds.MIN_RUNG_ROWS == 5_000
    first = folds.rungs(rows, y, seed=0)[0]
    assert np.allclose(np.bincount(y[first]) / len(first), np.bincount(y) / len(y), atol=0.002)
    # a family that fits on at most 4,000 rows anyway: no rung above that but the last
    assert [len(r) for r in folds.rungs(rows, y, seed=0, cap=4_000)] == [20_000]
    assert [len(r) for r in folds.rungs(rows[:9_000], y[:9_000], seed=0)] == [9_000]  # 9,000 / 4 < 5,000


def test_inner_holdout_is_one_stratified_fold():
    _, y = _table(3_000)
    train = np.arange(0, 3_000, 2)
    settings = SearchSettings(inner_folds=5, inner_holdout_rows=2_000)
    assert folds.inner_holdout(3_000, settings) and not folds.inner_holdout(1_999, settings)
    (tr, va), = folds.inner_splits(train, y, settings, holdout=True)
    assert len(va) == len(train) // 5 and not set(tr) & set(va)
    assert folds.inner_splits(train, y, settings)[0][1].tolist() == va.tolist()  # the first of the k folds


def test_row_cap_fits_on_a_sample_with_every_class():
    X, y = _table(3_000)
    y[:2] = 3  # a class of two rows still reaches the fit
    capped = RowCap(KNeighborsClassifier(), max_rows=500, random_state=0).fit(X, y)
    assert capped.estimator_.n_samples_fit_ in (500, 501, 502) and list(capped.classes_) == [0, 1, 2, 3]
    assert capped.predict_proba(X[:5]).shape == (5, 4)
    assert not hasattr(RowCap(SVC()), "predict_proba") and hasattr(RowCap(SVC()), "decision_function")


def test_calibrating_decision_values_of_one_holdout_cross_fits_its_halves():
    X, y = _table(600)
    va = np.arange(100, 600)
    decision = np.zeros((600, 3))
    decision[va] = SVC().fit(X[:100], y[:100]).decision_function(X[va])
    proba = calibrate(decision, y, [va])
    assert np.allclose(proba[va].sum(axis=1), 1.0) and not proba[:100].any()


def test_a_large_table_search_validates_on_a_holdout_with_rungs(tmp_path, monkeypatch):
    monkeypatch.setattr(folds, "MIN_RUNG_ROWS", 500)
    X, y = _table(6_000)
    data = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(**{"class": y})
    data.to_csv(tmp_path / "big.csv", index=False)
    settings = SearchSettings(trials=14, outer="holdout:0.2", inner_folds=4, inner_holdout_rows=5_000,
                              max_costly_rows=800, plugins=["gaussian_nb", "logreg", "knn", "hist_gb", "standard"])
    result = search(tmp_path / "big.csv", settings, run_dir=tmp_path / "run")
    board = json.loads((tmp_path / "run" / "leaderboard.json").read_text())
    assert board["protocol"]["inner"] == "holdout" and board["protocol"]["outer"] == "holdout"
    assert result.studies == ["abauto.outer0"]  # the holdout's study also selects the final model
    assert board["final"] is not None and (tmp_path / "run" / "best_pipeline.skops").exists()
    assert any("knn fit on a stratified sample of at most 800 rows" in n for n in board["notes"])
    study = optuna.load_study(study_name="abauto.outer0", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    # 6,000 rows: 4,800 to tune on, 3,600 to fit and 1,200 to validate; rungs of 900 and 3,600 rows
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert {t.user_attrs["rows"] for t in done} <= {900, 3_600} and any(t.user_attrs["rows"] == 3_600 for t in done)
    # a rung's step is its row count; a screening trial first fits half its rung, to time its growth
    assert all(set(t.intermediate_values) <= {450, 900, 1_800} for t in study.trials)
    screened = [t for t in done if t.user_attrs.get("screen")]
    assert len(screened) == 4 and all(set(t.intermediate_values) in ({450}, {1_800}) for t in screened)
    knn = [t for t in done if t.params["classifier"] == "knn"]
    assert knn and all(t.user_attrs["rows"] == 3_600 for t in knn)  # capped below the first rung: one rung
    # the saved model is the pick as refitted on the outer training part, the one the holdout scored
    assert any("not refitted on all rows" in n for n in board["notes"]) or board["final"]["family"] == "ensemble"
    assert {e["family"] for e in board["entries"]} >= {"gaussian_nb", "logreg", "knn", "hist_gb"}
    assert board["best"]["outer_mean"] > 0.6


def test_the_progress_line_shows_the_row_rung_of_the_last_trial():
    from abauto.progress import SearchProgress

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.set_user_attr("family", "hist_gb")
    trial.set_user_attr("rows", 128_000)
    study.tell(trial, 0.9)
    with SearchProgress("search", True, "balanced_accuracy", ["s.outer0"], total=None) as shown:
        shown.on_trial("s.outer0", study.trials[0])
        line = shown._trials_line()
    assert "last trial: hist_gb on 128,000 rows" in line, line


def test_a_large_table_is_held_as_float32(tmp_path):
    from abauto.data import load_dataset

    X, y = _table(3_000)
    pd.DataFrame(X).add_prefix("f").assign(**{"class": y}).to_csv(tmp_path / "t.csv", index=False)
    dataset = load_dataset(tmp_path / "t.csv")
    assert folds.features(dataset, SearchSettings(inner_holdout_rows=2_000)).dtype == np.float32
    assert folds.features(dataset, SearchSettings()).dtype == np.float64  # below the threshold: as read


def test_forests_on_many_rows_cap_their_leaves_and_small_ones_grow_as_before():
    """A fully grown 100-tree forest on 160,000 rows took 1.1 GB; above the rows where the cap can
    bind, the built-in forests bound their leaves so that the trees stay near FOREST_BYTES."""
    from abauto.plugin import Context
    from abauto.registry import load_registry

    registry = load_registry()
    for name in ("random_forest", "extra_trees"):
        plugin = registry.entries[name].plugin
        small, large = Context(n_rows=2_000, n_features=8, n_classes=3), Context(n_rows=60_000, n_features=8, n_classes=3)
        assert plugin.build(plugin.defaults(small), small).max_leaf_nodes is None
        forest = plugin.build(plugin.defaults(large), large)
        assert 1_000 <= forest.max_leaf_nodes < 60_000
        X, y = _table(60_000)
        forest.set_params(n_estimators=4).fit(X, y)
        assert max(t.tree_.n_leaves for t in forest.estimators_) <= forest.max_leaf_nodes
        # min_samples_leaf bounds the leaves too: the cap is left out where it cannot bind
        assert plugin.build({**plugin.defaults(large), "min_samples_leaf": 10}, large).max_leaf_nodes is None
