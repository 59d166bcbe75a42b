"""Class labels that look like numbers (0..9, -1/1, 0.5/1.5) fit like any others: every plugin is
fitted on the label codes, every output (leaderboard, report, model, predict) shows the labels."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import abauto
from abauto.ensemble import FAMILY as ENSEMBLE
from abauto.cli import main
from abauto.labels import EncodedTargetClassifier, encode
from abauto.model import load_model
from abauto.plugin import Kind
from abauto.registry import load_registry
from abauto.search_engine import SearchSettings

# name -> (shared dataset, label of each of its classes, rows kept per class: enough for every
# plugin; on ~30-row bootstrap samples bagging an early-stopping MLP fails, whatever the labels)
LABELS = {
    "text": ("iris", {"setosa": "setosa", "versicolor": "versicolor", "virginica": "virginica"}, 50),
    "integers": ("digits", {0: 0, 1: 1, 2: 2, 3: 3}, 50),
    "negative": ("breast_cancer", {"malignant": -1, "benign": 1}, 80),
    "floats": ("wine", {"class_0": 0.5, "class_1": 1.5, "class_2": 2.5}, 59),
}


def _table(dataset_path, tmp_path, kind: str):
    """A CSV of real rows whose classes carry the labels of ``kind``, and those labels as text."""
    name, labels, per_class = LABELS[kind]
    frame = pd.read_csv(dataset_path(name))
    frame = frame[frame["class"].isin(list(labels))].groupby("class").head(per_class)
    frame["class"] = frame["class"].map(labels)
    path = tmp_path / f"{kind}.csv"
    frame.to_csv(path, index=False)
    return path, sorted(str(v) for v in labels.values())


def test_encode_sorts_the_classes_like_label_encoder():
    classes, codes = encode(np.array(["b", "-1", "10", "2", "b"], dtype=object))
    assert classes.tolist() == ["-1", "10", "2", "b"] and codes.tolist() == [3, 0, 1, 2, 3]


def test_integer_like_text_labels_break_balanced_forests_but_not_their_codes():
    """The cause: scikit-learn's compute_class_weight turns the class '-1' into the integer -1
    before looking it up in the forest's own {'-1': w} weights."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array(["-1", "1"] * 20, dtype=object)
    forest = RandomForestClassifier(n_estimators=5, class_weight="balanced", random_state=0)
    with pytest.raises(ValueError, match="not in class_weight"):
        clone(forest).fit(X, y)
    model = EncodedTargetClassifier(make_pipeline(StandardScaler(), forest)).fit(X, y)
    assert model.classes_.tolist() == ["-1", "1"] and set(model.predict(X)) <= {"-1", "1"}
    assert model.estimator_.classes_.tolist() == [0, 1] and model.predict_proba(X).shape == (40, 2)
    again = clone(model)
    assert again.get_params()["estimator"].steps[-1][1].class_weight == "balanced"
    assert (again.fit(X, y).predict(X) == model.predict(X)).all()


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(LABELS))
def test_every_classifier_fits_any_labels_and_outputs_them(dataset_path, tmp_path, kind, capsys):
    """A tiny real search over every built-in classifier (each tried at its defaults, then
    sampled): no trial fails, and the leaderboard, report, model card, saved model and
    ``abauto predict`` show the labels of the file."""
    data, labels = _table(dataset_path, tmp_path, kind)
    classifiers = [p.name for p in load_registry().of_kind(Kind.CLASSIFIER)]
    settings = SearchSettings(trials=2 * len(classifiers), outer="kfold:2", inner_folds=2, plugins=classifiers)
    run = tmp_path / "run"
    result = abauto.search(data, settings, run_dir=run)
    board = result.leaderboard
    assert board["failures"] == [] and board["trials"]["failed"] == 0
    scored = {e["family"] for e in board["entries"] if e["outer_mean"] is not None}
    assert scored - {ENSEMBLE} == set(classifiers)  # plus the ensemble row of the selected members
    assert board["best"]["confusion"]["labels"] == labels and list(board["best"]["per_class"]) == labels
    assert list(board["dataset"]["classes"]) == labels
    report = (run / "report.txt").read_text()
    assert set(labels) <= {line.split()[0] for line in report.splitlines() if line.strip()}, report
    assert json.loads((run / "model-card.json").read_text())["classes"] == labels

    frame = pd.read_csv(data)
    card = json.loads((run / "model-card.json").read_text())  # the model's columns (constant pixels are dropped)
    X = frame[[f["name"] for f in card["features"]]].to_numpy(dtype=float)
    assert result.pipeline.classes_.tolist() == labels and set(result.pipeline.predict(X)) <= set(labels)
    model, _ = load_model(run)
    assert (model.predict(X) == result.pipeline.predict(X)).all()
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(run), str(data)])
    assert exc.value.code == 0
    predicted = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str)
    assert list(predicted.columns) == ["predicted", *(f"p_{label}" for label in labels)]
    assert set(predicted["predicted"]) <= set(labels)
    truth = frame["class"].astype(str).to_numpy()
    assert (predicted["predicted"].to_numpy() == truth).mean() > 0.8  # labels, not codes, line up
