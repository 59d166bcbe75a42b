"""Long work is visible in a log: with output not a terminal, ``abauto search`` and ``abauto
worker`` print a line when they start, one per finished study and one every
``ABAUTO_LOG_EVERY`` seconds on stdout; a terminal gets the rich bar instead; ``--quiet`` and
``--json`` print none of it."""

from __future__ import annotations

import json
import re
import time

import optuna
import pytest

from abauto.folds import outer_splits
from abauto.folds import FoldOutcome
from abauto.progress import LOG_EVERY, SearchProgress, log_every
from abauto.settings import SearchSettings

TINY = ["--trials", "4", "--plugins", "logreg,gaussian_nb", "--outer", "kfold:2", "--inner-folds", "2"]
LINE = re.compile(r"^abauto (search|worker) \[\d+:\d\d:\d\d\] (.*)$")
EVERY = 0.2  # seconds between periodic lines in these tests


def _lines(out: str, what: str = "search") -> list[str]:
    return [m.group(2) for m in map(LINE.match, out.splitlines()) if m and m.group(1) == what]


def _periodic(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"\d+(/\d+)? trials", line)]


@pytest.mark.parametrize("columns", ["80", "160"])
def test_search_prints_study_and_periodic_lines_in_a_log(columns, dataset_path, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("ABAUTO_LOG_EVERY", str(EVERY))
    run = tmp_path / "a-run-folder-with-a-name-long-enough-to-wrap-at-eighty-columns"
    t0 = time.monotonic()
    code, out, err = cli("search", dataset_path("iris"), *TINY, "--out", run)
    took = time.monotonic() - t0
    assert code == 0, err
    lines = _lines(out)
    # whole lines (never wrapped to the console's width), before the leaderboard table
    assert lines[0] == f"iris: 150 rows, 4 features, 3 classes, read in {lines[0].split('read in ')[1].split(';')[0]}; " \
                       f"2 outer fold(s) and the final study; run folder {run}"
    assert out.index("abauto search [") < out.index("best pipeline per classifier family")
    done = [line for line in lines if " done (" in line]
    assert [d.split(" done")[0] for d in done] == ["outer fold 1 of 2", "outer fold 2 of 2", "final study"]
    assert re.search(r"^outer fold 1 of 2 done \(1 of 3 studies, \d+ trials so far\): best \w+, "
                     r"inner balanced_accuracy 0\.\d{4}, outer 0\.\d{4}$", done[0]), done[0]
    assert "12 trials so far" in done[2]  # 4 trials x 3 studies, all seen by then
    if took > 10 * EVERY:  # the ticker starts after the data is read: leave it time for a line
        assert _periodic(lines), lines
    for line in _periodic(lines):
        assert re.match(r"\d+/12 trials, ", line), line
    assert "abauto search [" not in err


def test_quiet_and_json_print_no_progress(dataset_path, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("ABAUTO_LOG_EVERY", str(EVERY))
    code, out, err = cli("search", dataset_path("iris"), *TINY, "--out", tmp_path / "q", "--quiet")
    assert code == 0 and out == "" and err == ""
    code, out, err = cli("search", dataset_path("iris"), *TINY, "--out", tmp_path / "j", "--json")
    assert code == 0 and json.loads(out)["dataset"]["name"] == "iris"  # stdout holds the JSON alone


def test_a_terminal_gets_the_bar_not_the_lines(dataset_path, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: the (captured) output is a terminal
    monkeypatch.setenv("ABAUTO_LOG_EVERY", str(EVERY))
    code, out, err = cli("search", dataset_path("iris"), *TINY, "--out", tmp_path / "t")
    assert code == 0, err
    assert not _lines(out) and not _lines(err)
    assert "\x1b[?25l" in err  # rich's live display began (hides the cursor); transient, it leaves no line


@pytest.mark.slow  # --n-jobs 2 starts worker processes: about 10 s on a busy machine
def test_parallel_studies_each_get_their_line(dataset_path, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("ABAUTO_LOG_EVERY", str(EVERY))
    code, out, err = cli("search", dataset_path("iris"), *TINY, "--n-jobs", "2", "--out", tmp_path / "p")
    assert code == 0, err
    done = sorted(line.split(" done")[0] for line in _lines(out) if " done (" in line)
    assert done == ["final study", "outer fold 1 of 2", "outer fold 2 of 2"]


def test_worker_prints_its_studies_in_a_log(dataset_path, tmp_path, cli, monkeypatch):
    """A worker that joins a search (its studies created and described as the search does) runs
    their trials and says so, study by study."""
    from abauto.cli import _load_inputs
    from abauto.folds import folds_fingerprint
    from abauto.studies import open_study

    monkeypatch.setenv("ABAUTO_LOG_EVERY", str(EVERY))
    storage = f"journal:{tmp_path / 'journal.log'}"
    settings = SearchSettings(trials=3, outer="kfold:2", inner_folds=2, plugins=["gaussian_nb"], storage=storage,
                              study_name="joined")
    data = str(dataset_path("wine"))
    dataset = _load_inputs({"data": data})
    jobs, _ = outer_splits(dataset, settings)
    meta = {"inputs": {"data": data}, "settings": {**settings.__dict__, "plugins": ["gaussian_nb"]},
            "folds_sha256": folds_fingerprint(jobs, dataset.y)}
    for j in jobs:
        open_study(j.name, settings, j.offset).set_user_attr("abauto", meta)
    t0 = time.monotonic()
    code, out, err = cli("worker", "--storage", storage, "--study-name", "joined", "--wait", "5")
    took = time.monotonic() - t0
    assert code == 0, err
    lines = _lines(out, "worker")
    assert lines[0] == "joined the search 'joined': wine: 178 rows, 13 features, 3 classes"
    done = [line for line in lines if " done (" in line]
    assert [d.split(":")[0] for d in done] == [
        "outer fold 1 of 2 done (1 of 3 studies, 3 trials so far)",
        "outer fold 2 of 2 done (2 of 3 studies, 6 trials so far)",
        "final study done (3 of 3 studies, 9 trials so far)"]
    assert all(re.search(r": best inner balanced_accuracy [01]\.\d{4} \(gaussian_nb\)$", d) for d in done), done
    if took > 10 * EVERY:  # the ticker starts after the data is read: leave it time for a line
        assert _periodic(lines), lines
    code, out, err = cli("worker", "--storage", storage, "--study-name", "joined", "--wait", "5", "--quiet")
    assert code == 0 and out == "" and err == ""


def _trial(value: float, family: str) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(value=value, params={"classifier": family},
                                     distributions={"classifier": optuna.distributions.CategoricalDistribution(
                                         [family])},
                                     user_attrs={"family": family})


def test_periodic_line_says_trials_best_and_time_left(capsys, monkeypatch):
    monkeypatch.setenv("ABAUTO_LOG_EVERY", "1000")  # no ticker line during this test
    names = ["s.outer0", "s.outer1", "s.final"]
    with SearchProgress("search", True, "accuracy", names, total=6, ends=time.monotonic() + 100) as shown:
        shown.on_trial("s.outer0", _trial(0.5, "knn"))
        shown.on_trial("s.outer0", _trial(0.75, "svm"))
        shown.on_study("s.outer0", None)
        line = shown._trials_line()
    assert re.fullmatch(r"2/6 trials, 1 of 3 studies done, best inner accuracy so far 0\.7500 \(svm\), "
                        r"(99|100) s of --time-budget left", line), line
    assert _lines(capsys.readouterr().out) == [
        "outer fold 1 of 2 done (1 of 3 studies, 2 trials so far): best inner accuracy 0.7500 (svm)"]

    with SearchProgress("search", True, "accuracy", names, total=None, timeout=10, lanes=1) as shown:
        shown.on_study("s.outer0", FoldOutcome("s.outer0", 0))
        line = shown._trials_line()
    assert re.fullmatch(r"0 trials, 1 of 3 studies done, at most about (19|20) s of --timeout trials left", line), line
    assert _lines(capsys.readouterr().out)[-1] == "outer fold 1 of 2 done (1 of 3 studies, 0 trials so far): " \
                                                   "no trial completed"


def test_interval_is_a_constant_the_environment_can_shorten(monkeypatch):
    monkeypatch.delenv("ABAUTO_LOG_EVERY", raising=False)
    assert log_every() == LOG_EVERY == 30.0
    monkeypatch.setenv("ABAUTO_LOG_EVERY", "0.5")
    assert log_every() == 0.5
