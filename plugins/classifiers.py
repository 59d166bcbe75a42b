"""Built-in classifier plugins: SVM (gaia's model), naive Bayes, forests, linear, k-NN,
histogram gradient boosting and a dense softmax neural network."""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

import abauto
from abauto import Context, Kind, Params, Plugin, ScopedTrial

BALANCE = ["balanced", None]


def svm_space(trial: ScopedTrial, ctx: Context) -> Params:
    """gaia's SVM space, widened: C 2^-5..2^15, gamma 2^-15..2^3 (log), three kernels."""
    kernel = trial.suggest_categorical("kernel", ["rbf", "linear", "poly"])
    params: Params = {
        "kernel": kernel,
        "C": trial.suggest_float("C", 2.0**-5, 2.0**15, log=True),
        "class_weight": trial.suggest_categorical("class_weight", BALANCE),
    }
    if kernel != "linear":
        params["gamma"] = trial.suggest_float("gamma", 2.0**-15, 2.0**3, log=True)
    if kernel == "poly":
        params["degree"] = trial.suggest_int("degree", 2, 4)
    return params


def svm_defaults(ctx: Context) -> Params:
    """libsvm's defaults (C 1, rbf, gamma 1/n_features: scikit-learn's "scale" on standardised
    data) with balanced class weights, as gaia trained."""
    gamma = min(max(1.0 / max(ctx.n_features, 1), 2.0**-15), 2.0**3)
    return {"kernel": "rbf", "C": 1.0, "class_weight": "balanced", "gamma": gamma}


def svm_build(params: Params, ctx: Context):
    """SVC; with ``ctx.probability``, wrapped in Platt scaling (libsvm's ``-b 1``, as gaia did)."""
    # max_iter bounds libsvm on hopeless corners of the space (poly kernel, huge C and gamma),
    # which otherwise take minutes per fit and lose anyway.
    svc = SVC(**params, max_iter=200_000, cache_size=500, random_state=ctx.random_state)
    if ctx.probability:
        return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)
    return svc


def gaussian_nb_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1e-1, log=True)}


def gaussian_nb_defaults(ctx: Context) -> Params:
    return {"var_smoothing": 1e-9}


def discrete_nb_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {"alpha": trial.suggest_float("alpha", 1e-3, 10.0, log=True)}


def discrete_nb_defaults(ctx: Context) -> Params:
    return {"alpha": 1.0}


def forest_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 50, 300, log=True),
        "max_features": trial.suggest_float("max_features", 0.05, 1.0, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 10, log=True),
        "class_weight": trial.suggest_categorical("class_weight", BALANCE),
    }


def forest_defaults(ctx: Context) -> Params:
    """scikit-learn's: 100 trees, sqrt(n_features) features per split, leaves of one row."""
    return {"n_estimators": 100, "max_features": min(1.0, max(0.05, ctx.n_features**-0.5)),
            "min_samples_leaf": 1, "class_weight": "balanced"}


FOREST_BYTES = 256 * 2**20  # a forest's trees together, at most (AutoGluon caps leaves for this too)


def forest_leaves(params: Params, ctx: Context) -> dict:
    """``max_leaf_nodes`` for a forest that would otherwise outgrow :data:`FOREST_BYTES`: fully
    grown trees have up to ``n_rows / min_samples_leaf`` leaves each (a 100-tree forest on 160,000
    rows took 1.1 GB), a node holds 64 bytes and 8 per class. Empty where the cap cannot bind, so
    forests on small tables are grown exactly as before."""
    node_bytes = 64 + 8 * ctx.n_classes
    leaves = max(1000, int(FOREST_BYTES / (2 * node_bytes * params["n_estimators"])))
    return {"max_leaf_nodes": leaves} if ctx.n_rows / params["min_samples_leaf"] > leaves else {}


def random_forest_build(params: Params, ctx: Context) -> RandomForestClassifier:
    return RandomForestClassifier(**params, **forest_leaves(params, ctx), n_jobs=ctx.n_jobs,
                                  random_state=ctx.random_state)


def extra_trees_build(params: Params, ctx: Context) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(**params, **forest_leaves(params, ctx), n_jobs=ctx.n_jobs,
                                random_state=ctx.random_state)


def logreg_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {
        "C": trial.suggest_float("C", 1e-4, 1e3, log=True),
        "class_weight": trial.suggest_categorical("class_weight", BALANCE),
    }


