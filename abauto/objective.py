"""One trial: inner cross-validation of one sampled pipeline (:class:`Objective`), the fit and
score of a pipeline on a train/test split (:func:`evaluate`), and which plugin a failure
belongs to (:func:`blame`)."""

from __future__ import annotations

import inspect
import math
import pickle
import time
import traceback
import warnings
from contextlib import closing
from typing import Any, Iterator

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning

from abauto import ensemble
from abauto.folds import inner_holdout, inner_splits, rungs, stratified_sample, take
from abauto.isolation import ChildError, PastDeadline, Worker, parse_size, run_isolated
from abauto.schedule import REFIT_SAFETY, ROWS_EXPONENT
from abauto.scoring import Scorer
from abauto.settings import SearchSettings
from abauto.space import PipelineSpace, describe, family
from abauto.studies import (OverBudget, screens, set_cost, set_error, set_family, set_inner_scores, set_over_budget,
                            set_pipeline, set_rows, set_seconds, set_worker, within_budget)

RUNG_VALIDATION_ROWS = 10_000  # validation rows of a rung below the last (large tables)


def evaluate(pipe, X, y, train, test, scorer: Scorer, keep_predictions: bool = False) -> dict[str, Any]:
    """Fit on ``train``, score on ``test``; scores plus fit and predict seconds (and the
    predictions, with ``keep_predictions``)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(take(X, train), y[train])
    t1 = time.perf_counter()
    X_test = take(X, test)
    y_pred = pipe.predict(X_test)
    scores = scorer(pipe, X_test, y[test], y_pred)
    t2 = time.perf_counter()
    out = {"scores": scores, "fit_seconds": t1 - t0, "predict_seconds": t2 - t1}
    if keep_predictions:
        out["y_pred"] = y_pred.tolist()
    return out


def growth(before: tuple[int, float] | None, out: dict) -> float | None:
    """How a pipeline's fit time grows with rows, from two rungs: the exponent ``e`` of
    seconds ~ rows^e between the rung ``before`` (rows, fit seconds) and this one (clipped to
    0.5..2.5); None without a rung before or with too short a fit to time."""
    if before is None or before[1] < 0.05 or out["fit_seconds"] <= 0 or out["rows"] <= before[0]:
        return None
    return float(np.clip(math.log(out["fit_seconds"] / before[1]) / math.log(out["rows"] / before[0]), 0.5, 2.5))


def grace(timeout: float) -> float:
    """How long past a study's deadline a running trial may go on before its process is killed:
    max(2 s, 5 % of ``timeout``)."""
    return max(2.0, 0.05 * timeout)


class Objective:
    """Inner validation of one sampled pipeline; reports its scores step by step for pruning.

    On a small table a step is an inner CV fold and the trial's value the folds' mean. On a
    large one (:func:`abauto.folds.inner_holdout`) validation is one holdout and a step is a
    rung (:func:`abauto.folds.rungs`): the pipeline is fitted on a sample of the training rows,
    then on four times as many, up to all of them, reporting each rung's score at the step of its
    row count; the pruner stops a trial below the median at a rung, and under a deadline a trial
    whose next rung would not finish in time completes with the score of the rung it reached
    (its ``rows`` user attribute). The trial's value is the score of its largest rung. A trial
    enqueued to screen its family (:data:`abauto.studies.SCREEN`) fits half the first rung, then
    the first rung, and stops there; each rung records its seconds and the growth of its fit time
    with rows (:func:`growth`), for the time plan (:mod:`abauto.schedule`)."""

    def __init__(self, space: PipelineSpace, X, y, train: np.ndarray, settings: SearchSettings,
                 groups: np.ndarray | None = None, shared: bool = True, deadline: float | None = None):
        """``shared``: other processes may run trials of the same study (budgets are then checked
        against the storage); ``deadline``: a ``time.monotonic()`` after which a trial stops at
        its next inner fold (pruned). With a deadline the trials run in a forked child that is
        killed :func:`grace` seconds past it (pruned too), so a fit that never returns cannot
        outlive the time budget; :meth:`close` ends that child."""
        self.space, self.X, self.y, self.train, self.settings = space, X, y, train, settings
        self.shared, self.deadline = shared, deadline
        self.holdout = inner_holdout(len(y), settings)
        self.inner = inner_splits(train, y, settings, groups, self.holdout)
        self.rung_parts: dict[int | None, list] = {}  # row cap -> (fit rows, validation rows) of each rung
        self.scorer = Scorer(settings.metric)
        self.worker: Worker | None = None  # the forked child running trials (see _results)
        # Inner OOF class probabilities of the best trials, for ensemble selection (abauto.ensemble)
        self.classes = np.unique(y[train])
        self.library = ensemble.Library(ensemble.capacity(len(train), len(self.classes))) if settings.ensemble else None

    def __call__(self, trial: optuna.Trial) -> float:
        steps = None
        if self.shared:
            set_worker(trial)  # see fail_dead_workers
            if not within_budget(trial.study, trial.number, self.settings.trials):
                set_over_budget(trial)
                raise OverBudget(f"trial {trial.number} started after the budget of {self.settings.trials} was taken")
        try:
            steps = self.space.sample(trial, self.settings.seed, n_rows=min(len(tr) for tr, _ in self.inner))
            return self._run(trial, steps)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # recorded so the leaderboard's failures name the plugin and error
            message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            set_error(trial, f"{type(exc).__name__}: {message}", describe(steps) if steps else None)
            set_family(trial, blame(exc, steps, self.space) if steps else trial.params.get("classifier", "?"))
            raise

    def _build(self, steps):
        n_rows = len(self.inner[0][0])
        return self.space.build(steps, random_state=self.settings.seed, n_rows=n_rows, probability=self.scorer.probability)

    def _parts(self, steps, screen: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(fit rows, validation rows) of each step: the inner folds, or the rungs of the holdout
        (``screen``: the first rung only, after a fit on half its rows). A rung below the last
        validates on a stratified sample of at most ``RUNG_VALIDATION_ROWS`` of the holdout: k-NN
        and SVM predictions cost as much as their fits there."""
        if not self.holdout:
            return [(self.train[tr], self.train[va]) for tr, va in self.inner]
        cap = self.space.row_cap(steps)
        if cap not in self.rung_parts:  # the same for every trial of a row cap: sampled once
            tr, va = self.inner[0]
            va = self.train[va]
            fits = rungs(self.train[tr], self.y, self.settings.seed, cap)
            few = stratified_sample(va, self.y, RUNG_VALIDATION_ROWS, self.settings.seed)
            self.rung_parts[cap] = [(rows, few) for rows in fits[:-1]] + [(fits[-1], va)]
        parts = self.rung_parts[cap]
        if screen:  # the first rung, after a fit on half its rows: how the family's fit time grows
            rows, check = parts[0]
            return [(stratified_sample(rows, self.y, len(rows) // 2, self.settings.seed), check), parts[0]]
        return parts

    def _folds(self, steps, screen: bool = False) -> Iterator[dict]:
        """Each step's scores and ``rows`` (with the ``next_rows`` of the step after it, if any;
        and, with a library, the validation rows' class scores: ``oof``, sent back with the
        scores when the step ran in a child)."""
        parts = self._parts(steps, screen)
        for i, (fit_rows, va) in enumerate(parts):
            pipe = self._build(steps)
            out = evaluate(pipe, self.X, self.y, fit_rows, va, self.scorer)
            out["rows"] = len(fit_rows)
            out["next_rows"] = len(parts[i + 1][0]) if i + 1 < len(parts) else None
            if self.library is not None and (not self.holdout or len(va) == len(self.inner[0][1])):
                out["oof"] = ensemble.oof_part(pipe, take(self.X, va), self.classes)  # a holdout's: on all of it
            yield out

    def _results(self, steps, screen: bool = False) -> Iterator[dict]:
        """The inner folds' results: in this process, or in a forked child killed at a limit
        (``--trial-timeout``, ``--memory-limit``, or the deadline plus :func:`grace`). Without a
        memory limit the child is kept from trial to trial (:class:`abauto.isolation.Worker`):
        one fork per study, not per trial."""
        kill_at = None if self.deadline is None else self.deadline + grace(self.settings.timeout or 0.0)
        if self.settings.memory_limit:  # the cap is on top of what the child inherits: one child per trial
            return run_isolated(lambda: self._folds(steps, screen), self.settings.trial_timeout,
                                parse_size(self.settings.memory_limit), kill_at)
        if not (self.settings.trial_timeout or kill_at):
            return self._folds(steps, screen)
        if self.worker is None:
            self.worker = Worker(lambda arg: self._folds(*arg))
        try:
            return self.worker.run((steps, screen), self.settings.trial_timeout, kill_at)
        except (pickle.PicklingError, TypeError, AttributeError):  # a plugin's parameter pickle cannot send
            return run_isolated(lambda: self._folds(steps, screen), self.settings.trial_timeout, None, kill_at)

    def close(self) -> None:
        """Stop the child process that runs the trials, if any (the study is over)."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def _run(self, trial: optuna.Trial, steps) -> float:
        set_family(trial, family(steps))
        set_pipeline(trial, [s.to_json() for s in steps])
        per_metric: dict[str, list[float]] = {m: [] for m in self.settings.metrics()}
        fit_s = predict_s = 0.0
        oof = []
        last = None  # (rows, fit seconds) of the rung before
        # a study's first trial of each family screens it on the first rung (abauto.schedule)
        results = self._results(steps, screens(trial))
        try:
            with closing(results):
                for step, out in enumerate(results):
                    fit_s += out["fit_seconds"]
                    predict_s += out["predict_seconds"]
                    if self.holdout:  # a rung's score replaces the one of the rung before
                        oof, per_metric = [], {m: [] for m in per_metric}
                        set_rows(trial, out["rows"], self.space.row_cap(steps))
                        grows = growth(last, out)
                        set_cost(trial, out["fit_seconds"] + out["predict_seconds"], grows)
                        last = (out["rows"], out["fit_seconds"])
                    oof.append(out.get("oof"))
                    for m in per_metric:
                        per_metric[m].append(out["scores"][m])
                    if self.holdout and out["next_rows"] is not None:
                        self._stop_early(trial, out["rows"], per_metric, late=False)
                        # before the last rung: time for it and, should the trial win, its refit
                        last_rung = out["next_rows"] == len(self._parts(steps)[-1][0])
                        refit_rows = min(self.space.row_cap(steps) or len(self.train), len(self.train))
                        refit = (refit_rows, max(grows or 0.0, ROWS_EXPONENT)) if last_rung else None
                        if self._no_time_for(out, out["next_rows"], refit):
                            break
                    elif not self.holdout and step < len(self.inner) - 1:
                        self._stop_early(trial, step, per_metric)
        except PastDeadline:  # not the plugin's fault: pruned like a trial stopped between folds
            set_inner_scores(trial, per_metric)
            raise optuna.TrialPruned("the time budget ran out") from None
        set_inner_scores(trial, per_metric)
        set_seconds(trial, fit_s, predict_s)
        value = float(np.mean(per_metric[self.settings.metric]))
        if math.isnan(value):
            raise ValueError("the metric is NaN")
        if self.library is not None and self.library.admits(trial.number, value):
            try:
                proba = self._oof_matrix(oof)
            except Exception:  # e.g. NaN decision values: the trial stands, the ensemble goes without it
                proba = None
            if proba is not None:
                self.library.offer(trial.number, value, proba)
        return value

    def _oof_matrix(self, parts: list) -> np.ndarray | None:
        """One OOF matrix (the study's training rows x classes) from the folds' parts, decision
        values calibrated into probabilities (:func:`abauto.ensemble.calibrate`)."""
        if len(parts) != len(self.inner) or any(p is None for p in parts):
            return None
        matrix = np.zeros((len(self.train), len(self.classes)))
        for (_, va), (_, scores) in zip(self.inner, parts):
            matrix[va] = scores
        if any(method != "predict_proba" for method, _ in parts):
            matrix = ensemble.calibrate(matrix, self.y[self.train], [va for _, va in self.inner])
        return matrix

    def oof(self, trial: optuna.trial.FrozenTrial) -> np.ndarray | None:
        """A complete trial's OOF probabilities: from the library, else recomputed on the same
        inner folds (a trial of a killed run or another worker); ``None`` when its pipeline has
        no class scores or cannot be refit. On a large table (inner holdout) only the library's:
        a recomputation would be a fit on all rows of the training part, outside any budget."""
        kept = self.library.get(trial.number) if self.library is not None else None
        if kept is not None or self.holdout:
            return kept
        steps = self.space.replay(trial.params)
        if ensemble.response(self._build(steps)) is None:
            return None
        # as a trial ran, with its own limits but not the study's deadline (passed by now)
        if self.settings.trial_timeout or self.settings.memory_limit:
            results = run_isolated(lambda: self._folds(steps), self.settings.trial_timeout,
                                   parse_size(self.settings.memory_limit))
        else:
            results = self._folds(steps)
        try:
            with closing(results):
                parts = [out.get("oof") for out in results]
                return self._oof_matrix(parts[-1:] if self.holdout else parts)
        except Exception:  # it fitted during the search; a failure now only costs the ensemble a model
            return None

    def ensemble_library(self, study: optuna.Study) -> list[tuple[optuna.trial.FrozenTrial, np.ndarray]]:
        """The library of ``study``: its best complete trials (by inner score, then trial number)
        that give class scores, at most :func:`abauto.ensemble.capacity` of them, with their OOF
        probabilities. The same trials, and so the same ensemble, whether this process ran them,
        a killed run or another worker did."""
        size = ensemble.capacity(len(self.train), len(self.classes))
        done = sorted(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)),
                      key=lambda t: (-t.value, t.number))
        out = []
        for t in done:
            if len(out) >= size:
                break
            proba = self.oof(t)
            if proba is not None:
                out.append((t, proba.astype(np.float32)))
        return out

    def _no_time_for(self, out: dict, rows: int, refit: tuple[int, float] | None) -> bool:
        """Whether a rung on ``rows`` rows would not end before the deadline, estimated from the
        step ``out`` just run (fit time grows at least linearly with rows). ``refit``: the rung
        is the last one, after which the trial may be the best, so the refit of its pipeline on
        (rows, growth exponent of its fit time) must end in time too (the deadline holds back
        only the refit of the best trial so far)."""
        if self.deadline is None:
            return False
        step = out["fit_seconds"] + out["predict_seconds"]
        seconds = step * (rows / out["rows"]) ** 1.2
        if refit is not None:
            seconds += step * (max(refit[0], out["rows"]) / out["rows"]) ** refit[1] * REFIT_SAFETY
        return time.monotonic() + seconds > self.deadline

    def _stop_early(self, trial: optuna.Trial, step: int, per_metric: dict[str, list[float]],
                    late: bool = True) -> None:
        """Prune after inner fold ``step`` (or the rung of ``step`` rows) when the pruner says so
        or (``late``) the deadline has passed."""
        if self.settings.prune:
            trial.report(float(np.mean(per_metric[self.settings.metric])), step)
        late = late and self.deadline is not None and time.monotonic() > self.deadline
        if late or (self.settings.prune and trial.should_prune()):
            set_inner_scores(trial, per_metric)
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
