"""What README.md promises about ``abauto search`` and ``abauto plugins``, one command-line test
each, on small real data: --resume, --trial-timeout, --memory-limit, --timeout, --exclude,
--report, --json, plugins --check, --groups.

The misbehaving plugins of tests/bad_plugins.py come in as a third party's would: built into a
distribution with an ``abauto`` entry point, installed into a private folder, loaded by a
``python -m abauto.cli`` subprocess because ``ABAUTO_LOAD_PLUGINS`` names it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from _install import pip_install_target, run_abauto, write_distribution
from abauto.data import load_dataset
from abauto.folds import folds_fingerprint, inner_splits, outer_splits
from abauto.settings import SearchSettings

TINY = ["--outer", "kfold:2", "--inner-folds", "2", "--quiet"]
BAD = "abauto-test-bad-plugins"
CHEAP = "logreg,gaussian_nb"


def trials_of(run: Path) -> dict[str, list[optuna.trial.FrozenTrial]]:
    """Every trial of every study in a run folder's study.db, by study name."""
    storage = f"sqlite:///{run / 'study.db'}"
    return {s.study_name: optuna.load_study(study_name=s.study_name, storage=storage).get_trials(deepcopy=False)
            for s in optuna.get_all_study_summaries(storage)}


def board_of(run: Path) -> dict:
    return json.loads((run / "leaderboard.json").read_text())


@pytest.fixture(scope="module")
def bad_site(tmp_path_factory):
    """A folder with tests/bad_plugins.py installed as the plugin distribution ``BAD``."""
    tmp = tmp_path_factory.mktemp("bad")
    source = (Path(__file__).parent / "bad_plugins.py").read_text()
    dist = write_distribution(tmp / "dist", BAD, "0.0.1", "abauto_test_bad_plugins", source)
    pip_install_target(tmp / "site", dist)
    return tmp / "site"


def bad_search(bad_site, data, out, *options):
    """``abauto search`` in a subprocess that loads the bad plugins; returns (process, seconds)."""
    t0 = time.monotonic()
    done = run_abauto(bad_site, "search", str(data), *options, "--out", str(out), "--quiet",
                      env={"ABAUTO_LOAD_PLUGINS": BAD}, timeout=300)
    return done, time.monotonic() - t0


# ----------------------------------------------------------------------------------------- search

@pytest.mark.slow
def test_resume_continues_a_run_folder(dataset_path, tmp_path, cli):
    run = tmp_path / "run"
    code, _, err = cli("search", dataset_path("iris"), "--plugins", CHEAP, "--trials", "2", *TINY, "--out", run)
    assert code == 0, err
    first = board_of(run)
    assert first["trials"]["total"] == 2 * 3  # 2 outer studies + the final one
    kept = {(name, t.number): (t.params, t.value) for name, trials in trials_of(run).items() for t in trials}

    code, _, err = cli("search", "--resume", run, "--trials", "5", "--quiet")
    assert code == 0, err
    board = board_of(run)
    assert board["protocol"]["trials"] == 5 and board["trials"]["total"] == 5 * 3  # 6 kept + 9 new
    assert board["created"] != first["created"]
    assert json.loads((run / "run.json").read_text())["settings"]["trials"] == 5
    now = trials_of(run)
    assert sorted(now) == sorted({name for name, _ in kept}) and all(len(t) == 5 for t in now.values())
    for (name, number), (params, value) in kept.items():  # the first run's trials are kept, not rerun
        assert (now[name][number].params, now[name][number].value) == (params, value)
    # the settings and data come from the run folder: the plugins stayed restricted
    assert {e["family"] for e in board["entries"]} - {"ensemble"} <= set(CHEAP.split(","))


