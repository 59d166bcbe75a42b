"""Columns that must not become features by accident: ids, constants, single-column label leaks,
and the id/join roles that ``abauto convert`` records in a parquet file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from abauto.data import PARQUET_ROLES, dataset_from_frame, load_dataset, read_table
from abauto.leakage import LEAK_SCORE, inspect_columns, is_id_like, leak_scores

SEVEN = ("wine", "iris", "penguins", "breast_cancer", "credit_g", "digits", "gtzan_30s")


def _wine(dataset_path) -> pd.DataFrame:
    return pd.read_csv(dataset_path("wine"))


def _flagged(notes) -> list[str]:
    return [n for n in notes if "leak" in n or "id-like" in n]


def test_id_like_columns_are_dropped_and_noted(dataset_path, tmp_path):
    frame = _wine(dataset_path)
    rng = np.random.default_rng(0)
    frame.insert(0, "row", rng.permutation(len(frame)) + 1000)      # integers, a shuffled sequence
    frame.insert(1, "file", [f"track{i:04d}.ogg" for i in range(len(frame))])
    frame["noise"] = rng.normal(size=len(frame))                      # floats: all distinct, not an id
    frame["count"] = rng.choice(10**9, size=len(frame), replace=False)  # distinct integers, no sequence
    dataset = dataset_from_frame(frame, tmp_path / "wine.csv")
    assert "row" not in dataset.X.columns and "file" not in dataset.X.columns
    assert {"noise", "count"} <= set(dataset.X.columns)
    note = next(n for n in dataset.notes if "id-like" in n)
    assert "'row'" in note and "'file'" in note and "noise" not in note
    # a column the user names is the user's tool: no note, and --id keeps it beside the rows
    named = dataset_from_frame(frame, tmp_path / "wine.csv", ids=["row"], drop=["file"])
    assert not _flagged(named.notes) and list(named.ids.columns) == ["row"]


def test_is_id_like_needs_distinct_non_float_values():
    n = 50
    assert is_id_like(pd.Series(np.arange(n)))
    assert is_id_like(pd.Series([f"id-{i}" for i in range(n)], dtype=object))
    assert not is_id_like(pd.Series(np.arange(n, dtype=float)))        # floats never
    assert not is_id_like(pd.Series(np.arange(n) * 1000))             # no near-sequence
    assert not is_id_like(pd.Series([str(i * 0.5) for i in range(n)]))  # numbers as text
    assert not is_id_like(pd.Series([f"id-{i % 49}" for i in range(n)], dtype=object))  # a repeat
    assert not is_id_like(pd.Series(np.arange(5)))                    # too few rows to tell


def test_constant_columns_are_dropped_and_noted(dataset_path, tmp_path):
    frame = _wine(dataset_path)
    frame["version"] = 3
    frame["site"] = "lab"
    frame["half"] = [np.nan if i % 2 else 1.0 for i in range(len(frame))]  # missingness may inform: kept
    dataset = dataset_from_frame(frame, tmp_path / "wine.csv")
    assert "version" not in dataset.X.columns and "site" not in dataset.X.columns and "half" in dataset.X.columns
    assert "site" not in dataset.categorical
    assert any("constant" in n and "'version'" in n and "'site'" in n for n in dataset.notes)


def test_a_single_column_leak_is_noted_with_its_score_not_dropped(dataset_path, tmp_path):
    frame = _wine(dataset_path)
    frame["genre"] = frame["class"].astype(str) + "-ish"                            # text copy of the label
    frame["code"] = frame["class"].map({c: i * 7.5 for i, c in enumerate(sorted(frame["class"].unique()))})
    dataset = dataset_from_frame(frame, tmp_path / "wine.csv")
    assert {"genre", "code"} <= set(dataset.X.columns)
    leaks = [n for n in dataset.notes if "leak" in n]
    assert len(leaks) == 2 and any("'genre'" in n and "1.000" in n for n in leaks)
    assert any("'code'" in n and "--drop 'code'" in n for n in leaks)
    assert not any("alcohol" in n for n in leaks)  # real features of wine are not leaks


def test_leak_scores_stay_below_the_threshold_on_honest_features(dataset_path):
    dataset = load_dataset(dataset_path("iris"))
    scores = leak_scores(dataset.X, dataset.y)
    assert all(s < LEAK_SCORE for s in scores.values())
    found = inspect_columns(dataset.X, dataset.y)
    assert not found.drop and not found.leaks


@pytest.mark.parametrize("name", SEVEN)
def test_no_false_alarm_on_the_shared_datasets(dataset_path, name):
    path = dataset_path(name)
    dataset = load_dataset(path)
    assert not _flagged(dataset.notes), dataset.notes
    constant = [c for c in pd.read_csv(path).columns if pd.read_csv(path)[c].nunique(dropna=False) <= 1]
    columns = read_table(path).shape[1]
    # only the constant columns (digits: three blank pixels) leave; every other feature stays
    assert dataset.X.shape[1] == columns - 1 - len(constant)
    assert bool(constant) == any("constant" in n for n in dataset.notes)


@pytest.fixture(scope="module")
def converted(soundtracks, tmp_path_factory):
    """``abauto convert`` of the soundtracks set with --join tracks.csv, as parquet."""
    from abauto.cli import main

    out = tmp_path_factory.mktemp("convert") / "f.parquet"
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(soundtracks / "lowlevel"), "--groundtruth", str(soundtracks / "groundtruth.yaml"),
              "--join", str(soundtracks / "tracks.csv"), "--select", "lowlevel.mfcc.*,lowlevel.spectral_centroid.*",
              "-o", str(out)])
    assert exc.value.code == 0
    return out


def test_convert_records_roles_and_search_honours_them(converted, tmp_path):
    roles = json.loads(pq.read_schema(converted).metadata[PARQUET_ROLES])
    assert roles["id"] == ["id"] and {"label", "track"} <= set(roles["join"])
    dataset = load_dataset(converted)
    assert not {"id", "label", "track", "excerpt_start_s"} & set(dataset.X.columns)
    assert dataset.target == "soundtrack" and not _flagged(dataset.notes)
    assert any("left out of the features" in n and "'label'" in n for n in dataset.notes)
    # a role column the user names is used as asked
    grouped = load_dataset(converted, groups="track")
    assert grouped.groups is not None and "track" not in grouped.X.columns

    # the same table as CSV has no metadata: the id is dropped as id-like, the joined label is a leak
    csv = tmp_path / "f.csv"
    pd.read_parquet(converted).to_csv(csv, index=False)
    plain = load_dataset(csv)
    assert "id" not in plain.X.columns and any("id-like" in n and "'id'" in n for n in plain.notes)
    assert any("possible label leak" in n and "'label'" in n for n in plain.notes)


def test_leak_notes_reach_the_leaderboard(dataset_path, tmp_path, cli):
    frame = pd.read_csv(dataset_path("iris"))
    frame.insert(0, "row", range(len(frame)))
    frame["copy"] = frame["class"]
    data = tmp_path / "iris.csv"
    frame.to_csv(data, index=False)
    code, _, err = cli("search", data, "--plugins", "logreg", "--trials", "2", "--outer", "kfold:2",
                       "--inner-folds", "2", "--out", tmp_path / "run")
    assert code == 0, err
    board = json.loads((tmp_path / "run" / "leaderboard.json").read_text())
    assert any("possible label leak" in n and "'copy'" in n for n in board["notes"])
    assert any("id-like" in n and "'row'" in n for n in board["notes"])
    assert "note: possible label leak: column 'copy'" in " ".join(err.split())


def test_a_lone_id_like_feature_is_kept_with_a_note(tmp_path):
    frame = pd.DataFrame({"a": range(40), "class": ["x", "y"] * 20})
    dataset = dataset_from_frame(frame, tmp_path / "t.csv")
    assert list(dataset.X.columns) == ["a"]
    assert any("every feature is id-like or constant" in n for n in dataset.notes)


def test_profile_reads_low_level_json_like_search(soundtracks, cli, tmp_path):
    """'abauto profile' takes the loader options of 'abauto search' (issue 17)."""
    code, out, err = cli("profile", soundtracks / "lowlevel", "--groundtruth", soundtracks / "groundtruth.yaml",
                         "--join", soundtracks / "tracks.csv", "--select", "lowlevel.mfcc.mean",
                         "--html", tmp_path / "p.html")
    assert code == 0, err
    text = " ".join(out.split())
    assert "260 rows, 13 features, 8 classes in 'soundtrack'" in text and "lowlevel.mfcc.mean.0" in text
    assert "note: left out of the features" in " ".join(err.split()) and (tmp_path / "p.html").exists()
    code, _, err = cli("profile", soundtracks / "lowlevel")
    assert code == 2 and "--groundtruth" in err and len(err.strip().splitlines()) == 1
