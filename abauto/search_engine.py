"""Nested cross-validated search: an Optuna study per outer fold, plus one on all the data for
the final model.

Outer folds (stratified K-fold, stratified group K-fold, or a holdout split) give the honest
estimate: each outer training part gets its own study, tuned with inner stratified K-fold CV,
and the outer test part is never seen by tuning. For every classifier family the best inner
trial is refit on the outer training part and scored on the outer test part. A last study on
all rows picks the configuration of the final model (the procedure the outer folds estimated).
Studies are independent and seeded, so ``n_jobs > 1`` (one process per study) gives the same
leaderboard as ``n_jobs = 1``.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import socket
import time
import traceback
import warnings
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import optuna
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from abauto.data import DataError, Dataset, check_folds
from abauto.files import write_json
from abauto.isolation import ChildError, parse_size, run_isolated
from abauto.plugin import Kind
from abauto.registry import Registry, load_registry
from abauto.scoring import REPORTED, Scorer
from abauto.space import DataShape, PipelineSpace, describe, family
from abauto.studies import OverBudget, in_memory, make_storage, run_budget, watch, within_budget


@dataclass
class SearchSettings:
    """Everything that defines a search besides the data; mirrors ``abauto search`` options."""

    trials: int = 60
    timeout: float | None = None          # seconds per study (outer fold); None = trial budget only
    outer: str = "kfold:5"                # "kfold:K" or "holdout:FRACTION"
    inner_folds: int = 5
    metric: str = "balanced_accuracy"
    sampler: str = "tpe"                  # tpe | random | grid
    grid: dict[str, list] | None = None   # parameter -> values, for the grid sampler
    seed: int = 0
    n_jobs: int = 1
    plugins: Sequence[str] = ()
    exclude: Sequence[str] = ()
    fixed: dict[str, str] = field(default_factory=dict)  # slot -> plugin, not searched
    prune: bool = True
    storage: str | None = None            # Optuna storage URL; default sqlite in the run folder
    study_name: str = "abauto"
    max_costly_rows: int = 20_000
    trial_timeout: float | None = None    # seconds; the trial runs in a forked child that is killed
    memory_limit: str | int | None = None # e.g. "4G": address-space cap of that child

    def metrics(self) -> list[str]:
        return list(dict.fromkeys([self.metric, *REPORTED]))

    def outer_spec(self) -> tuple[str, float]:
        kind, _, value = self.outer.partition(":")
        if kind.isdigit():
            return "kfold", int(kind)
        if kind == "kfold" and value.isdigit() and int(value) >= 2:
            return "kfold", int(value)
        if kind == "holdout":
            try:
                frac = float(value or 0.2)
            except ValueError:
                frac = -1
            if 0 < frac < 1:
                return "holdout", frac
        raise DataError(f"--outer {self.outer!r}: expected kfold:K (K >= 2) or holdout:FRACTION (0 < FRACTION < 1)")


@dataclass
class FoldJob:
    """One study: tune on ``train``; if ``test`` is given, score each family's best on it."""

    name: str
    index: int | None
    train: np.ndarray
    test: np.ndarray | None


def outer_splits(dataset: Dataset, settings: SearchSettings) -> tuple[list[FoldJob], list[str]]:
    kind, value = settings.outer_spec()
    notes = []
    y = dataset.y
    if kind == "holdout":
        idx = np.arange(len(y))
        train, test = train_test_split(idx, test_size=value, stratify=y, random_state=settings.seed)
        splits = [(np.sort(train), np.sort(test))]
    else:
        folds, note = check_folds(dataset, int(value), "outer CV")
        if note:
            notes.append(note)
        if dataset.groups is not None:
            cv = StratifiedGroupKFold(folds, shuffle=True, random_state=settings.seed)
            splits = list(cv.split(np.zeros(len(y)), y, dataset.groups))
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
            splits = list(cv.split(np.zeros(len(y)), y))
    jobs = [FoldJob(f"{settings.study_name}.outer{k}", k, tr, te) for k, (tr, te) in enumerate(splits)]
    jobs.append(FoldJob(f"{settings.study_name}.final", None, np.arange(len(y)), None))
    return jobs, notes


