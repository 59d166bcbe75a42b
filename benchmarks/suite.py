"""Benchmark suite (issue 11) and the issue-4 comparison: abauto against an rbf-SVM grid (the
libsvm guide's), gaia's own SVM grid, a default random forest and (optionally) FLAML, on the SAME
outer folds of every dataset.

    python benchmarks/suite.py                               # every CSV of ../shared/datasets, all methods
    python benchmarks/suite.py --only iris,wine --budget 20  # 20 s per outer fold for the timed methods
    python benchmarks/suite.py --methods libsvm-grid,rf --out /tmp/bench
    python benchmarks/suite.py --report-only --out /tmp/bench  # re-print tables from saved results

Protocol, per dataset: outer StratifiedKFold(5, shuffle=True, random_state=0) (exactly abauto's
``outer_splits`` for seed 0; asserted); inner CV = StratifiedKFold(5, shuffle=True,
random_state=0) on each outer training part (exactly abauto's ``Objective`` split). Every method
sees the same rows; the score is the balanced accuracy on each outer test part; we report mean ±
std (population std, as abauto's leaderboard) over the 5 outer folds, the wall seconds for all 5
folds, and the number of model (pipeline) fits.

Methods (``--methods``, comma-separated):

- ``abauto-time``   abauto, all plugins, a wall budget of ``--budget`` s per outer fold
                    (SearchSettings(timeout=budget, trials=100000)).
- ``abauto-budget`` abauto as a user runs it: ``abauto.search`` with one wall budget for the whole
                    search (``--time-budget`` = ``--budget`` x 5 outer folds: the 5 outer studies, the
                    final study, every refit and the final fit), n_jobs 1, on the same outer folds;
                    the score is the leaderboard's selected-per-fold outer score.
- ``abauto-trials`` abauto, all plugins, ``--trials`` (60) trials per outer fold (issue 4 target b).
- ``abauto-svm``    abauto restricted to the svm plugin, ``--svm-trials`` (22) trials (issue 4 target a;
                    preprocessing slots are still searched, as ``--plugins svm`` does).
- ``abauto-svm-gaia`` the same, with gaia's preprocessing pinned (``fixed``: scaler minmax, outlier and
                    reducer none), so only the svm plugin's parameters are searched (kernel, C, gamma,
                    class_weight, degree): tells the space's width apart from the sampler.
- ``abauto-svm-rbf`` prototype: abauto-svm-gaia with kernel=rbf and class_weight=balanced pinned by
                    Optuna's PartialFixedSampler around abauto's TPE (libsvm-grid's own 2-D space).
- ``libsvm-grid``   the libsvm guide's grid (Hsu, Chang & Lin, "A practical guide to support vector
                    classification"): min-max scaling + rbf SVC(class_weight='balanced'),
                    C 2^-5..2^15 x gamma 2^-15..2^3 in steps of 2^2 (11 x 10 = 110 configurations),
                    sklearn GridSearchCV on the same inner 5-fold CV, refit on the outer training part.
                    Not gaia's grid: rbf and balanced only, C up to 2^15, gamma down to 2^-15, no presets.
                    (Called "grid" before; saved results of that name are read as libsvm-grid.)
- ``gaia-grid``     gaia's SVM grid as AcousticBrainz ran it: ``configs/gaia-svm.yaml`` (``--gaia-config``)
                    through abauto's engine with that config's settings (grid sampler over presets x
                    kernel x C x gamma x class weights, 1728 configurations, inner 5-fold CV, selection
                    by accuracy as gaia does, min-max scaler fixed) on the same outer folds; scored by
                    balanced accuracy like every method. Presets that keep only AcousticBrainz
                    descriptors (lowlevel, mfcc) leave nothing of a plain table: their trials fail
                    and are counted as failed fits.
- ``rf``            RandomForestClassifier(random_state=0) with scikit-learn defaults.
- ``flaml``         FLAML AutoML, ``--budget`` s per outer fold, 5-fold stratified CV, balanced accuracy
                    (optional: ``pip install abauto[bench]``; skipped with a note when not importable).
- ``autogluon``     AutoGluon-Tabular, ``TabularPredictor(eval_metric="balanced_accuracy")`` fit with
                    ``presets="medium_quality"`` and ``time_limit=--budget`` s per outer fold, one CPU
                    (optional, the ``bench`` extra; skipped with a note when not importable). Its
                    validation is its own (the preset's holdout), not the suite's inner folds.

How abauto is driven: abauto's own engine per outer fold (``outer_splits`` + ``run_fold``, the
functions ``abauto.search`` calls), without the final all-rows study that ``abauto.search`` adds for
the saved model (it does not enter the outer estimate and would cost one more budget per
dataset). The outer score is that of the family whose best trial has the best inner score (the
leaderboard's "best"); ``run_fold`` also refits every other family's best on the outer training
part for the leaderboard, and those refits are counted in the fits and the seconds. Storage:
abauto's default, an SQLite (WAL) file per method and dataset in ``--out``.

Fits: abauto (and gaia-grid) = inner folds actually run by each trial (pruned trials stop early; a
failed trial counts as one) + the outer refits; GridSearchCV = 110 x 5 + 1 per outer fold; RF = 1
per fold; FLAML = every trial it ran x 5 folds + 1 retrain per fold, the trials counted from its
training log (``log_file_name`` with ``log_type="all"``: one record per trial; its
``config_history`` holds only the trials that improved the best loss); AutoGluon = the models in its
leaderboard (``model_names()``, the weighted ensemble included; medium_quality does not bag, so one
fit each).

Seconds: every method's wall seconds for its 5 folds are printed; for the budgeted methods
(abauto-time, flaml, autogluon: ``--budget`` s per fold each) also the ratio of that wall time to
the budget (5 x ``--budget``), so an overrun shows.

For missing values and categorical columns the baselines (libsvm-grid, rf) get a fixed preprocessing:
median imputation of numeric columns, most-frequent imputation + one-hot encoding of categorical
columns. All fits run with one BLAS/OpenMP thread (abauto does so too).

Every (dataset, method) result is saved as ``<out>/results/<dataset>__<method>.json`` as soon as it
is done, so separate processes can share one ``--out`` and ``--report-only`` aggregates them into
``<out>/suite.csv`` and ``<out>/suite.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from abauto.extensions import split_values

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets"
ALL_METHODS = ["abauto-time", "abauto-budget", "abauto-trials", "abauto-svm", "abauto-svm-gaia", "abauto-svm-rbf",
               "libsvm-grid", "gaia-grid", "rf", "flaml", "autogluon"]
PER_FOLD_BUDGET = ("abauto-time", "abauto-budget", "flaml", "autogluon")  # methods given --budget seconds per outer fold
RENAMED = {"grid": "libsvm-grid"}  # method names of results saved by earlier versions
GAIA_CONFIG = REPO / "configs" / "gaia-svm.yaml"
PREFERRED = ["gtzan_30s", "wine", "iris", "breast_cancer", "penguins", "credit_g", "digits"]
GRID_C = [2.0**k for k in range(-5, 16, 2)]        # 11 values
GRID_GAMMA = [2.0**k for k in range(-15, 4, 2)]    # 10 values
SEED = 0
OUTER = INNER = 5


PARTIAL = {}  # set by main(): where a runner saves its folds so far


def save_partial(scores, fits, detail=None) -> None:
    """After each outer fold: keep what is done, so a run cut short still reports k/5 folds."""
    if PARTIAL:
        row = dict(PARTIAL["row"], scores=[float(x) for x in scores], fits=int(fits), detail=detail,
                   seconds=time.perf_counter() - PARTIAL["t0"], partial=True)
        row["mean"], row["std"] = float(np.mean(row["scores"])), float(np.std(row["scores"]))
        PARTIAL["path"].write_text(json.dumps(row, indent=1, default=str))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def outer_folds(dataset):
    from sklearn.model_selection import StratifiedKFold
    from abauto.search_engine import SearchSettings, outer_splits

    splits = list(StratifiedKFold(OUTER, shuffle=True, random_state=SEED).split(np.zeros(len(dataset.y)), dataset.y))
    jobs, _ = outer_splits(dataset, SearchSettings(outer=f"kfold:{OUTER}", seed=SEED))
    for (tr, te), job in zip(splits, jobs[:-1]):  # abauto's outer folds are exactly these
        assert np.array_equal(tr, job.train) and np.array_equal(te, job.test)
    return splits, jobs[:-1]


def baseline_prep(dataset):
    """Imputation + one-hot for the scikit-learn baselines; None when the data needs none."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    if dataset.categorical:
        return ColumnTransformer([
            ("num", SimpleImputer(strategy="median"), dataset.numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore", sparse_output=False)), dataset.categorical),
        ], sparse_threshold=0.0)
    if dataset.X.isna().to_numpy().any():
        return SimpleImputer(strategy="median")
    return None


def _pipe(prep, *steps):
    from sklearn.pipeline import make_pipeline
    return make_pipeline(*([prep] if prep is not None else []), *steps)


def _xy(dataset):
    from abauto.search_engine import features
    return features(dataset), dataset.y


def _take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


# ----------------------------------------------------------------------------------------- methods

def run_libsvm_grid(dataset, splits, args) -> dict:
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVC
    from sklearn.metrics import balanced_accuracy_score

    X, y = _xy(dataset)
    scores, fits, picks = [], 0, []
    for k, (tr, te) in enumerate(splits):
        pipe = _pipe(baseline_prep(dataset), MinMaxScaler(), SVC(kernel="rbf", class_weight="balanced"))
        grid = {"svc__C": GRID_C, "svc__gamma": GRID_GAMMA}
        gs = GridSearchCV(pipe, grid, scoring="balanced_accuracy", n_jobs=1, refit=True,
                          cv=StratifiedKFold(INNER, shuffle=True, random_state=SEED))
        gs.fit(_take(X, tr), y[tr])
        scores.append(balanced_accuracy_score(y[te], gs.predict(_take(X, te))))
        fits += len(gs.cv_results_["params"]) * INNER + 1
        picks.append({"C": gs.best_params_["svc__C"], "gamma": gs.best_params_["svc__gamma"],
                      "inner": float(gs.best_score_)})
        log(f"  libsvm-grid fold {k}: {scores[-1]:.4f}")
        save_partial(scores, fits, picks)
    return {"scores": scores, "fits": fits, "detail": picks}


def run_rf(dataset, splits, args) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score

    X, y = _xy(dataset)
    scores = []
    for tr, te in splits:
        pipe = _pipe(baseline_prep(dataset), RandomForestClassifier(random_state=SEED))
        pipe.fit(_take(X, tr), y[tr])
        scores.append(balanced_accuracy_score(y[te], pipe.predict(_take(X, te))))
    return {"scores": scores, "fits": len(splits)}


def flaml_automl():
    """FLAML's ``AutoML`` class, its log quieted; None (with a note) when FLAML is not importable."""
    try:
        from flaml import AutoML
    except ImportError:
        print("note: FLAML is not importable; skipping it (pip install 'abauto[bench]' or 'flaml[automl]')")
        return None
    import logging

    logging.getLogger("flaml.automl").setLevel(logging.ERROR)
    return AutoML


def flaml_balanced_accuracy(X_val, y_val, estimator, labels, X_train, y_train, *a, **kw):
    """Balanced accuracy as a FLAML metric (FLAML minimises: 1 - the score)."""
    from sklearn.metrics import balanced_accuracy_score

    return 1 - balanced_accuracy_score(y_val, estimator.predict(X_val)), {}


def flaml_trials(trial_log: Path) -> int:
    """The trials FLAML ran, from its training log (``log_type="all"``: one record per trial)."""
    from flaml.automl.training_log import training_log_reader

    with training_log_reader(str(trial_log)) as reader:  # checkpoints are skipped
        return sum(1 for _ in reader.records())


def run_flaml(dataset, splits, args) -> dict | None:
    AutoML = flaml_automl()
    if AutoML is None:
        return None
    from sklearn.metrics import balanced_accuracy_score

    X, y = _xy(dataset)
    scores, fits, picks = [], 0, []
    logs = Path(args.out) / "flaml"
    logs.mkdir(parents=True, exist_ok=True)
    for k, (tr, te) in enumerate(splits):
        automl = AutoML()
        Xtr = _take(X, tr)
        trial_log = logs / f"{dataset.name}.fold{k}.log"
        trial_log.unlink(missing_ok=True)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(Xtr, y[tr], task="classification", time_budget=args.budget, metric=flaml_balanced_accuracy,
                       eval_method="cv", n_splits=INNER, split_type="stratified", seed=SEED, n_jobs=1,
                       verbose=0, log_file_name=str(trial_log), log_type="all")
            pred = automl.predict(_take(X, te))
        wall = time.perf_counter() - t0
        scores.append(balanced_accuracy_score(y[te], pred))
        n_trials = flaml_trials(trial_log)
        fits += n_trials * INNER + 1
        picks.append({"learner": automl.best_estimator, "trials": n_trials, "improvements": len(automl.config_history),
                      "wall": wall})
        log(f"  flaml fold {k}: {scores[-1]:.4f} ({n_trials} trials, {len(automl.config_history)} improved the best; "
            f"{automl.best_estimator}; {wall:.1f}s)")
        save_partial(scores, fits, picks)
    return {"scores": scores, "fits": fits, "detail": picks}


def autogluon_fit(X_train, y_train, time_limit: float, path: str | Path, groups=None):
    """AutoGluon-Tabular as the benchmarks run it: ``medium_quality`` preset, balanced accuracy,
    ``time_limit`` seconds, one CPU. ``groups`` (one value per row, e.g. a track): AutoGluon's
    own holdout is then group-disjoint (``validation_structure={"group_on": ...}``, AutoGluon >=
    1.6), and the group column is not a feature. Returns the predictor and the number of models
    it trained (its leaderboard's rows, the weighted ensemble included); (None, 0) when the time
    limit ran out before any model (AutoGluon raises then)."""
    from autogluon.tabular import TabularPredictor

    label, group = "__abauto_label__", "__abauto_group__"
    frame = X_train.reset_index(drop=True).copy()
    frame[label] = np.asarray(y_train)
    init, fit = {}, {}
    if groups is not None:
        frame[group] = np.asarray(groups)
        init["learner_kwargs"] = {"ignored_columns": [group]}
        fit["validation_structure"] = {"group_on": group}
    predictor = TabularPredictor(label=label, eval_metric="balanced_accuracy", path=str(path), verbosity=0, **init)
    try:
        predictor.fit(frame, presets="medium_quality", time_limit=time_limit, num_cpus=1, **fit)
    except AssertionError as exc:
        if "Not enough time" not in str(exc):
            raise
        return None, 0
    return predictor, len(predictor.model_names())


def run_autogluon(dataset, splits, args) -> dict | None:
    try:
        import autogluon.tabular  # noqa: F401
    except ImportError:
        print("note: AutoGluon is not importable; skipping it (pip install 'abauto[bench]' or 'autogluon.tabular')")
        return None
    import shutil
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import balanced_accuracy_score

    X, y = dataset.X, dataset.y  # AutoGluon takes the frame as it is (its own imputation and encoding)
    scores, fits, picks = [], 0, []
    for k, (tr, te) in enumerate(splits):
        path = Path(args.out) / "autogluon" / f"{dataset.name}.fold{k}"
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        predictor, n_models = autogluon_fit(X.iloc[tr], y[tr], args.budget, path)
        wall = time.perf_counter() - t0
        if predictor is None:  # the time limit ran out before any model: the majority class
            pred = DummyClassifier(strategy="most_frequent").fit(X.iloc[tr], y[tr]).predict(X.iloc[te])
            log(f"  autogluon fold {k}: no model within {args.budget:g} s; scored as predicting the majority class")
        else:
            pred = np.asarray(predictor.predict(X.iloc[te].reset_index(drop=True)))
        scores.append(balanced_accuracy_score(y[te], pred))
        fits += n_models
        best = predictor.model_best if predictor is not None else None
        picks.append({"best": best, "models": n_models, "wall": wall})
        shutil.rmtree(path, ignore_errors=True)  # hundreds of MB of saved models per fold
        log(f"  autogluon fold {k}: {scores[-1]:.4f} ({n_models} models, best {best}, {wall:.1f}s)")
        save_partial(scores, fits, picks)
    return {"scores": scores, "fits": fits, "detail": picks}


def _abauto(dataset, args, method: str, trials: int, timeout: float | None, plugins=(), fixed=None,
            sampler_factory=None, **config) -> dict:
    """abauto's engine on the suite's outer folds; ``config``: further SearchSettings fields
    (metric, sampler, grid, prune, ...), e.g. those of a --config file."""
    import optuna
    from abauto.search_engine import SearchSettings, features, run_fold
    from abauto.studies import COUNTED, inner_scores, make_sampler, make_storage
    from abauto.space import PipelineSpace

    db = Path(args.out) / "studies" / f"{dataset.name}__{method}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    config.setdefault("ensemble", not getattr(args, "no_ensemble", False))
    settings = SearchSettings(trials=trials, timeout=timeout, outer=f"kfold:{OUTER}", inner_folds=INNER, seed=SEED,
                              plugins=tuple(plugins), storage=f"sqlite:///{db}", study_name=method,
                              fixed=dict(fixed or {}), **config)
    space = PipelineSpace.for_search(dataset, settings)
    _, jobs = outer_folds(dataset)  # abauto's own outer folds for seed 0 (= the other methods')
    X, y = features(dataset), dataset.y
    scores, fits, detail = [], 0, []
    for job in jobs:
        t0 = time.perf_counter()
        out = run_fold(job, space, X, y, settings, sampler_factory=sampler_factory or make_sampler)
        wall = time.perf_counter() - t0
        study = optuna.load_study(study_name=job.name, storage=make_storage(settings.storage))
        trials_ = study.get_trials(deepcopy=False)
        inner_fits = 0
        for t in trials_:
            if inner_scores(t, settings.metric) is not None:
                inner_fits += len(inner_scores(t, settings.metric))
            elif t.state == optuna.trial.TrialState.FAIL:
                inner_fits += 1
        refits = sum(f.fits for f in out.families.values())  # the ensemble: members refit
        fits += inner_fits + refits
        best = out.families[out.best_family]
        scores.append(best.scores["balanced_accuracy"])
        n_done = sum(1 for t in trials_ if t.state in COUNTED)
        detail.append({"best_family": out.best_family, "trials": len(trials_), "counted": n_done,
                       "pruned": sum(1 for t in trials_ if t.state == optuna.trial.TrialState.PRUNED),
                       "failed": sum(1 for t in trials_ if t.state == optuna.trial.TrialState.FAIL),
                       "inner": best.inner_mean, "wall": wall, "refits": refits,
                       **_ensemble_detail(out)})
        log(f"  {method} fold {job.index}: {scores[-1]:.4f} best={out.best_family} trials={len(trials_)} "
            f"wall={wall:.1f}s")
        save_partial(scores, fits, detail)
    return {"scores": scores, "fits": fits, "detail": detail}


def _ensemble_detail(out) -> dict:
    """The fold's ensemble row (abauto.ensemble) of ``out`` (an ``abauto.folds.FoldOutcome``): its
    outer score, members, and seconds spent on OOF recomputation + selection and on refitting
    members; the best single family's score."""
    singles = {f: e for f, e in out.families.items() if f != "ensemble"}
    single = max(singles, key=lambda f: (singles[f].inner_mean, -singles[f].trial)) if singles else None
    detail = {"single_family": single,
              "single_score": (singles[single].scores or {}).get("balanced_accuracy") if single else None}
    ens, row = out.ensemble, out.families.get("ensemble")
    if ens and row:
        detail.update(ensemble_score=(row.scores or {}).get("balanced_accuracy"),
                      ensemble_members={f"{m['family']}_{m['trial']}": m["weight"] for m in ens.members},
                      ensemble_wins=ens.wins, ensemble_select_s=ens.seconds,
                      ensemble_fit_s=row.fit_seconds, ensemble_fits=None if row.error else row.fits)
    return detail


def run_abauto_time(dataset, splits, args):
    return _abauto(dataset, args, "abauto-time", 100_000, args.budget)


def run_abauto_budget(dataset, splits, args):
    """The whole search under one wall budget of ``--budget`` x OUTER seconds (``--time-budget``)."""
    import shutil

    import optuna
    import abauto
    from abauto.search_engine import SearchSettings
    from abauto.studies import inner_scores, make_storage

    run_dir = Path(args.out) / "runs" / f"{dataset.name}__abauto-budget"
    shutil.rmtree(run_dir, ignore_errors=True)
    budget = args.budget * OUTER
    t0 = time.monotonic()
    result = abauto.search(dataset, SearchSettings(time_budget=budget, outer=f"kfold:{OUTER}", inner_folds=INNER,
                                                   seed=SEED), run_dir=run_dir, started=t0)
    wall = time.monotonic() - t0
    board = result.leaderboard
    storage = make_storage(f"sqlite:///{run_dir / 'study.db'}")
    fits = 0
    for name in result.studies:
        trials_ = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
        fits += sum(len(inner_scores(t, "balanced_accuracy")) if inner_scores(t, "balanced_accuracy") is not None
                    else int(t.state == optuna.trial.TrialState.FAIL) for t in trials_)
    fits += sum(1 for e in board["entries"] for s in e["outer_scores"] if s is not None) + 1  # refits + final fit
    from abauto.registry import load_registry
    from abauto.schedule import families
    from abauto.space import DataShape, PipelineSpace

    eligible = families(PipelineSpace(load_registry(), DataShape.of(dataset)), SearchSettings(time_budget=budget))
    covered = sum(1 for e in board["entries"] if None not in e["outer_scores"])
    detail = [{"best_family": fam} for fam in board["best"]["families"]]
    detail.append({"wall": wall, "budget": budget, "wall_over_budget": wall / budget, "trials": board["trials"],
                   "families_on_every_fold": f"{covered}/{len(eligible)}", "notes": board["notes"],
                   "final": board["final"] and board["final"]["family"]})
    log(f"  abauto-budget: {wall:.1f} s of {budget:g} s ({wall / budget:.3f}); families on every fold "
        f"{covered}/{len(eligible)}; {board['trials']['total']} trials")
    return {"scores": board["best"]["outer_scores"], "fits": fits, "detail": detail}


def run_abauto_trials(dataset, splits, args):
    return _abauto(dataset, args, "abauto-trials", args.trials, None)


def run_abauto_svm(dataset, splits, args):
    return _abauto(dataset, args, "abauto-svm", args.svm_trials, None, plugins=("svm",))


def run_abauto_svm_gaia(dataset, splits, args):
    """abauto-svm with gaia's preprocessing pinned (min-max scaler, no outlier step, no reducer): only
    the svm plugin's own parameters (kernel, C, gamma, class_weight, degree) are searched."""
    return _abauto(dataset, args, "abauto-svm-gaia", args.svm_trials, None, plugins=("svm",),
                   fixed={"scaler": "minmax", "reducer": "none", "outlier": "none"})


def run_abauto_svm_rbf(dataset, splits, args):
    """Prototype (not an abauto feature yet): abauto-svm-gaia with the svm plugin's kernel and
    class_weight pinned to the libsvm grid's values (rbf, balanced) through Optuna's PartialFixedSampler around
    abauto's TPE sampler, so the 22 trials search exactly the grid's 2-D space (C, gamma) on a
    continuous log scale: TPE vs grid at equal space."""
    import optuna
    from abauto.studies import make_sampler

    def pinned(settings, offset):
        return optuna.samplers.PartialFixedSampler({"svm.kernel": "rbf", "svm.class_weight": "balanced"},
                                                   make_sampler(settings, offset))

    return _abauto(dataset, args, "abauto-svm-rbf", args.svm_trials, None, plugins=("svm",),
                   fixed={"scaler": "minmax", "reducer": "none", "outlier": "none"}, sampler_factory=pinned)


def run_gaia_grid(dataset, splits, args):
    """gaia's SVM grid (``--gaia-config``, default configs/gaia-svm.yaml) through abauto's engine
    with that config's settings, on the suite's outer folds (seed 0)."""
    from abauto.config import load_config

    config = load_config(args.gaia_config)
    if config.get("outer", f"kfold:{OUTER}") != f"kfold:{OUTER}" or config.get("inner_folds", INNER) != INNER:
        log(f"  note: {args.gaia_config} asks for outer {config.get('outer')}, inner {config.get('inner_folds')}; "
            f"the suite runs every method on outer kfold:{OUTER}, inner {INNER}")
    for key in ("outer", "inner_folds", "seed", "storage", "study_name", "n_jobs", "timeout"):
        config.pop(key, None)
    return _abauto(dataset, args, "gaia-grid", config.pop("trials", 100_000), None,
                   plugins=config.pop("plugins", ()), fixed=config.pop("fixed", None), **config)


RUNNERS = {"abauto-time": run_abauto_time, "abauto-budget": run_abauto_budget, "abauto-trials": run_abauto_trials, "abauto-svm": run_abauto_svm,
           "abauto-svm-gaia": run_abauto_svm_gaia, "abauto-svm-rbf": run_abauto_svm_rbf,
           "libsvm-grid": run_libsvm_grid, "gaia-grid": run_gaia_grid, "rf": run_rf, "flaml": run_flaml,
           "autogluon": run_autogluon}


# ----------------------------------------------------------------------------------------- report

def label(method: str, meta: dict) -> str:
    if method in PER_FOLD_BUDGET:
        return f"{method} ({meta['budget']:g}s/fold)"
    if method == "abauto-budget":
        return f"abauto-budget ({meta['budget'] * OUTER:g}s in all)"
    if method == "abauto-trials":
        return f"abauto-trials ({meta['trials']})"
    if method.startswith("abauto-svm"):
        return f"{method} ({meta['svm_trials']})"
    return method


def load_results(out: Path) -> list[dict]:
    rows = []
    done = set()
    for f in sorted((out / "results").glob("*.json")):
        if f.name.endswith(".partial.json"):
            continue
        rows.append(json.loads(f.read_text()))
        done.add(f.name)
    for f in sorted((out / "results").glob("*.partial.json")):  # runs cut short: their folds so far
        if f.name.replace(".partial.json", ".json") not in done:
            rows.append(json.loads(f.read_text()))
    for r in rows:
        r["method"] = RENAMED.get(r["method"], r["method"])
    return rows


def wall_to_budget(r: dict) -> float | None:
    """Wall seconds over the budget the method was given (``--budget`` x the folds it ran); None
    for methods without a wall budget."""
    if r["method"] not in PER_FOLD_BUDGET or not r.get("budget"):
        return None
    return r["seconds"] / (r["budget"] * len(r["scores"]))


def write_tables(out: Path) -> list[dict]:
    rows = load_results(out)
    if not rows:
        print("no results yet")
        return rows
    import csv

    with open(out / "suite.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "method", "budget_s_per_fold", "trials", "mean", "std", "fits", "seconds",
                    "wall_to_budget", "folds_done", "fold_scores"])
        for r in rows:
            ratio = wall_to_budget(r)
            w.writerow([r["dataset"], r["method"], r["budget"] if r["method"] in PER_FOLD_BUDGET else "",
                        r["trials"] if r["method"] == "abauto-trials" else (r["svm_trials"] if r["method"].startswith("abauto-svm") else ""),
                        f"{r['mean']:.4f}", f"{r['std']:.4f}", r["fits"], f"{r['seconds']:.1f}",
                        "" if ratio is None else f"{ratio:.3f}", len(r["scores"]),
                        " ".join(f"{s:.4f}" for s in r["scores"])])
    order = {m: i for i, m in enumerate(ALL_METHODS)}
    rows.sort(key=lambda r: (r["dataset"], order.get(r["method"], 99)))
    lines = ["| dataset | method | outer balanced accuracy (mean ± std) | fits | seconds | wall / budget |",
             "|---|---|---|---:|---:|---:|"]
    for r in rows:
        part = f" (partial: {len(r['scores'])}/{OUTER} folds)" if r.get("partial") else ""
        ratio = wall_to_budget(r)
        lines.append(f"| {r['dataset']} | {label(r['method'], r)}{part} | {r['mean']:.4f} ± {r['std']:.4f} | {r['fits']} "
                     f"| {r['seconds']:.0f} | {'' if ratio is None else f'{ratio:.2f}'} |")
    lines += ["", *targets(rows)]
    text = "\n".join(lines) + "\n"
    (out / "suite.md").write_text(text)
    print(text)
    print(f"written: {out / 'suite.csv'}, {out / 'suite.md'}")
    return rows


