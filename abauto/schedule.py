"""How a study spends its budget across classifier families, and how a search spends its time.

abauto compares classifier families, so every family must be scored on every outer fold. Each
study (one per outer fold, and the final one) therefore follows a fixed schedule of families
(:class:`Schedule`), trial by trial; the sampler (TPE) chooses everything else:

1. **Defaults round**: every eligible family once at its plugin's defaults
   (:meth:`PipelineSpace.first_params`), single models in registry order (cheapest first),
   the ensembles last. On a large table (row rungs, :func:`abauto.folds.rungs`) these trials
   screen their family on the first rung only, so every family is reached before any fit on
   all rows; the fair-share round is skipped, and in successive halving a family's first trial
   takes its defaults up the rungs (promotion), the best screened families first.
2. **Fair share**: ``SAMPLED_SHARE`` more trials per family, round robin, the family fixed and
   its parameters and preprocessing sampled.
3. **Successive halving across families**: rungs in which the best half of the families (by
   their best inner score so far) get ``RUNG_TRIALS`` trials each, then the best quarter twice
   as many, and so on down to one family; then a new bracket starts. A family far below the
   best gets fewer trials; a family that catches up is back in the next rung.

Under a trial budget the opening shrinks to what fits (``budget // families`` trials per family,
at most ``1 + SAMPLED_SHARE``); a budget below two trials per family cannot promise every family
a row on every fold and the search says so (:func:`coverage_note`). The pruner never stops a
trial of a family that has no complete trial yet (:class:`abauto.studies.FirstTrialsPruner`).

The family of trial *n* is a function of the study's first *n* counted trials only: a resumed
study continues the same schedule, and ``n_jobs`` does not change it.

A wall budget for the whole search (:class:`TimePlan`, ``--time-budget``) gives each study a
share of the time left (``n_jobs`` studies at once), and each study stops starting trials when
the time left would not cover the refit of its best trial on the outer training part
(estimated from the trials' own fit seconds, scaled to the rows) and the final fit on all
rows; the other families' best trials are then refitted, best first, while they end in time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import optuna

from abauto.folds import inner_holdout
from abauto.plugin import Kind
from abauto.settings import SearchSettings
from abauto.space import PipelineSpace
from abauto.studies import (PROMOTE, SCREEN, counts, inner_scores, row_cap, screens, trial_cost, trial_family, trial_rows,
                            trial_seconds)

SAMPLED_SHARE = 2   # sampled trials per family after its defaults, before successive halving
RUNG_TRIALS = 2     # trials per family in a bracket's first rung; doubled each rung
FAIR_TRIALS = 2     # trials per family per study that promise every family a row on every fold

S = optuna.trial.TrialState


def families(space: PipelineSpace, settings: SearchSettings) -> list[str]:
    """The classifier families a study schedules, in the order of the defaults round (single
    models in registry order, on a large table those with ``costly_rows`` after the others,
    ensembles last); empty when the grid sampler or a fixed
    classifier leaves no choice."""
    if settings.sampler == "grid" or "classifier" in settings.fixed:
        return []
    large = inner_holdout(space.shape.n_rows, settings)  # costly families last: they cost most there
    return [p.name for p in sorted(space.choices[Kind.CLASSIFIER], key=lambda p: (p.ensemble, large and p.costly_rows))]


def coverage_note(space: PipelineSpace, settings: SearchSettings) -> str | None:
    """A one-line warning when the trial budget is too small for every family on every fold."""
    fams = families(space, settings)
    need = FAIR_TRIALS * len(fams)
    if len(fams) < 2 or settings.trials >= need:
        return None
    return (f"{len(fams)} families need --trials {need} for every family on every fold "
            f"(--trials {settings.trials} gives {min(settings.trials, len(fams))} of them a defaults trial per study)")


@dataclass
class Schedule:
    """The family of each trial of one study; ``n_rows`` = rows of an inner training part."""

    space: PipelineSpace
    settings: SearchSettings
    n_rows: int

    def __post_init__(self) -> None:
        self.families = families(self.space, self.settings)
        n = max(1, len(self.families))
        # a large table: screening, then straight to successive halving (no fair-share round)
        self.large = inner_holdout(self.space.shape.n_rows, self.settings)
        self.per_family = 1 if self.large else max(1, min(1 + SAMPLED_SHARE, self.settings.trials // n))

    def slot(self, n: int, history: Sequence[optuna.trial.FrozenTrial]) -> tuple[str, bool]:
        """The family of trial ``n`` (counting trials that count toward the budget) and whether it
        starts from the family's defaults; ``history``: the counted trials before it."""
        fams, k = self.families, len(self.families)
        opening = k * self.per_family
        if n < opening:
            return fams[n % k], n < k
        start = opening
        while True:  # brackets of successive halving
            rung = 1
            while True:
                keep = math.ceil(k / 2 ** rung)
                length = keep * RUNG_TRIALS * 2 ** (rung - 1)
                if n < start + length:
                    ranked = self.ranking(history[:start])
                    if self.large:  # the kept families' defaults go up the rungs first, cheapest climb first
                        fresh = [f for f in ranked[:keep] if not any(trial_family(t) == f and not screens(t)
                                                                      for t in history)]
                        if fresh:
                            return min(fresh, key=lambda f: self.climb_seconds(f, history)), True
                    return ranked[(n - start) % keep], False
                start += length
                if keep == 1:
                    break
                rung += 1

    def climb_seconds(self, family: str, history: Sequence[optuna.trial.FrozenTrial]) -> float:
        """About how long ``family``'s defaults take up to the last rung, from its screening."""
        screened = [t for t in history if trial_family(t) == family and screens(t) and t.state == S.COMPLETE]
        return fit_seconds(screened[0], self.settings.metric, self.n_rows, self.n_rows) if screened else math.inf

    def ranking(self, history: Sequence[optuna.trial.FrozenTrial]) -> list[str]:
        """Families by their best complete inner score (none: last), ties in schedule order."""
        best = {f: -math.inf for f in self.families}
        for t in history:
            fam = trial_family(t)
            if t.state == S.COMPLETE and fam in best and t.value is not None:
                best[fam] = max(best[fam], t.value)
        order = {f: i for i, f in enumerate(self.families)}
        return sorted(self.families, key=lambda f: (-best[f], order[f]))

    def params(self, family: str, defaults: bool) -> dict:
        """What to enqueue: the family's defaults trial, or just the family (Optuna samples the rest)."""
        if defaults:
            return self.space.first_params(family, self.settings.seed, self.n_rows)
        return {"classifier": family}

    def enqueue(self, study: optuna.Study, upto: int | None = None) -> None:
        """Enqueue the scheduled trials the study has not run, is not running and has not queued,
        up to trial ``upto``, within the trial budget; without ``upto``, the next trial when none
        is queued (so it is chosen on every trial finished before it, when one process runs it)."""
        if not self.families:
            return
        trials = study.get_trials(deepcopy=False)
        if upto is None and any(t.state == S.WAITING for t in trials):
            return
        history = [t for t in trials if counts(t)]
        n = len(history) + sum(1 for t in trials if t.state in (S.RUNNING, S.WAITING))
        for i in range(n, min(self.settings.trials, n + 1 if upto is None else upto)):
            family, defaults = self.slot(i, history)
            # the defaults round screens each family on the first row rung only (large tables, see
            # abauto.objective.Objective): every family is reached before any all-row fit
            promote = defaults and i >= len(self.families)  # large tables only (see slot)
            study.enqueue_trial(self.params(family, defaults),
                                user_attrs=SCREEN if i < len(self.families) else PROMOTE if promote else None)

    def opening(self, study: optuna.Study) -> None:
        """Enqueue the defaults round (what the study has not run or queued yet)."""
        self.enqueue(study, upto=len(self.families))


