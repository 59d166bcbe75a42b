"""abauto search end to end on real data: run folder, schema, reproducibility, predict, API."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import abauto
from abauto import leaderboard
from abauto.search_engine import SearchSettings

def test_search_writes_every_file(wine_run):
    out = wine_run
    for name in ("study.db", "leaderboard.json", "leaderboard.csv", "leaderboard.md", "report.txt",
                 "best_pipeline.skops", "model-card.json"):
        assert (out / name).stat().st_size > 0, name
    board = leaderboard.load(out / "leaderboard.json")  # validates against the schema
    settings = json.loads((out / "run.json").read_text())["settings"]
    folds = int(settings["outer"].split(":")[1])
    assert board["protocol"]["outer_folds"] == folds and board["protocol"]["inner_folds"] == settings["inner_folds"]
    assert 0.8 < board["best"]["outer_mean"] <= 1.0
    assert len(board["best"]["outer_scores"]) == folds
    assert board["entries"] and all(len(e["outer_scores"]) == folds for e in board["entries"])
    assert board["trials"]["total"] == settings["trials"] * (folds + 1)  # the outer studies + the final one
    assert "Confusion matrix" in (out / "report.txt").read_text()
    card = json.loads((out / "model-card.json").read_text())
    assert card["classes"] == ["class_0", "class_1", "class_2"] and len(card["features"]) == 13
    assert pd.read_csv(out / "leaderboard.csv").shape[0] == len(board["entries"])


@pytest.mark.slow
def test_predict_with_saved_model_on_held_out_rows(dataset_path, tmp_path, cli):
    """A model searched on two thirds of wine predicts the other third far better than the
    trivial baselines (most frequent class, class-prior draws) do on those same rows."""
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(dataset_path("wine"))
    train, test = train_test_split(frame, test_size=1 / 3, stratify=frame["class"], random_state=0)
    train.to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns=["class"]).to_csv(tmp_path / "test.csv", index=False)
    code, _, err = cli("search", tmp_path / "train.csv", "--plugins", "logreg,gaussian_nb", "--trials", "2",
                       "--outer", "kfold:2", "--inner-folds", "2", "--quiet", "--out", tmp_path / "run")
    assert code == 0, err
    code, _, err = cli("predict", tmp_path / "run" / "best_pipeline.skops", tmp_path / "test.csv",
                       "-o", tmp_path / "pred.csv")
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["predicted", "p_class_0", "p_class_1", "p_class_2"] and len(pred) == len(test)
    assert ((pred.filter(like="p_").sum(axis=1) - 1).abs() < 1e-6).all()
    accuracy = (pred["predicted"].to_numpy() == test["class"].to_numpy()).mean()
    X_train, X_test = train.drop(columns=["class"]), test.drop(columns=["class"])
    baselines = {strategy: DummyClassifier(strategy=strategy, random_state=0).fit(X_train, train["class"])
                 .score(X_test, test["class"]) for strategy in ("most_frequent", "stratified")}
    assert accuracy > max(baselines.values()) + 0.4, (accuracy, baselines)  # wine: ~0.95 vs ~0.4
    assert accuracy > 0.85, accuracy


def test_predict_refuses_mismatched_columns(wine_run, dataset_path, tmp_path, cli):
    frame = pd.read_csv(dataset_path("wine")).drop(columns=["alcohol"])
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    code, _, err = cli("predict", wine_run, bad)
    assert code == 2 and "'alcohol'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_same_seed_gives_identical_leaderboard(dataset_path, tmp_path):
    data = dataset_path("iris")
    settings = dict(trials=5, outer="kfold:3", inner_folds=3, seed=7)
    a = abauto.search(data, SearchSettings(**settings), run_dir=tmp_path / "a")
    b = abauto.search(data, SearchSettings(**settings), run_dir=tmp_path / "b")
    assert leaderboard.without_run_fields(a.leaderboard) == leaderboard.without_run_fields(b.leaderboard)
    c = abauto.search(data, SearchSettings(**settings, n_jobs=2), run_dir=tmp_path / "c")
    assert leaderboard.without_run_fields(c.leaderboard) == leaderboard.without_run_fields(a.leaderboard)


@pytest.mark.slow
def test_penguins_missing_and_categorical_with_no_options(dataset_path, search_dataset):
    # two families, so each is first tried at its defaults: 4 sampled trials over all 12 families
    # are a draw of luck (one fold may get only weak ones)
    result = search_dataset("penguins", trials=4, outer="kfold:3", inner_folds=3, plugins=["logreg", "random_forest"])
    board = result.leaderboard
    assert board["dataset"]["categorical"] == ["island", "sex"]
    assert board["dataset"]["missing_fraction"] > 0
    assert board["best"]["outer_mean"] > 0.9
    frame = pd.read_csv(dataset_path("penguins")).drop(columns=["class"])
    assert set(result.pipeline.predict(frame)) <= {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.slow
def test_holdout_and_restricted_plugins(search_dataset):
    result = search_dataset("iris", trials=3, outer="holdout:0.3", inner_folds=3, plugins=["svm", "standard"])
    board = result.leaderboard
    assert board["protocol"]["outer"] == "holdout" and board["protocol"]["outer_folds"] == 1
    assert [e["family"] for e in board["entries"] if e["family"] != "ensemble"] == ["svm"]
    final = board["final"]  # one pipeline, or an ensemble of svm trials (abauto.ensemble)
    for steps in [m["pipeline"] for m in final.get("members", [])] or [final["pipeline"]]:
        assert [s["plugin"] for s in steps if s["slot"] == "scaler"] == ["standard"]
        assert steps[-1]["plugin"] == "svm"


def test_spaces_are_bounded_by_the_inner_training_size(dataset_path):
    """k-NN's k is sampled against the rows it will be fitted on, not the whole table."""
    import optuna

    from abauto.data import load_dataset
    from abauto.registry import load_registry
    from abauto.space import DataShape, PipelineSpace

    ds = load_dataset(dataset_path("iris"))
    space = PipelineSpace(load_registry(), DataShape.of(ds), include=["knn"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(0))
    for _ in range(30):
        steps = space.sample(study.ask(), n_rows=37)
        assert steps[-1].params["n_neighbors"] <= 37 // 3


def test_a_new_study_starts_every_family_from_its_defaults(dataset_path):
    """Cheap single models first, each at its plugin's defaults with no optional preprocessing;
    ensembles (no defaults: members sampled) last, under a time budget too."""
    import numpy as np
    import optuna

    from abauto.data import load_dataset
    from abauto.registry import load_registry
    from abauto.objective import Objective
    from abauto.search_engine import seed_families
    from abauto.space import DataShape, PipelineSpace

    ds = load_dataset(dataset_path("wine"))
    space = PipelineSpace(load_registry(), DataShape.of(ds))
    study = optuna.create_study(direction="maximize")
    seed_families(study, space, SearchSettings(trials=60), n_rows=113)
    waiting = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [w["classifier"] for w in waiting][:2] == ["gaussian_nb", "multinomial_nb"]
    assert [w["classifier"] for w in waiting][-2:] == ["bagging", "voting"]
    svm = next(w for w in waiting if w["classifier"] == "svm")
    assert svm == {"classifier": "svm", "outlier": "none", "scaler~required": "standard", "reducer": "none",
                   "svm.kernel": "rbf", "svm.C": 1.0, "svm.class_weight": "balanced", "svm.gamma": 1 / 13}
    knn = next(w for w in waiting if w["classifier"] == "knn")
    assert knn["knn.n_neighbors"] == 5
    settings = SearchSettings(trials=60, inner_folds=3)
    objective = Objective(space, ds.X.to_numpy(float), ds.y, np.arange(len(ds.y)), settings,
                          shared=False)
    study.optimize(objective, n_trials=1)
    assert study.trials[0].state.name == "COMPLETE" and study.trials[0].value > 0.85  # gaussian NB on wine

    timed = optuna.create_study(direction="maximize")  # a time budget too: every family has a row (test_schedule.py)
    seed_families(timed, space, SearchSettings(trials=60, timeout=30), n_rows=113)
    assert [t.system_attrs["fixed_params"]["classifier"] for t in timed.trials][-2:] == ["bagging", "voting"]


def test_a_time_budget_stops_a_trial_at_its_next_inner_fold(dataset_path):
    import time

    import numpy as np
    import optuna

    from abauto.data import load_dataset
    from abauto.registry import load_registry
    from abauto.objective import Objective
    from abauto.space import DataShape, PipelineSpace

    ds = load_dataset(dataset_path("wine"))
    space = PipelineSpace(load_registry(), DataShape.of(ds), include=["logreg"])
    settings = SearchSettings(trials=5, timeout=1, prune=False)
    objective = Objective(space, ds.X.to_numpy(float), ds.y, np.arange(len(ds.y)), settings, shared=False,
                          deadline=time.monotonic() - 1)
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert len(trial.user_attrs["inner_scores"]["balanced_accuracy"]) == 1