def folds_fingerprint(jobs: Sequence[FoldJob], y: np.ndarray) -> str:
    """SHA-256 of the outer test parts and their labels: two leaderboards pair fold by fold
    (``abauto leaderboard diff``) only when this matches."""
    h = hashlib.sha256()
    for j in jobs:
        if j.test is not None:
            h.update(np.asarray(j.test, dtype=np.int64).tobytes())
            h.update("\x1f".join(map(str, y[j.test])).encode())
    return h.hexdigest()


def features(dataset: Dataset):
    """The feature matrix in the form pipelines take: float array, or a frame with categoricals."""
    if dataset.categorical:
        return dataset.X
    return dataset.X.to_numpy(dtype=np.float64)


def _take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def make_sampler(settings: SearchSettings, offset: int) -> optuna.samplers.BaseSampler:
    seed = settings.seed + offset
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler == "grid":
        if not settings.grid:
            raise DataError("sampler 'grid' needs a grid (a 'grid:' mapping in the --config file)")
        return optuna.samplers.GridSampler(settings.grid, seed=seed)
    if settings.sampler == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=10)
    raise DataError(f"--sampler {settings.sampler!r}: expected tpe, random or grid")


def evaluate(pipe, X, y, train, test, scorer: Scorer, keep_predictions: bool = False) -> dict[str, Any]:
    """Fit on ``train``, score on ``test``; scores plus fit and predict seconds (and the
    predictions, with ``keep_predictions``)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(_take(X, train), y[train])
    t1 = time.perf_counter()
    X_test = _take(X, test)
    y_pred = pipe.predict(X_test)
    scores = scorer(pipe, X_test, y[test], y_pred)
    t2 = time.perf_counter()
    out = {"scores": scores, "fit_seconds": t1 - t0, "predict_seconds": t2 - t1}
    if keep_predictions:
        out["y_pred"] = y_pred.tolist()
    return out


class Objective:
    """Inner cross-validation of one sampled pipeline; reports fold scores for pruning."""

    def __init__(self, space: PipelineSpace, X, y, train: np.ndarray, settings: SearchSettings,
                 groups: np.ndarray | None = None, shared: bool = True, deadline: float | None = None):
        """``shared``: other processes may run trials of the same study (budgets are then checked
        against the storage); ``deadline``: a ``time.monotonic()`` after which a trial stops at
        its next inner fold (pruned), so a time budget is kept within about one fit."""
        self.space, self.X, self.y, self.train, self.settings = space, X, y, train, settings
        self.shared, self.deadline = shared, deadline
        folds = min(settings.inner_folds, min(np.unique(y[train], return_counts=True)[1]))
        if groups is not None:  # inner folds keep groups apart too (e.g. excerpts of one track)
            folds = min(folds, len(np.unique(groups[train])))
        if folds < 2:
            raise DataError("a class (or the groups) has fewer than 2 members in an outer training part; "
                            "lower --outer folds")
        if groups is not None:
            cv = StratifiedGroupKFold(folds, shuffle=True, random_state=settings.seed)
            self.inner = list(cv.split(train, y[train], groups[train]))
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
            self.inner = list(cv.split(train, y[train]))
        self.scorer = Scorer(settings.metric)

    def __call__(self, trial: optuna.Trial) -> float:
        steps = None
        if self.shared:
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # see fail_dead_workers
            if not within_budget(trial.study, trial.number, self.settings.trials):
                trial.set_user_attr("over_budget", True)
                raise OverBudget(f"trial {trial.number} started after the budget of {self.settings.trials} was taken")
        try:
            steps = self.space.sample(trial, self.settings.seed, n_rows=min(len(tr) for tr, _ in self.inner))
            return self._run(trial, steps)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # recorded so the leaderboard's failures name the plugin and error
            message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            trial.set_user_attr("error", f"{type(exc).__name__}: {message}")
            trial.set_user_attr("family", blame(exc, steps, self.space) if steps else trial.params.get("classifier", "?"))
            if steps:
                trial.set_user_attr("failed_pipeline", describe(steps))
            raise

    def _folds(self, steps) -> Iterator[dict]:
        n_rows = len(self.inner[0][0])
        for tr, va in self.inner:
            pipe = self.space.build(steps, random_state=self.settings.seed, n_rows=n_rows, probability=self.scorer.probability)
            yield evaluate(pipe, self.X, self.y, self.train[tr], self.train[va], self.scorer)

    def _run(self, trial: optuna.Trial, steps) -> float:
        trial.set_user_attr("family", family(steps))
        trial.set_user_attr("pipeline", [s.to_json() for s in steps])
        per_metric: dict[str, list[float]] = {m: [] for m in self.settings.metrics()}
        fit_s = predict_s = 0.0
        if self.settings.trial_timeout or self.settings.memory_limit:
            results = run_isolated(lambda: self._folds(steps), self.settings.trial_timeout,
                                   parse_size(self.settings.memory_limit))
        else:
            results = self._folds(steps)
        with closing(results):
            for step, out in enumerate(results):
                fit_s += out["fit_seconds"]
                predict_s += out["predict_seconds"]
                for m in per_metric:
                    per_metric[m].append(out["scores"][m])
                if step < len(self.inner) - 1:
                    self._stop_early(trial, step, per_metric)
        trial.set_user_attr("inner_scores", per_metric)
        trial.set_user_attr("fit_seconds", fit_s)
        trial.set_user_attr("predict_seconds", predict_s)
        value = float(np.mean(per_metric[self.settings.metric]))
        if math.isnan(value):
            raise ValueError("the metric is NaN")
        return value

    def _stop_early(self, trial: optuna.Trial, step: int, per_metric: dict[str, list[float]]) -> None:
        """Prune after inner fold ``step`` when the pruner says so or the deadline has passed."""
        if self.settings.prune:
            trial.report(float(np.mean(per_metric[self.settings.metric])), step)
        late = self.deadline is not None and time.monotonic() > self.deadline
        if late or (self.settings.prune and trial.should_prune()):
            trial.set_user_attr("inner_scores", per_metric)
            raise optuna.TrialPruned("the time budget ran out" if late else "")


def blame(exc: BaseException, steps, space: PipelineSpace) -> str:
    """The plugin whose code raised: the step whose plugin module holds the deepest traceback
    frame (a third-party estimator lives beside its plugin); else the classifier family."""
    text = exc.where if isinstance(exc, ChildError) else "".join(traceback.format_exception(exc))
    files = {}
    for s in steps:
        try:
            files[inspect.getsourcefile(space.registry[s.plugin].build)] = s.plugin
        except TypeError:  # a builtin or C function has no source file
            pass
    best, where = family(steps), -1
    for path, name in files.items():
        pos = text.rfind(f'File "{path}"') if path else -1
        if pos > where:
            best, where = name, pos
    return best


def open_study(name: str, settings: SearchSettings, offset: int,
               storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=8, n_warmup_steps=1) if settings.prune else optuna.pruners.NopPruner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.create_study(study_name=name, storage=storage or make_storage(settings.storage),
                                   direction="maximize",
                                   sampler=make_sampler(settings, offset), pruner=pruner, load_if_exists=True)


def seed_families(study: optuna.Study, space: PipelineSpace, settings: SearchSettings, n_rows: int) -> None:
    """A new study first tries every classifier family once, from its defaults
    (:meth:`PipelineSpace.first_params`), in registry order with ensembles last: each family
    gets an outer score in every fold and the sampler starts from all of them. Only when the
    budget leaves the sampler as many trials again (else the first families would take the
    whole budget). Under a time budget, families without defaults (the ensembles, whose members
    are sampled) are left to the sampler: a random ensemble can take the whole budget.
    A resumed study gets the first trials it has not run or queued yet.
    ``n_rows``: the size of an inner training part."""
    if settings.sampler == "grid" or "classifier" in settings.fixed:
        return
    plugins = sorted(space.choices[Kind.CLASSIFIER], key=lambda p: p.ensemble)
    if len(plugins) < 2 or 2 * len(plugins) > settings.trials:
        return
    known = [t.params or t.system_attrs.get("fixed_params", {}) for t in study.get_trials(deepcopy=False)]
    for p in plugins:
        if p.defaults or settings.timeout is None:
            first = space.first_params(p.name, settings.seed, n_rows)
            if not any(all(k.get(name) == value for name, value in first.items()) for k in known):
                study.enqueue_trial(first)


def inner_rows(job: FoldJob, settings: SearchSettings) -> int:
    """Rows an inner training part of ``job`` holds (at most one fold fewer)."""
    n = len(job.train)
    return n - -(-n // settings.inner_folds)


def best_per_family(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        fam = t.user_attrs["family"]
        if fam not in best or t.value > best[fam].value or (t.value == best[fam].value and t.number < best[fam].number):
            best[fam] = t
    return best


def run_fold(job: FoldJob, space: PipelineSpace, X, y, settings: SearchSettings,
             callback: Callable | None = None, owns_storage: bool = True,
             groups: np.ndarray | None = None) -> dict[str, Any]:
    """Run (or resume) one study, then score every family's best trial on the outer test part."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are recorded in the leaderboard
    offset = 1000 if job.index is None else job.index
    study, persist = open_study(job.name, settings, offset), None
    if owns_storage:  # seeded here: search() seeds shared studies before workers join
        study, persist = in_memory(study)
        seed_families(study, space, settings, inner_rows(job, settings))
    # One BLAS/OpenMP thread per fit: on small data, thread pools cost more than they give
    # (a boosting fit went from 34 s to 0.7 s on a busy 2-core machine); parallelism comes from
    # running studies side by side (--n-jobs).
    with threadpool_limits(1), warnings.catch_warnings():
        for category in (ConvergenceWarning, UserWarning, FutureWarning, RuntimeWarning):
            warnings.simplefilter("ignore", category)
        deadline = time.monotonic() + settings.timeout if settings.timeout else None
        run_budget(study, Objective(space, X, y, job.train, settings, groups, not owns_storage, deadline),
                   settings, callback, shared=not owns_storage, persist=persist)
        return _score_families(job, study, space, X, y, settings)


