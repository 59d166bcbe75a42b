"""End to end on the real soundtracks set (Essentia "music 2.0" documents, grouped by track):
gaia's SVM config with a grid shrunk on the command line, abauto's default config, convert,
and predictions in AcousticBrainz's high-level format."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from abauto.cli import _load_inputs
from abauto_plugins.acousticbrainz.highlevel import check_highlevel

TINY = ["--trials", "2", "--outer", "kfold:3", "--inner-folds", "3", "--quiet"]
MARGIN = 0.15  # what a search must add to the best trivial model's outer score


def run(abauto_run, argv: list) -> None:
    assert abauto_run(*argv) == 0, argv


def trivial_scores(run_dir) -> dict[str, float]:
    """Mean outer score of sklearn's trivial classifiers (most frequent class, draws from the
    class priors, uniform draws) on the run's own outer folds, with the run's metric. The folds
    are recomputed from run.json and checked against the leaderboard's folds_sha256."""
    import numpy as np
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import get_scorer

    from abauto.folds import folds_fingerprint, outer_splits
    from abauto.settings import SearchSettings

    board = json.loads((run_dir / "leaderboard.json").read_text())
    meta = json.loads((run_dir / "run.json").read_text())
    dataset = _load_inputs(meta["inputs"])
    jobs, _ = outer_splits(dataset, SearchSettings(**meta["settings"]))
    assert folds_fingerprint(jobs, dataset.y) == board["protocol"]["folds_sha256"]
    scorer, y = get_scorer(board["protocol"]["metric"]), dataset.y
    scores = {}
    for strategy, seeds in (("most_frequent", [0]), ("stratified", range(20)), ("uniform", range(20))):
        per_fold = []
        for job in jobs[:-1]:  # the last job is the final study: no test part
            X_train, X_test = np.zeros((len(job.train), 1)), np.zeros((len(job.test), 1))
            per_fold.append(np.mean([scorer(DummyClassifier(strategy=strategy, random_state=s).fit(X_train, y[job.train]),
                                            X_test, y[job.test]) for s in seeds]))
        scores[strategy] = float(np.mean(per_fold))
    return scores


@pytest.fixture(scope="module")
def gaia_run(soundtracks, repo_root, abauto_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("gaia") / "run"
    run(abauto_run, ["search", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
                     "--join", soundtracks / "tracks.csv", "--groups", "track",
                     "--config", repo_root / "configs" / "gaia-svm.yaml",
                     "--select", "lowlevel.mfcc*,lowlevel.spectral_centroid*,tonal.chords_*",
                     "--grid", "preset=mfcc,normalized", "--grid", "svm.kernel=rbf", "--grid", "svm.C=8",
                     "--grid", "svm.gamma=0.5", "--grid", "svm.class_weight=balanced", *TINY, "--out", out])
    return out


@pytest.mark.slow
def test_gaia_config_with_a_shrunk_grid_and_grouped_folds(gaia_run):
    board = json.loads((gaia_run / "leaderboard.json").read_text())
    assert board["protocol"]["metric"] == "accuracy"
    final = json.dumps(board["final"])
    assert "minmax" in final and "svm" in final and ("mfcc" in final or "normalized" in final)
    trivial = trivial_scores(gaia_run)
    assert board["best"]["outer_mean"] > max(trivial.values()) + MARGIN, (board["best"]["outer_mean"], trivial)
    card = json.loads((gaia_run / "model-card.json").read_text())
    assert card["target"] == "soundtrack" and "track" not in [f["name"] for f in card["features"]]


@pytest.mark.slow
def test_predict_in_acousticbrainz_format(gaia_run, soundtracks, abauto_run, tmp_path):
    out = tmp_path / "highlevel"
    run(abauto_run, ["predict", gaia_run, soundtracks / "lowlevel", "--format", "acousticbrainz", "-o", out])
    files = sorted(out.glob("*.json"))
    assert len(files) == 260
    for path in files[:40]:
        doc = json.loads(path.read_text())
        assert check_highlevel(doc) == [], path.name
        entry = doc["highlevel"]["soundtrack"]
        assert set(entry["all"]) == {"drascula", "hyperrogue", "nexuiz", "planetblupi", "singularity", "ufoai",
                                     "warzone2100", "wesnoth"}
        assert doc["metadata"]["version"]["lowlevel"]["extractor"] == "music 2.0"
        assert doc["metadata"]["tags"]["file_name"] == path.stem + ".wav"


@pytest.mark.slow
def test_default_config_end_to_end(soundtracks, repo_root, abauto_run, tmp_path):
    out = tmp_path / "run"
    run(abauto_run, ["search", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
                     "--join", soundtracks / "tracks.csv", "--groups", "track",
                     "--config", repo_root / "configs" / "default.yaml",
                     "--select", "lowlevel.mfcc.mean,lowlevel.spectral_*.mean,tonal.key_edma.*",
                     "--plugins", "logreg,gaussian_nb", *TINY, "--out", out])
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["protocol"]["metric"] == "balanced_accuracy"
    trivial = trivial_scores(out)
    assert board["best"]["outer_mean"] > max(trivial.values()) + MARGIN, (board["best"]["outer_mean"], trivial)


def test_convert_writes_a_reusable_table(soundtracks, abauto_run, tmp_path):
    out = tmp_path / "features.parquet"
    run(abauto_run, ["convert", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
         "--join", soundtracks / "tracks.csv", "--select", "lowlevel.mfcc.mean", "-o", out])
    frame = pd.read_parquet(out)
    assert list(frame.columns[:2]) == ["id", "lowlevel.mfcc.mean.0"] and frame.columns[-1] == "soundtrack"
    assert "track" in frame.columns and len(frame) == 260
    assert not list(tmp_path.glob(".*.tmp"))


def test_lowlevel_options_on_a_table_and_bad_grid(tmp_path, cli):
    table = tmp_path / "t.csv"
    table.write_text("a,b,class\n" + "\n".join(f"{i},{i % 3},{'xy'[i % 2]}" for i in range(20)))
    code, _, err = cli("search", table, "--groundtruth", table, "--quiet")
    assert code == 2 and "low-level JSON input only" in err
    code, _, err = cli("search", table, "--grid", "svm.C", "--quiet")
    assert code == 2 and "PARAMETER=V1,V2" in err


@pytest.mark.slow
def test_gaia_results_page(gaia_run, abauto_run, tmp_path):
    out = tmp_path / "soundtrack.results.html"
    run(abauto_run, ["gaia-results", gaia_run, "-o", out])
    page = out.read_text()
    board = json.loads((gaia_run / "leaderboard.json").read_text())
    m = board["best"]["confusion"]["matrix"]
    accuracy = 100 * sum(m[i][i] for i in range(len(m))) / sum(map(sum, m))
    assert "<h1>soundtrack</h1>" in page and f"Accuracy: {accuracy:.2f} %" in page
    assert "Normalized accuracy:" in page and "Proportion" in page
    row0 = board["best"]["confusion"]["labels"][0]
    assert f"{m[0][0]} {row0} (out of {sum(m[0])}) classified as {row0}" in page
