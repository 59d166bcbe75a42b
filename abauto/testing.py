"""The plugin contract check that plugin authors run in their own tests.

    from abauto.testing import check_plugin

    def test_my_plugin():
        check_plugin(my_plugin)

Modelled on scikit-learn's ``check_estimator``: one call that samples the plugin's space many
times with a real Optuna trial, builds, fits and predicts on small real data, and raises
:class:`PluginCheckError` with a one-line message naming the plugin, the problem and the sampled
configuration at fault.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from abauto.plugin import Context, Kind, Plugin
from abauto.space import MISSING_LABEL

DEFAULT_MAX_FIT_SECONDS = 30.0
TIMED_ROWS = 1_000  # the first configuration is also fitted on this many resampled rows
REPEATED = 3  # configurations fitted twice to check that the same random_state gives the same result


class PluginCheckError(AssertionError):
    """A plugin broke the contract; ``str()`` is one line naming the plugin and the problem."""


def check_plugin(plugin: Plugin | str, registry=None, *, n_samples: int = 20, data=None, seed: int = 0,
                 max_fit_seconds: float = DEFAULT_MAX_FIT_SECONDS) -> str:
    """Check that ``plugin`` keeps abauto's plugin contract; return a short summary.

    plugin: an :class:`abauto.Plugin` (or the name of one in ``registry``).
    registry: where an ensemble finds its member classifiers (default ``load_registry()``).
    n_samples: configurations sampled from the space with a seeded ``RandomSampler``.
    data: an ``abauto.data.Dataset`` or an ``(X, y)`` pair; default a small generated table with
        missing values and two categorical columns.
    max_fit_seconds: limit for any single fit, including one fit on 1,000 resampled rows.

    Classifiers are fitted behind median imputation, one-hot encoding and standard scaling
    (plus min-max scaling when ``needs_nonnegative``); preprocessing steps are fitted on the
    columns their slot sees and followed by a logistic regression. Every configuration must
    sample only ``<name>.``-prefixed parameters with stable distributions, build a clonable
    estimator whose ``get_params``/``set_params`` round trip is lossless, fit and predict (or
    transform) without changing its input and within ``max_fit_seconds`` (the first one also on
    1,000 resampled rows), give identical results when fitted twice with the same
    ``Context.random_state`` (the first three), and, for classifiers built with
    ``ctx.probability=True`` (every other configuration), return ``predict_proba`` rows that
    sum to 1. Native thread pools are limited to one thread during the check.
    Raises :class:`PluginCheckError` on the first violation.
    """
    if isinstance(plugin, str):
        from abauto.registry import load_registry

        registry = registry if registry is not None else load_registry()
        if plugin not in registry:
            raise PluginCheckError(f"{plugin}: no such plugin in the registry")
        plugin = registry[plugin]
    if not isinstance(plugin, Plugin):
        raise PluginCheckError(f"{plugin!r}: not an abauto.Plugin")
    return _Checker(plugin, registry, _as_frame(data, seed), seed, max_fit_seconds).run(n_samples)


def _as_frame(data, seed: int) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """(X as a DataFrame with string column names, y, categorical column names)."""
    if data is None:
        X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_redundant=1, n_classes=3,
                                   n_clusters_per_class=1, random_state=seed)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
        frame.loc[np.random.default_rng(seed).random(len(frame)) < 0.1, "x0"] = np.nan
        frame["colour"] = np.array(["red", "green", "blue"], dtype=object)[(X[:, 1] > 0).astype(int) + (X[:, 2] > 0)]
        frame["size"] = np.where(X[:, 3] > 0.5, "large", "small").astype(object)
        return frame, np.array([f"class_{k}" for k in y], dtype=object), ["colour", "size"]
    if hasattr(data, "X") and hasattr(data, "y"):  # abauto.data.Dataset
        X, y, categorical = data.X.copy(), np.asarray(data.y), [str(c) for c in getattr(data, "categorical", [])]
    else:
        X, y = data
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X)
            X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        y = np.asarray(y)
    X.columns = [str(c) for c in X.columns]
    return X, y, categorical


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


def _fmt(params: dict[str, Any]) -> str:
    def value(v):
        return f"{v:.4g}" if isinstance(v, float) else repr(v)
    return "{" + ", ".join(f"{k}={value(v)}" for k, v in params.items()) + "}"


def _same(a, b) -> bool:
    """Parameter values equal, comparing estimators by type and parameters."""
    if hasattr(a, "get_params") and not isinstance(a, type):
        return type(a) is type(b) and _same(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return a is b


def _copy(X):
    return X.copy(deep=True) if isinstance(X, pd.DataFrame) else np.array(X, copy=True)


def _unchanged(X, before) -> bool:
    if isinstance(X, pd.DataFrame):
        return X.equals(before) and list(X.columns) == list(before.columns)
    X = np.asarray(X)
    return X.shape == before.shape and np.array_equal(X, before, equal_nan=X.dtype.kind == "f")


def _dense(Z) -> np.ndarray:
    Z = Z.toarray() if hasattr(Z, "toarray") else Z
    return np.asarray(Z, dtype=float)


class _Checker:
    def __init__(self, plugin: Plugin, registry, frame, seed: int, max_fit_seconds: float):
        self.plugin, self.seed, self.limit = plugin, seed, max_fit_seconds
        self.X, self.y, self.categorical = frame
        self.numeric = [c for c in self.X.columns if c not in set(self.categorical)]
        self.classifier = plugin.kind == Kind.CLASSIFIER
        self.members: dict[str, Plugin] = {}
        if plugin.ensemble:
            if registry is None:
                from abauto.registry import load_registry

                registry = load_registry()
            self.members = {p.name: p for p in registry.of_kind(Kind.CLASSIFIER)
                            if p.ensemble_member and p.name != plugin.name}
            if not self.members:
                self.fail("an ensemble needs member classifiers, but the registry holds none")
        self.slowest = 0.0

    def fail(self, problem: str, config: str | None = None):
        where = f" for config {config}" if config is not None else ""
        raise PluginCheckError(f"{self.plugin.name}: {problem}{where}")

    # -- data the plugin sees -------------------------------------------------------------
    def _inputs(self) -> tuple[Any, Any]:
        """The plugin's input table and an unfitted front step producing it from raw X."""
        p, kind = self.plugin, self.plugin.kind
        if kind == Kind.CLASSIFIER:
            parts = [("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                           StandardScaler()), self.numeric)]
            if self.categorical:
                parts.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value=MISSING_LABEL),
                                                   OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                              self.categorical))
            front = Pipeline([("columns", ColumnTransformer(parts, sparse_threshold=0.0))]
                             + ([("nonneg", MinMaxScaler(clip=True))] if p.needs_nonnegative else []))
            return self.X, front
        if kind == Kind.ENCODER:
            if self.categorical:
                cat = self.X[self.categorical].astype(object)
            else:  # numeric data: quartile labels of the first two columns
                cat = pd.DataFrame({f"{c}_q": pd.qcut(self.X[c].rank(method="first"), 4,
                                                      labels=["q1", "q2", "q3", "q4"]).astype(object)
                                    for c in self.numeric[:2]})
            return cat.where(cat.notna(), MISSING_LABEL), None
        if kind == Kind.PRESET:
            return self.X, None
        X = self.X[self.numeric]
        if kind == Kind.IMPUTER and not X.isna().to_numpy().any():  # give an imputer something to do
            X = X.mask(np.random.default_rng(self.seed).random(X.shape) < 0.1)
        if kind == Kind.IMPUTER or p.handles_missing:
            return X, None
        return X, ColumnTransformer([("num", SimpleImputer(strategy="median", keep_empty_features=True), self.numeric)],
                         verbose_feature_names_out=False).set_output(transform="pandas")

    def context(self, n_rows: int, n_features: int, probability: bool = False) -> Context:
        extra = {}
        names = {f.name for f in dataclasses.fields(Context)}
        if "feature_names" in names:  # presets see the raw columns by name
            extra = {"feature_names": tuple(self.X.columns), "categorical": tuple(self.categorical)}
        return Context(n_rows=n_rows, n_features=n_features, n_classes=len(set(self.y.tolist())),
                       random_state=self.seed, n_jobs=1, probability=probability, classifiers=self.members, **extra)

    # -- the check ------------------------------------------------------------------------
    def run(self, n_samples: int) -> str:
        started = time.perf_counter()
        data, front = self._inputs()
        strat = self.y if min(np.unique(self.y, return_counts=True)[1]) >= 2 else None
        Xtr, Xte, ytr, yte = train_test_split(data, self.y, test_size=0.25, random_state=self.seed, stratify=strat)
        if front is not None:
            front.fit(Xtr, ytr)
            Xtr, Xte = front.transform(Xtr), front.transform(Xte)
        rng = np.random.default_rng(self.seed)
        rows = rng.integers(0, len(ytr), TIMED_ROWS)
        big = (Xtr.iloc[rows] if isinstance(Xtr, pd.DataFrame) else Xtr[rows], ytr[rows])
        self.back = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                                  LogisticRegression(max_iter=500))
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=self.seed))
        if self.plugin.defaults is not None:  # the first configuration checked is the defaults
            ctx = self.context(len(ytr), Xtr.shape[1])
            problem = self.plugin.defaults_problem(ctx)
            if problem:
                self.fail(problem)
            study.enqueue_trial(self.plugin.default_params(ctx))
        distributions: dict[str, Any] = {}
        prefix = f"{self.plugin.name}."
        # One native thread (ctx.n_jobs=1): fast and repeatable on busy machines, where OpenMP
        # thread pools can slow a histogram gradient boosting fit fifty-fold.
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            for i in range(n_samples):
                trial = study.ask()
                ctx = self.context(len(ytr), Xtr.shape[1], probability=self.classifier and i % 2 == 0)
                try:
                    params = self.plugin.sample(trial, ctx)
                except Exception as exc:
                    self.fail(f"space raised {_one_line(exc)}", _fmt(trial.params))
                config = _fmt(trial.params)
                for name, dist in trial.distributions.items():
                    if not name.startswith(prefix):
                        self.fail(f"parameter {name!r} is not prefixed with {prefix!r} (sample through the "
                                  f"ScopedTrial the space receives)")
                    if distributions.setdefault(name, dist) != dist:
                        self.fail(f"parameter {name!r} changed its distribution between configurations "
                                  f"({distributions[name]} then {dist})")
                self.check_config(params, ctx, config, Xtr, ytr, Xte, repeat=i < REPEATED, big=big if i == 0 else None)
                study.tell(trial, 0.0)
        return (f"{n_samples} configurations fitted, {time.perf_counter() - started:.1f} s "
                f"(slowest fit {self.slowest:.2f} s)")

    def build(self, params, ctx: Context, config: str):
        try:
            est = self.plugin.build(params, ctx)
        except Exception as exc:
            self.fail(f"build raised {_one_line(exc)}", config)
        method = "predict" if self.classifier else "transform"
        if not all(hasattr(est, m) for m in ("fit", "get_params", "set_params", method)):
            self.fail(f"build returned {type(est).__name__}, not a scikit-learn "
                      f"{'classifier' if self.classifier else 'transformer'} (needs fit, get_params, set_params, "
                      f"{method})", config)
        return est

    def fit(self, est, X, y, config: str):
        """Fit, timing it and checking that neither X nor y changes."""
        before, y_before = _copy(X), y.copy()
        started = time.perf_counter()
        try:
            est.fit(X, y)
        except Exception as exc:
            self.fail(f"fit failed: {_one_line(exc)}", config)
        seconds = time.perf_counter() - started
        self.slowest = max(self.slowest, seconds)
        if seconds > self.limit:
            self.fail(f"too slow: fit took {seconds:.2f} s on {len(y)} rows (max_fit_seconds={self.limit:g})", config)
        if not _unchanged(X, before) or not np.array_equal(y, y_before):
            self.fail("fit modified its input X or y in place (work on a copy)", config)
        return est

    def output(self, est, X, config: str) -> np.ndarray:
        """predict_proba (when offered), else predict or transform, checking X is left alone."""
        before = _copy(X)
        proba = self.classifier and hasattr(est, "predict_proba")
        try:
            if not self.classifier:
                out = _dense(est.transform(X))
            else:
                out = np.asarray(est.predict_proba(X) if proba else est.predict(X))
        except Exception as exc:
            self.fail(f"{'predict' if self.classifier else 'transform'} failed: {_one_line(exc)}", config)
        if not _unchanged(X, before):
            self.fail(f"{'predict' if self.classifier else 'transform'} modified its input X in place", config)
        return out

    def check_config(self, params, ctx: Context, config: str, Xtr, ytr, Xte, repeat: bool, big) -> None:
        est = self.build(params, ctx, config)
        try:
            twin = clone(est)
        except Exception as exc:
            self.fail(f"the estimator is not clonable by sklearn.base.clone: {_one_line(exc)}", config)
        before = twin.get_params(deep=False)
        try:
            twin.set_params(**before)
        except Exception as exc:
            self.fail(f"set_params(**get_params()) raised {_one_line(exc)}", config)
        changed = [k for k, v in twin.get_params(deep=False).items() if k not in before or not _same(before[k], v)]
        if changed or twin.get_params(deep=False).keys() != before.keys():
            self.fail(f"the get_params -> set_params round trip changes parameter(s) {', '.join(map(repr, changed))}",
                      config)
        self.fit(est, Xtr, ytr, config)
        out = self.output(est, Xte, config)
        if self.classifier:
            self.check_predictions(est, Xte, out, ytr, ctx, config)
        else:
            self.check_transform(est, Xtr, ytr, Xte, out, ctx, params, config)
        if not repeat:
            return
        again = self.output(self.fit(self.build(params, ctx, config), Xtr, ytr, config), Xte, config)
        if out.shape != again.shape or not (np.array_equal(out, again) if out.dtype.kind not in "fc" else
                                            np.allclose(out, again, rtol=1e-6, atol=1e-9, equal_nan=True)):
            self.fail("two fits with the same Context.random_state gave different results "
                      "(pass ctx.random_state to every random estimator)", config)
        if big is not None:
            self.fit(self.build(params, dataclasses.replace(ctx, n_rows=TIMED_ROWS), config), *big, config)

    def check_predictions(self, est, Xte, proba, ytr, ctx: Context, config: str) -> None:
        try:
            labels = np.asarray(est.predict(Xte))
        except Exception as exc:
            self.fail(f"predict failed: {_one_line(exc)}", config)
        if labels.shape != (len(Xte),):
            self.fail(f"predict returned shape {labels.shape}, expected ({len(Xte)},)", config)
        unknown = set(labels.tolist()) - set(ytr.tolist())
        if unknown:
            self.fail(f"predict returned labels never seen in training: {sorted(map(str, unknown))[:3]}", config)
        if not (self.plugin.has_predict_proba and ctx.probability):
            return
        if not hasattr(est, "predict_proba"):
            self.fail("has_predict_proba is set but the estimator built with ctx.probability=True has no "
                      "predict_proba", config)
        n_classes = len(set(ytr.tolist()))
        if proba.shape != (len(Xte), n_classes):
            self.fail(f"predict_proba returned shape {proba.shape}, expected ({len(Xte)}, {n_classes})", config)
        sums = proba.sum(axis=1)
        if not np.all(np.isfinite(proba)) or proba.min() < -1e-9 or not np.allclose(sums, 1.0, atol=1e-6):
            worst = int(np.argmax(np.abs(sums - 1.0)))
            self.fail(f"predict_proba rows must be probabilities summing to 1 (row {worst} sums to {sums[worst]:.6g})",
                      config)

    def check_transform(self, est, Xtr, ytr, Xte, out, ctx: Context, params, config: str) -> None:
        if out.ndim != 2 or out.shape[0] != len(Xte) or out.shape[1] == 0:
            self.fail(f"transform returned shape {out.shape}, expected ({len(Xte)}, n_features >= 1)", config)
        if self.plugin.kind == Kind.IMPUTER and np.isnan(out).any():
            self.fail("the imputer's output still holds missing values", config)
        if self.plugin.nonnegative_output:
            if self.plugin.kind in (Kind.ENCODER, Kind.PRESET):
                nonneg = out
            else:  # non-negative input must give non-negative output
                Ptr, Pte = (X.abs() if isinstance(X, pd.DataFrame) else np.abs(X) for X in (Xtr, Xte))
                nonneg = self.output(self.fit(self.build(params, ctx, config), Ptr, ytr, config), Pte, config)
            if np.nanmin(nonneg, initial=0.0) < 0:
                self.fail("nonnegative_output is set but the output holds negative values for non-negative input",
                          config)
        try:
            back = clone(self.back).fit(_dense(est.transform(Xtr)), ytr)
            back.predict(out)
        except Exception as exc:
            self.fail(f"a classifier cannot use the transformed data: {_one_line(exc)}", config)