def _score_families(job: FoldJob, study: optuna.Study, space: PipelineSpace, X, y, settings: SearchSettings) -> dict:
    outcome: dict[str, Any] = {"name": job.name, "fold": job.index, "families": {}, "best_family": None}
    bests = best_per_family(study)
    if not bests:
        return outcome
    outcome["best_family"] = max(bests.values(), key=lambda t: (t.value, -t.number)).user_attrs["family"]
    if job.test is None:
        return outcome
    scorer = Scorer(settings.metric)
    for fam, trial in sorted(bests.items()):
        steps = space.replay(trial.params)
        pipe = space.build(steps, random_state=settings.seed, n_rows=len(job.train), probability=scorer.probability)
        try:
            out = evaluate(pipe, X, y, job.train, job.test, scorer, keep_predictions=fam == outcome["best_family"])
        except Exception as exc:  # a plugin that fits inside CV but not on the whole part
            out = {"error": f"{type(exc).__name__}: {exc}"}
        if "y_pred" in out:
            outcome["y_pred"] = out.pop("y_pred")
        inner = trial.user_attrs["inner_scores"][settings.metric]
        outcome["families"][fam] = {"trial": trial.number, "params": trial.params,
                                    "pipeline": trial.user_attrs["pipeline"],
                                    "inner_mean": float(np.mean(inner)), "inner_std": float(np.std(inner)), **out}
    outcome["test"] = job.test.tolist()
    return outcome


