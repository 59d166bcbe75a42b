"""Built-in ensemble plugins: bagging over one other plugin, voting over two or three.

Members come from ``ctx.classifiers`` (the other eligible single-model classifiers); their
parameters are sampled in a nested scope, e.g. ``voting.svm.C``.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

from sklearn.ensemble import BaggingClassifier, VotingClassifier

import abauto
from abauto import Context, Kind, Params, Plugin, ScopedTrial

SEPARATOR = "+"


def _build_member(name: str, params: Params, ctx: Context):
    return ctx.classifiers[name].build(params, ctx)


# Bagging copies of models that are ensembles already multiplies their cost for little gain.
ALREADY_ENSEMBLES = {"random_forest", "extra_trees", "hist_gb"}


def bagging_space(trial: ScopedTrial, ctx: Context) -> Params:
    bases = sorted(set(ctx.classifiers) - ALREADY_ENSEMBLES) or sorted(ctx.classifiers)
    base = trial.suggest_categorical("base", bases)
    return {
        "base": base,
        "base_params": ctx.classifiers[base].sample(trial, ctx),
        "n_estimators": trial.suggest_int("n_estimators", 5, 20, log=True),
        "max_samples": trial.suggest_float("max_samples", 0.5, 1.0),
        "max_features": trial.suggest_float("max_features", 0.5, 1.0),
    }


def bagging_build(params: Params, ctx: Context) -> BaggingClassifier:
    base = _build_member(params["base"], params["base_params"], replace(ctx, n_jobs=1))
    return BaggingClassifier(base, n_estimators=params["n_estimators"], max_samples=params["max_samples"],
                             max_features=params["max_features"], n_jobs=ctx.n_jobs,
                             random_state=ctx.random_state)


def member_sets(names: list[str]) -> list[str]:
    """Every set of two or three members, as ``"a+b"`` strings (a fixed categorical space)."""
    names = sorted(names)
    return [SEPARATOR.join(c) for k in (2, 3) for c in combinations(names, k)]


def voting_space(trial: ScopedTrial, ctx: Context) -> Params:
    members = trial.suggest_categorical("members", member_sets(list(ctx.classifiers)))
    names = members.split(SEPARATOR)
    can_soft = all(ctx.classifiers[n].has_predict_proba for n in names)
    voting = trial.suggest_categorical("voting", ["soft", "hard"]) if can_soft else "hard"
    return {
        "voting": voting,
        "members": {n: ctx.classifiers[n].sample(trial, ctx) for n in names},
    }


def voting_build(params: Params, ctx: Context) -> VotingClassifier:
    """Hard voting offers no probabilities: where they are needed (``ctx.probability``) and every
    member can give them, the vote is soft."""
    voting = params["voting"]
    if ctx.probability and all(ctx.classifiers[n].has_predict_proba for n in params["members"]):
        voting = "soft"
    member_ctx = replace(ctx, n_jobs=1, probability=voting == "soft")
    estimators = [(n, _build_member(n, p, member_ctx)) for n, p in params["members"].items()]
    return VotingClassifier(estimators, voting=voting)


@abauto.hookimpl
def register_classifiers(register) -> None:
    """Register the bagging and voting ensembles."""
    register(Plugin("bagging", Kind.CLASSIFIER, bagging_build, bagging_space,
                    "bagging ensemble over another classifier plugin", ensemble=True))
    register(Plugin("voting", Kind.CLASSIFIER, voting_build, voting_space,
                    "soft or hard voting over two or three other classifier plugins", ensemble=True))
