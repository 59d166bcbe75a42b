"""Scale-out: `abauto search` plus `abauto worker` processes share one search's studies through a
real PostgreSQL server (ABAUTO_TEST_POSTGRES, started by .ci/postgres.sh) or a journal file.

Every study ends with exactly its budget of counted trials, the leaderboard the search wrote is
what a single process computes from the stored trials, and a worker SIGKILLed mid-trial has its
trial failed (stale heartbeat; journal file: dead process id) and retried by another process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest

from abauto import leaderboard as lb
from abauto.cli import _load_inputs
from abauto.search_engine import SearchSettings, features, folds_fingerprint, outer_splits, score_study
from abauto.studies import counts, make_storage
from abauto.space import PipelineSpace

S = optuna.trial.TrialState
BUDGET = 16  # the seeds (4 families at their defaults) are quick: leave the workers sampled trials
# Heartbeat every second, stale after 3 s (default 10 s / 30 s), so the killed trial is retried soon.
ENV = {**os.environ, "ABAUTO_HEARTBEAT_INTERVAL": "1", "ABAUTO_HEARTBEAT_GRACE": "3", "PYTHONUNBUFFERED": "1"}
pytestmark = pytest.mark.slow


def _storage(kind: str, tmp_path: Path) -> str:
    if kind == "journal":
        return f"journal:{tmp_path / 'journal.log'}"
    url = os.environ.get("ABAUTO_TEST_POSTGRES")
    if not url:
        pytest.skip("ABAUTO_TEST_POSTGRES is not set: start a server with `eval \"$(.ci/postgres.sh)\"` (.ci/run does)")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver: pip install -e '.[postgres]'")
    return url


def _abauto(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "abauto.cli", *args], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))


def _studies(storage: str, name: str) -> dict[str, optuna.Study]:
    st = make_storage(storage)
    return {s.study_name: optuna.load_study(study_name=s.study_name, storage=st)
            for s in optuna.get_all_study_summaries(st) if s.study_name.startswith(name + ".")}


def _kill_mid_trial(proc: subprocess.Popen, storage: str, name: str, deadline: float) -> tuple[str, optuna.trial.FrozenTrial]:
    """SIGKILL ``proc`` while the storage shows it running a trial (after it finished one, so the
    worker is seen sharing the study); the study and trial it was running."""
    me = f"{os.uname().nodename}:{proc.pid}"
    finished = False
    while time.monotonic() < deadline and proc.poll() is None:
        for study in _studies(storage, name).values():
            mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("worker") == me]
            finished = finished or any(t.state in (S.COMPLETE, S.PRUNED) for t in mine)
            running = [t for t in mine if t.state == S.RUNNING]
            if finished and running:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                trial = study._storage.get_trial(running[0]._trial_id)
                if trial.state == S.RUNNING:  # killed before the trial could finish
                    return study.study_name, trial
        time.sleep(0.05)
    pytest.fail("the worker to kill never ran a second trial: the search finished too soon (raise BUDGET?)")


def _content(board: dict) -> dict:
    """The leaderboard without what differs between two computations of the same trials:
    timestamps, timings, the command line, and abandoned trials (a killed worker's, or the
    over-budget trials a worker may start after the search wrote its leaderboard)."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if k not in ("created", "command", "abandoned") and not k.endswith("_seconds")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(board)


def _single_process_board(run: Path, studies: dict[str, optuna.Study]) -> dict:
    """What one process records for these trials: score every study's best per family on its
    outer test part and build the leaderboard, as `abauto search` does after its last trial."""
    meta = json.loads((run / "run.json").read_text())
    settings = SearchSettings(**meta["settings"])
    dataset = _load_inputs(meta["inputs"])
    space = PipelineSpace.for_search(dataset, settings)
    jobs, notes = outer_splits(dataset, settings)
    X, y = features(dataset), dataset.y
    ordered = [studies[j.name] for j in jobs]
    outcomes = [score_study(j, s, space, X, y, settings, dataset.groups) for j, s in zip(jobs, ordered)]
    return lb.build(dataset, settings, outcomes, ordered, notes=notes + dataset.notes,
                    folds_sha256=folds_fingerprint(jobs, y))


