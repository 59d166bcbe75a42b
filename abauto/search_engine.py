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

import os
import time
import warnings
from contextlib import closing, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import optuna
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from abauto import ensemble
from abauto.data import Dataset
from abauto.errors import DataError
from abauto.folds import (FamilyResult, FoldJob, FoldOutcome, features, folds_fingerprint, inner_rows, outer_splits,
                          take)
from abauto.labels import EncodedTargetClassifier, encode
from abauto.objective import Objective, evaluate
from abauto.registry import Registry, load_registry
from abauto.runfolder import RunFolder, check_same_search, guard, search_identity, show_url
from abauto.schedule import Schedule, StudyClock, TimePlan, coverage_note, sufficient_budget
from abauto.scoring import Scorer
from abauto.settings import SearchSettings
from abauto.space import PipelineSpace
from abauto.studies import (SamplerFactory, in_memory, inner_scores, make_sampler, make_storage, open_study,
                            recorded_family, run_budget, search_lock, set_search, study_search, trial_pipeline, watch)

__all__ = ["SearchSettings", "SearchResult", "search", "work", "run_fold", "outer_splits", "features"]


def seed_families(study: optuna.Study, space: PipelineSpace, settings: SearchSettings, n_rows: int) -> None:
    """Enqueue the opening of a study's schedule (:mod:`abauto.schedule`): every classifier
    family once from its defaults (:meth:`PipelineSpace.first_params`), single models in registry
    order (cheapest first), ensembles last, within the trial budget. A resumed study gets the
    trials of that round it has not run or queued yet. ``n_rows``: the size of an inner training
    part."""
    Schedule(space, settings, n_rows).opening(study)