def work(dataset: Dataset, settings: SearchSettings, registry: Registry | None = None,
         folds_sha256: str | None = None) -> None:
    """Join a running search as one more worker: run trials of each of its studies, in the
    coordinator's order, until every budget is spent. Data and settings must be the search's:
    ``folds_sha256`` (recorded by the search) refuses data that gives other outer folds."""
    space = PipelineSpace(registry or load_registry(), DataShape.of(dataset), settings.plugins, settings.exclude,
                          settings.max_costly_rows, dict(settings.fixed))
    jobs, _ = outer_splits(dataset, settings)
    if folds_sha256 and folds_fingerprint(jobs, dataset.y) != folds_sha256:
        raise DataError(f"{dataset.source}: this data gives other outer folds than the search's (another or a "
                        "reordered file?); give the search's data file with --data")
    X, y = features(dataset), dataset.y
    salt = 100_000 + os.getpid() % 100_000  # workers must not propose each other's trials
    for job in jobs:
        study = open_study(job.name, settings, salt + (1000 if job.index is None else job.index))
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_budget(study, Objective(space, X, y, job.train, settings, dataset.groups), settings, shared=True)


@dataclass
class SearchResult:
    """What a search produced: the leaderboard dict, the final pipeline and the run folder."""

    leaderboard: dict
    pipeline: Any
    run_dir: Path | None
    studies: list[str]

    @property
    def best_score(self) -> tuple[float, float]:
        best = self.leaderboard["best"]
        return best["outer_mean"], best["outer_std"]


