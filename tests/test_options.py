"""Every unusable search setting is refused before any work: one line naming the option (or the
config file and key) and the accepted values, exit 2, no run folder. An OSError of the user's
machine is one line naming the path, exit 2; a ValueError from a bug in abauto is an internal
error, exit 1."""

from __future__ import annotations

import time

import pytest

import abauto
from abauto.cli import main
from abauto.errors import SettingsError
from abauto.isolation import parse_size
from abauto.settings import SearchSettings

DATA = "a,b,class\n" + "".join(f"{i},{(i * 7) % 5},{'xy'[i % 2]}\n" for i in range(30))


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(DATA)
    return path


def assert_refused(code: int, err: str, words: list[str], out_dir) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("abauto: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in err
    assert not out_dir.exists(), "a refused search must not write a run folder"


# (options, words the one-line error must contain)
INVALID = [
    (["--trials", "0"], ["--trials 0", ">= 1"]),
    (["--trials", "-3"], ["--trials -3"]),
    (["--timeout", "0"], ["--timeout 0", "> 0"]),
    (["--timeout", "-5"], ["--timeout -5"]),
    (["--timeout", "nan"], ["--timeout nan"]),
    (["--timeout", "inf"], ["--timeout inf"]),
    (["--trial-timeout", "-1"], ["--trial-timeout -1", "> 0"]),
    (["--memory-limit", "lots"], ["--memory-limit 'lots'", "4G"]),
    (["--memory-limit", "0"], ["--memory-limit '0'"]),
    (["--memory-limit", "-2G"], ["--memory-limit '-2G'"]),
    (["--n-jobs", "0"], ["--n-jobs 0", "-1"]),
    (["--n-jobs", "-2"], ["--n-jobs -2"]),
    (["--inner-folds", "1"], ["--inner-folds 1", ">= 2"]),
    (["--outer", "kfold:1"], ["--outer 'kfold:1'", "kfold:K"]),
    (["--outer", "holdout:1.5"], ["--outer 'holdout:1.5'", "holdout:FRACTION"]),
    (["--outer", "banana"], ["--outer 'banana'"]),
    (["--metric", "nonsense"], ["--metric 'nonsense'", "scorer"]),
    (["--sampler", "annealing"], ["--sampler 'annealing'", "tpe or random or grid"]),
    (["--sampler", "grid"], ["--sampler 'grid'", "needs a grid"]),
    (["--grid", "svm.C=1,2"], ["--grid", "grid sampler"]),
    (["--plugins", "nosuch"], ["--plugins", "'nosuch'", "known:", "gaussian_nb"]),
    (["--exclude", "logreg,nosuch"], ["--exclude", "'nosuch'", "known:"]),
]


@pytest.mark.parametrize("options,words", INVALID, ids=[" ".join(o) for o, _ in INVALID])
def test_invalid_option_is_refused_before_any_work(data, tmp_path, capsys, options, words):
    out = tmp_path / "run"
    t0 = time.perf_counter()
    code, _, err = run_cli(["search", data, *options, "--out", out, "--quiet"], capsys)
    assert_refused(code, err, words, out)
    assert time.perf_counter() - t0 < 20, "the error must come before any search"


# (config file text, extra options, words the one-line error must contain)
CONFIGS = [
    ("trials: 0\n", [], ["trials 0", ">= 1"]),
    ("trials: '10'\n", [], ["trials '10'", "integer"]),
    ("timeout: -1\n", [], ["timeout -1"]),
    ("memory_limit: lots\n", [], ["memory_limit 'lots'"]),
    ("n_jobs: 0\n", [], ["n_jobs 0"]),
    ("outer: 5\n", [], ["outer 5"]),
    ("prune: maybe\n", [], ["prune 'maybe'", "true or false"]),
    ("fixed: {scalar: minmax}\n", [], ["fixed", "slots:", "scaler"]),
    ("fixed: {scaler: nosuch}\n", [], ["fixed scaler", "'nosuch'", "minmax"]),
    ("plugins: null\n", [], ["plugins None", "list of plugin names"]),
    ("sampler: grid\ngrid: {svm.C: []}\n", [], ["grid", "non-empty list"]),
    ("grid: {svm.C: [1, 2]}\n", [], ["grid", "grid sampler"]),
]


@pytest.mark.parametrize("text,options,words", CONFIGS, ids=[t.strip() for t, _, _ in CONFIGS])
def test_invalid_config_value_is_refused(data, tmp_path, capsys, text, options, words):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    out = tmp_path / "run"
    code, _, err = run_cli(["search", data, "--config", config, *options, "--out", out, "--quiet"], capsys)
    assert_refused(code, err, words, out)
    if "fixed scaler" not in words[0] and "grid sampler" not in words[-1]:
        assert str(config) in err  # a value of the file: the message names the file


def test_command_line_completes_a_config(data, tmp_path):
    """A config's grid with the grid sampler given on the command line is one valid search."""
    from abauto.cli import _settings

    config = tmp_path / "c.yaml"
    config.write_text("grid: {gaussian_nb.var_smoothing: [1.0e-9]}\n")
    settings = _settings(config, sampler="grid")
    assert settings.sampler == "grid" and settings.grid == {"gaussian_nb.var_smoothing": [1.0e-9]}


def test_api_validates_before_writing(data, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(SettingsError, match=r"--n-jobs 0"):
        abauto.search(data, SearchSettings(n_jobs=0), run_dir=out)
    with pytest.raises(SettingsError, match=r"--plugins: unknown plugin 'nosuch' \(known: .*gaussian_nb"):
        abauto.search(data, SearchSettings(plugins=["nosuch"]), run_dir=out)
    assert not out.exists()
    assert SearchSettings(n_jobs=-1, timeout=30, memory_limit="512M").validate().n_jobs == -1


@pytest.mark.parametrize("text,size", [("2G", 2 * 2**30), ("512M", 512 * 2**20), ("1.5GB", int(1.5 * 2**30)),
                                       ("1GiB", 2**30), (" 3k ", 3072), ("4096", 4096), (4096, 4096), (None, None)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "", "0", "-1G", "nan", "inf", "G", True, [1]])
def test_parse_size_refuses(text):
    with pytest.raises(SettingsError, match="--memory-limit"):
        parse_size(text)


def test_environment_oserror_is_one_line_naming_the_path(data, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out in (blocker / "run", tmp_path / ("x" * 300)):  # not a directory; file name too long
        code, _, err = run_cli(["search", data, "--trials", "1", "--out", out, "--quiet"], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("abauto: error: "), err
        assert str(out) in lines[0] and "internal error" not in err


def test_our_valueerror_is_an_internal_error(capsys, monkeypatch):
    """A ValueError that is no AbautoError is a bug of abauto: exit 1, not a user error."""
    def buggy(*args, **kwargs):
        raise ValueError("an unexpected value inside abauto")

    monkeypatch.setattr("abauto.cli.load_registry", buggy)
    code, _, err = run_cli(["plugins"], capsys)
    assert code == 1 and "internal error: ValueError: an unexpected value inside abauto" in err
