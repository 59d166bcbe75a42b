"""Helpers for tests that pip-install small plugin distributions and run the CLI against them.

Distributions go into a private ``--target`` folder under ``tmp_path`` that only the test's
subprocesses see (through ``PYTHONPATH``), so a test never changes site-packages under other
processes sharing this interpreter, and clean-up is deleting the folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
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


def run_abauto(target: Path, *args: str, cwd: Path | None = None, timeout: float = 600,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m abauto.cli ARGS`` seeing the distributions installed in ``target``."""
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "abauto.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=environ, timeout=timeout)


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form (setuptools versions spell them differently)."""
    return re.sub(r"[-_.]+", "-", name).lower()
