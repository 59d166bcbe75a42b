"""How leaderboards and profiles are shown: one row model (fold coverage, metric columns, the
pipeline's folds), tables that fit the terminal without cutting names, rounded parameters."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from abauto import leaderboard as lb
from abauto.cli_render import leaderboard_table
from abauto.leaderboard_view import describe_pipeline, fmt_params, fmt_score, fmt_value, leaderboard_rows

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ROOT / "leaderboards"
# AcousticBrainz low-level descriptor names (as `abauto convert` writes them), long ones included
LONG_NAMES = ["lowlevel.barkbands.mean.3", "lowlevel.spectral_energyband_middle_high.dmean2",
              "lowlevel.mfcc.cov.12.11", "rhythm.beats_loudness_band_ratio.mean.5", "tonal.chords_histogram.23",
              "lowlevel.spectral_contrast_valleys.median.4"]


def committed(name: str) -> dict:
    path = BOARDS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"leaderboards/{name}.json is not committed")
    return lb.load(path)


def cli(*argv, columns: int) -> subprocess.CompletedProcess:
    """The installed command line in a terminal of ``columns`` columns."""
    env = {**os.environ, "COLUMNS": str(columns)}
    env.pop("LINES", None)
    proc = subprocess.run([sys.executable, "-m", "abauto.cli", *map(str, argv)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def tokens(text: str) -> set[str]:
    return set(re.findall(r"[^\s│┃|]+", text))


def assert_fits(text: str, columns: int) -> None:
    wide = [line for line in text.splitlines() if len(line.rstrip()) > columns]
    assert not wide, f"{len(wide)} lines wider than {columns}: {wide[0]!r}"
    assert "…" not in text


# ------------------------------------------------------------------ the row model

def with_missing_fold(board: dict, family: str, fold: int) -> dict:
    """``board`` as if ``family`` had not been sampled in outer fold ``fold``."""
    board = copy.deepcopy(board)
    e = next(e for e in board["entries"] if e["family"] == family)
    e["outer_scores"][fold] = None
    e["folds"][fold] = None
    for block in e["metrics"].values():
        block["folds"][fold] = None
    return lb.validate(board)


def test_coverage_and_pipeline_folds_on_a_real_leaderboard():
    board = committed("wine")
    K = board["protocol"]["outer_folds"]
    full = next(e for e in board["entries"] if all(s is not None for s in e["outer_scores"]))
    board = with_missing_fold(board, full["family"], 0)
    rows = {r.family: r for r in leaderboard_rows(board).families}
    for e in board["entries"]:
        scored = [i for i, s in enumerate(e["outer_scores"]) if s is not None]
        r = rows[e["family"]]
        assert r.coverage == f"{len(scored)}/{K}"
        # the pipeline shown is labelled with the folds it was really chosen in
        chosen = [f["fold"] for f in e["folds"] if f and describe_pipeline(f["pipeline"]) == r.pipeline]
        assert r.pipeline_folds == tuple(chosen) and chosen
        assert r.pipeline_text.endswith(f"({'fold' if len(chosen) == 1 else 'folds'} {', '.join(map(str, chosen))})")
    assert rows[full["family"]].coverage == f"{K - 1}/{K}"
    assert 0 not in rows[full["family"]].pipeline_folds

    table = list(csv.DictReader(io.StringIO(lb.to_csv(board))))
    assert list(table[0])[-1] == "folds"
    assert {r["family"]: r["folds"] for r in table} == {f: r.coverage for f, r in rows.items()}
    md = lb.to_markdown(board)
    assert "| rank | family | outer balanced_accuracy | folds | accuracy | f1_macro | inner mean |" in md
    assert f"| {full['family']} | " in md and f" | {K - 1}/{K} | " in md
    console = Console(width=160, record=True)
    console.print(leaderboard_table(board))
    line = next(x for x in console.export_text().splitlines() if f" {full['family']} " in x)
    assert f"{K - 1}/{K}" in line


def test_most_common_pipeline_wins_and_ties_go_to_the_first_fold():
    board = committed("wine")
    e = board["entries"][0]
    base = next(f for f in e["folds"] if f)
    a = [{"slot": "scaler", "plugin": "standard", "params": {}}, {"slot": "classifier", "plugin": e["family"], "params": {}}]
    b = a[1:]

    def pipelines(*chosen):
        e["folds"] = [None if p is None else dict(base, fold=i, pipeline=p) for i, p in enumerate(chosen)]
        return leaderboard_rows(board).families[0]

    r = pipelines(a, b, b)
    assert (r.pipeline, r.pipeline_folds, r.pipeline_text) == (e["family"], (1, 2), f"{e['family']} (folds 1, 2)")
    assert r.first_pipeline == f"standard > {e['family']}"  # CSV pipeline_fold0: the first fold it was chosen in
    r = pipelines(None, b, a)
    assert (r.pipeline, r.pipeline_folds, r.first_pipeline) == (e["family"], (1,), e["family"])


def test_csv_keeps_its_columns_and_adds_folds_last():
    board = committed("iris")
    header = lb.to_csv(board).splitlines()[0].split(",")
    assert header == ["rank", "family", "outer_balanced_accuracy_mean", "outer_balanced_accuracy_std",
                      "outer_accuracy_mean", "outer_f1_macro_mean", "inner_mean", "fit_seconds", "pipeline_fold0",
                      "folds"]


def test_one_formatter():
    assert fmt_score(0.98031, 0.014) == "0.9803 ± 0.0140"
    assert fmt_score(0.5) == "0.5000"
    assert fmt_score(None, 0.1) == fmt_score(float("nan")) == "-"
    assert fmt_value(0.31324364786640696) == "0.3132" and fmt_value(1.5985997439295928e-12) == "1.599e-12"
    assert fmt_value(191) == "191" and fmt_value(None) == "null" and fmt_value([29, 29]) == "[29, 29]"
    assert fmt_params({"max_missing": 0.31324364786640696, "strategy": "median"}) == "max_missing=0.3132, strategy=median"
    nested = {"members": {"svm": {"C": 172.39427202584284, "gamma": 3.5206747733837864}}}
    assert fmt_params(nested) == "members={svm: {C: 172.4, gamma: 3.521}}"


# ------------------------------------------------------------------ the chosen metric and the others

@pytest.fixture(scope="module")
def accuracy_run(tmp_path_factory):
    """A small real search optimising accuracy (iris, 2 outer folds, 3 trials per study)."""
    from tests.conftest import shared_file

    iris = shared_file("datasets", "iris.csv")
    out = tmp_path_factory.mktemp("acc") / "run"
    proc = cli("search", iris, "--metric", "accuracy", "--trials", "3", "--outer", "kfold:2", "--inner-folds", "2",
               "--plugins", "logreg,gaussian_nb,knn", "--out", out, columns=100)
    return out, proc.stdout


def test_metric_accuracy_still_shows_balanced_accuracy(accuracy_run):
    out, stdout = accuracy_run
    board = lb.load(out / "leaderboard.json")
    assert board["protocol"]["metric"] == "accuracy"
    rows = leaderboard_rows(board)
    assert rows.metric == "accuracy" and "balanced_accuracy" in rows.others
    # the search's own table (100 columns), the show command at 80 and 160, Markdown and CSV
    head = next(line for line in stdout.splitlines() if line.lstrip().startswith("rank"))
    assert "accuracy" in head and "balanced_accuracy" in head, stdout
    for columns in (80, 160):
        text = cli("leaderboard", "show", out, columns=columns).stdout
        assert "balanced_accuracy" in text
        best = board["best"]["metrics"]["balanced_accuracy"]["mean"]
        assert f"{best:.4f}" in text
    md = lb.to_markdown(board)
    assert "| rank | family | outer accuracy | folds | balanced_accuracy | f1_macro |" in md
    assert "outer_balanced_accuracy_mean" in lb.to_csv(board).splitlines()[0]


# ------------------------------------------------------------------ tables that fit the terminal

@pytest.mark.parametrize("columns", [80, 160])
def test_leaderboard_commands_never_cut_family_names(columns):
    files = sorted(BOARDS.glob("*.json"))
    if not files:
        pytest.skip("no committed leaderboards/*.json")
    wine = BOARDS / "wine.json" if (BOARDS / "wine.json").exists() else files[0]
    board = lb.load(wine)
    families = {e["family"] for e in board["entries"]}
    show = cli("leaderboard", "show", wine, columns=columns).stdout
    assert_fits(show.split("\nouter ")[0], columns)
    assert families <= tokens(show), families - tokens(show)
    assert "folds" in show
    if columns >= 160:
        assert "pipeline" in show
    diff = cli("leaderboard", "diff", wine, wine, columns=columns).stdout
    assert families <= tokens(diff), families - tokens(diff)
    assert_fits(diff, columns)
    compare = cli("leaderboard", "compare", *files, columns=columns).stdout
    every = {e["family"] for f in files for e in lb.load(f)["entries"]}
    assert every <= tokens(compare), every - tokens(compare)
    names = {lb.load(f)["dataset"]["name"] for f in files}
    assert names <= tokens(compare), names - tokens(compare)
    assert_fits(compare.split("\nFriedman")[0], columns)


def test_fitted_table_drops_the_pipeline_first():
    board = committed("wine")
    wide, narrow = Console(width=200, record=True), Console(width=80, record=True)
    wide.print(leaderboard_table(board))
    narrow.print(leaderboard_table(board))
    def header(text):
        return next(line for line in text.splitlines() if line.startswith("rank"))
    head = header(wide.export_text())
    assert "pipeline" in head and "fit s" in head
    text = narrow.export_text()
    assert "pipeline" not in header(text) and "folds" in header(text) and "balanced_accuracy" in header(text)
    assert all(len(line) <= 80 for line in text.splitlines())


@pytest.mark.parametrize("columns", [80, 160])
def test_profile_never_cuts_feature_names(columns, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, len(LONG_NAMES))), columns=LONG_NAMES)
    frame[LONG_NAMES[2]] = frame[LONG_NAMES[0]] * 2 + rng.normal(scale=0.1, size=60)  # a correlated pair
    frame["genre"] = ["ambient", "rock", "electronic"] * 20
    data = tmp_path / "ab.csv"
    frame.to_csv(data, index=False)
    out = cli("profile", data, "--target", "genre", columns=columns).stdout
    assert set(LONG_NAMES) <= tokens(out), set(LONG_NAMES) - tokens(out)
    assert_fits(out.split("\n", 1)[1], columns)
    pairs = out.split("Most correlated")[1]
    assert LONG_NAMES[0] in tokens(pairs) and LONG_NAMES[2] in tokens(pairs)


def test_profile_of_gtzan_keeps_every_name(dataset_path):
    gtzan = dataset_path("gtzan_30s")
    names = [c for c in pd.read_csv(gtzan, nrows=0).columns if c not in ("class", "filename")]
    for columns in (80, 160):
        out = cli("profile", gtzan, columns=columns).stdout
        assert set(names) <= tokens(out), set(names) - tokens(out)
        assert "…" not in out


def test_show_prints_the_final_model_with_rounded_parameters():
    board = committed("wine")
    out = cli("leaderboard", "show", BOARDS / "wine.json", columns=160).stdout
    final = " ".join(out.split()).split("final model: ")[1].split(" note: ")[0]
    for step in board["final"]["pipeline"]:
        assert step["plugin"] in final
        for v in step["params"].values():
            if isinstance(v, float):
                assert repr(v) not in final and fmt_value(v) in final
    assert json.loads(json.dumps(board)) == board  # the JSON keeps full precision
