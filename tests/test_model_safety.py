"""``abauto predict`` refuses crafted model files before any of their code runs, and real models
of every classifier family (ensembles, categorical and missing-value pipelines, a third-party
plugin's estimator) still load and predict.

The crafted files (tests/crafted_models.py: ``CASES``, one test each) are a real saved pipeline
with one attack planted in its schema.json, or a pickle/joblib file or broken zip named .skops.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
import skops.io as sio

from abauto.cli import main
from abauto.data import load_dataset
from abauto.model import ModelError, load_model
from abauto.plugin import Kind
from abauto.registry import load_registry
from abauto.search_engine import features
from abauto.space import DataShape, PipelineSpace
from conftest import ROOT, shared_file
from crafted_models import CASES, Target, base_pipeline

VICTIM_TEXT = "a file the attack would truncate\n"


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    """(iris.csv, a real skops file of a fitted pipeline with nested steps and an ensemble)."""
    data = shared_file("datasets", "iris.csv")
    frame = pd.read_csv(data)
    model = tmp_path_factory.mktemp("base") / "base.skops"
    sio.dump(base_pipeline(frame.drop(columns="class"), frame["class"]), model)
    return data, model


@pytest.fixture
def crafted(iris, tmp_path):
    """build(case) -> (crafted file, target it would attack)."""
    def build(case):
        target = Target(tmp_path / "MARKER", tmp_path / "victim.txt")
        target.victim.write_text(VICTIM_TEXT)
        model = tmp_path / f"{case.id}.skops"
        case.build(iris[1], model, target)
        return model, target
    return build


def test_the_base_model_itself_loads_and_predicts(iris, tmp_path, capsys):
    data, model = iris
    out = tmp_path / "predictions.csv"
    code, _, err = run_cli(["predict", model, data, "-o", out], capsys)
    assert code == 0, err
    frame = pd.read_csv(out)
    assert (frame["predicted"] == pd.read_csv(data)["class"]).mean() > 0.9


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_crafted_model_is_refused_before_it_runs(case, crafted, iris, tmp_path, capsys):
    model, target = crafted(case)
    out = tmp_path / "predictions.csv"
    code, stdout, err = run_cli(["predict", model, iris[0], "-o", out], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("abauto: error: "), err
    assert str(model) in lines[0] and case.names in lines[0], lines[0]
    assert "Traceback" not in err and stdout == ""
    assert not target.marker.exists(), "the attack ran"
    assert target.victim.read_text() == VICTIM_TEXT, "the attack truncated a file"
    assert not out.exists()


@pytest.mark.parametrize("case", [c for c in CASES if c.parses], ids=[c.id for c in CASES if c.parses])
def test_crafted_model_is_a_well_formed_skops_file(case, crafted):
    """skops parses each planted attack (without constructing it): the refusal is abauto's check,
    not a broken file."""
    model, _ = crafted(case)
    assert case.names in sio.get_untrusted_types(file=model)


def test_modules_outside_trusted_packages_are_never_imported(crafted):
    case = next(c for c in CASES if c.id == "class_outside_trusted_packages")
    model, _ = crafted(case)
    before = "http.server" in sys.modules
    with pytest.raises(ModelError, match="http.server.HTTPServer"):
        load_model(model)
    assert ("http.server" in sys.modules) == before


FAMILIES = ["logreg", "svm", "knn", "gaussian_nb", "random_forest", "extra_trees", "hist_gb", "mlp",
            "bagging", "voting"]


@pytest.fixture(scope="module")
def penguins():
    """penguins.csv: categorical columns and missing values."""
    dataset = load_dataset(shared_file("datasets", "penguins.csv"))
    assert dataset.categorical and dataset.X.isna().to_numpy().any()
    return dataset


@pytest.mark.parametrize("family", FAMILIES)
def test_real_pipeline_of_each_family_loads_and_predicts_the_same(family, penguins, tmp_path):
    space = PipelineSpace(load_registry(), DataShape.of(penguins))
    assert family in [p.name for p in space.choices[Kind.CLASSIFIER]]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(space.first_params(family, n_rows=len(penguins.y)))
    steps = space.sample(study.ask(), n_rows=len(penguins.y))
    X = features(penguins)
    pipeline = space.build(steps, n_rows=len(penguins.y), probability=True).fit(X, penguins.y)
    path = tmp_path / "model.skops"
    sio.dump(pipeline, path)
    loaded, card = load_model(path)
    assert card is None
    assert (loaded.predict(X) == pipeline.predict(X)).all()
    if hasattr(pipeline, "predict_proba"):
        assert np.allclose(loaded.predict_proba(X), pipeline.predict_proba(X))


@pytest.mark.slow
def test_searched_ensemble_on_categorical_missing_data_predicts_through_the_cli(penguins, tmp_path, capsys):
    data = shared_file("datasets", "penguins.csv")
    run = tmp_path / "run"
    code, _, err = run_cli(["search", data, "--plugins", "voting,bagging,impute,onehot", "--trials", "2",
                            "--outer", "kfold:2", "--inner-folds", "2", "--quiet", "--out", run], capsys)
    assert code == 0, err
    assert json.loads((run / "model-card.json").read_text())["pipeline"][-1]["plugin"] in ("voting", "bagging")
    out = tmp_path / "predictions.csv"
    code, _, err = run_cli(["predict", run, data, "-o", out], capsys)
    assert code == 0, err
    frame = pd.read_csv(out)
    assert len(frame) == len(penguins.y) and (frame["predicted"] == penguins.y).mean() > 0.8


@pytest.mark.slow
def test_third_party_plugin_model_loads(tmp_path):
    """The LightGBM example plugin: its models hold lightgbm types, trusted because the plugin
    builds LightGBM estimators (not only its own module abauto_lightgbm)."""
    import importlib.util
    import shutil
    import tomllib

    from _install import pip_install_target, run_abauto

    if importlib.util.find_spec("lightgbm") is None:
        pytest.skip("lightgbm is not installed (tests/test_example_plugin.py installs it from PyPI)")
    data = shared_file("datasets", "wine.csv")
    source = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "abauto-plugin-example", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    site = tmp_path / "site"
    pip_install_target(site, source)
    # the suite runs with third-party plugins off (conftest): load this one
    load = {"ABAUTO_LOAD_PLUGINS": tomllib.loads((source / "pyproject.toml").read_text())["project"]["name"]}
    run = tmp_path / "run"
    done = run_abauto(site, "search", str(data), "--plugins", "lightgbm", "--trials", "2", "--outer", "kfold:2",
                      "--inner-folds", "2", "--quiet", "--out", str(run), cwd=tmp_path,
                      env={"OMP_NUM_THREADS": "1", **load})
    assert done.returncode == 0, done.stderr
    assert "lightgbm.basic.Booster" in sio.get_untrusted_types(file=run / "best_pipeline.skops")
    out = tmp_path / "predictions.csv"
    done = run_abauto(site, "predict", str(run), str(data), "-o", str(out), cwd=tmp_path, env=load)
    assert done.returncode == 0, done.stderr
    assert (pd.read_csv(out)["predicted"] == pd.read_csv(data)["class"]).mean() > 0.9