@pytest.mark.parametrize("kind", ["postgres", "journal"])
def test_search_and_two_workers_share_one_search(kind, dataset_path, tmp_path):
    storage = _storage(kind, tmp_path)
    name = f"scale-{uuid.uuid4().hex[:8]}"  # a fresh search in a server that may hold others
    run = tmp_path / "run"
    t0 = time.monotonic()
    search = _abauto("search", str(dataset_path("wine")), "--trials", str(BUDGET), "--outer", "kfold:2",
                     "--inner-folds", "2", "--plugins", "logreg,gaussian_nb,knn,random_forest,standard",
                     "--storage", storage, "--study-name", name, "--out", str(run), "--quiet",
                     log=tmp_path / "search.log")
    workers = [_abauto("worker", "--storage", storage, "--study-name", name, "--wait", "120",
                       log=tmp_path / f"worker{i}.log") for i in range(2)]
    procs = [search, *workers]
    try:
        killed_study, killed = _kill_mid_trial(workers[1], storage, name, t0 + 150)
        for p, label in ((search, "search"), (workers[0], "worker0")):
            assert p.wait(timeout=max(10, t0 + 200 - time.monotonic())) == 0, \
                (tmp_path / f"{label}.log").read_text()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    studies = _studies(storage, name)
    assert sorted(studies) == [f"{name}.final", f"{name}.outer0", f"{name}.outer1"]
    pids = {str(p.pid) for p in procs}
    for study_name, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        counted = [t for t in trials if counts(t)]
        assert len(counted) == BUDGET, (study_name, [(t.number, t.state.name, t.user_attrs) for t in trials])
        assert not [t for t in trials if t.state == S.RUNNING], study_name
        # a worker asks for a trial only while a place is free: over-budget trials need a race
        assert sum("over_budget" in t.user_attrs for t in trials) <= 2, (study_name, len(trials))
        # every trial counted once: no failed trial's retry ran twice
        retries = [t.system_attrs["failed_trial"] for t in counted if "failed_trial" in t.system_attrs]
        assert len(retries) == len(set(retries)), (study_name, retries)
        assert {t.user_attrs["worker"].rpartition(":")[2] for t in trials if "worker" in t.user_attrs} <= pids
    # the processes shared the work: each of the three ran trials
    ran = {t.user_attrs["worker"].rpartition(":")[2] for s in studies.values() for t in s.get_trials(deepcopy=False)
           if counts(t)}
    assert ran == pids, (ran, pids)
    # the killed worker's trial was failed and retried; the retry counts
    after = studies[killed_study]._storage.get_trial(killed._trial_id)
    assert after.state == S.FAIL and counts(after) is False
    retry = [t for t in studies[killed_study].get_trials(deepcopy=False) if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retry) == 1 and counts(retry[0]), [(t.number, t.state.name) for t in retry]
    assert all(retry[0].params.get(k) == v for k, v in killed.params.items())  # the same configuration

    board = json.loads((run / "leaderboard.json").read_text())
    assert board["trials"]["total"] == 3 * BUDGET and board["trials"]["abandoned"] >= 1
    assert _content(board) == _content(_single_process_board(run, studies))


def test_worker_refuses_data_with_other_folds(dataset_path, tmp_path):
    """A worker whose copy of the data is another file (here: the rows reversed) stops with an
    error instead of scoring trials on other rows than the search's."""
    import pandas as pd

    from abauto.studies import open_study

    storage = f"journal:{tmp_path / 'journal.log'}"
    settings = SearchSettings(trials=2, outer="kfold:2", inner_folds=2, plugins=["gaussian_nb"],
                              storage=storage, study_name="refuse")
    dataset = _load_inputs({"data": str(dataset_path("wine"))})
    jobs, _ = outer_splits(dataset, settings)
    meta = {"inputs": {"data": str(dataset_path("wine"))}, "settings": {**settings.__dict__, "plugins": ["gaussian_nb"]},
            "folds_sha256": folds_fingerprint(jobs, dataset.y)}
    for j in jobs:
        open_study(j.name, settings, 0).set_user_attr("abauto", meta)
    reversed_copy = tmp_path / "wine.csv"
    pd.read_csv(dataset_path("wine")).iloc[::-1].to_csv(reversed_copy, index=False)
    done = subprocess.run([sys.executable, "-m", "abauto.cli", "worker", "--storage", storage, "--study-name", "refuse",
                           "--data", str(reversed_copy), "--wait", "5"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "other outer folds" in done.stderr, done.stderr
    assert not [t for j in jobs for t in open_study(j.name, settings, 0).get_trials(deepcopy=False)]
