"""register_loaders, register_predict_formats and register_commands: registered with their
package, validated, never raising; load_dataset picks the loader that claims a path and
checks the options it was given; abauto's own commands join through the same hook."""

from __future__ import annotations

import types

import pandas as pd
import pytest
import typer

import abauto
from abauto.cli import CORE_COMMANDS
from abauto.data import load_dataset
from abauto.errors import DataError
from abauto.extensions import NOT_FEATURES, Loader, PredictFormat
from abauto.registry import load_registry
from abauto.testing import PluginCheckError, check_loader


def _read_pairs(path, groundtruth=None):
    """A made-up format: 'key value' lines; the label comes from a ground-truth file of
    'key label' lines; the 'song' column may serve as --groups but is never a feature."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if groundtruth is None:
        raise DataError(f"{path}: needs --groundtruth")
    labels = dict(line.split() for line in open(groundtruth) if line.strip())
    frame = pd.DataFrame({"value": [float(v) for _, v in rows], "song": [k[0] for k, _ in rows],
                          "label": [labels[k] for k, _ in rows]})
    frame.attrs[NOT_FEATURES] = ["song"]
    return frame


PAIRS = Loader("pairs", lambda p: p.suffix == ".pairs", _read_pairs, ("groundtruth",), "pairs")


def _module(**hooks):
    module = types.ModuleType("extension_plugin")
    for name, fn in hooks.items():
        setattr(module, name, abauto.hookimpl(fn))
    return module


@pytest.fixture
def pairs_registry():
    def register_loaders(register):
        register(PAIRS)
        register(Loader("pairs", lambda p: False, _read_pairs))  # duplicate name: skipped
        register("not a loader")
    return load_registry(extra=[_module(register_loaders=register_loaders)], entry_points=False)


@pytest.fixture
def pairs_file(tmp_path):
    data, gt = tmp_path / "x.pairs", tmp_path / "gt.txt"
    data.write_text("".join(f"{k}{i} {i * 1.5}\n" for i in range(8) for k in "ab"))
    gt.write_text("".join(f"{k}{i} {'yes' if i % 2 else 'no'}\n" for i in range(8) for k in "ab"))
    return data, gt


def test_loaders_are_recorded_with_their_package_and_problems_are_errors(pairs_registry):
    assert list(pairs_registry.loaders) == ["pairs"]
    assert pairs_registry.loaders["pairs"].package == "<extra>"
    messages = [e.message for e in pairs_registry.errors]
    assert any("duplicate name 'pairs'" in m for m in messages)
    assert any("not an abauto.extensions.Loader" in m for m in messages)


def test_load_dataset_uses_the_loader_that_claims_the_path(pairs_registry, pairs_file):
    data, gt = pairs_file
    ds = load_dataset(data, registry=pairs_registry, groundtruth=str(gt))
    assert list(ds.X.columns) == ["value"] and ds.target == "label" and len(ds.y) == 16
    grouped = load_dataset(data, registry=pairs_registry, groups="song", groundtruth=str(gt))
    assert list(grouped.X.columns) == ["value"] and set(grouped.groups) == {"a", "b"}


def test_options_are_checked_against_the_chosen_loader(pairs_registry, pairs_file, tmp_path):
    data, gt = pairs_file
    with pytest.raises(DataError, match=r"option --join does not apply to pairs input \(it takes: --groundtruth\)"):
        load_dataset(data, registry=pairs_registry, groundtruth=str(gt), join="tracks.csv")
    table = tmp_path / "t.csv"
    table.write_text("a,class\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(8)))
    with pytest.raises(DataError, match="options --groundtruth apply to pairs input only"):
        load_dataset(table, registry=pairs_registry, groundtruth=str(gt))
    assert len(load_dataset(table, registry=pairs_registry, groundtruth=None, select=[]).y) == 8  # not given


def test_predict_formats_are_validated():
    def register_predict_formats(register):
        register(PredictFormat("jsonl", lambda models, data, output, n_jobs: None, "one JSON line per row"))
        register(PredictFormat("csv", lambda models, data, output, n_jobs: None))
    registry = load_registry(extra=[_module(register_predict_formats=register_predict_formats)], entry_points=False)
    assert list(registry.predict_formats) == ["jsonl"]
    assert any("not be 'csv'" in e.message for e in registry.errors)


def test_commands_join_through_the_hook_and_clashes_are_refused():
    def hello() -> None:
        """Say hello."""

    def register_commands(cli):
        cli.command()(hello)
        cli.command("search")(hello)  # taken by the core: removed again

    def broken(cli):
        cli.command("half")(hello)
        raise RuntimeError("boom")

    registry = load_registry(extra=[_module(register_commands=register_commands), types.SimpleNamespace(
        register_commands=abauto.hookimpl(broken), __name__="broken")], entry_points=False)
    app = typer.Typer()
    app.registered_commands.extend(CORE_COMMANDS)
    registry.add_commands(app)
    assert registry.commands["hello"].package == "<extra>" and "half" not in registry.commands
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert names.count("search") == 1 and "hello" in names and "half" not in names
    messages = [e.message for e in registry.errors]
    assert any("command 'search' already exists" in m for m in messages)
    assert any("register_commands raised RuntimeError: boom" in m for m in messages)


def test_abauto_own_commands_and_the_acousticbrainz_plugin_come_through_the_hooks():
    registry = load_registry()
    app = typer.Typer()
    app.registered_commands.extend(CORE_COMMANDS)
    registry.add_commands(app)
    assert {"leaderboard", "report", "profile", "convert", "extract", "gaia-results"} <= set(registry.commands)
    assert registry.commands["leaderboard"].package == "abauto"
    assert "acousticbrainz" in registry.loaders and "acousticbrainz" in registry.predict_formats
    assert check_loader(registry.loaders["acousticbrainz"].item).startswith("claims an empty folder")


def test_check_loader_names_the_fault():
    greedy = Loader("greedy", lambda p: True, _read_pairs)
    with pytest.raises(PluginCheckError, match="greedy: claims a plain CSV table"):
        check_loader(greedy)
    raising = Loader("raising", lambda p: p.stat().st_size > 0, _read_pairs)
    with pytest.raises(PluginCheckError, match="raising: claims\\(\\) raised FileNotFoundError on a missing path"):
        check_loader(raising)
    sloppy = Loader("sloppy", lambda p: p.suffix == ".pairs", lambda path: open(path))
    with pytest.raises(PluginCheckError, match="sloppy: load\\(\\) on a missing path raised FileNotFoundError"):
        check_loader(sloppy)
    assert check_loader(PAIRS).startswith("claims none of the probes")