def logreg_defaults(ctx: Context) -> Params:
    return {"C": 1.0, "class_weight": "balanced"}


def logreg_build(params: Params, ctx: Context) -> LogisticRegression:
    return LogisticRegression(**params, max_iter=2000, random_state=ctx.random_state)


def knn_space(trial: ScopedTrial, ctx: Context) -> Params:
    most = max(1, min(50, ctx.n_rows // 3))
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, most, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }


def knn_defaults(ctx: Context) -> Params:
    return {"n_neighbors": min(5, max(1, min(50, ctx.n_rows // 3))), "weights": "uniform", "p": 2}


def hgb_space(trial: ScopedTrial, ctx: Context) -> Params:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "max_iter": trial.suggest_int("max_iter", 30, 300, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 48, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", BALANCE),
    }


def hgb_defaults(ctx: Context) -> Params:
    """Early stopping decides the iterations: scikit-learn's cap of 100 stopped it short on large
    tables (160,000 rows: 0.902 at 100, 0.922 at 300 balanced accuracy)."""
    return {"learning_rate": 0.1, "max_iter": 300, "max_leaf_nodes": 31, "l2_regularization": 1e-6,
            "class_weight": "balanced"}


def hgb_build(params: Params, ctx: Context) -> HistGradientBoostingClassifier:
    """Boosting with early stopping on a seeded 10 % validation split: one tree per class and
    iteration makes many-class data costly, and most iterations past the optimum are waste."""
    return HistGradientBoostingClassifier(**params, early_stopping=True, validation_fraction=0.1,
                                          n_iter_no_change=10, random_state=ctx.random_state)


def mlp_space(trial: ScopedTrial, ctx: Context) -> Params:
    layers = trial.suggest_int("layers", 1, 3)
    width = trial.suggest_int("width", 16, 256, log=True)
    return {
        "hidden_layer_sizes": (width,) * layers,
        "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-2, log=True),
    }


def mlp_defaults(ctx: Context) -> Params:
    return {"layers": 1, "width": 100, "alpha": 1e-4, "learning_rate_init": 1e-3}


def mlp_build(params: Params, ctx: Context) -> MLPClassifier:
    """Dense ReLU layers with a softmax output, Adam, early stopping on a 10 % split."""
    return MLPClassifier(**params, max_iter=300, early_stopping=True, n_iter_no_change=10,
                         random_state=ctx.random_state)


@abauto.hookimpl
def register_classifiers(register) -> None:
    """Register the built-in single-model classifiers."""
    c = Kind.CLASSIFIER
    # cheapest first: a new study tries each family once, in this order
    register(Plugin("gaussian_nb", c, lambda p, ctx: GaussianNB(**p), gaussian_nb_space, "Gaussian naive Bayes",
                    defaults=gaussian_nb_defaults))
    register(Plugin("multinomial_nb", c, lambda p, ctx: MultinomialNB(**p), discrete_nb_space,
                    "multinomial naive Bayes (non-negative inputs)", needs_nonnegative=True,
                    defaults=discrete_nb_defaults))
    register(Plugin("complement_nb", c, lambda p, ctx: ComplementNB(**p), discrete_nb_space,
                    "complement naive Bayes (non-negative inputs)", needs_nonnegative=True,
                    defaults=discrete_nb_defaults))
    register(Plugin("logreg", c, logreg_build, logreg_space, "multinomial logistic regression",
                    needs_scaling=True, defaults=logreg_defaults))
    register(Plugin("knn", c, lambda p, ctx: KNeighborsClassifier(**p), knn_space, "k nearest neighbours",
                    needs_scaling=True, costly_rows=True, defaults=knn_defaults))
    register(Plugin("svm", c, svm_build, svm_space, "support vector machine (libsvm SVC), gaia's model",
                    needs_scaling=True, costly_rows=True, defaults=svm_defaults))
    register(Plugin("extra_trees", c, extra_trees_build, forest_space, "extremely randomised trees",
                    defaults=forest_defaults))
    register(Plugin("random_forest", c, random_forest_build, forest_space, "random forest", defaults=forest_defaults))
    register(Plugin("mlp", c, mlp_build, mlp_space, "dense softmax neural network (MLP)", needs_scaling=True,
                    costly_rows=True, defaults=mlp_defaults))
    register(Plugin("hist_gb", c, hgb_build, hgb_space, "histogram gradient boosting", handles_missing=True,
                    defaults=hgb_defaults))
