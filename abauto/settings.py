"""What defines a search besides the data: :class:`SearchSettings`, the ``abauto search``
options and the keys of a ``--config`` file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from abauto.errors import SettingsError
from abauto.scoring import REPORTED


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

    def __post_init__(self) -> None:
        if self.time_budget is not None and not self.time_budget > 0:
            raise SettingsError(f"--time-budget {self.time_budget!r}: expected a number of seconds above 0")
        if self.trials is None:
            self.trials = DEFAULT_TRIALS if self.time_budget is None else UNLIMITED_TRIALS

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
        raise SettingsError(f"--outer {self.outer!r}: expected kfold:K (K >= 2) or holdout:FRACTION (0 < FRACTION < 1)")
