"""The plugin authoring example (examples/abauto-plugin-example) installs, shows up in
``abauto plugins``, runs a real search end to end, and its own tests pass.

Everything is installed into a temporary virtual environment (tests/_install.py ``make_venv``)
whose python runs the commands, never into the interpreter running the tests. The example's
dependency lightgbm is not abauto's: when the running interpreter lacks it, it is pip-installed
from PyPI into that environment, and the tests skip (saying so) when that is impossible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from _install import make_venv, normalize, run_abauto, venv_install, venv_pip

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "abauto-plugin-example"
PROJECT = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
pytestmark = pytest.mark.slow  # a virtual environment, a pip install, a search with lightgbm
LOAD = {"ABAUTO_LOAD_PLUGINS": PROJECT["name"]}  # the suite runs with third-party plugins off


def _ensure_dependencies(python: Path) -> None:
    """pip-install the example's dependencies (except abauto itself) into the environment of
    ``python`` if it cannot import them."""
    wanted = [d for d in PROJECT["dependencies"] if not d.startswith("abauto")]
    modules = [d.split(">")[0].split("=")[0].strip() for d in wanted]
    probe = subprocess.run([str(python), "-c", f"import {', '.join(modules)}"], capture_output=True, text=True)
    if probe.returncode != 0:
        done = venv_pip(python, "install", *wanted)
        if done.returncode != 0:
            pytest.skip(f"the example's dependencies {wanted} cannot be installed from PyPI: "
                        f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    probe = subprocess.run([str(python), "-c", "import lightgbm"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"lightgbm cannot be imported: {probe.stderr.strip().splitlines()[-1]}")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """(python of a virtual environment with the example installed, copy of the example's sources)."""
    tmp = tmp_path_factory.mktemp("example")
    python = make_venv(tmp / "venv")
    _ensure_dependencies(python)
    source = tmp / "abauto-plugin-example"  # build from a copy: pip writes build/ and *.egg-info
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__",
                                                                     ".pytest_cache"))
    venv_install(python, source)
    return python, source


def test_the_running_interpreter_does_not_see_the_example(example):
    from importlib import metadata

    assert PROJECT["name"] not in {normalize(d.metadata["Name"]) for d in metadata.distributions()}


def test_example_is_listed_with_its_package_and_version(example):
    python, _ = example
    done = run_abauto(None, "plugins", "--json", python=python, env=LOAD)
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)["plugins"]}
    assert normalize(rows["lightgbm"]["package"]) == PROJECT["name"]
    assert rows["lightgbm"]["version"] == PROJECT["version"]
    assert rows["lightgbm"]["kind"] == "classifier"
    table = run_abauto(None, "plugins", python=python, env=LOAD)
    assert table.returncode == 0 and "lightgbm" in table.stdout


def test_example_runs_a_search_end_to_end(example, dataset_path, tmp_path):
    python, _ = example
    out = tmp_path / "run"
    done = run_abauto(None, "search", str(dataset_path("wine")), "--plugins", "lightgbm", "--trials", "3",
                      "--outer", "kfold:3", "--inner-folds", "3", "--out", str(out), "--quiet",
                      cwd=tmp_path, env={**LOAD, "OMP_NUM_THREADS": "1"}, python=python)
    assert done.returncode == 0, done.stderr
    board = json.loads((out / "leaderboard.json").read_text())
    assert {e["family"] for e in board["entries"]} - {"ensemble"} == {"lightgbm"}  # and the ensemble of its trials
    assert board["best"]["outer_mean"] > 0.8
    assert board["final"] is not None


def test_examples_own_tests_pass(example):
    python, source = example
    env = {**os.environ, **LOAD}
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")],
                          capture_output=True, text=True, cwd=source, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
