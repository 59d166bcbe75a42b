"""Scale-out figures for docs/scaling.md.

1. Throughput of a real search: ``abauto search`` alone (1 worker process), then ``abauto search``
   plus one ``abauto worker`` (2 processes) on the same budget; trials per minute over the trial
   phase (first trial start to last trial end, from the storage) and the parallel efficiency
   (speed-up / 2).
2. Storage overhead per trial for SQLite, the journal file and PostgreSQL: a trivial objective
   that writes what an abauto trial writes (9 params, 6 user attrs, 4 intermediate values) and
   goes through abauto's budget bookkeeping (``optimize``, ``within_budget``), N trials, with 1
   and 2 processes sharing the study.

    eval "$(.ci/postgres.sh)"       # optional: PostgreSQL figures (ABAUTO_TEST_POSTGRES)
    python benchmarks/scale.py [--trials 24] [--overhead-trials 200] [--data ../shared/datasets/wine.csv]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna

from abauto.search_engine import SearchSettings
from abauto.studies import (counts, make_storage, optimize, set_family, set_inner_scores, set_over_budget, set_pipeline,
                            set_seconds, set_worker, within_budget)

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "wine.csv"
PLUGINS = "logreg,knn,svm,random_forest,standard,minmax"


def _trial_phase(storage: str, prefix: str) -> tuple[int, float]:
    """Counted trials of the search's studies and the seconds from the first start to the last end."""
    st = make_storage(storage)
    trials = [t for s in optuna.get_all_study_summaries(st) if s.study_name.startswith(prefix + ".")
              for t in optuna.load_study(study_name=s.study_name, storage=st).get_trials(deepcopy=False)]
    done = [t for t in trials if counts(t)]
    start = min(t.datetime_start for t in done)
    end = max(t.datetime_complete for t in done)
    return len(done), (end - start).total_seconds()


def real_search(storage: str, data: Path, trials: int, workers: int, tmp: Path) -> tuple[int, float]:
    """Run ``abauto search`` plus ``workers - 1`` ``abauto worker`` processes; trials and seconds."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    cmd = [sys.executable, "-m", "abauto.cli"]
    search = subprocess.Popen([*cmd, "search", str(data), "--trials", str(trials), "--outer", "holdout:0.3",
                               "--inner-folds", "3", "--plugins", PLUGINS, "--storage", storage,
                               "--study-name", name, "--out", str(tmp / name), "--quiet"],
                              stdout=subprocess.DEVNULL)
    others = [subprocess.Popen([*cmd, "worker", "--storage", storage, "--study-name", name, "--wait", "120"],
                               stdout=subprocess.DEVNULL) for _ in range(workers - 1)]
    for p in [search, *others]:
        if p.wait() != 0:
            raise SystemExit(f"{p.args[3]} exited with {p.returncode}")
    return _trial_phase(storage, name)


def trivial(trial: optuna.Trial, budget: int) -> float:
    """What an abauto trial writes to the storage, without the fitting."""
    set_worker(trial)
    if not within_budget(trial.study, trial.number, budget):
        set_over_budget(trial)
        raise RuntimeError("over budget")
    clf = trial.suggest_categorical("classifier", ["random_forest", "svm", "logreg", "knn"])
    trial.suggest_categorical("outlier", ["none", "clip_quantile"])
    trial.suggest_categorical("scaler", ["standard", "minmax"])
    trial.suggest_categorical("reducer", ["none", "select_kbest"])
    x = trial.suggest_float("select_kbest.fraction", 0.1, 1.0)
    trial.suggest_int("random_forest.n_estimators", 50, 500)
    trial.suggest_float("random_forest.max_features", 0.05, 1.0)
    trial.suggest_int("random_forest.min_samples_leaf", 1, 10)
    trial.suggest_categorical("random_forest.class_weight", ["none", "balanced"])
    set_family(trial, clf)
    set_pipeline(trial, [{"slot": "scaler", "plugin": "standard", "params": {}},
                         {"slot": "classifier", "plugin": clf, "params": {"n_estimators": 150}}])
    for step in range(4):
        trial.report(x, step)
    set_inner_scores(trial, {m: [x] * 5 for m in ("balanced_accuracy", "accuracy", "f1_macro")})
    set_seconds(trial, 0.1, 0.01)
    return x


def _overhead_worker(storage: str, name: str, budget: int, seed: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=name, storage=make_storage(storage),
                              sampler=optuna.samplers.RandomSampler(seed=seed))
    optimize(study, lambda t: trivial(t, budget), SearchSettings(trials=budget))


def overhead(storage: str, trials: int, processes: int) -> float:
    """Seconds per counted trial of the trivial objective with ``processes`` sharing one study."""
    name = f"overhead-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=make_storage(storage), direction="maximize")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_overhead_worker, args=(storage, name, trials, k)) for k in range(processes)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    # process start-up (imports) is not storage time: time the trials themselves
    done, seconds = _trial_phase_one(storage, name)
    assert done == trials, (done, trials)
    return seconds / done, time.perf_counter() - t0


def _trial_phase_one(storage: str, name: str) -> tuple[int, float]:
    study = optuna.load_study(study_name=name, storage=make_storage(storage))
    done = [t for t in study.get_trials(deepcopy=False) if counts(t)]
    first = min(t.datetime_start for t in done)
    return len(done), (max(t.datetime_complete for t in done) - first).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--trials", type=int, default=24, help="budget per study of the real search (2 studies)")
    ap.add_argument("--overhead-trials", type=int, default=200)
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    pg = os.environ.get("ABAUTO_TEST_POSTGRES")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; optuna {optuna.__version__}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_search:
            storage = pg or f"journal:{tmp / 'search.log'}"
            kind = "PostgreSQL" if pg else "journal file"
            print(f"\n1. Real search on {args.data.name} ({PLUGINS}), {args.trials} trials x 2 studies, storage: {kind}")
            rates = {}
            for workers in (1, 2):
                done, seconds = real_search(storage, args.data, args.trials, workers, tmp)
                rates[workers] = done / seconds * 60
                print(f"   {workers} worker process{'es' if workers > 1 else ''}: {done} trials in {seconds:6.1f} s"
                      f" = {rates[workers]:6.1f} trials/min")
            speedup = rates[2] / rates[1]
            print(f"   speed-up {speedup:.2f}x, parallel efficiency {speedup / 2:.0%}"
                  f" (load average now {os.getloadavg()[0]:.2f})")
        storages = {"SQLite (WAL)": f"sqlite:///{tmp / 'overhead.db'}", "journal file": f"journal:{tmp / 'overhead.log'}"}
        if pg:
            storages["PostgreSQL"] = pg
        else:
            print("\n(ABAUTO_TEST_POSTGRES is not set: no PostgreSQL figures; eval \"$(.ci/postgres.sh)\" first)")
        n = args.overhead_trials
        print(f"\n2. Storage overhead: trivial objective, {n} trials (9 params, 6 user attrs, 4 reports), random sampler")
        print(f"   {'storage':<14} {'1 process ms/trial':>19} {'2 processes ms/trial':>21} {'trials/s 1 -> 2':>17}")
        for label, url in storages.items():
            one, _ = overhead(url, n, 1)
            two, _ = overhead(url, n, 2)
            print(f"   {label:<14} {one * 1000:>19.1f} {two * 1000:>21.1f} {1 / one:>8.0f} -> {1 / two:<6.0f}")


if __name__ == "__main__":
    main()