def _vs(a: dict, b: dict) -> tuple[float, float, str]:
    """Means of two methods over the outer folds both finished (partial runs: their first k folds)."""
    k = min(len(a["scores"]), len(b["scores"]))
    return float(np.mean(a["scores"][:k])), float(np.mean(b["scores"][:k])), "" if k == OUTER else f" [first {k}/{OUTER} folds]"


def targets(rows: list[dict]) -> list[str]:
    by = {}
    for r in rows:
        by.setdefault(r["dataset"], {})[r["method"]] = r
    partial = [f"{r['dataset']}/{r['method']} ({len(r['scores'])}/{OUTER} folds)" for r in rows if r.get("partial")]
    lines = ["Targets:"]
    for ds, m in sorted(by.items()):
        grid = m.get("libsvm-grid")
        for variant, what, tol in (("abauto-svm", "a", 0.005), ("abauto-svm-gaia", "a, gaia preprocessing pinned", 0.005),
                                   ("abauto-svm-rbf", "a, prototype: the grid's space, rbf + balanced", 0.005),
                                   ("abauto-trials", "b", 0.0)):
            if grid and variant in m:
                x, g, note = _vs(m[variant], grid)
                ok = x - g >= -tol
                rule = "within 0.005 below or better" if tol else ">= libsvm-grid"
                lines.append(f"- issue 4 ({what}) {ds}: {variant} {x:.4f} vs libsvm-grid {g:.4f}: diff {x - g:+.4f} -> "
                             f"{'MET' if ok else 'MISSED'} ({rule}){note}")
        others = {k: v for k, v in m.items() if k in ("libsvm-grid", "gaia-grid", "rf", "flaml", "autogluon")}
        if "abauto-time" in m and others:
            best_name, best = max(others.items(), key=lambda kv: kv[1]["mean"])
            x, b, note = _vs(m["abauto-time"], best)
            d = x - b
            verdict = "MET" if d >= 0 else ("NEAR (within 0.01)" if d >= -0.01 else "MISSED")
            noise = max(m["abauto-time"]["std"], best["std"])
            if abs(d) < noise:  # a difference smaller than the folds' own spread decides nothing
                verdict += f", within noise (fold std {noise:.4f})"
            lines.append(f"- issue 11 {ds}: abauto-time ({m['abauto-time']['budget']:g}s/fold) {x:.4f} "
                         f"vs best other {best_name} {b:.4f}: diff {d:+.4f} -> {verdict}{note}"
                         f"{'' if 'flaml' in others else ' [FLAML not run]'}")
    if partial:
        lines.append("- partial runs (cut short; compared on the folds they finished): " + ", ".join(partial))
    return lines


