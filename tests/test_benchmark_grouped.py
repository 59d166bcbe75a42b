"""benchmarks/grouped.py without running a benchmark: the derived second task and the report
(FLAML and AutoGluon are not needed; nothing is fitted)."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from argparse import Namespace

import yaml

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))  # grouped.py imports its sibling suite.py
_spec = importlib.util.spec_from_file_location("abauto_benchmark_grouped", ROOT / "benchmarks" / "grouped.py")
grouped = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(grouped)


def test_strategy_task_relabels_every_document(soundtracks, tmp_path):
    given = yaml.safe_load((soundtracks / "groundtruth.yaml").read_text())
    path = grouped.task_groundtruth(Namespace(groundtruth=str(soundtracks / "groundtruth.yaml"), out=str(tmp_path)),
                                    "strategy")
    derived = yaml.safe_load(path.read_text())
    assert derived["className"] == "strategy_game" and derived["type"] == given["type"]
    assert derived["groundTruth"].keys() == given["groundTruth"].keys()
    values = list(derived["groundTruth"].values())
    assert (values.count("strategy"), values.count("other")) == (157, 103)  # as benchmarks/README.md says


def test_report_keeps_raw_fold_scores_and_names_folds_without_a_model(tmp_path):
    (tmp_path / "results").mkdir()
    row = {"task": "soundtrack", "method": "flaml", "budget": 60.0, "outer": 3, "inner": 3, "rows": 260, "classes": 8,
           "n_groups": 105, "load": [3.5, 3.0, 2.0], "scores": [0.5, None, 0.7], "seconds": 75.0, "configs": 12,
           "finished": "2026-12-01 02:00:00"}
    (tmp_path / "results" / "soundtrack__flaml.json").write_text(json.dumps(row))
    grouped.write_tables(tmp_path)
    table = (tmp_path / "grouped.md").read_text()
    assert "| FLAML AutoML (grouped inner CV) | 0.600 ± 0.100 (no model in 1/3 folds) | 75 | 1.25 | 12 |" in table
    rows = list(csv.DictReader((tmp_path / "grouped.csv").open()))
    assert [r["balanced_accuracy"] for r in rows] == ["0.500000", "", "0.700000"]
    assert {r["load_1min"] for r in rows} == {"3.50"}