def check_loader(loader) -> str:
    """Check that an input loader (:class:`abauto.extensions.Loader`) keeps the contract on
    inputs that are not its own; return a short summary, or raise :class:`PluginCheckError`.

    ``claims`` must return a bool without raising for a missing path, a plain CSV table and an
    empty folder, and must not claim the CSV table (abauto reads tables itself); ``load`` called
    on a missing path with no options must raise an :class:`abauto.errors.AbautoError` whose
    message is one line (what the command line prints), not another exception.
    """
    import tempfile
    from pathlib import Path

    from abauto.errors import AbautoError
    from abauto.extensions import Loader

    if not isinstance(loader, Loader):
        raise PluginCheckError(f"{loader!r}: not an abauto.extensions.Loader")
    if loader.problem():
        raise PluginCheckError(f"{loader.name}: {loader.problem()}")
    with tempfile.TemporaryDirectory() as tmp:
        missing, table, folder = Path(tmp) / "missing", Path(tmp) / "table.csv", Path(tmp) / "empty"
        table.write_text("a,b,class\n1,2,x\n3,4,y\n")
        folder.mkdir()
        claimed = []
        for what, path in (("a missing path", missing), ("a CSV table", table), ("an empty folder", folder)):
            try:
                answer = loader.claims(path)
            except Exception as exc:
                raise PluginCheckError(f"{loader.name}: claims() raised {type(exc).__name__} on {what}: {exc}") from None
            if not isinstance(answer, bool):
                raise PluginCheckError(f"{loader.name}: claims() returned {answer!r} on {what}, not a bool")
            if answer:
                claimed.append(what)
        if "a CSV table" in claimed:
            raise PluginCheckError(f"{loader.name}: claims a plain CSV table, which abauto reads itself")
        try:
            loader.load(missing)
        except AbautoError as exc:
            if len(str(exc).strip().splitlines()) != 1:
                raise PluginCheckError(f"{loader.name}: load() on a missing path: the error message must be one line") from None
        except Exception as exc:
            raise PluginCheckError(f"{loader.name}: load() on a missing path raised {type(exc).__name__}, not an "
                                   f"abauto.errors.AbautoError such as DataError: {exc}") from None
        else:
            raise PluginCheckError(f"{loader.name}: load() on a missing path returned instead of raising DataError")
    return f"claims {', '.join(claimed) or 'none of the probes'}; refuses a missing path with a one-line error"
