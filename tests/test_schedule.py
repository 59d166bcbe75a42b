"""The family schedule of a study (every family on every fold), the pruner that keeps a family's
first complete trial, and the whole-search time budget."""

from __future__ import annotations

import time

import optuna
import pytest

import abauto
from abauto.cli import main
from abauto.search_engine import SearchSettings

FAST = dict(outer="kfold:3", inner_folds=2, n_jobs=2)


def _space(dataset_path, name="wine", **kw):
    from abauto.data import load_dataset
    from abauto.registry import load_registry
    from abauto.space import DataShape, PipelineSpace

    return PipelineSpace(load_registry(), DataShape.of(load_dataset(dataset_path(name))), **kw)


def _trial(family: str, value: float | None, fams: list[str], state=optuna.trial.TrialState.COMPLETE):
    dist = {"classifier": optuna.distributions.CategoricalDistribution(fams)}
    return optuna.trial.create_trial(params={"classifier": family}, distributions=dist, value=value, state=state,
                                     user_attrs={"family": family})


def test_every_family_first_then_a_fair_share_then_the_best_half(dataset_path):
    from abauto.schedule import RUNG_TRIALS, SAMPLED_SHARE, Schedule

    space = _space(dataset_path)
    schedule = Schedule(space, SearchSettings(trials=60), n_rows=113)
    fams = schedule.families
    assert len(fams) == 12 and fams[:2] == ["gaussian_nb", "multinomial_nb"] and fams[-2:] == ["bagging", "voting"]
    opening = [schedule.slot(n, []) for n in range(12 * (1 + SAMPLED_SHARE))]
    assert opening[:12] == [(f, True) for f in fams]  # defaults round
    assert opening[12:] == [(f, False) for f in fams] * SAMPLED_SHARE  # fair share, family fixed
    # Successive halving: the best half by best inner score, ranked on the trials before the rung.
    scores = {f: i / 100 for i, f in enumerate(fams)}  # voting best, gaussian_nb worst
    history = [_trial(f, scores[f], fams) for _, (f, _) in zip(range(36), opening * 2)]
    rung = [schedule.slot(n, history)[0] for n in range(36, 36 + 6 * RUNG_TRIALS)]
    assert set(rung) == set(fams[6:]) and rung[:6] == fams[6:][::-1]
    nxt = [schedule.slot(n, history)[0] for n in range(48, 48 + 3 * 2 * RUNG_TRIALS)]
    assert set(nxt) == set(fams[9:])
    # A family whose trials all failed ranks last.
    failed = [_trial("voting", None, fams, optuna.trial.TrialState.FAIL) if f == "voting" else t
              for t, f in zip(history, [t.params["classifier"] for t in history])]
    assert "voting" not in {schedule.slot(n, failed)[0] for n in range(36, 48)}


def test_the_defaults_trial_is_the_plugins_defaults(dataset_path):
    from abauto.schedule import Schedule

    space = _space(dataset_path)
    study = optuna.create_study(direction="maximize")
    schedule = Schedule(space, SearchSettings(trials=60, time_budget=30), n_rows=113)
    schedule.opening(study)
    waiting = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [w["classifier"] for w in waiting] == schedule.families  # ensembles too, under a time budget
    svm = next(w for w in waiting if w["classifier"] == "svm")
    assert svm == {"classifier": "svm", "outlier": "none", "scaler~required": "standard", "reducer": "none",
                   "svm.kernel": "rbf", "svm.C": 1.0, "svm.class_weight": "balanced", "svm.gamma": 1 / 13}
    schedule.opening(study)  # nothing twice
    schedule.enqueue(study)  # the next trial waits behind the queued ones
    assert len(study.get_trials(deepcopy=False)) == 12


def test_a_budget_below_two_trials_per_family_says_what_suffices(dataset_path):
    from abauto.schedule import coverage_note

    space = _space(dataset_path)
    note = coverage_note(space, SearchSettings(trials=8))
    assert note.startswith("12 families need --trials 24 for every family on every fold")
    assert coverage_note(space, SearchSettings(trials=24)) is None
    assert coverage_note(space, SearchSettings(time_budget=10)) is None  # the time decides; see the run's notes


def test_a_familys_first_complete_trial_is_never_pruned():
    from abauto.studies import FirstTrialsPruner

    fams = ["a", "b"]
    study = optuna.create_study(direction="maximize",
                                pruner=FirstTrialsPruner(optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0)))
    for v in (0.9, 0.95):
        study.add_trial(optuna.trial.create_trial(params={"classifier": "a"}, distributions={
            "classifier": optuna.distributions.CategoricalDistribution(fams)}, value=v,
            intermediate_values={0: v}, user_attrs={"family": "a"}))
    low = study.ask({"classifier": optuna.distributions.CategoricalDistribution(fams)})
    low.set_user_attr("family", low.params["classifier"])
    low.report(0.1, 0)
    assert low.should_prune() == (low.params["classifier"] == "a")
    study.enqueue_trial({"classifier": "b"})
    b = study.ask({"classifier": optuna.distributions.CategoricalDistribution(fams)})
    b.report(0.1, 0)
    assert not b.should_prune()  # b has no complete trial yet
    study.tell(b, 0.5)
    again = study.ask({"classifier": optuna.distributions.CategoricalDistribution(fams)})
    if again.params["classifier"] == "b":
        again.report(0.1, 0)
        assert again.should_prune()


