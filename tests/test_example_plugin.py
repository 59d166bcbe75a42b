"""The plugin authoring example (examples/abauto-plugin-example) installs, shows up in
``abauto plugins``, runs a real search end to end, and its own tests pass.

Its dependency lightgbm is not abauto's: it is pip-installed from PyPI when missing, and the
tests skip (saying so) when that is impossible.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from _install import normalize, pip, pip_install_target, run_abauto

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "abauto-plugin-example"
PROJECT = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]


def _ensure_dependencies() -> None:
    """pip-install the example's dependencies (except abauto itself) if they are missing."""
    wanted = [d for d in PROJECT["dependencies"] if not d.startswith("abauto")]
    missing = [d for d in wanted if importlib.util.find_spec(d.split(">")[0].split("=")[0].strip()) is None]
    if missing:
        done = pip("install", *missing)
        if done.returncode != 0:
            pytest.skip(f"the example's dependencies {missing} cannot be installed from PyPI: "
                        f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    probe = subprocess.run([sys.executable, "-c", "import lightgbm"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"lightgbm cannot be imported: {probe.stderr.strip().splitlines()[-1]}")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """(site folder with the example installed, copy of the example's sources)."""
    _ensure_dependencies()
    tmp = tmp_path_factory.mktemp("example")
    source = tmp / "abauto-plugin-example"  # build from a copy: pip writes build/ and *.egg-info
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__",
                                                                     ".pytest_cache"))
    site = tmp / "site"
    pip_install_target(site, source)
    return site, source


def test_example_is_listed_with_its_package_and_version(example):
    site, _ = example
    done = run_abauto(site, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)["plugins"]}
    assert normalize(rows["lightgbm"]["package"]) == PROJECT["name"]
    assert rows["lightgbm"]["version"] == PROJECT["version"]
    assert rows["lightgbm"]["kind"] == "classifier"
    table = run_abauto(site, "plugins")
    assert table.returncode == 0 and "lightgbm" in table.stdout


def test_example_runs_a_search_end_to_end(example, dataset_path, tmp_path):
    site, _ = example
    out = tmp_path / "run"
    done = run_abauto(site, "search", str(dataset_path("wine")), "--plugins", "lightgbm", "--trials", "3",
                      "--outer", "kfold:3", "--inner-folds", "3", "--out", str(out), "--quiet",
                      cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    board = json.loads((out / "leaderboard.json").read_text())
    assert [e["family"] for e in board["entries"]] == ["lightgbm"]
    assert board["best"]["outer_mean"] > 0.8
    assert board["final"] is not None


def test_examples_own_tests_pass(example):
    site, source = example
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")],
                          capture_output=True, text=True, cwd=source, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
