"""End to end on the real soundtracks set (Essentia "music 2.0" documents, grouped by track):
gaia's SVM config with a grid shrunk on the command line, abauto's default config, convert,
and predictions in AcousticBrainz's high-level format."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from abauto.cli import main
from abauto_plugins.acousticbrainz.highlevel import check_highlevel
from conftest import ROOT, shared_file

pytestmark = pytest.mark.slow
TINY = ["--trials", "2", "--outer", "kfold:3", "--inner-folds", "3", "--quiet"]


def run(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code == 0, argv


@pytest.fixture(scope="module")
def soundtracks():
    return shared_file("acousticbrainz", "soundtracks")


@pytest.fixture(scope="module")
def gaia_run(soundtracks, tmp_path_factory):
    out = tmp_path_factory.mktemp("gaia") / "run"
    run(["search", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
         "--join", soundtracks / "tracks.csv", "--groups", "track", "--config", ROOT / "configs" / "gaia-svm.yaml",
         "--select", "lowlevel.mfcc*,lowlevel.spectral_centroid*,tonal.chords_*",
         "--grid", "preset=mfcc,normalized", "--grid", "svm.kernel=rbf", "--grid", "svm.C=8",
         "--grid", "svm.gamma=0.5", "--grid", "svm.class_weight=balanced", *TINY, "--out", out])
    return out


def test_gaia_config_with_a_shrunk_grid_and_grouped_folds(gaia_run):
    board = json.loads((gaia_run / "leaderboard.json").read_text())
    assert board["protocol"]["metric"] == "accuracy"
    final = json.dumps(board["final"])
    assert "minmax" in final and "svm" in final and ("mfcc" in final or "normalized" in final)
    assert board["best"]["outer_mean"] > 1 / 8  # better than chance on 8 soundtracks
    card = json.loads((gaia_run / "model-card.json").read_text())
    assert card["target"] == "soundtrack" and "track" not in [f["name"] for f in card["features"]]


def test_predict_in_acousticbrainz_format(gaia_run, soundtracks, tmp_path):
    out = tmp_path / "highlevel"
    run(["predict", gaia_run, soundtracks / "lowlevel", "--format", "acousticbrainz", "-o", out])
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


def test_default_config_end_to_end(soundtracks, tmp_path):
    out = tmp_path / "run"
    run(["search", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
         "--join", soundtracks / "tracks.csv", "--groups", "track", "--config", ROOT / "configs" / "default.yaml",
         "--select", "lowlevel.mfcc.mean,lowlevel.spectral_*.mean,tonal.key_edma.*", "--plugins", "logreg,gaussian_nb",
         *TINY, "--out", out])
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["protocol"]["metric"] == "balanced_accuracy"
    assert board["best"]["outer_mean"] > 1 / 8


def test_convert_writes_a_reusable_table(soundtracks, tmp_path):
    out = tmp_path / "features.parquet"
    run(["convert", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
         "--join", soundtracks / "tracks.csv", "--select", "lowlevel.mfcc.mean", "-o", out])
    frame = pd.read_parquet(out)
    assert list(frame.columns[:2]) == ["id", "lowlevel.mfcc.mean.0"] and frame.columns[-1] == "soundtrack"
    assert "track" in frame.columns and len(frame) == 260
    assert not list(tmp_path.glob(".*.tmp"))


def test_lowlevel_options_on_a_table_and_bad_grid(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("a,b,class\n" + "\n".join(f"{i},{i % 3},{'xy'[i % 2]}" for i in range(20)))
    with pytest.raises(SystemExit) as exc:
        main(["search", str(table), "--groundtruth", str(table), "--quiet"])
    assert exc.value.code == 2 and "low-level JSON input only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["search", str(table), "--grid", "svm.C", "--quiet"])
    assert exc.value.code == 2 and "PARAMETER=V1,V2" in capsys.readouterr().err


def test_gaia_results_page(gaia_run, tmp_path):
    out = tmp_path / "soundtrack.results.html"
    run(["gaia-results", gaia_run, "-o", out])
    page = out.read_text()
    board = json.loads((gaia_run / "leaderboard.json").read_text())
    m = board["best"]["confusion"]["matrix"]
    accuracy = 100 * sum(m[i][i] for i in range(len(m))) / sum(map(sum, m))
    assert "<h1>soundtrack</h1>" in page and f"Accuracy: {accuracy:.2f} %" in page
    assert "Normalized accuracy:" in page and "Proportion" in page
    row0 = board["best"]["confusion"]["labels"][0]
    assert f"{m[0][0]} {row0} (out of {sum(m[0])}) classified as {row0}" in page
