"""What defines a search besides the data: :class:`SearchSettings`, the ``abauto search``
options and the keys of a ``--config`` file. :meth:`SearchSettings.validate` checks every value
before any work starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from abauto.errors import SettingsError
from abauto.isolation import parse_size
from abauto.plugin import Kind
from abauto.scoring import REPORTED, Scorer

SAMPLERS = ("tpe", "random", "grid")
OUTER_EXPECTED = "expected kfold:K (K >= 2) or holdout:FRACTION (0 < FRACTION < 1)"


DEFAULT_TRIALS = 60
UNLIMITED_TRIALS = 1_000_000  # a time budget without --trials: the time decides


@dataclass
class SearchSettings:
    """Everything that defines a search besides the data; mirrors ``abauto search`` options."""

    trials: int | None = None             # per study; None: 60, or no cap under a time_budget alone
    timeout: float | None = None          # seconds per study (outer fold); None = trial budget only
    time_budget: float | None = None      # seconds for the whole search (studies, refits, final fit)
    outer: str = "kfold:5"                # "kfold:K" or "holdout:FRACTION"
    inner_folds: int = 5
    metric: str = "balanced_accuracy"
    sampler: str = "tpe"                  # tpe | random | grid
    grid: dict[str, list] | None = None   # parameter -> values, for the grid sampler
    seed: int = 0
    n_jobs: int = 1                       # studies in parallel processes; -1 = one per CPU core
    plugins: Sequence[str] = ()
    exclude: Sequence[str] = ()
    fixed: dict[str, str] = field(default_factory=dict)  # slot -> plugin, not searched
    prune: bool = True
    storage: str | None = None            # Optuna storage URL; default sqlite in the run folder
    study_name: str = "abauto"
    max_costly_rows: int = 20_000        # costly families (kernel SVM, k-NN, MLP) fit on a sample of this many rows
    inner_holdout_rows: int = 20_000     # from this many rows on: one inner holdout, trials climb row rungs
    trial_timeout: float | None = None    # seconds; the trial runs in a forked child that is killed
    memory_limit: str | int | None = None # e.g. "4G": address-space cap of that child
    ensemble: bool = True                 # greedy ensemble selection over each study's best trials

    def __post_init__(self) -> None:
        if self.trials is None:
            self.trials = DEFAULT_TRIALS if self.time_budget is None else UNLIMITED_TRIALS

    def metrics(self) -> list[str]:
        return list(dict.fromkeys([self.metric, *REPORTED]))

    def outer_spec(self) -> tuple[str, float]:
        spec = _outer_spec(self.outer)
        if spec is None:
            raise SettingsError(f"--outer {self.outer!r}: {OUTER_EXPECTED}")
        return spec

    def validate(self, source: str | None = None, partial: bool = False) -> "SearchSettings":
        """Raise :class:`SettingsError` (one line naming the option and the accepted values) unless
        every setting can be used; returns ``self``. Called before any work by the command line,
        :func:`abauto.search` and ``abauto worker``. ``source``: the config file the values come
        from (the message then names it and its keys instead of command-line options). Plugin
        names (``plugins``, ``exclude``, ``fixed`` values) need the registry: the search space
        checks them (:class:`abauto.space.PipelineSpace`). ``partial``: other options may still
        complete these values (a config file before the command line): skip the checks between
        settings (a grid sampler needs a grid, a grid needs the grid sampler)."""

        def name(key: str) -> str:
            return f"{source}: {key}" if source else OPTIONS.get(key, key)

        def bad(key: str, expected: str) -> SettingsError:
            return SettingsError(f"{name(key)} {getattr(self, key)!r}: expected {expected}")

        for key, least in (("trials", 1), ("inner_folds", 2), ("max_costly_rows", 1),
                           ("inner_holdout_rows", 1)):
            if not _is_int(getattr(self, key)) or getattr(self, key) < least:
                raise bad(key, f"an integer >= {least}")
        if not _is_int(self.seed):
            raise bad("seed", "an integer")
        if not _is_int(self.n_jobs) or not (self.n_jobs >= 1 or self.n_jobs == -1):
            raise bad("n_jobs", "an integer >= 1, or -1 for one process per CPU core")
        for key in ("timeout", "time_budget", "trial_timeout"):
            value = getattr(self, key)
            if value is not None and not (_is_number(value) and 0 < value < math.inf):
                raise bad(key, "a number of seconds > 0 (or no limit: leave it out)")
        try:
            parse_size(self.memory_limit)
        except SettingsError:
            raise bad("memory_limit", "a size > 0 such as 4G, 512M or a number of bytes") from None
        if not isinstance(self.outer, str) or _outer_spec(self.outer) is None:
            raise bad("outer", OUTER_EXPECTED[len("expected "):])
        if not isinstance(self.metric, str):
            raise bad("metric", "a scikit-learn scorer name such as balanced_accuracy, accuracy or f1_macro")
        try:
            Scorer(self.metric)
        except SettingsError:
            raise bad("metric", "a scikit-learn scorer name such as balanced_accuracy, accuracy or f1_macro") from None
        if self.sampler not in SAMPLERS:
            raise bad("sampler", " or ".join(SAMPLERS))
        if self.sampler == "grid" and not self.grid and not partial:
            raise SettingsError(f"{name('sampler')} 'grid' needs a grid: a 'grid:' mapping in the --config file, "
                                "or --grid PARAM=V1,V2")
        if self.grid is not None:
            if self.sampler != "grid" and not partial:
                raise SettingsError(f"{name('grid')}: a grid is used only by the grid sampler, not {self.sampler!r} "
                                    "(use --sampler grid, or leave the grid out)")
            if not isinstance(self.grid, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, list) and v for k, v in self.grid.items()):
                raise bad("grid", "a mapping of parameter name -> non-empty list of values")
        slots = [k.value for k in Kind]
        if not isinstance(self.fixed, Mapping) or not all(
                k in slots and isinstance(v, str) for k, v in self.fixed.items()):
            raise bad("fixed", f"a mapping of slot -> plugin name (or none); slots: {', '.join(slots)}")
        for key in ("plugins", "exclude"):
            value = getattr(self, key)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise bad(key, "a list of plugin names")
        for key in ("prune", "ensemble"):
            if not isinstance(getattr(self, key), bool):
                raise bad(key, "true or false")
        if not isinstance(self.study_name, str) or not self.study_name:
            raise bad("study_name", "a non-empty name")
        if self.storage is not None and (not isinstance(self.storage, str) or not self.storage):
            raise bad("storage", "an Optuna storage URL (postgresql://..., journal:PATH, sqlite:///PATH)")
        return self


# The command-line option of each setting (a config file names the keys themselves).
OPTIONS: dict[str, str] = {
    "trials": "--trials", "timeout": "--timeout", "time_budget": "--time-budget", "outer": "--outer", "inner_folds": "--inner-folds",
    "metric": "--metric", "sampler": "--sampler", "grid": "--grid", "seed": "--seed", "n_jobs": "--n-jobs",
    "plugins": "--plugins", "exclude": "--exclude", "storage": "--storage", "study_name": "--study-name",
    "trial_timeout": "--trial-timeout", "memory_limit": "--memory-limit",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _outer_spec(outer: str) -> tuple[str, float] | None:
    """``("kfold", K)`` or ``("holdout", FRACTION)``; None when ``outer`` is neither."""
    kind, _, value = outer.partition(":")
    if kind.isdigit():
        return ("kfold", int(kind)) if int(kind) >= 2 else None
    if kind == "kfold" and value.isdigit() and int(value) >= 2:
        return "kfold", int(value)
    if kind == "holdout":
        try:
            frac = float(value or 0.2)
        except ValueError:
            return None
        if 0 < frac < 1:
            return "holdout", frac
    return None
