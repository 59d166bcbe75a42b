"""Third-party plugin distributions: built from their own pyproject.toml, pip-installed, found
through the ``abauto`` entry-point group, listed with package and version; a broken one is
reported by package name and skipped while the command still succeeds."""

from __future__ import annotations

import json
import re

import pytest

from _install import normalize, pip_install_target, run_abauto, write_distribution

pytestmark = pytest.mark.slow  # pip-installs two distributions; each command is a subprocess

GOOD = "abauto-tp-good"
BROKEN = "abauto-tp-broken"

GOOD_MODULE = '''
"""A third-party classifier plugin: ridge classification."""
from sklearn.linear_model import RidgeClassifier

import abauto
from abauto import Kind, Plugin


def space(trial, ctx):
    return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}


@abauto.hookimpl
def register_classifiers(register):
    register(Plugin("tp_ridge", Kind.CLASSIFIER, lambda p, ctx: RidgeClassifier(**p), space,
                    "ridge classifier from a third-party package", has_predict_proba=False,
                    needs_scaling=True))
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding one good and one broken (ImportError) plugin distribution."""
    tmp = tmp_path_factory.mktemp("third_party")
    good = write_distribution(tmp / "good", GOOD, "1.2.3", "abauto_tp_good", GOOD_MODULE)
    broken = write_distribution(tmp / "broken", BROKEN, "0.0.1", "abauto_tp_broken",
                                "import abauto_no_such_module  # noqa: F401\n")
    target = tmp / "site"
    pip_install_target(target, good, broken)
    return target


ALL = {"ABAUTO_LOAD_PLUGINS": None}  # variable unset: every installed distribution loads


def plugins_json(site, **env):
    done = run_abauto(site, "plugins", "--json", env={**ALL, **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_good_plugin_is_listed_with_its_package_and_version(site):
    listing = plugins_json(site)
    rows = {r["name"]: r for r in listing["plugins"]}
    assert normalize(rows["tp_ridge"]["package"]) == GOOD
    assert rows["tp_ridge"]["version"] == "1.2.3"
    assert rows["tp_ridge"]["kind"] == "classifier"
    assert rows["tp_ridge"]["hyperparameters"] == ["alpha"]
    assert rows["svm"]["package"] == "abauto"  # built-ins still there


def test_a_broken_package_is_reported_by_name_and_skipped(site):
    listing = plugins_json(site)
    errors = [e for e in listing["errors"] if normalize(e["package"]) == BROKEN]
    assert len(errors) == 1 and "ModuleNotFoundError" in errors[0]["message"]
    assert "abauto_no_such_module" in errors[0]["message"]
    assert not any(normalize(r["package"]) == BROKEN for r in listing["plugins"])

    table = run_abauto(site, "plugins", env={**ALL, "COLUMNS": "400"})
    assert table.returncode == 0
    assert "tp_ridge" in table.stdout and "abauto_tp_broken" not in table.stdout
    # one line on stderr naming the package, the entry point and the import that failed
    lines = table.stderr.strip().splitlines()
    assert len(lines) == 1, table.stderr
    match = re.fullmatch(r"skipped plugin package '([^']+)': cannot load entry point 'plugins': "
                         r"ModuleNotFoundError: No module named 'abauto_no_such_module'", lines[0])
    assert match and normalize(match.group(1)) == BROKEN, lines[0]


def test_abauto_load_plugins_selects_distributions(site):
    only_good = plugins_json(site, ABAUTO_LOAD_PLUGINS=GOOD)
    assert only_good["errors"] == []
    assert "tp_ridge" in {r["name"] for r in only_good["plugins"]}
    none = plugins_json(site, ABAUTO_LOAD_PLUGINS="")
    assert "tp_ridge" not in {r["name"] for r in none["plugins"]}
    assert none["errors"] == []


def test_plugins_check_runs_the_contract_check_on_an_installed_plugin(site):
    done = run_abauto(site, "plugins", "--check", "tp_ridge", env={"ABAUTO_LOAD_PLUGINS": GOOD})
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "20 configurations fitted" in done.stdout
