"""What a plugin is: a named, typed description of one pipeline step and its search space.

A plugin never sees the whole pipeline. It gets a :class:`ScopedTrial` whose parameter names
are prefixed with the plugin's name (so ``trial.suggest_float("C", ...)`` in the ``svm`` plugin
records ``svm.C``), and a :class:`Context` describing the data the step will see.
"""

from __future__ import annotations

import enum
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import optuna

Params = dict[str, Any]
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Kind(str, enum.Enum):
    """The pipeline slot a plugin fills, in pipeline order.

    A PRESET is a whole preprocessing chain over the raw feature table (for example one of
    gaia's presets): when one is chosen it replaces the imputer, outlier and encoder slots and
    receives every column, named by ``Context.feature_names``. Presets are opt-in: the search
    offers them only when ``--plugins`` names them or a config fixes the ``preset`` slot.
    """

    PRESET = "preset"
    IMPUTER = "imputer"
    OUTLIER = "outlier"
    ENCODER = "encoder"
    SCALER = "scaler"
    REDUCER = "reducer"
    CLASSIFIER = "classifier"


PREPROCESSING_KINDS = (Kind.PRESET, Kind.IMPUTER, Kind.OUTLIER, Kind.ENCODER, Kind.SCALER, Kind.REDUCER)


@dataclass(frozen=True)
class Context:
    """What the data looks like where the step runs; passed to ``space`` and ``build``.

    ``classifiers`` holds the other eligible classifier plugins an ensemble may wrap
    (:attr:`Plugin.ensemble_member`) so that ensembles can choose their members;
    ``random_state`` must seed every random estimator; ``probability`` asks a classifier to
    offer ``predict_proba`` (final models, soft voting) where that costs extra (e.g.
    ``SVC(probability=True)``); ``feature_names`` and ``categorical`` name the input columns of
    the pipeline (what a preset sees).
    """

    n_rows: int
    n_features: int
    n_classes: int
    random_state: int = 0
    n_jobs: int = 1
    probability: bool = False
    feature_names: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    classifiers: Mapping[str, "Plugin"] = field(default_factory=dict)


class ScopedTrial:
    """An ``optuna.Trial`` (or ``FixedTrial``) whose parameter names carry a plugin prefix."""

    def __init__(self, trial: optuna.Trial | optuna.trial.FixedTrial, prefix: str):
        self.trial = trial
        self.prefix = prefix

    def _name(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None) -> float:
        return self.trial.suggest_float(self._name(name), low, high, log=log, step=step)

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1) -> int:
        return self.trial.suggest_int(self._name(name), low, high, log=log, step=step)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.trial.suggest_categorical(self._name(name), list(choices))

    def scoped(self, prefix: str) -> "ScopedTrial":
        """A nested scope, e.g. for the members of an ensemble (``voting.svm.C``)."""
        return ScopedTrial(self.trial, self._name(prefix))


SpaceFn = Callable[[ScopedTrial, Context], Params]
BuildFn = Callable[[Params, Context], Any]
DefaultsFn = Callable[[Context], Params]


def no_params(trial: ScopedTrial, ctx: Context) -> Params:
    """The search space of a plugin without hyperparameters."""
    return {}


