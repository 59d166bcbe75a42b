"""Shared fixtures: the real datasets in ../shared (skipped with a clear message when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
ACOUSTICBRAINZ = SHARED / "acousticbrainz"


def shared_file(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is not here (tests with real data need the shared folder)")
    return path


@pytest.fixture
def dataset_path():
    """``dataset_path("wine")`` -> ../shared/datasets/wine.csv, or skip."""
    return lambda name: shared_file("datasets", f"{name}.csv")


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch):
    """Tests see abauto's built-ins plus whatever the test installs, unless it sets the variable."""
    monkeypatch.delenv("ABAUTO_DEBUG", raising=False)
