"""Reliability: a failing, hanging or memory-hungry plugin costs its trials only; a killed search
resumes with every finished trial kept; models load only from trusted skops files."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import abauto
from abauto.model import ModelError, load_model
from abauto.registry import load_registry
from abauto.search_engine import SearchSettings

sys.path.insert(0, str(Path(__file__).parent))
import bad_plugins  # noqa: E402


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
    assert board["trials"]["complete"] + board["trials"]["pruned"] + len(failures) == board["trials"]["total"] == 12
    assert board["final"]["family"] == "gaussian_nb" and result.pipeline is not None


def test_every_trial_failing_exits_1(dataset_path, tmp_path, monkeypatch):
    from abauto.cli import main

    monkeypatch.setattr("abauto.search_engine.load_registry", lambda: load_registry(extra=[bad_plugins]))
    with pytest.raises(SystemExit) as exc:
        main(["search", str(dataset_path("iris")), "--plugins", "raises", "--trials", "2", "--outer", "holdout:0.3",
              "--inner-folds", "3", "--out", str(tmp_path / "r"), "--quiet"])
    assert exc.value.code == 1
    board = json.loads((tmp_path / "r" / "leaderboard.json").read_text())
    assert board["final"] is None and len(board["failures"]) == 4


def _trials(run: Path) -> dict[str, list]:
    storage = f"sqlite:///{run / 'study.db'}"
    out = {}
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        out[summary.study_name] = study.get_trials(deepcopy=False)
    return out


def _complete(run: Path) -> dict[tuple[str, int], tuple]:
    if not (run / "study.db").exists():
        return {}
    try:
        return {(name, t.number): (t.params, t.value) for name, trials in _trials(run).items()
                for t in trials if t.state == optuna.trial.TrialState.COMPLETE}
    except Exception:  # the database is being created
        return {}


def test_sigkill_and_resume_five_times(dataset_path, tmp_path):
    """Kill a real search at five moments; each resume keeps every finished trial."""
    run = tmp_path / "run"
    budget = 6
    args = [sys.executable, "-m", "abauto.cli", "search", str(dataset_path("wine")), "--trials", str(budget),
            "--outer", "kfold:2", "--inner-folds", "2", "--plugins", "logreg,gaussian_nb,knn,standard",
            "--out", str(run), "--quiet"]
    kept: dict[tuple[str, int], tuple] = {}
    # Five different moments: after the next trial finishes, plus 0 to 2 s (machine-speed neutral).
    for extra in (0.0, 0.5, 1.0, 1.5, 2.0):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None and len(_complete(run)) <= len(kept):
            time.sleep(0.2)
        time.sleep(extra)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kept.update(_complete(run))
        for path in run.glob("*.json"):
            json.loads(path.read_text())  # every JSON file that exists parses
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    final = _trials(run)
    for (name, number), (params, value) in kept.items():
        t = final[name][number]
        assert t.state == optuna.trial.TrialState.COMPLETE and t.params == params and t.value == value
    for name, trials in final.items():
        counted = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
        assert len(counted) == budget, (name, [t.state for t in trials])
        assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert kept, "no trial finished before the kills; raise the delays"
    for path in run.glob("*.json"):
        json.loads(path.read_text())
    assert not list(run.glob(".*.tmp")), "no temporary file may be left behind"


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