def best_per_family(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        fam = recorded_family(t)
        if fam not in best or t.value > best[fam].value or (t.value == best[fam].value and t.number < best[fam].number):
            best[fam] = t
    return best


def run_fold(job: FoldJob, space: PipelineSpace, X, y, settings: SearchSettings,
             callback: Callable | None = None, owns_storage: bool = True,
             groups: np.ndarray | None = None, sampler_factory: SamplerFactory = make_sampler,
             plan: TimePlan | None = None, position: int = 0) -> FoldOutcome:
    """Run (or resume) one study, then score every family's best trial on the outer test part.

    The study follows its :class:`abauto.schedule.Schedule` of families; under a whole-search
    time budget (``plan``; ``position``: where this study is in the order studies start) it gets
    its share of the time left and stops starting trials when the rest would not cover its refits
    and the final fit. Plugins are fitted on the codes of the labels ``y``
    (:func:`abauto.labels.encode`); the outer-fold predictions are returned as labels."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are recorded in the leaderboard
    if plan is not None and plan.left() <= plan.margin:  # the time budget is spent: not even opened
        return FoldOutcome(job.name, job.index)
    classes, y = encode(y)
    study, persist = open_study(job.name, settings, job.offset, sampler_factory=sampler_factory), None
    schedule = Schedule(space, settings, inner_rows(job, settings))
    if owns_storage:  # seeded here: search() seeds shared studies before workers join
        study, persist = in_memory(study)
        schedule.opening(study)
    # One BLAS/OpenMP thread per fit: thread pools cost more than they give on small data (a
    # boosting fit went from 34 s to 0.7 s on a busy 2-core machine) and on a loaded machine
    # even on large data (a logistic regression: 0.4 s with one thread, 19 s with two);
    # parallelism comes from running studies side by side (--n-jobs).
    with threadpool_limits(1), warnings.catch_warnings():
        for category in (ConvergenceWarning, UserWarning, FutureWarning, RuntimeWarning):
            warnings.simplefilter("ignore", category)
        timeout = time.monotonic() + settings.timeout if settings.timeout else None
        holdout = settings.outer_spec()[0] == "holdout"  # its saved model is its outer refit: no final fit
        clock = plan and plan.clock(position, len(job.train), inner_rows(job, settings), None if holdout else len(y),
                                    job.test is not None, settings.metric, settings.timeout)

        def next_trial(study: optuna.Study) -> bool:
            schedule.enqueue(study)
            if clock is None:
                return True
            objective.deadline = min(d for d in (timeout, clock.trials_deadline(study)) if d is not None)
            return time.monotonic() < objective.deadline

        with closing(Objective(space, X, y, job.train, settings, groups, not owns_storage, timeout)) as objective:
            run_budget(study, objective, settings, callback, shared=not owns_storage, persist=persist, plan=next_trial)
        outcome = _score_families(job, study, space, X, y, settings, objective, clock)
    return _as_labels(outcome, classes)


def score_study(job: FoldJob, study: optuna.Study, space: PipelineSpace, X, y, settings: SearchSettings,
                groups: np.ndarray | None = None) -> FoldOutcome:
    """What :func:`run_fold` records for an already finished ``study``, whoever ran its trials:
    every family's best trial (and the selected ensemble) refitted on the outer training part
    and scored on its test part. Rebuilds a leaderboard from stored studies."""
    classes, y = encode(y)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with closing(Objective(space, X, y, job.train, settings, groups)) as objective:
            return _as_labels(_score_families(job, study, space, X, y, settings, objective), classes)


def _as_labels(outcome: FoldOutcome, classes: np.ndarray) -> FoldOutcome:
    """``outcome`` with its outer-fold predictions as the user's labels instead of codes."""
    if outcome.y_pred is not None:
        outcome.y_pred = classes[outcome.y_pred].tolist()
    return outcome


def _score_families(job: FoldJob, study: optuna.Study, space: PipelineSpace, X, y, settings: SearchSettings,
                    objective: Objective | None = None, clock: StudyClock | None = None) -> FoldOutcome:
    """Refit every family's best trial (and the selected ensemble, given the study's ``objective``
    with its OOF library) on the outer training part and score it on the outer test part. Under
    a time budget (``clock``) the selected family is refitted first and the others by inner
    score while their refits end in time; a family left out says so in its ``error``."""
    outcome = FoldOutcome(job.name, job.index)
    bests = best_per_family(study)
    if not bests:
        return outcome
    ranked = sorted(bests.values(), key=lambda t: (-t.value, t.number))
    # under a time budget: the best family whose refit and final fit the study's time covers, the
    # one the trials stopped in time for (StudyClock.reserve), else the cheapest
    best = ranked[0] if clock is None else clock.selectable(ranked)
    outcome.best_family = recorded_family(best)
    chosen = _select_ensemble(study, objective, y, settings, best.value) if settings.ensemble and objective else None
    if chosen is not None:
        outcome.ensemble = chosen
        if chosen.wins and clock is not None and not clock.in_time([bests[m["family"]] for m in chosen.members
                                                                   if m["family"] in bests]):
            chosen.wins = False  # its members' refits and final fits would not end in time
        if chosen.wins:
            outcome.best_family = ensemble.FAMILY
    if job.test is None:
        return outcome
    scorer = Scorer(settings.metric)
    fitted = {}  # trial number -> its refit on the outer training part, for the ensemble
    members = {m["trial"] for m in chosen.members} if chosen is not None else set()
    for fam, trial in sorted(bests.items(), key=lambda b: (b[0] != outcome.best_family, -b[1].value, b[0])):
        steps = space.replay(trial.params)
        pipe = space.build(steps, random_state=settings.seed, n_rows=len(job.train), probability=scorer.probability)
        try:
            if clock is not None and fam != outcome.best_family and not clock.refit_in_time(study, trial):
                raise TimeoutError("not refitted: its refit would not end within the time budget")
            out = evaluate(pipe, X, y, job.train, job.test, scorer, keep_predictions=fam == outcome.best_family)
        except Exception as exc:  # a plugin that fits inside CV but not on the whole part
            out = {"error": f"{type(exc).__name__}: {exc}"}
        if "y_pred" in out:
            outcome.y_pred = out.pop("y_pred")
        if "error" not in out:
            if trial.number in members:  # held only where needed: a refit may be large
                fitted[trial.number] = pipe
            if fam == outcome.best_family:
                outcome.model = pipe
        inner = inner_scores(trial, settings.metric)
        outcome.families[fam] = FamilyResult(trial.number, trial.params, trial_pipeline(trial),
                                             float(np.mean(inner)), float(np.std(inner)), **out)
    if chosen is not None:
        if (clock is not None and outcome.best_family != ensemble.FAMILY
                and any(m["trial"] not in fitted for m in chosen.members)):
            out = {"error": "TimeoutError: not refitted: its members' refits did not end within the time budget"}
        else:
            out = _score_ensemble(chosen, fitted, job, space, X, y, settings, scorer)
        y_pred = out.pop("y_pred", None)
        if outcome.best_family == ensemble.FAMILY and y_pred is not None:
            outcome.y_pred = y_pred
        outcome.families[ensemble.FAMILY] = FamilyResult(
            chosen.members[0]["trial"], {}, ensemble.describe(chosen.members), chosen.inner_mean, chosen.inner_std,
            members=chosen.members, **out)
    outcome.test = job.test.tolist()
    return outcome


def _select_ensemble(study: optuna.Study, objective: Objective, y, settings: SearchSettings,
                     best_value: float) -> ensemble.Choice | None:
    """Greedy ensemble selection (:mod:`abauto.ensemble`) over the study's OOF library. It
    ``wins`` (is the pipeline selected in this study) when it has more than one member and its
    inner score beats the best single trial's."""
    t0 = time.perf_counter()
    library = objective.ensemble_library(study)
    if not library:
        return None
    folds = [va for _, va in objective.inner]
    score = ensemble.fold_scorer(settings.metric, y[objective.train], objective.classes, folds)
    sel = ensemble.select([proba for _, proba in library], score)
    order = sorted(range(len(sel.members)), key=lambda i: (-sel.weights[i], sel.members[i]))
    members = []
    for i in order:
        t = library[sel.members[i]][0]
        members.append({"trial": t.number, "weight": sel.weights[i], "family": recorded_family(t),
                        "pipeline": trial_pipeline(t), "params": t.params, "inner_mean": float(t.value)})
    return ensemble.Choice(members, sel.score, float(np.std(sel.fold_scores)), rounds=len(sel.trajectory),
                           library=len(library), seconds=time.perf_counter() - t0,
                           wins=len(members) > 1 and sel.score > best_value)


def _member(space: PipelineSpace, member: dict, settings: SearchSettings, n_rows: int | None = None):
    """An ensemble member's unfitted pipeline, built to give probabilities (SVC: Platt-scaled)."""
    return space.build(space.replay(member["params"]), random_state=settings.seed, n_rows=n_rows, probability=True)


def _score_ensemble(chosen: ensemble.Choice, fitted: dict, job: FoldJob, space: PipelineSpace, X, y,
                    settings: SearchSettings, scorer: Scorer) -> dict:
    """Fit the members on the outer training part (reusing a family's best refit when it gives
    probabilities), average their weighted probabilities on the outer test part and score the
    argmax."""
    classes = np.unique(y[job.train])
    X_test = take(X, job.test)
    fit_s = predict_s = 0.0
    fits = 0
    total = np.zeros((len(job.test), len(classes)))
    try:
        for m in chosen.members:
            pipe = fitted.get(m["trial"])
            if pipe is None or not hasattr(pipe, "predict_proba"):
                pipe = _member(space, m, settings, n_rows=len(job.train))
                t0 = time.perf_counter()
                pipe.fit(take(X, job.train), y[job.train])
                fit_s += time.perf_counter() - t0
                fits += 1
            t0 = time.perf_counter()
            total += m["weight"] * ensemble.oof_part(pipe, X_test, classes)[1]
            predict_s += time.perf_counter() - t0
    except Exception as exc:  # a member that fits inside CV but not on the whole part
        return {"error": f"{type(exc).__name__}: {exc}"}
    proba = total / sum(m["weight"] for m in chosen.members)
    y_pred = classes[np.argmax(proba, axis=1)]
    scores = scorer(ensemble.FixedProba(classes, proba), np.arange(len(job.test)).reshape(-1, 1), y[job.test], y_pred)
    return {"scores": scores, "fit_seconds": fit_s, "predict_seconds": predict_s, "y_pred": y_pred.tolist(),
            "fits": fits}


def ensemble_model(space: PipelineSpace, chosen: ensemble.Choice, settings: SearchSettings):
    """The final model of a winning ensemble: a plain scikit-learn soft ``VotingClassifier``
    over the members' pipelines, weighted by their selection counts (unfitted)."""
    from sklearn.ensemble import VotingClassifier

    estimators = [(ensemble.member_name(m), _member(space, m, settings)) for m in chosen.members]
    return VotingClassifier(estimators, voting="soft", weights=[m["weight"] for m in chosen.members])


def work(dataset: Dataset, settings: SearchSettings, registry: Registry | None = None,
         folds_sha256: str | None = None, ends: float | None = None,
         progress: Callable[[str, optuna.trial.FrozenTrial], None] | None = None,
         on_study: Callable[[str, None], None] | None = None) -> None:
    """Join a running search as one more worker: run trials of each of its studies, in the
    coordinator's order, until every budget is spent. Data and settings must be the search's:
    ``folds_sha256`` (recorded by the search) refuses data that gives other outer folds;
    ``ends`` (``time.time()``, recorded by a search with a time budget): start no trial after it.
    ``progress(study_name, trial)`` after each trial this worker ran; ``on_study(study_name, None)``
    when this worker is done with a study."""
    settings.validate()
    space = PipelineSpace.for_search(dataset, settings, registry or load_registry())
    jobs, _ = outer_splits(dataset, settings)
    if folds_sha256 and folds_fingerprint(jobs, dataset.y) != folds_sha256:
        raise DataError(f"{dataset.source}: this data gives other outer folds than the search's (another or a "
                        "reordered file?); give the search's data file with --data")
    X, (_, y) = features(dataset, settings), encode(dataset.y)  # the codes run_fold fits on
    salt = 100_000 + os.getpid() % 100_000  # workers must not propose each other's trials
    deadline = None if ends is None else time.monotonic() + ends - time.time()
    for job in jobs:
        study = open_study(job.name, settings, salt + job.offset)
        schedule = Schedule(space, settings, inner_rows(job, settings))

        def next_trial(study: optuna.Study, schedule=schedule) -> bool:
            schedule.enqueue(study)
            return deadline is None or time.monotonic() < deadline

        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # no OOF library here: the coordinator recomputes what its ensemble needs
            with closing(Objective(space, X, y, job.train, replace(settings, ensemble=False), dataset.groups,
                                   deadline=deadline)) as objective:
                run_budget(study, objective, settings, (lambda s, t, n=job.name: progress(n, t)) if progress else None,
                           shared=True, plan=next_trial)
        if on_study:
            on_study(job.name, None)


def _time_note(space: PipelineSpace, settings: SearchSettings, outcomes: list[FoldOutcome], studies,
               lanes: int) -> str | None:
    """Under a time budget: which families missed outer folds, and about what budget would do."""
    folds = [o for o in outcomes if o.fold is not None]
    fams = Schedule(space, settings, 1).families or sorted({f for o in folds for f in o.families})
    short = [f for f in fams
             if sum(1 for o in folds if f in o.families and o.families[f].scores is not None) < len(folds)]
    if not short:
        return None
    need = sufficient_budget(studies, lanes, settings.metric, settings.inner_folds)
    more = f"about --time-budget {max(need, settings.time_budget * 1.5):.0f} or more" if need else "a larger --time-budget"
    return (f"--time-budget {settings.time_budget:g} s left {len(short)} of {len(fams)} families without a score on "
            f"every outer fold ({', '.join(short)}); {more} would give every family two trials per study")


def default_run_dir(dataset: Dataset) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>``: where a search without ``run_dir`` writes. ``name`` is
    what the labels mean when the loader says (an AcousticBrainz ground truth's ``className``:
    ``runs/genre_rosamerica-...``, not the folder's ``lowlevel``), else the dataset's name; made
    safe for a file name."""
    import re

    name = re.sub(r"[^\w.-]+", "_", dataset.task or "").strip("._") or dataset.name
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


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
           command: str = "", inputs: dict | None = None,
           sampler_factory: SamplerFactory = make_sampler, started: float | None = None,
           on_study: Callable[[str, dict], None] | None = None) -> SearchResult:
    """Run the nested cross-validated search and write the run folder.

    ``dataset`` is a :class:`abauto.data.Dataset` or the path of a table. Running again on the
    same ``run_dir`` resumes: finished trials count toward the budget, the trials a killed
    process was running are run again. ``inputs`` (how the data was loaded) and the settings
    are kept in ``run.json`` for ``abauto search --resume``. A run folder holds one search
    (:mod:`abauto.runfolder`): other data or settings, or a search still running there, raise
    :class:`abauto.errors.StorageError` before any work.

    ``run_dir`` defaults to ``runs/<dataset>-<timestamp>``; the Optuna storage defaults to
    ``sqlite:///<run_dir>/study.db``. ``progress(study_name, trial)`` is called after every
    trial (with ``n_jobs > 1``: within a second, polled from the storage);
    ``on_study(study_name, outcome)`` when a study and its refits are done, ``outcome`` being what
    :func:`run_fold` returned. ``sampler_factory(settings, offset)`` makes each study's Optuna
    sampler (default :func:`abauto.studies.make_sampler`; benchmarks pass their own).

    ``settings.time_budget`` bounds the whole search (every study, the refits and the final fit)
    from ``started`` (a ``time.monotonic()``; default: when this is called).
    """
    from abauto.data import load_dataset

    began = time.monotonic() if started is None else started
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    settings = (settings or SearchSettings()).validate()
    registry = registry or load_registry()
    space = PipelineSpace.for_search(dataset, settings, registry)
    jobs, notes = outer_splits(dataset, settings)
    notes += [n for n in [coverage_note(space, settings)] if n] + space.notes()
    Scorer(settings.metric).check_task(np.unique(encode(dataset.y)[1]))  # unknown or unfit for the codes the studies score: fail before any work
    sampler_factory(settings, 0)  # an unusable sampler setting fails before any work
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    folder = RunFolder(run_dir or default_run_dir(dataset))
    shared = settings.storage  # None: the run folder's own study.db
    identity = search_identity(dataset, settings, shared)
    # One search per run folder (and per study name on a shared storage), held until the end;
    # errors of the disk or of study.db become one line naming the path.
    with folder.claim(identity, settings.trials), \
            (search_lock(shared, settings.study_name) if shared else nullcontext()), \
            guard(folder.path, shared or folder.study_db):
        return _search_in(folder, identity, dataset, settings, space, jobs, notes, progress, command, inputs,
                          sampler_factory, began, on_study)


def _search_in(folder: RunFolder, identity: dict, dataset: Dataset, settings: SearchSettings, space: PipelineSpace,
               jobs: list, notes: list[str], progress: Callable | None, command: str, inputs: dict | None,
               sampler_factory: SamplerFactory, began: float, on_study: Callable | None = None) -> SearchResult:
    """:func:`search` once it holds the run folder: run the studies and write the results."""
    from abauto import leaderboard as lb
    from abauto.model import save_model

    run_dir = folder.path
    owns_storage = settings.storage is None
    if owns_storage:
        settings.storage = folder.storage_url
    meta = {"inputs": inputs or {"data": dataset.source},
            "settings": {k: v for k, v in asdict(settings).items() if not (owns_storage and k == "storage")},
            "identity": identity,  # what defines this search: another one is refused this folder
            "folds_sha256": folds_fingerprint(jobs, dataset.y),  # abauto worker checks its data against it
            "commands": lb.run_commands(run_dir, command)}  # the first, then each that continued the search
    if owns_storage:  # before study.db exists: a folder with a study.db and no run.json is not a run folder
        folder.write_meta(meta)
    X, y = features(dataset, settings), dataset.y
    storage = make_storage(settings.storage)  # create the tables once, before parallel workers race to
    lanes = 1 if settings.n_jobs == 1 or len(jobs) == 1 else settings.n_jobs
    plan = TimePlan.start(settings.time_budget, len(jobs), lanes, began) if settings.time_budget else None
    ends = {} if plan is None else {"ends": time.time() + plan.left()}  # when workers must stop (wall clock)
    for j in jobs:  # studies exist, seeded, before any worker joins (abauto worker reads "abauto")
        study = open_study(j.name, settings, j.offset, storage, sampler_factory)
        if not owns_storage:
            if study_search(study) is not None:  # the same study name may not hold two searches either
                check_same_search(f"{show_url(settings.storage)} study {j.name}", study_search(study),
                                  identity, settings.trials, "use another --study-name")
            seed_families(study, space, settings, inner_rows(j, settings))
        set_search(study, {**meta, **ends})
    if settings.time_budget:  # what writing the results imports is imported before the time is shared out
        import jsonschema  # noqa: F401
        import skops.io  # noqa: F401
    if not owns_storage:  # once its study name is known to hold this search
        folder.write_meta(meta)
    t0 = time.perf_counter()

    def finished(outcome: FoldOutcome) -> FoldOutcome:
        if on_study:
            on_study(outcome.name, outcome)
        return outcome

    if lanes == 1:
        outcomes = [finished(run_fold(j, space, X, y, settings,
                                      (lambda s, t, n=j.name: progress(n, t)) if progress else None,
                                      owns_storage, dataset.groups, sampler_factory, plan, i))
                    for i, j in enumerate(jobs)]
    else:
        # Longest first: the final study (all rows) is the largest, so it starts at once instead
        # of running alone at the end while the other workers idle.
        order = [jobs[-1], *jobs[:-1]]
        with watch(settings.storage, [j.name for j in jobs], progress):
            done = {o.name: finished(o) for o in Parallel(n_jobs=settings.n_jobs, backend="loky",
                                                             return_as="generator_unordered")(
                delayed(run_fold)(j, space, X, y, settings, None, owns_storage, dataset.groups, sampler_factory,
                                  plan, i)
                for i, j in enumerate(order))}
        outcomes = [done[j.name] for j in jobs]
    wall = time.perf_counter() - t0
    studies = [optuna.load_study(study_name=j.name, storage=storage) for j in jobs]
    if plan is not None:
        notes += [n for n in [_time_note(space, settings, outcomes, studies, lanes)] if n]
    board = lb.build(dataset, settings, outcomes, studies,
                     notes=notes + dataset.notes, wall_seconds=wall, command=meta["commands"][0],
                     folds_sha256=folds_fingerprint(jobs, y), resumed=meta["commands"][1:])
    pipeline = None
    last = outcomes[-1]
    if board["final"] is not None and last.fold is not None and last.model is not None \
            and board["final"]["family"] == last.best_family and hasattr(last.model, "predict_proba"):
        # --outer holdout: the saved model is the selected pipeline as refitted on the outer
        # training part, the very model the holdout scored (no second fit on all rows)
        pipeline = EncodedTargetClassifier(last.model)
        pipeline.classes_, pipeline.estimator_ = encode(y)[0], last.model
        board["notes"].append(f"the saved model is the selected pipeline as fitted on the outer training part "
                              f"({len(jobs[-1].train):,} rows) and scored on the holdout; it was not refitted on all rows")
        save_model(pipeline, run_dir, dataset, board)
    elif board["final"] is not None:  # the final study's best trial of a family with a leaderboard row
        if board["final"]["family"] == ensemble.FAMILY:
            model = ensemble_model(space, outcomes[-1].ensemble, settings)
        else:
            model = space.build(space.replay(board["final"]["params"]), random_state=settings.seed,
                                probability=True)
        # fitted on the label codes, as in the studies; predicts the user's labels
        pipeline = EncodedTargetClassifier(model)
        with threadpool_limits(1), warnings.catch_warnings():  # as the studies' fits (see run_fold)
            warnings.simplefilter("ignore")
            pipeline.fit(X, y)
        save_model(pipeline, run_dir, dataset, board)
    lb.write_all(board, run_dir)
    return SearchResult(board, pipeline, run_dir, [j.name for j in jobs])

