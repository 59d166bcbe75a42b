"""Optuna storages shared by processes, and trial budgets that stay exact across them.

A search's studies live in one storage: SQLite in the run folder by default (WAL mode), a
PostgreSQL URL, or ``journal:PATH`` (Optuna's journal file, one machine). Any number of processes
may run trials of one study; a trial's rank among the counted, running or waiting trials before
it decides whether it is within budget (trial numbers are atomic in the storage). Trials a dead
process left running are failed and retried: by stale heartbeat on database storages, by
process id for the journal file. A run folder's own study, which no other process shares, runs
in memory and writes each finished trial back (:func:`in_memory`), so a killed search leaves
nothing running there.
"""

from __future__ import annotations

import copy
import os
import socket
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
import optuna

from abauto.errors import SettingsError, StorageError
from abauto.settings import SearchSettings

COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _sqlite_connection(path: str):
    """SQLite in WAL mode with synchronous=NORMAL: safe when a process is killed (only a power
    loss can drop the last commits) and ~4x faster than the default fsync on every write."""
    import sqlite3

    con = sqlite3.connect(path, timeout=60, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


HEARTBEAT = dict(heartbeat_interval=10, grace_period=30)


def _heartbeat() -> dict:
    """HEARTBEAT, or seconds from ABAUTO_HEARTBEAT_INTERVAL / ABAUTO_HEARTBEAT_GRACE (tests)."""
    return dict(heartbeat_interval=int(os.environ.get("ABAUTO_HEARTBEAT_INTERVAL", HEARTBEAT["heartbeat_interval"])),
                grace_period=int(os.environ.get("ABAUTO_HEARTBEAT_GRACE", HEARTBEAT["grace_period"])))


def _postgres_driver(url: str) -> str:
    """A bare ``postgresql://`` URL means psycopg (v3) to SQLAlchemy >= 2.1 but psycopg2 before:
    use whichever of the two is installed (``pip install abauto[postgres]`` gives psycopg2)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url.partition("://")[2]
    return url


def make_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``. Database storages beat a heartbeat for running trials, so a
    trial whose process died is failed and retried (once per trial) by the next worker; SQLite
    files get WAL mode and a generous lock timeout; ``journal:PATH`` is a journal file."""
    if url.startswith("journal:"):
        backend = optuna.storages.journal.JournalFileBackend(url[len("journal:"):])
        return optuna.storages.journal.JournalStorage(backend)
    url = _postgres_driver(url)
    kwargs: dict[str, Any] = dict(_heartbeat(), **_retry_kwargs())
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = url[len("sqlite:///"):]
        kwargs["engine_kwargs"] = {"creator": lambda: _sqlite_connection(path)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, **kwargs)


def _retry_callback():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
            return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        return optuna.storages.RetryFailedTrialCallback(max_retry=1)


def _retry_kwargs() -> dict:
    key = "heartbeat_stale_trial_callback" if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback") else "failed_trial_callback"
    return {key: _retry_callback()}


def in_memory(durable: optuna.Study) -> tuple[optuna.Study, Callable]:
    """A copy of ``durable`` in memory and a callback that writes each finished trial back.

    For a study no other process runs (the run folder's own): the sampler and pruner read and
    write Optuna's in-memory storage, and the database gets one transaction per finished trial
    instead of one per parameter, attribute and pruning report (about 70 ms a trial with SQLite).
    A killed process loses only the trial it was running (nothing is left RUNNING in the
    database); the next run resumes from the finished trials."""
    memory = optuna.create_study(study_name=durable.study_name, direction="maximize",
                                 sampler=durable.sampler, pruner=durable.pruner)
    memory.add_trials([t for t in durable.get_trials(deepcopy=False) if t.state.is_finished()])

    def persist(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:  # an optimize callback
        durable.add_trial(trial)

    return memory, persist


def _random_states(sampler: optuna.samplers.BaseSampler) -> list[np.random.RandomState]:
    """The NumPy random states of ``sampler`` and of the samplers it holds (TPE keeps one of its
    own and one in its RandomSampler for the startup trials), each created if still lazy."""
    from optuna.samplers._lazy_random_state import LazyRandomState

    found = []
    for value in vars(sampler).values():
        if isinstance(value, np.random.RandomState):
            found.append(value)
        elif isinstance(value, LazyRandomState):
            found.append(value.rng)
        elif isinstance(value, optuna.samplers.BaseSampler):
            found += _random_states(value)
    return found


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """``sampler``, with its random state reseeded from ``(seed, trial number)`` before each trial.

    An Optuna sampler draws from one random state that advances with every trial, and a study
    reopened after a crash starts it afresh: the resumed trials would be sampled otherwise than in
    an uninterrupted run. Reseeded per trial, trial ``k`` draws the same numbers however many
    processes the study took, so (TPE's model being a function of the finished trials) a resumed
    search under a trial budget gives the uninterrupted search's trials and leaderboard. Optuna's
    own ``reseed_rng`` draws from OS entropy, so the states are seeded here directly."""

    def __init__(self, sampler: optuna.samplers.BaseSampler, seed: int) -> None:
        self.sampler, self.seed = sampler, seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        state = int(np.random.SeedSequence((self.seed, trial.number)).generate_state(1)[0])
        for rng in _random_states(self.sampler):
            rng.seed(state)
        self.sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self.sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self.sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self.sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:  # before_trial reseeds anyway
        self.sampler.reseed_rng()


def make_sampler(settings: SearchSettings, offset: int) -> optuna.samplers.BaseSampler:
    """The sampler of the study at ``offset`` (see :attr:`abauto.folds.FoldJob.offset`), seeded
    with ``settings.seed + offset`` and reseeded per trial (:class:`TrialSeededSampler`); the
    default ``sampler_factory`` of the engine."""
    seed = settings.seed + offset
    if settings.sampler == "random":
        return TrialSeededSampler(optuna.samplers.RandomSampler(seed=seed), seed)
    if settings.sampler == "grid":
        if not settings.grid:
            raise SettingsError("sampler 'grid' needs a grid (a 'grid:' mapping in the --config file)")
        return TrialSeededSampler(optuna.samplers.GridSampler(settings.grid, seed=seed), seed)
    if settings.sampler == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            tpe = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=10)
        return TrialSeededSampler(tpe, seed)
    raise SettingsError(f"--sampler {settings.sampler!r}: expected tpe, random or grid")




SamplerFactory = Callable[[SearchSettings, int], optuna.samplers.BaseSampler]


# What a trial records beside its parameters and value (Optuna user attributes), written by
# abauto.objective and read by the engine, the schedule, the leaderboard and the benchmarks. The
# keys are spelled here only, behind these functions (as Optuna keeps its retry attributes behind
# ``RetryFailedTrialCallback.retried_trial_number``); they are part of every study.db.

def set_worker(trial: optuna.Trial) -> None:
    """Record the process running ``trial`` (``host:pid``), so a dead one is noticed
    (:func:`fail_dead_workers`)."""
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")


def trial_worker(t: optuna.trial.FrozenTrial) -> str:
    """The ``host:pid`` that ran a trial (``""`` if not recorded)."""
    return str(t.user_attrs.get("worker", ""))


def set_over_budget(trial: optuna.Trial) -> None:
    """Mark a trial started after the budget was taken (it is failed and does not count)."""
    trial.set_user_attr("over_budget", True)


def over_budget(t: optuna.trial.FrozenTrial) -> bool:
    return "over_budget" in t.user_attrs


def set_family(trial: optuna.Trial, family: str) -> None:
    """The classifier family a trial tried, or, for a failed one, the plugin blamed for it."""
    trial.set_user_attr("family", family)


def recorded_family(t: optuna.trial.FrozenTrial) -> str | None:
    """The family :func:`set_family` recorded (None if none was)."""
    return t.user_attrs.get("family")


def set_pipeline(trial: optuna.Trial, pipeline: list[dict]) -> None:
    """The steps a trial built (:meth:`abauto.space.Step.to_json` of each)."""
    trial.set_user_attr("pipeline", pipeline)


def trial_pipeline(t: optuna.trial.FrozenTrial) -> list[dict] | None:
    return t.user_attrs.get("pipeline")


def set_inner_scores(trial: optuna.Trial, scores: dict[str, list[float]]) -> None:
    """Each metric's scores on the inner folds run so far."""
    trial.set_user_attr("inner_scores", scores)


def inner_scores(t: optuna.trial.FrozenTrial, metric: str) -> list[float] | None:
    """A trial's inner-fold scores of ``metric``; None when it recorded no scores at all."""
    scores = t.user_attrs.get("inner_scores")
    return None if scores is None else scores.get(metric, [])


def set_seconds(trial: optuna.Trial, fit: float, predict: float) -> None:
    """Seconds a trial spent fitting and predicting, summed over its inner folds."""
    trial.set_user_attr("fit_seconds", fit)
    trial.set_user_attr("predict_seconds", predict)


def trial_seconds(t: optuna.trial.FrozenTrial) -> tuple[float, float]:
    """(fit, predict) seconds :func:`set_seconds` recorded, 0.0 each if it did not."""
    return t.user_attrs.get("fit_seconds", 0.0), t.user_attrs.get("predict_seconds", 0.0)


def set_rows(trial: optuna.Trial, rows: int, cap: int | None = None) -> None:
    """The training rows of the row rung a trial reached (large tables, see
    :class:`abauto.objective.Objective`), and the rows its pipeline fits on at most (``cap``)."""
    trial.set_user_attr("rows", rows)
    if cap:
        trial.set_user_attr("row_cap", cap)


def trial_rows(t: optuna.trial.FrozenTrial) -> int | None:
    """The rows of the rung :func:`set_rows` recorded; None for a trial on inner k-fold CV."""
    return t.user_attrs.get("rows")


def row_cap(t: optuna.trial.FrozenTrial) -> int | None:
    return t.user_attrs.get("row_cap")


def set_cost(trial: optuna.Trial, seconds: float, growth: float | None) -> None:
    """Seconds the rung a trial reached took (fit + predict), and how its fit time grew with rows
    from the rung before (:func:`abauto.objective.growth`; kept from an earlier rung when None)."""
    trial.set_user_attr("rung_seconds", seconds)
    if growth is not None:
        trial.set_user_attr("growth", growth)


def trial_cost(t: optuna.trial.FrozenTrial) -> tuple[float, float | None] | None:
    """(seconds, growth) :func:`set_cost` recorded; None for a trial on inner k-fold CV."""
    if "rung_seconds" not in t.user_attrs:
        return None
    return t.user_attrs["rung_seconds"], t.user_attrs.get("growth")


SCREEN = {"screen": True}  # user attributes of an enqueued trial that screens its family on the first rung
PROMOTE = {"promote": True}  # ... of a family's defaults taken up the rungs after screening


def promoted(t: optuna.Trial | optuna.trial.FrozenTrial) -> bool:
    return bool(t.user_attrs.get("promote"))


def screens(t: optuna.Trial | optuna.trial.FrozenTrial) -> bool:
    return bool(t.user_attrs.get("screen"))


def set_error(trial: optuna.Trial, error: str, pipeline: str | None = None) -> None:
    """Why a plugin made a trial fail (``Type: message``) and, when it got that far, the
    described pipeline (:func:`abauto.space.describe`)."""
    trial.set_user_attr("error", error)
    if pipeline:
        trial.set_user_attr("failed_pipeline", pipeline)


def trial_error(t: optuna.trial.FrozenTrial) -> str | None:
    """The error :func:`set_error` recorded; None for a trial no plugin error failed (complete,
    pruned, abandoned by a killed process, or over budget)."""
    return t.user_attrs.get("error")


def failed_pipeline(t: optuna.trial.FrozenTrial) -> str:
    return t.user_attrs.get("failed_pipeline", "")


def set_search(study: optuna.Study, meta: dict) -> None:
    """Record on a study the inputs and settings of the search it belongs to (``abauto worker``
    reads them: :func:`find_search`)."""
    study.set_user_attr("abauto", meta)


def study_search(study: optuna.Study | optuna.study.StudySummary) -> dict | None:
    """What :func:`set_search` recorded on a study, or None."""
    return study.user_attrs.get("abauto")


def trial_family(t: optuna.trial.FrozenTrial) -> str | None:
    """The classifier family a trial tried: its ``classifier`` parameter (or, with one family or a
    fixed classifier, the family the objective recorded)."""
    return t.params.get("classifier") or recorded_family(t)


class FirstTrialsPruner(optuna.pruners.BasePruner):
    """``pruner``, except that a trial of a classifier family with no complete trial yet is never
    pruned (a family whose trials were all pruned would have no leaderboard row), nor a family's
    defaults promoted up the row rungs after screening (:data:`PROMOTE`: the screening already
    compared them)."""

    def __init__(self, pruner: optuna.pruners.BasePruner):
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        if promoted(trial):
            return False
        fam = trial_family(trial)
        done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if fam is not None and not any(trial_family(t) == fam for t in done):
            return False
        return self.pruner.prune(study, trial)


def open_study(name: str, settings: SearchSettings, offset: int,
               storage: optuna.storages.BaseStorage | None = None,
               sampler_factory: SamplerFactory = make_sampler) -> optuna.Study:
    """Create or load study ``name`` with the sampler ``sampler_factory(settings, offset)``."""
    pruner = (FirstTrialsPruner(optuna.pruners.MedianPruner(n_startup_trials=8, n_warmup_steps=1))
              if settings.prune else optuna.pruners.NopPruner())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.create_study(study_name=name, storage=storage or make_storage(settings.storage),
                                   direction="maximize",
                                   sampler=sampler_factory(settings, offset), pruner=pruner, load_if_exists=True)


def counts(t: optuna.trial.FrozenTrial) -> bool:
    """Whether a finished trial counts toward the budget: complete, pruned, or failed by a plugin
    error (not a trial abandoned by a killed process, which is retried, nor one over budget)."""
    return t.state in COUNTED or (t.state == optuna.trial.TrialState.FAIL and trial_error(t) is not None)


def spent(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if counts(t))


def taken(study: optuna.Study) -> int:
    """Places in the budget spent or held by a running trial (waiting ones still need a runner)."""
    RUNNING = optuna.trial.TrialState.RUNNING
    return sum(1 for t in study.get_trials(deepcopy=False) if counts(t) or t.state == RUNNING)


class OverBudget(Exception):
    """A worker started a trial after others had already taken the last places in the budget."""


def within_budget(study: optuna.Study, number: int, budget: int) -> bool:
    """Trial numbers are handed out atomically by the storage, so ranking a trial among the
    counted, running or waiting (enqueued: a retry, a seed) trials before it keeps the budget exact
    however many workers share it. A waiting trial is always run before a new one is created."""
    S = optuna.trial.TrialState
    before = sum(1 for t in study.get_trials(deepcopy=False)
                 if t.number < number and (counts(t) or t.state in (S.RUNNING, S.WAITING)))
    return before < budget


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed process its parent has not reaped yet
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def fail_dead_workers(study: optuna.Study) -> int:
    """For storages without heartbeats (the journal file, one machine): fail, and enqueue the retry
    of, the running trials of worker processes of this host that no longer exist."""
    host = socket.gethostname()
    retry, failed = _retry_callback(), 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        where, _, pid = trial_worker(t).rpartition(":")
        if where != host or not pid.isdigit() or not _dead(int(pid)):
            continue
        try:
            if study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL):
                frozen = copy.deepcopy(study._storage.get_trial(t._trial_id))
                frozen.user_attrs.pop("worker", None)  # the retry copies user attrs: not the dead pid
                retry(study, frozen)
                failed += 1
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker got there first
            pass
    return failed


