"""Reliability: a failing, hanging or memory-hungry plugin costs its trials only; a killed search
resumes with every finished trial kept; models load only from trusted skops files."""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
from pathlib import Path

import optuna
import pytest

import abauto
from abauto.model import ModelError, load_model
from abauto.registry import load_registry
from abauto.search_engine import SearchSettings
from abauto.studies import COUNTED

ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(Path(__file__).parent))
import bad_plugins  # noqa: E402

_spec = importlib.util.spec_from_file_location("abauto_benchmark_resume", ROOT / "benchmarks" / "resume.py")
resume_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(resume_bench)


def _search(dataset_path, tmp_path, bad: str, **kw):
    registry = load_registry(extra=[bad_plugins])
    settings = SearchSettings(trials=6, outer="holdout:0.3", inner_folds=3, sampler="random", seed=1,
                              plugins=[bad, "gaussian_nb"], prune=False, **kw)
    return abauto.search(dataset_path("iris"), settings, run_dir=tmp_path / bad, registry=registry)


@pytest.mark.parametrize("bad,options,error", [
    ("raises", {}, "RuntimeError: boom from a buggy plugin"),
    ("sleeps", {"trial_timeout": 3}, "TrialTimeout"),
    ("hungry", {"memory_limit": "1G", "trial_timeout": 60}, "MemoryError"),
])
def test_bad_plugin_costs_only_its_trials(dataset_path, tmp_path, bad, options, error):
    result = _search(dataset_path, tmp_path, bad, **options)
    board = result.leaderboard
    failures = board["failures"]
    assert failures, "the bad plugin was never sampled; change the seed"
    assert all(f["plugin"] == bad and error in f["error"] for f in failures), failures
    assert board["trials"]["failed"] == len(failures)
    # one study: under --outer holdout it also selects the final model
    assert board["trials"]["complete"] + board["trials"]["pruned"] + len(failures) == board["trials"]["total"] == 6
    assert board["final"]["family"] == "gaussian_nb" and result.pipeline is not None


def test_every_trial_failing_exits_1(dataset_path, tmp_path, monkeypatch):
    from abauto.cli import main

    monkeypatch.setattr("abauto.search_engine.load_registry", lambda: load_registry(extra=[bad_plugins]))
    with pytest.raises(SystemExit) as exc:
        main(["search", str(dataset_path("iris")), "--plugins", "raises", "--trials", "2", "--outer", "holdout:0.3",
              "--inner-folds", "3", "--out", str(tmp_path / "r"), "--quiet"])
    assert exc.value.code == 1
    board = json.loads((tmp_path / "r" / "leaderboard.json").read_text())
    assert board["final"] is None and len(board["failures"]) == 2  # 2 trials of the holdout's one study


def _trials(run: Path) -> dict[str, list[tuple]]:
    """Every trial of every study in ``run``/study.db as (number, state, params, value), by study;
    read while no search runs there."""
    storage = f"sqlite:///{run / 'study.db'}"
    return {s.study_name: [(t.number, t.state, t.params, t.value)
                           for t in optuna.load_study(study_name=s.study_name, storage=storage).get_trials()]
            for s in optuna.get_all_study_summaries(storage)}


@pytest.mark.slow
def test_sigkill_and_resume_five_times_gives_the_uninterrupted_leaderboard(dataset_path, tmp_path):
    """Kill a real search mid-run five times (in the seeded first trials, the random start-up and the
    TPE phase; in each of the three studies), resume it each time: every finished trial is kept, and
    the end is the uninterrupted search's trials, leaderboard and model card, field by field."""
    budget = 12  # per study: 2 outer folds + the final study = 36 trials
    args = resume_bench.search_args(dataset_path("wine"), budget, seed=0, plugins="logreg,gaussian_nb,knn,standard")
    resume_bench.run(resume_bench.abauto(*args, "--out", str(tmp_path / "whole")))
    snapshots = []
    at = resume_bench.kill_and_resume(args, tmp_path / "killed", [2, 9, 17, 26, 33],
                                      on_kill=lambda run: snapshots.append(_trials(run)))
    assert all(a < 3 * budget for a in at), at  # each kill hit a running search (checked alive before it)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    final = _trials(killed)
    for snapshot in snapshots:  # every resume kept every trial finished before the kill
        for name, trials in snapshot.items():
            assert final[name][:len(trials)] == trials, name
    assert final == _trials(whole)  # trial by trial: numbers, states, params, values
    for name, trials in final.items():
        assert len(trials) == budget and all(t[1] in COUNTED for t in trials), (name, trials)
    for file in ("leaderboard.json", "model-card.json"):
        a, b = (json.loads((run / file).read_text()) for run in (whole, killed))
        assert resume_bench.differences(a, b) == [], file
    assert (killed / "report.txt").read_text() == (whole / "report.txt").read_text()
    for path in killed.glob("*.json"):
        json.loads(path.read_text())
    assert not list(killed.glob(".*.tmp")), "no temporary file may be left behind"


def test_leaderboard_differences_name_the_field():
    a = {"best": {"outer_scores": [0.9, 0.8]}, "wall_seconds": 3.0, "entries": [{"fit_seconds": 1.0, "family": "knn"}]}
    b = {"best": {"outer_scores": [0.9, 0.7]}, "wall_seconds": 9.0, "entries": [{"fit_seconds": 2.0, "family": "knn"}]}
    assert resume_bench.differences(a, b) == ["/best/outer_scores/1: 0.8 != 0.7"]
    assert resume_bench.differences({"x": 1}, {"x": 1.0}) == ["/x: 1 != 1.0"]
    assert resume_bench.differences({"x": [1]}, {"x": [1, 2], "y": 0}) == ["/x: 1 != 2 items", "/y: only in the second"]


def test_models_load_only_from_trusted_skops(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    import skops.io as sio

    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelError, match="pickle/joblib files are refused"):
        load_model(pkl)
    good = tmp_path / "good.skops"
    sio.dump(make_pipeline(StandardScaler(), SVC()), good)
    pipeline, card = load_model(good)
    assert card is None and pipeline.steps[-1][0] == "svc"
    evil = tmp_path / "evil.skops"
    sio.dump(make_pipeline(StandardScaler(), bad_plugins.Raises()), evil)
    with pytest.raises(ModelError, match="untrusted type 'bad_plugins.Raises'"):
        load_model(evil)
