"""Built-in preprocessing plugins: imputation, outlier clipping, encoding, scaling, reduction."""

from __future__ import annotations

from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.preprocessing import (MinMaxScaler, OneHotEncoder, OrdinalEncoder, QuantileTransformer,
                                   RobustScaler, StandardScaler)

import abauto
from abauto import Context, Kind, Params, Plugin, ScopedTrial

from .transformers import OutlierClipper, SparseColumnImputer


def impute_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {
        "strategy": trial.suggest_categorical("strategy", ["mean", "median", "most_frequent", "zero"]),
        "max_missing": trial.suggest_float("max_missing", 0.2, 1.0),
    }


def clip_quantile_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"q": trial.suggest_float("q", 0.001, 0.05, log=True)}


def winsorize_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"k": trial.suggest_float("k", 1.5, 5.0)}


def onehot_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"min_frequency": trial.suggest_int("min_frequency", 1, 10, log=True)}


def onehot_build(params: Params, ctx: Context) -> OneHotEncoder:
    return OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False, max_categories=64, **params)


def quantile_normal_build(params: Params, ctx: Context) -> QuantileTransformer:
    """gaia's "gaussianize": rank-based mapping of every column to a standard normal."""
    return QuantileTransformer(output_distribution="normal", n_quantiles=max(10, min(1000, ctx.n_rows)),
                               random_state=ctx.random_state)


def pca_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {
        "variance": trial.suggest_float("variance", 0.8, 0.999),
        "whiten": trial.suggest_categorical("whiten", [False, True]),
    }


def pca_build(params: Params, ctx: Context) -> PCA:
    return PCA(n_components=params["variance"], whiten=params["whiten"], svd_solver="full",
               random_state=ctx.random_state)


def kbest_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"fraction": trial.suggest_float("fraction", 0.1, 1.0)}


def kbest_build(params: Params, ctx: Context) -> SelectKBest:
    return SelectKBest(f_classif, k=max(1, round(params["fraction"] * ctx.n_features)))


def variance_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"threshold": trial.suggest_float("threshold", 1e-6, 1e-2, log=True)}


@abauto.hookimpl
def register_preprocessors(register) -> None:
    """Register the built-in preprocessing steps, one plugin per method."""
    register(Plugin("impute", Kind.IMPUTER, lambda p, ctx: SparseColumnImputer(**p), impute_space,
                    "mean/median/most-frequent/zero imputation; drops columns above a missing share",
                    nonnegative_output=True, defaults=lambda ctx: {"strategy": "median", "max_missing": 1.0}))
    register(Plugin("clip_quantile", Kind.OUTLIER, lambda p, ctx: OutlierClipper("quantile", q=p["q"]),
                    clip_quantile_space, "clip each column to its [q, 1-q] training quantiles",
                    handles_missing=True, nonnegative_output=True))
    register(Plugin("winsorize_iqr", Kind.OUTLIER, lambda p, ctx: OutlierClipper("iqr", k=p["k"]),
                    winsorize_space, "winsorise to [Q1 - k IQR, Q3 + k IQR]",
                    handles_missing=True, nonnegative_output=True))
    register(Plugin("onehot", Kind.ENCODER, onehot_build, onehot_space,
                    "one-hot encoding of categorical columns (rare levels pooled)", nonnegative_output=True,
                    defaults=lambda ctx: {"min_frequency": 1}))
    register(Plugin("ordinal", Kind.ENCODER,
                    lambda p, ctx: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                    description="integer codes for categorical columns (for trees)"))
    register(Plugin("standard", Kind.SCALER, lambda p, ctx: StandardScaler(), description="zero mean, unit variance",
                    handles_missing=True, defaults=lambda ctx: {}))
    register(Plugin("minmax", Kind.SCALER, lambda p, ctx: MinMaxScaler(clip=True), description="to [0, 1], clipped",
                    handles_missing=True, nonnegative_output=True))
    register(Plugin("robust", Kind.SCALER, lambda p, ctx: RobustScaler(), description="median and IQR",
                    handles_missing=True))
    register(Plugin("quantile_normal", Kind.SCALER, quantile_normal_build,
                    description="rank-based gaussianisation (gaia's gaussianize)", handles_missing=True))
    register(Plugin("pca", Kind.REDUCER, pca_build, pca_space, "PCA keeping a fraction of the variance"))
    register(Plugin("select_kbest", Kind.REDUCER, kbest_build, kbest_space,
                    "keep the k best features by ANOVA F", nonnegative_output=True))
    register(Plugin("variance_threshold", Kind.REDUCER, lambda p, ctx: VarianceThreshold(**p), variance_space,
                    "drop near-constant features", nonnegative_output=True))