def _family_sequences(run_dir, jobs=("outer0", "outer1", "final")) -> dict:
    from abauto.studies import make_storage, trial_family

    storage = make_storage(f"sqlite:///{run_dir / 'study.db'}")
    return {j: [trial_family(t) for t in optuna.load_study(study_name=f"abauto.{j}", storage=storage).get_trials()]
            for j in jobs}


def test_small_budget_warns_and_the_saved_model_has_a_row(dataset_path, tmp_path, capsys):
    """Too few trials for 3 families: the warning names the budget that suffices, in the terminal
    and the leaderboard notes; the final model's family is a leaderboard row."""
    with pytest.raises(SystemExit) as exc:
        main(["search", str(dataset_path("iris")), "--trials", "4", "--outer", "kfold:2", "--inner-folds", "2",
              "--plugins", "gaussian_nb,knn,logreg", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert exc.value.code == 0
    assert "warning: 3 families need --trials 6 for every family on every fold" in " ".join(err.split())
    board = abauto.leaderboard.load(tmp_path / "run" / "leaderboard.json")
    assert any(n.startswith("3 families need --trials 6") for n in board["notes"])
    rows = {e["family"]: e for e in board["entries"]}
    assert board["final"]["family"] in rows and rows[board["final"]["family"]]["outer_mean"] is not None
    assert "saved model: " + board["final"]["family"] in " ".join(out.split())


def test_resume_continues_the_schedule(dataset_path, tmp_path):
    """A search stopped after some trials and run again follows the same schedule as one that ran
    through: the same family in every trial of every study, and (trials reseeded per trial
    number) the same leaderboard."""
    settings = dict(trials=8, outer="kfold:2", inner_folds=2, plugins=["gaussian_nb", "knn", "logreg", "standard"])
    abauto.search(dataset_path("iris"), SearchSettings(**settings), run_dir=tmp_path / "whole")
    seen = []

    def stop(name, trial):
        seen.append(name)
        if len(seen) == 13:  # in the second study, past the defaults round
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        abauto.search(dataset_path("iris"), SearchSettings(**settings), run_dir=tmp_path / "cut", progress=stop)
    abauto.search(dataset_path("iris"), SearchSettings(**settings), run_dir=tmp_path / "cut")
    whole, cut = _family_sequences(tmp_path / "whole"), _family_sequences(tmp_path / "cut")
    assert whole == cut and all(len(v) == 8 for v in whole.values())
    assert whole["outer0"][:3] == ["gaussian_nb", "logreg", "knn"]
    boards = [abauto.leaderboard.load(tmp_path / run / "leaderboard.json") for run in ("whole", "cut")]
    assert abauto.leaderboard.without_run_fields(boards[0]) == abauto.leaderboard.without_run_fields(boards[1])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["iris", "wine", "penguins", "breast_cancer"])
def test_every_family_on_every_fold_at_two_trials_per_family(search_dataset, name):
    """The four fastest datasets (benchmarks/coverage.py runs all seven): with 24 trials, every
    one of the 12 families has a row scored on every outer fold, and the saved model is one."""
    result = search_dataset(name, trials=24, **FAST)
    board = result.leaderboard
    families = {e["family"]: e for e in board["entries"]}
    assert len(families.keys() - {"ensemble"}) == 12, sorted(families)  # plus the ensemble row
    missing = {f: e["outer_scores"] for f, e in families.items() if None in e["outer_scores"]}
    assert not missing
    assert board["final"]["family"] in families
    assert not [n for n in board["notes"] if "families need" in n]


@pytest.mark.slow
def test_a_time_budget_bounds_the_whole_search(dataset_path, tmp_path):
    """--time-budget 20 on wine: the whole search (studies, refits, final fit, files) within 5 %,
    every family scored on every fold or the leaderboard says which were not and what would do."""
    t0 = time.monotonic()
    result = abauto.search(dataset_path("wine"), SearchSettings(time_budget=20), run_dir=tmp_path / "t", started=t0)
    wall = time.monotonic() - t0
    assert wall <= 20 * 1.05, wall
    board = result.leaderboard
    short = [e["family"] for e in board["entries"] if None in e["outer_scores"]]
    if short or len(board["entries"]) < 12:
        note = next(n for n in board["notes"] if n.startswith("--time-budget 20 s left"))
        assert all(f in note for f in short) and "would give every family" in note
    assert board["final"]["family"] in {e["family"] for e in board["entries"]}
    assert board["protocol"]["time_budget"] == 20 and board["protocol"]["trials"] >= 10 ** 6


def test_compare_ranks_only_families_scored_on_every_fold():
    """A family scored on every dataset but not on every outer fold of one is left out of the
    ranks and the Friedman test, and the notes say so."""
    from test_leaderboard_cli import make_board

    from abauto.leaderboard_compare import compare_boards

    scores = [(0.9, 0.8, 0.7), (0.9, 0.7, 0.8), (0.95, 0.9, 0.6)]
    boards = [make_board(name=f"ds{i}", families={"a": [a] * 3, "b": [b] * 3, "c": [c] * 3,
                                                   "d": [0.99, None, 0.99] if i == 1 else [0.99] * 3})
              for i, (a, b, c) in enumerate(scores)]
    result = compare_boards(boards, ["ds0", "ds1", "ds2"])
    assert result["ranked"] == ["a", "b", "c"]
    assert any("(not scored on every outer fold of every dataset): d" in n for n in result["notes"])
