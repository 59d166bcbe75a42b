"""What defines a search besides the data: :class:`SearchSettings`, the ``abauto search``
options and the keys of a ``--config`` file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from abauto.errors import SettingsError
from abauto.scoring import REPORTED


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
    ensemble: bool = True                 # greedy ensemble selection over each study's best trials

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
