"""The search space over whole pipelines: one categorical choice per slot, then each chosen
plugin's own define-by-run parameters.

Slot order: [preset] | [imputer] -> [outlier] -> [encoder], then [scaler] -> [reducer] ->
classifier (a preset, when chosen, replaces the imputer, outlier and encoder slots). The
classifier is chosen first, so the preprocessing choices can depend on it (a classifier that
needs non-negative input only sees non-negative scalers; one that needs scaling never sees
"none"). A restricted choice list gets its own parameter name (``scaler~nonneg``), so every
Optuna parameter keeps one fixed distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import optuna
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.metaestimators import available_if

from abauto.errors import SettingsError
from abauto.folds import stratified_sample, take
from abauto.leaderboard_view import describe_pipeline
from abauto.plugin import PREPROCESSING_KINDS, Context, Kind, Plugin
from abauto.registry import Registry

NONE = "none"
MISSING_LABEL = "__missing__"


@dataclass(frozen=True)
class DataShape:
    """What the space needs to know about the training data."""

    n_rows: int
    n_features: int
    n_classes: int
    numeric: tuple[int, ...]
    categorical: tuple[int, ...]
    has_missing: bool
    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, dataset) -> "DataShape":
        cols = list(dataset.X.columns)
        cats = set(dataset.categorical)
        num_missing = bool(dataset.X[dataset.numeric].isna().to_numpy().any()) if dataset.numeric else False
        return cls(len(dataset.y), len(cols), len(set(dataset.y.tolist())),
                   tuple(i for i, c in enumerate(cols) if c not in cats),
                   tuple(i for i, c in enumerate(cols) if c in cats), num_missing, tuple(map(str, cols)))


@dataclass(frozen=True)
class Step:
    """One chosen pipeline step: its slot, plugin and sampled parameters."""

    slot: str
    plugin: str
    params: dict[str, Any]

    def to_json(self) -> dict:
        return {"slot": self.slot, "plugin": self.plugin, "params": _jsonable(self.params)}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


@dataclass
class PipelineSpace:
    """Samples and builds pipelines from a registry for data of a given shape.

    include/exclude: plugin names (``--plugins`` / ``--exclude``). ``include`` restricts the
    classifiers when it names any classifier, and each preprocessing slot when it names any
    plugin of that slot.
    """

    registry: Registry
    shape: DataShape
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    max_costly_rows: int = 20_000
    fixed: dict[str, str] = field(default_factory=dict)  # slot -> plugin name (or "none"), never searched

    @classmethod
    def for_search(cls, dataset, settings, registry: Registry | None = None) -> "PipelineSpace":
        """The space a search with ``settings`` (:class:`abauto.settings.SearchSettings`: its
        plugins, exclude, max_costly_rows and fixed slots) explores on ``dataset``; ``registry``
        defaults to :func:`abauto.registry.load_registry`."""
        from abauto.registry import load_registry

        return cls(registry or load_registry(), DataShape.of(dataset), settings.plugins, settings.exclude,
                   settings.max_costly_rows, dict(settings.fixed))

    def __post_init__(self) -> None:
        """Check the plugin names of --plugins, --exclude and ``fixed`` against the registry."""
        known = ', '.join(sorted(self.registry.names()))
        for option, names in (("--plugins", self.include), ("--exclude", self.exclude)):
            unknown = [n for n in names if n not in self.registry]
            if unknown:
                raise SettingsError(f"{option}: unknown plugin {unknown[0]!r} (known: {known}; see 'abauto plugins')")
        for slot, name in self.fixed.items():
            of_slot = [p.name for p in self.registry.of_kind(Kind(slot))]
            if name not in of_slot + ([] if slot == Kind.CLASSIFIER.value else [NONE]) or name in self.exclude:
                choices = ", ".join(n for n in of_slot if n not in self.exclude)
                raise SettingsError(f"fixed {slot}: {name!r} is not a usable {slot} plugin (choices: {choices}"
                                    f"{'' if slot == Kind.CLASSIFIER.value else ', or none'})")
        self.choices = {kind: self._eligible(kind) for kind in Kind}
        if not self.choices[Kind.CLASSIFIER]:
            raise SettingsError("no classifier plugin is left after --plugins/--exclude and the data's constraints "
                                "(see 'abauto plugins')")
        for kind in (Kind.IMPUTER, Kind.ENCODER):
            if self._required(kind) and not self.choices[kind]:
                raise SettingsError(f"the data needs an {kind.value} but no {kind.value} plugin is available "
                                    f"(do not --exclude every {kind.value})")

    def _eligible(self, kind: Kind) -> list[Plugin]:
        plugins = [p for p in self.registry.of_kind(kind) if p.name not in self.exclude]
        named = [p for p in plugins if p.name in self.include]
        if named:
            plugins = named
        if kind == Kind.PRESET:  # opt-in only
            plugins = [p for p in plugins if p.name in self.include or p.name == self.fixed.get("preset")]
        return plugins

    def _required(self, kind: Kind) -> bool:
        return (kind == Kind.IMPUTER and self.shape.has_missing) or (kind == Kind.ENCODER and bool(self.shape.categorical))

    def context(self, random_state: int, n_rows: int | None = None, **kw) -> Context:
        # Ensemble members: every usable single-model classifier, even those --plugins leaves out
        # of the top-level choice (``--plugins bagging`` still bags over the others).
        members = {p.name: p for p in self.registry.of_kind(Kind.CLASSIFIER)
                   if p.name not in self.exclude and p.ensemble_member
                   and not (p.costly_rows and self.shape.n_rows > self.max_costly_rows)}
        return Context(n_rows=n_rows or self.shape.n_rows, n_features=self.shape.n_features,
                       n_classes=self.shape.n_classes, random_state=random_state, classifiers=members,
                       feature_names=self.shape.names,
                       categorical=tuple(self.shape.names[i] for i in self.shape.categorical), **kw)

    def row_cap(self, steps: Sequence[Step]) -> int | None:
        """The rows a pipeline of ``steps`` fits its classifier on at most: ``max_costly_rows``
        for a family whose fit time explodes with rows (``costly_rows``: kernel SVM, k-NN, MLP),
        else None."""
        return self.max_costly_rows if self.registry[steps[-1].plugin].costly_rows else None

    def notes(self) -> list[str]:
        """What the leaderboard should say about the space: the costly families that fit on a
        sample of the rows."""
        capped = [p.name for p in self.choices[Kind.CLASSIFIER] if p.costly_rows]
        if not capped or self.shape.n_rows <= self.max_costly_rows:
            return []
        return [f"{', '.join(capped)} fit on a stratified sample of at most {self.max_costly_rows:,} rows "
                f"(their fit time grows fast with rows; max_costly_rows)"]

    def slots(self) -> list[Kind]:
        """The preprocessing slots this data uses, in pipeline order."""
        out = []
        for kind in PREPROCESSING_KINDS:
            if kind == Kind.PRESET and not self.choices[kind]:
                continue
            if kind == Kind.IMPUTER and not self.shape.has_missing:
                continue
            if kind == Kind.ENCODER and not self.shape.categorical:
                continue
            if self.choices[kind] or not self._required(kind):
                out.append(kind)
        return out

    def _slot_choices(self, kind: Kind, clf: Plugin) -> tuple[str, list[str]]:
        plugins = self.choices[kind]
        name = kind.value
        if clf.needs_nonnegative and kind in (Kind.SCALER, Kind.REDUCER):
            plugins = [p for p in plugins if p.nonnegative_output]
            name += "~nonneg"
        names = [p.name for p in plugins]
        optional = not self._required(kind)
        if kind == Kind.SCALER and (clf.needs_scaling or clf.needs_nonnegative) and names:
            optional = False
            name += "~required"
        if optional or not names:
            names.append(NONE)
        return name, names

    def sample(self, trial: optuna.Trial | optuna.trial.FixedTrial, random_state: int = 0,
               n_rows: int | None = None) -> list[Step]:
        """Choose a plugin per slot and sample its parameters (define-by-run); ``n_rows`` is the
        size of the smallest training part the pipeline will be fitted on (bounds e.g. k-NN's k)."""
        ctx = self.context(random_state, n_rows=n_rows)
        clf_name = self._suggest(trial, "classifier", [p.name for p in self.choices[Kind.CLASSIFIER]])
        clf = self.registry[clf_name]
        steps = []
        for kind in self.slots():
            if steps and steps[0].slot == Kind.PRESET.value and kind in (Kind.IMPUTER, Kind.OUTLIER, Kind.ENCODER):
                continue  # a preset is the whole column-level preprocessing
            param, names = self._slot_choices(kind, clf)
            choice = self._suggest(trial, param, names)
            if choice != NONE:
                steps.append(Step(kind.value, choice, self.registry[choice].sample(trial, ctx)))
        steps.append(Step(Kind.CLASSIFIER.value, clf_name, clf.sample(trial, ctx)))
        return steps

    def first_params(self, clf_name: str, random_state: int = 0, n_rows: int | None = None) -> dict[str, Any]:
        """The Optuna parameters of a classifier family's first trial: the classifier's defaults,
        no optional preprocessing step, and in a slot it cannot leave empty the plugin with
        defaults (else the first). Parameters of plugins without defaults are left to the sampler."""
        ctx = self.context(random_state, n_rows=n_rows)
        clf = self.registry[clf_name]
        params: dict[str, Any] = {"classifier": clf_name}
        for kind in self.slots():
            param, names = self._slot_choices(kind, clf)
            if kind.value in self.fixed:
                choice = self.fixed[kind.value]
            else:
                choice = NONE if NONE in names else next((n for n in names if self.registry[n].defaults), names[0])
                params[param] = choice
            if choice != NONE:
                params.update(self.registry[choice].default_params(ctx))
        params.update(clf.default_params(ctx))
        return params

    def _suggest(self, trial, param: str, names: list[str]) -> str:
        slot = param.split("~")[0]
        if slot in self.fixed:
            value = self.fixed[slot]
            if value not in names:
                raise SettingsError(f"fixed {slot}={value!r} is not among the choices {names}")
            return value
        return trial.suggest_categorical(param, names) if len(names) > 1 else names[0]

    def build(self, steps: Sequence[Step], random_state: int = 0, n_rows: int | None = None,
              probability: bool = False, n_jobs: int = 1, memory=None) -> Pipeline:
        """Turn sampled steps into an unfitted scikit-learn Pipeline."""
        ctx = self.context(random_state, n_rows=n_rows, probability=probability, n_jobs=n_jobs)
        by_slot = {s.slot: self.registry[s.plugin].build(s.params, ctx) for s in steps}
        numeric = [by_slot[k] for k in ("imputer", "outlier") if k in by_slot]
        encoder = by_slot.get("encoder")
        parts: list[tuple[str, Any]] = []
        if "preset" in by_slot:
            parts.append(("preset", by_slot["preset"]))
        elif self.shape.categorical:
            numeric_branch = make_pipeline(*numeric) if numeric else "passthrough"
            cat_branch = make_pipeline(SimpleImputer(strategy="constant", fill_value=MISSING_LABEL), encoder)
            transformers = [("categorical", cat_branch, list(self.shape.categorical))]
            if self.shape.numeric:
                transformers.insert(0, ("numeric", numeric_branch, list(self.shape.numeric)))
            parts.append(("columns", ColumnTransformer(transformers, sparse_threshold=0.0)))
        else:
            parts += [(k, by_slot[k]) for k in ("imputer", "outlier") if k in by_slot]
        cap = self.row_cap(steps)
        if cap is not None and (n_rows or self.shape.n_rows) > cap:
            by_slot["classifier"] = RowCap(by_slot["classifier"], cap, random_state)
        parts += [(k, by_slot[k]) for k in ("scaler", "reducer", "classifier") if k in by_slot]
        return Pipeline(parts, memory=memory)

    def replay(self, params: dict[str, Any]) -> list[Step]:
        """The steps a finished trial sampled, from its recorded parameters."""
        return self.sample(optuna.trial.FixedTrial(params))


def family(steps: Sequence[Step]) -> str:
    """The classifier family of a pipeline: the classifier plugin's name."""
    return steps[-1].plugin


def describe(steps: Sequence[Step]) -> str:
    """A one-line human description, e.g. ``standard > pca > svm``
    (:func:`abauto.leaderboard_view.describe_pipeline` of the steps)."""
    return describe_pipeline([s.to_json() for s in steps])


def plugin_distributions(plugin: Plugin, ctx: Context | None = None, samples: int = 30,
                         seed: int = 0) -> dict[str, optuna.distributions.BaseDistribution]:
    """Every hyperparameter a plugin's define-by-run space can sample, with its whole range.

    A conditional parameter (``gamma`` only when ``kernel`` is ``rbf``) appears on some branches
    only, so the space is sampled ``samples`` times with a seeded random sampler, and once more
    with each choice of every categorical parameter forced; the distributions of a name are
    united (lowest low, highest high, every choice). Names are without the plugin prefix; a space
    that raises for some draw contributes what it sampled before raising."""
    ctx = ctx or Context(n_rows=1000, n_features=20, n_classes=3)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, optuna.distributions.BaseDistribution] = {}

    def draw(fixed: dict | None = None) -> None:
        if fixed:
            study.enqueue_trial(fixed, skip_if_exists=False)
        trial = study.ask()
        try:
            plugin.sample(trial, ctx)
        except Exception:  # noqa: BLE001 - a listing must not fail on one plugin's bad draw
            pass
        for name, dist in trial.distributions.items():
            found[name] = _union(found.get(name), dist)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)

    with _quiet():
        for _ in range(samples):
            draw()
        forced = set()
        while True:
            todo = [(name, choice) for name, dist in list(found.items())
                    if isinstance(dist, optuna.distributions.CategoricalDistribution)
                    for choice in dist.choices if (name, choice) not in forced]
            if not todo:
                break
            for name, choice in todo:
                forced.add((name, choice))
                draw({name: choice})
    prefix = f"{plugin.name}."
    return {name[len(prefix):] if name.startswith(prefix) else name: dist for name, dist in found.items()}


