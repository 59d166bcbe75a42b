"""An abauto classifier plugin wrapping LightGBM's gradient-boosted trees.

abauto finds this module through the ``abauto`` entry-point group in pyproject.toml and calls
its ``register_classifiers`` hook once when it loads plugins.
"""

from __future__ import annotations

from lightgbm import LGBMClassifier

import abauto
from abauto import Context, Kind, Params, Plugin, ScopedTrial

__version__ = "0.1.0"


def lightgbm_space(trial: ScopedTrial, ctx: Context) -> Params:
    """Sample LightGBM's main knobs; abauto records them as ``lightgbm.<name>``."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 50, 400, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 40, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-6, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", ["balanced", None]),
    }


def lightgbm_build(params: Params, ctx: Context) -> LGBMClassifier:
    """An unfitted LGBMClassifier, seeded and limited to ``ctx.n_jobs`` threads."""
    return LGBMClassifier(**params, subsample_freq=1, random_state=ctx.random_state, n_jobs=ctx.n_jobs,
                          verbose=-1)


PLUGIN = Plugin(
    name="lightgbm",
    kind=Kind.CLASSIFIER,
    build=lightgbm_build,
    space=lightgbm_space,
    description="LightGBM gradient-boosted trees (abauto-plugin-example)",
    handles_missing=True,   # LightGBM routes NaN down a learnt branch
    has_predict_proba=True,
)


@abauto.hookimpl
def register_classifiers(register) -> None:
    """Give abauto the LightGBM classifier."""
    register(PLUGIN)
