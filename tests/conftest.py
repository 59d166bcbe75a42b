"""Shared fixtures: the real datasets in ../shared (skipped with a clear message when absent), the
command line run in this process, one small finished search on wine, and a clean plugin
environment for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
ACOUSTICBRAINZ = SHARED / "acousticbrainz"

# The search behind the ``wine_run`` fixture: small, but every family gets trials in every study.
WINE_RUN = dict(trials=6, outer="kfold:3", inner_folds=3, plugins=["logreg", "gaussian_nb", "knn"], seed=0)


def shared_file(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is not here (tests with real data need the shared folder)")
    return path


def abauto_main(*argv) -> int:
    """``abauto ARGV`` in this process; the exit code (main() always exits)."""
    from abauto.cli import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def dataset_path():
    """``dataset_path("wine")`` -> ../shared/datasets/wine.csv, or skip."""
    return lambda name: shared_file("datasets", f"{name}.csv")


@pytest.fixture
def search_dataset(dataset_path, tmp_path):
    """``search_dataset("wine", **settings)`` -> the ``SearchResult`` of ``abauto.search`` on a
    shared dataset with ``SearchSettings(**settings)``, into ``tmp_path / "wine"``."""

    def run(name: str, **settings):
        import abauto
        from abauto.settings import SearchSettings

        return abauto.search(dataset_path(name), SearchSettings(**settings), run_dir=tmp_path / name)

    return run


@pytest.fixture(scope="session")
def soundtracks() -> Path:
    """The real AcousticBrainz soundtracks set (low-level JSON, groundtruth, tracks.csv), or skip."""
    return shared_file("acousticbrainz", "soundtracks")


@pytest.fixture(scope="session")
def abauto_run():
    """``abauto_run(*argv)`` -> exit code of ``abauto ARGV`` run in this process (output not captured)."""
    return abauto_main


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` -> (exit code, stdout, stderr) of ``abauto ARGV`` run in this process."""
    def run(*argv) -> tuple[int, str, str]:
        code = abauto_main(*argv)
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="session")
def wine_run(dataset_path, tmp_path_factory) -> Path:
    """The run folder of one finished search on wine.csv with ``WINE_RUN`` settings (run once)."""
    from abauto.search_engine import SearchSettings, search

    data = dataset_path("wine")
    run_dir = tmp_path_factory.mktemp("wine") / "run"
    search(data, SearchSettings(**WINE_RUN), run_dir=run_dir,
           command=f"abauto search {data.name} --trials {WINE_RUN['trials']} --outer {WINE_RUN['outer']}")
    return run_dir


@pytest.fixture(scope="session", autouse=True)
def _builtins_only_session():
    """Every test (and every session- or module-scoped fixture) sees exactly abauto's built-in
    plugins: ``ABAUTO_LOAD_PLUGINS`` empty means no third-party distribution loads, whatever is
    installed. A test that installs a plugin sets the variable to its distribution's name."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABAUTO_LOAD_PLUGINS", "")
        mp.delenv("ABAUTO_DEBUG", raising=False)
        yield


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch):
    """The same per test, so one test's changes to the variables never reach the next."""
    monkeypatch.setenv("ABAUTO_LOAD_PLUGINS", "")
    monkeypatch.delenv("ABAUTO_DEBUG", raising=False)