class _quiet:
    """Optuna's logging at ERROR for the duration (failed draws are expected here)."""

    def __enter__(self):
        self.level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)

    def __exit__(self, *exc):
        optuna.logging.set_verbosity(self.level)
        return False


def _union(a: optuna.distributions.BaseDistribution | None,
           b: optuna.distributions.BaseDistribution) -> optuna.distributions.BaseDistribution:
    """One distribution covering both (same kind); ``b`` when they cannot be united."""
    D = optuna.distributions
    if a is None or type(a) is not type(b):
        return b
    if isinstance(a, D.CategoricalDistribution):
        return D.CategoricalDistribution(list(dict.fromkeys([*a.choices, *b.choices])))
    if isinstance(a, (D.FloatDistribution, D.IntDistribution)) and a.log == b.log and a.step == b.step:
        return type(a)(min(a.low, b.low), max(a.high, b.high), log=a.log, step=a.step)
    return b


def _has(method: str):
    return lambda self: hasattr(self.estimator, method)


class RowCap(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier fitted on a stratified sample of at most ``max_rows`` rows (every class kept):
    how a family whose fit time explodes with rows stays usable on a large table."""

    def __init__(self, estimator, max_rows: int = 20_000, random_state: int | None = None):
        self.estimator, self.max_rows, self.random_state = estimator, max_rows, random_state

    def fit(self, X, y, **fit_params):
        y = np.asarray(y)
        rows = stratified_sample(np.arange(len(y)), y, self.max_rows, self.random_state)
        missing = np.setdiff1d(np.unique(y), y[rows])  # a class too rare to be sampled keeps a row
        rows = np.sort(np.concatenate([rows, [np.flatnonzero(y == c)[0] for c in missing]]).astype(int))
        self.estimator_ = clone(self.estimator).fit(take(X, rows), y[rows], **fit_params)
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", None)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        return self.estimator_.decision_function(X)
