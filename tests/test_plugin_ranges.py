"""``abauto plugins`` lists every hyperparameter with its range, conditional ones included."""

from __future__ import annotations

import json

import optuna

from abauto.cli_render import describe_distribution
from abauto.registry import load_registry
from abauto.space import plugin_distributions


def test_conditional_parameters_are_found():
    svm = plugin_distributions(load_registry()["svm"])
    assert {"kernel", "C", "gamma", "degree"} <= set(svm)  # gamma: rbf/poly only, degree: poly only
    assert set(svm["kernel"].choices) >= {"rbf", "linear", "poly"}
    assert svm["C"].log and svm["C"].low < 1 < svm["C"].high


def test_describe_distribution():
    D = optuna.distributions
    assert describe_distribution(D.FloatDistribution(0.001, 1000.0, log=True)) == "0.001..1000 (log)"
    assert describe_distribution(D.IntDistribution(2, 4)) == "int 2..4"
    assert describe_distribution(D.CategoricalDistribution(["rbf", "linear", None])) == "{rbf, linear, null}"


def test_plugins_json_and_table_show_ranges(cli, monkeypatch):
    code, out, err = cli("plugins", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)["plugins"]}
    assert "gamma" in rows["svm"]["hyperparameters"] and rows["svm"]["ranges"]["gamma"].endswith("(log)")
    assert rows["knn"]["ranges"]["n_neighbors"].startswith("int ")
    assert rows["svm"]["ranges"]["kernel"].startswith("{")
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = cli("plugins")
    assert code == 0 and "gamma: " in out and "(log)" in out
