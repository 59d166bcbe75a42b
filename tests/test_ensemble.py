"""Ensemble selection over each study's trials (abauto/ensemble.py): the greedy algorithm on
hand-made out-of-fold matrices, and real small searches whose leaderboard has an ``ensemble``
row, whose saved model is a soft VotingClassifier when the ensemble wins, and whose ensemble
is the same after a resume or with trials run in a child process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from conftest import shared_file

from abauto import ensemble
from abauto import leaderboard as lb
from abauto.data import load_dataset
from abauto.model import load_model
from abauto.search_engine import SearchSettings, search

FAST = ["--trials", "6", "--outer", "kfold:2", "--inner-folds", "2", "--plugins", "logreg,gaussian_nb,knn,svm"]


def _binary(p1) -> np.ndarray:
    """Rows of (P(class 0), P(class 1)) from P(class 1)."""
    p1 = np.asarray(p1, dtype=float)
    return np.column_stack([1 - p1, p1])


def test_select_picks_the_better_model_and_repeats_it():
    y = np.array([1, 1, 1, 0])
    wrong = _binary([0.1, 0.1, 0.1, 0.9])   # every row wrong
    a = _binary([0.9, 0.9, 0.4, 0.1])       # 3/4: misses row 2
    b = _binary([0.2, 0.3, 0.9, 0.95])      # 1/4, but fixes row 2 when a has twice its weight
    score = ensemble.fold_scorer("accuracy", y, np.array([0, 1]), [np.arange(4)])
    sel = ensemble.select([wrong, a, b], score, rounds=6)
    assert sel.members == [1, 2] and sel.weights == [2, 1]  # a picked twice: with replacement
    assert sel.score == 1.0 and sel.fold_scores == [1.0]
    assert sum(sel.weights) == sel.rounds == 3  # the best round is kept (Caruana et al. 2004)
    assert len(sel.trajectory) == 6 and sel.trajectory[:3] == [0.75, 0.75, 1.0]


def test_select_keeps_a_single_model_when_nothing_helps():
    y = np.array([0, 1, 0, 1])
    perfect = _binary([0.2, 0.8, 0.3, 0.7])
    sel = ensemble.select([_binary([0.6, 0.6, 0.6, 0.6]), perfect], ensemble.fold_scorer(
        "balanced_accuracy", y, np.array([0, 1]), [np.arange(2), np.arange(2, 4)]), rounds=5)
    assert sel.members == [1] and sel.weights == [1] and sel.score == 1.0


def test_fold_scorer_probability_metric_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y = np.array(["a", "b", "c"] * 10)
    proba = rng.dirichlet(np.ones(3), size=30)
    folds = [np.arange(15), np.arange(15, 30)]
    got = ensemble.fold_scorer("neg_log_loss", y, np.array(["a", "b", "c"]), folds)(proba)
    assert got == pytest.approx([-log_loss(y[f], proba[f], labels=["a", "b", "c"]) for f in folds])


def test_library_keeps_the_best_trials_within_its_bound():
    lib = ensemble.Library(2)
    for number, value in enumerate([0.5, 0.9, 0.7, 0.9]):
        lib.offer(number, value, np.full((3, 2), value))
    assert sorted(lib.items) == [1, 3]  # 0.5 and then 0.7 evicted
    assert not lib.admits(4, 0.9) and lib.admits(4, 0.95)  # a tie goes to the earlier trial
    assert lib.get(1).dtype == np.float32 and lib.get(0) is None
    assert ensemble.capacity(800, 10) == ensemble.LIBRARY_SIZE
    assert ensemble.capacity(10_000_000, 10) == max(1, ensemble.LIBRARY_BYTES // (10_000_000 * 10 * 4))


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "abauto.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    data = shared_file("datasets", "wine.csv")
    run = tmp_path_factory.mktemp("ens") / "run"
    done = _cli("search", data, *FAST, "--out", run, "--quiet")
    assert done.returncode == 0, done.stderr
    return data, run


def _ensemble_entry(board: dict) -> dict:
    return next(e for e in board["entries"] if e["family"] == "ensemble")


@pytest.mark.slow
def test_search_has_an_ensemble_row_on_every_outer_fold(wine_run):
    _, run = wine_run
    board = lb.load(run / "leaderboard.json")  # validates against the schema
    assert board["protocol"]["ensemble"] is True
    entry = _ensemble_entry(board)
    assert len(entry["folds"]) == 2 and all(s is not None for s in entry["outer_scores"])
    for fold in entry["folds"]:
        assert fold["members"] and all(m["weight"] >= 1 for m in fold["members"])
        weights = fold["pipeline"][0]["params"]["weights"]
        assert weights == {f"{m['family']}_{m['trial']}": m["weight"] for m in fold["members"]}
        assert fold["pipeline"][0]["plugin"] == "ensemble"
    for fold, chosen in zip(entry["folds"], board["best"]["families"]):
        best_single = max(e["folds"][fold["fold"]]["inner_mean"] for e in board["entries"]
                          if e["family"] != "ensemble" and e["folds"][fold["fold"]])
        wins = len(fold["members"]) > 1 and fold["inner_mean"] > best_single
        assert (chosen == "ensemble") == wins


@pytest.mark.slow
def test_winning_ensemble_is_saved_as_voting_classifier_and_predicts(wine_run, tmp_path):
    from sklearn.ensemble import VotingClassifier

    data, run = wine_run
    board = lb.load(run / "leaderboard.json")
    # wine with these four families: the final study's ensemble beats its best single trial
    assert board["final"]["family"] == "ensemble", board["final"]
    members = board["final"]["members"]
    assert len(members) > 1
    model, card = load_model(run / "best_pipeline.skops")
    voting = model.estimator_  # every final model predicts labels through abauto.labels.EncodedTargetClassifier
    assert isinstance(voting, VotingClassifier) and voting.voting == "soft"
    assert [n for n, _ in voting.estimators] == [f"{m['family']}_{m['trial']}" for m in members]
    assert list(voting.weights) == [m["weight"] for m in members]
    assert card["ensemble"]["members"] == members
    out = tmp_path / "pred.csv"
    done = _cli("predict", run, data, "-o", out)
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    truth = load_dataset(data).y
    assert len(pred) == len(truth) and (pred["predicted"].astype(str) == pd.Series(truth).astype(str)).mean() > 0.9
    proba = pred[[c for c in pred.columns if c.startswith("p_")]].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0)


@pytest.mark.slow
def test_resumed_run_gives_the_same_ensemble(wine_run, tmp_path):
    """A run folder reopened after its trials finished (as after a kill before the leaderboard
    was written): the new process has no OOF library, recomputes it on the same inner folds and
    selects the same ensemble, with the same outer scores and the same saved model."""
    data, run = wine_run
    again = tmp_path / "again"
    shutil.copytree(run, again)
    for name in ("leaderboard.json", "best_pipeline.skops", "model-card.json"):
        (again / name).unlink()
    done = _cli("search", "--resume", again, "--quiet")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads((r / "leaderboard.json").read_text()) for r in (run, again))
    keep = ("fold", "trial", "members", "inner_mean", "inner_std", "scores")
    assert [{k: f[k] for k in keep} for f in _ensemble_entry(first)["folds"]] == \
           [{k: f[k] for k in keep} for f in _ensemble_entry(second)["folds"]]
    assert first["final"] == second["final"] and first["best"]["outer_scores"] == second["best"]["outer_scores"]
    X = load_dataset(data).X.to_numpy(dtype=np.float64)
    a, b = (load_model(r / "best_pipeline.skops")[0] for r in (run, again))
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.slow
def test_trials_in_a_child_process_stream_their_oof(dataset_path, tmp_path):
    """With --trial-timeout every trial runs in a forked child: its OOF probabilities come back
    through the pipe, and the ensemble is the one an in-process run selects."""
    settings = dict(trials=4, outer="kfold:2", inner_folds=2, plugins=["logreg", "gaussian_nb", "svm"])
    runs = [search(dataset_path("iris"), SearchSettings(**settings, trial_timeout=t), run_dir=tmp_path / str(i)).leaderboard
            for i, t in enumerate((None, 120.0))]
    entries = [_ensemble_entry(b) for b in runs]
    assert [f["members"] for f in entries[0]["folds"]] == [f["members"] for f in entries[1]["folds"]]
    assert entries[0]["outer_scores"] == entries[1]["outer_scores"]


@pytest.mark.slow
def test_no_ensemble_setting_gives_no_ensemble_row(dataset_path, tmp_path):
    from sklearn.pipeline import Pipeline

    result = search(dataset_path("iris"), SearchSettings(trials=4, outer="kfold:2", inner_folds=2, ensemble=False,
                                                         plugins=["logreg", "gaussian_nb", "svm"]), run_dir=tmp_path)
    board = lb.validate(result.leaderboard)
    assert board["protocol"]["ensemble"] is False
    assert "ensemble" not in {e["family"] for e in board["entries"]} | set(board["best"]["families"])
    assert "members" not in board["final"] and isinstance(result.pipeline.estimator_, Pipeline)