# ----------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder of CSVs (default ../shared/datasets)")
    p.add_argument("--only", default="", help="comma-separated dataset names (default: all CSVs)")
    p.add_argument("--methods", default=",".join(ALL_METHODS))
    p.add_argument("--budget", type=float, default=60.0, help="seconds per outer fold for abauto-time, flaml and autogluon")
    p.add_argument("--trials", type=int, default=60, help="trials per outer fold for abauto-trials")
    p.add_argument("--svm-trials", type=int, default=22, help="trials per outer fold for abauto-svm")
    p.add_argument("--gaia-config", default=str(GAIA_CONFIG), help="the config gaia-grid runs (default configs/gaia-svm.yaml)")
    p.add_argument("--no-ensemble", action="store_true",
                   help="abauto methods without ensemble selection (SearchSettings(ensemble=False))")
    p.add_argument("--out", default=None, help="output folder (default: a new temp dir)")
    p.add_argument("--report-only", action="store_true", help="only aggregate saved results in --out")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="abauto-bench-"))
    args.out = str(out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    if args.report_only:
        write_tables(out)
        return 0
    from threadpoolctl import threadpool_limits
    from abauto.data import load_dataset

    data = Path(args.data)
    csvs = {f.stem: f for f in sorted(data.glob("*.csv"))}
    names = split_values(args.only) or \
        [n for n in PREFERRED if n in csvs] + [n for n in csvs if n not in PREFERRED]
    methods = split_values(args.methods)
    for m in methods:
        if m not in RUNNERS:
            p.error(f"unknown method {m!r} (known: {', '.join(ALL_METHODS)})")
    log(f"out: {out}")
    for name in names:
        dataset = load_dataset(csvs[name])
        splits, _ = outer_folds(dataset)
        for method in methods:
            log(f"{name}: {method} ...")
            t0 = time.perf_counter()
            PARTIAL.update(t0=t0, path=out / "results" / f"{name}__{method}.partial.json",
                           row={"dataset": name, "method": method, "budget": args.budget, "trials": args.trials,
                                "svm_trials": args.svm_trials})
            with threadpool_limits(1), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = RUNNERS[method](dataset, splits, args)
            if res is None:
                continue
            seconds = time.perf_counter() - t0
            scores = [float(s) for s in res["scores"]]
            row = {"dataset": name, "method": method, "budget": args.budget, "trials": args.trials,
                   "svm_trials": args.svm_trials, "scores": scores, "mean": float(np.mean(scores)),
                   "std": float(np.std(scores)), "fits": int(res["fits"]), "seconds": seconds,
                   "detail": res.get("detail"), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            (out / "results" / f"{name}__{method}.json").write_text(json.dumps(row, indent=1, default=str))
            PARTIAL["path"].unlink(missing_ok=True)
            ratio = wall_to_budget(row)
            log(f"{name}: {method}: {row['mean']:.4f} ± {row['std']:.4f}, {row['fits']} fits, {seconds:.0f} s wall"
                + ("" if ratio is None else f" ({ratio:.2f} x its budget of {args.budget:g} s x {len(scores)} folds)"))
    write_tables(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