@dataclass(frozen=True)
class Plugin:
    """One classifier or preprocessing step.

    name: unique, lower-case identifier (``[a-z][a-z0-9_]*``); prefixes its parameters.
    kind: the pipeline slot (:class:`Kind`).
    build: ``build(params, ctx)`` returns an unfitted scikit-learn estimator or transformer.
    space: ``space(trial, ctx)`` samples parameters define-by-run and returns the dict that
        ``build`` takes (it may hold derived values, e.g. a tuple of layer sizes).
    description: one line for ``abauto plugins``.
    handles_missing: accepts NaN in its input.
    needs_nonnegative: requires non-negative input (e.g. multinomial naive Bayes).
    nonnegative_output: (scalers, reducers) output is never negative.
    has_predict_proba: (classifiers) the built estimator offers ``predict_proba``.
    needs_scaling: only sensible after a scaler (SVM, k-NN, neural networks).
    costly_rows: fit time explodes with rows; on more than ``max_costly_rows`` rows the classifier
        fits on a stratified sample of that many (:class:`abauto.space.RowCap`).
    ensemble: (classifiers) combines other classifier plugins from ``ctx.classifiers``.
    defaults: ``defaults(ctx)`` returns the values a search tries first, keyed by the names
        ``space`` suggests (e.g. ``{"C": 1.0}``): the estimator's library defaults or another safe
        start, each inside its distribution. A new study starts every classifier family from its
        defaults, so a short time budget still meets each family at its best-known setting;
        in a preprocessing slot a classifier cannot leave empty, the plugin with defaults is the
        first choice. ``None``: the first trial samples the space.
    """

    name: str
    kind: Kind
    build: BuildFn
    space: SpaceFn = no_params
    description: str = ""
    handles_missing: bool = False
    needs_nonnegative: bool = False
    nonnegative_output: bool = False
    has_predict_proba: bool = True
    needs_scaling: bool = False
    costly_rows: bool = False
    ensemble: bool = False
    defaults: DefaultsFn | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ValueError(f"plugin name {self.name!r} must match {NAME_RE.pattern}")
        object.__setattr__(self, "kind", Kind(self.kind))
        if not callable(self.build) or not callable(self.space):
            raise ValueError(f"plugin {self.name!r}: build and space must be callables")
        if self.defaults is not None and not callable(self.defaults):
            raise ValueError(f"plugin {self.name!r}: defaults must be a callable (ctx) -> dict, or None")

    @property
    def ensemble_member(self) -> bool:
        """Whether an ensemble may wrap this plugin: a classifier that is no ensemble itself and
        takes any input (the members share the ensemble's preprocessing, which may give negative
        values). The search also leaves out members the user excluded or the data is too large for
        (:meth:`abauto.space.PipelineSpace.context`)."""
        return self.kind == Kind.CLASSIFIER and not self.ensemble and not self.needs_nonnegative

    def sample(self, trial: optuna.Trial | optuna.trial.FixedTrial | ScopedTrial, ctx: Context) -> Params:
        """Sample this plugin's parameters under its own prefix."""
        scoped = trial.scoped(self.name) if isinstance(trial, ScopedTrial) else ScopedTrial(trial, self.name)
        params = self.space(scoped, ctx)
        if not isinstance(params, dict):
            raise TypeError(f"plugin {self.name!r}: space() returned {type(params).__name__}, not dict")
        return params

    def default_params(self, ctx: Context) -> Params:
        """The defaults as Optuna parameters (prefixed with the plugin's name); {} without any."""
        return {f"{self.name}.{k}": v for k, v in (self.defaults(ctx) if self.defaults else {}).items()}

    def defaults_problem(self, ctx: Context) -> str | None:
        """Why the defaults are not a complete, in-range configuration of the space; None if they are."""
        if self.defaults is None:
            return None
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        try:
            values = self.default_params(ctx)
            study.enqueue_trial(values)
            trial = study.ask()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.sample(optuna.trial.FixedTrial(values), ctx)  # raises on a missing value
                self.sample(trial, ctx)
            for name, value in values.items():
                dist = trial.distributions.get(name)
                if dist is None:
                    return f"defaults: {name.partition('.')[2]!r} is not a parameter its space suggests"
                if not dist._contains(dist.to_internal_repr(value)):
                    raise ValueError(f"{name.partition('.')[2]}={value!r} is outside {dist}")
        except Exception as exc:  # a third-party defaults() or space may raise anything
            return f"defaults: {type(exc).__name__}: {exc}"
        return None

    def make(self, trial: optuna.Trial | optuna.trial.FixedTrial | ScopedTrial, ctx: Context) -> Any:
        """Sample parameters and build the estimator in one step."""
        return self.build(self.sample(trial, ctx), ctx)
