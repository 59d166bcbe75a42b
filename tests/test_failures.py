"""Searches where studies complete no trial, and trials that hang, through the real command line:
what completed is kept and written, the error names each failed study and its first error, the
exit code says whether a model was saved; a hung fit cannot outlive ``--timeout``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import optuna
import pytest

from abauto import leaderboard as lb
from abauto.cli import main
from abauto.objective import grace
from abauto.registry import load_registry

sys.path.insert(0, str(Path(__file__).parent))
import bad_plugins  # noqa: E402


@pytest.fixture
def bad_registry(monkeypatch):
    """``abauto search`` sees the built-ins plus tests/bad_plugins.py."""
    monkeypatch.setattr("abauto.search_engine.load_registry", lambda: load_registry(extra=[bad_plugins]))


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_every_study_failing(dataset_path, tmp_path, capsys, bad_registry):
    out = tmp_path / "r"
    code, stdout, err = run_cli(["search", dataset_path("iris"), "--plugins", "raises", "--trials", "2",
                                 "--outer", "kfold:2", "--inner-folds", "2", "--out", out], capsys)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("abauto: error: no study completed a trial"), err
    assert "abauto.outer0, abauto.outer1, abauto.final: RuntimeError: boom from a buggy plugin (plugin raises)" in err
    assert "Traceback" not in err and "internal error" not in err
    assert "run folder" in stdout  # the table and the score line printed without a score
    board = lb.load(out / "leaderboard.json")  # valid against the schema
    assert board["final"] is None and board["best"]["outer_mean"] is None
    assert len(board["failures"]) == 6 and {f["study"] for f in board["failures"]} == {
        "abauto.outer0", "abauto.outer1", "abauto.final"}
    assert (out / "leaderboard.md").exists() and not (out / "best_pipeline.skops").exists()


def test_only_the_final_study_failing(dataset_path, tmp_path, capsys, bad_registry):
    """fails_on_many fits the outer folds' 50 and 75 rows but not the final study's 100."""
    out = tmp_path / "r"
    code, _, err = run_cli(["search", dataset_path("iris"), "--plugins", "fails_on_many", "--trials", "2",
                            "--outer", "kfold:2", "--inner-folds", "3", "--out", out, "--quiet"], capsys)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "the final study completed no trial, so no final model was saved" in lines[0], err
    assert "abauto.final: RuntimeError: refuses more than 80 rows (plugin fails_on_many)" in lines[0]
    assert "abauto.outer" not in lines[0] and str(out / "leaderboard.json") in lines[0]
    board = lb.load(out / "leaderboard.json")
    assert board["final"] is None
    assert board["best"]["outer_mean"] is not None and all(s is not None for s in board["best"]["outer_scores"])
    assert {f["study"] for f in board["failures"]} == {"abauto.final"}
    assert "fails_on_many" in (out / "leaderboard.csv").read_text()
    assert not (out / "best_pipeline.skops").exists() and not (out / "model-card.json").exists()


@pytest.mark.slow
def test_hung_trial_is_stopped_by_the_time_budget(dataset_path, tmp_path, capsys, bad_registry):
    """Without --trial-timeout, a fit that never returns ends at the study's --timeout (plus the
    grace), pruned like any trial the time budget stopped; the search completes."""
    out, budget = tmp_path / "r", 5
    t0 = time.perf_counter()
    code, _, err = run_cli(["search", dataset_path("iris"), "--plugins", "sleeps,gaussian_nb", "--sampler", "random",
                            "--trials", "1000", "--timeout", budget, "--outer", "holdout:0.3", "--inner-folds", "2",
                            "--seed", "0", "--out", out, "--quiet"], capsys)
    elapsed = time.perf_counter() - t0
    assert code == 0, err
    assert elapsed < 40, f"two studies of {budget} s took {elapsed:.0f} s"
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["failures"] == [] and board["final"]["family"] == "gaussian_nb"
    storage = f"sqlite:///{out / 'study.db'}"
    hung = [t for s in optuna.get_all_study_summaries(storage)
            for t in optuna.load_study(study_name=s.study_name, storage=storage).get_trials()
            if t.user_attrs.get("family") == "sleeps"]
    assert hung, "the sleeping plugin was never sampled; change the seed"
    for t in hung:
        assert t.state == optuna.trial.TrialState.PRUNED
        assert t.duration.total_seconds() < budget + grace(budget) + 5


def _pids(n):
    """``n`` times this process's id; raises for n < 0, hangs for n = 99."""
    import os

    if n < 0:
        raise ValueError("negative")
    if n == 99:
        time.sleep(60)  # a fit that does not return in time
    for _ in range(n):
        yield os.getpid()


def test_worker_keeps_its_child_until_a_limit_kills_it():
    from abauto.isolation import ChildError, PastDeadline, TrialTimeout, Worker

    worker = Worker(_pids)
    try:
        first = list(worker.run(3))
        assert len(set(first)) == 1 and list(worker.run(2)) == first[:2]  # one child for both runs
        results = worker.run(5)
        assert next(results) == first[0]
        results.close()  # pruned after one item: the child stops that run and waits for the next
        assert list(worker.run(1)) == first[:1]
        with pytest.raises(ChildError, match="ValueError: negative"):
            list(worker.run(-1))
        assert list(worker.run(1)) == first[:1]  # an exception in the run keeps the child
        t0 = time.monotonic()
        with pytest.raises(PastDeadline):
            list(worker.run(99, deadline=time.monotonic() + 0.5))
        with pytest.raises(TrialTimeout, match="--trial-timeout 0.5"):
            list(worker.run(99, timeout=0.5, deadline=time.monotonic() + 30))
        assert time.monotonic() - t0 < 10
        again = list(worker.run(1))
        assert again != first[:1]  # killed at its limit: a new child
    finally:
        worker.close()
    assert worker.proc is None