@pytest.mark.slow
def test_trial_timeout_stops_a_hanging_plugin(bad_site, dataset_path, tmp_path):
    done, seconds = bad_search(bad_site, dataset_path("iris"), tmp_path / "run", "--plugins", "sleeps,gaussian_nb",
                               "--trials", "4", "--outer", "holdout:0.3", "--inner-folds", "2",
                               "--trial-timeout", "2")
    assert done.returncode == 0, done.stderr
    board = board_of(tmp_path / "run")
    failures = board["failures"]
    # every study starts each family from its defaults: "sleeps" ran (and hung) in both studies
    assert len(failures) >= 2 and all(f["plugin"] == "sleeps" and "TrialTimeout" in f["error"] for f in failures)
    assert board["final"]["family"] == "gaussian_nb"
    assert seconds < 120, seconds  # fit() sleeps for an hour


@pytest.mark.slow
def test_memory_limit_stops_a_hungry_plugin(bad_site, dataset_path, tmp_path):
    done, seconds = bad_search(bad_site, dataset_path("iris"), tmp_path / "run", "--plugins", "hungry,gaussian_nb",
                               "--trials", "4", "--outer", "holdout:0.3", "--inner-folds", "2",
                               "--memory-limit", "1G", "--trial-timeout", "120")
    assert done.returncode == 0, done.stderr
    board = board_of(tmp_path / "run")
    failures = board["failures"]
    assert len(failures) >= 2 and all(f["plugin"] == "hungry" and "MemoryError" in f["error"] for f in failures)
    assert board["final"]["family"] == "gaussian_nb"
    assert seconds < 120, seconds  # far below the trial timeout: the memory cap stopped it


@pytest.mark.slow
def test_timeout_bounds_a_real_search(dataset_path, tmp_path, cli):
    budget, seconds_per_study = 10_000, 3
    t0 = time.monotonic()
    code, _, err = cli("search", dataset_path("wine"), "--plugins", "logreg,gaussian_nb,knn",
                       "--trials", budget, "--timeout", seconds_per_study, *TINY, "--out", tmp_path / "run")
    wall = time.monotonic() - t0
    assert code == 0, err
    board = board_of(tmp_path / "run")
    assert board["protocol"]["timeout"] == seconds_per_study
    studies = trials_of(tmp_path / "run")
    assert len(studies) == 3 and all(0 < len(t) < budget for t in studies.values())
    for trials in studies.values():  # each study stopped within a few seconds of its deadline
        starts = [t.datetime_start for t in trials if t.datetime_start]
        ends = [t.datetime_complete for t in trials if t.datetime_complete]
        assert (max(ends) - min(starts)).total_seconds() < seconds_per_study + 10
    assert wall < 3 * seconds_per_study + 60, wall  # 3 studies, plus the refits and the final fit


@pytest.mark.slow
def test_exclude_keeps_a_family_out_of_every_trial(dataset_path, tmp_path, cli):
    code, _, err = cli("search", dataset_path("iris"), "--exclude", "knn,standard", "--trials", "8", *TINY,
                       "--out", tmp_path / "run")
    assert code == 0, err
    board = board_of(tmp_path / "run")
    assert board["protocol"]["exclude"] == ["knn", "standard"]
    assert "knn" not in {e["family"] for e in board["entries"]} and len(board["entries"]) >= 3
    text = json.dumps({k: v for k, v in board.items() if k != "protocol"})  # the protocol names them
    assert '"knn' not in text and '"standard"' not in text  # no pipeline step or member anywhere
    seen = 0
    for trials in trials_of(tmp_path / "run").values():
        for t in trials:
            values = [v for v in t.params.values() if isinstance(v, str)]
            assert "knn" not in values and "standard" not in values, t.params
            assert not any(k.startswith("knn.") for k in t.params), t.params
            seen += 1
    assert seen == 8 * 3


def test_report_writes_report_html(dataset_path, tmp_path, cli):
    code, _, err = cli("search", dataset_path("iris"), "--plugins", CHEAP, "--trials", "2", *TINY, "--report",
                       "--out", tmp_path / "run")
    assert code == 0, err
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<h1>abauto report: iris</h1>" in html
    assert f"{board_of(tmp_path / 'run')['best']['outer_mean']:.4f}" in html