# ------------------------------------------------------------------------------------ time budget

REFIT_SAFETY = 1.5   # a refit's cost beyond the rows ratio (superlinear fits, predicting the test part)
# fit time grows at least linearly with rows when extrapolated: boosting's growth measured on
# small rungs (0.5-0.8) understates a large fit, where early stopping runs more iterations (32k ->
# 160k rows of the 200k table: 0.70 measured, 1.07 taken; a forest 1.15)
ROWS_EXPONENT = 1.0
FINAL_SAFETY = 3.0   # a costly family's final fit also offers probabilities (SVC's internal Platt CV)


def fit_seconds(t: optuna.trial.FrozenTrial, metric: str, inner_rows: int, rows: int) -> float:
    """Estimated seconds to fit trial ``t``'s pipeline on ``rows`` rows and predict, from what one
    of its inner folds took on ``inner_rows`` rows (or its last rung on its ``rows``), growing as
    the trial measured between its last two rungs (its ``growth``; a screening trial fits half its
    rung first for this) but at least as rows^ROWS_EXPONENT, or as rows^2 for a costly family
    without a measure, up to the rows its pipeline fits on at most (its ``row_cap``)."""
    folds = len(inner_scores(t, metric) or []) or 1
    seconds, grows = trial_cost(t) or (sum(trial_seconds(t)) / folds, None)
    fitted = trial_rows(t) or inner_rows
    target = min(rows, row_cap(t) or rows)
    grows = (2.0 if row_cap(t) else ROWS_EXPONENT) if grows is None else max(grows, ROWS_EXPONENT)
    return seconds * (target / fitted) ** grows if target > fitted else seconds