def optimize(study: optuna.Study, objective: Callable, settings: SearchSettings, callback: Callable | None = None,
             shared: bool = True, persist: Callable | None = None,
             plan: Callable[[optuna.Study], bool] | None = None) -> None:
    """Run trials until the study's budget is spent, counting what other workers finished too
    when the study is ``shared`` (unshared, ``n_trials`` alone keeps the budget). ``plan(study)``
    runs before the first trial and after each one: it may enqueue the next trial, and returns
    False when no trial may start any more (a time budget)."""

    def budget(study: optuna.Study, trial) -> None:
        if persist:
            persist(study, trial)
        if callback and not over_budget(trial):
            callback(study, trial)
        if over_budget(trial) or (shared and taken(study) >= settings.trials):
            study.stop()  # places held by other workers' running trials are not ours to ask for
        elif plan and not plan(study):
            study.stop()

    remaining = settings.trials - spent(study)
    if remaining > 0 and (plan is None or plan(study)):
        study.optimize(objective, n_trials=remaining, timeout=settings.timeout, catch=(Exception,),
                       callbacks=[budget], gc_after_trial=False)


def run_budget(study: optuna.Study, objective: Callable, settings: SearchSettings,
               callback: Callable | None = None, shared: bool = False, poll: float = 1.0,
               persist: Callable | None = None, plan: Callable[[optuna.Study], bool] | None = None) -> None:
    """Run trials until the budget is spent. On a shared storage, also wait for the other workers'
    running trials; a worker that died is noticed by its stale heartbeat (journal file: by its
    process id), its trial failed and retried here. While every place in the budget is taken, wait
    without asking for trials: each would be one more over-budget failed trial in the study."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    RUNNING = optuna.trial.TrialState.RUNNING
    while True:
        if shared:
            if is_heartbeat_enabled(study._storage):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
            else:
                fail_dead_workers(study)
            running = len(study.get_trials(deepcopy=False, states=(RUNNING,)))
            done = spent(study)
            if done >= settings.trials and not running:
                return
            if done + running >= settings.trials:
                time.sleep(poll)
                continue
        optimize(study, objective, settings, callback, shared, persist, plan)
        if not shared or (plan is not None and not plan(study)):
            return


@contextmanager
def watch(storage: str, names: list[str], progress: Callable | None, every: float = 1.0):
    """Feed ``progress`` from the storage while studies run in other processes."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        seen: set[tuple[str, int]] = set()
        st = make_storage(storage)
        while not stop.wait(every):
            for name in names:
                for t in optuna.load_study(study_name=name, storage=st).get_trials(deepcopy=False):
                    if t.state.is_finished() and (name, t.number) not in seen and counts(t):
                        seen.add((name, t.number))
                        progress(name, t)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def search_lock(url: str, study_name: str):
    """Held by the search (the coordinator) of study ``study_name`` on the shared storage ``url``
    for its whole life, so a second search of that name is refused (:class:`StorageError`) instead
    of overrunning the budget; ``abauto worker`` joins by design and takes no lock. A SQLite or
    journal file: a ``flock`` on ``<file>.<study_name>.lock`` beside it; PostgreSQL: a
    session-level advisory lock on a hash of the study name, on a connection of its own. Both are
    released when the process dies. Other storages are not locked."""
    import hashlib
    import re

    from abauto.runfolder import file_lock, show_url

    busy = f"another abauto search (pid {{pid}}) is running study {study_name!r}; wait for it or use another --study-name"
    path = None
    if url.startswith("journal:"):
        path = Path(url[len("journal:"):])
    elif url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
    if path is not None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", study_name)
        with file_lock(path.with_name(f"{path.name}.{safe}.lock"), f"{path}: {busy}"):
            yield
        return
    if not url.startswith(("postgresql", "postgres:")):
        yield
        return
    import sqlalchemy

    key = int.from_bytes(hashlib.sha256(f"abauto:{study_name}".encode()).digest()[:8], "big", signed=True)
    engine = sqlalchemy.create_engine(_postgres_driver(url), poolclass=sqlalchemy.pool.NullPool,
                                      connect_args={"application_name": f"abauto search {os.getpid()}"})
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            if not con.execute(sqlalchemy.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                holder = con.execute(sqlalchemy.text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo "
                    "AND l.objsubid = 1"), {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF}).scalar() or ""
                pid = holder.rpartition(" ")[2] if holder.startswith("abauto search ") else "unknown"
                raise StorageError(f"{show_url(url)}: {busy.format(pid=pid)}")
            yield  # closing the connection (NullPool: no pool keeps it) ends the session and the lock
    finally:
        engine.dispose()


def find_search(storage: str, study_name: str, wait: float = 60.0, poll: float = 1.0) -> dict:
    """The inputs and settings of the search whose studies are ``<study_name>.*`` in ``storage``,
    waiting up to ``wait`` seconds for its coordinator to create them."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    st = make_storage(storage)
    deadline = time.monotonic() + wait
    while True:
        for summary in optuna.get_all_study_summaries(st):
            if summary.study_name.startswith(study_name + ".") and study_search(summary) is not None:
                return study_search(summary)
        if time.monotonic() > deadline:
            raise StorageError(f"{storage}: no abauto search named {study_name!r} appeared within {wait:g} s")
        time.sleep(poll)