def search(dataset: Dataset | str | Path, settings: SearchSettings | None = None, run_dir: str | Path | None = None,
           registry: Registry | None = None, progress: Callable[[str, optuna.trial.FrozenTrial], None] | None = None,
           command: str = "", inputs: dict | None = None) -> SearchResult:
    """Run the nested cross-validated search and write the run folder.

    ``dataset`` is a :class:`abauto.data.Dataset` or the path of a table. Running again on the
    same ``run_dir`` resumes: finished trials count toward the budget, the trials a killed
    process was running are run again. ``inputs`` (how the data was loaded) and the settings
    are kept in ``run.json`` for ``abauto search --resume``.

    ``run_dir`` defaults to ``runs/<dataset>-<timestamp>``; the Optuna storage defaults to
    ``sqlite:///<run_dir>/study.db``. ``progress(study_name, trial)`` is called after every
    trial when ``n_jobs == 1``.
    """
    from abauto import leaderboard as lb
    from abauto.data import load_dataset
    from abauto.model import save_model

    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    settings = settings or SearchSettings()
    registry = registry or load_registry()
    space = PipelineSpace(registry, DataShape.of(dataset), settings.plugins, settings.exclude,
                          settings.max_costly_rows, dict(settings.fixed))
    jobs, notes = outer_splits(dataset, settings)
    Scorer(settings.metric)  # an unknown --metric fails before any work
    make_sampler(settings, 0)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    run_dir = Path(run_dir) if run_dir else Path("runs") / f"{dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    owns_storage = settings.storage is None
    if owns_storage:
        settings.storage = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    meta = {"inputs": inputs or {"data": dataset.source},
            "settings": {k: v for k, v in asdict(settings).items() if not (owns_storage and k == "storage")},
            "folds_sha256": folds_fingerprint(jobs, dataset.y)}  # abauto worker checks its data against it
    write_json(run_dir / "run.json", meta)
    X, y = features(dataset), dataset.y
    storage = make_storage(settings.storage)  # create the tables once, before parallel workers race to
    for j in jobs:  # studies exist, seeded, before any worker joins (abauto worker reads "abauto")
        study = open_study(j.name, settings, 1000 if j.index is None else j.index, storage)
        if not owns_storage:
            seed_families(study, space, settings, inner_rows(j, settings))
        study.set_user_attr("abauto", meta)
    t0 = time.perf_counter()
    if settings.n_jobs == 1 or len(jobs) == 1:
        outcomes = [run_fold(j, space, X, y, settings, (lambda s, t, n=j.name: progress(n, t)) if progress else None,
                             owns_storage, dataset.groups) for j in jobs]
    else:
        # Longest first: the final study (all rows) is the largest, so it starts at once instead
        # of running alone at the end while the other workers idle.
        order = [jobs[-1], *jobs[:-1]]
        with watch(settings.storage, [j.name for j in jobs], progress):
            done = Parallel(n_jobs=settings.n_jobs, backend="loky")(
                delayed(run_fold)(j, space, X, y, settings, None, owns_storage, dataset.groups) for j in order)
        outcomes = [*done[1:], done[0]]
    wall = time.perf_counter() - t0
    studies = [optuna.load_study(study_name=j.name, storage=storage) for j in jobs]
    final_study = studies[-1]
    board = lb.build(dataset, settings, outcomes, studies,
                     notes=notes + dataset.notes, wall_seconds=wall, command=command,
                     folds_sha256=folds_fingerprint(jobs, y))
    pipeline = None
    if board["final"] is not None:
        steps = space.replay(final_study.best_trial.params)
        pipeline = space.build(steps, random_state=settings.seed, probability=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline.fit(X, y)
        save_model(pipeline, run_dir, dataset, board)
    lb.write_all(board, run_dir)
    return SearchResult(board, pipeline, run_dir, [j.name for j in jobs])

