"""Helpers for tests that pip-install small plugin distributions and run the CLI against them.

Nothing is ever installed into the interpreter running the tests. Distributions go either into a
private ``--target`` folder under ``tmp_path`` that only the test's subprocesses see (through
``PYTHONPATH``), or into a temporary virtual environment (:func:`make_venv`) whose own python
runs the commands; clean-up is deleting the folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _backend_builds_offline() -> bool:
    """Can the installed setuptools build a wheel without build isolation?"""
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def pip(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m pip ...`` with the running interpreter."""
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                          capture_output=True, text=True, timeout=timeout)


def pip_install_target(target: Path, *projects: Path) -> None:
    """Build and install project folders (no dependencies) into ``target``, or fail the test.

    Uses ``--no-build-isolation`` when the installed setuptools can build wheels by itself;
    otherwise pip fetches setuptools into an isolated build environment (from PyPI).
    """
    offline = ["--no-build-isolation"] if _backend_builds_offline() else []
    done = pip("install", "--no-deps", *offline, "--target", str(target), *map(str, projects))
    if done.returncode != 0:
        pytest.fail(f"pip install of {', '.join(p.name for p in projects)} failed:\n{done.stdout[-2000:]}\n"
                    f"{done.stderr[-3000:]}")


def make_venv(root: Path) -> Path:
    """A virtual environment in ``root`` that sees every package the running interpreter sees
    (abauto, its dependencies, pip, pytest) and installs into its own site-packages only; returns
    its python. ``--system-site-packages`` reaches the base interpreter's packages only, so when
    the tests run in a virtual environment its site folders are chained in by a .pth file."""
    done = subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"python -m venv {root} failed:\n{done.stderr[-2000:]}")
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    parents = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]
    (Path(purelib) / "_running_interpreter.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
    return python


def venv_pip(python: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``pip ARGS`` run by the virtual environment's python: installs go into that environment."""
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                           capture_output=True, text=True, timeout=timeout)


def venv_install(python: Path, *projects: Path) -> None:
    """Build and install project folders (no dependencies) into a virtual environment, or fail."""
    offline = ["--no-build-isolation"] if _backend_builds_offline() else []
    done = venv_pip(python, "install", "--no-deps", *offline, *map(str, projects))
    if done.returncode != 0:
        pytest.fail(f"pip install of {', '.join(p.name for p in projects)} failed:\n{done.stdout[-2000:]}\n"
                    f"{done.stderr[-3000:]}")


def run_abauto(target: Path | None, *args: str, cwd: Path | None = None, timeout: float = 600,
               env: dict | None = None, python: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m abauto.cli ARGS`` seeing the distributions installed in ``target`` (a
    ``--target`` folder), or run by ``python`` (a virtual environment's) with ``target`` None.

    ``env`` adds to (a value of None: removes from) the environment; the test suite runs with
    ``ABAUTO_LOAD_PLUGINS`` empty, so a test that wants its plugins loaded sets or removes it."""
    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    if target is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), environ.get("PYTHONPATH")]))
    return subprocess.run([str(python or sys.executable), "-m", "abauto.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=environ, timeout=timeout)


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form (setuptools versions spell them differently)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def write_distribution(root: Path, name: str, version: str, module: str, source: str) -> Path:
    """A one-module plugin distribution ``name`` in folder ``root``: its pyproject.toml declares
    ``module`` under the ``abauto`` entry-point group, as a third-party package does."""
    root.mkdir()
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "{version}"
        dependencies = ["abauto"]

        [project.entry-points.abauto]
        plugins = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        """))
    (root / f"{module}.py").write_text(source)
    return root