def test_json_prints_the_leaderboard_and_nothing_else(dataset_path, tmp_path, cli):
    from abauto import leaderboard

    code, out, err = cli("search", dataset_path("iris"), "--plugins", CHEAP, "--trials", "2", "--outer", "kfold:2",
                         "--inner-folds", "2", "--json", "--out", tmp_path / "run")  # no --quiet
    assert code == 0, err
    printed = json.loads(out)  # the whole of stdout is one JSON document
    assert leaderboard.validate(printed) == printed
    assert printed == board_of(tmp_path / "run")
    assert err == ""  # no progress bar or table either


def test_groups_never_straddle_an_outer_or_inner_split(dataset_path, tmp_path, cli):
    frame = pd.read_csv(dataset_path("wine"))
    frame["album"] = [f"a{i // 4}" for i in range(len(frame))]  # groups of 4 rows
    data = tmp_path / "grouped.csv"
    frame.to_csv(data, index=False)
    run = tmp_path / "run"
    code, _, err = cli("search", data, "--groups", "album", "--plugins", CHEAP, "--trials", "2",
                       "--outer", "kfold:3", "--inner-folds", "3", "--quiet", "--out", run)
    assert code == 0, err
    board = board_of(run)
    assert board["protocol"]["grouped"] is True
    assert "album" not in [f["name"] for f in json.loads((run / "model-card.json").read_text())["features"]]
    meta = json.loads((run / "run.json").read_text())
    dataset = load_dataset(data, groups="album")
    settings = SearchSettings(**meta["settings"])
    jobs, _ = outer_splits(dataset, settings)
    assert folds_fingerprint(jobs, dataset.y) == board["protocol"]["folds_sha256"]  # the search's own folds
    groups = np.asarray(dataset.groups)
    for job in jobs:
        if job.test is not None:
            assert not set(groups[job.train]) & set(groups[job.test]), job.name
        for inner_train, inner_test in inner_splits(job.train, dataset.y, settings, groups):
            rows_train, rows_test = job.train[inner_train], job.train[inner_test]
            assert not set(groups[rows_train]) & set(groups[rows_test]), job.name
    # without --groups the same seed does put albums on both sides (so the check above can fail)
    plain, _ = outer_splits(load_dataset(data, drop=["album"]), settings)
    assert any(set(groups[j.train]) & set(groups[j.test]) for j in plain if j.test is not None)
    # an outer holdout is grouped too, and about its share of the rows
    holdout = SearchSettings(**{**meta["settings"], "outer": "holdout:0.25"})
    (job,), notes = outer_splits(dataset, holdout)
    assert not set(groups[job.train]) & set(groups[job.test]) and 0.2 < len(job.test) / len(groups) < 0.3
    assert any(n.startswith("grouped holdout") for n in notes), notes
    (job,), _ = outer_splits(load_dataset(data, drop=["album"]), holdout)
    assert set(groups[job.train]) & set(groups[job.test])


# ----------------------------------------------------------------------------------------- plugins

@pytest.mark.slow
def test_plugins_check_exit_codes(bad_site):
    env = {"ABAUTO_LOAD_PLUGINS": BAD, "COLUMNS": "400"}  # rich wraps at 80 columns without a terminal
    broken = run_abauto(bad_site, "plugins", "--check", "raises", env=env, timeout=300)
    assert broken.returncode == 1, broken.stderr
    assert broken.stderr.startswith("FAIL raises: build returned Raises, not a scikit-learn classifier"), broken.stderr
    assert broken.stdout == ""
    good = run_abauto(bad_site, "plugins", "--check", "gaussian_nb", env=env, timeout=300)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK gaussian_nb: 20 configurations fitted")
    unknown = run_abauto(bad_site, "plugins", "--check", "nope", env=env, timeout=300)
    assert unknown.returncode == 2 and unknown.stderr.strip() == \
        "abauto: error: no plugin or loader named 'nope' (see 'abauto plugins')"