@dataclass(frozen=True)
class TimePlan:
    """The wall budget of a whole search: a ``time.monotonic()`` deadline, shared by ``studies``
    studies of which ``lanes`` run at once (``n_jobs``); ``margin`` seconds are kept for writing
    the run folder. The monotonic clock is system-wide, so worker processes share it."""

    deadline: float
    studies: int
    lanes: int
    margin: float

    @classmethod
    def start(cls, budget: float, studies: int, lanes: int, started: float | None = None) -> "TimePlan":
        began = time.monotonic() if started is None else started
        return cls(began + budget, studies, max(1, min(lanes, studies)), min(5.0, 0.04 * budget))

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def clock(self, position: int, rows: int, inner_rows: int, all_rows: int | None, refits: bool,
              metric: str, timeout: float | None = None) -> "StudyClock":
        """The clock of the study started now at ``position`` in the order studies are started:
        an equal share of the time left with the studies not started yet (and those running
        beside it in the other lanes)."""
        now = time.monotonic()
        waves = math.ceil((self.studies - position) / self.lanes)
        end = now + max(0.0, self.deadline - self.margin - now) / max(1, waves)
        if timeout:
            end = min(end, now + timeout)
        return StudyClock(end, self.deadline - self.margin, rows, inner_rows, all_rows, refits, metric)


@dataclass
class StudyClock:
    """When one study must stop starting trials: at its share's ``end`` minus the refit of its
    best trial on the outer training part (``rows``; trials ran on ``inner_rows``), and before
    the search's ``deadline`` minus that refit and the final fit on ``all_rows``."""

    end: float
    deadline: float
    rows: int
    inner_rows: int
    all_rows: int | None  # None: no final fit (a holdout's saved model is its outer refit)
    refits: bool
    metric: str
    began: float = field(default_factory=time.monotonic)

    def _costs(self, t: optuna.trial.FrozenTrial) -> tuple[float, float]:
        """Estimated seconds of trial ``t``'s refit on the outer training part, and of its final fit."""
        refit = fit_seconds(t, self.metric, self.inner_rows, self.rows) * REFIT_SAFETY if self.refits else 0.0
        if self.all_rows is None:
            return refit, 0.0
        final = fit_seconds(t, self.metric, self.inner_rows, self.all_rows)
        return refit, final * (FINAL_SAFETY if row_cap(t) else REFIT_SAFETY)

    def in_time(self, trials: Sequence[optuna.trial.FrozenTrial]) -> bool:
        """Whether the refits and final fits of ``trials`` would end before the deadline."""
        return time.monotonic() + sum(sum(self._costs(t)) for t in trials) <= self.deadline

    def selectable(self, ranked: Sequence[optuna.trial.FrozenTrial]) -> optuna.trial.FrozenTrial:
        """The first of ``ranked`` (each family's best trial, best first) whose refit and final fit
        the study's whole time covers (the trials stop in time for it, see :meth:`reserve`); if
        none, the cheapest."""
        return next((t for t in ranked if sum(self._costs(t)) <= self.deadline - self.began), None) \
            or min(ranked, key=lambda t: sum(self._costs(t)))

    def reserve(self, study: optuna.Study) -> tuple[float, float]:
        """Estimated seconds of the refit and the final fit of the family the study would select
        now (:meth:`selectable`; the other families are refitted while time is left:
        :meth:`refit_in_time`)."""
        best: dict[str, optuna.trial.FrozenTrial] = {}
        for t in study.get_trials(deepcopy=False, states=(S.COMPLETE,)):
            fam = trial_family(t)
            if fam not in best or t.value > best[fam].value:
                best[fam] = t
        if not best:
            return 0.0, 0.0
        # the trials stop in time for the family the study will select, instead of using its time
        return self._costs(self.selectable(sorted(best.values(), key=lambda t: (-t.value, t.number))))

    def refit_in_time(self, study: optuna.Study, t: optuna.trial.FrozenTrial) -> bool:
        """Whether trial ``t``'s refit on the outer training part would end before the search's
        deadline less the final fit."""
        seconds = fit_seconds(t, self.metric, self.inner_rows, self.rows) * REFIT_SAFETY
        return time.monotonic() + seconds <= self.deadline - self.reserve(study)[1]

    def trials_deadline(self, study: optuna.Study) -> float:
        refits, final = self.reserve(study)
        return min(self.end - refits, self.deadline - refits - final)


def sufficient_budget(studies: Sequence[optuna.Study], lanes: int, metric: str, inner_folds: int) -> float | None:
    """About how many seconds would give every family ``FAIR_TRIALS`` trials in every study, from
    the trials' own durations (median per family over the studies); None without data."""
    per: dict[str, list[float]] = {}
    for study in studies:
        for t in study.get_trials(deepcopy=False):
            if t.datetime_start and t.datetime_complete and trial_family(t) and counts(t):
                seconds = (t.datetime_complete - t.datetime_start).total_seconds()
                folds = len(inner_scores(t, metric) or []) or 1
                done = t.state == S.COMPLETE
                # a trial stopped early stands for a whole one at its per-fold cost
                per.setdefault(trial_family(t), []).append(seconds if done else seconds / folds * inner_folds)
    if not per:
        return None
    one_study = sum(FAIR_TRIALS * float(np.median(v)) for v in per.values())
    return one_study * math.ceil(len(studies) / max(1, lanes)) * 1.2
